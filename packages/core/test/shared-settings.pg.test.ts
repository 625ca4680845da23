/**
 * Settings shared through the database, on the real PostgreSQL: the import of settings.json into
 * an empty row, live changes across pools (LISTEN/NOTIFY, also after the listening connection
 * was killed), optimistic concurrency, an invalid row, and the local keys that never leave a node.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp, tempDir, waitFor } from '@tinyagi/test-kit';
import { dropSchema, testSchema } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { patchAgent, patchSettings } from '../src/config/editing/index.ts';
import type { Settings } from '../src/config/schema.ts';
import { isTinyError } from '../src/errors.ts';
import { SharedSettings, type SharedSettingsOptions } from '../src/nodes/shared-settings.ts';
import { migratePg } from '../src/storage/pg/migrate.ts';
import { twoNodePools } from './pg-pools.ts';

const { db, poolA, poolB } = await twoNodePools();

const API_FILE: Settings = {
  workspace: { path: '/srv/api-workspaces' },
  node: { name: 'api' },
  agents: { coder: { provider: 'mock', model: 'sonnet' }, reviewer: { provider: 'mock', node: 'gpu' } },
  queue: { concurrency: 2 },
};
const WORKER_FILE: Settings = { node: { name: 'gpu' }, workspace: { path: '/data/ws' } };

function logSink() {
  const lines = { info: [] as string[], warn: [] as string[], error: [] as string[] };
  return { lines, log: { info: (m: string) => lines.info.push(m), warn: (m: string) => lines.warn.push(m), error: (m: string) => lines.error.push(m) } };
}

const readJson = (file: string): Settings => JSON.parse(readFileSync(file, 'utf8')) as Settings;

describe.skipIf(db.skip !== undefined)('shared settings (PostgreSQL)', () => {
  let schema: string;
  let dir: string;
  const open: SharedSettings[] = [];
  const fileWith = (name: string, settings: Settings): string => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`);
    return file;
  };
  const openOn = async (pool: pg.Pool, options: Omit<SharedSettingsOptions, 'schema'>) => {
    const s = await SharedSettings.open(pool, { schema, env: {}, ...options });
    open.push(s);
    return s;
  };
  const row = async () =>
    (await poolA.query<{ value: string; version: string; updated_by: string }>(`SELECT value, version, updated_by FROM "${schema}".shared_settings WHERE key = 'settings'`)).rows[0]!;
  const nextChange = (s: SharedSettings) =>
    new Promise<{ next: Settings; source: string }>((resolve) => {
      const off = s.onChange((next, _previous, source) => {
        off();
        resolve({ next, source });
      });
    });

  beforeEach(async () => {
    schema = testSchema('s');
    dir = tempDir('tinyagi-shared-');
    await migratePg(poolA, schema);
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    await dropSchema(poolA, schema);
    cleanupTemp();
  });

  it('given events, records each change it adopts as settings.changed: its own edit as "api", another node\'s as "database"', async () => {
    const recorded: string[] = [];
    const events = { append: (e: { type: 'settings.changed'; data: { source: string } }) => void recorded.push(`${e.type}:${e.data.source}`) };
    const api = await openOn(poolA, { file: fileWith('api', API_FILE), events });
    const other = await openOn(poolB, { file: fileWith('other', WORKER_FILE), importFile: false, mirror: false });
    await api.update((s) => patchSettings(s, { queue: { concurrency: 3 } }));
    expect(recorded).toEqual(['settings.changed:api']);
    const seen = nextChange(api);
    await other.update((s) => patchSettings(s, { queue: { concurrency: 4 } }));
    expect((await seen).source).toBe('database');
    expect(recorded).toEqual(['settings.changed:api', 'settings.changed:database']);
  });

  it("the first node imports its settings.json once (without the local keys); later nodes get the database's with their own local keys", async () => {
    // A worker that starts first imports nothing: it waits for the row.
    const early = await openOn(poolB, { file: fileWith('early', WORKER_FILE), mirror: false, importFile: false });
    expect(early.version).toBe(0);
    expect(early.get()).toEqual(WORKER_FILE);
    const earlySees = nextChange(early);
    const api = await openOn(poolA, { file: fileWith('api', API_FILE), updatedBy: 'api' });
    expect((await earlySees).next).toEqual({ agents: API_FILE.agents, queue: API_FILE.queue, ...WORKER_FILE });
    expect(early.version).toBe(1);
    const stored = await row();
    expect(JSON.parse(stored.value)).toEqual({ agents: API_FILE.agents, queue: API_FILE.queue });
    expect(Number(stored.version)).toBe(1);
    expect(stored.updated_by).toBe('api');
    expect(api.version).toBe(1);
    expect(api.get()).toEqual(API_FILE);

    const workerFile = fileWith('worker', WORKER_FILE);
    const worker = await openOn(poolB, { file: workerFile, mirror: false });
    expect(worker.raw()).toEqual({ agents: API_FILE.agents, queue: API_FILE.queue, node: { name: 'gpu' }, workspace: { path: '/data/ws' } });
    expect(readJson(workerFile)).toEqual(WORKER_FILE);

    // A node whose file differs: the database wins, and its file (mirror on) becomes the copy.
    const { lines, log } = logSink();
    const otherFile = fileWith('other', { node: { name: 'other' }, agents: { stray: { provider: 'mock' } } });
    const other = await openOn(poolB, { file: otherFile, log });
    expect(Number((await row()).version)).toBe(1);
    expect(other.raw().agents).toEqual(API_FILE.agents);
    expect(readJson(otherFile)).toEqual({ agents: API_FILE.agents, queue: API_FILE.queue, node: { name: 'other' } });
    expect(lines.warn.join('\n')).toContain('the database wins');
    expect(readJson(`${otherFile}.before-shared`)).toEqual({ node: { name: 'other' }, agents: { stray: { provider: 'mock' } } });
    // A node without a settings.json gets the copy.
    const fresh = join(dir, 'fresh.json');
    await openOn(poolB, { file: fresh });
    expect(readJson(fresh)).toEqual({ agents: API_FILE.agents, queue: API_FILE.queue });
  });

  it("an edit through one pool is seen live on another; the API node's settings.json follows; local keys stay local", async () => {
    const apiFile = fileWith('api', API_FILE);
    const api = await openOn(poolA, { file: apiFile, updatedBy: 'api' });
    const workerFile = fileWith('worker', WORKER_FILE);
    const worker = await openOn(poolB, { file: workerFile, mirror: false });

    const seen = nextChange(worker);
    const written = await api.update((s) => patchAgent(s, 'coder', { model: 'opus' }));
    expect(written.agents?.coder?.model).toBe('opus');
    const { next, source } = await seen;
    expect(source).toBe('database');
    expect(next.agents?.coder?.model).toBe('opus');
    expect(next.workspace).toEqual({ path: '/data/ws' });
    expect(worker.version).toBe(2);
    expect(api.version).toBe(2);
    expect(readJson(apiFile)).toEqual({ ...API_FILE, agents: { ...API_FILE.agents, coder: { provider: 'mock', model: 'opus' } } });
    expect(readJson(workerFile)).toEqual(WORKER_FILE);

    // A local key changed through the shared settings goes to this node's file only.
    await api.update((s) => patchSettings(s, { workspace: { path: '/srv/elsewhere' } }));
    expect(JSON.parse((await row()).value)).not.toHaveProperty('workspace');
    expect(readJson(apiFile).workspace).toEqual({ path: '/srv/elsewhere' });
    await waitFor(() => worker.version === 3, 10_000, 'the worker to see version 3');
    expect(worker.get().workspace).toEqual({ path: '/data/ws' });

    // An edit on the worker is seen by the API node and lands in its file.
    const seenByApi = nextChange(api);
    await worker.update((s) => patchSettings(s, { queue: { concurrency: 7 } }));
    expect((await seenByApi).next.queue?.concurrency).toBe(7);
    await waitFor(() => readJson(apiFile).queue?.concurrency === 7, 10_000, "the API node's file to follow");
    expect(readJson(apiFile).workspace).toEqual({ path: '/srv/elsewhere' });
  });

  it('a conflicting concurrent edit is refused with SETTINGS_CONFLICT and loses nothing; edits of one process are serialised', async () => {
    const api = await openOn(poolA, { file: fileWith('api', API_FILE) });
    const worker = await openOn(poolB, { file: fileWith('worker', WORKER_FILE), mirror: false });

    const refused = await api
      .update(async (s) => {
        // Another node's edit lands while this one is being made.
        await worker.update((t) => patchAgent(t, 'coder', { model: 'from-worker' }));
        return patchAgent(s, 'coder', { model: 'from-api' });
      })
      .catch((err: unknown) => err);
    expect(isTinyError(refused, 'SETTINGS_CONFLICT')).toBe(true);
    expect((refused as Error).message).toContain('based on version 1, they are now at version 2');
    expect(JSON.parse((await row()).value).agents.coder.model).toBe('from-worker');
    await waitFor(() => api.get().agents?.coder?.model === 'from-worker', 10_000, 'the API node to see the winning edit');

    // An edit based on an earlier read (a client's expected version).
    const stale = await api.update((s) => s, { expectedVersion: 1 }).catch((err: unknown) => err);
    expect(isTinyError(stale, 'SETTINGS_CONFLICT')).toBe(true);

    // Concurrent edits within one process queue up instead of conflicting.
    await Promise.all(Array.from({ length: 5 }, () => api.update((s) => patchSettings(s, { queue: { concurrency: (s.queue?.concurrency ?? 0) + 1 } }))));
    expect(JSON.parse((await row()).value).queue.concurrency).toBe(7);
    expect(Number((await row()).version)).toBe(7);
  });

  it('an invalid row is reported with the path of the problem, the last good settings stay in force, and nothing overwrites it', async () => {
    const apiFile = fileWith('api', API_FILE);
    const api = await openOn(poolA, { file: apiFile });
    const { lines, log } = logSink();
    const worker = await openOn(poolB, { file: fileWith('worker', WORKER_FILE), mirror: false, log });
    const before = worker.get();

    // A hand edit in psql (the trigger announces it like any write).
    const broken = JSON.stringify({ agents: { coder: { provider: 'nope' } } });
    await poolA.query(`UPDATE "${schema}".shared_settings SET value = $1, version = version + 1 WHERE key = 'settings'`, [broken]);
    const problem = await waitFor(() => worker.problem, 10_000, 'the invalid row to be reported');
    expect(problem.version).toBe(2);
    expect(problem.issues.map((i) => i.path)).toContain('agents.coder.provider');
    expect(lines.error).toHaveLength(1);
    expect(lines.error[0]).toContain('agents.coder.provider');
    expect(worker.get()).toBe(before);
    expect(worker.version).toBe(1);
    await waitFor(() => api.problem, 10_000, 'the API node to report it too');
    expect(readJson(apiFile)).toEqual(API_FILE);

    const refused = await api.update((s) => patchAgent(s, 'coder', { model: 'x' })).catch((err: unknown) => err);
    expect(isTinyError(refused, 'CONFIG_INVALID')).toBe(true);
    expect((refused as Error).message).toContain('agents.coder.provider');
    await worker.reload();
    expect((await row()).value).toBe(broken);
    expect(lines.error).toHaveLength(1);

    const cannotOpen = await SharedSettings.open(poolB, { schema, file: fileWith('late', {}), env: {} }).catch((err: unknown) => err);
    expect(isTinyError(cannotOpen, 'CONFIG_INVALID')).toBe(true);
    expect((cannotOpen as Error).message).toContain('agents.coder.provider');

    // The way to fix it: a whole valid value.
    const fixed = nextChange(worker);
    await api.replace({ ...API_FILE, agents: { coder: { provider: 'mock' } } });
    expect((await fixed).next.agents).toEqual({ coder: { provider: 'mock' } });
    expect(worker.problem).toBeUndefined();
    expect(worker.version).toBe(3);
  });

  it('closing gives the listening connection back to the pool clean (no handlers left on it)', async () => {
    await openOn(poolA, { file: fileWith('api', API_FILE) });
    const small = new pg.Pool({ connectionString: db.url, max: 2 });
    try {
      for (let i = 0; i < 12; i++) await (await SharedSettings.open(small, { schema, file: fileWith('w', WORKER_FILE), env: {}, mirror: false })).close();
      const clients = [await small.connect(), await small.connect()];
      expect(clients.map((c) => c.listenerCount('notification') + c.listenerCount('end'))).toEqual([0, 0]);
      for (const c of clients) c.release();
    } finally {
      await small.end();
    }
  });

  it('a node whose listening connection was killed listens again and re-reads what changed meanwhile', async () => {
    const api = await openOn(poolA, { file: fileWith('api', API_FILE) });
    const { lines, log } = logSink();
    const worker = await openOn(poolB, { file: fileWith('worker', WORKER_FILE), mirror: false, log, retryMs: 50 });
    await poolA.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query = $1', [`LISTEN "${SharedSettings.channel(schema)}"`]);
    await waitFor(() => lines.warn.length > 0, 10_000, 'the lost connection to be noticed');
    await api.update((s) => patchSettings(s, { queue: { concurrency: 9 } }));
    await waitFor(() => worker.get().queue?.concurrency === 9, 10_000, 'the worker to see the change made while it reconnected');
    expect(lines.warn).toHaveLength(1);
    await waitFor(() => lines.info.some((l) => l.includes('listening again')), 10_000, 'the reconnect');
  });
});

/**
 * Test fixtures: the stores on this run's backend (a real SQLite file in a temp dir, or with
 * TINYAGI_TEST_BACKEND=postgres a fresh PostgreSQL schema: `@tinyagi/test-kit/stores`), a
 * workspace in the temp dir, settings validated by core's schema, and an orchestrator on them
 * (temp folders and waits come from @tinyagi/test-kit).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SettingsSchema, type BackoffPolicy, type InvokeRequest, type InvokeResult, type Settings, type EventOf, type EventType } from '@tinyagi/core';
import { openStores, type StoreSet, type SqliteStores } from '@tinyagi/core/internal';
import { openPgStores, type PgStores } from '@tinyagi/core/pg';
import { cleanupTemp, tempDir, waitFor } from '@tinyagi/test-kit';
import { openTestStores, type TestStores } from '@tinyagi/test-kit/stores';
import { Orchestrator, orchestratorFacets, type OrchestratorOptions, type OrchestratorFacets } from '../src/index.ts';

export interface Harness {
  dir: string;
  stores: StoreSet;
  orchestrator: Orchestrator;
  /** The facets on it (steering, approvals, chat room, conversation control and views), as the daemon builds them. */
  facets: OrchestratorFacets;
  settings: Settings;
  setSettings(next: Settings): void;
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void> | void> = [];

export async function closeAll(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  cleanupTemp();
}

export function withWorkspace(settings: Settings, dir: string): Settings {
  return SettingsSchema.parse({ ...settings, workspace: { path: join(dir, 'ws'), ...settings.workspace } });
}

/** The stores at `dbPath` on SQLite, or in a fresh PostgreSQL schema (dropped by `close`) on that run. */
export async function testStores(dbPath: string, options: { backoff?: BackoffPolicy } = {}): Promise<TestStores<StoreSet>> {
  const opened = await openTestStores<StoreSet>(
    dbPath,
    {
      sqlite: (file) => openStores({ dbPath: file, ...options }),
      postgres: ({ url, schema }) => openPgStores({ url, schema, poolSize: 6, ...options }),
    },
    'teams',
  );
  cleanups.push(opened.close);
  return opened;
}

/** Rows in one of the backend's tables (for checks no store method offers). */
export async function countRows(stores: StoreSet, table: string): Promise<number> {
  if (stores.backend === 'sqlite') return (stores as SqliteStores).db.sqlite.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
  const pgStores = stores as PgStores;
  const { rows } = await pgStores.pool.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM "${pgStores.schema}".${table}`);
  return rows[0]!.n;
}

export async function harness(
  settings: Settings,
  options: Partial<OrchestratorOptions> & {
    start?: boolean;
    backoff?: BackoffPolicy /** What the orchestrator is handed instead of the stores (a test's gate). */;
    wrapStores?: (stores: StoreSet) => StoreSet;
    /** Several nodes: how long a steering command relayed to another node waits for its answer. */
    steerRelayTimeoutMs?: number;
  } = {},
): Promise<Harness> {
  const dir = tempDir('tinyagi-teams-');
  const { backoff, wrapStores, steerRelayTimeoutMs, ...orchestratorOptions } = options;
  const opened = await testStores(join(dir, 'tinyagi.db'), backoff ? { backoff } : {});
  const stores = opened.stores;
  let current = withWorkspace(settings, dir);
  // Its own TinyAGI home: what a run keeps there (held folders) stays in the test's folder.
  const env = { ...process.env, TINYAGI_HOME: join(dir, 'home') };
  const orchestrator = new Orchestrator({ stores: wrapStores ? wrapStores(stores) : stores, getSettings: () => current, sweepMs: 200, env, ...orchestratorOptions });
  if (options.start !== false) orchestrator.start();
  const h: Harness = {
    dir,
    stores,
    orchestrator,
    facets: orchestratorFacets(orchestrator, steerRelayTimeoutMs !== undefined ? { steering: { relayTimeoutMs: steerRelayTimeoutMs } } : {}),
    get settings() {
      return current;
    },
    setSettings(next) {
      current = withWorkspace(next, dir);
    },
    async close() {
      await orchestrator.stop(2000);
      await opened.close();
    },
  };
  cleanups.push(() => h.close());
  return h;
}

export async function eventsOf<T extends EventType = EventType>(stores: StoreSet, filter: { conversationId?: string; types?: T[] } = {}): Promise<Array<EventOf<T>>> {
  await stores.events.flush();
  return stores.events.readSince(0, filter, 100_000);
}

/**
 * A folder of gates: the mock runtime's rules wait at `gate` (with `gate_dir: dir`), the fake
 * claude at `FAKE:gate=<name>` (with FAKE_GATE_DIR=dir), until the test opens the gate.
 */
export function gates(): { dir: string; open(name: string): void } {
  const dir = tempDir('tinyagi-gates-');
  return { dir, open: (name) => writeFileSync(join(dir, name), '') };
}

/** The answers (`run.steered`) recorded for a run: each command and whether it was accepted. */
export async function steeredCommands(stores: StoreSet, runId: string): Promise<Array<[string, boolean]>> {
  return (await eventsOf(stores, { types: ['run.steered'] })).filter((e) => e.runId === runId).map((e) => [e.data.command, e.data.accepted]);
}

export async function waitForCompletion(h: Harness, conversationId: string, timeoutMs = 15_000): Promise<EventOf<'conversation.completed'>> {
  return waitFor(async () => (await eventsOf(h.stores, { conversationId, types: ['conversation.completed'] }))[0], timeoutMs, `conversation ${conversationId} to complete`);
}

/** Wraps an invoker to record every request it receives (the provider call log). */
export function recordingInvoker(inner: (req: InvokeRequest) => Promise<InvokeResult>): { invoke: (req: InvokeRequest) => Promise<InvokeResult>; calls: InvokeRequest[] } {
  const calls: InvokeRequest[] = [];
  return {
    calls,
    invoke: (req) => {
      calls.push(req);
      return inner(req);
    },
  };
}

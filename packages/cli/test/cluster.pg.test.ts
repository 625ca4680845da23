/**
 * A node's membership (daemon/cluster.ts) on a real PostgreSQL schema: each node publishes its
 * sandbox check in its registry row once known and again when it changes (looked at every
 * heartbeat interval), and the leading node (the oldest live API node) is the API node while it
 * runs, a worker once it is gone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MachineCheck } from '@tinyagi/core/internal';
import { openPgStores, type PgStores } from '@tinyagi/core/pg';
import { waitFor } from '@tinyagi/test-kit';
import { pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import { dropTestSchema } from '@tinyagi/test-kit/stores';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClusterMembership, joinCluster } from '../src/daemon/cluster.ts';
import type { Logger } from '../src/daemon/logger.ts';

const db = await pgTestDatabase();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
});

const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };
const check = (ok: boolean, checkedAt: number): MachineCheck => ({
  ok,
  ...(ok ? {} : { problem: { reason: 'bwrap (bubblewrap) is not installed', fix: 'install bubblewrap' } }),
  memory: { ok: true },
  checks: [{ name: 'probe', ok, detail: 'the long list stays on the node' }],
  source: 'self-test',
  checkedAt,
});

describe.skipIf(db.skip !== undefined)('cluster membership (PostgreSQL)', () => {
  it('publishes the sandbox check when known and again when it changes; the oldest live API node leads, a worker once it is gone', { timeout: 60_000 }, async () => {
    const schema = testSchema('cluster');
    cleanups.push(() => dropTestSchema(db.url, schema));
    const dir = mkdtempSync(join(tmpdir(), 'tinyagi-cluster-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'api.json'), '{}');
    const joinAs = async (role: 'api' | 'worker', name: string, sandbox: () => MachineCheck | undefined): Promise<{ stores: PgStores; member: ClusterMembership }> => {
      const stores = await openPgStores({ url: db.url, schema, poolSize: 4 });
      const member = await joinCluster(stores, { role, name, file: join(dir, `${name}.json`), env: {}, version: 'test', logger: quiet, onLost: () => {}, sandbox });
      cleanups.push(async () => {
        await member.leave();
        await stores.close();
      });
      return { stores, member };
    };
    let workerCheck: MachineCheck | undefined;
    const api = await joinAs('api', 'api', () => check(true, 1));
    const worker = await joinAs('worker', 'wk1', () => workerCheck);
    const published = async () => Object.fromEntries((await api.member.nodes()).map((n) => [n.name, n.sandbox ?? null]));

    // Known at join: published then; a node whose self-test has not ended has nothing there yet.
    expect(await published()).toEqual({ api: { ok: true, memory: { ok: true }, source: 'self-test', checkedAt: 1 }, wk1: null });
    // Its self-test ends: published at once when asked, without the list of checks.
    workerCheck = check(false, 2);
    await worker.member.publishSandbox();
    expect((await published())['wk1']).toEqual({ ok: false, reason: 'bwrap (bubblewrap) is not installed', fix: 'install bubblewrap', memory: { ok: true }, source: 'self-test', checkedAt: 2 });
    // It changes (a new check recorded): the next interval publishes it.
    workerCheck = check(true, 3);
    await waitFor(async () => (await published())['wk1']?.checkedAt === 3 || undefined, 15_000, 'the changed check published');

    expect([api.member.leads(), worker.member.leads()]).toEqual([true, false]);
    // The API node leaves: the worker leads from its next look at the nodes.
    await api.member.leave();
    await waitFor(() => worker.member.leads() || undefined, 15_000, 'the worker leading');
  });
});

/**
 * Each node's sandbox status its own (docs/sandbox.md, "Several nodes"): nodes registered in the
 * real registry on a PostgreSQL schema publish their self-test; GET /api/status lists each node's,
 * and GET /api/agents gives each agent the status of the node that runs it (placed on this node,
 * on a worker whose boundary does not hold, on no node, on a node that is stale, stopped, absent
 * or has not published yet). With one process (no nodes) nothing changes: no `node`, no `unknown`.
 */
import { join } from 'node:path';
import type { Settings } from '@tinyagi/core';
import { type MachineCheck, nodeSandboxView, nodeStatuses } from '@tinyagi/core/internal';
import { type LocalNode, NodeRegistry, openPgStores, type PgStores } from '@tinyagi/core/pg';
import { waitFor } from '@tinyagi/test-kit';
import { pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import { dropTestSchema } from '@tinyagi/test-kit/stores';
import { afterEach, describe, expect, it } from 'vitest';
import { baseSettings, type ServerHarness, startHarness } from './harness.ts';

const db = await pgTestDatabase();
const HOLDS: MachineCheck = { ok: true, bwrap: '/usr/bin/bwrap', memory: { ok: true }, checks: [{ name: 'probe', ok: true, detail: 'ran inside' }], source: 'self-test', checkedAt: 1_700_000_000_000 };
const NO_BWRAP: MachineCheck = {
  ok: false,
  problem: { reason: "bwrap (bubblewrap) is not installed: not found on the daemon's PATH, nor in /usr/bin, /usr/local/bin or /bin", fix: 'install bubblewrap' },
  memory: { ok: false, reason: 'not checked' },
  checks: [],
  source: 'self-test',
  checkedAt: 1_700_000_000_500,
};

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
});

/** Agents of every placement, each set to a sandbox with a CLI runtime (its state depends on the machine). */
function settings(home: string): Settings {
  const boxed = (node?: string) => ({ name: node ?? 'any', provider: 'claude-code', sandbox: 'on' as const, ...(node ? { node } : {}) });
  return {
    ...baseSettings(home),
    workspace: { path: join(home, 'workspace') },
    agents: {
      here: boxed('api'),
      worker: boxed('wk1'),
      anywhere: boxed(),
      stale: boxed('wk2'),
      stopped: boxed('wk3'),
      absent: boxed('gone'),
      starting: boxed('wk4'),
      plain: { name: 'Plain', provider: 'mock' },
    },
    teams: {},
  };
}

describe.skipIf(db.skip !== undefined)('each node’s sandbox status (PostgreSQL)', () => {
  it('lists each node’s published boundary and gives every agent its own node’s status, unknown where its node is down or silent', { timeout: 60_000 }, async () => {
    const schema = testSchema('node_sandbox');
    cleanups.push(() => dropTestSchema(db.url, schema));
    const stores: PgStores = await openPgStores({ url: db.url, schema, poolSize: 4 });
    const registry = new NodeRegistry(stores.pool, { schema });
    const nodes: LocalNode[] = [];
    cleanups.push(async () => {
      for (const n of nodes) await n.stop();
    });
    const register = async (name: string, role: 'api' | 'worker', registryOf = registry, heartbeatMs?: number) => {
      const node = await registryOf.register({ name, role, ...(heartbeatMs ? { heartbeatMs } : {}) });
      nodes.push(node);
      return node;
    };
    const api = await register('api', 'api');
    await api.publishSandbox(nodeSandboxView(HOLDS));
    await (await register('wk1', 'worker')).publishSandbox(nodeSandboxView(NO_BWRAP));
    await (await register('wk3', 'worker')).stop();
    await register('wk4', 'worker');
    // wk2 loses the database (its pool ends: a crash, as the other nodes see it) and goes stale.
    const lost = await openPgStores({ url: db.url, schema, poolSize: 1 });
    const wk2 = await register('wk2', 'worker', new NodeRegistry(lost.pool, { schema }), 20);
    await wk2.publishSandbox(nodeSandboxView(HOLDS));
    await lost.close();
    await waitFor(async () => (await registry.list()).find((n) => n.name === 'wk2')?.state === 'stale', 10_000, 'wk2 stale');

    // The API node's own check, as its sandbox host holds it (its self-test's).
    const h: ServerHarness = await startHarness({ settings, stores, daemon: { nodes: async () => nodeStatuses(await registry.list(), api.id), sandbox: () => HOLDS } });
    cleanups.push(() => h.close());

    const status = await h.client.status();
    const published = Object.fromEntries(status.nodes.map((n) => [n.name, n.sandbox]));
    expect(published).toEqual({
      api: { ok: true, bwrap: '/usr/bin/bwrap', memory: { ok: true }, source: 'self-test', checkedAt: HOLDS.checkedAt },
      wk1: { ok: false, reason: NO_BWRAP.problem!.reason, fix: 'install bubblewrap', memory: { ok: false, reason: 'not checked' }, source: 'self-test', checkedAt: NO_BWRAP.checkedAt },
      wk2: { ok: true, bwrap: '/usr/bin/bwrap', memory: { ok: true }, source: 'self-test', checkedAt: HOLDS.checkedAt },
      wk3: null,
      wk4: null,
    });

    const agents = Object.fromEntries((await h.client.listAgents()).map((a) => [a.id, a.sandboxStatus]));
    expect(agents['here']).toEqual({ setting: 'on', state: 'enforced', memoryMb: 4096, node: 'api' });
    expect(agents['worker']).toEqual({ setting: 'on', state: 'degraded', reason: `${NO_BWRAP.problem!.reason}; it runs unconfined`, fix: 'install bubblewrap', node: 'wk1' });
    // On no node: this node's word, and where it would differ.
    expect(agents['anywhere']).toEqual({
      setting: 'on',
      state: 'enforced',
      memoryMb: 4096,
      node: 'api',
      elsewhere: [
        { node: 'wk1', state: 'degraded', reason: `${NO_BWRAP.problem!.reason}; it runs unconfined` },
        { node: 'wk4', state: 'unknown', reason: expect.stringContaining('node wk4 has not published its sandbox check yet') },
      ],
    });
    expect(agents['stale']).toMatchObject({
      setting: 'on',
      state: 'unknown',
      node: 'wk2',
      reason: expect.stringMatching(/^node wk2 is stale \(no heartbeat for \d+ s\)/),
      fix: expect.stringContaining('tinyagi worker --name wk2'),
    });
    expect(agents['stopped']).toMatchObject({ state: 'unknown', node: 'wk3', reason: expect.stringMatching(/^node wk3 is stopped/) });
    expect(agents['absent']).toMatchObject({ state: 'unknown', node: 'gone', reason: expect.stringMatching(/^node gone is not running \(no such node\)/) });
    expect(agents['starting']).toMatchObject({ state: 'unknown', node: 'wk4', reason: expect.stringContaining('has not published its sandbox check yet') });
    expect(agents['plain']).toEqual({ setting: 'off', state: 'off', node: 'api' });
    // One agent: the same status.
    expect((await h.client.getAgent({ params: { id: 'worker' } })).sandboxStatus).toEqual(agents['worker']);

    // A node publishing again (bubblewrap installed, restarted: a new check) is read at the next request.
    const wk1 = nodes[1]!;
    await wk1.publishSandbox(nodeSandboxView({ ...HOLDS, checkedAt: HOLDS.checkedAt + 1000 }));
    expect((await h.client.getAgent({ params: { id: 'worker' } })).sandboxStatus).toEqual({ setting: 'on', state: 'enforced', memoryMb: 4096, node: 'wk1' });
  });
});

describe('one process (SQLite, or a server without nodes)', () => {
  it('gives the machine’s own status, with no node and never unknown', async () => {
    const h = await startHarness({ settings, daemon: { sandbox: () => NO_BWRAP } });
    cleanups.push(() => h.close());
    const agents = Object.fromEntries((await h.client.listAgents()).map((a) => [a.id, a.sandboxStatus]));
    // `node` is ignored with one process: every agent runs here.
    for (const id of ['here', 'worker', 'anywhere', 'absent'])
      expect(agents[id]).toEqual({ setting: 'on', state: 'degraded', reason: `${NO_BWRAP.problem!.reason}; it runs unconfined`, fix: 'install bubblewrap' });
    expect((await h.client.status()).nodes).toEqual([]);
  });
});

/**
 * The node registry on the real PostgreSQL (TINYAGI_TEST_DATABASE_URL, default the local one):
 * nodes in two pools see each other, a stopped node, a node whose heartbeat cannot reach the
 * database goes stale (through a TCP proxy this test closes: a real network failure) and comes
 * back, duplicate live names, and the dead-owner predicate lease recovery uses.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { waitFor } from '@tinyagi/test-kit';
import { dropSchema, testSchema } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTinyError } from '../src/errors.ts';
import { leaseOwner, type LocalNode, NODE_RETENTION, NodeRegistry } from '../src/nodes/registry.ts';

/** The database's clock in ms, as the registry reads it. */
const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
import { PgQueueStore } from '../src/queue/pg-store.ts';
import { migratePg } from '../src/storage/pg/migrate.ts';
import { twoNodePools } from './pg-pools.ts';

const { db, poolA, poolB } = await twoNodePools();

/** A TCP proxy to the database that can be cut (every connection dropped, new ones refused) and restored on the same port. */
class CuttableProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;
  readonly target: URL;

  constructor(target: URL) {
    this.target = target;
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(Number(this.target.port || 5432), this.target.hostname);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  url(): string {
    const u = new URL(this.target.href);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.href;
  }
}

describe.skipIf(db.skip !== undefined)('node registry (PostgreSQL)', () => {
  let schema: string;
  const running: LocalNode[] = [];
  beforeEach(async () => {
    schema = testSchema('n');
    await migratePg(poolA, schema);
  });
  afterEach(async () => {
    for (const node of running.splice(0)) await node.stop();
    await dropSchema(poolA, schema);
  });
  const register = async (registry: NodeRegistry, options: Parameters<NodeRegistry['register']>[0]) => {
    const node = await registry.register(options);
    running.push(node);
    return node;
  };

  it('nodes registered through two pools see each other live; a stopped node is listed stopped and its leases count as dead', async () => {
    const regA = new NodeRegistry(poolA, { schema });
    const regB = new NodeRegistry(poolB, { schema });
    const api = await register(regA, { role: 'api', name: 'alpha', version: '1.2.3', heartbeatMs: 100 });
    const worker = await register(regB, { role: 'worker', name: 'beta', heartbeatMs: 100 });
    expect(api.id).toMatch(/^node_[0-9a-z]{26}$/);
    for (const reg of [regA, regB]) {
      const nodes = await reg.list();
      expect(nodes.map((n) => [n.name, n.role, n.state])).toEqual([
        ['alpha', 'api', 'live'],
        ['beta', 'worker', 'live'],
      ]);
      expect(nodes[0]).toMatchObject({ id: api.id, pid: process.pid, version: '1.2.3', heartbeatMs: 100, stoppedAt: null });
    }
    // Heartbeats move heartbeat_at forward.
    const first = (await regB.get(api.id))!.heartbeatAt;
    await waitFor(async () => (await regB.get(api.id))!.heartbeatAt > first, 10_000, 'a heartbeat of alpha');

    await worker.stop();
    const stopped = (await regA.get(worker.id))!;
    expect(stopped.state).toBe('stopped');
    expect(stopped.stoppedAt).not.toBeNull();
    const isDead = await regA.deadOwnerPredicate();
    expect(isDead(worker.leaseOwner())).toBe(true);
    expect(isDead(api.leaseOwner('w_1'))).toBe(false);
    expect(isDead('daemon:host:123:w_x')).toBe(false);
    expect(isDead(leaseOwner('node_unknown'))).toBe(false);
    expect(await regA.isNodeDead(worker.leaseOwner())).toBe(true);
    expect(await regA.isNodeDead(api.leaseOwner())).toBe(false);
  });

  it("lease recovery takes a dead node's messages at once, and leaves a live node's alone", async () => {
    const reg = new NodeRegistry(poolA, { schema });
    const alive = await register(reg, { role: 'worker', name: 'alive', heartbeatMs: 100 });
    const dying = await register(reg, { role: 'worker', name: 'dying', heartbeatMs: 100 });
    const store = new PgQueueStore(poolA, { schema });
    try {
      await store.enqueueMany(['a', 'b'].map((agentId) => ({ kind: 'job' as const, agentId, conversationId: agentId, channel: 'api', content: agentId })));
      await store.claim({ owner: alive.leaseOwner(), leaseMs: 600_000, maxAgents: 1, agents: new Set(['a']) });
      await store.claim({ owner: dying.leaseOwner(), leaseMs: 600_000, maxAgents: 1, agents: new Set(['b']) });
      await dying.stop();
      expect(await store.expireLeases(await reg.deadOwnerPredicate())).toBe(1);
      const recovered = await store.recoverExpiredLeases();
      expect(recovered.map((r) => [r.agentId, r.status])).toEqual([['b', 'pending']]);
      expect((await store.listProcessing()).map((m) => m.agentId)).toEqual(['a']);
    } finally {
      await store.close();
    }
  });

  it('a node whose heartbeat cannot reach the database goes stale, logs once, keeps retrying and is live again when it can', async () => {
    const proxy = new CuttableProxy(new URL(db.url));
    await proxy.start();
    const viaProxy = new pg.Pool({ connectionString: proxy.url(), max: 2, connectionTimeoutMillis: 2000 });
    viaProxy.on('error', () => {}); // idle clients lose their connection when the proxy is cut
    const log = { info: [] as string[], warn: [] as string[] };
    try {
      const observer = new NodeRegistry(poolA, { schema });
      const node = await register(new NodeRegistry(viaProxy, { schema }), {
        role: 'worker',
        name: 'gamma',
        heartbeatMs: 100,
        log: { info: (m) => log.info.push(m), warn: (m) => log.warn.push(m) },
      });
      expect((await observer.get(node.id))!.state).toBe('live');
      await proxy.cut();
      const stale = await waitFor(
        async () => {
          const n = (await observer.get(node.id))!;
          return n.state === 'stale' && n;
        },
        15_000,
        'gamma to go stale',
      );
      expect(stale.heartbeatAgeMs).toBeGreaterThan(300);
      expect(await observer.isNodeDead(node.leaseOwner())).toBe(true);
      await waitFor(() => node.heartbeatFailures >= 4, 15_000, 'several failed heartbeats');
      expect(log.warn).toHaveLength(1);
      expect(log.warn[0]).toMatch(/heartbeat failed .*retrying every 100 ms/);
      expect(log.info).toEqual([]);
      // While the node is stale, the same name may be taken by another node (it is presumed dead).
      // Here it is not: the database comes back first.
      await proxy.start();
      await waitFor(async () => (await observer.get(node.id))!.state === 'live', 15_000, 'gamma live again');
      expect(node.heartbeatFailures).toBe(0);
      expect(log.info).toHaveLength(1);
      expect(log.info[0]).toMatch(/heartbeat restored after/);
      expect(log.warn).toHaveLength(1);
    } finally {
      for (const node of running.splice(0)) await node.stop();
      await viaProxy.end();
      await proxy.cut();
    }
  });

  it('a second live node with the same name is refused; a stale or stopped one, or a dead predecessor on this host, is not in the way', async () => {
    const regA = new NodeRegistry(poolA, { schema });
    const regB = new NodeRegistry(poolB, { schema });
    const first = await register(regA, { role: 'worker', name: 'delta', heartbeatMs: 100 });
    const refused = await regB.register({ role: 'worker', name: 'delta' }).catch((err: unknown) => err);
    expect(isTinyError(refused, 'ALREADY_EXISTS')).toBe(true);
    expect((refused as Error).message).toContain('A node named "delta" is already running');
    expect((refused as Error).message).toContain(first.id);
    expect(await regA.list()).toHaveLength(1);

    // Concurrent registrations of one name: exactly one wins.
    const racing = await Promise.allSettled([regA.register({ role: 'worker', name: 'epsilon' }), regB.register({ role: 'worker', name: 'epsilon' })]);
    for (const r of racing) if (r.status === 'fulfilled') running.push(r.value);
    expect(racing.filter((r) => r.status === 'fulfilled')).toHaveLength(1);

    await first.stop();
    const again = await register(regB, { role: 'worker', name: 'delta', heartbeatMs: 100 });
    expect(again.id).not.toBe(first.id);

    // A predecessor of this host whose process is gone (it crashed and was restarted before it went stale).
    const deadPid = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
    const crashed = 'node_01crashedpredecessor0000';
    await poolA.query(
      `INSERT INTO "${schema}".nodes (id, name, role, hostname, pid, started_at, heartbeat_at, heartbeat_ms) VALUES ($1, 'zeta', 'worker', $2, $3, 0, (extract(epoch from clock_timestamp()) * 1000)::bigint, 60000)`,
      [crashed, (await import('node:os')).hostname(), deadPid],
    );
    expect((await regA.get(crashed))!.state).toBe('live');
    await register(regA, { role: 'worker', name: 'zeta' });
    expect((await regA.get(crashed))!.state).toBe('stopped');
  });

  it('a node whose row was marked stopped by someone else is told once (onLost)', async () => {
    const reg = new NodeRegistry(poolA, { schema });
    let lost = 0;
    const node = await register(reg, { role: 'worker', name: 'eta', heartbeatMs: 50, onLost: () => lost++ });
    await poolB.query(`UPDATE "${schema}".nodes SET stopped_at = 1 WHERE id = $1`, [node.id]);
    await waitFor(() => lost === 1, 10_000, 'onLost');
    await node.beat();
    expect(lost).toBe(1);
  });

  it('retention: prune deletes stopped rows 10 minutes after they stopped and stale rows an hour after their last beat, never a live node', async () => {
    const reg = new NodeRegistry(poolA, { schema });
    const live = await register(reg, { role: 'api', name: 'live', heartbeatMs: 100 });
    const node = async (name: string, stoppedAgoMs: number | null, beatAgoMs: number) => {
      const n = await reg.register({ role: 'worker', name, heartbeatMs: 100 });
      await n.stop();
      await poolA.query(`UPDATE "${schema}".nodes SET stopped_at = CASE WHEN $2::bigint IS NULL THEN NULL ELSE ${NOW_MS} - $2::bigint END, heartbeat_at = ${NOW_MS} - $3::bigint WHERE id = $1`, [
        n.id,
        stoppedAgoMs,
        beatAgoMs,
      ]);
      return n.id;
    };
    const minute = 60_000;
    const stoppedLongAgo = await node('s-old', 11 * minute, 11 * minute);
    const stoppedRecently = await node('s-new', 9 * minute, 9 * minute);
    const staleLongAgo = await node('t-old', null, 61 * minute);
    const staleRecently = await node('t-new', null, 59 * minute);
    expect(Object.fromEntries((await reg.list()).map((n) => [n.id, n.state]))).toMatchObject({ [staleLongAgo]: 'stale', [staleRecently]: 'stale', [stoppedLongAgo]: 'stopped' });
    expect(NODE_RETENTION).toEqual({ stoppedMs: 10 * minute, staleMs: 60 * minute });
    expect(await reg.prune()).toBe(2);
    expect((await reg.list()).map((n) => n.id).sort()).toEqual([live.id, stoppedRecently, staleRecently].sort());
    // A live node with a long heartbeat interval is not stale, however old its beat: never pruned.
    await poolA.query(`UPDATE "${schema}".nodes SET heartbeat_ms = 7200000, heartbeat_at = ${NOW_MS} - 3600000 WHERE id = $1`, [live.id]);
    expect(await reg.prune({ stoppedMs: 0, staleMs: 0 })).toBe(2);
    expect((await reg.list()).map((n) => n.id)).toEqual([live.id]);
  });

  it('a replacement registering after its crashed predecessor went stale is live, the predecessor is marked stopped (then pruned) and told if it comes back', async () => {
    const reg = new NodeRegistry(poolA, { schema });
    let lost = 0;
    const crashed = await register(reg, { role: 'worker', name: 'theta', heartbeatMs: 60_000, onLost: () => lost++ });
    // Its last beat 20 s ago (more than 15 s: 3 × its 5 s), as after a crash and a slow restart.
    await poolA.query(`UPDATE "${schema}".nodes SET heartbeat_ms = 5000, heartbeat_at = ${NOW_MS} - 20000 WHERE id = $1`, [crashed.id]);
    expect((await reg.get(crashed.id))!.state).toBe('stale');
    const replacement = await register(new NodeRegistry(poolB, { schema }), { role: 'worker', name: 'theta', heartbeatMs: 100 });
    const states = Object.fromEntries((await reg.list()).map((n) => [n.id, n.state]));
    expect(states).toEqual({ [crashed.id]: 'stopped', [replacement.id]: 'live' });
    expect(await reg.prune({ ...NODE_RETENTION, stoppedMs: 0 })).toBe(1);
    expect((await reg.list()).map((n) => n.id)).toEqual([replacement.id]);
    // The old process was only cut off: its next beat finds its row gone and it is told to stop.
    await crashed.beat();
    expect(lost).toBe(1);
    expect(crashed.problem()).toMatch(/theta.*marked stopped in the database/);
  });

  it('problem(): none while the heartbeat reaches the database, the reason once no beat did for two intervals', async () => {
    const proxy = new CuttableProxy(new URL(db.url));
    await proxy.start();
    const viaProxy = new pg.Pool({ connectionString: proxy.url(), max: 2, connectionTimeoutMillis: 2000 });
    viaProxy.on('error', () => {});
    try {
      const node = await register(new NodeRegistry(viaProxy, { schema }), { role: 'api', name: 'iota', heartbeatMs: 100 });
      expect(node.problem()).toBeUndefined();
      await proxy.cut();
      const problem = await waitFor(() => node.problem(), 15_000, 'a problem reported');
      expect(problem).toMatch(
        /no heartbeat of node "iota" reached the database for \d+\.\d s \((last error: .+|a heartbeat is still waiting for the database)\); the other nodes count it stale after 0.3 s/,
      );
      await proxy.start();
      await waitFor(() => node.problem() === undefined, 15_000, 'the problem gone once the database is back');
    } finally {
      for (const node of running.splice(0)) await node.stop();
      await viaProxy.end();
      await proxy.cut();
    }
  });
});

/**
 * The queue conformance suite on PostgreSQL (TINYAGI_TEST_DATABASE_URL, default the local
 * database). Every test gets its own schema, dropped after it, so test files and runs can share
 * one database side by side. Under CI=1 an unreachable database fails this file.
 */
import { readFileSync } from 'node:fs';
import { waitFor } from '@tinyagi/test-kit';
import { pgTestDatabase, dropSchema, testSchema } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { isTinyError } from '../src/errors.ts';
import { PgQueueStore } from '../src/queue/pg-store.ts';
import { QueueWorker } from '../src/queue/worker.ts';
import { migratePg } from '../src/storage/pg/migrate.ts';
import { openPgStores } from '../src/compose/pg-stores.ts';
import { heldWorker, runQueueConformance } from './queue-conformance.ts';

/** Claim statements sent through a spied pool (the store's named claim statements). */
const claimCalls = (spy: { mock: { calls: unknown[][] } }) => spy.mock.calls.filter(([q]) => String((q as { name?: unknown } | null)?.name ?? '').startsWith('tq_claim')).length;

const db = await pgTestDatabase();
const pool = new pg.Pool({ connectionString: db.url, max: 6 });
afterAll(() => pool.end());

describe.skipIf(db.skip !== undefined)('PostgreSQL queue store', () => {
  runQueueConformance('postgres', async () => {
    const schema = testSchema('q');
    await migratePg(pool, schema);
    const store = new PgQueueStore(pool, { schema });
    return {
      store,
      close: async () => {
        await store.close();
        await dropSchema(pool, schema);
      },
    };
  });

  it('concurrent claimers (six stores, two pools) never hold two batches of one agent, keep per-agent FIFO and hand out each message once', async () => {
    const schema = testSchema('c');
    await migratePg(pool, schema);
    const other = new pg.Pool({ connectionString: db.url, max: 4 });
    const stores = [pool, pool, pool, other, other, other].map((p) => new PgQueueStore(p, { schema }));
    try {
      const agents = 6;
      const total = 1200;
      await stores[0]!.enqueueMany(Array.from({ length: total }, (_, i) => ({ kind: 'job' as const, agentId: `a${i % agents}`, conversationId: `c${i % 5}`, channel: 'api', content: String(i) })));
      const held = new Set<string>();
      const seen = new Map<string, number[]>();
      let violations = 0;
      let done = 0;
      const run = async (store: PgQueueStore, owner: string) => {
        while (done < total) {
          const batches = await store.claim({ owner, leaseMs: 60_000, maxAgents: 2, policy: (a) => (a.endsWith('1') ? 'collect' : 'sequential') });
          if (batches.length === 0) {
            await new Promise((r) => setImmediate(r));
            continue;
          }
          for (const b of batches) {
            if (held.has(b.agentId)) violations++;
            held.add(b.agentId);
            const list = seen.get(b.agentId) ?? [];
            list.push(...b.messages.map((m) => m.seq));
            seen.set(b.agentId, list);
          }
          await Promise.all(
            batches.map(async (b) => {
              // Hold the agent across a few event-loop turns (other claimers' queries run), then
              // release it just before the commit: a correct store hands it out only after that.
              for (let k = 0; k < 3; k++) await new Promise((r) => setImmediate(r));
              held.delete(b.agentId);
              await store.complete(
                owner,
                b.messages.map((m) => m.id),
              );
              done += b.messages.length;
            }),
          );
        }
      };
      await Promise.all(stores.map((s, k) => run(s, `w${k}`)));
      expect(violations).toBe(0);
      expect(await stores[0]!.counts()).toMatchObject({ completed: total, pending: 0, processing: 0 });
      const all = [...seen.values()].flat();
      expect(new Set(all).size).toBe(total);
      expect(all).toHaveLength(total);
      // Sequential agents get their messages in seq order; the collecting ones per conversation.
      for (const [agent, seqs] of seen) {
        if (agent.endsWith('1')) continue;
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await other.end();
      await dropSchema(pool, schema);
    }
  });

  it('renewLeases writes only leases with less than two thirds of the lease left, and reports lost and cancel-requested ids of the others too', async () => {
    const schema = testSchema('r');
    await migratePg(pool, schema);
    const store = new PgQueueStore(pool, { schema });
    try {
      for (const agentId of ['a', 'b', 'c']) await store.enqueue({ kind: 'user', agentId, conversationId: agentId, channel: 'api', content: agentId });
      const now = Date.now();
      const [a, b] = (await store.claim({ owner: 'w1', leaseMs: 60_000, maxAgents: 2, now })).map((batch) => batch.messages[0]!);
      const [c] = (await store.claim({ owner: 'w1', leaseMs: 1_000, maxAgents: 1, now })).map((batch) => batch.messages[0]!);
      await store.cancel(b!.id);
      const renewal = await store.renewLeases('w1', [a!.id, b!.id, c!.id, 'gone'], 60_000);
      expect(renewal).toEqual({ lost: ['gone'], cancelRequested: [b!.id] });
      // a and b had a full lease left: their rows are as the claim wrote them; c's was renewed.
      expect((await store.get(a!.id))!.leaseExpiresAt).toBe(now + 60_000);
      expect((await store.get(c!.id))!.leaseExpiresAt).toBeGreaterThanOrEqual(now + 60_000);
    } finally {
      await store.close();
      await dropSchema(pool, schema);
    }
  });

  it('a worker picks up an enqueue of another process at once through LISTEN/NOTIFY (sweep of one hour)', async () => {
    const schema = testSchema('w');
    await migratePg(pool, schema);
    const producerPool = new pg.Pool({ connectionString: db.url, max: 2 });
    const producer = new PgQueueStore(producerPool, { schema });
    const store = new PgQueueStore(pool, { schema });
    const seen: string[] = [];
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const worker = new QueueWorker({
      store,
      sweepMs: 3_600_000,
      handler: async (batch) => {
        seen.push(...batch.messages.map((m) => m.content));
        if (seen.length === 3) resolveDone();
      },
    });
    try {
      worker.start();
      // The worker's LISTEN is set up by its first onWake: a claim made after it proves it is live.
      await store.claim({ owner: 'probe', leaseMs: 1000, maxAgents: 1 });
      for (const [agentId, content] of [
        ['a', 'one'],
        ['b', 'two'],
        ['a', 'three'],
      ] as const) {
        await producer.enqueue({ kind: 'user', agentId, conversationId: 'c', channel: 'api', content });
      }
      await done;
      await worker.stop();
      expect(seen.sort()).toEqual(['one', 'three', 'two']);
      expect(await store.counts()).toMatchObject({ completed: 3, pending: 0, processing: 0 });
    } finally {
      await worker.stop();
      await store.close();
      await producer.close();
      await producerPool.end();
      await dropSchema(pool, schema);
    }
  });

  it('a worker with a sweep of one hour keeps up with a producer in another process: no wake-up is lost while it is busy', async () => {
    const schema = testSchema('b');
    await migratePg(pool, schema);
    const producerPool = new pg.Pool({ connectionString: db.url, max: 2 });
    const producer = new PgQueueStore(producerPool, { schema });
    const store = new PgQueueStore(pool, { schema });
    const total = 600;
    let handled = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const worker = new QueueWorker({
      store,
      sweepMs: 3_600_000,
      concurrency: 4,
      handler: async (batch) => {
        handled += batch.messages.length;
        if (handled === total) resolveDone();
      },
    });
    try {
      worker.start();
      await store.claim({ owner: 'probe', leaseMs: 1000, maxAgents: 1 });
      for (let i = 0; i < total; i += 10) {
        await producer.enqueueMany(Array.from({ length: 10 }, (_, k) => ({ kind: 'job' as const, agentId: `a${(i + k) % 20}`, conversationId: `c${k % 3}`, channel: 'api', content: String(i + k) })));
      }
      await done;
      await worker.stop();
      expect(await store.counts()).toMatchObject({ completed: total, pending: 0, processing: 0 });
    } finally {
      await worker.stop();
      await store.close();
      await producer.close();
      await producerPool.end();
      await dropSchema(pool, schema);
    }
  });

  it("a batch of one message frees its slot when its handler returns: another agent's batch runs while that completion waits to commit", async () => {
    const schema = testSchema('fs');
    await migratePg(pool, schema);
    const store = new PgQueueStore(pool, { schema });
    const holder = await pool.connect();
    const started: string[] = [];
    let a1 = '';
    const worker = new QueueWorker({
      store,
      sweepMs: 3_600_000,
      concurrency: 1,
      handler: async (batch) => {
        const message = batch.messages[0]!;
        started.push(message.content);
        // Another transaction locks the message: its completion waits for that lock.
        if (message.content === 'a1') {
          a1 = message.id;
          await holder.query('BEGIN');
          await holder.query(`SELECT 1 FROM "${schema}".messages WHERE id = $1 FOR UPDATE`, [message.id]);
        }
      },
    });
    try {
      await store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'ca', channel: 'api', content: 'a1' });
      await store.enqueue({ kind: 'user', agentId: 'b', conversationId: 'cb', channel: 'api', content: 'b1' });
      worker.start();
      await waitFor(() => started.includes('b1'), 10_000, "b's batch started while a's completion waits");
      expect((await store.get(a1))?.status).toBe('processing');
      await holder.query('COMMIT');
      await waitFor(async () => (await store.counts()).completed === 2, 10_000, 'both completed');
      expect(started).toEqual(['a1', 'b1']);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await worker.stop();
      holder.release();
      await store.close();
      await dropSchema(pool, schema);
    }
  });

  it("a worker's start readies three connections, each with the claim planned, and resolves after its first claim", async () => {
    const schema = testSchema('ready');
    await migratePg(pool, schema);
    const own = new pg.Pool({ connectionString: db.url, max: 5 });
    const store = new PgQueueStore(own, { schema });
    const started: string[] = [];
    const worker = new QueueWorker({ store, sweepMs: 3_600_000, handler: async (batch) => void started.push(...batch.messages.map((m) => m.content)) });
    try {
      await store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'm1' });
      await worker.start();
      expect(started).toEqual(['m1']);
      await waitFor(async () => (await store.counts()).completed === 1, 10_000, 'completed');
      expect(own.totalCount).toBe(3);
      // All three at once: each is one of the pool's connections, not a new one.
      const clients = await Promise.all([0, 1, 2].map(() => own.connect()));
      try {
        expect(own.totalCount).toBe(3);
        for (const client of clients) {
          const { rows } = await client.query<{ name: string }>('SELECT name FROM pg_prepared_statements');
          expect(rows.map((r) => r.name)).toContain(`tq_claim_next_${schema}`);
        }
      } finally {
        for (const client of clients) client.release();
      }
    } finally {
      await worker.stop();
      await store.close();
      await own.end();
      await dropSchema(pool, schema);
    }
  });

  it('TINYAGI_PG_PREPARE=off: claims go unnamed, as every other statement (a pooler that cannot keep prepared statements)', async () => {
    const schema = testSchema('unnamed');
    await migratePg(pool, schema);
    const own = new pg.Pool({ connectionString: db.url, max: 2 });
    process.env.TINYAGI_PG_PREPARE = 'off';
    const store = new PgQueueStore(own, { schema });
    delete process.env.TINYAGI_PG_PREPARE;
    try {
      await store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'm1' });
      await store.prepareConnections(1);
      expect(await store.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 1 })).toHaveLength(1);
      // Every connection the store used (all at once: each is one of the pool's).
      const clients = await Promise.all(Array.from({ length: own.totalCount }, () => own.connect()));
      try {
        for (const client of clients) expect((await client.query("SELECT name FROM pg_prepared_statements WHERE name LIKE 'tq_%'")).rows).toEqual([]);
      } finally {
        for (const client of clients) client.release();
      }
    } finally {
      delete process.env.TINYAGI_PG_PREPARE;
      await store.close();
      await own.end();
      await dropSchema(pool, schema);
    }
  });

  it("a stall of the worker's own event loop longer than the lease loses no run in flight: the worker keeps its lease, the run completes on its first attempt", async () => {
    const schema = testSchema('st');
    await migratePg(pool, schema);
    const store = new PgQueueStore(pool, { schema });
    const { worker, running, release, calls } = heldWorker(store, 300);
    try {
      worker.start();
      const { id } = await store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'x', maxAttempts: 1 });
      await running;
      // Right after a renewal (the next sweep is due before the next renewal), the loop blocks until the lease has run out.
      const claimed = (await store.get(id))!.leaseExpiresAt!;
      const expiry = await waitFor(
        async () => {
          const lease = (await store.get(id))!.leaseExpiresAt!;
          return lease > claimed ? lease : undefined;
        },
        20_000,
        'a renewal',
        1,
      );
      while (Date.now() <= expiry + 30) {
        /* busy: no timer, renewal or sweep can run */
      }
      await waitFor(async () => {
        const m = (await store.get(id))!;
        return m.status !== 'processing' || m.leaseExpiresAt! > Date.now() + 100;
      });
      expect(await store.get(id)).toMatchObject({ status: 'processing', attempts: 1, leaseOwner: worker.owner });
      release();
      await waitFor(async () => (await store.get(id))!.status !== 'processing');
      await worker.stop();
      expect(await store.get(id)).toMatchObject({ status: 'completed', attempts: 1 });
      expect(calls()).toBe(1);
    } finally {
      release();
      await worker.stop();
      await store.close();
      await dropSchema(pool, schema);
    }
  });

  it("a renewal already on its way when the lease ran out does not let the sweep's recovery take the worker's own batch: the sweep renews afresh", async () => {
    const schema = testSchema('rw');
    await migratePg(pool, schema);
    // Its own pool: the lock below holds one of the test's connections.
    const workerPool = new pg.Pool({ connectionString: db.url, max: 4 });
    const store = new PgQueueStore(workerPool, { schema });
    const { worker, running, release } = heldWorker(store, 1_200);
    const locker = await pool.connect();
    try {
      // Started (its connections readied): the lock below meets only the worker's lease work.
      await worker.start();
      const { id } = await store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'x', maxAttempts: 1 });
      await running;
      const expiry = (await store.get(id))!.leaseExpiresAt!;
      // While the lease has two thirds left, a sweep's renewal (which then writes nothing) is held
      // at the table until the lease has run out, as a stall of the worker's loop would hold it.
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".messages IN ACCESS EXCLUSIVE MODE`);
      expect(Date.now()).toBeLessThan(expiry - 900);
      await waitFor(
        async () => (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%lease_expires_at = $1%'`)).rows[0]!.n > 0,
        5_000,
        'a renewal waiting at the lock',
      );
      await waitFor(() => Date.now() > expiry + 50, 5_000, 'the lease to run out');
      await locker.query('COMMIT');
      await waitFor(async () => {
        const m = (await store.get(id))!;
        return m.status !== 'processing' || m.leaseExpiresAt! > Date.now() + 100;
      });
      expect(await store.get(id)).toMatchObject({ status: 'processing', attempts: 1, leaseOwner: worker.owner });
      release();
      await waitFor(async () => (await store.get(id))!.status !== 'processing');
      expect(await store.get(id)).toMatchObject({ status: 'completed', attempts: 1 });
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      locker.release();
      release();
      await worker.stop();
      await store.close();
      await workerPool.end();
      await dropSchema(pool, schema);
    }
  });

  it("a claim's next wake time gives way to a change another process made after it, once that change's notification arrives", async () => {
    const schema = testSchema('nw');
    await migratePg(pool, schema);
    const producerPool = new pg.Pool({ connectionString: db.url, max: 2 });
    const producer = new PgQueueStore(producerPool, { schema });
    const store = new PgQueueStore(pool, { schema });
    let woken: () => void = () => {};
    const off = store.onWake(() => woken());
    const nextWakeUp = () => new Promise<void>((resolve) => (woken = resolve));
    try {
      // An agent claimed before (a worker's usual case: its claim is then one call).
      await store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'earlier' });
      const [earlier] = await store.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 1 });
      await store.complete('w', [earlier!.messages[0]!.id]);
      await store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'running' });
      const now = Date.now();
      // Short of what it wanted (two agents' batches), so the claim reads the wake time.
      const [running] = await store.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 2, now });
      expect(await store.nextWakeAt(now)).toBe(running!.messages[0]!.leaseExpiresAt);
      await producer.enqueue({ kind: 'user', agentId: 'b', conversationId: 'c', channel: 'api', content: 'later', availableAt: now + 5000 });
      // Stale until the producer's notification arrives (this loop never ends if it is not counted).
      for (;;) {
        const wakeUp = nextWakeUp();
        if ((await store.nextWakeAt(now)) === now + 5000) break;
        await wakeUp;
      }
    } finally {
      off();
      await store.close();
      await producer.close();
      await producerPool.end();
      await dropSchema(pool, schema);
    }
  });

  it('a claim that got every batch it wanted leaves the next wake time to nextWakeAt (drizzle-pg/0028): its worker claims again at once', async () => {
    const schema = testSchema('wf');
    await migratePg(pool, schema);
    const store = new PgQueueStore(pool, { schema });
    const off = store.onWake(() => {});
    const spy = vi.spyOn(pool, 'query');
    const wakeReads = () => spy.mock.calls.filter(([q]) => String((q as { text?: unknown } | null)?.text ?? q).includes('tinyagi_next_wake')).length;
    try {
      await store.enqueueMany(['a', 'b'].map((agentId) => ({ kind: 'job' as const, agentId, conversationId: `c-${agentId}`, channel: 'api', content: agentId })));
      const now = Date.now();
      const [full] = await store.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 1, now });
      let before = wakeReads();
      expect(await store.nextWakeAt(now)).toBe(full!.messages[0]!.leaseExpiresAt);
      expect(wakeReads() - before).toBe(1);
      // Short of what it wanted: the wake time came with the claim.
      const [short] = await store.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 2, now: now + 1 });
      expect(short!.agentId).toBe('b');
      before = wakeReads();
      expect(await store.nextWakeAt(now + 1)).toBe(full!.messages[0]!.leaseExpiresAt);
      expect(wakeReads() - before).toBe(0);
    } finally {
      spy.mockRestore();
      off();
      await store.close();
      await dropSchema(pool, schema);
    }
  });

  it('a claim that meets an agent this store did not know leaves the next wake time out (drizzle-pg/0028): the store claims that agent next and then asks', async () => {
    const schema = testSchema('wu');
    await migratePg(pool, schema);
    // The claims' connection counts its calls of PL/pgSQL functions (pg_stat_user_functions).
    const counted = new pg.Pool({ connectionString: db.url, max: 1, options: '-c track_functions=pl' });
    const store = new PgQueueStore(counted, { schema });
    const wakeCalls = async () => {
      await counted.query('SELECT pg_stat_force_next_flush()');
      const { rows } = await pool.query<{ n: string }>('SELECT coalesce(sum(calls), 0) AS n FROM pg_stat_user_functions WHERE schemaname = $1 AND funcname = $2', [schema, 'tinyagi_next_wake']);
      return Number(rows[0]!.n);
    };
    try {
      // Enqueued by another store: this one has not heard of the agents.
      const other = new PgQueueStore(pool, { schema });
      await other.enqueueMany(['a', 'b'].map((agentId) => ({ kind: 'job' as const, agentId, conversationId: `c-${agentId}`, channel: 'api', content: agentId })));
      await other.close();
      const before = await wakeCalls();
      const now = Date.now();
      const batches = await store.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 4, now });
      expect(batches.map((b) => b.agentId).sort()).toEqual(['a', 'b']);
      expect((await wakeCalls()) - before).toBe(0);
      expect(await store.nextWakeAt(now)).toBe(batches[0]!.messages[0]!.leaseExpiresAt);
      expect((await wakeCalls()) - before).toBe(1);
    } finally {
      await store.close();
      await counted.end();
      await dropSchema(pool, schema);
    }
  });

  it("a message available when written is claimed by a node whose clock is behind the writer's; a delayed one waits for the claimer's clock and alone sets the wake time", async () => {
    const schema = testSchema('sk');
    await migratePg(pool, schema);
    const store = new PgQueueStore(pool, { schema });
    try {
      const behind = Date.now() - 60_000;
      const claim = (now: number) => store.claim({ owner: 'w', leaseMs: 600_000, maxAgents: 4, now });
      await store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'ca', channel: 'api', content: 'now' });
      const delayedUntil = Date.now() + 30_000;
      await store.enqueue({ kind: 'user', agentId: 'b', conversationId: 'cb', channel: 'api', content: 'later', availableAt: delayedUntil });
      // Each agent is new to this store: tinyagi_claim_next lists it, then tinyagi_claim claims it
      // (each function applies the availability rule).
      expect((await claim(behind)).map((b) => b.messages.map((m) => m.content))).toEqual([['now']]);
      await store.enqueue({ kind: 'user', agentId: 'c', conversationId: 'cc', channel: 'api', content: 'now too' });
      await store.enqueue({ kind: 'user', agentId: 'a', conversationId: 'ca', channel: 'api', content: 'busy' });
      expect(await store.nextWakeAt(behind)).toBe(delayedUntil);
      expect((await claim(behind)).map((b) => b.messages.map((m) => m.content))).toEqual([['now too']]);
      expect((await claim(delayedUntil)).map((b) => b.messages.map((m) => m.content))).toEqual([['later']]);
    } finally {
      await store.close();
      await dropSchema(pool, schema);
    }
  });

  it('after a claim that left batches short the next one takes its turn (waits for the claims in progress); after full batches it claims beside them', async () => {
    const schema = testSchema('tt');
    await migratePg(pool, schema);
    const store = new PgQueueStore(pool, { schema });
    const holder = await pool.connect();
    const contents = (batches: Awaited<ReturnType<typeof store.claim>>) => batches.map((b) => b.messages.map((m) => m.content));
    const claim = (policy: 'collect' | 'sequential') => store.claim({ owner: 'w', leaseMs: 600_000, maxAgents: 4, collectLimit: 50, policy: () => policy });
    const send = (agentId: string, content: string) => store.enqueue({ kind: 'user', agentId, conversationId: `c-${agentId}`, channel: 'api', content });
    const waitingForLock = async () => Number((await pool.query<{ n: string }>("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).rows[0]!.n) > 0;
    try {
      await send('a', 'a1');
      await send('a', 'a2');
      await send('b', 'b1');
      // One at a time (sequential): every batch is full.
      const first = await claim('sequential');
      expect(contents(first)).toEqual([['a1'], ['b1']]);
      const a1 = first[0];
      await holder.query('BEGIN');
      // A claim in progress beside others holds the schema's claim lock shared (drizzle-pg/0024).
      await holder.query('SELECT pg_advisory_xact_lock_shared(hashtext($1), hashtext($2))', ['tinyagi.claim', schema]);
      await store.complete('w', [a1!.messages[0]!.id]);
      // The previous claim's batches were full: this one claims beside it.
      expect(contents(await claim('collect'))).toEqual([['a2']]);
      // Those were short of the collect limit: the next claim waits for the one in progress.
      await send('c', 'c1');
      const next = claim('collect');
      await waitFor(waitingForLock, 10_000, 'a claim waiting for the claim lock');
      await holder.query('COMMIT');
      expect(contents(await next)).toEqual([['c1']]);
    } finally {
      holder.release();
      await store.close();
      await dropSchema(pool, schema);
    }
  });

  it('a claim never waits long for a message another transaction holds locked: one that took its turn claims the other agents instead, and the locked message once it is free', async () => {
    const schema = testSchema('tl');
    await migratePg(pool, schema);
    const store = new PgQueueStore(pool, { schema });
    const holder = await pool.connect();
    const contents = (batches: Awaited<ReturnType<typeof store.claim>>) => batches.map((b) => b.messages.map((m) => m.content));
    const claim = () => store.claim({ owner: 'w', leaseMs: 600_000, maxAgents: 4, collectLimit: 50 });
    const send = (agentId: string, content: string) => store.enqueue({ kind: 'user', agentId, conversationId: `c-${agentId}`, channel: 'api', content });
    try {
      // Both agents known to the store; the claim left its batches short: the next takes its turn
      // (one statement, no lock per head).
      await send('a', 'a0');
      await send('b', 'b0');
      const first = await claim();
      expect(contents(first)).toEqual([['a0'], ['b0']]);
      await store.completeMany(first.map((b) => ({ owner: 'w', ids: b.messages.map((m) => m.id) })));
      await send('a', 'a1');
      await send('b', 'b1');
      // Another transaction holds a's message locked and stays open (a cancel inside a long
      // transaction, say).
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM "${schema}".messages WHERE agent_id = 'a' FOR UPDATE`);
      expect(contents(await claim())).toEqual([['b1']]);
      await holder.query('COMMIT');
      expect(contents(await claim())).toEqual([['a1']]);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      holder.release();
      await store.close();
      await dropSchema(pool, schema);
    }
  });

  it('claims and completions run while the table was nearly empty stay index lookups as the backlog grows (drizzle-pg/0026-0028): both kinds of claim and a completion read a few rows, not the backlog or the batches in flight', async () => {
    const schema = testSchema('gp');
    await migratePg(pool, schema);
    // One connection, kept however long the backlog takes to write: a connection keeps the plans it made (the completion's, drizzle-pg/0027).
    const one = new pg.Pool({ connectionString: db.url, max: 1, idleTimeoutMillis: 0 });
    const store = new PgQueueStore(one, { schema });
    const claim = (agents?: ReadonlySet<string>) => store.claim({ owner: 'w', leaseMs: 600_000, maxAgents: 4, policy: () => 'sequential', ...(agents ? { agents } : {}) });
    const send = (agentId: string, n: number) =>
      store.enqueueMany(Array.from({ length: n }, (_, i) => ({ kind: 'job' as const, agentId, conversationId: `c-${agentId}`, channel: 'api', content: String(i) })));
    const settle = async (batches: Awaited<ReturnType<typeof claim>>) => store.completeMany(batches.map((b) => ({ owner: 'w', ids: b.messages.map((m) => m.id) })));
    // Rows the messages table's scans read so far, flushed from the claiming connection first.
    const rowsRead = async () => {
      await one.query('SELECT pg_stat_force_next_flush()');
      const { rows } = await pool.query<{ n: string }>(
        'SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) + (SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes i WHERE i.relid = t.relid) AS n FROM pg_stat_user_tables t WHERE schemaname = $1 AND relname = $2',
        [schema, 'messages'],
      );
      return Number(rows[0]!.n);
    };
    const readBy = async (run: () => Promise<Awaited<ReturnType<typeof claim>>>) => {
      const before = await rowsRead();
      const batches = await run();
      return { batches, read: (await rowsRead()) - before };
    };
    try {
      // While the table is (nearly) empty: a claim taking its turn (the first), then
      // one beside others (after full batches), through both of its functions.
      await settle(await claim());
      await send('a', 1);
      await send('b', 1);
      await settle(await claim());
      // Completions too (a generic plan is kept after five runs, as a prepared statement's would be).
      for (let k = 0; k < 6; k++) {
        await send('a', 1);
        await settle(await claim());
      }
      // A backlog of 20,000 messages over eight agents, beside 2,000 batches in flight (other
      // workers'): a candidate's busy check looks up its agent, not every batch in flight.
      for (let k = 0; k < 8; k++) await send(`agent-${k}`, 2500);
      const other = new PgQueueStore(pool, { schema });
      await other.enqueueMany(Array.from({ length: 2000 }, (_, k) => ({ kind: 'job' as const, agentId: `busy-${k}`, conversationId: `c-busy-${k}`, channel: 'api', content: '0' })));
      await other.close();
      await pool.query(`UPDATE "${schema}".messages SET status = 'processing', lease_owner = 'other', lease_expires_at = $1 WHERE agent_id LIKE 'busy-%'`, [Date.now() + 600_000]);
      // Their pending versions' index entries gone, as vacuum leaves them.
      await pool.query(`VACUUM "${schema}".messages`);
      // Room for one walk of the batches in flight, as a claim that reads the wake time makes (the
      // earliest lease: drizzle-pg/0023; these claims fill their want and skip it, 0028).
      const limit = 2000 + 2000;
      const beside = await readBy(() => claim());
      expect(beside.batches).toHaveLength(4);
      expect(beside.read).toBeLessThan(limit);
      const completion = await readBy(async () => {
        await settle(beside.batches);
        return beside.batches;
      });
      expect(completion.read).toBeLessThan(2000);
      // A claim that found nothing (only an agent with none) makes the next one take its turn.
      expect(await claim(new Set(['nobody']))).toEqual([]);
      const turn = await readBy(() => claim());
      expect(turn.batches).toHaveLength(4);
      expect(turn.read).toBeLessThan(limit);
    } finally {
      await store.close();
      await one.end();
      await dropSchema(pool, schema);
    }
  });

  it('a value with a NUL character is refused as bad input (VALIDATION_FAILED), not a database failure: PostgreSQL text cannot hold one', async () => {
    const schema = testSchema('nul');
    await migratePg(pool, schema);
    const stores = await openPgStores({ pool, schema, migrate: false });
    try {
      const attempts: (() => Promise<unknown>)[] = [async () => stores.queue.get('msg_\u0000'), () => stores.transaction(async (tx) => tx.stores.queue.get('msg_\u0000'))];
      for (const attempt of attempts) {
        const err = await attempt().catch((e: unknown) => e);
        expect(isTinyError(err, 'VALIDATION_FAILED'), String(err)).toBe(true);
        expect((err as Error).message).toMatch(/must not contain NUL characters/);
      }
    } finally {
      await stores.close();
      await dropSchema(pool, schema);
    }
  });

  it('wake-ups survive the loss of the listening connection: it listens again on a new one and wakes the listeners for what they missed', async () => {
    const schema = testSchema('l');
    await migratePg(pool, schema);
    const store = new PgQueueStore(pool, { schema });
    const producer = new PgQueueStore(pool, { schema });
    try {
      let woke = 0;
      store.onWake(() => woke++);
      await store.claim({ owner: 'probe', leaseMs: 1000, maxAgents: 1 });
      const listenerPid = async () => (await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE query = $1', [`LISTEN "tinyagi_queue_${schema}"`])).rows.map((r) => r.pid);
      const [pid] = await listenerPid();
      expect(pid).toBeDefined();
      await pool.query('SELECT pg_terminate_backend($1)', [pid]);
      await vi.waitFor(() => expect(store.hub.listening).toBe(false), { timeout: 10_000 });
      // An enqueue by another store while nobody listens raises no notification here: once a new
      // connection listens again (a second later), the listeners are woken for what they missed…
      let before = woke;
      await producer.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'during the loss' });
      await vi.waitFor(() => expect(woke).toBeGreaterThan(before), { timeout: 10_000 });
      expect(store.hub.listening).toBe(true);
      expect((await listenerPid()).filter((p) => p !== pid)).toHaveLength(1);
      // …and an enqueue by another store then wakes them by its notification.
      before = woke;
      await producer.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'after the loss' });
      await vi.waitFor(() => expect(woke).toBeGreaterThan(before), { timeout: 10_000 });
    } finally {
      await store.close();
      await producer.close();
      await dropSchema(pool, schema);
    }
  });

  it('tx.stores.queue enqueues in the transaction: rolled back it leaves nothing and notifies nobody, committed it wakes a worker of another process', async () => {
    const schema = testSchema('t');
    const stores = await openPgStores({ pool, schema });
    const otherPool = new pg.Pool({ connectionString: db.url, max: 3 });
    // Another "process": its own pool, stores, LISTEN connection and worker.
    const other = await openPgStores({ pool: otherPool, schema, migrate: false });
    let wakes = 0;
    let wakesAtHandle = -1;
    const seen: string[] = [];
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const worker = new QueueWorker({
      store: other.queue,
      sweepMs: 3_600_000,
      handler: async (batch) => {
        wakesAtHandle = wakes;
        seen.push(...batch.messages.map((m) => m.content));
        resolveDone();
      },
    });
    try {
      other.queue.onWake(() => wakes++);
      worker.start();
      // A claim waits until the LISTEN is set up: from here on every notification reaches `other`.
      await other.queue.claim({ owner: 'probe', leaseMs: 1000, maxAgents: 1 });
      let rolledBack = '';
      await expect(
        stores.transaction(async (tx) => {
          rolledBack = (await tx.stores.queue.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'rolled back' })).id;
          expect((await tx.stores.queue.get(rolledBack))?.status).toBe('pending');
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await stores.queue.get(rolledBack)).toBeUndefined();
      expect(await other.queue.counts()).toMatchObject({ pending: 0, processing: 0, completed: 0 });
      await stores.transaction(async (tx) => {
        await tx.stores.queue.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c', channel: 'api', content: 'committed' });
      });
      await done;
      await worker.stop();
      expect(seen).toEqual(['committed']);
      // Notifications arrive in commit order: one from the rolled-back transaction would have
      // woken the worker before the committed one did.
      expect(wakesAtHandle).toBe(1);
      expect(await stores.queue.counts()).toMatchObject({ pending: 0, completed: 1 });
    } finally {
      await worker.stop();
      await other.close();
      await otherPool.end();
      await stores.close();
      await dropSchema(pool, schema);
    }
  });

  it('the busy policy is read at every claim, also for agents claimed in one round trip, and an agent seen for the first time is claimed in the same call', async () => {
    const schema = testSchema('p');
    await migratePg(pool, schema);
    const store = new PgQueueStore(pool, { schema });
    // Enqueues of another process, not listened to: their agents are new to `store` when it claims.
    const other = new PgQueueStore(pool, { schema });
    const calls: string[] = [];
    const spy = vi.spyOn(pool, 'query');
    try {
      const msg = (agentId: string, content: string) => ({ kind: 'job' as const, agentId, conversationId: 'c', channel: 'api', content });
      await other.enqueueMany([msg('a', '1'), msg('a', '2'), msg('a', '3'), msg('a', '4')]);
      let policy: 'collect' | 'sequential' = 'sequential';
      const claim = () =>
        store.claim({
          owner: 'w',
          leaseMs: 60_000,
          maxAgents: 2,
          policy: (agent) => {
            calls.push(agent);
            return policy;
          },
        });
      const countClaims = () => claimCalls(spy);
      // First sight of a: listed by the first call, claimed by the second with its policy.
      let before = countClaims();
      const [first] = await claim();
      expect(first!.messages.map((m) => m.content)).toEqual(['1']);
      expect(countClaims() - before).toBe(2);
      await store.complete('w', [first!.messages[0]!.id]);
      // a is known now: one call, and the policy (changed meanwhile) is the one of this claim.
      policy = 'collect';
      before = countClaims();
      const [second] = await claim();
      expect(second!.messages.map((m) => m.content)).toEqual(['2', '3', '4']);
      expect(countClaims() - before).toBe(1);
      await store.complete(
        'w',
        second!.messages.map((m) => m.id),
      );
      // A known agent and a new one in one claim: both claimed, oldest head first.
      await other.enqueueMany([msg('b', '5'), msg('a', '6'), msg('a', '7')]);
      policy = 'sequential';
      const both = await claim();
      expect(both.map((b) => [b.agentId, b.messages.map((m) => m.content)])).toEqual([
        ['b', ['5']],
        ['a', ['6']],
      ]);
      expect(calls).toContain('b');
    } finally {
      spy.mockRestore();
      await store.close();
      await other.close();
      await dropSchema(pool, schema);
    }
  });

  it("an agent is known before its first claim when this process enqueued for it or heard another process's enqueue: that claim is one round trip, its policy sent along", async () => {
    const schema = testSchema('ka');
    await migratePg(pool, schema);
    const store = new PgQueueStore(pool, { schema });
    const other = new PgQueueStore(pool, { schema });
    const spy = vi.spyOn(pool, 'query');
    let woken = 0;
    const unsubscribe = store.onWake(() => woken++);
    try {
      await store.hub.ready;
      const msg = (agentId: string, content: string) => ({ kind: 'job' as const, agentId, conversationId: 'c', channel: 'api', content });
      const countClaims = () => claimCalls(spy);
      const claim = () => store.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 4, policy: () => 'collect' });
      // Enqueued by this process.
      await store.enqueueMany([msg('mine', '1'), msg('mine', '2')]);
      let before = countClaims();
      expect((await claim()).map((b) => [b.agentId, b.messages.map((m) => m.content)])).toEqual([['mine', ['1', '2']]]);
      expect(countClaims() - before).toBe(1);
      // Enqueued by another process: its notification names the agents.
      const heard = woken;
      await other.enqueueMany([msg('theirs', '3'), msg('theirs', '4'), msg('also', '5')]);
      // That notification, not a late one of this process's own enqueue (under load it may come after `heard`).
      await waitFor(() => woken > heard && store.hub.knownAgents.has('also'), 10_000, "the other process's notification");
      before = countClaims();
      expect((await claim()).map((b) => [b.agentId, b.messages.map((m) => m.content)])).toEqual([
        ['theirs', ['3', '4']],
        ['also', ['5']],
      ]);
      expect(countClaims() - before).toBe(1);
    } finally {
      unsubscribe();
      spy.mockRestore();
      await store.close();
      await other.close();
      await dropSchema(pool, schema);
    }
  });

  it("a message's id, agent and conversation compare byte by byte (drizzle-pg/0029), as SQLite's BINARY does", async () => {
    const schema = testSchema('c');
    try {
      await migratePg(pool, schema);
      const { rows } = await pool.query<{ column_name: string; collation_name: string }>(
        `SELECT column_name, collation_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'messages' AND collation_name IS NOT NULL ORDER BY column_name`,
        [schema],
      );
      expect(rows.map((r) => [r.column_name, r.collation_name])).toEqual([
        ['agent_id', 'C'],
        ['conversation_id', 'C'],
        ['id', 'C'],
      ]);
      // A parameter (the default collation) compares in the column's, in byte order ('B' before 'a').
      const store = new PgQueueStore(pool, { schema });
      for (const agentId of ['b', 'B', 'a']) await store.enqueue({ kind: 'job', agentId, conversationId: 'c', channel: 't', content: agentId });
      const { rows: ordered } = await pool.query<{ agent_id: string }>(`SELECT agent_id FROM ${JSON.stringify(schema)}.messages WHERE agent_id > $1 ORDER BY agent_id`, ['A']);
      expect(ordered.map((r) => r.agent_id)).toEqual(['B', 'a', 'b']);
      await store.close();
    } finally {
      await dropSchema(pool, schema);
    }
  });

  it('migrations are applied once, also by two nodes starting together', async () => {
    const schema = testSchema('m');
    try {
      const both = await Promise.all([migratePg(pool, schema), migratePg(pool, schema)]);
      const journal = JSON.parse(readFileSync(new URL('../drizzle-pg/meta/_journal.json', import.meta.url), 'utf8')) as { entries: Array<{ tag: string }> };
      expect(both.flat()).toEqual(journal.entries.map((e) => e.tag));
      expect(await migratePg(pool, schema)).toEqual([]);
    } finally {
      await dropSchema(pool, schema);
    }
  });
});

/**
 * The QueueStore conformance suite. Every store implementation (SQLite today, PostgreSQL
 * later) must pass it: call `runQueueConformance(name, factory)` from a test file.
 */
import { describe, expect, it, vi } from 'vitest';
import type { EnqueueInput, QueueStore } from '../src/queue/types.ts';
import { QueueWorker } from '../src/queue/worker.ts';
import { isTinyError } from '../src/errors.ts';

export interface StoreHandle {
  store: QueueStore;
  close(): void | Promise<void>;
}

const msg = (agentId: string, content: string, extra: Partial<EnqueueInput> = {}): EnqueueInput => ({
  kind: 'user',
  agentId,
  conversationId: `conv-${content}`,
  channel: 'api',
  content,
  ...extra,
});

const claimOpts = { owner: 'w1', leaseMs: 60_000, maxAgents: 10 };

/** A worker (sweeps every 10 ms) whose handler holds its batch until `release()` or an abort. */
export function heldWorker(store: QueueStore, leaseMs: number) {
  let calls = 0;
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const worker = new QueueWorker({
    store,
    sweepMs: 10,
    leaseMs,
    handler: async (_batch, ctx) => {
      calls++;
      started();
      await Promise.race([released, new Promise((r) => ctx.signal.addEventListener('abort', r))]);
      if (ctx.signal.aborted) throw new Error('aborted');
    },
  });
  return { worker, running, release, calls: () => calls };
}

/** `open` gives each test a fresh, empty store (a temporary SQLite file, a PostgreSQL schema). */
export function runQueueConformance(name: string, open: () => StoreHandle | Promise<StoreHandle>): void {
  describe(`QueueStore conformance: ${name}`, () => {
    const withStore = (fn: (store: QueueStore) => Promise<void>) => async () => {
      const h = await open();
      try {
        await fn(h.store);
      } finally {
        await h.close();
      }
    };

    it(
      'claims one batch per agent, strict FIFO by seq, and never the same message twice',
      withStore(async (store) => {
        for (let i = 0; i < 5; i++) await store.enqueue(msg('a', `a${i}`));
        await store.enqueue(msg('b', 'b0'));
        const batches = await store.claim({ ...claimOpts, policy: () => 'sequential' });
        expect(batches.map((b) => [b.agentId, b.messages.map((m) => m.content)])).toEqual([
          ['a', ['a0']],
          ['b', ['b0']],
        ]);
        expect(await store.claim({ ...claimOpts, owner: 'w2' })).toEqual([]);
        await store.complete('w1', [batches[0]!.messages[0]!.id]);
        const next = await store.claim({ ...claimOpts, owner: 'w2', policy: () => 'sequential' });
        expect(next.map((b) => b.messages.map((m) => m.content))).toEqual([['a1']]);
      }),
    );

    it(
      "collect mode hands the available pending messages of the head's conversation to one batch in order",
      withStore(async (store) => {
        for (let i = 0; i < 4; i++) await store.enqueue(msg('a', `a${i}`, { conversationId: 'c1' }));
        const [batch] = await store.claim({ ...claimOpts, policy: () => 'collect' });
        expect(batch!.messages.map((m) => m.content)).toEqual(['a0', 'a1', 'a2', 'a3']);
        expect(batch!.messages.every((m) => m.attempts === 1 && m.status === 'processing')).toBe(true);
      }),
    );

    it(
      'collect mode never puts two conversations in one batch: each waits for its own turn',
      withStore(async (store) => {
        await store.enqueue(msg('a', 'x0', { conversationId: 'x' }));
        await store.enqueue(msg('a', 'y0', { conversationId: 'y' }));
        await store.enqueue(msg('a', 'x1', { conversationId: 'x' }));
        await store.enqueue(msg('a', 'z0', { conversationId: 'z' }));
        const order: string[][] = [];
        for (let i = 0; i < 3; i++) {
          const [batch] = await store.claim({ ...claimOpts, policy: () => 'collect' });
          order.push(batch!.messages.map((m) => m.content));
          await store.complete(
            'w1',
            batch!.messages.map((m) => m.id),
          );
        }
        expect(order).toEqual([['x0', 'x1'], ['y0'], ['z0']]);
        expect(await store.claim({ ...claimOpts, policy: () => 'collect' })).toEqual([]);
      }),
    );

    it(
      'respects maxAgents and skipAgents, oldest head first',
      withStore(async (store) => {
        await store.enqueue(msg('c', 'c0'));
        await store.enqueue(msg('a', 'a0'));
        await store.enqueue(msg('b', 'b0'));
        const batches = await store.claim({ ...claimOpts, maxAgents: 2, skipAgents: new Set(['c']) });
        expect(batches.map((b) => b.agentId)).toEqual(['a', 'b']);
      }),
    );

    it(
      'claims only the agents of an allow-list (a node claims its own and unassigned agents), oldest head first',
      withStore(async (store) => {
        await store.enqueue(msg('c', 'c0'));
        await store.enqueue(msg('elsewhere', 'e0'));
        await store.enqueue(msg('a', 'a0'));
        await store.enqueue(msg('b', 'b0'));
        expect(await store.claim({ ...claimOpts, agents: new Set() })).toEqual([]);
        const mine = await store.claim({ ...claimOpts, agents: new Set(['a', 'c', 'b', 'absent']), skipAgents: new Set(['b']) });
        expect(mine.map((b) => b.agentId)).toEqual(['c', 'a']);
        expect(await store.claim({ ...claimOpts, owner: 'w2', agents: new Set(['a', 'c']) })).toEqual([]);
        const other = await store.claim({ ...claimOpts, owner: 'w3', agents: new Set(['elsewhere']) });
        expect(other.map((b) => [b.agentId, b.messages.map((m) => m.content)])).toEqual([['elsewhere', ['e0']]]);
        expect((await store.claim({ ...claimOpts, owner: 'w4' })).map((b) => b.agentId)).toEqual(['b']);
      }),
    );

    it(
      "finds an allow-list's agents behind a long backlog of agents it may not claim, in FIFO order",
      withStore(async (store) => {
        await store.enqueueMany(Array.from({ length: 1500 }, (_, i) => msg(`other${i % 3}`, `o${i}`)));
        await store.enqueue(msg('mine', 'm0'));
        await store.enqueue(msg('mine', 'm1', { conversationId: 'conv-m0' }));
        await store.enqueue(msg('too', 't0'));
        const batches = await store.claim({ ...claimOpts, agents: new Set(['too', 'mine']), policy: () => 'collect' });
        expect(batches.map((b) => [b.agentId, b.messages.map((m) => m.content)])).toEqual([
          ['mine', ['m0', 'm1']],
          ['too', ['t0']],
        ]);
        expect((await store.counts()).pending).toBe(1500);
      }),
    );

    it(
      'finds free agents behind a long backlog of a busy agent, still oldest head first and strict FIFO',
      withStore(async (store) => {
        await store.enqueue(msg('busy', 'running'));
        await store.claim({ ...claimOpts, maxAgents: 1 });
        await store.enqueueMany(Array.from({ length: 1500 }, (_, i) => msg('busy', `queued ${i}`)));
        const now = Date.now();
        await store.enqueue(msg('late', 'not yet', { availableAt: now + 60_000 }));
        await store.enqueue(msg('late', 'must not overtake'));
        await store.enqueue(msg('d', 'd0'));
        await store.enqueue(msg('b', 'b0'));
        await store.enqueue(msg('skipped', 's0'));
        const at = Date.now() + 1000;
        const batches = await store.claim({ ...claimOpts, owner: 'w2', now: at, skipAgents: new Set(['skipped']) });
        expect(batches.map((b) => [b.agentId, b.messages.map((m) => m.content)])).toEqual([
          ['d', ['d0']],
          ['b', ['b0']],
        ]);
        expect(await store.claim({ ...claimOpts, owner: 'w3', now: at })).toMatchObject([{ agentId: 'skipped' }]);
      }),
    );

    it(
      'enqueue is idempotent on the idempotency key',
      withStore(async (store) => {
        const first = await store.enqueue(msg('a', 'x', { idempotencyKey: 'discord:123' }));
        const second = await store.enqueue(msg('a', 'x again', { idempotencyKey: 'discord:123' }));
        expect(first.created).toBe(true);
        expect(second).toMatchObject({ id: first.id, created: false });
        expect((await store.counts()).pending).toBe(1);
      }),
    );

    it(
      'keeps every field of a message as given: 200 KiB of text in any script, attachments and nested meta, ids and depth',
      withStore(async (store) => {
        const content = `${'ünïcødé ✓ 日本語 \u{1F600}\n'.repeat(8000)}end`;
        expect(Buffer.byteLength(content)).toBeGreaterThan(200 * 1024);
        const input = msg('a', 'x', {
          content,
          teamId: 'dev',
          conversationId: 'conv_1',
          parentMessageId: 'msg_parent',
          parentRunId: 'run_parent',
          runId: 'run_1',
          depth: 2,
          sender: 'Ann',
          senderId: 'u1',
          threadKey: 'chat-7',
          attachments: ['/files/a.png', '/files/ü b.txt'],
          meta: { task: { id: 'T-1', tags: ['x', 'y'] }, flag: true, ratio: 1.5, none: null },
        });
        const { id } = await store.enqueue(input);
        const expected = { ...input, id, status: 'pending', attempts: 0, cancelRequested: false };
        expect(await store.get(id)).toMatchObject(expected);
        const [batch] = await store.claim(claimOpts);
        expect(batch!.messages).toEqual([expect.objectContaining({ ...expected, status: 'processing', attempts: 1 })]);
      }),
    );

    it(
      'finishCancelled ends a cancel-requested message its owner holds (another owner changes nothing); assignRun names the run answering a message',
      withStore(async (store) => {
        const a = await store.enqueue(msg('a', 'a0'));
        await store.enqueue(msg('a', 'a1'));
        await store.claim({ ...claimOpts, policy: () => 'sequential' });
        expect(await store.cancel(a.id)).toMatchObject({ state: 'cancelling' });
        await store.finishCancelled('w2', [a.id], 'not mine');
        expect(await store.get(a.id)).toMatchObject({ status: 'processing', leaseOwner: 'w1' });
        await store.finishCancelled('w1', [a.id], 'stopped by the worker');
        expect(await store.get(a.id)).toMatchObject({ status: 'cancelled', lastError: 'stopped by the worker', leaseOwner: null });
        expect((await store.get(a.id))!.finishedAt).not.toBeNull();
        // The agent is free again: its next message is claimed.
        const [next] = await store.claim({ ...claimOpts, owner: 'w2' });
        expect(next!.messages.map((m) => m.content)).toEqual(['a1']);
        await store.assignRun(next!.messages[0]!.id, 'run_retry');
        expect((await store.get(next!.messages[0]!.id))!.runId).toBe('run_retry');
        await expect(Promise.resolve().then(() => store.assignRun('msg_nope', 'run_x'))).rejects.toSatisfy((e) => isTinyError(e) && e.code === 'MESSAGE_NOT_FOUND');
      }),
    );

    it(
      'a retryable failure goes back to pending with backoff and blocks later messages of the agent',
      withStore(async (store) => {
        const first = await store.enqueue(msg('a', 'a0'));
        await store.enqueue(msg('a', 'a1'));
        await store.claim({ ...claimOpts, policy: () => 'sequential' });
        const [outcome] = await store.fail('w1', [first.id], { kind: 'retryable', error: 'exit 1' });
        expect(outcome).toMatchObject({ status: 'pending', attempts: 1 });
        expect(outcome!.availableAt).toBeGreaterThan(Date.now());
        expect(await store.claim(claimOpts)).toEqual([]);
        const later = await store.claim({ ...claimOpts, now: outcome!.availableAt + 1, policy: () => 'sequential' });
        expect(later[0]!.messages.map((m) => [m.content, m.attempts])).toEqual([['a0', 2]]);
        expect(await store.nextWakeAt()).toBeDefined();
      }),
    );

    it(
      'nextWakeAt names future backoff ends and lease expiries only, not messages waiting for a busy agent',
      withStore(async (store) => {
        await store.enqueue(msg('a', 'running'));
        const now = Date.now();
        const [running] = await store.claim({ ...claimOpts, now, leaseMs: 60_000 });
        // Available at `now` (not at the clock of this line: on a loaded machine it may be ms later).
        await store.enqueue(msg('a', 'queued behind it', { availableAt: now }));
        // Only the lease can change anything on its own; the queued message waits for the completion.
        expect(await store.nextWakeAt(now + 1)).toBe(running!.messages[0]!.leaseExpiresAt);
        await store.enqueue(msg('b', 'later', { availableAt: now + 5000 }));
        expect(await store.nextWakeAt(now + 1)).toBe(now + 5000);
      }),
    );

    it(
      'nextWakeAt with the time of the last claim still sees what changed after that claim',
      withStore(async (store) => {
        // A listener, as a worker has (a PostgreSQL store reads its next wake time with a claim then).
        const off = store.onWake(() => {});
        // An agent claimed before (a worker's usual case).
        await store.enqueue(msg('a', 'earlier'));
        await store.complete(
          'w1',
          (await store.claim(claimOpts))[0]!.messages.map((m) => m.id),
        );
        const first = await store.enqueue(msg('a', 'a0'));
        const now = Date.now();
        const [running] = await store.claim({ ...claimOpts, now });
        expect(await store.nextWakeAt(now)).toBe(running!.messages[0]!.leaseExpiresAt);
        await store.enqueue(msg('b', 'later', { availableAt: now + 5000 }));
        expect(await store.nextWakeAt(now)).toBe(now + 5000);
        await store.claim({ ...claimOpts, now });
        const [outcome] = await store.fail('w1', [first.id], { kind: 'retryable', error: 'exit 1', now });
        expect(await store.nextWakeAt(now)).toBe(Math.min(outcome!.availableAt, now + 5000));
        off();
      }),
    );

    it(
      'retryable failures end dead after max attempts, with the reason',
      withStore(async (store) => {
        const { id } = await store.enqueue(msg('a', 'x', { maxAttempts: 3 }));
        let now = Date.now();
        for (let i = 0; i < 3; i++) {
          const batches = await store.claim({ ...claimOpts, now });
          expect(batches).toHaveLength(1);
          const [o] = await store.fail('w1', [id], { kind: 'retryable', error: `boom ${i}`, now });
          now = o!.availableAt + 1;
        }
        const dead = await store.get(id);
        expect(dead).toMatchObject({ status: 'dead', attempts: 3 });
        expect(dead!.lastError).toContain('boom 2');
        expect((await store.listDead()).map((m) => m.id)).toEqual([id]);
      }),
    );

    it(
      'a permanent failure is dead at once',
      withStore(async (store) => {
        const { id } = await store.enqueue(msg('a', 'x'));
        await store.claim(claimOpts);
        const [o] = await store.fail('w1', [id], { kind: 'permanent', error: 'unknown agent' });
        expect(o!.status).toBe('dead');
        expect((await store.get(id))!.lastError).toBe('unknown agent');
      }),
    );

    it(
      'a rate-limit wait does not spend an attempt and waits at least retryAfterMs',
      withStore(async (store) => {
        const { id } = await store.enqueue(msg('a', 'x'));
        await store.claim(claimOpts);
        const before = Date.now();
        const [o] = await store.fail('w1', [id], { kind: 'rate_limited', error: '429', retryAfterMs: 30_000 });
        expect(o).toMatchObject({ status: 'pending', attempts: 0 });
        expect(o!.availableAt).toBeGreaterThanOrEqual(before + 30_000);
      }),
    );

    it(
      'an expired lease returns the message to pending with the attempt counted; a poison message ends dead',
      withStore(async (store) => {
        const { id } = await store.enqueue(msg('a', 'poison', { maxAttempts: 2 }));
        let now = Date.now();
        await store.claim({ ...claimOpts, leaseMs: 10, now });
        const first = await store.recoverExpiredLeases(now + 20);
        expect(first).toEqual([{ id, agentId: 'a', status: 'pending', attempts: 1 }]);
        now = (await store.get(id))!.availableAt + 1;
        await store.claim({ ...claimOpts, leaseMs: 10, now });
        const second = await store.recoverExpiredLeases(now + 20);
        expect(second[0]!.status).toBe('dead');
        expect((await store.get(id))!.lastError).toMatch(/lease expired/);
      }),
    );

    it(
      'lease renewal keeps a message; a lost lease cannot be completed',
      withStore(async (store) => {
        const { id } = await store.enqueue(msg('a', 'x'));
        const now = Date.now();
        await store.claim({ ...claimOpts, leaseMs: 50, now });
        expect(await store.renewLeases('w1', [id], 60_000)).toEqual({ lost: [], cancelRequested: [] });
        expect(await store.recoverExpiredLeases(now + 100)).toEqual([]);
        expect(await store.renewLeases('other', [id], 60_000)).toEqual({ lost: [id], cancelRequested: [] });
        let effectsRan = false;
        await expect(
          Promise.resolve().then(() =>
            store.complete('other', [id], () => {
              effectsRan = true;
            }),
          ),
        ).rejects.toSatisfy((e) => isTinyError(e, 'INVALID_STATE'));
        expect(effectsRan).toBe(false);
        await store.complete('w1', [id]);
        expect((await store.get(id))!.status).toBe('completed');
      }),
    );

    it(
      'complete runs effects in the same transaction; a throwing effect completes nothing',
      withStore(async (store) => {
        const { id } = await store.enqueue(msg('a', 'x'));
        await store.claim(claimOpts);
        await expect(
          Promise.resolve().then(() =>
            store.complete('w1', [id], () => {
              throw new Error('effect failed');
            }),
          ),
        ).rejects.toThrow('effect failed');
        expect((await store.get(id))!.status).toBe('processing');
      }),
    );

    it(
      'completeMany commits batches together; a lost lease or a throwing effect fails only its own item',
      withStore(async (store) => {
        const ids: string[] = [];
        for (const agent of ['a', 'b', 'c']) ids.push((await store.enqueue(msg(agent, agent))).id);
        await store.claim({ ...claimOpts, policy: () => 'sequential' });
        const ran: string[] = [];
        const results = await store.completeMany([
          { owner: 'w1', ids: [ids[0]!], effects: () => void ran.push('a') },
          { owner: 'intruder', ids: [ids[1]!], effects: () => void ran.push('b') },
          {
            owner: 'w1',
            ids: [ids[2]!],
            effects: () => {
              throw new Error('effect of c failed');
            },
          },
        ]);
        expect(results[0]).toBeUndefined();
        expect(isTinyError(results[1], 'INVALID_STATE')).toBe(true);
        expect(results[2]?.message).toBe('effect of c failed');
        expect(ran).toEqual(['a']);
        expect((await Promise.all(ids.map((id) => store.get(id)))).map((m) => m!.status)).toEqual(['completed', 'processing', 'processing']);
        expect(await store.completeMany([{ owner: 'w1', ids: [ids[1]!, ids[2]!] }])).toEqual([undefined]);
      }),
    );

    it(
      'completeMany: the first item with effects throwing fails alone; the others complete once, their callbacks run once, its own never',
      withStore(async (store) => {
        const ids: string[] = [];
        // Ids that need quoting wherever they are written into a statement.
        for (const agent of ['a', 'b', 'c', 'd']) ids.push((await store.enqueue({ ...msg(agent, agent), id: `${agent} "q"\\ ,'{x}` })).id);
        await store.claim({ ...claimOpts, policy: () => 'sequential' });
        const ran: string[] = [];
        const committed: string[] = [];
        const effect =
          (name: string, fails = false) =>
          (tx: { onCommit(cb: () => void): void }) => {
            ran.push(name);
            tx.onCommit(() => committed.push(name));
            if (fails) throw new Error(`effect of ${name} failed`);
          };
        const results = await store.completeMany([
          { owner: 'w1', ids: [ids[0]!] },
          { owner: 'w1', ids: [ids[1]!], effects: effect('b', true) },
          { owner: 'w1', ids: [ids[2]!], effects: effect('c') },
          { owner: 'w1', ids: [ids[3]!], effects: effect('d') },
        ]);
        expect(results.map((r) => r?.message)).toEqual([undefined, 'effect of b failed', undefined, undefined]);
        expect(ran.filter((n) => n !== 'b')).toEqual(['c', 'd']);
        expect(committed).toEqual(['c', 'd']);
        expect((await Promise.all(ids.map((id) => store.get(id)))).map((m) => m!.status)).toEqual(['completed', 'processing', 'completed', 'completed']);
      }),
    );

    it(
      'cancel: pending at once; processing asks the worker and ends cancelled, never retried',
      withStore(async (store) => {
        const a = await store.enqueue(msg('a', 'a0'));
        const b = await store.enqueue(msg('b', 'b0'));
        await store.enqueue(msg('a', 'a1'));
        expect(await store.cancel(b.id)).toMatchObject({ state: 'cancelled' });
        await store.claim({ ...claimOpts, policy: () => 'sequential' });
        expect(await store.cancel(a.id)).toMatchObject({ state: 'cancelling' });
        // The agent stays busy until the worker confirms (no second process for the agent).
        expect(await store.claim({ ...claimOpts, owner: 'w2' })).toEqual([]);
        expect(await store.renewLeases('w1', [a.id], 60_000)).toEqual({ lost: [], cancelRequested: [a.id] });
        await store.fail('w1', [a.id], { kind: 'retryable', error: 'killed' });
        expect((await store.get(a.id))!.status).toBe('cancelled');
        expect(await store.cancel(a.id)).toMatchObject({ state: 'not_cancellable' });
        const next = await store.claim({ ...claimOpts, owner: 'w2' });
        expect(next[0]!.messages.map((m) => m.content)).toEqual(['a1']);
      }),
    );

    it(
      'after a collected batch crashed, its messages are claimed one at a time, so a poison message dies alone',
      withStore(async (store) => {
        const poison = await store.enqueue(msg('a', 'poison', { maxAttempts: 1, conversationId: 'c1' }));
        const innocent = await store.enqueue(msg('a', 'innocent', { maxAttempts: 1, conversationId: 'c1' }));
        let now = Date.now();
        const [batch] = await store.claim({ ...claimOpts, leaseMs: 10, now, policy: () => 'collect' });
        expect(batch!.messages.map((m) => m.content)).toEqual(['poison', 'innocent']);
        await store.recoverExpiredLeases(now + 20);
        now = Math.max((await store.get(poison.id))!.availableAt, (await store.get(innocent.id))!.availableAt) + 1;
        const [alone] = await store.claim({ ...claimOpts, leaseMs: 10, now, policy: () => 'collect' });
        expect(alone!.messages.map((m) => m.content)).toEqual(['poison']);
        await store.recoverExpiredLeases(now + 20);
        expect((await store.get(poison.id))!.status).toBe('dead');
        const [next] = await store.claim({ ...claimOpts, now: now + 60_000, policy: () => 'collect' });
        // The crash of the shared batch was not charged to it; this is its first counted attempt.
        expect(next!.messages.map((m) => [m.content, m.attempts])).toEqual([['innocent', 1]]);
        await store.complete('w1', [innocent.id]);
        expect((await store.get(innocent.id))!.status).toBe('completed');
      }),
    );

    it(
      'a retryable failure of a collected batch isolates its messages; fresh ones still collect',
      withStore(async (store) => {
        const a = await store.enqueue(msg('a', 'a0', { conversationId: 'c1' }));
        const b = await store.enqueue(msg('a', 'a1', { conversationId: 'c1' }));
        await store.claim({ ...claimOpts, policy: () => 'collect' });
        const outcomes = await store.fail('w1', [a.id, b.id], { kind: 'retryable', error: 'exit 1' });
        const later = Math.max(...outcomes.map((o) => o.availableAt)) + 1;
        await store.enqueue(msg('a', 'a2', { conversationId: 'c1' }));
        await store.enqueue(msg('a', 'a3', { conversationId: 'c1' }));
        const contents = async () => (await store.claim({ ...claimOpts, now: later, policy: () => 'collect' }))[0]!.messages.map((m) => m.content);
        expect(await contents()).toEqual(['a0']);
        await store.complete('w1', [a.id]);
        expect(await contents()).toEqual(['a1']);
        await store.complete('w1', [b.id]);
        expect(await contents()).toEqual(['a2', 'a3']);
      }),
    );

    it(
      'expireLeases ends the leases of dead owners only, so recovery need not wait for the lease length',
      withStore(async (store) => {
        const dead = await store.enqueue(msg('a', 'held by a dead worker'));
        const alive = await store.enqueue(msg('b', 'held by a live worker'));
        await store.claim({ ...claimOpts, owner: 'daemon:host:1:old', maxAgents: 1 });
        await store.claim({ ...claimOpts, owner: 'other-process', maxAgents: 1 });
        expect(await store.expireLeases((owner) => owner.startsWith('daemon:'))).toBe(1);
        expect(await store.recoverExpiredLeases()).toMatchObject([{ id: dead.id, status: 'pending', attempts: 1 }]);
        expect((await store.get(alive.id))!.status).toBe('processing');
        expect(await store.expireLeases(() => false)).toBe(0);
      }),
    );

    it(
      'a cancel requested before a crash ends cancelled at lease recovery',
      withStore(async (store) => {
        const { id } = await store.enqueue(msg('a', 'x'));
        const now = Date.now();
        await store.claim({ ...claimOpts, leaseMs: 10, now });
        await store.cancel(id);
        await store.recoverExpiredLeases(now + 20);
        expect((await store.get(id))!.status).toBe('cancelled');
      }),
    );

    it(
      'release gives messages back without spending an attempt, marked as interrupted (the next attempt is a retry)',
      withStore(async (store) => {
        const { id } = await store.enqueue(msg('a', 'x'));
        await store.claim(claimOpts);
        await store.release('w1', [id]);
        expect(await store.get(id)).toMatchObject({ status: 'pending', attempts: 0, lastError: expect.stringContaining('interrupted by a shutdown') });
      }),
    );

    it(
      'dead letters can be retried and deleted; unknown ids are errors',
      withStore(async (store) => {
        const { id } = await store.enqueue(msg('a', 'x'));
        await store.claim(claimOpts);
        await store.fail('w1', [id], { kind: 'permanent', error: 'bad' });
        expect(await store.retryDead(id)).toMatchObject({ status: 'pending', attempts: 0 });
        await store.claim(claimOpts);
        await store.fail('w1', [id], { kind: 'permanent', error: 'bad again' });
        await store.deleteDead(id);
        expect(await store.get(id)).toBeUndefined();
        await expect(Promise.resolve().then(() => store.retryDead('nope'))).rejects.toSatisfy((e) => isTinyError(e, 'MESSAGE_NOT_FOUND'));
        await expect(Promise.resolve().then(() => store.cancel('nope'))).rejects.toSatisfy((e) => isTinyError(e, 'MESSAGE_NOT_FOUND'));
      }),
    );

    it(
      'deletes all dead letters, or those of one agent, and nothing else',
      withStore(async (store) => {
        for (const [agent, n] of [
          ['a', 2],
          ['b', 1],
        ] as const) {
          for (let i = 0; i < n; i++) await store.enqueue(msg(agent, `${agent}${i}`, { maxAttempts: 1 }));
        }
        await store.enqueue(msg('c', 'alive'));
        for (let round = 0; round < 3; round++) {
          for (const batch of await store.claim({ ...claimOpts, policy: () => 'sequential', skipAgents: new Set(['c']) })) {
            await store.fail(
              'w1',
              batch.messages.map((m) => m.id),
              { kind: 'permanent', error: 'bad' },
            );
          }
        }
        expect((await store.counts()).dead).toBe(3);
        expect(await store.deleteAllDead('a')).toBe(2);
        expect((await store.listDead()).map((m) => m.agentId)).toEqual(['b']);
        expect(await store.deleteAllDead()).toBe(1);
        expect(await store.counts()).toMatchObject({ dead: 0, pending: 1 });
      }),
    );

    it(
      'prunes finished messages older than the cutoff, keeps dead letters',
      withStore(async (store) => {
        const done = await store.enqueue(msg('a', 'done'));
        const dead = await store.enqueue(msg('b', 'dead'));
        await store.claim(claimOpts);
        await store.complete('w1', [done.id]);
        await store.fail('w1', [dead.id], { kind: 'permanent', error: 'x' });
        expect(await store.prune(Date.now() + 1000, 1)).toBe(1);
        expect(await store.get(done.id)).toBeUndefined();
        expect(await store.get(dead.id)).toBeDefined();
      }),
    );

    it(
      'wakes listeners after an enqueue commits',
      withStore(async (store) => {
        // A store may wake its listeners after the commit is durable, not as enqueue returns:
        // wait for the wake (vitest's waitFor polls a state, no fixed sleep).
        let woke = 0;
        const off = store.onWake(() => woke++);
        await store.enqueue(msg('a', 'x'));
        await vi.waitFor(() => expect(woke).toBe(1));
        off();
        // Wakes come in commit order: once a later listener has seen the next enqueue, the
        // removed one would have seen it too.
        let later = 0;
        const offLater = store.onWake(() => later++);
        await store.enqueue(msg('a', 'y'));
        await vi.waitFor(() => expect(later).toBe(1));
        offLater();
        expect(woke).toBe(1);
      }),
    );

    it(
      'counts per status and per agent',
      withStore(async (store) => {
        await store.enqueue(msg('a', 'x'));
        await store.enqueue(msg('b', 'y'));
        await store.claim({ ...claimOpts, maxAgents: 1 });
        expect(await store.counts()).toMatchObject({ pending: 1, processing: 1 });
        const byAgent = await store.countsByAgent();
        expect(byAgent.find((r) => r.agentId === 'a')).toMatchObject({ processing: 1 });
        expect((await store.listProcessing()).map((m) => m.agentId)).toEqual(['a']);
      }),
    );
  });
}

/**
 * Conformance of the event log, outbox, pairing, chat room, schedule and task stores: what the
 * server, the scheduler, the channel clients and the orchestrator rely on, written against
 * `StoreSet` only (called from `runStoreConformance`, so every backend runs it).
 */
import { describe, expect, it, vi } from 'vitest';
import { ProjectRepoSchema, type TaskGit } from '@tinyagi/client/contract';
import { isTinyError } from '../src/errors.ts';
import type { TinyEvent } from '../src/events/types.ts';
import type { ScheduleInput } from '../src/schedules/store.ts';
import { ReplyDelivery } from '../src/outbox/delivery.ts';
import type { WithStores } from './store-conformance.ts';

/** The error code a call rejects (or throws) with. */
async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (err) {
    return isTinyError(err) ? err.code : `not a TinyError: ${String(err)}`;
  }
  return undefined;
}

const notice = (note: string, extra: { conversationId?: string; agentId?: string; runId?: string } = {}) => ({ type: 'system.notice' as const, ...extra, data: { note } });

export function runEventsToTasksConformance(name: string, withStores: WithStores): void {
  describe(`EventLogApi in depth: ${name}`, () => {
    it(
      'writes emitted events in groups, in emit order, published once each; flush writes them now',
      withStores(async ({ events }) => {
        const start = await events.lastId();
        const seen: TinyEvent[] = [];
        const unsubscribe = events.subscribe((e) => seen.push(e));
        for (let i = 0; i < 50; i++) events.emit(notice(`p${i}`));
        await events.flush();
        const stored = await events.readSince(start);
        expect(stored.map((e) => e.data)).toEqual(Array.from({ length: 50 }, (_, i) => ({ note: `p${i}` })));
        expect(stored.map((e) => e.id)).toEqual([...stored.map((e) => e.id)].sort((a, b) => a - b));
        await vi.waitFor(() => expect(seen).toHaveLength(50));
        expect(seen.map((e) => e.id)).toEqual(stored.map((e) => e.id));
        // Without an explicit flush, the next turn of the event loop writes them.
        events.emit(notice('later'));
        await vi.waitFor(async () => expect((await events.readSince(stored.at(-1)!.id)).map((e) => e.data)).toEqual([{ note: 'later' }]));
        unsubscribe();
        events.emit(notice('unseen'));
        await events.flush();
        expect(seen).toHaveLength(51);
      }),
    );

    it(
      'masks secrets in every event it writes (appended, emitted, inside a transaction), stored and published alike',
      withStores(async (stores) => {
        const { events } = stores;
        const secret = 'sk-live0123456789abcdefSECRET';
        const start = await events.lastId();
        const seen: TinyEvent[] = [];
        const unsubscribe = events.subscribe((e) => seen.push(e));
        // An approval probe's tool call as a CLI streams it, and its output echoing the key.
        events.emit({
          type: 'run.progress',
          runId: 'r1',
          data: {
            type: 'tool',
            name: 'Bash',
            input: { command: `curl -H "Authorization: Bearer ${secret}" https://x.test`, api_key: 'plain-value-1234' },
            title: `API_TOKEN=${secret} ./deploy`,
            turn: 1,
          },
        });
        await events.flush();
        await events.append({ type: 'run.progress', runId: 'r1', data: { type: 'tool_result', ok: true, output: `key is ${secret}`, turn: 1 } });
        await stores.transaction(async (tx) => tx.stores.events.append({ type: 'system.notice', data: { note: `postgres://u:${secret}@db/x` } }));
        await stores.whenDurable();
        const stored = await events.readSince(start);
        expect(stored).toHaveLength(3);
        const text = JSON.stringify(stored.map((e) => e.data));
        expect(text).not.toContain(secret);
        expect(text).not.toContain('plain-value-1234');
        expect(stored[0]!.data).toMatchObject({ type: 'tool', name: 'Bash', input: { command: expect.stringContaining('Bearer sk-…CRET') } });
        await vi.waitFor(() => expect(seen).toHaveLength(3));
        expect(JSON.stringify(seen.map((e) => e.data))).not.toContain(secret);
        unsubscribe();
      }),
    );

    it(
      'reads pages with a limit and filters by conversation, agent, run and types; prunes old events',
      withStores(async ({ events }) => {
        const start = await events.lastId();
        await events.append(notice('a', { conversationId: 'c1', agentId: 'x' }));
        await events.append({ type: 'budget.warning', conversationId: 'c1', runId: 'r1', data: { limitName: 'conversation_usd', used: 0.5, limit: 1, fraction: 0.5 } });
        await events.append(notice('c', { conversationId: 'c2', agentId: 'x', runId: 'r1' }));
        expect((await events.readSince(start, {}, 2)).map((e) => e.type)).toEqual(['system.notice', 'budget.warning']);
        expect((await events.readSince(start, { conversationId: 'c1' })).length).toBe(2);
        expect((await events.readSince(start, { agentId: 'x' })).map((e) => e.conversationId)).toEqual(['c1', 'c2']);
        expect((await events.readSince(start, { runId: 'r1' })).map((e) => e.type)).toEqual(['budget.warning', 'system.notice']);
        const budget = await events.readSince(start, { types: ['budget.warning'] });
        // Narrowed by `types`: `data.fraction` is a number without a cast.
        expect(budget.map((e) => e.data.fraction)).toEqual([0.5]);
        expect(await events.readSince(start, { conversationId: 'c1', types: ['system.notice'] }, 1)).toMatchObject([{ data: { note: 'a' } }]);
        expect(await events.prune(Date.now() + 1000)).toBe(3);
        expect(await events.readSince(start)).toEqual([]);
      }),
    );

    it(
      'reads the limit a guard or budget enforced as limitName, in events written today and in those an earlier version stored as rule',
      withStores(async ({ events }) => {
        const start = await events.lastId();
        await events.append({ type: 'guard.rejected', conversationId: 'c1', data: { limitName: 'max_hops', limit: 3, actual: 4, message: 'the handoff chain reached 3 hops', action: 'stop' } });
        // As an earlier version wrote them: the log writes what it is given, the old name included.
        const old = [
          { type: 'budget.warning', conversationId: 'c1', data: { rule: 'conversation_usd', used: 0.8, limit: 1, fraction: 0.8 } },
          { type: 'budget.exceeded', conversationId: 'c1', data: { rule: 'conversation_tokens', limit: 10, actual: 12, message: 'used 12 of 10 tokens', action: 'stop' } },
          {
            type: 'subagent.rejected',
            conversationId: 'c1',
            data: { name: 'b', code: 'DEPTH_LIMIT', message: 'too deep', depth: 3, maxDepth: 2, parentRunId: 'r1', rule: 'max_depth', limit: 2, actual: 3 },
          },
          { type: 'run.rejected', conversationId: 'c1', runId: 'r2', data: { cause: 'handoff', error: 'refused', rule: 'max_fanout' } },
          { type: 'run.cancelled', conversationId: 'c1', runId: 'r3', data: { cause: 'user', inputTokens: 0, outputTokens: 0, costUsd: 0, rule: 'conversation_usd' } },
        ];
        for (const event of old) await events.append(event as unknown as Parameters<typeof events.append>[0]);
        const read = await events.readSince(start);
        expect(read.map((e) => [e.type, (e.data as { limitName?: string }).limitName])).toEqual([
          ['guard.rejected', 'max_hops'],
          ['budget.warning', 'conversation_usd'],
          ['budget.exceeded', 'conversation_tokens'],
          ['subagent.rejected', 'max_depth'],
          ['run.rejected', 'max_fanout'],
          ['run.cancelled', 'conversation_usd'],
        ]);
        for (const event of read) expect(event.data).not.toHaveProperty('rule');
        expect(read[0]!.data).toEqual({ limitName: 'max_hops', limit: 3, actual: 4, message: 'the handoff chain reached 3 hops', action: 'stop' });
        expect(read[1]!.data).toEqual({ limitName: 'conversation_usd', used: 0.8, limit: 1, fraction: 0.8 });
        // A payload of another type keeps a field of that name: only the limit's old spelling is read anew.
        await events.append({ type: 'system.notice', data: { note: 'n', rule: 'kept' } } as unknown as Parameters<typeof events.append>[0]);
        expect((await events.readSince(read.at(-1)!.id)).map((e) => e.data)).toEqual([{ note: 'n', rule: 'kept' }]);
      }),
    );

    it(
      'delivers events a subscriber commits while handling one after it, to every subscriber, in id order',
      withStores(async ({ events }) => {
        // The first subscriber reacts to one event by committing two more (as the orchestrator does on queue.dead).
        const writes: Array<Promise<unknown>> = [];
        events.subscribe((e) => {
          if (e.type !== 'system.notice' || e.data.note !== 'dead letter') return;
          writes.push(Promise.resolve(events.append(notice('run failed'))).then(() => events.append(notice('conversation completed'))));
        });
        const seen: TinyEvent[] = [];
        events.subscribe((e) => seen.push(e));
        await events.append(notice('dead letter'));
        await vi.waitFor(() => expect(seen).toHaveLength(3));
        await Promise.all(writes);
        expect(seen.map((e) => (e.data as { note: string }).note)).toEqual(['dead letter', 'run failed', 'conversation completed']);
        expect(seen.map((e) => e.id)).toEqual([...seen.map((e) => e.id)].sort((a, b) => a - b));
      }),
    );
  });

  describe(`OutboxStoreApi in depth: ${name}`, () => {
    it(
      'stores replies for channels without a client as delivered (enqueued and delivered events), never pending',
      withStores(async ({ outbox, events }) => {
        const start = await events.lastId();
        for (const channel of ['api', 'cli', 'web', 'heartbeat', 'schedule', 'chatroom']) {
          expect((await outbox.enqueue({ idempotencyKey: `k-${channel}`, channel, text: 'x', conversationId: 'c1' })).row.status).toBe('delivered');
        }
        expect((await outbox.counts()).pending).toBe(0);
        const stored = await events.readSince(start, { types: ['outbox.enqueued', 'outbox.delivered'] });
        expect(stored.map((e) => e.type)).toEqual(Array.from({ length: 6 }, () => ['outbox.enqueued', 'outbox.delivered']).flat());
        expect(stored.every((e) => e.conversationId === 'c1')).toBe(true);
        expect(outbox.hasClient('matrix')).toBe(false);
        outbox.registerClientChannel('matrix');
        expect(outbox.hasClient('matrix')).toBe(true);
        expect((await outbox.enqueue({ idempotencyKey: 'k-matrix', channel: 'matrix', text: 'x' })).row.status).toBe('pending');
      }),
    );

    it(
      're-offers an unacked lease after it expires; acks twice; unknown ids are OUTBOX_NOT_FOUND',
      withStores(async ({ outbox }) => {
        const a = await outbox.enqueue({ idempotencyKey: 'r1', channel: 'telegram', text: 'hi', recipient: { senderId: '42' }, files: ['/f'], meta: { m: 1 } });
        expect(a.row).toMatchObject({ status: 'pending', recipient: { senderId: '42' }, files: ['/f'], meta: { m: 1 }, attempts: 0 });
        const now = Date.now();
        expect((await outbox.claim({ channel: 'telegram', owner: 'c1', leaseMs: 100, now })).map((r) => [r.id, r.leaseOwner, r.attempts])).toEqual([[a.row.id, 'c1', 1]]);
        expect(await outbox.claim({ channel: 'telegram', owner: 'c2', now })).toEqual([]);
        // The client crashed between send and ack: the same row (same idempotency key) comes back.
        const reoffered = await outbox.claim({ channel: 'telegram', owner: 'c2', now: now + 200 });
        expect(reoffered.map((r) => [r.id, r.idempotencyKey, r.attempts, r.leaseOwner])).toEqual([[a.row.id, 'r1', 2, 'c2']]);
        expect((await outbox.ack(a.row.id)).status).toBe('delivered');
        const again = await outbox.ack(a.row.id);
        expect(again).toMatchObject({ status: 'delivered', leaseOwner: null });
        expect(again.deliveredAt).not.toBeNull();
        expect(await codeOf(() => outbox.ack('out_nope'))).toBe('OUTBOX_NOT_FOUND');
        expect(await codeOf(() => outbox.fail('out_nope', 'x'))).toBe('OUTBOX_NOT_FOUND');
        expect(await outbox.get('out_nope')).toBeUndefined();
      }),
    );

    it(
      'fails with backoff, then for good (outbox.failed); expires rows past their TTL (outbox.expired); refuses to ack them',
      withStores(async ({ outbox, events }) => {
        const start = await events.lastId();
        const row = (await outbox.enqueue({ idempotencyKey: 'f', channel: 'discord', text: 'x' })).row;
        await outbox.claim({ channel: 'discord', owner: 'c' });
        const failed = await outbox.fail(row.id, 'HTTP 500');
        expect(failed).toMatchObject({ status: 'pending', lastError: 'HTTP 500', leaseOwner: null });
        expect(failed.availableAt).toBeGreaterThan(Date.now());
        expect(await outbox.claim({ channel: 'discord', owner: 'c' })).toEqual([]);
        expect((await outbox.fail(row.id, 'blocked', { permanent: true })).status).toBe('failed');
        expect(await codeOf(() => outbox.fail(row.id, 'again'))).toBe('INVALID_STATE');
        expect(await codeOf(() => outbox.ack(row.id))).toBe('INVALID_STATE');
        const old = (await outbox.enqueue({ idempotencyKey: 'old', channel: 'whatsapp', text: 'x', ttlMs: 10 })).row;
        const fresh = (await outbox.enqueue({ idempotencyKey: 'fresh', channel: 'whatsapp', text: 'y' })).row;
        expect((await outbox.expire(Date.now() + 50)).map((r) => [r.id, r.status])).toEqual([[old.id, 'expired']]);
        expect((await outbox.get(fresh.id))?.status).toBe('pending');
        expect(await codeOf(() => outbox.ack(old.id))).toBe('INVALID_STATE');
        expect((await events.readSince(start, { types: ['outbox.failed', 'outbox.expired'] })).map((e) => [e.type, e.data.outboxId])).toEqual([
          ['outbox.failed', row.id],
          ['outbox.expired', old.id],
        ]);
        expect((await outbox.list({ status: 'expired' })).map((r) => r.id)).toEqual([old.id]);
        expect((await outbox.list({ afterSeq: old.seq })).map((r) => r.id)).toEqual([fresh.id]);
        expect(await outbox.prune(Date.now() + 1000)).toBe(1);
      }),
    );

    it(
      "retention keeps the outbox rows of a conversation waiting for the person's decision (the guard's note says what it waits for)",
      withStores(async ({ outbox, runs }) => {
        const waiting = await runs.createConversation({ rootAgentId: 'a', channel: 'api' });
        const done = await runs.createConversation({ rootAgentId: 'a', channel: 'api' });
        await runs.updateConversation(waiting.id, { status: 'completed', awaitingDecision: true });
        const note = (await outbox.enqueue({ idempotencyKey: 'held', channel: 'api', conversationId: waiting.id, text: 'I held back a message' })).row;
        const reply = (await outbox.enqueue({ idempotencyKey: 'reply', channel: 'api', conversationId: done.id, text: 'done' })).row;
        const loose = (await outbox.enqueue({ idempotencyKey: 'loose', channel: 'api', text: 'no conversation' })).row;
        expect(await outbox.prune(Date.now() + 1000)).toBe(2);
        expect((await outbox.get(note.id))?.text).toBe('I held back a message');
        for (const gone of [reply, loose]) expect(await outbox.get(gone.id)).toBeUndefined();
        await runs.updateConversation(waiting.id, { awaitingDecision: false });
        expect(await outbox.prune(Date.now() + 1000)).toBe(1);
      }),
    );

    it(
      "outbox events carry the reply's run tree (its parent run and depth) when the run is known (needs the runs store)",
      withStores(async ({ outbox, runs, events }) => {
        const start = await events.lastId();
        const c = await runs.createConversation({ rootAgentId: 'a', channel: 'telegram' });
        const root = await runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user' });
        const child = await runs.createRun({ conversationId: c.id, agentId: 'b', cause: 'spawn', parentRunId: root.id, depth: 1 });
        const { row } = await outbox.enqueue({ idempotencyKey: 'tree', channel: 'telegram', text: 'x', conversationId: c.id, runId: child.id, agentId: 'b' });
        await outbox.claim({ channel: 'telegram', owner: 'd' });
        await outbox.ack(row.id);
        await outbox.enqueue({ idempotencyKey: 'no-run', channel: 'telegram', text: 'y', runId: 'run_unknown' });
        const stored = await events.readSince(start, { types: ['outbox.enqueued', 'outbox.delivered'] });
        expect(stored.map((e) => [e.type, e.runId, e.parentRunId, e.depth, e.agentId])).toEqual([
          ['outbox.enqueued', child.id, root.id, 1, 'b'],
          ['outbox.delivered', child.id, root.id, 1, 'b'],
          ['outbox.enqueued', 'run_unknown', null, null, null],
        ]);
      }),
    );

    it(
      'an enqueue in a rolled-back transaction leaves no row and publishes nothing',
      withStores(async (stores) => {
        const start = await stores.events.lastId();
        const seen: TinyEvent[] = [];
        stores.events.subscribe((e) => seen.push(e));
        await expect(
          stores.transaction(async (tx) => {
            await tx.stores.outbox.enqueue({ idempotencyKey: 'gone', channel: 'telegram', text: 'x' });
            throw new Error('undo');
          }),
        ).rejects.toThrow('undo');
        const kept = await stores.transaction(async (tx) => (await tx.stores.outbox.enqueue({ idempotencyKey: 'kept', channel: 'telegram', text: 'y' })).row);
        expect((await stores.outbox.list()).map((r) => r.id)).toEqual([kept.id]);
        await stores.whenDurable();
        await vi.waitFor(() => expect(seen.map((e) => e.type)).toEqual(['outbox.enqueued']));
        expect((await stores.events.readSince(start)).map((e) => e.data)).toEqual([expect.objectContaining({ outboxId: kept.id })]);
      }),
    );
  });

  describe(`ReplyDelivery (outbox/delivery.ts): ${name}`, () => {
    it(
      "holds replies for a channel once its client signed in; hands a dead process's claimed rows back at once with the wake-up, a live one's stay",
      withStores(async (stores) => {
        const delivery = new ReplyDelivery(stores);
        expect(delivery.heldForClient('matrix')).toBe(false);
        expect((await stores.outbox.enqueue({ idempotencyKey: 'd-before', channel: 'matrix', text: 'x' })).row.status).toBe('delivered');
        delivery.clientSignedIn('matrix');
        // The store set's transactions see the same clients (the orchestrator stores replies in them).
        const inTx = await stores.transaction(async (tx) => (await tx.stores.outbox.enqueue({ idempotencyKey: 'd-tx', channel: 'matrix', text: 'in a transaction' })).row);
        expect(inTx.status).toBe('pending');
        const rows = [inTx, (await stores.outbox.enqueue({ idempotencyKey: 'd-live', channel: 'matrix', text: 'live' })).row];
        const [dead, live] = [(await delivery.claim({ channel: 'matrix', owner: 'channel:matrix:h:1', limit: 1 }))[0]!, (await delivery.claim({ channel: 'matrix', owner: 'channel:matrix:h:2' }))[0]!];
        expect([dead.id, live.id]).toEqual(rows.map((r) => r.id));
        const start = await stores.events.lastId();
        expect(await delivery.handBackFrom('matrix', (owner) => owner.endsWith(':1'))).toBe(1);
        expect(await stores.outbox.get(dead.id)).toMatchObject({ status: 'pending', leaseOwner: null, lastError: 'handed back: the channel process that claimed it exited' });
        expect((await stores.outbox.get(dead.id))!.availableAt).toBeLessThanOrEqual(Date.now());
        expect(await stores.outbox.get(live.id)).toMatchObject({ status: 'delivering', leaseOwner: 'channel:matrix:h:2' });
        const woken = await stores.events.readSince(start, { types: ['outbox.enqueued'] });
        expect(woken.map((e) => e.data)).toEqual([{ outboxId: dead.id, channel: 'matrix', status: 'pending', text: 'in a transaction' }]);
        expect((await delivery.claim({ channel: 'matrix', owner: 'channel:matrix:h:3' })).map((r) => r.id)).toEqual([dead.id]);
      }),
    );

    it(
      'a proactive message goes only to a paired sender of a channel with a client (its files asked for after that check); to others it is stored',
      withStores(async (stores) => {
        const delivery = new ReplyDelivery(stores);
        let filesAsked = 0;
        const files = () => {
          filesAsked += 1;
          return ['/f'];
        };
        expect(await codeOf(() => delivery.sendProactive({ channel: 'telegram', senderId: '9', text: 'hi', files }))).toBe('PAIRING_NOT_FOUND');
        expect(filesAsked).toBe(0);
        const { code } = await stores.pairings.request({ channel: 'telegram', senderId: '9', sender: 'Nine' });
        await stores.pairings.approve(code!);
        const row = await delivery.sendProactive({ channel: 'telegram', senderId: '9', sender: 'Nine', text: 'your report', files, agentId: 'coder' });
        expect(row).toMatchObject({ status: 'pending', channel: 'telegram', recipient: { senderId: '9', sender: 'Nine' }, files: ['/f'], agentId: 'coder', meta: { proactive: true } });
        expect((await delivery.sendProactive({ channel: 'web', senderId: 'u1', text: 'stored', files: () => [] })).status).toBe('delivered');
      }),
    );
  });

  describe(`PairingStoreApi: ${name}`, () => {
    it(
      'one pending request per sender; approves once by code (any case); revokes',
      withStores(async ({ pairings, events }) => {
        const start = await events.lastId();
        const first = await pairings.request({ channel: 'telegram', senderId: '42', sender: 'Ann' });
        expect(first).toMatchObject({ status: 'pending', created: true });
        expect(first.code).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
        expect(await pairings.request({ channel: 'telegram', senderId: '42' })).toEqual({ status: 'pending', code: first.code, created: false });
        expect(await pairings.isApproved('telegram', '42')).toBe(false);
        expect((await pairings.list()).pending).toMatchObject([{ channel: 'telegram', senderId: '42', sender: 'Ann', code: first.code }]);
        expect(await pairings.approve(first.code!.toLowerCase())).toMatchObject({ channel: 'telegram', senderId: '42', sender: 'Ann' });
        expect(await pairings.isApproved('telegram', '42')).toBe(true);
        expect(await codeOf(() => pairings.approve(first.code!))).toBe('PAIRING_NOT_FOUND');
        expect(await pairings.request({ channel: 'telegram', senderId: '42' })).toEqual({ status: 'approved', code: null, created: false });
        expect((await events.readSince(start)).map((e) => e.type)).toEqual(['pairing.requested', 'pairing.approved']);
        expect((await pairings.list()).approved.map((p) => p.senderId)).toEqual(['42']);
        await pairings.revoke('telegram', '42');
        expect(await pairings.list()).toEqual({ pending: [], approved: [] });
        expect(await codeOf(() => pairings.revoke('telegram', '42'))).toBe('PAIRING_NOT_FOUND');
      }),
    );

    it(
      'checks a sender without asking for it: false for a stranger or a pending sender (nothing written), true for an approved one (last seen recorded)',
      withStores(async ({ pairings, events }) => {
        const now = Date.now();
        const start = await events.lastId();
        expect(await pairings.checkSender({ channel: 'slack', senderId: 'x', sender: 'Xan' }, now)).toEqual({ approved: false });
        expect(await pairings.list()).toEqual({ pending: [], approved: [] });
        const { code } = await pairings.request({ channel: 'slack', senderId: 'x', sender: 'Xan' }, now);
        expect(await pairings.checkSender({ channel: 'slack', senderId: 'x', sender: 'Xander' }, now + 1000)).toEqual({ approved: false });
        expect((await pairings.list()).pending).toMatchObject([{ senderId: 'x', sender: 'Xan', code, lastSeenAt: now }]);
        await pairings.approve(code!);
        expect(await pairings.checkSender({ channel: 'slack', senderId: 'x' }, now + 2000)).toEqual({ approved: true });
        expect((await pairings.list()).approved).toMatchObject([{ senderId: 'x', sender: 'Xan', lastSeenAt: now + 2000 }]);
        expect(await pairings.checkSender({ channel: 'slack', senderId: 'x', sender: 'Xander' }, now + 3000)).toEqual({ approved: true });
        expect((await pairings.list()).approved).toMatchObject([{ senderId: 'x', sender: 'Xander', lastSeenAt: now + 3000 }]);
        expect(await pairings.checkSender({ channel: 'discord', senderId: 'x' }, now)).toEqual({ approved: false });
        expect((await events.readSince(start)).map((e) => e.type)).toEqual(['pairing.requested', 'pairing.approved']);
      }),
    );

    it(
      'gives an expired request a fresh code; dismisses by code',
      withStores(async ({ pairings }) => {
        const now = Date.now();
        const a = await pairings.request({ channel: 'discord', senderId: 'a' }, now);
        await pairings.request({ channel: 'discord', senderId: 'b' }, now);
        const renewed = await pairings.request({ channel: 'discord', senderId: 'a' }, now + 2 * 24 * 3600_000);
        expect(renewed.created).toBe(true);
        expect(renewed.code).not.toBe(a.code);
        expect(await codeOf(() => pairings.approve(a.code!))).toBe('PAIRING_NOT_FOUND');
        await pairings.dismiss(renewed.code!);
        expect((await pairings.list()).pending.map((x) => x.senderId)).toEqual(['b']);
        expect(await codeOf(() => pairings.dismiss(renewed.code!))).toBe('PAIRING_NOT_FOUND');
      }),
    );
  });

  describe(`ChatroomStoreApi: ${name}`, () => {
    it(
      'pages forward with a cursor that never repeats or skips, per team; pages backwards; prunes',
      withStores(async ({ chatroom }) => {
        for (let i = 0; i < 25; i++) await chatroom.post({ teamId: i % 2 === 0 ? 'dev' : 'ops', fromAgent: 'a', content: `m${i}`, conversationId: i === 0 ? 'c1' : null });
        const seen: string[] = [];
        let cursor = 0;
        for (;;) {
          const page = await chatroom.list('dev', { afterId: cursor, limit: 4 });
          if (page.length === 0) break;
          seen.push(...page.map((p) => p.content));
          cursor = page.at(-1)!.id;
        }
        expect(seen).toEqual(Array.from({ length: 13 }, (_, k) => `m${k * 2}`));
        const latest = await chatroom.latest('dev', 2);
        expect(latest.map((p) => p.content)).toEqual(['m22', 'm24']);
        expect((await chatroom.list('dev', { beforeId: latest[1]!.id, limit: 2 })).map((p) => p.content)).toEqual(['m20', 'm22']);
        const [first] = await chatroom.list('dev', { limit: 1 });
        expect(first).toMatchObject({ teamId: 'dev', fromAgent: 'a', content: 'm0', conversationId: 'c1' });
        expect(await chatroom.hasBefore('dev', first!.id)).toBe(false);
        expect(await chatroom.hasBefore('dev', latest[0]!.id)).toBe(true);
        expect(await chatroom.prune(Date.now() + 1000)).toBe(25);
        expect(await chatroom.latest('ops')).toEqual([]);
      }),
    );
  });

  describe(`ScheduleStoreApi: ${name}`, () => {
    const input = (over: Partial<ScheduleInput> = {}): ScheduleInput => ({
      label: 'daily',
      agentId: 'coder',
      teamId: null,
      message: 'status',
      cron: '0 9 * * *',
      timezone: 'UTC',
      runAt: null,
      enabled: true,
      missedPolicy: 'run-once',
      channel: 'schedule',
      senderId: 'schedule:daily',
      nextRunAt: 1000,
      ...over,
    });

    it(
      'creates, finds by id or label, keeps labels unique, lists, fires (one-shots disable) and deletes',
      withStores(async ({ schedules, events }) => {
        const start = await events.lastId();
        const daily = await schedules.create(input());
        expect(daily).toMatchObject({ label: 'daily', enabled: true, lastFiredAt: null, nextRunAt: 1000 });
        expect((await schedules.get('daily'))?.id).toBe(daily.id);
        expect((await schedules.get(daily.id))?.label).toBe('daily');
        expect(await codeOf(() => schedules.create(input()))).toBe('ALREADY_EXISTS');
        // A label may not be another schedule's id either.
        expect(await codeOf(() => schedules.create(input({ label: daily.id })))).toBe('ALREADY_EXISTS');
        const once = await schedules.create(input({ label: 'once', agentId: 'writer', cron: null, runAt: 5000, nextRunAt: 5000 }));
        expect(await codeOf(() => schedules.update('once', input()))).toBe('ALREADY_EXISTS');
        expect((await schedules.due(2000)).map((x) => x.label)).toEqual(['daily']);
        expect((await schedules.due(6000)).map((x) => x.label)).toEqual(['daily', 'once']);
        expect(await schedules.nextDueAt()).toBe(1000);
        expect((await schedules.list({ agentId: 'writer' })).map((x) => x.id)).toEqual([once.id]);
        expect(await schedules.markFired(daily.id, 1000, 87_400_000)).toMatchObject({ lastFiredAt: 1000, nextRunAt: 87_400_000, enabled: true });
        expect(await schedules.markFired(once.id, 5000, null)).toMatchObject({ enabled: false, nextRunAt: null });
        expect(await schedules.nextDueAt()).toBe(87_400_000);
        expect((await events.readSince(start, { types: ['schedule.fired'] })).map((e) => [e.agentId, e.data.scheduleId, e.data.nextRunAt])).toEqual([
          ['coder', daily.id, 87_400_000],
          ['writer', once.id, null],
        ]);
        expect(await schedules.update('daily', input({ label: 'morning', cron: '0 8 * * *' }))).toMatchObject({ id: daily.id, label: 'morning', cron: '0 8 * * *' });
        await schedules.delete('morning');
        expect((await schedules.list()).map((x) => x.label)).toEqual(['once']);
        expect(await codeOf(() => schedules.mustGet('morning'))).toBe('SCHEDULE_NOT_FOUND');
        expect(await codeOf(() => schedules.delete('morning'))).toBe('SCHEDULE_NOT_FOUND');
      }),
    );

    it(
      'records the firing of one due run once: a second markFired for the same dueAt changes nothing and sends no event',
      withStores(async ({ schedules, events }) => {
        const start = await events.lastId();
        const s = await schedules.create(input({ nextRunAt: 1000 }));
        const fired = await Promise.all([schedules.markFired(s.id, 1001, 2000, { dueAt: 1000, messageId: 'm1' }), schedules.markFired(s.id, 1002, 2000, { dueAt: 1000, messageId: 'm1' })]);
        expect(fired.map((r) => r.nextRunAt)).toEqual([2000, 2000]);
        expect((await events.readSince(start, { types: ['schedule.fired'] })).map((e) => e.data.dueAt)).toEqual([1000]);
        // The next run fires normally.
        expect(await schedules.markFired(s.id, 2000, 3000, { dueAt: 2000 })).toMatchObject({ lastFiredAt: 2000, nextRunAt: 3000 });
      }),
    );
  });

  describe(`TaskStoreApi: ${name}`, () => {
    it(
      'derives unique prefixes; numbers tasks per project without reuse; T-<n> without a project; finds by identifier in any case',
      withStores(async ({ tasks }) => {
        const p = await tasks.createProject({ name: 'System' });
        expect(p).toMatchObject({ prefix: 'SYS', archivedAt: null });
        expect((await tasks.createProject({ name: 'Synthesis' })).prefix).toBe('SYN');
        expect((await tasks.createProject({ name: 'Sys' })).prefix).toBe('SYS2');
        expect(await codeOf(() => tasks.createProject({ name: 'X', prefix: 'SYN' }))).toBe('ALREADY_EXISTS');
        const one = await tasks.createTask({ title: 'one', projectId: p.id });
        const two = await tasks.createTask({ title: 'two', projectId: p.id });
        await tasks.deleteTask(two.id);
        const three = await tasks.createTask({ title: 'three', projectId: 'SYS' });
        expect([one.identifier, three.identifier]).toEqual(['SYS-1', 'SYS-3']);
        expect((await tasks.createTask({ title: 'loose' })).identifier).toBe('T-1');
        expect((await tasks.createTask({ title: 'loose 2' })).identifier).toBe('T-2');
        expect((await tasks.getTask('sys-3'))?.id).toBe(three.id);
        expect(await codeOf(() => tasks.mustGetTask('SYS-2'))).toBe('TASK_NOT_FOUND');
        expect(await codeOf(() => tasks.createTask({ title: 'x', projectId: 'NOPE' }))).toBe('PROJECT_NOT_FOUND');
        expect(await tasks.mustGetProject(p.id)).toMatchObject({ id: p.id, prefix: 'SYS' });
        expect(await codeOf(() => tasks.mustGetProject('proj_nope'))).toBe('PROJECT_NOT_FOUND');
        // Moving a task to another project gives it that project's next number.
        const moved = await tasks.updateTask(three.id, { projectId: 'SYN' });
        expect(moved.after.identifier).toBe('SYN-1');
        expect((await tasks.listProjects()).map((x) => x.prefix)).toEqual(['SYS2', 'SYN', 'SYS']);
        const archived = await tasks.updateProject('SYS', { archived: true, description: 'old' });
        expect(archived.archivedAt).not.toBeNull();
        expect((await tasks.updateProject('SYS', { archived: true })).archivedAt).toBe(archived.archivedAt);
        expect(await tasks.updateProject('SYS', { archived: false })).toMatchObject({ archivedAt: null, description: 'old' });
        expect(await codeOf(() => tasks.updateProject('SYS', { prefix: 'SYN' }))).toBe('ALREADY_EXISTS');
      }),
    );

    it(
      'keeps tasks when their project goes; deleting a task deletes its comments',
      withStores(async ({ tasks }) => {
        const p = await tasks.createProject({ name: 'Website Redesign' });
        expect(p.prefix).toBe('WR');
        const t = await tasks.createTask({ title: 'one', projectId: p.id, description: 'd', assigneeAgent: 'coder' });
        const c1 = await tasks.addComment(t.id, { author: 'ann', content: 'hi' });
        const c2 = await tasks.addComment('wr-1', { author: 'bob', content: 'ho' });
        expect((await tasks.listComments(t.id)).map((c) => [c.id, c.author, c.content])).toEqual([
          [c1.id, 'ann', 'hi'],
          [c2.id, 'bob', 'ho'],
        ]);
        await tasks.deleteComment(c2.id);
        expect(await codeOf(() => tasks.deleteComment(c2.id))).toBe('COMMENT_NOT_FOUND');
        expect(await tasks.commentCount(t.id)).toBe(1);
        expect((await tasks.listTasks({ assignee: 'coder' })).map((x) => x.id)).toEqual([t.id]);
        expect((await tasks.listTasks({ projectId: p.id })).map((x) => x.id)).toEqual([t.id]);
        await tasks.deleteProject(p.id);
        expect(await tasks.getProject(p.id)).toBeUndefined();
        expect(await tasks.mustGetTask(t.id)).toMatchObject({ projectId: null, identifier: 'WR-1', description: 'd' });
        await tasks.deleteTask(t.id);
        expect(await tasks.commentCount(t.id)).toBe(0);
      }),
    );

    it(
      'puts new and moved tasks at the end of their column; reorders atomically, reporting status changes',
      withStores(async ({ tasks }) => {
        const a = await tasks.createTask({ title: 'a', status: 'todo' });
        const b = await tasks.createTask({ title: 'b', status: 'todo' });
        const c = await tasks.createTask({ title: 'c' });
        expect([a.position, b.position, c.position, c.status]).toEqual([0, 1, 0, 'backlog']);
        const { before, after } = await tasks.updateTask(c.id, { status: 'todo', title: 'c2', conversationId: 'conv1' });
        expect([before.status, after.status, after.position, after.title, after.conversationId]).toEqual(['backlog', 'todo', 2, 'c2', 'conv1']);
        const { tasks: moved, statusChanged } = await tasks.reorder({ in_progress: [b.id], todo: [c.id, a.id] });
        expect(moved.map((x) => [x.id, x.status, x.position])).toEqual([
          [b.id, 'in_progress', 0],
          [c.id, 'todo', 0],
          [a.id, 'todo', 1],
        ]);
        expect(statusChanged.map((x) => [x.before.id, x.before.status, x.after.status])).toEqual([[b.id, 'todo', 'in_progress']]);
        expect((await tasks.listTasks()).map((x) => x.title)).toEqual(['c2', 'a', 'b']);
        expect((await tasks.listTasks({ status: 'todo' })).map((x) => x.id)).toEqual([c.id, a.id]);
        expect(await codeOf(() => tasks.reorder({ done: [a.id], todo: ['task_missing'] }))).toBe('TASK_NOT_FOUND');
        expect(await codeOf(() => tasks.reorder({ done: [a.id, a.id] }))).toBe('INVALID_STATE');
        // The failed reorders changed nothing.
        expect(await tasks.mustGetTask(a.id)).toMatchObject({ status: 'todo', position: 1 });
      }),
    );

    it(
      "keeps a project's repository binding and a task's worktree state; checking sorts between in_progress and review",
      withStores(async ({ tasks }) => {
        const repo = ProjectRepoSchema.parse({ path: '/srv/web', files: [{ path: '.env', mode: 'copy' }], setup: { argv: ['pnpm', 'install'], timeoutMs: 60_000 } });
        const p = await tasks.createProject({ name: 'Web', repo });
        expect((await tasks.mustGetProject(p.id)).repo).toEqual(repo);
        expect((await tasks.createProject({ name: 'Plain' })).repo).toBeNull();
        // A patch without repo keeps it; a new binding replaces it whole; null unbinds.
        expect((await tasks.updateProject(p.id, { description: 'd' })).repo).toEqual(repo);
        const other = ProjectRepoSchema.parse({ url: 'https://example.com/web.git', baseRef: 'origin/main', remote: 'origin' });
        expect((await tasks.updateProject(p.id, { repo: other })).repo).toEqual(other);
        expect((await tasks.updateProject(p.id, { repo: null })).repo).toBeNull();

        const t = await tasks.createTask({ title: 'one', projectId: p.id, status: 'in_progress' });
        expect(t.git).toBeNull();
        const git: TaskGit = { state: 'ready', branch: 'tinyagi/WEB-1-one', worktreePath: '/w/WEB-1', headSha: 'a'.repeat(40), error: null, updatedAt: 5 };
        const recorded = await tasks.setTaskGit(t.id, git);
        expect(recorded.git).toEqual(git);
        // Recording the worktree leaves updated_at alone (the dispatch's key is made from it).
        expect(recorded.updatedAt).toBe(t.updatedAt);
        expect((await tasks.mustGetTask('web-1')).git).toEqual(git);
        const failed: TaskGit = { ...git, state: 'failed', error: { code: 'WORKTREE_SETUP_FAILED', message: 'exit 1' } };
        expect((await tasks.setTaskGit(t.id, failed)).git).toEqual(failed);
        // The Checking's record (docs/git-tasks.md) rides in the same column: rounds, the fingerprints sent, the last check with each result.
        const checked: TaskGit = {
          ...git,
          rounds: 2,
          feedbackSent: ['f'.repeat(32)],
          check: {
            state: 'failed',
            headSha: 'b'.repeat(40),
            startedAt: 6,
            finishedAt: 7,
            commits: 1,
            uncommitted: [],
            pushed: null,
            checks: [
              {
                name: 'test',
                argv: ['pnpm', 'test'],
                exitCode: null,
                signal: 'SIGKILL',
                timedOut: true,
                timeoutMs: 1000,
                ok: false,
                durationMs: 1002,
                log: 'waiting\n',
                omittedBytes: 0,
                fingerprint: 'f'.repeat(32),
              },
            ],
            missing: ['The check "test" (pnpm test) timed out.'],
            error: null,
          },
        };
        expect((await tasks.setTaskGit(t.id, checked)).git).toEqual(checked);
        expect((await tasks.mustGetTask(t.id)).git).toEqual(checked);
        expect((await tasks.setTaskGit(t.id, null)).git).toBeNull();
        expect(await codeOf(() => tasks.setTaskGit('task_missing', git))).toBe('TASK_NOT_FOUND');

        const review = await tasks.createTask({ title: 'r', status: 'review' });
        const checking = await tasks.createTask({ title: 'c', status: 'checking' });
        expect((await tasks.listTasks()).map((x) => x.id)).toEqual([t.id, checking.id, review.id]);
        expect((await tasks.listTasks({ status: 'checking' })).map((x) => x.id)).toEqual([checking.id]);
      }),
    );

    it(
      "keeps a review comment's anchor; marks comments sent in a round once, only this task's and only those unsent",
      withStores(async ({ tasks }) => {
        const t = await tasks.createTask({ title: 'one', status: 'review' });
        const other = await tasks.createTask({ title: 'two' });
        const plain = await tasks.addComment(t.id, { author: 'ann', content: 'hi' });
        expect(plain).toMatchObject({ anchor: null, sentRound: null });
        const anchor = { path: 'src/login.ts', line: 12, side: 'new' as const, commitSha: 'a'.repeat(40) };
        const review = await tasks.addComment(t.id, { author: 'user', content: 'Use true here.', anchor });
        const old = await tasks.addComment(t.id, { author: 'user', content: 'Why?', anchor: { path: 'gone.ts', line: 3, side: 'old', commitSha: null } });
        const elsewhere = await tasks.addComment(other.id, { author: 'user', content: 'x', anchor });
        expect(review).toMatchObject({ anchor, sentRound: null, content: 'Use true here.' });
        expect((await tasks.listComments(t.id)).map((c) => [c.id, c.anchor, c.sentRound])).toEqual([
          [plain.id, null, null],
          [review.id, anchor, null],
          [old.id, { path: 'gone.ts', line: 3, side: 'old', commitSha: null }, null],
        ]);

        // Another task's comment is not this task's to mark.
        const marked = await tasks.markCommentsSent(t.id, [old.id, review.id, elsewhere.id], 2);
        expect(marked.map((c) => [c.id, c.sentRound])).toEqual([
          [review.id, 2],
          [old.id, 2],
        ]);
        // Again, or in a later round: nothing changes (a comment keeps the round it first went in).
        expect(await tasks.markCommentsSent(t.id, [review.id, old.id], 3)).toEqual([]);
        expect(await tasks.markCommentsSent(t.id, [], 3)).toEqual([]);
        expect((await tasks.listComments(t.id)).map((c) => c.sentRound)).toEqual([null, 2, 2]);
        expect((await tasks.listComments(other.id)).map((c) => c.sentRound)).toEqual([null]);
        expect(await codeOf(() => tasks.markCommentsSent('task_missing', [review.id], 1))).toBe('TASK_NOT_FOUND');
      }),
    );

    it(
      'a store call that fails inside a transaction undoes only its own writes; the transaction goes on and commits',
      withStores(async (stores) => {
        const a = await stores.tasks.createTask({ title: 'a', status: 'todo' });
        await stores.transaction(async (tx) => {
          await tx.stores.tasks.updateTask(a.id, { title: 'renamed' });
          expect(await codeOf(() => tx.stores.tasks.reorder({ done: [a.id], todo: ['task_missing'] }))).toBe('TASK_NOT_FOUND');
          await tx.stores.tasks.addComment(a.id, { author: 'ann', content: 'after the failure' });
        });
        expect(await stores.tasks.mustGetTask(a.id)).toMatchObject({ title: 'renamed', status: 'todo' });
        expect(await stores.tasks.commentCount(a.id)).toBe(1);
      }),
    );
  });
}

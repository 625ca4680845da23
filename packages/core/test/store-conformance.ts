/**
 * Conformance suites for the store interfaces other than the queue's (queue-conformance.ts):
 * written against `StoreSet` only, so every backend runs the same checks. Call
 * `runStoreConformance(name, open)` from a test file per backend (SQLite today:
 * store-conformance.sqlite.test.ts; PostgreSQL with issue 17's backend).
 */
import { describe, expect, it } from 'vitest';
import type { StoreSet } from '../src/storage/interfaces.ts';
import { isTinyError } from '../src/errors.ts';
import { runEventsToTasksConformance } from './store-conformance-events-tasks.ts';

export interface StoreSetHandle {
  stores: StoreSet;
  close(): Promise<void> | void;
}

/** Runs a test body on freshly opened stores and closes them after. */
export type WithStores = (fn: (stores: StoreSet) => Promise<void>) => () => Promise<void>;

export function runStoreConformance(name: string, open: () => Promise<StoreSetHandle> | StoreSetHandle): void {
  const withStores: WithStores = (fn) => async () => {
    const h = await open();
    try {
      await fn(h.stores);
    } finally {
      await h.close();
    }
  };

  describe(`RunStoreApi conformance: ${name}`, () => {
    it(
      'creates conversations with their typed state and patches it; unknown ids throw CONVERSATION_NOT_FOUND',
      withStores(async ({ runs }) => {
        const c = await runs.createConversation({ rootAgentId: 'a', channel: 'api', sender: 'Ann', senderId: 'u1', threadKey: 't1', title: 'x'.repeat(300), addressed: 'team', meta: { k: 1 } });
        expect(c).toMatchObject({ rootAgentId: 'a', status: 'active', finished: false, awaitingDecision: false, held: [], addressed: 'team', meta: { k: 1 }, hops: 0 });
        expect(c.title).toHaveLength(200);
        const held = [{ kind: 'teammate' as const, agentId: 'b', teamId: null, content: 'c', body: 'b', from: 'a', hop: 1, parentRunId: 'run_x', parentMessageId: null }];
        await runs.updateConversation(c.id, { status: 'stopped', stopReason: 'limit', finished: true, awaitingDecision: true, held, softWarned: true, limitScale: 2 });
        const after = await runs.mustGetConversation(c.id);
        expect(after).toMatchObject({ status: 'stopped', stopReason: 'limit', finished: true, awaitingDecision: true, held, softWarned: true, limitScale: 2, meta: { k: 1 } });
        expect(after.completedAt).not.toBeNull();
        await runs.updateConversation(c.id, { status: 'active' });
        expect((await runs.mustGetConversation(c.id)).completedAt).toBeNull();
        await runs.bumpConversation(c.id, { hops: 2, messages: 3, inputTokens: 10, costUsd: 0.5 });
        await runs.bumpConversation(c.id, { hops: 1, costUsd: 0.25 });
        expect(await runs.mustGetConversation(c.id)).toMatchObject({ hops: 3, messageCount: 3, inputTokens: 10, costUsd: 0.75 });
        expect((await runs.latestConversationOfThread('api', 't1'))?.id).toBe(c.id);
        expect(await runs.getConversation('conv_nope')).toBeUndefined();
        await expect(Promise.resolve().then(() => runs.mustGetConversation('conv_nope'))).rejects.toSatisfy((e) => isTinyError(e) && e.code === 'CONVERSATION_NOT_FOUND');
      }),
    );

    it(
      'records runs through their life, their tree, open counts, usage and spend',
      withStores(async ({ runs }) => {
        const c = await runs.createConversation({ rootAgentId: 'a', channel: 'api' });
        const root = await runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user', channel: 'api', input: 'hi' });
        expect(root).toMatchObject({ status: 'queued', depth: 0, messageIds: [], input: 'hi' });
        const child = await runs.createRun({ conversationId: c.id, agentId: 'b', cause: 'spawn', parentRunId: root.id, depth: 1 });
        const grandchild = await runs.createRun({ conversationId: c.id, agentId: 'c', cause: 'spawn', parentRunId: child.id, depth: 2 });
        expect((await runs.children(root.id)).map((r) => r.id)).toEqual([child.id]);
        expect((await runs.descendants(root.id)).map((r) => r.id)).toEqual([child.id, grandchild.id]);
        expect(await runs.openRunCount(c.id)).toBe(3);
        await runs.startRun(root.id, { messageIds: ['msg_1'], input: 'composed' });
        expect(await runs.mustGetRun(root.id)).toMatchObject({ status: 'running', messageIds: ['msg_1'], input: 'composed' });
        expect(await runs.finishRun(root.id, { status: 'completed', output: 'done', usage: { inputTokens: 100, outputTokens: 20 }, costUsd: 0.01 })).toBe(true);
        expect(await runs.finishRun(root.id, { status: 'failed', error: 'late' })).toBe(false);
        expect(await runs.mustGetRun(root.id)).toMatchObject({ status: 'completed', output: 'done', inputTokens: 100, outputTokens: 20, costUsd: 0.01 });
        await runs.finishRun(child.id, { status: 'failed', error: 'boom' });
        await runs.finishRun(grandchild.id, { status: 'cancelled' });
        expect(await runs.openRunCount(c.id)).toBe(0);
        expect((await runs.listRuns(c.id)).map((r) => r.id)).toEqual([root.id, child.id, grandchild.id]);
        const byAgent = await runs.usage('agent');
        expect(byAgent.find((r) => r.key === 'a')).toMatchObject({ runs: 1, inputTokens: 100, outputTokens: 20 });
        expect(await runs.agentSpend('a', 0)).toMatchObject({ tokens: 120 });
        expect((await runs.globalSpend(0)).tokens).toBe(120);
        await expect(Promise.resolve().then(() => runs.mustGetRun('run_nope'))).rejects.toSatisfy((e) => isTinyError(e));
      }),
    );
  });

  describe(`OutboxStoreApi conformance: ${name}`, () => {
    it(
      'is idempotent by key, leases claims per channel in order, acks, retries and fails',
      withStores(async ({ outbox }) => {
        const first = await outbox.enqueue({ idempotencyKey: 'k1', channel: 'telegram', text: 'one', recipient: { chatId: '7' } });
        expect(first.created).toBe(true);
        expect((await outbox.enqueue({ idempotencyKey: 'k1', channel: 'telegram', text: 'again' })).created).toBe(false);
        await outbox.enqueue({ idempotencyKey: 'k2', channel: 'telegram', text: 'two' });
        await outbox.enqueue({ idempotencyKey: 'k3', channel: 'discord', text: 'other' });
        const claimed = await outbox.claim({ channel: 'telegram', owner: 'd1', limit: 10 });
        expect(claimed.map((r) => r.text)).toEqual(['one', 'two']);
        expect(await outbox.claim({ channel: 'telegram', owner: 'd2', limit: 10 })).toEqual([]);
        expect((await outbox.ack(claimed[0]!.id)).status).toBe('delivered');
        expect((await outbox.fail(claimed[1]!.id, 'network', { permanent: true })).status).toBe('failed');
        expect((await outbox.get(claimed[1]!.id))?.lastError).toBe('network');
        const counts = await outbox.counts();
        expect(counts).toMatchObject({ delivered: 1, failed: 1, pending: 1 });
        expect((await outbox.list({ channel: 'discord' })).map((r) => r.text)).toEqual(['other']);
      }),
    );
  });

  describe(`EventLogApi conformance: ${name}`, () => {
    it(
      'gives ids in commit order, reads since an id with filters, publishes only committed events',
      withStores(async (stores) => {
        const { events } = stores;
        const start = await events.lastId();
        const seen: number[] = [];
        const unsubscribe = events.subscribe((e) => seen.push(e.id));
        const a = await events.append({ type: 'system.notice', conversationId: 'c1', data: { note: 'a' } });
        await expect(
          stores.transaction(async (tx) => {
            await tx.stores.events.append({ type: 'system.notice', conversationId: 'c1', data: { note: 'rolled back' } });
            throw new Error('no');
          }),
        ).rejects.toThrow('no');
        const b = await stores.transaction(async (tx) => tx.stores.events.append({ type: 'system.notice', conversationId: 'c2', data: { note: 'b' } }));
        await stores.whenDurable();
        expect(b.id).toBeGreaterThan(a.id);
        expect(await events.lastId()).toBe(b.id);
        const all = await events.readSince(start);
        expect(all.map((e) => e.data)).toEqual([{ note: 'a' }, { note: 'b' }]);
        expect((await events.readSince(start, { conversationId: 'c2' })).map((e) => e.id)).toEqual([b.id]);
        expect((await events.readSince(a.id)).map((e) => e.id)).toEqual([b.id]);
        expect(seen).toEqual([a.id, b.id]);
        unsubscribe();
      }),
    );
  });

  describe(`session and sender-default stores conformance: ${name}`, () => {
    it(
      'keeps agent sessions per key with a bounded transcript, and resets them',
      withStores(async ({ agentSessions, agentMessages }) => {
        await agentSessions.recordTurn('a', 'k1', { provider: 'claude', sessionId: 's1', user: 'u1', assistant: 'a1', maxMessages: 2 });
        const s = await agentSessions.recordTurn('a', 'k1', { provider: 'claude', user: 'u2', assistant: 'a2', maxMessages: 2 });
        expect(s).toMatchObject({ sessionId: 's1', turns: 2 });
        expect(s.transcript.map((m) => m.content)).toEqual(['u2', 'a2']);
        expect((await agentSessions.list('a')).length).toBe(1);
        expect(await agentSessions.reset('a')).toBe(1);
        expect(await agentSessions.get('a', 'k1')).toBeUndefined();
        const id1 = await agentMessages.append({ agentId: 'a', role: 'user', channel: 'api', content: 'hello' });
        const id2 = await agentMessages.append({ agentId: 'a', role: 'assistant', channel: 'api', content: 'hi' });
        expect(id2).toBeGreaterThan(id1);
        expect((await agentMessages.list('a', { sinceId: id1 })).map((m) => m.content)).toEqual(['hi']);
      }),
    );

    it(
      'sets and clears sender defaults',
      withStores(async ({ senderDefaults }) => {
        await senderDefaults.set('telegram', 'u1', '@coder');
        expect(await senderDefaults.get('telegram', 'u1')).toBe('@coder');
        expect(await senderDefaults.clear('telegram', 'u1')).toBe(true);
        expect(await senderDefaults.clear('telegram', 'u1')).toBe(false);
      }),
    );
  });

  // Events, outbox, pairing, chat rooms, schedules and tasks in depth (store-conformance-events-tasks.ts).
  runEventsToTasksConformance(name, withStores);

  describe(`StoreSet transactions: ${name}`, () => {
    it(
      'commits the writes of a transaction together and rolls back only a failed savepoint',
      withStores(async (stores) => {
        const id = await stores.transaction(async (tx) => {
          const c = await tx.stores.runs.createConversation({ rootAgentId: 'a', channel: 'api' });
          await tx.savepoint(async (sp) => {
            await sp.stores.runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user' });
          });
          await tx
            .savepoint(async (sp) => {
              await sp.stores.runs.createRun({ conversationId: c.id, agentId: 'b', cause: 'user' });
              throw new Error('undo b');
            })
            .catch(() => undefined);
          return c.id;
        });
        expect((await stores.runs.listRuns(id)).map((r) => r.agentId)).toEqual(['a']);
      }),
    );
  });
}

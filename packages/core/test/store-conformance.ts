/**
 * Conformance suites for the store interfaces other than the queue's (queue-conformance.ts):
 * written against `StoreSet` only, so every backend runs the same checks. Call
 * `runStoreConformance(name, open)` from a test file per backend (SQLite today:
 * store-conformance.sqlite.test.ts; PostgreSQL with issue 17's backend).
 */
import { describe, expect, it } from 'vitest';
import type { StoreSet } from '../src/storage/interfaces.ts';
import { isTinyError } from '../src/errors.ts';

export interface StoreSetHandle {
  stores: StoreSet;
  close(): Promise<void> | void;
}

export function runStoreConformance(name: string, open: () => Promise<StoreSetHandle> | StoreSetHandle): void {
  const withStores = (fn: (stores: StoreSet) => Promise<void>) => async () => {
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

  describe(`session, sender-default, pairing, chat-room, schedule and task stores conformance: ${name}`, () => {
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
      'sets and clears sender defaults; pairs a sender by code; posts to a chat room in order',
      withStores(async ({ senderDefaults, pairings, chatroom }) => {
        await senderDefaults.set('telegram', 'u1', '@coder');
        expect(await senderDefaults.get('telegram', 'u1')).toBe('@coder');
        expect(await senderDefaults.clear('telegram', 'u1')).toBe(true);
        expect(await senderDefaults.clear('telegram', 'u1')).toBe(false);
        const request = await pairings.request({ channel: 'telegram', senderId: 'u9', sender: 'Bob' });
        expect(request).toMatchObject({ status: 'pending', created: true });
        expect(await pairings.isApproved('telegram', 'u9')).toBe(false);
        await pairings.approve(request.code!);
        expect(await pairings.isApproved('telegram', 'u9')).toBe(true);
        expect((await pairings.list()).approved.map((p) => p.senderId)).toEqual(['u9']);
        await chatroom.post({ teamId: 'dev', fromAgent: 'a', content: 'one' });
        await chatroom.post({ teamId: 'dev', fromAgent: 'b', content: 'two' });
        expect((await chatroom.latest('dev')).map((p) => p.content)).toEqual(['one', 'two']);
      }),
    );

    it(
      'creates, lists, fires and deletes schedules; numbers tasks per project and reorders them',
      withStores(async ({ schedules, tasks }) => {
        const runAt = Date.now() + 60_000;
        const s = await schedules.create({
          label: 'nightly',
          agentId: 'a',
          teamId: null,
          message: 'go',
          cron: null,
          timezone: 'UTC',
          runAt,
          enabled: true,
          missedPolicy: 'run-once',
          channel: 'schedule',
          senderId: '',
          nextRunAt: runAt,
        });
        expect((await schedules.get('nightly'))?.id).toBe(s.id);
        expect(await schedules.nextDueAt()).toBe(runAt);
        expect(await schedules.due(runAt - 1)).toEqual([]);
        expect((await schedules.due(runAt)).map((d) => d.id)).toEqual([s.id]);
        const fired = await schedules.markFired(s.id, runAt, null);
        expect(fired).toMatchObject({ lastFiredAt: runAt, nextRunAt: null });
        await schedules.delete(s.id);
        expect(await schedules.list()).toEqual([]);
        const project = await tasks.createProject({ name: 'Website Redesign' });
        expect(project.prefix).toBe('WR');
        const t1 = await tasks.createTask({ title: 'one', projectId: project.id });
        const t2 = await tasks.createTask({ title: 'two', projectId: project.id });
        expect([t1.identifier, t2.identifier]).toEqual(['WR-1', 'WR-2']);
        const { statusChanged } = await tasks.reorder({ todo: [t2.id, t1.id] });
        expect(statusChanged).toHaveLength(2);
        expect((await tasks.listTasks({ status: 'todo' })).map((t) => t.id)).toEqual([t2.id, t1.id]);
        await tasks.addComment(t1.id, { author: 'a', content: 'note' });
        expect(await tasks.commentCount(t1.id)).toBe(1);
      }),
    );
  });

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

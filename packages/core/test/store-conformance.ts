/**
 * Conformance suites for the store interfaces other than the queue's (queue-conformance.ts):
 * written against `StoreSet` only, so every backend runs the same checks. Call
 * `runStoreConformance(name, open)` from a test file per backend (SQLite today:
 * store-conformance.sqlite.test.ts; PostgreSQL with issue 17's backend).
 */
import { waitFor } from '@tinyagi/test-kit';
import { describe, expect, it } from 'vitest';
import type { StoreSet } from '../src/compose/store-set.ts';
import { isTinyError } from '../src/errors.ts';
import { io } from '../src/storage/transaction.ts';
import { bucketBoundaries } from '../src/runs/usage-buckets.ts';
import { runEventsToTasksConformance } from './store-conformance-events-tasks.ts';
import { runMemoryConformance } from './store-conformance-memory.ts';
import { runMemoryVectorConformance } from './store-conformance-memory-vectors.ts';
import { addMemory, proposeRemember, retireMemory } from '../src/memory/proposals.ts';

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
        expect((await runs.mustGetRun(root.id)).node).toBeUndefined();
        // With several nodes the start records the node that runs it; a retry's start on another node moves it there.
        await runs.startRun(child.id, { node: 'gpu-box' });
        expect(await runs.mustGetRun(child.id)).toMatchObject({ status: 'running', node: 'gpu-box' });
        await runs.startRun(child.id, { node: 'cpu-box' });
        expect((await runs.mustGetRun(child.id)).node).toBe('cpu-box');
        expect(await runs.finishRun(root.id, { status: 'completed', output: 'done', usage: { inputTokens: 100, outputTokens: 20 }, costUsd: 0.01 })).toBe(true);
        expect(await runs.finishRun(root.id, { status: 'failed', error: 'late' })).toBe(false);
        expect(await runs.mustGetRun(root.id)).toMatchObject({ status: 'completed', output: 'done', inputTokens: 100, outputTokens: 20, costUsd: 0.01 });
        // The finish that changed the run added its spend to the conversation; the late one added nothing.
        expect(await runs.mustGetConversation(c.id)).toMatchObject({ inputTokens: 100, outputTokens: 20, costUsd: 0.01 });
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
        // Inside a transaction the returned event's id may not be final (PostgreSQL writes a
        // transaction's events just before its commit: id 0 until then); the stored one is.
        await stores.transaction(async (tx) => tx.stores.events.append({ type: 'system.notice', conversationId: 'c2', data: { note: 'b' } }));
        await stores.whenDurable();
        const b = (await events.readSince(a.id)).at(-1)!;
        expect(b.data).toEqual({ note: 'b' });
        expect(b.id).toBeGreaterThan(a.id);
        expect(await events.lastId()).toBe(b.id);
        const all = await events.readSince(start);
        expect(all.map((e) => e.data)).toEqual([{ note: 'a' }, { note: 'b' }]);
        expect((await events.readSince(start, { conversationId: 'c2' })).map((e) => e.id)).toEqual([b.id]);
        expect((await events.readSince(a.id)).map((e) => e.id)).toEqual([b.id]);
        // Subscribers hear committed events after the commit (on PostgreSQL through the LISTEN
        // pump, so possibly after the reads above): wait for both, then check nothing else came.
        await waitFor(() => seen.length >= 2, 10_000, 'the two committed events to reach the subscriber');
        expect(seen).toEqual([a.id, b.id]);
        unsubscribe();
      }),
    );
  });

  describe(`session and sender-default stores conformance: ${name}`, () => {
    it(
      'keeps agent sessions per key with a bounded transcript, and resets them',
      withStores(async (stores) => {
        const { agentSessions, agentMessages } = stores;
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
        // Several at once: stored in order, their ids returned in that order.
        const many = await agentMessages.appendMany([
          { agentId: 'a', role: 'user', channel: 'api', sender: 'u1', messageId: 'msg_1', runId: 'run_1', conversationId: 'conv_1', content: 'one' },
          { agentId: 'a', role: 'user', channel: 'api', content: 'two' },
          { agentId: 'a', role: 'assistant', channel: 'api', sender: '@a', runId: 'run_1', content: 'three' },
        ]);
        expect(many).toHaveLength(3);
        expect(many[0]).toBeGreaterThan(id2);
        const listed = await agentMessages.list('a', { sinceId: id2 });
        expect(listed.map((m) => [m.id, m.content])).toEqual([
          [many[0], 'one'],
          [many[1], 'two'],
          [many[2], 'three'],
        ]);
        expect(listed[0]).toMatchObject({ role: 'user', sender: 'u1', messageId: 'msg_1', runId: 'run_1', conversationId: 'conv_1' });
        expect(await agentMessages.appendMany([])).toEqual([]);
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

  describe(`ApprovalStoreApi conformance: ${name}`, () => {
    it(
      "lists the requests of the conversations of one channel (a channel process's view), with the other filters",
      withStores(async ({ runs, approvals }) => {
        const tg = await runs.createConversation({ rootAgentId: 'a', channel: 'telegram', threadKey: 'chat-1' });
        const dc = await runs.createConversation({ rootAgentId: 'a', channel: 'discord', threadKey: 'chat-1' });
        const now = Date.now();
        const request = (id: string, conversationId: string, requestedAt: number) =>
          approvals.create({
            id,
            kind: 'permission',
            agentId: 'a',
            runId: 'run_x',
            conversationId,
            sessionKey: 'k',
            tool: 'Bash',
            input: { command: 'ls' },
            summary: 'Bash: ls',
            requestedAt,
            expiresAt: now + 60_000,
          });
        await request('apr_tg1', tg.id, now);
        await request('apr_dc1', dc.id, now + 1);
        await request('apr_tg2', tg.id, now + 2);
        expect((await approvals.list({ channel: 'telegram' })).map((a) => a.id)).toEqual(['apr_tg2', 'apr_tg1']);
        expect((await approvals.list({ channel: 'discord', status: 'pending' })).map((a) => a.id)).toEqual(['apr_dc1']);
        expect(await approvals.decide('apr_tg2', { status: 'allowed', decision: 'allow_once', decidedBy: 'telegram:u1', reason: null, decidedAt: now + 3 })).toMatchObject({
          id: 'apr_tg2',
          status: 'allowed',
          decidedBy: 'telegram:u1',
        });
        // The first answer wins: a second one changes nothing.
        expect(await approvals.decide('apr_tg2', { status: 'denied', decision: 'deny', decidedBy: 'api', reason: 'late', decidedAt: now + 4 })).toBeUndefined();
        expect(await approvals.get('apr_tg2')).toMatchObject({ status: 'allowed', decision: 'allow_once', decidedBy: 'telegram:u1', input: { command: 'ls' }, decidedAt: now + 3 });
        expect(await approvals.get('apr_nope')).toBeUndefined();
        expect((await approvals.list({ channel: 'telegram', status: 'pending' })).map((a) => a.id)).toEqual(['apr_tg1']);
        expect(await approvals.list({ channel: 'slack' })).toEqual([]);
        expect(await approvals.list({ channel: 'telegram', limit: 1 })).toHaveLength(1);
        // Answered as part of a batch: recorded on the request, with its group key.
        expect(await approvals.decide('apr_tg1', { status: 'denied', decision: 'deny', decidedBy: 'cli', reason: null, decidedAt: now + 5, batchId: 'bat_1' })).toMatchObject({
          batchId: 'bat_1',
          groupKey: 'Bash: ls',
        });
        expect(await approvals.get('apr_tg1')).toMatchObject({ status: 'denied', batchId: 'bat_1' });
        expect((await approvals.get('apr_tg2'))?.batchId).toBeUndefined();
      }),
    );

    it(
      "keeps a run-less request (a task's task_rounds: no run, session or expiry) and makes it once by its id",
      withStores(async ({ approvals }) => {
        const now = Date.now();
        const input = {
          id: 'apr_rounds1',
          kind: 'task_rounds' as const,
          agentId: 'dev',
          runId: null,
          conversationId: null,
          sessionKey: null,
          taskId: 'task_1',
          tool: 'task_rounds',
          input: { taskId: 'task_1', rounds: 5, moreRounds: 5 },
          summary: 'WEB-1 Fix: still not done after 5 rounds.',
          requestedAt: now,
          expiresAt: null,
        };
        const first = await approvals.createOnce(input);
        expect(first).toMatchObject({ created: true, record: { id: 'apr_rounds1', status: 'pending', runId: null, conversationId: null, sessionKey: null, taskId: 'task_1', expiresAt: null } });
        // The step run again after a crash: the same id finds the request, nothing new is made.
        const again = await approvals.createOnce({ ...input, summary: 'another summary', requestedAt: now + 1 });
        expect(again.created).toBe(false);
        expect(again.record).toEqual(first.record);
        expect((await approvals.list({ taskId: 'task_1' })).map((a) => a.id)).toEqual(['apr_rounds1']);
        expect(await approvals.list({ taskId: 'task_2' })).toEqual([]);
        expect(await approvals.list({ channel: 'telegram' })).toEqual([]);
        const decided = await approvals.decide('apr_rounds1', { status: 'answered', decision: 'more_rounds', decidedBy: 'cli', reason: null, answer: '3', decidedAt: now + 2 });
        expect(decided).toMatchObject({ status: 'answered', decision: 'more_rounds', answer: '3', taskId: 'task_1' });
        // A permission request says no task.
        expect(
          await approvals.create({ ...input, id: 'apr_perm', kind: 'permission', taskId: undefined, runId: 'run_1', conversationId: 'c', sessionKey: 'k', expiresAt: now + 1000 }),
        ).not.toHaveProperty('taskId');
      }),
    );
  });

  describe(`RunStoreApi, queries and steering as the orchestrator uses them: ${name}`, () => {
    it(
      'the agent filter lists a conversation any of whose runs that agent ran (a handoff target), not only its first agent',
      withStores(async ({ runs }) => {
        const handedOff = await runs.createConversation({ rootAgentId: 'coder', channel: 'api', teamId: 'dev' });
        await runs.createRun({ conversationId: handedOff.id, agentId: 'coder', cause: 'user' });
        await runs.createRun({ conversationId: handedOff.id, agentId: 'reviewer', cause: 'mention', depth: 1 });
        const alone = await runs.createConversation({ rootAgentId: 'coder', channel: 'api' });
        expect((await runs.listConversations({ agentId: 'reviewer' })).map((x) => x.id)).toEqual([handedOff.id]);
        expect((await runs.listConversations({ agentId: 'coder' })).map((x) => x.id)).toEqual([alone.id, handedOff.id]);
        expect(await runs.listConversations({ agentId: 'nobody' })).toEqual([]);
      }),
    );
    it(
      'lists conversations newest first with filters; creates runs started or rejected; adds usage; prunes ended runs and their finished conversations',
      withStores(async ({ runs }) => {
        const a = await runs.createConversation({ rootAgentId: 'a', channel: 'api', teamId: 'dev' });
        const b = await runs.createConversation({ rootAgentId: 'b', channel: 'api' });
        const c = await runs.createConversation({ rootAgentId: 'a', channel: 'telegram', teamId: 'dev' });
        await runs.updateConversation(b.id, { status: 'completed' });
        expect((await runs.listConversations()).map((x) => x.id)).toEqual([c.id, b.id, a.id]);
        expect((await runs.listConversations({ teamId: 'dev' })).map((x) => x.id)).toEqual([c.id, a.id]);
        expect((await runs.listConversations({ agentId: 'a', limit: 1 })).map((x) => x.id)).toEqual([c.id]);
        expect((await runs.listConversations({ status: 'completed' })).map((x) => x.id)).toEqual([b.id]);
        // A conversation a guard holds for the person's decision lists as `waiting`, whatever its status.
        await runs.updateConversation(c.id, { awaitingDecision: true });
        await runs.updateConversation(b.id, { awaitingDecision: true });
        expect((await runs.listConversations({ status: 'waiting' })).map((x) => x.id)).toEqual([c.id, b.id]);
        expect((await runs.listConversations({ status: 'active' })).map((x) => x.id)).toEqual([a.id]);
        expect(await runs.listConversations({ status: 'completed' })).toEqual([]);
        await runs.updateConversation(c.id, { awaitingDecision: false });
        await runs.updateConversation(b.id, { awaitingDecision: false });
        expect((await runs.listConversations({ status: 'active' })).map((x) => x.id)).toEqual([c.id, a.id]);
        const running = await runs.createRun({ conversationId: a.id, agentId: 'a', cause: 'user', status: 'running' });
        expect(running.startedAt).not.toBeNull();
        const rejected = await runs.createRun({ conversationId: a.id, agentId: 'a', cause: 'spawn', status: 'rejected', error: 'depth' });
        expect(rejected).toMatchObject({ status: 'rejected', error: 'depth' });
        expect(rejected.endedAt).not.toBeNull();
        await runs.addUsage(running.id, { inputTokens: 5, outputTokens: 1 }, 0.5);
        await runs.addUsage(running.id, { inputTokens: 5, outputTokens: 1 }, 0.25);
        expect(await runs.mustGetRun(running.id)).toMatchObject({ inputTokens: 10, outputTokens: 2, costUsd: 0.75 });
        // Metered by the model proxy: null until a call is added; added in place, also after the run ended.
        expect((await runs.mustGetRun(running.id)).metered).toBeNull();
        const spent = { agent: (await runs.agentSpend('a', 0)).tokens, all: (await runs.globalSpend(0)).tokens, usd: (await runs.agentSpend('a', 0)).costUsd };
        await runs.addMetered(running.id, { calls: 1, inputTokens: 1200, outputTokens: 40, cacheReadTokens: 300, cacheWriteTokens: 100, costUsd: 0.5 });
        // A finished run is not started again.
        await runs.finishRun(running.id, { status: 'completed' });
        await runs.addMetered(running.id, { calls: 1, inputTokens: 10, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 1, costUsd: 0.5 });
        expect((await runs.mustGetRun(running.id)).metered).toEqual({ calls: 2, inputTokens: 1210, outputTokens: 42, cacheReadTokens: 300, cacheWriteTokens: 101, costUsd: 1 });
        expect(await runs.mustGetRun(running.id)).toMatchObject({ inputTokens: 10, outputTokens: 2 });
        // Spend counts a run's metered tokens where they are more than what its CLI reported (1252, not 12).
        expect((await runs.agentSpend('a', 0)).tokens).toBe(spent.agent - 12 + 1252);
        expect((await runs.globalSpend(0)).tokens).toBe(spent.all - 12 + 1252);
        // And its cost: the proxy's price where it is more than the CLI's own figure ($1, not $0.75).
        expect((await runs.agentSpend('a', 0)).costUsd).toBeCloseTo(spent.usd - 0.75 + 1, 9);

        await runs.startRun(running.id, { input: 'again' });
        expect((await runs.mustGetRun(running.id)).status).toBe('completed');
        // Prune: ended runs older than the cut go, then completed conversations without runs;
        // not those of a conversation waiting for the person's decision (its held work needs them).
        const waiting = await runs.createConversation({ rootAgentId: 'w', channel: 'api' });
        const heldFrom = await runs.createRun({ conversationId: waiting.id, agentId: 'w', cause: 'user', status: 'running' });
        await runs.finishRun(heldFrom.id, { status: 'completed' });
        await runs.updateConversation(waiting.id, { status: 'completed', awaitingDecision: true });
        const later = Date.now() + 1000;
        const open = await runs.createRun({ conversationId: b.id, agentId: 'b', cause: 'user' });
        expect(await runs.prune(later)).toBe(2);
        expect((await runs.getRun(heldFrom.id))?.id).toBe(heldFrom.id);
        expect(await runs.getRun(running.id)).toBeUndefined();
        expect((await runs.getRun(open.id))?.id).toBe(open.id);
        await runs.finishRun(open.id, { status: 'cancelled' });
        await runs.prune(Date.now() + 1000);
        expect(await runs.getConversation(b.id)).toBeUndefined();
        expect((await runs.getConversation(a.id))?.id).toBe(a.id);
        expect((await runs.getConversation(waiting.id))?.id).toBe(waiting.id);
        // Once answered, they go like the others.
        await runs.updateConversation(waiting.id, { awaitingDecision: false });
        expect(await runs.prune(Date.now() + 1000)).toBe(1);
        expect(await runs.getConversation(waiting.id)).toBeUndefined();
      }),
    );

    it(
      'groups usage by key in byte order, by UTC day, in [since, until); buckets series in a time zone; ranks conversations',
      withStores(async ({ runs }) => {
        const at = (iso: string) => Date.parse(iso);
        const big = await runs.createConversation({ rootAgentId: 'coder', channel: 'api', title: 'the big one' });
        const small = await runs.createConversation({ rootAgentId: 'reviewer', channel: 'telegram', title: 'small talk' });
        const spend = async (conv: string, agent: string, provider: string, team: string | null, channel: string, iso: string, tokens: [number, number], usd: number) => {
          const run = await runs.createRun({ conversationId: conv, agentId: agent, provider, teamId: team, channel, cause: 'user', status: 'running', createdAt: at(iso) });
          await runs.finishRun(run.id, { status: 'completed', usage: { inputTokens: tokens[0], outputTokens: tokens[1] }, costUsd: usd });
        };
        await spend(big.id, 'coder', 'anthropic', 'dev', 'api', '2026-03-01T08:00:00Z', [100, 10], 1);
        await spend(big.id, 'coder', 'anthropic', 'dev', 'api', '2026-03-01T23:30:00Z', [200, 20], 2);
        await spend(big.id, 'Reviewer', 'openai', 'dev', 'api', '2026-03-02T09:00:00Z', [50, 5], 0.5);
        await spend(small.id, '_bot', 'openai', null, 'telegram', '2026-03-09T09:00:00Z', [1, 1], 0.01);
        // Byte order ('R' < '_' < 'c'), as SQLite compares text.
        expect((await runs.usage('agent')).map((r) => [r.key, r.runs, r.inputTokens, r.outputTokens, r.costUsd])).toEqual([
          ['Reviewer', 1, 50, 5, 0.5],
          ['_bot', 1, 1, 1, 0.01],
          ['coder', 2, 300, 30, 3],
        ]);
        expect((await runs.usage('team')).map((r) => [r.key, r.runs])).toEqual([
          ['', 1],
          ['dev', 3],
        ]);
        expect((await runs.usage('provider', { since: at('2026-03-02T00:00:00Z'), until: at('2026-03-09T00:00:00Z') })).map((r) => [r.key, r.runs])).toEqual([['openai', 1]]);
        // The day a run ended, in UTC (all of them ended now): one key.
        const days = await runs.usage('day');
        expect(days).toHaveLength(1);
        expect(days[0]).toMatchObject({ key: new Date().toISOString().slice(0, 10), runs: 4, inputTokens: 351 });
        const berlin = bucketBoundaries(at('2026-03-01T00:00:00Z'), at('2026-03-10T00:00:00Z'), 'day', 'Europe/Berlin', 100)!;
        expect((await runs.usageSeries('agent', berlin.edges)).map((r) => [berlin.labels[r.bucket], r.key, r.runs, r.inputTokens, r.costUsd])).toEqual([
          ['2026-03-01', 'coder', 1, 100, 1],
          ['2026-03-02', 'Reviewer', 1, 50, 0.5],
          ['2026-03-02', 'coder', 1, 200, 2],
          ['2026-03-09', '_bot', 1, 1, 0.01],
        ]);
        const b = bucketBoundaries(at('2026-03-01T00:00:00Z'), at('2026-03-10T00:00:00Z'), 'day', 'UTC', 100)!;
        expect((await runs.usageSeries('channel', b.edges, { since: at('2026-03-01T12:00:00Z') })).map((r) => [r.bucket, r.key, r.runs])).toEqual([
          [0, 'api', 1],
          [1, 'api', 1],
          [8, 'telegram', 1],
        ]);
        expect(await runs.usageSeries('agent', [at('2026-03-01T00:00:00Z')])).toEqual([]);
        expect((await runs.topConversations({ limit: 10 })).map((c) => [c.title, c.rootAgentId, c.teamId, c.channel, c.runs, c.costUsd])).toEqual([
          ['the big one', 'coder', null, 'api', 3, 3.5],
          ['small talk', 'reviewer', null, 'telegram', 1, 0.01],
        ]);
        expect((await runs.topConversations({ since: at('2026-03-05T00:00:00Z'), limit: 1 })).map((c) => c.title)).toEqual(['small talk']);
        expect(await runs.firstRunAt()).toBe(at('2026-03-01T08:00:00Z'));
        expect(await runs.agentSpend('coder', at('2026-03-01T12:00:00Z'))).toEqual({ tokens: 220, costUsd: 2 });
        expect(await runs.globalSpend(at('2026-03-05T00:00:00Z'))).toEqual({ tokens: 2, costUsd: 0.01 });
        expect(await runs.agentSpend('nobody', 0)).toEqual({ tokens: 0, costUsd: 0 });
      }),
    );

    it(
      'answers the orchestrator queries over queue, runs and conversations',
      withStores(async ({ runs, queries, queue }) => {
        const c = await runs.createConversation({ rootAgentId: 'a', channel: 'telegram', senderId: 'u1' });
        const room = await runs.createConversation({ rootAgentId: 'a', channel: 'chatroom', teamId: 'dev' });
        const m1 = await queue.enqueue({ kind: 'user', agentId: 'a', conversationId: c.id, channel: 'telegram', content: 'one' });
        const m2 = await queue.enqueue({ kind: 'user', agentId: 'b', conversationId: c.id, channel: 'telegram', content: 'two' });
        const m3 = await queue.enqueue({ kind: 'user', agentId: 'a', conversationId: c.id, channel: 'telegram', content: 'three' });
        expect(await queries.pendingMessagesOf(c.id)).toEqual([m1.id, m2.id, m3.id]);
        expect(await queries.unfinishedMessages(c.id)).toBe(3);
        const [batch] = await queue.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 1, policy: () => 'sequential' });
        expect(batch!.messages.map((m) => m.id)).toEqual([m1.id]);
        expect(await queries.messageStatus(m1.id)).toBe('processing');
        expect(await queries.messageStatus('msg_nope')).toBeUndefined();
        expect(await queries.pendingMessagesOf(c.id)).toEqual([m2.id, m3.id]);
        // A processing message whose cancel was requested no longer counts.
        expect((await queue.cancel(m1.id)).state).toBe('cancelling');
        expect(await queries.unfinishedMessages(c.id)).toBe(2);
        await queue.cancel(m2.id);
        expect(await queries.unfinishedMessages(c.id)).toBe(1);
        const root = await runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user', messageIds: [m1.id] });
        const child = await runs.createRun({ conversationId: c.id, agentId: 'b', cause: 'spawn', parentRunId: root.id, depth: 1, status: 'running' });
        await runs.createRun({ conversationId: c.id, agentId: 'c', cause: 'spawn', parentRunId: root.id, depth: 1, status: 'rejected' });
        const other = await runs.createRun({ conversationId: room.id, agentId: 'a', cause: 'chatroom' });
        expect((await queries.openRunsOf(c.id)).map((r) => [r.id, r.status, r.depth])).toEqual([
          [child.id, 'running', 1],
          [root.id, 'queued', 0],
        ]);
        expect((await queries.openRunsOf(c.id))[1]).toEqual({ id: root.id, conversationId: c.id, parentRunId: null, depth: 0, agentId: 'a', cause: 'user', status: 'queued', messageIds: [m1.id] });
        expect((await queries.openRuns()).map((r) => r.id)).toEqual([root.id, child.id, other.id]);
        expect(await queries.spawnedChildren(root.id)).toEqual({ total: 1, running: 1 });
        expect(await queries.recentConversationsOf('telegram', 'u1', 0)).toEqual([c.id]);
        expect(await queries.recentConversationsOf('telegram', 'u1', Date.now() + 1000)).toEqual([]);
        expect(await queries.activeRoomConversation('dev')).toBe(room.id);
        expect(await queries.activeRoomConversation('ops')).toBeUndefined();
        expect(await queries.activeStartedBefore(Date.now() + 1000, 10)).toEqual([c.id, room.id]);
        await runs.updateConversation(room.id, { status: 'completed' });
        expect(await queries.activeRoomConversation('dev')).toBeUndefined();
        expect(await queries.activeStartedBefore(Date.now() + 1000, 10)).toEqual([c.id]);
      }),
    );

    it(
      "a batch's context read says whether the turn's memory scopes hold an entry recall can find (PostgreSQL; SQLite's recall asks itself)",
      withStores(async ({ runs, queries, memory }) => {
        const c = await runs.createConversation({ rootAgentId: 'ann', channel: 'api', senderId: 'u1', replyMode: 'aggregate' });
        const scopes = [
          { kind: 'agent' as const, id: 'ann' },
          { kind: 'team' as const, id: 'dev' },
        ];
        const held = async (asked = scopes) => (await queries.runContext({ conversationId: c.id, runIds: [], memoryScopes: asked })).memoryHeld;
        const answer = (value: boolean) => (name === 'postgres' ? value : undefined);
        expect(await held()).toBe(answer(false));
        // A proposal is not recalled; another agent's entry is not in these scopes.
        await proposeRemember(memory, { scope: { kind: 'team', id: 'dev' }, kind: 'fact', text: 'Deploys happen on Fridays', reason: 'said so', provenance: { proposedBy: '@bob' } }, 100);
        await addMemory(memory, { scope: { kind: 'agent', id: 'bob' }, kind: 'fact', text: 'Bob works nights', by: 'cli' }, 100);
        expect(await held()).toBe(answer(false));
        const entry = await addMemory(memory, { scope: { kind: 'team', id: 'dev' }, kind: 'fact', text: 'The staging database is PostgreSQL', by: 'cli' }, 100);
        expect(await held()).toBe(answer(true));
        expect(await held([{ kind: 'agent', id: 'ann' }])).toBe(answer(false));
        await retireMemory(memory, entry.id, 'cli', 200);
        expect(await held()).toBe(answer(false));
        // Not asked: no answer.
        expect((await queries.runContext({ conversationId: c.id, runIds: [] })).memoryHeld).toBeUndefined();
      }),
    );

    it(
      'startRuns starts several runs in one write, each result in the place of its run (undefined: not open), as startRun leaves it',
      withStores(async ({ runs }) => {
        const c = await runs.createConversation({ rootAgentId: 'a', channel: 'api' });
        const q1 = await runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user' });
        const q2 = await runs.createRun({ conversationId: c.id, agentId: 'b', cause: 'mention', parentRunId: q1.id, depth: 1, input: 'kept' });
        const ended = await runs.createRun({ conversationId: c.id, agentId: 'c', cause: 'user' });
        await runs.finishRun(ended.id, { status: 'cancelled' });
        const started = await runs.startRuns([
          { id: q2.id, patch: { messageIds: ['m2'], node: 'n1' } },
          { id: ended.id, patch: { messageIds: ['m3'] } },
          { id: q1.id, patch: { messageIds: ['m1'], input: 'hello' } },
          { id: 'run_nope' },
        ]);
        expect(started.map((r) => r?.id)).toEqual([q2.id, undefined, q1.id, undefined]);
        expect(started[0]).toMatchObject({ status: 'running', messageIds: ['m2'], node: 'n1', input: 'kept' });
        expect(started[2]).toMatchObject({ status: 'running', messageIds: ['m1'], input: 'hello' });
        expect(started[0]!.startedAt).toBeGreaterThan(0);
        for (const run of [started[0]!, started[2]!]) expect(await runs.getRun(run.id)).toEqual(run);
        expect((await runs.getRun(ended.id))?.status).toBe('cancelled');
        // Started again (a retried batch): what it does not say is kept, the first start's time too.
        const [again] = await runs.startRuns([{ id: q1.id }]);
        expect(again).toEqual(started[2]);
        expect(await runs.startRuns([])).toEqual([]);
      }),
    );

    it(
      "batch contexts asked together (a claim's batches start at once) each get their own: what a read alone gets",
      withStores(async ({ runs, queries, agentSessions, memory }) => {
        const a = await runs.createConversation({ rootAgentId: 'a', channel: 'telegram', senderId: 'u1' });
        const b = await runs.createConversation({ rootAgentId: 'b', channel: 'api', senderId: 'u2' });
        const ra = await runs.createRun({ conversationId: a.id, agentId: 'a', cause: 'user', input: 'one' });
        const rb1 = await runs.createRun({ conversationId: b.id, agentId: 'b', cause: 'user' });
        const rb2 = await runs.createRun({ conversationId: b.id, agentId: 'b', cause: 'mention', parentRunId: rb1.id, depth: 1 });
        await agentSessions.recordTurn('a', 'chat:1', { provider: 'claude', sessionId: 's1', user: 'u', assistant: 'x' });
        await addMemory(memory, { scope: { kind: 'agent', id: 'b' }, kind: 'fact', text: 'Bob deploys on Fridays', by: 'cli' }, 100);
        const asked = [
          { conversationId: a.id, runIds: [ra.id], session: { agentId: 'a', sessionKey: 'chat:1' }, memoryScopes: [{ kind: 'agent' as const, id: 'a' }] },
          { conversationId: b.id, runIds: [rb1.id, 'run_nope', rb2.id], session: { agentId: 'b', sessionKey: 'chat:2' }, memoryScopes: [{ kind: 'agent' as const, id: 'b' }] },
          { conversationId: 'conv_nope', runIds: [] },
          { conversationId: a.id, runIds: [] },
        ];
        const byId = (context: { runs: Array<{ id: string }> }) => ({ ...context, runs: [...context.runs].sort((x, y) => x.id.localeCompare(y.id)) });
        const together = await Promise.all(asked.map((q) => queries.runContext(q)));
        const alone: unknown[] = [];
        for (const q of asked) alone.push(byId(await queries.runContext(q)));
        expect(together.map(byId)).toEqual(alone);
        expect(together.map((c) => [c.conversation?.id, c.runs.length, c.session?.sessionId])).toEqual([
          [a.id, 1, 's1'],
          [b.id, 2, undefined],
          [undefined, 0, undefined],
          [a.id, 0, undefined],
        ]);
        // PostgreSQL answers whether the memory scopes hold an entry (SQLite's recall asks itself).
        expect(together.map((c) => c.memoryHeld)).toEqual(name === 'postgres' ? [false, true, undefined, undefined] : [undefined, undefined, undefined, undefined]);
      }),
    );

    it(
      "reads a batch's context (conversation, runs, session) and a conversation's completion state in one read each; a start returns the run",
      withStores(async ({ runs, queries, queue, agentSessions }) => {
        const c = await runs.createConversation({ rootAgentId: 'a', channel: 'telegram', senderId: 'u1', replyMode: 'aggregate' });
        await runs.updateConversation(c.id, { awaitingDecision: true, held: [] });
        await runs.bumpConversation(c.id, { inputTokens: 7, outputTokens: 3, costUsd: 0.25 });
        const m = await queue.enqueue({ kind: 'user', agentId: 'a', conversationId: c.id, channel: 'telegram', content: 'one', meta: { k: [1] } });
        const r1 = await runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user', messageIds: [m.id], input: 'one' });
        const r2 = await runs.createRun({ conversationId: c.id, agentId: 'b', cause: 'mention', parentRunId: r1.id });
        await agentSessions.recordTurn('a', 'shared', { provider: 'claude', sessionId: 's1', user: 'u', assistant: 'x' });
        const context = await queries.runContext({ conversationId: c.id, runIds: [r1.id, 'run_nope', r2.id], session: { agentId: 'a', sessionKey: 'shared' } });
        // The same records the single reads give (every column's type included).
        expect(context.conversation).toEqual(await runs.getConversation(c.id));
        expect(context.runs.sort((x, y) => x.id.localeCompare(y.id))).toEqual([await runs.getRun(r1.id), await runs.getRun(r2.id)].sort((x, y) => x!.id.localeCompare(y!.id)));
        expect(context.session).toEqual(await agentSessions.get('a', 'shared'));
        expect(await queries.runContext({ conversationId: 'conv_nope', runIds: [] })).toEqual({ conversation: undefined, runs: [], session: undefined });
        // A conversation with its first run in one write: the records the single reads give.
        const both = await runs.createConversationWithRun(
          { id: 'conv_both', rootAgentId: 'a', channel: 'api', senderId: 'u2', title: 't', replyMode: 'each', addressed: 'team' },
          { id: 'run_both', conversationId: 'conv_both', agentId: 'a', cause: 'user', messageIds: ['msg_x'], input: 'hi', provider: 'mock', maxDepth: 3 },
        );
        expect(both).toEqual({ conversation: await runs.getConversation('conv_both'), run: await runs.getRun('run_both') });
        expect(both.run).toMatchObject({ status: 'queued', messageIds: ['msg_x'], maxDepth: 3 });
        expect(both.conversation).toMatchObject({ addressed: 'team', replyMode: 'each', status: 'active' });

        expect(await queries.completionState(c.id)).toEqual({ conversation: await runs.getConversation(c.id), openRuns: 2, unfinishedMessages: 1, runs: undefined });
        const started = await runs.startRun(r1.id, { node: 'n1' });
        expect(started).toEqual(await runs.getRun(r1.id));
        expect(started).toMatchObject({ status: 'running', node: 'n1' });
        await runs.finishRun(r1.id, { status: 'completed', output: 'done' });
        await runs.finishRun(r2.id, { status: 'cancelled' });
        // A start of an ended run changes nothing and returns nothing.
        expect(await runs.startRun(r2.id)).toBeUndefined();
        expect((await runs.getRun(r2.id))!.status).toBe('cancelled');
        expect(await queries.completionState(c.id)).toEqual({ conversation: await runs.getConversation(c.id), openRuns: 0, unfinishedMessages: 1, runs: undefined });
        const [batch] = await queue.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 1, policy: () => 'sequential' });
        await queue.complete(
          'w',
          batch!.messages.map((x) => x.id),
        );
        expect(await queries.completionState(c.id)).toEqual({ conversation: await runs.getConversation(c.id), openRuns: 0, unfinishedMessages: 0, runs: await runs.listRuns(c.id) });
      }),
    );

    it(
      'keeps steering of open runs (upsert, delete) and drops that of ended runs at load',
      withStores(async ({ runs, steering }) => {
        const c = await runs.createConversation({ rootAgentId: 'a', channel: 'api' });
        const open = await runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user' });
        const ended = await runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user' });
        const gone = await runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user' });
        await steering.save(open.id, { paused: false, injected: ['x'], applied: [] });
        await steering.save(open.id, { paused: true, injected: ['x', 'y'], redirect: 'go left', applied: ['z'], appliedRedirect: 'r' });
        await steering.save(ended.id, { paused: true, injected: [], applied: [] });
        await steering.save(gone.id, { paused: true, injected: [], applied: [] });
        await steering.delete(gone.id);
        await runs.finishRun(ended.id, { status: 'failed' });
        const loaded = await steering.loadOpen();
        expect([...loaded.entries()]).toEqual([[open.id, { paused: true, injected: ['x', 'y'], redirect: 'go left', applied: ['z'], appliedRedirect: 'r' }]]);
        await runs.finishRun(open.id, { status: 'completed' });
        expect((await steering.loadOpen()).size).toBe(0);
      }),
    );

    it(
      'saves the steering of a queued run only while it is queued; load reads one run',
      withStores(async ({ runs, steering }) => {
        const c = await runs.createConversation({ rootAgentId: 'a', channel: 'api' });
        const queued = await runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user' });
        expect(await steering.load(queued.id)).toBeUndefined();
        expect(await steering.saveIfQueued(queued.id, { paused: true, injected: ['x'], applied: [] })).toBe(true);
        expect(await steering.saveIfQueued(queued.id, { paused: true, injected: ['x', 'y'], applied: [] })).toBe(true);
        expect(await steering.load(queued.id)).toEqual({ paused: true, injected: ['x', 'y'], applied: [] });
        await runs.startRun(queued.id);
        expect(await steering.saveIfQueued(queued.id, { paused: false, injected: [], applied: [] })).toBe(false);
        expect(await steering.load(queued.id)).toEqual({ paused: true, injected: ['x', 'y'], applied: [] });
        expect(await steering.saveIfQueued('run_missing', { paused: true, injected: [], applied: [] })).toBe(false);
        expect(await steering.load('run_missing')).toBeUndefined();
      }),
    );

    it(
      'createConversationWithRunAtCommit returns the records a read finds once the transaction committed',
      withStores(async (stores) => {
        const made = await stores.transaction(async (tx) => {
          const both = [
            await tx.stores.runs.createConversationWithRunAtCommit(
              { id: 'conv_at_commit_1', rootAgentId: 'a', channel: 'api', sender: 'ann', senderId: 'u1', threadKey: 't', title: 'hi', replyMode: 'aggregate', addressed: 'team', teamId: 'dev' },
              {
                id: 'run_at_commit_1',
                conversationId: 'conv_at_commit_1',
                agentId: 'a',
                teamId: 'dev',
                cause: 'user',
                channel: 'api',
                messageIds: ['msg_1'],
                input: 'hi',
                provider: 'codex',
                maxDepth: 3,
              },
            ),
            await tx.stores.runs.createConversationWithRunAtCommit(
              { id: 'conv_at_commit_2', rootAgentId: 'b', channel: 'api' },
              { id: 'run_at_commit_2', conversationId: 'conv_at_commit_2', agentId: 'b', cause: 'user', status: 'running' },
            ),
          ];
          await tx.stores.events.append({ type: 'system.notice', data: { note: 'with the inserts' } });
          return both;
        });
        for (const { conversation, run } of made) {
          expect(await stores.runs.mustGetConversation(conversation.id)).toEqual(conversation);
          expect(await stores.runs.mustGetRun(run.id)).toEqual(run);
        }
        const alone = await stores.runs.createConversationWithRunAtCommit({ rootAgentId: 'c', channel: 'api' }, { conversationId: 'conv_at_commit_3', agentId: 'c', cause: 'user' });
        expect(await stores.runs.mustGetRun(alone.run.id)).toEqual(alone.run);
      }),
    );

    it(
      'updateConversationAtCommit: written when the transaction commits, with its events; not by a savepoint rolled back; at once outside a transaction',
      withStores(async (stores) => {
        const { runs } = stores;
        const c = await runs.createConversation({ rootAgentId: 'a', channel: 'api' });
        await stores.transaction(async (tx) => {
          await tx.stores.runs.getConversation(c.id, { forUpdate: true });
          await tx.stores.runs.updateConversationAtCommit(c.id, { status: 'completed', finished: true });
          await tx.stores.runs.updateConversationAtCommit(c.id, { stopReason: 'done' });
          await tx
            .transaction(async (inner) => {
              await inner.stores.runs.updateConversationAtCommit(c.id, { status: 'failed' });
              throw new Error('rolled back');
            })
            .catch(() => {});
          await tx.stores.events.append({ type: 'system.notice', conversationId: c.id, data: { note: 'with the update' } });
        });
        expect(await runs.mustGetConversation(c.id)).toMatchObject({ status: 'completed', finished: true, stopReason: 'done' });
        expect((await stores.events.readSince(0)).filter((e) => e.conversationId === c.id).map((e) => e.type)).toEqual(['system.notice']);
        await runs.updateConversationAtCommit(c.id, { status: 'active', finished: false });
        expect(await runs.mustGetConversation(c.id)).toMatchObject({ status: 'active', finished: false });
      }),
    );

    it(
      "enqueueAtCommit: the reply stored when the transaction commits, with enqueue's events and its run's place in the tree; not by a savepoint rolled back; a key taken fails the transaction; at once outside one",
      withStores(async (stores) => {
        const { outbox, runs, events } = stores;
        const c = await runs.createConversation({ rootAgentId: 'a', channel: 'telegram' });
        const root = await runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user' });
        const child = await runs.createRun({ conversationId: c.id, agentId: 'b', cause: 'spawn', parentRunId: root.id, depth: 1 });
        const reply = (key: string, text: string) => ({ idempotencyKey: key, channel: 'telegram', text, recipient: { chatId: '7' }, conversationId: c.id, runId: child.id, agentId: 'b' });
        const tree = { parent_run_id: root.id, depth: 1 };
        await stores.transaction(async (tx) => {
          await tx.stores.outbox.enqueue(reply('plain', 'one'));
          await tx
            .transaction(async (inner) => {
              await inner.stores.outbox.enqueueAtCommit(reply('at_commit_0', 'rolled back'), tree);
              throw new Error('rolled back');
            })
            .catch(() => {});
          await tx.stores.outbox.enqueueAtCommit(reply('at_commit_1', 'two'), tree);
        });
        const stored = await outbox.list({ channel: 'telegram' });
        expect(stored.map((r) => [r.idempotencyKey, r.text, r.status, r.runId, r.recipient])).toEqual([
          ['plain', 'one', 'pending', child.id, { chatId: '7' }],
          ['at_commit_1', 'two', 'pending', child.id, { chatId: '7' }],
        ]);
        // The same events as enqueue's, in the order the transaction asked for them.
        const enqueued = (await events.readSince(0)).filter((e) => e.type === 'outbox.enqueued');
        expect(enqueued.map((e) => ({ runId: e.runId, parentRunId: e.parentRunId, depth: e.depth, agentId: e.agentId, data: e.data }))).toEqual(
          stored.map((r) => ({ runId: child.id, parentRunId: root.id, depth: 1, agentId: 'b', data: { outboxId: r.id, channel: 'telegram', status: 'pending', text: r.text } })),
        );
        // A key stored already: the transaction fails, and nothing of it is kept.
        await expect(
          stores.transaction(async (tx) => {
            await tx.stores.events.append({ type: 'system.notice', conversationId: c.id, data: { note: 'lost' } });
            await tx.stores.outbox.enqueueAtCommit(reply('at_commit_1', 'again'), tree);
          }),
        ).rejects.toThrow();
        expect((await events.readSince(0)).filter((e) => e.type === 'system.notice')).toEqual([]);
        expect(await outbox.list({ channel: 'telegram' })).toEqual(stored);
        // Outside a transaction: stored at once; a key taken is refused with a code.
        await outbox.enqueueAtCommit(reply('at_commit_3', 'three'), tree);
        expect((await outbox.list({ channel: 'telegram' })).map((r) => r.text)).toEqual(['one', 'two', 'three']);
        await expect(Promise.resolve().then(() => outbox.enqueueAtCommit(reply('at_commit_3', 'again'), tree))).rejects.toSatisfy((e) => isTinyError(e) && e.code === 'INVALID_STATE');
      }),
    );

    it(
      "loadAtCommit reads a run's steering as its transaction ends, after the transaction's writes",
      withStores(async (stores) => {
        const { runs, steering } = stores;
        const c = await runs.createConversation({ rootAgentId: 'a', channel: 'api' });
        const [one, two] = [await runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user' }), await runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user' })];
        await steering.save(one.id, { paused: true, injected: ['x'], applied: [] });
        let reads: Array<Promise<unknown>> = [];
        await stores.transaction(async (tx) => {
          reads = [tx.stores.steering.loadAtCommit(one.id), tx.stores.steering.loadAtCommit(two.id)];
          await tx.stores.runs.startRun(one.id);
        });
        expect(await Promise.all(reads)).toEqual([{ paused: true, injected: ['x'], applied: [] }, undefined]);
        expect(await steering.loadAtCommit(one.id)).toEqual({ paused: true, injected: ['x'], applied: [] });
      }),
    );

    it(
      'agent sessions keep the instructions hash of the same session, forget it for a new one; reset by keys; prune; agent history pages',
      withStores(async ({ agentSessions, agentMessages, queries }) => {
        await agentSessions.recordTurn('a', 'k1', { provider: 'codex', sessionId: 's1', user: 'u', assistant: 'a', instructionsHash: 'h1' });
        expect((await agentSessions.recordTurn('a', 'k1', { provider: 'codex', user: 'u', assistant: 'a' })).instructionsHash).toBe('h1');
        expect(await agentSessions.recordTurn('a', 'k1', { provider: 'codex', sessionId: 's2', user: 'u', assistant: 'a' })).toMatchObject({ sessionId: 's2', instructionsHash: '', turns: 3 });
        expect(await agentSessions.get('a', 'k1')).toMatchObject({ sessionId: 's2', turns: 3, provider: 'codex', node: '' });
        // The node that ran the turn (several nodes) is kept with the session, and follows the latest turn.
        expect(await agentSessions.recordTurn('a', 'k1', { provider: 'codex', user: 'u', assistant: 'a', node: 'beta' })).toMatchObject({ sessionId: 's2', node: 'beta', turns: 4 });
        expect(await agentSessions.get('a', 'k1')).toMatchObject({ node: 'beta' });
        expect((await agentSessions.get('a', 'k1'))!.transcript).toHaveLength(8);
        await agentSessions.recordTurn('b', 'k1', { provider: 'claude', user: 'u', assistant: 'a' });
        await agentSessions.recordTurn('a', 'k2', { provider: 'claude', user: 'u', assistant: 'a' });
        expect((await agentSessions.list('a')).map((x) => x.sessionKey).sort()).toEqual(['k1', 'k2']);
        expect(await agentSessions.resetKeys([])).toBe(0);
        expect(await agentSessions.resetKeys(['k1', 'k9'])).toBe(2);
        expect(await agentSessions.reset('a', 'k2')).toBe(1);
        expect(await agentSessions.reset('a', 'k2')).toBe(0);
        await agentSessions.recordTurn('a', 'k3', { provider: 'claude', user: 'u', assistant: 'a' });
        expect(await agentSessions.prune(Date.now() - 60_000)).toBe(0);
        expect(await agentSessions.prune(Date.now() + 60_000, 1)).toBe(1);
        const ids: number[] = [];
        for (let i = 0; i < 5; i++) ids.push(await agentMessages.append({ agentId: 'a', role: i % 2 ? 'assistant' : 'user', channel: 'api', content: `m${i}`, runId: 'run_1' }));
        await agentMessages.append({ agentId: 'b', role: 'user', channel: 'api', content: 'other' });
        expect((await agentMessages.list('a', { limit: 2 })).map((m) => m.content)).toEqual(['m3', 'm4']);
        expect((await agentMessages.list('a', { beforeId: ids[3]!, limit: 2 })).map((m) => m.content)).toEqual(['m1', 'm2']);
        expect((await agentMessages.list('a', { sinceId: ids[0]!, limit: 2 })).map((m) => m.content)).toEqual(['m1', 'm2']);
        expect((await agentMessages.list('a'))[0]).toMatchObject({ id: ids[0], agentId: 'a', role: 'user', channel: 'api', sender: '', messageId: null, runId: 'run_1', conversationId: null });
        expect(await agentMessages.prune(Date.now() + 60_000, 2)).toBe(6);
        expect(await agentMessages.list('a')).toEqual([]);
        // A turn's chat messages are written with it, in order.
        const history = ['q1', 'q2', 'answer'].map((content, i) => ({ agentId: 'h', role: i < 2 ? ('user' as const) : ('assistant' as const), channel: 'api', content, runId: 'run_h' }));
        expect((await agentSessions.recordTurn('h', 'k', { provider: 'codex', user: 'q1\nq2', assistant: 'answer' }, history)).turns).toBe(1);
        expect((await agentMessages.list('h')).map((m) => [m.role, m.content, m.runId])).toEqual([
          ['user', 'q1', 'run_h'],
          ['user', 'q2', 'run_h'],
          ['assistant', 'answer', 'run_h'],
        ]);
        // Or with the completion's read, which does not see it (it reads neither table).
        const turn = { agentId: 'h', sessionKey: 'k', input: { provider: 'codex', user: 'q3', assistant: 'a3' }, history: [{ agentId: 'h', role: 'user' as const, channel: 'api', content: 'q3' }] };
        expect(await queries.completionState('conv_none', turn)).toMatchObject({ conversation: undefined, openRuns: 0 });
        expect(await agentSessions.get('h', 'k')).toMatchObject({ turns: 2 });
        expect((await agentMessages.list('h')).map((m) => m.content)).toEqual(['q1', 'q2', 'answer', 'q3']);
      }),
    );

    it(
      'a rolled-back transaction leaves no conversation, run, session, default, steering or message behind, and no message.enqueued event',
      withStores(async (stores) => {
        const before = await stores.events.lastId();
        let ids: { conversation: string; run: string; message: string } | undefined;
        await expect(
          stores.transaction(async (tx) => {
            const c = await tx.stores.runs.createConversation({ rootAgentId: 'a', channel: 'api' });
            const r = await tx.stores.runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user' });
            // Reads inside the transaction see its writes.
            expect((await tx.stores.runs.mustGetRun(r.id)).conversationId).toBe(c.id);
            expect(await tx.stores.queries.openRunsOf(c.id)).toHaveLength(1);
            await tx.stores.steering.save(r.id, { paused: true, injected: [], applied: [] });
            await tx.stores.agentSessions.recordTurn('a', 'k', { provider: 'claude', user: 'u', assistant: 'a' });
            await tx.stores.agentMessages.append({ agentId: 'a', role: 'user', channel: 'api', content: 'x' });
            await tx.stores.senderDefaults.set('api', 'u1', 'a');
            const m = await tx.stores.queue.enqueue({ kind: 'user', agentId: 'a', conversationId: c.id, channel: 'api', content: 'x', runId: r.id });
            expect((await tx.stores.queue.get(m.id))?.status).toBe('pending');
            ids = { conversation: c.id, run: r.id, message: m.id };
            throw new Error('roll back');
          }),
        ).rejects.toThrow('roll back');
        expect(await stores.runs.getConversation(ids!.conversation)).toBeUndefined();
        expect(await stores.runs.getRun(ids!.run)).toBeUndefined();
        expect((await stores.steering.loadOpen()).size).toBe(0);
        expect(await stores.agentSessions.get('a', 'k')).toBeUndefined();
        expect(await stores.agentMessages.list('a')).toEqual([]);
        expect(await stores.senderDefaults.get('api', 'u1')).toBeUndefined();
        expect(await stores.queue.get(ids!.message)).toBeUndefined();
        expect(await stores.queue.counts()).toMatchObject({ pending: 0 });
        expect(await stores.events.readSince(before)).toEqual([]);
        // Committed: the message and its event are there.
        const m = await stores.transaction(async (tx) => tx.stores.queue.enqueue({ kind: 'user', agentId: 'a', conversationId: 'c1', channel: 'api', content: 'y' }));
        expect((await stores.queue.get(m.id))?.status).toBe('pending');
        expect((await stores.events.readSince(before)).map((e) => [e.type, e.data])).toEqual([['message.enqueued', { messageId: m.id, kind: 'user', channel: 'api', teamId: null }]]);
      }),
    );

    it(
      'the queue records a retry and a dead letter as events; completion effects write through tx.stores and a throwing one undoes only its item',
      withStores(async (stores) => {
        const { queue, runs, events } = stores;
        const c = await runs.createConversation({ rootAgentId: 'a', channel: 'api' });
        const start = await events.lastId();
        await queue.enqueue({ kind: 'user', agentId: 'a', conversationId: c.id, channel: 'api', content: 'x', maxAttempts: 2 });
        for (let attempt = 1; attempt <= 2; attempt++) {
          const [b] = await queue.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 1, now: Date.now() + attempt * 3_600_000 });
          await queue.fail(
            'w',
            b!.messages.map((m) => m.id),
            { kind: 'retryable', error: `boom ${attempt}` },
          );
        }
        const types = (await events.readSince(start)).map((e) => [e.type, (e.data as { attempts?: number }).attempts ?? null]);
        expect(types).toEqual([
          ['message.enqueued', null],
          ['queue.retry', 1],
          ['queue.dead', 2],
        ]);
        const ok = await runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user', status: 'running' });
        const bad = await runs.createRun({ conversationId: c.id, agentId: 'b', cause: 'user', status: 'running' });
        await queue.enqueue({ kind: 'user', agentId: 'a', conversationId: c.id, channel: 'api', content: 'ok' });
        await queue.enqueue({ kind: 'user', agentId: 'b', conversationId: c.id, channel: 'api', content: 'bad' });
        const batches = await queue.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 2 });
        expect(batches).toHaveLength(2);
        const byAgent = new Map(batches.map((b) => [b.agentId, b.messages.map((m) => m.id)]));
        // Written so that it runs on both backends: SQLite's stores return plain values, PostgreSQL's promises.
        const finish = (runId: string, fail: boolean) => (tx: Parameters<NonNullable<Parameters<typeof queue.complete>[2]>>[0]) => {
          const done = tx.stores.runs.finishRun(runId, { status: 'completed', output: 'done' });
          if (done instanceof Promise) {
            return done.then(() => {
              if (fail) throw new Error('effect failed');
            });
          }
          if (fail) throw new Error('effect failed');
        };
        const results = await queue.completeMany([
          { owner: 'w', ids: byAgent.get('a')!, effects: finish(ok.id, false) },
          { owner: 'w', ids: byAgent.get('b')!, effects: finish(bad.id, true) },
        ]);
        expect(results.map((e) => e?.message)).toEqual([undefined, 'effect failed']);
        expect((await runs.mustGetRun(ok.id)).status).toBe('completed');
        expect((await runs.mustGetRun(bad.id)).status).toBe('running');
        expect((await queue.get(byAgent.get('a')![0]!))?.status).toBe('completed');
        expect((await queue.get(byAgent.get('b')![0]!))?.status).toBe('processing');
      }),
    );
  });
  // Events, outbox, pairing, chat rooms, schedules and tasks in depth (store-conformance-events-tasks.ts).
  runEventsToTasksConformance(name, withStores);
  runMemoryConformance(name, withStores);
  runMemoryVectorConformance(name, withStores);

  describe(`StoreSet transactions: ${name}`, () => {
    it(
      'commits the writes of a transaction together and rolls back only a failed savepoint',
      withStores(async (stores) => {
        const id = await stores.transaction(async (tx) => {
          const c = await tx.stores.runs.createConversation({ rootAgentId: 'a', channel: 'api' });
          await tx.transaction(async (sp) => {
            await sp.stores.runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user' });
          });
          await tx
            .transaction(async (sp) => {
              await sp.stores.runs.createRun({ conversationId: c.id, agentId: 'b', cause: 'user' });
              throw new Error('undo b');
            })
            .catch(() => undefined);
          return c.id;
        });
        expect((await stores.runs.listRuns(id)).map((r) => r.agentId)).toEqual(['a']);
      }),
    );

    it(
      'one verb for every unit: a generator body runs with transaction(), nested in a transaction, and as completion effects',
      withStores(async (stores) => {
        const id = await stores.transaction(function* (tx) {
          const c = yield* io(tx.stores.runs.createConversation({ rootAgentId: 'a', channel: 'api' }));
          yield* io(
            tx.transaction(function* (sp) {
              yield* io(sp.stores.runs.createRun({ conversationId: c.id, agentId: 'a', cause: 'user' }));
            }),
          );
          try {
            yield* io(
              tx.transaction(function* (sp) {
                yield* io(sp.stores.runs.createRun({ conversationId: c.id, agentId: 'b', cause: 'user' }));
                throw new Error('undo b');
              }),
            );
          } catch {}
          return c.id;
        });
        expect((await stores.runs.listRuns(id)).map((r) => r.agentId)).toEqual(['a']);
        await stores.queue.enqueue({ kind: 'user', agentId: 'a', conversationId: id, channel: 'api', content: 'x' });
        const [batch] = await stores.queue.claim({ owner: 'w', leaseMs: 60_000, maxAgents: 1 });
        await stores.queue.complete(
          'w',
          batch!.messages.map((m) => m.id),
          function* (tx) {
            yield* io(tx.stores.runs.bumpConversation(id, { hops: 1 }));
          },
        );
        expect((await stores.runs.mustGetConversation(id)).hops).toBe(1);
        expect((await stores.queue.get(batch!.messages[0]!.id))?.status).toBe('completed');
      }),
    );
  });
}

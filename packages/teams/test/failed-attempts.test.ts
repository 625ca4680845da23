import { afterEach, describe, expect, it } from 'vitest';
import { invokeAgent, type InvokeRequest } from '@tinyagi/core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fakeCli, tempDir, waitFor } from '@tinyagi/test-kit';
import { closeAll, eventsOf, harness, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

const FAKE_CLAUDE = fakeCli('claude');
const fakeClaude = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: FAKE_CLAUDE } });
const FAST_BACKOFF = { baseMs: 20, maxMs: 50, jitter: 0, maxRateLimitWaits: 3 };

describe('failed attempts', () => {
  it('records the usage and cost a failing result reports, for every attempt, and counts them against the daily budget', async () => {
    const h = await harness({ agents: { cc: { provider: 'anthropic', max_attempts: 2, budgets: { daily_usd: 0.08 } } } }, { invoke: fakeClaude, backoff: FAST_BACKOFF });
    const sent = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:error-cost', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);

    // Two attempts, each reporting 1,000 + 200 tokens and $0.05 on its failing result.
    const [run] = await h.stores.runs.listRuns(sent.conversationId);
    expect(run).toMatchObject({ status: 'failed', inputTokens: 2000, outputTokens: 400 });
    expect(run!.costUsd).toBeCloseTo(0.1, 10);
    const conversation = await h.stores.runs.mustGetConversation(sent.conversationId);
    expect(conversation).toMatchObject({ inputTokens: 2000, outputTokens: 400 });
    expect(conversation.costUsd).toBeCloseTo(0.1, 10);
    // Each failed attempt is visible: which one, out of how many, and why (the CLI exited 1: crashed).
    const retries = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['queue.retry', 'queue.dead'] });
    expect(retries.map((e) => [e.type, e.data])).toEqual([
      ['queue.retry', expect.objectContaining({ messageId: sent.messageId, attempts: 1, maxAttempts: 2, kind: 'retryable', failure: 'crashed', retryInMs: 20 })],
      ['queue.dead', expect.objectContaining({ messageId: sent.messageId, attempts: 2, maxAttempts: 2, kind: 'retryable', failure: 'crashed' })],
    ]);
    expect(await h.stores.queue.get(sent.messageId)).toMatchObject({ status: 'dead', attempts: 2, maxAttempts: 2, lastFailure: 'crashed' });
    const failed = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['run.failed'] });
    expect(failed).toHaveLength(1);
    expect(failed[0]!.data).toMatchObject({ inputTokens: 2000, outputTokens: 400 });

    // $0.10 spent today is over the agent's $0.08: the next message is refused by the budget.
    // The conversation failed, and says why, in the record and in its completion event.
    expect(conversation.status).toBe('failed');
    expect(conversation.stopReason).toMatch(/^@cc failed: .*gave up after 2 attempts/);
    const completed = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['conversation.completed'] });
    expect(completed.map((e) => e.data)).toEqual([expect.objectContaining({ status: 'failed', reason: conversation.stopReason })]);

    const next = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:reply=hello', senderId: 'u1' });
    await waitForCompletion(h, next.conversationId);
    expect((await h.stores.runs.listRuns(next.conversationId))[0]).toMatchObject({ status: 'rejected' });
    expect((await h.stores.runs.mustGetConversation(next.conversationId)).status).toBe('completed');
    expect((await eventsOf(h.stores, { conversationId: next.conversationId, types: ['guard.rejected'] }))[0]?.data).toMatchObject({ limitName: 'agent_daily_usd', action: 'not-invoked' });
  });

  it('a dead letter retried by hand re-opens its failed conversation, which then completes without a reason', async () => {
    const h = await harness({ agents: { cc: { provider: 'anthropic', max_attempts: 1 } } }, { invoke: fakeClaude, backoff: FAST_BACKOFF });
    const sent = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:exit=3', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    expect(await h.stores.runs.mustGetConversation(sent.conversationId)).toMatchObject({ status: 'failed', stopReason: expect.stringContaining('exit code 3') });

    h.setSettings({ agents: { cc: { provider: 'mock' } } });
    await h.stores.queue.retryDead(sent.messageId);
    await waitFor(async () => (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['conversation.completed'] }))[1], 10_000, 'the second completion');
    expect(await h.stores.runs.mustGetConversation(sent.conversationId)).toMatchObject({ status: 'completed', stopReason: null });
  });

  it('a dead letter retried by hand that dies again ends its new run failed and the conversation with it', async () => {
    const h = await harness({ agents: { cc: { provider: 'anthropic', max_attempts: 1 } } }, { invoke: fakeClaude, backoff: FAST_BACKOFF });
    const sent = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:exit=3', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    await h.stores.queue.retryDead(sent.messageId);
    await waitFor(async () => (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['conversation.completed'] }))[1], 10_000, 'the second completion');
    const runs = await h.stores.runs.listRuns(sent.conversationId);
    expect(runs.map((r) => r.status)).toEqual(['failed', 'failed']);
    expect(await h.stores.runs.mustGetConversation(sent.conversationId)).toMatchObject({ status: 'failed', finished: true });
    // The human is told each time, each note naming the run it is about; so does each dead letter.
    const notes = (await h.stores.outbox.list({ conversationId: sent.conversationId })).filter((o) => o.meta['kind'] === 'note');
    expect(notes.map((o) => o.runId)).toEqual(runs.map((r) => r.id));
    const deaths = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['queue.dead'] });
    expect(deaths.map((e) => e.runId)).toEqual(runs.map((r) => r.id));
    expect((await h.stores.queue.get(sent.messageId))?.runId).toBe(runs[1]!.id);
  });

  it('a rate limit is told apart from a crash: no attempt used, the wait counted, the message record says so', async () => {
    const h = await harness({ agents: { cc: { provider: 'anthropic' } } }, { invoke: fakeClaude });
    const sent = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:429', senderId: 'u1' });
    const retry = await waitFor(async () => (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['queue.retry'] }))[0], 10_000, 'the retry');
    // The fake CLI says "try again in 2 seconds".
    expect(retry.data).toMatchObject({ kind: 'rate_limited', failure: 'rate_limited', attempts: 0, maxAttempts: 3, rateLimitWaits: 1, maxRateLimitWaits: 20 });
    expect(retry.data.retryInMs).toBeGreaterThanOrEqual(2000);
    expect(await h.stores.queue.get(sent.messageId)).toMatchObject({ status: 'pending', attempts: 0, lastFailure: 'rate_limited' });
    await h.facets.conversations.cancelMessage(sent.messageId);
  });

  it('a timeout is classified as timed out', async () => {
    const h = await harness({ agents: { cc: { provider: 'anthropic', timeout_s: 0.3, max_attempts: 1 } } }, { invoke: fakeClaude, backoff: FAST_BACKOFF });
    const sent = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:hang', senderId: 'u1' });
    const done = await waitForCompletion(h, sent.conversationId);
    expect((await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['queue.dead'] }))[0]?.data).toMatchObject({ failure: 'timed_out', attempts: 1, maxAttempts: 1 });
    expect((await h.stores.queue.get(sent.messageId))?.lastFailure).toBe('timed_out');
    expect(done.data).toMatchObject({ status: 'failed' });
  });

  it.each([
    ['claude', 'anthropic', { inputTokens: 120, outputTokens: 42 }],
    ['codex', 'openai', { inputTokens: 200, outputTokens: 30 }],
    ['opencode', 'opencode', { inputTokens: 320, outputTokens: 30 }],
  ] as const)('%s: a retried message reaches the model once, and each run records what its call cost', async (cli, provider, perCall) => {
    // The fake keeps its sessions (a failed attempt's message stays in them, as in the real CLIs) and logs what reached its model.
    const dir = tempDir('tinyagi-retry-');
    const logFile = join(dir, 'fake.log');
    const invoke = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli(cli) }, env: { ...req.env, FAKE_STATE_DIR: dir, FAKE_LOG: logFile } });
    const h = await harness({ agents: { cc: { provider, max_attempts: 3 } } }, { invoke, backoff: FAST_BACKOFF });
    const send = async (message: string) => {
      const sent = await h.orchestrator.submit({ agent: 'cc', message, senderId: 'u1' });
      await waitForCompletion(h, sent.conversationId);
      return sent;
    };
    await send('first message');
    const retried = await send('second message FAKE:fail-once');

    const contexts = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { context: string }).context);
    expect(contexts).toHaveLength(3);
    expect(contexts[2]!.split('second message').length - 1).toBe(1);
    const [run] = await h.stores.runs.listRuns(retried.conversationId);
    expect(run).toMatchObject({ status: 'completed', ...perCall });
    const [session] = await h.stores.agentSessions.list('cc');
    expect(session).toMatchObject({ turns: 2 });
    // Claude keeps where to resume from, codex the thread's usage total; opencode needs neither.
    // Each beside the side its session lives on (invoker/session-side.ts).
    const stored = JSON.parse(session!.runtimeState) as { cliSide: string; state?: string };
    expect(stored.cliSide).toBe('unconfined');
    expect(stored.state !== undefined).toBe(cli !== 'opencode');
  });
});

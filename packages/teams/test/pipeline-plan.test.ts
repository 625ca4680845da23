/**
 * The plan stage (orchestrator/plan.ts) on values alone: no database, no orchestrator. What a
 * claimed batch becomes (settle, cancel, reject, invoke) and which daily sums it needs read.
 */
import { describe, expect, it } from 'vitest';
import { SettingsSchema, type ConversationRecord, type QueueMessage, type RunRecord, type RunStatus, type Settings } from '@tinyagi/core';
import { planBatch, spendToRead, type BatchPair } from '../src/orchestrator/plan.ts';

const NOW = Date.UTC(2026, 10, 23, 15, 30);
const DAY = Date.UTC(2026, 10, 23);

function settings(extra: Partial<Settings> = {}): Settings {
  return SettingsSchema.parse({ agents: { bot: { provider: 'mock' } }, ...extra });
}

function conversation(extra: Partial<ConversationRecord> = {}): ConversationRecord {
  return {
    id: 'conv_1',
    teamId: null,
    rootAgentId: 'bot',
    channel: 'discord',
    sender: 'Ann',
    senderId: 'u1',
    threadKey: null,
    title: 'hi',
    status: 'active',
    replyMode: 'each',
    hops: 0,
    messageCount: 1,
    spawnCount: 0,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    limitScale: 1,
    softWarned: false,
    stopReason: null,
    finished: false,
    awaitingDecision: false,
    held: [],
    meta: {},
    addressed: 'agent',
    createdAt: NOW,
    updatedAt: NOW,
    completedAt: null,
    ...extra,
  };
}

function pair(n: number, status: RunStatus = 'queued', message: Partial<QueueMessage> = {}): BatchPair {
  const id = `msg_${n}`;
  return {
    message: {
      seq: n,
      id,
      kind: 'user',
      agentId: 'bot',
      teamId: null,
      conversationId: 'conv_1',
      parentMessageId: null,
      parentRunId: null,
      runId: `run_${n}`,
      depth: 0,
      channel: 'discord',
      sender: 'Ann',
      senderId: 'u1',
      threadKey: null,
      content: `message ${n}`,
      attachments: [],
      meta: {},
      status: 'processing',
      attempts: 1,
      maxAttempts: 3,
      availableAt: NOW,
      leaseOwner: 'w',
      leaseExpiresAt: NOW + 60_000,
      cancelRequested: false,
      lastError: null,
      lastFailure: null,
      idempotencyKey: null,
      createdAt: NOW,
      updatedAt: NOW,
      finishedAt: null,
      ...message,
    },
    run: run(n, status),
  };
}

function run(n: number, status: RunStatus): RunRecord {
  return {
    id: `run_${n}`,
    conversationId: 'conv_1',
    parentRunId: null,
    depth: 0,
    maxDepth: 3,
    agentId: 'bot',
    teamId: null,
    channel: 'discord',
    cause: 'user',
    status,
    messageIds: [`msg_${n}`],
    input: `message ${n}`,
    output: null,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    error: null,
    createdAt: NOW,
    startedAt: null,
    endedAt: null,
  };
}

describe('planBatch', () => {
  it('invokes the first open run, merges the other open ones, and starts the primary with every claimed message', () => {
    const pairs = [pair(1, 'cancelled'), pair(2), pair(3)];
    const plan = planBatch({ settings: settings(), conversation: conversation(), pairs, spend: {} });
    expect(plan.action).toBe('invoke');
    if (plan.action !== 'invoke') return;
    expect(plan.agentId).toBe('bot');
    expect(plan.primary.run.id).toBe('run_2');
    expect(plan.merged.map((p) => p.run.id)).toEqual(['run_3']);
    expect(plan.starts.map((s) => [s.run.id, s.messageIds])).toEqual([
      ['run_2', ['msg_1', 'msg_2', 'msg_3']],
      ['run_3', ['msg_3']],
    ]);
    expect(plan.retry).toBe(false);
  });

  it('retries the session when a claimed message failed before, and keys the session by the agent session mode', () => {
    const pairs = [pair(1, 'running', { lastError: 'lease lost' })];
    const shared = planBatch({ settings: settings(), conversation: conversation(), pairs, spend: {} });
    const perThread = planBatch({
      settings: settings({ agents: { bot: { provider: 'mock', session_mode: 'per-thread' } } }),
      conversation: conversation({ threadKey: 'th_9' }),
      pairs,
      spend: {},
    });
    expect(shared).toMatchObject({ action: 'invoke', retry: true, sessionKey: expect.any(String) });
    expect(perThread).toMatchObject({ action: 'invoke', sessionKey: 'thread:discord:th_9' });
  });

  it('settles a batch whose runs have all ended, with every run for the settlement check', () => {
    const plan = planBatch({ settings: settings(), conversation: conversation(), pairs: [pair(1, 'cancelled'), pair(2, 'completed')], spend: {} });
    expect(plan).toEqual({ action: 'settle', runs: [expect.objectContaining({ id: 'run_1' }), expect.objectContaining({ id: 'run_2' })] });
  });

  it('cancels the open runs of a conversation that is no longer active', () => {
    const plan = planBatch({ settings: settings(), conversation: conversation({ status: 'stopped' }), pairs: [pair(1, 'completed'), pair(2)], spend: {} });
    expect(plan).toEqual({ action: 'cancel', runs: [expect.objectContaining({ id: 'run_2' })], error: 'the conversation was stopped' });
  });

  it('rejects over a conversation budget and stops the conversation', () => {
    const plan = planBatch({
      settings: settings({ budgets: { conversation_usd: 0.1 } }),
      conversation: conversation({ costUsd: 0.12 }),
      pairs: [pair(1), pair(2)],
      spend: {},
    });
    expect(plan).toMatchObject({ action: 'reject', stopConversation: true, primaryRunId: 'run_1', rejection: { limitName: 'conversation_usd', limit: 0.1, actual: 0.12 } });
    if (plan.action === 'reject') expect(plan.runs.map((r) => r.id)).toEqual(['run_1', 'run_2']);
  });

  it("rejects over an agent's daily budget from the spend read for it, without stopping the conversation", () => {
    const s = settings({ agents: { bot: { provider: 'mock', budgets: { daily_tokens: 500 } } } });
    const plan = planBatch({ settings: s, conversation: conversation(), pairs: [pair(1)], spend: { agentToday: { agentId: 'bot', costUsd: 0, tokens: 800 } } });
    expect(plan).toMatchObject({ action: 'reject', stopConversation: false, rejection: { limitName: 'agent_daily_tokens', limit: 500, actual: 800 } });
    // Under the budget: invoked.
    expect(planBatch({ settings: s, conversation: conversation(), pairs: [pair(1)], spend: { agentToday: { agentId: 'bot', costUsd: 0, tokens: 100 } } }).action).toBe('invoke');
  });

  it('is pure: the same input gives the same plan, and the input is left as it was', () => {
    const input = { settings: settings(), conversation: conversation(), pairs: [pair(1), pair(2)], spend: {} };
    const before = JSON.stringify(input);
    expect(planBatch(input)).toEqual(planBatch(input));
    expect(JSON.stringify(input)).toBe(before);
  });
});

describe('spendToRead', () => {
  it('asks for no daily sum without a daily budget, and for none when the plan will not check budgets', () => {
    expect(spendToRead(settings(), conversation(), [pair(1)], NOW)).toMatchObject({ agentId: 'bot', day: DAY, agent: false, global: false });
    const daily = settings({ budgets: { global_daily_usd: 5 }, agents: { bot: { provider: 'mock', budgets: { daily_usd: 1 } } } });
    expect(spendToRead(daily, conversation(), [pair(1)], NOW)).toMatchObject({ agentId: 'bot', day: DAY, agent: true, global: true });
    expect(spendToRead(daily, conversation({ status: 'cancelled' }), [pair(1)], NOW)).toBeUndefined();
    expect(spendToRead(daily, conversation(), [pair(1, 'completed')], NOW)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '@tinyagi/core/internal';
import { admitSpawn, guardDeliveries, nextPingPong, softLimitReached, type AdmissionSnapshot, type ConversationUsage } from '../src/internal.ts';

const snapshot = (over: Partial<AdmissionSnapshot> = {}): AdmissionSnapshot => ({
  parentDepth: 0,
  parentMaxDepth: 5,
  childMaxDepth: 5,
  parentChildren: 0,
  parentRunningChildren: 0,
  conversationSpawns: 0,
  treeCostUsd: 0,
  treeTokens: 0,
  treeStartedAt: 1_000_000,
  limitScale: 1,
  now: 1_000_000,
  limits: { max_children_per_run: 8, max_concurrent_children: 4, max_spawns_per_conversation: 50, conversation_timeout_s: 3600 },
  budgets: {},
  ...over,
});

const conversation = (over: Partial<ConversationUsage> = {}): ConversationUsage => ({
  hops: 0,
  messageCount: 0,
  spawnCount: 0,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: 0,
  limitScale: 1,
  createdAt: 0,
  ...over,
});

describe('admitSpawn', () => {
  it('admits one level deeper under the tighter of the inherited and own caps', () => {
    expect(admitSpawn(snapshot())).toEqual({ ok: true, depth: 1, maxDepth: 5 });
    expect(admitSpawn(snapshot({ parentDepth: 2, childMaxDepth: 3 }))).toEqual({ ok: true, depth: 3, maxDepth: 3 });
    expect(admitSpawn(snapshot({ parentDepth: 3, childMaxDepth: 3 }))).toMatchObject({ ok: false, code: 'DEPTH_LIMIT', depth: 4, maxDepth: 3 });
    // A child's own larger cap cannot loosen what the parent inherited.
    expect(admitSpawn(snapshot({ parentDepth: 2, parentMaxDepth: 2, childMaxDepth: 10 }))).toMatchObject({ ok: false, code: 'DEPTH_LIMIT', maxDepth: 2 });
  });

  it('refuses by children, concurrency, spawns, wall clock and budget, scaled where raisable', () => {
    expect(admitSpawn(snapshot({ parentChildren: 8 }))).toMatchObject({ ok: false, code: 'CHILD_LIMIT', limit: 8, actual: 8 });
    expect(admitSpawn(snapshot({ parentRunningChildren: 4 }))).toMatchObject({ ok: false, code: 'CONCURRENCY_LIMIT' });
    expect(admitSpawn(snapshot({ conversationSpawns: 50 }))).toMatchObject({ ok: false, code: 'SPAWN_LIMIT' });
    expect(admitSpawn(snapshot({ conversationSpawns: 50, limitScale: 2 }))).toMatchObject({ ok: true });
    expect(admitSpawn(snapshot({ now: 1_000_000 + 3_600_000 }))).toMatchObject({ ok: false, code: 'TIMEOUT' });
    expect(admitSpawn(snapshot({ treeCostUsd: 1, budgets: { conversation_usd: 1 } }))).toMatchObject({ ok: false, code: 'BUDGET_EXCEEDED', limitName: 'conversation_usd' });
    expect(admitSpawn(snapshot({ treeTokens: 500, budgets: { conversation_tokens: 400 } }))).toMatchObject({ ok: false, code: 'BUDGET_EXCEEDED', limitName: 'conversation_tokens' });
  });

  it('costs microseconds', () => {
    const s = snapshot();
    const start = performance.now();
    for (let i = 0; i < 100_000; i++) admitSpawn(s);
    expect((performance.now() - start) / 100_000).toBeLessThan(0.02);
  });
});

describe('guardDeliveries', () => {
  const settings = { limits: { ...DEFAULT_LIMITS }, budgets: { soft_limit_fraction: 0.8 } };
  const delivery = (over: Partial<{ kind: 'mention' | 'chatroom'; target: string; hop: number; pingPongCount: number }> = {}) => ({
    kind: 'mention' as const,
    target: 'b',
    hop: 1,
    pingPongCount: 1,
    ...over,
  });

  it('accepts within limits and rejects past the wall clock or a budget (which stops the conversation)', () => {
    expect(guardDeliveries([delivery()], { conversation: conversation(), settings, now: 1000 }).accepted).toHaveLength(1);
    const late = guardDeliveries([delivery()], { conversation: conversation(), settings, now: 3_600_000 });
    expect(late.rejected[0]?.rejection).toMatchObject({ limitName: 'conversation_timeout', limit: 3600 });
    const broke = guardDeliveries([delivery(), delivery({ target: 'c' })], {
      conversation: conversation({ costUsd: 2 }),
      settings: { ...settings, budgets: { soft_limit_fraction: 0.8, conversation_usd: 1 } },
      now: 0,
    });
    expect(broke.stop).toMatchObject({ limitName: 'conversation_usd' });
    expect(broke.rejected).toHaveLength(2);
  });

  it('counts fan-out per reply, not chat-room deliveries', () => {
    const many = [...Array.from({ length: 9 }, (_, i) => delivery({ target: `t${i}` })), delivery({ kind: 'chatroom', target: 'r' })];
    const verdict = guardDeliveries(many, { conversation: conversation(), settings, now: 0 });
    expect(verdict.accepted.map((d) => d.target)).toEqual(['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 'r']);
    expect(verdict.rejected.map((r) => r.rejection.limitName)).toEqual(['max_fanout']);
  });
});

describe('ping-pong and the soft limit', () => {
  it('counts a back-and-forth between the same two agents only', () => {
    const one = nextPingPong(undefined, null, 'a', 'b');
    const two = nextPingPong(one, 'a', 'b', 'a');
    const three = nextPingPong(two, 'b', 'a', 'b');
    expect([one.count, two.count, three.count]).toEqual([1, 2, 3]);
    expect(nextPingPong(three, 'b', 'a', 'c').count).toBe(1);
  });

  it('warns at the configured fraction of any raisable limit', () => {
    const settings = { limits: { ...DEFAULT_LIMITS }, budgets: { soft_limit_fraction: 0.8, conversation_usd: 1 } };
    expect(softLimitReached(conversation({ costUsd: 0.5 }), settings, 0)).toBeUndefined();
    expect(softLimitReached(conversation({ costUsd: 0.8 }), settings, 0)).toMatchObject({ limitName: 'conversation_usd', limit: 1 });
    expect(softLimitReached(conversation({ messageCount: 40 }), settings, 0)).toMatchObject({ limitName: 'max_messages', limit: 50 });
    expect(softLimitReached(conversation({ messageCount: 40, limitScale: 2 }), settings, 0)).toBeUndefined();
  });
});

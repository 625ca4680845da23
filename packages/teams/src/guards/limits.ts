/**
 * The limits guards and budgets enforce, their names in events (`limitName` of `guard.rejected`,
 * `budget.exceeded`, `subagent.rejected`…), and which of them a human's `continue` raises
 * (conversation-wide limits scale with the conversation's limit_scale; structural limits such as
 * depth or fan-out and the daily spend caps do not).
 */
import type { ConversationRecord } from '@tinyagi/core';
import type { EffectiveBudgets, EffectiveLimits } from '../core-internal.ts';

export type GuardLimit =
  | 'max_hops'
  | 'max_messages'
  | 'max_fanout'
  | 'ping_pong'
  | 'conversation_timeout'
  | 'conversation_usd'
  | 'conversation_tokens'
  | 'agent_daily_usd'
  | 'agent_daily_tokens'
  | 'global_daily_usd'
  | 'global_daily_tokens'
  | 'conversation_stopped';

export interface GuardRejection {
  limitName: GuardLimit;
  limit: number;
  actual: number;
  message: string;
}

/** Conversation counters the guards read. */
export type ConversationUsage = Pick<ConversationRecord, 'hops' | 'messageCount' | 'spawnCount' | 'inputTokens' | 'outputTokens' | 'costUsd' | 'limitScale' | 'createdAt'>;

export interface GuardSettings {
  limits: EffectiveLimits;
  budgets: EffectiveBudgets;
}

export function scaled(limit: number, scale: number): number {
  return limit * Math.max(1, scale);
}

export function tokensOf(c: Pick<ConversationUsage, 'inputTokens' | 'outputTokens'>): number {
  return c.inputTokens + c.outputTokens;
}

export function formatUsd(value: number): string {
  return `$${value < 1 ? value.toFixed(4).replace(/0+$/, '').replace(/\.$/, '.0') : value.toFixed(2)}`;
}

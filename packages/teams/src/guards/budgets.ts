/**
 * Spend caps checked before an agent is invoked or work is dispatched: per conversation (USD and
 * tokens, raised by `continue`), per agent per UTC day and globally per UTC day. Pure.
 */
import { formatUsd, scaled, tokensOf, type ConversationUsage, type GuardRejection } from './rules.ts';
import type { EffectiveBudgets } from '@tinyagi/core';

export interface SpendSnapshot {
  conversation: ConversationUsage;
  /** Spend of the agent about to run, since the start of the UTC day. */
  agentToday?: { agentId: string; costUsd: number };
  globalTodayUsd?: number;
}

/** The first exceeded budget, if any. A budget is exceeded when spend has reached it. */
export function checkBudgets(budgets: EffectiveBudgets, spend: SpendSnapshot): GuardRejection | undefined {
  const c = spend.conversation;
  if (budgets.conversation_usd !== undefined) {
    const limit = scaled(budgets.conversation_usd, c.limitScale);
    if (c.costUsd >= limit) {
      return { rule: 'conversation_usd', limit, actual: c.costUsd, message: `this conversation has spent ${formatUsd(c.costUsd)} of its ${formatUsd(limit)} budget` };
    }
  }
  if (budgets.conversation_tokens !== undefined) {
    const limit = scaled(budgets.conversation_tokens, c.limitScale);
    const used = tokensOf(c);
    if (used >= limit) {
      return { rule: 'conversation_tokens', limit, actual: used, message: `this conversation has used ${used} of its ${limit} tokens` };
    }
  }
  if (budgets.agent_daily_usd !== undefined && spend.agentToday && spend.agentToday.costUsd >= budgets.agent_daily_usd) {
    return {
      rule: 'agent_daily_usd',
      limit: budgets.agent_daily_usd,
      actual: spend.agentToday.costUsd,
      message: `@${spend.agentToday.agentId} has spent ${formatUsd(spend.agentToday.costUsd)} today, its daily budget is ${formatUsd(budgets.agent_daily_usd)}`,
    };
  }
  if (budgets.global_daily_usd !== undefined && spend.globalTodayUsd !== undefined && spend.globalTodayUsd >= budgets.global_daily_usd) {
    return {
      rule: 'global_daily_usd',
      limit: budgets.global_daily_usd,
      actual: spend.globalTodayUsd,
      message: `all agents together have spent ${formatUsd(spend.globalTodayUsd)} today, the daily budget is ${formatUsd(budgets.global_daily_usd)}`,
    };
  }
  return undefined;
}

/** Midnight UTC of the day containing `now`: daily budgets count from here. */
export function startOfUtcDay(now: number): number {
  return now - (now % 86_400_000);
}

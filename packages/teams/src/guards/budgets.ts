/**
 * Spend caps checked before an agent is invoked or work is dispatched: per conversation (USD and
 * tokens, raised by `continue`), per agent per UTC day and globally per UTC day (USD and
 * tokens). Pure.
 */
import { formatUsd, scaled, tokensOf, type ConversationUsage, type GuardRejection } from './limits.ts';
import type { EffectiveBudgets } from '../core-internal.ts';

export interface SpendSnapshot {
  conversation: ConversationUsage;
  /** Spend of the agent about to run, since the start of the UTC day. */
  agentToday?: { agentId: string; costUsd: number; tokens: number };
  globalToday?: { costUsd: number; tokens: number };
}

/** The first exceeded budget, if any. A budget is exceeded when spend has reached it. */
export function checkBudgets(budgets: EffectiveBudgets, spend: SpendSnapshot): GuardRejection | undefined {
  const c = spend.conversation;
  if (budgets.conversation_usd !== undefined) {
    const limit = scaled(budgets.conversation_usd, c.limitScale);
    if (c.costUsd >= limit) {
      return { limitName: 'conversation_usd', limit, actual: c.costUsd, message: `this conversation has spent ${formatUsd(c.costUsd)} of its ${formatUsd(limit)} budget` };
    }
  }
  if (budgets.conversation_tokens !== undefined) {
    const limit = scaled(budgets.conversation_tokens, c.limitScale);
    const used = tokensOf(c);
    if (used >= limit) {
      return { limitName: 'conversation_tokens', limit, actual: used, message: `this conversation has used ${used} of its ${limit} tokens` };
    }
  }
  const agent = spend.agentToday;
  if (agent && budgets.agent_daily_usd !== undefined && agent.costUsd >= budgets.agent_daily_usd) {
    return {
      limitName: 'agent_daily_usd',
      limit: budgets.agent_daily_usd,
      actual: agent.costUsd,
      message: `@${agent.agentId} has spent ${formatUsd(agent.costUsd)} today, its daily budget is ${formatUsd(budgets.agent_daily_usd)}`,
    };
  }
  if (agent && budgets.agent_daily_tokens !== undefined && agent.tokens >= budgets.agent_daily_tokens) {
    return {
      limitName: 'agent_daily_tokens',
      limit: budgets.agent_daily_tokens,
      actual: agent.tokens,
      message: `@${agent.agentId} has used ${agent.tokens} tokens today, its daily budget is ${budgets.agent_daily_tokens}`,
    };
  }
  const global = spend.globalToday;
  if (global && budgets.global_daily_usd !== undefined && global.costUsd >= budgets.global_daily_usd) {
    return {
      limitName: 'global_daily_usd',
      limit: budgets.global_daily_usd,
      actual: global.costUsd,
      message: `all agents together have spent ${formatUsd(global.costUsd)} today, the daily budget is ${formatUsd(budgets.global_daily_usd)}`,
    };
  }
  if (global && budgets.global_daily_tokens !== undefined && global.tokens >= budgets.global_daily_tokens) {
    return {
      limitName: 'global_daily_tokens',
      limit: budgets.global_daily_tokens,
      actual: global.tokens,
      message: `all agents together have used ${global.tokens} tokens today, the daily budget is ${budgets.global_daily_tokens}`,
    };
  }
  return undefined;
}

/** Midnight UTC of the day containing `now`: daily budgets count from here. */
export function startOfUtcDay(now: number): number {
  return now - (now % 86_400_000);
}

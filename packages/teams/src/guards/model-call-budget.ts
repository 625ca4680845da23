/**
 * The budget check of one model call through the model proxy (docs/sandbox.md#the-model-proxy):
 * the caps a run is checked against (budgets.ts), with the call's own spend so far added.
 */
import type { Settings } from '@tinyagi/core';
import { effectiveBudgets, type BudgetQuery, type StoreSet } from '../core-internal.ts';
import { checkBudgets, startOfUtcDay, type SpendSnapshot } from './budgets.ts';

/**
 * The budgets an agent's model call is checked against before it is forwarded: the same caps the
 * orchestrator checks before a run (checkBudgets). The daily sums count each run's metered
 * tokens and their price as its calls end (runs.agentSpend / globalSpend take the larger of
 * metered and reported, tokens and USD each), the conversation's counters what its finished runs
 * reported, to which this invocation's calls so far and their price are added (a run's usage is
 * recorded when it ends).
 */
export async function modelCallBudget(stores: StoreSet, settings: Settings, query: BudgetQuery, now = Date.now()): Promise<string | undefined> {
  const conversation = query.conversationId ? await stores.runs.getConversation(query.conversationId) : undefined;
  const budgets = effectiveBudgets(settings, { ...(conversation?.teamId ? { teamId: conversation.teamId } : {}), agentId: query.agentId });
  // Calls recorded on a run are in the daily sums already; those of no run are not.
  const unrecorded = query.runId === null ? query.inFlight.inputTokens + query.inFlight.outputTokens : 0;
  const unrecordedUsd = query.runId === null ? query.inFlight.costUsd : 0;
  const base = conversation ?? { hops: 0, messageCount: 0, spawnCount: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, limitScale: 1, createdAt: now };
  const spend: SpendSnapshot = {
    conversation: {
      ...base,
      inputTokens: base.inputTokens + query.inFlight.inputTokens,
      outputTokens: base.outputTokens + query.inFlight.outputTokens,
      costUsd: base.costUsd + query.inFlight.costUsd,
    },
  };
  const day = startOfUtcDay(now);
  if (budgets.agent_daily_usd !== undefined || budgets.agent_daily_tokens !== undefined) {
    const recorded = await stores.runs.agentSpend(query.agentId, day);
    spend.agentToday = { agentId: query.agentId, costUsd: recorded.costUsd + unrecordedUsd, tokens: recorded.tokens + unrecorded };
  }
  if (budgets.global_daily_usd !== undefined || budgets.global_daily_tokens !== undefined) {
    const recorded = await stores.runs.globalSpend(day);
    spend.globalToday = { costUsd: recorded.costUsd + unrecordedUsd, tokens: recorded.tokens + unrecorded };
  }
  // A conversation's caps apply to calls of a conversation only.
  if (!conversation) {
    delete budgets.conversation_usd;
    delete budgets.conversation_tokens;
  }
  return checkBudgets(budgets, spend)?.message;
}

/**
 * The plan stage of the pipeline (process-batch.ts): what to do with a claimed batch, decided
 * from values already read — the batch's messages and runs, the conversation, the live settings,
 * the clock and (when a daily budget is configured) today's spend. Pure: no database, no I/O.
 *
 * - nothing open (every run ended between the enqueue and the claim): settle;
 * - the conversation is no longer active: cancel the open runs;
 * - a budget is exhausted: reject the open runs (a conversation budget also stops the conversation);
 * - otherwise invoke: the first open run is the primary (its invocation answers the whole batch),
 *   the others are merged into it, each with the messages its start marks.
 */
import { TERMINAL_RUN_STATUSES, type ConversationRecord, type QueueMessage, type RunRecord, type Settings } from '@tinyagi/core';
import { agentDefaults, effectiveBudgets, ownEntry, sessionKeyFor, type EffectiveBudgets } from '../core-internal.ts';
import { checkBudgets, startOfUtcDay, type SpendSnapshot } from '../guards/budgets.ts';
import type { GuardRejection } from '../guards/limits.ts';

/** One claimed message with the run that answers it. */
export interface BatchPair {
  message: QueueMessage;
  run: RunRecord;
}

/** Today's spend the budgets need, read before planning (`spendToRead` says which). */
export type DailySpend = Pick<SpendSnapshot, 'agentToday' | 'globalToday'>;

export interface PlanInput {
  settings: Settings;
  /** The batch's conversation as read after its runs were ensured. */
  conversation: ConversationRecord;
  /** Every claimed message with its run, in claim order. */
  pairs: readonly BatchPair[];
  /** Today's spend, as far as `spendToRead` asked for it. */
  spend: DailySpend;
  /** The budgets `spendToRead` resolved (resolved here when absent). */
  budgets?: EffectiveBudgets | undefined;
}

export type BatchPlan =
  /** Every run of the batch has ended already: nothing to invoke or write (but the completion). */
  | { action: 'settle'; runs: RunRecord[] }
  /** The conversation is not active: the open runs end cancelled with `error`. */
  | { action: 'cancel'; runs: RunRecord[]; error: string }
  /** A budget is exhausted: the open runs end rejected; `stopConversation` for a conversation budget. */
  | { action: 'reject'; runs: RunRecord[]; rejection: GuardRejection; stopConversation: boolean; primaryRunId: string }
  | InvokePlan;

export interface InvokePlan {
  action: 'invoke';
  agentId: string;
  /** The run whose invocation answers the batch. */
  primary: BatchPair;
  /** Open runs answered together with the primary (collect mode), completed as merged into it. */
  merged: BatchPair[];
  /** Each open run with the message ids its start records (the primary: every claimed message). */
  starts: Array<{ run: RunRecord; messageIds: string[] }>;
  /** The agent's session this invocation continues. */
  sessionKey: string;
  /** A message failed before (also a lost lease): the CLI's session may hold half a turn. */
  retry: boolean;
}

/** The open pairs of a batch (runs not ended yet), in claim order. */
export function openPairs(pairs: readonly BatchPair[]): BatchPair[] {
  return pairs.filter((p) => !TERMINAL_RUN_STATUSES.includes(p.run.status));
}

/**
 * Which daily sums the budgets need (their reads scan today's runs: only paid for when a daily
 * budget is configured). Undefined when the plan will not look at budgets (nothing open, the
 * conversation not active).
 */
export function spendToRead(
  settings: Settings,
  conversation: ConversationRecord,
  pairs: readonly BatchPair[],
  now: number,
): { agentId: string; day: number; agent: boolean; global: boolean; budgets: EffectiveBudgets } | undefined {
  const first = openPairs(pairs)[0];
  if (!first || conversation.status !== 'active') return undefined;
  const agentId = first.message.agentId;
  const budgets = budgetsFor(settings, conversation, agentId);
  return {
    agentId,
    day: startOfUtcDay(now),
    agent: budgets.agent_daily_usd !== undefined || budgets.agent_daily_tokens !== undefined,
    global: budgets.global_daily_usd !== undefined || budgets.global_daily_tokens !== undefined,
    budgets,
  };
}

export function planBatch(input: PlanInput): BatchPlan {
  const { settings, conversation, pairs } = input;
  const open = openPairs(pairs);
  if (open.length === 0) return { action: 'settle', runs: pairs.map((p) => p.run) };
  const primary = open[0]!;
  const agentId = primary.message.agentId;
  const runs = open.map((p) => p.run);
  if (conversation.status !== 'active') return { action: 'cancel', runs, error: `the conversation was ${conversation.status}` };
  const rejection = checkBudgets(input.budgets ?? budgetsFor(settings, conversation, agentId), { conversation, ...input.spend });
  if (rejection) {
    const stopConversation = rejection.limitName === 'conversation_usd' || rejection.limitName === 'conversation_tokens';
    return { action: 'reject', runs, rejection, stopConversation, primaryRunId: primary.run.id };
  }
  const agent = agentDefaults(ownEntry(settings.agents, agentId) ?? {}, settings);
  const allIds = pairs.map((p) => p.message.id);
  return {
    action: 'invoke',
    agentId,
    primary,
    merged: open.slice(1),
    starts: open.map((p) => ({ run: p.run, messageIds: p === primary ? allIds : [p.message.id] })),
    sessionKey: sessionKeyFor(agent.session_mode, { channel: conversation.channel, senderId: conversation.senderId, threadKey: conversation.threadKey }),
    retry: open.some((p) => p.message.lastError !== null),
  };
}

function budgetsFor(settings: Settings, conversation: ConversationRecord, agentId: string): EffectiveBudgets {
  return effectiveBudgets(settings, { ...(conversation.teamId ? { teamId: conversation.teamId } : {}), agentId });
}

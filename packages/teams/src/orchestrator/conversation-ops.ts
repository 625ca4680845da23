/**
 * Conversation-wide operations: completion and how the conversation ended (decided from the
 * database, so it survives restarts), cancelling a run with all its descendants, a message or a
 * whole conversation, and the hard stop. Each reads what it changes and writes inside one
 * transaction body (commit stage); aborting in-process work happens after the commit.
 */
import { clause, TinyError, TERMINAL_RUN_STATUSES, type ConversationRecord, type ConversationStatus, type QueueMessage, type RunRecord } from '@tinyagi/core';
import { effectiveLimits, io, type CancelOutcome, type CompletionState, type StoreTransaction, type TransactionalStores, type TxSteps } from '../core-internal.ts';
import { aggregateKey, aggregateText, noteKey, toHuman } from '../conversations/replies.ts';
import { scaled, type GuardRejection } from '../guards/limits.ts';
import { readMeta } from '../router/provenance.ts';
import { toAbortCause, type AbortCause } from './abort.ts';
import { abortActive, type CancelCtx, type Ctx } from './context.ts';
import { finishRunWithEvent } from './lifecycle.ts';

/**
 * Completes the conversation when nothing is queued or running any more. Idempotent. `known`:
 * where it stands, read in this transaction after it locked the conversation and left unchanged
 * since (the commit stage's, after `finishRun` locked it), so it is not read again.
 */
export function* completeIfDone(tx: StoreTransaction, conversationId: string, known?: CompletionState): TxSteps<boolean> {
  const { runs, events, outbox, queries } = tx.stores;
  // Two nodes ending the last two runs of a conversation at once would each see the other's run
  // still open (neither committed) and neither would complete it: the row lock orders them, and
  // the second reads what the first committed (its counts are a later statement than the lock).
  const conversation = known ? known.conversation : yield* io(runs.getConversation(conversationId, { forUpdate: true }));
  if (!conversation || conversation.finished) return false;
  const state = known ?? (yield* io(queries.completionState(conversationId)));
  if (state.runs === undefined) return false;
  const all = state.runs;
  if (conversation.replyMode === 'aggregate') {
    const text = aggregateText(all);
    if (text !== '') yield* io(outbox.enqueue(toHuman(conversation, { key: aggregateKey(conversationId), text, kind: 'aggregate' })));
  }
  const { status, reason } = settledStatus(conversation, all);
  const patch = { status, stopReason: reason, finished: true };
  // Known: the batch's commit, whose finish locked the row and which reads it no more: the update rides on its last statement.
  yield* io(known ? runs.updateConversationAtCommit(conversationId, patch) : runs.updateConversation(conversationId, patch));
  yield* io(
    events.append({
      type: 'conversation.completed',
      conversationId,
      agentId: conversation.rootAgentId,
      data: {
        status,
        ...(reason !== null ? { reason } : {}),
        replyMode: conversation.replyMode,
        hops: conversation.hops,
        messages: conversation.messageCount,
        spawns: conversation.spawnCount,
        inputTokens: conversation.inputTokens,
        outputTokens: conversation.outputTokens,
        costUsd: conversation.costUsd,
      },
    }),
  );
  return true;
}

/**
 * How a conversation with nothing left to do ended. A status set on purpose (stopped by a limit
 * or the human, cancelled) stays. Otherwise a message that failed for good (its run `failed`,
 * and not retried since; sub-agent failures are answered to their parent, so they do not
 * count) fails the conversation, and one whose every run was cancelled, none completed, is
 * `cancelled`.
 */
export function settledStatus(conversation: ConversationRecord, runs: readonly RunRecord[]): { status: ConversationStatus; reason: string | null } {
  if (conversation.status !== 'active') return { status: conversation.status, reason: conversation.stopReason };
  const answering = runs.filter((r) => r.cause !== 'spawn');
  // A dead letter retried by hand gets a new run for the same message: the failed one is superseded.
  const retried = new Set(answering.filter((r) => r.status !== 'failed').flatMap((r) => r.messageIds));
  const failed = answering.find((r) => r.status === 'failed' && !r.messageIds.every((id) => retried.has(id)));
  if (failed) return { status: 'failed', reason: `@${failed.agentId} failed: ${failed.error ?? 'unknown error'}` };
  const cancelled = answering.find((r) => r.status === 'cancelled');
  if (cancelled && !answering.some((r) => r.status === 'completed')) return { status: 'cancelled', reason: cancelled.error ?? 'cancelled' };
  return { status: 'completed', reason: null };
}

/**
 * Cancels the given open runs (finishing each with `run.cancelled`), their queued messages, and
 * schedules the abort of those executing in this process. Runs must be ordered children first.
 */
export function* cancelRuns(ctx: CancelCtx, tx: StoreTransaction, targets: readonly RunRecord[], reason: string, cause: AbortCause): TxSteps<string[]> {
  const cancelled: string[] = [];
  const { queue, queries } = tx.stores;
  const targetIds = new Set(targets.map((r) => r.id));
  for (const run of targets) {
    if (TERMINAL_RUN_STATUSES.includes(run.status)) continue;
    if (yield* finishRunWithEvent(ctx, tx, run, { status: 'cancelled', error: reason, data: { reason: cause } })) cancelled.push(run.id);
    for (const messageId of run.messageIds) {
      const status = yield* io(queries.messageStatus(messageId));
      if (status === 'pending') yield* io(queue.cancel(messageId, reason));
      if (status !== 'processing') continue;
      // A message held by an invocation in this process is cancelled in the queue only when
      // that invocation (its batch: one conversation's messages) is cancelled; otherwise it
      // completes with its batch (its run has ended already). Held elsewhere: ask that worker to stop.
      const holder = [...ctx.active.values()].find((a) => a.messageIds.includes(messageId));
      if (!holder || targetIds.has(holder.runId)) yield* io(queue.cancel(messageId, reason));
    }
    // Looked up once committed, not now: the handler may start the run (its start returns it
    // running) and register it while this transaction is open (on PostgreSQL), or register it
    // after this commit. At the commit (in-process state, before SQLite's fsync) a run not
    // registered yet is marked in `cancelledHeld`, and its handler does not invoke it; one
    // registered is aborted once the commit is durable.
    tx.onCommit(() => {
      if (ctx.active.has(run.id)) return;
      for (const id of run.messageIds) if (ctx.worker?.batchOf(id)) ctx.cancelledHeld.set(id, cause);
    });
    tx.afterCommit(() => {
      const active = ctx.active.get(run.id);
      if (active) abortActive(ctx, active, cause);
    });
  }
  return cancelled;
}

/**
 * Several nodes: `run.cancelled` from another node for a run executing here. Its node committed
 * the cancel (and asked the queue to stop the message); this aborts the invocation as the
 * cancel's own `afterCommit` does in the process that runs it. Nothing for runs not active here.
 */
export function stopCancelledElsewhere(ctx: Pick<Ctx, 'active' | 'worker'>, runId: string | null | undefined, reason: string | undefined): void {
  const active = runId ? ctx.active.get(runId) : undefined;
  if (active && !active.controller.signal.aborted) abortActive(ctx, active, toAbortCause(reason));
}

/** Cancels a run and every descendant (children first), in one transaction. */
export async function cancelRunTree(ctx: CancelCtx & Pick<Ctx, 'stores'>, runId: string, reason: string, cause: AbortCause = 'cancelled'): Promise<string[]> {
  return ctx.stores.transaction(function* cancelRunTree(tx) {
    return yield* cancelTree(ctx, tx, runId, reason, cause);
  });
}

function* cancelTree(ctx: CancelCtx, tx: StoreTransaction, runId: string, reason: string, cause: AbortCause): TxSteps<string[]> {
  const root = yield* io(tx.stores.runs.getRun(runId));
  if (!root) throw new TinyError('RUN_NOT_FOUND', `No run with id ${runId}.`, { hint: 'List runs of a conversation with GET /api/conversations/:id.' });
  const descendants = (yield* io(tx.stores.runs.descendants(runId))).reverse();
  const cancelled = yield* cancelRuns(ctx, tx, [...descendants, root], reason, cause);
  if (cause === 'cancelled' && cancelled.length > 0) yield* cancelledIfLast(tx, root.conversationId, reason);
  yield* completeIfDone(tx, root.conversationId);
  return cancelled;
}

/**
 * A person cancelled what was left of the conversation (its last open run): it ends `cancelled`
 * with the cancel's reason (which names who asked), not `completed` because an earlier run of it
 * had answered. A failure found by `settledStatus` still wins: it is what needs a look.
 */
function* cancelledIfLast(tx: StoreTransaction, conversationId: string, reason: string): TxSteps<void> {
  const { runs, queries } = tx.stores;
  const conversation = yield* io(runs.getConversation(conversationId, { forUpdate: true }));
  if (!conversation || conversation.finished || conversation.status !== 'active') return;
  if ((yield* io(runs.openRunCount(conversationId))) > 0 || (yield* io(queries.unfinishedMessages(conversationId))) > 0) return;
  if (settledStatus(conversation, yield* io(runs.listRuns(conversationId))).status !== 'completed') return;
  yield* io(runs.updateConversation(conversationId, { status: 'cancelled', stopReason: reason }));
}

/** The run that answers a message: the one it started, else the one that consumed it. */
export function* runOfMessage(stores: TransactionalStores, message: QueueMessage): TxSteps<RunRecord | undefined> {
  const id = readMeta(message)?.runId;
  const started = id ? yield* io(stores.runs.getRun(id)) : undefined;
  if (started && started.status !== 'failed') return started;
  return (yield* io(stores.runs.listRuns(message.conversationId))).findLast((r) => r.messageIds.includes(message.id)) ?? started;
}

/** How long a cancel waits for an in-process invocation to end (its process group is killed). */
const CANCEL_SETTLE_MS = 10_000;

/**
 * Cancels a queued or running message: its run and every descendant end `cancelled` at once,
 * an invocation running here is aborted (process group killed) and awaited, and the
 * conversation settles. A message held by another process is asked to stop (that worker sees
 * it at its next lease renewal).
 */
export async function cancelMessage(ctx: CancelCtx & Pick<Ctx, 'stores'>, messageId: string, reason: string): Promise<CancelOutcome> {
  let aborting: AbortedHere = { active: [], claimed: [] };
  const refused = await ctx.stores.transaction(function* cancelMessage(tx): TxSteps<CancelOutcome | undefined> {
    const message = yield* io(tx.stores.queue.get(messageId));
    if (!message) throw new TinyError('MESSAGE_NOT_FOUND', `No message with id ${messageId}.`, { hint: 'List the queue with `tinyagi queue status`.' });
    if (message.status !== 'pending' && message.status !== 'processing') return { id: messageId, state: 'not_cancellable', status: message.status };
    const run = yield* runOfMessage(tx.stores, message);
    aborting = run ? abortedHere(ctx, [run]) : { active: [], claimed: [] };
    if (run && !TERMINAL_RUN_STATUSES.includes(run.status)) yield* cancelTree(ctx, tx, run.id, reason, 'cancelled');
    else {
      yield* io(tx.stores.queue.cancel(messageId, reason));
      yield* completeIfDone(tx, message.conversationId);
    }
    return undefined;
  });
  if (refused) return refused;
  await settleInProcess(ctx, aborting);
  const status = (await ctx.stores.queue.get(messageId))?.status ?? 'cancelled';
  return { id: messageId, state: status === 'cancelled' ? 'cancelled' : status === 'processing' ? 'cancelling' : 'not_cancellable', status };
}

export interface CancelConversationResult {
  conversationId: string;
  status: ConversationStatus;
  /** It had ended before (completed, failed, stopped or cancelled): nothing was changed. */
  alreadyEnded: boolean;
  /** The runs this cancel ended. */
  cancelled: string[];
}

/**
 * The human cancels a whole conversation: it ends `cancelled` with the reason, every open run
 * (and its queued or running messages) is cancelled, and running invocations here are awaited.
 * A conversation that has already ended is left as it is.
 */
export async function cancelConversation(ctx: CancelCtx & Pick<Ctx, 'stores'>, conversationId: string, reason: string): Promise<CancelConversationResult> {
  let aborting: AbortedHere = { active: [], claimed: [] };
  let alreadyEnded = false;
  const cancelled = await ctx.stores.transaction(function* cancelConversation(tx) {
    const { runs, queries, queue } = tx.stores;
    const conversation = yield* io(runs.mustGetConversation(conversationId));
    alreadyEnded = conversation.finished;
    if (alreadyEnded) return [];
    yield* io(runs.updateConversation(conversationId, { status: 'cancelled', stopReason: reason }));
    const open = yield* openRunsOf(tx.stores, conversationId);
    aborting = abortedHere(ctx, open);
    const ids = yield* cancelRuns(ctx, tx, open, reason, 'cancelled');
    // Queued messages no open run accounts for (enqueued by another component) go too.
    for (const id of yield* io(queries.pendingMessagesOf(conversationId))) yield* io(queue.cancel(id, reason));
    yield* completeIfDone(tx, conversationId);
    return ids;
  });
  await settleInProcess(ctx, aborting);
  return { conversationId, status: (await ctx.stores.runs.mustGetConversation(conversationId)).status, alreadyEnded, cancelled };
}

/** The open runs of a conversation, as records. */
function* openRunsOf(stores: TransactionalStores, conversationId: string): TxSteps<RunRecord[]> {
  const out: RunRecord[] = [];
  for (const open of yield* io(stores.queries.openRunsOf(conversationId))) {
    const run = yield* io(stores.runs.getRun(open.id));
    if (run) out.push(run);
  }
  return out;
}

/**
 * The messages whose invocation in this process cancelling these runs aborts, and which the
 * worker then settles as cancelled: the batch of each run executing here (see `cancelRuns`).
 */
function abortedHere(ctx: Pick<Ctx, 'active'>, runs: readonly RunRecord[]): AbortedHere {
  return { active: runs.flatMap((run) => ctx.active.get(run.id)?.messageIds ?? []), claimed: runs.flatMap((run) => (ctx.active.has(run.id) ? [] : run.messageIds)) };
}

/**
 * What a cancel waits for: the messages of the cancelled runs executing here (`active`), and
 * those of runs not started yet (`claimed`), which may be held by a batch this process claimed
 * whose handler has not registered its run (on PostgreSQL the claim and the run's start take
 * round trips): when every message of that batch is cancelled, the handler sees its runs ended,
 * does not invoke and has the worker settle the batch as cancelled (process-batch.ts).
 */
interface AbortedHere {
  active: string[];
  claimed: string[];
}

/** Waits (bounded) until the worker has settled the given messages its aborted invocations held. */
async function settleInProcess(ctx: Pick<Ctx, 'worker'>, aborting: AbortedHere): Promise<void> {
  const worker = ctx.worker;
  if (!worker || aborting.active.length + aborting.claimed.length === 0) return;
  const messageIds = [...aborting.active];
  if (aborting.claimed.length > 0) {
    await worker.whenClaimed();
    const cancelled = new Set(aborting.claimed);
    for (const id of aborting.claimed) if (worker.batchOf(id)?.every((m) => cancelled.has(m))) messageIds.push(id);
  }
  if (messageIds.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(messageIds.map((id) => worker.settled(id))), new Promise<void>((resolve) => (timer = setTimeout(resolve, CANCEL_SETTLE_MS)))]);
  clearTimeout(timer);
}

/**
 * Hard stop: nothing more is dispatched in the conversation, its outstanding runs are cancelled,
 * and the human is told why (with the `continue` / `stop` choice when a limit caused it).
 */
export function* stopConversation(ctx: CancelCtx, tx: StoreTransaction, conversationId: string, why: { rejection?: GuardRejection; byHuman?: boolean; runId?: string | null }): TxSteps<string[]> {
  const { runs, events, outbox } = tx.stores;
  const conversation = yield* io(runs.mustGetConversation(conversationId));
  const reason = why.byHuman ? 'stopped by the user' : `stopped: ${why.rejection?.message ?? 'a limit was reached'}`;
  yield* io(runs.updateConversation(conversationId, { status: 'stopped', stopReason: reason, awaitingDecision: !why.byHuman }));
  if (why.rejection) {
    const budget = why.rejection.limitName.endsWith('_usd') || why.rejection.limitName.endsWith('_tokens');
    yield* io(
      events.append({
        type: budget ? 'budget.exceeded' : 'guard.rejected',
        conversationId,
        agentId: conversation.rootAgentId,
        ...(why.runId ? { runId: why.runId } : {}),
        data: { limitName: why.rejection.limitName, limit: why.rejection.limit, actual: why.rejection.actual, message: why.rejection.message, action: 'stop' },
      }),
    );
  }
  const open = yield* openRunsOf(tx.stores, conversationId);
  const cancelled = yield* cancelRuns(ctx, tx, open, reason, why.byHuman ? 'cancelled' : 'budget');
  const text = why.byHuman
    ? `Stopped. ${cancelled.length} outstanding run${cancelled.length === 1 ? '' : 's'} cancelled.`
    : `I stopped this conversation: ${clause(why.rejection?.message ?? 'a limit was reached')}. ${cancelled.length} outstanding run${cancelled.length === 1 ? ' was' : 's were'} cancelled. Reply \`continue\` to raise the limit and resume, or \`stop\` to end it.`;
  yield* io(outbox.enqueue(toHuman(conversation, { key: noteKey(conversationId, `stop:${why.runId ?? `human:${Date.now()}`}`), text, kind: 'note', runId: why.runId ?? null })));
  yield* completeIfDone(tx, conversationId);
  return cancelled;
}

/**
 * The conversation wall clock (`limits.conversation_timeout_s`, scaled by `continue`): an
 * active conversation past it is stopped like any hard limit — its running and queued work is
 * cancelled and the human is told (they may `continue`). Dispatch and spawn admission refuse new
 * work past the limit; this catches work that was already running or queued. Returns the ids
 * of the conversations it stopped.
 */
export async function stopOverdueConversations(ctx: CancelCtx & Pick<Ctx, 'stores' | 'getSettings'>, now = Date.now(), batch = 500): Promise<string[]> {
  const settings = ctx.getSettings();
  // No conversation can be overdue before the shortest timeout of any scope has passed.
  const shortest = Math.min(effectiveLimits(settings, {}).conversation_timeout_s, ...Object.keys(settings.teams ?? {}).map((teamId) => effectiveLimits(settings, { teamId }).conversation_timeout_s));
  const stopped: string[] = [];
  const overdue = (conversation: ConversationRecord | undefined): GuardRejection | undefined => {
    if (conversation?.status !== 'active') return undefined;
    const limitS = scaled(effectiveLimits(settings, conversation.teamId ? { teamId: conversation.teamId } : {}).conversation_timeout_s, conversation.limitScale);
    const ageS = (now - conversation.createdAt) / 1000;
    if (ageS < limitS) return undefined;
    return { limitName: 'conversation_timeout', limit: limitS, actual: Math.round(ageS), message: `time limit reached: the conversation has run for ${Math.round(ageS)} s, its limit is ${limitS} s` };
  };
  for (const id of await ctx.stores.queries.activeStartedBefore(now - shortest * 1000, batch)) {
    if (!overdue(await ctx.stores.runs.getConversation(id))) continue;
    const stoppedNow = await ctx.stores.transaction(function* stopOverdue(tx) {
      // Checked again inside the transaction: it may have ended or been continued since.
      const rejection = overdue(yield* io(tx.stores.runs.getConversation(id)));
      if (!rejection) return false;
      yield* stopConversation(ctx, tx, id, { rejection });
      return true;
    });
    if (stoppedNow) stopped.push(id);
  }
  return stopped;
}

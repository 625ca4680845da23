/**
 * The queue handler: the pipeline of spec 20-teams.md, one claimed batch through stages with
 * data between them.
 *
 *   claim    the queue worker claims a batch: one agent's pending messages of one conversation
 *            (collect mode: a burst merged into one turn; sequential: one message) -> ClaimedBatch
 *   prepare  (reads, and writes when missing) the conversation and a run per message -> BatchPair[]
 *   plan     (pure, plan.ts) settle, cancel, reject (budgets) or invoke -> BatchPlan
 *   start    (a grouped write) the runs start: `run.started`, observers' `runStarted`
 *   invoke   (no transaction open; invoke-turns.ts) incoming plugins, prompt, the agent's turns,
 *            progress to the observers -> TurnsResult
 *   route    (pure, route.ts `routeAnswer`, after the answer's files are checked) tags, routes,
 *            notes -> Routed; then the outgoing plugins -> RoutedAnswer
 *   commit   (a transaction body, run-effects.ts) run records, history, handoffs with their runs,
 *            replies as outbox rows, the conversation's completion — applied by the queue in the
 *            same transaction as the completion of the claimed messages (synchronously on
 *            SQLite, awaited on the transaction's client on PostgreSQL)
 *   publish  (after that commit) this process's state follows (notes, steering) and the
 *            observers hear `committed`; the outbox worker delivers the replies
 *
 * The batch is answered by one invocation, whose run is the first open message's run (the
 * others are completed as merged into it). Each stage takes the part of the context it uses.
 */
import {
  newId,
  TERMINAL_RUN_STATUSES,
  TinyError,
  type ClaimedBatch,
  type ConversationRecord,
  type HandlerContext,
  type HandlerResult,
  type MessageKind,
  type QueueMessage,
  type RunCause,
  type RunRecord,
  type Settings,
} from '@tinyagi/core';
import { effectiveLimits, io, runBody, type StoreTransaction, type TxBody, type TxSteps } from '../core-internal.ts';
import { readMeta } from '../router/provenance.ts';
import { confinedByOf } from '../guards/confinement.ts';
import { spawnForTool } from '../subagents/spawner.ts';
import { abortCause, linkedController } from './abort.ts';
import { abortActive, type ActiveRun, type CancelCtx, type Ctx, type DeclaredActions, type WriteCtx } from './context.ts';
import { cancelRunTree, completeIfDone, stopConversation } from './conversation-ops.ts';
import { applyOutgoing, checkAnswerFiles, readAnswer, routeAnswer, type RoutedAnswer } from './route.ts';
import { closeMerged, createRunWithEvent, finishRunWithEvent, markStarted, notifyAttemptFailed, recordAttemptSpend } from './lifecycle.ts';
import { applyPluginHooks, type PluginCtx } from './plugins.ts';
import { runAgentTurns, type TurnsResult } from './invoke-turns.ts';
import { planBatch, spendToRead, type BatchPair, type BatchPlan, type DailySpend, type InvokePlan, type PlanInput } from './plan.ts';
import { composeRunPrompt } from './prompt.ts';
import { memoryForTurn } from './memory-recall.ts';
import { commitRunEffects, rejectRunsEffects, type RunOutcome } from './run-effects.ts';

/** What the stages before the commit leave for it and for publish. */
interface Staged {
  /** The commit stage (undefined: nothing to write but the completion). */
  commit: TxBody<void> | undefined;
  /** The run the batch answered (the primary), once known. */
  runId: string | undefined;
  /** The primary run was invoked and its answer commits: its steering state goes after the commit. */
  answered: boolean;
}

export async function handleBatch(ctx: Ctx, batch: ClaimedBatch, handler: HandlerContext): Promise<HandlerResult> {
  const conversationId = batch.messages[0]!.conversationId;
  if (batch.messages.some((m) => m.conversationId !== conversationId)) {
    // The queue's claim never mixes conversations: one conversation's answer (and failure) must
    // not wait for, or be shared with, another's.
    throw new TinyError('INVALID_STATE', `A claimed batch of @${batch.agentId} holds several conversations; the queue store must claim one conversation per batch.`);
  }
  let staged: Staged;
  try {
    staged = await processGroup(ctx, batch.messages, handler.signal);
  } finally {
    for (const m of batch.messages) ctx.cancelledHeld.delete(m.id);
  }
  const { commit } = staged;
  return {
    effects: (tx) =>
      runBody(function* commitBatch(t: StoreTransaction) {
        if (commit) yield* commit(t);
        yield* completeIfDone(t, conversationId);
        publish(ctx, t, batch, staged);
      }, tx),
  };
}

/**
 * publish: what follows the commit of a batch. A run that was answered takes no more steering
 * (its saved state goes), and the observers hear `committed`. The replies are outbox rows of the
 * commit: the outbox worker delivers them.
 */
function publish(ctx: Pick<Ctx, 'observers' | 'steering'>, tx: StoreTransaction, batch: ClaimedBatch, staged: Staged): void {
  const { observers, steering } = ctx;
  const { runId } = staged;
  if (staged.answered && runId !== undefined) tx.onCommit(() => steering.forget(runId));
  if (observers.listening('committed')) {
    const event = { agentId: batch.agentId, conversationId: batch.messages[0]!.conversationId, runId, messageIds: batch.messages.map((m) => m.id) };
    tx.onCommit(() => observers.notify('committed', event));
  }
}

/**
 * Every run of a claimed batch was cancelled between the claim and now (before this process
 * registered it, so the cancel could not abort it): the worker is told to settle the batch as
 * cancelled, which is what the cancel waits for (conversation-ops.ts `settleInProcess`), rather
 * than completing it. Returns whether it did.
 */
function settleIfCancelled(ctx: Pick<Ctx, 'worker'>, messages: readonly QueueMessage[], runs: readonly RunRecord[]): boolean {
  return runs.length > 0 && runs.every((r) => r.status === 'cancelled') && ctx.worker?.abortMessage(messages[0]!.id) === true;
}

const CAUSE_BY_KIND: Record<MessageKind, RunCause> = {
  user: 'user',
  teammate: 'mention',
  subagent: 'spawn',
  chatroom: 'chatroom',
  heartbeat: 'heartbeat',
  schedule: 'schedule',
  system: 'system',
  job: 'system',
};

export function causeOfKind(kind: MessageKind): RunCause {
  return CAUSE_BY_KIND[kind];
}

/** prepare, plan, then (for an invoking plan) start, invoke and route; returns what the commit and publish stages need. */
async function processGroup(ctx: Ctx, messages: QueueMessage[], flightSignal: AbortSignal): Promise<Staged> {
  const settings = ctx.getSettings();
  const { conversation, pairs } = await prepare(ctx, messages);
  const plan = planBatch({ settings, conversation, pairs, ...(await readSpend(ctx, settings, conversation, pairs)) });
  switch (plan.action) {
    case 'settle':
      settleIfCancelled(ctx, messages, plan.runs);
      return { commit: undefined, runId: undefined, answered: false };
    case 'cancel':
      return {
        commit: function* cancelInactive(tx) {
          for (const run of plan.runs) yield* finishRunWithEvent(ctx, tx, run, { status: 'cancelled', error: plan.error });
        },
        runId: plan.runs[0]!.id,
        answered: false,
      };
    case 'reject':
      return { commit: rejectStage(ctx, conversation, plan), runId: plan.primaryRunId, answered: false };
    case 'invoke':
      return runPlan(ctx, plan, conversation, messages, flightSignal);
  }
}

/** prepare: the conversation (created when a message came without one) and each message's run, then the conversation as it is now. */
async function prepare(ctx: WriteCtx & Pick<Ctx, 'stores'>, messages: readonly QueueMessage[]): Promise<{ conversation: ConversationRecord; pairs: BatchPair[] }> {
  const created = await ensureConversation(ctx, messages[0]!);
  const pairs: BatchPair[] = [];
  for (const message of messages) pairs.push({ message, run: await ensureRun(ctx, message, created) });
  return { conversation: await ctx.stores.runs.mustGetConversation(created.id), pairs };
}

/** The daily sums the budgets need (`spendToRead`), read for the plan. */
async function readSpend(ctx: Pick<Ctx, 'stores'>, settings: Settings, conversation: ConversationRecord, pairs: readonly BatchPair[]): Promise<Pick<PlanInput, 'spend' | 'budgets'>> {
  const wanted = spendToRead(settings, conversation, pairs, Date.now());
  if (!wanted) return { spend: {} };
  const { runs } = ctx.stores;
  const spend: DailySpend = {};
  if (wanted.agent) spend.agentToday = { agentId: wanted.agentId, ...(await runs.agentSpend(wanted.agentId, wanted.day)) };
  if (wanted.global) spend.globalToday = await runs.globalSpend(wanted.day);
  return { spend, budgets: wanted.budgets };
}

/** The commit of a plan refused by a budget: the runs end rejected, the human is told; a conversation budget stops the conversation. */
function rejectStage(ctx: CancelCtx, conversation: ConversationRecord, plan: Extract<BatchPlan, { action: 'reject' }>): TxBody<void> {
  return function* rejectOverBudget(tx) {
    yield* rejectRunsEffects(ctx, tx, conversation, plan.runs, plan.rejection);
    if (plan.stopConversation) yield* stopConversation(ctx, tx, conversation.id, { rejection: plan.rejection, runId: plan.primaryRunId });
  };
}

/** start, invoke, route for an invoking plan; returns the commit stage. */
async function runPlan(ctx: Ctx, plan: InvokePlan, conversation: ConversationRecord, messages: readonly QueueMessage[], flightSignal: AbortSignal): Promise<Staged> {
  const { runs } = ctx.stores;
  const { primary } = plan;
  const open = [primary, ...plan.merged];
  const mergedRuns = plan.merged.map((p) => p.run);
  await start(ctx, plan);
  // Several nodes: a command sent to another node while the run was queued waits in the store
  // (steering/steering.ts `applyQueued`); read after the start's commit, so none slips between.
  if (ctx.node !== undefined) await ctx.steering.adopt(primary.run.id);
  const run = await runs.mustGetRun(primary.run.id);
  /** The primary run ended without an answer: the runs merged into it end with it. */
  const closeMergedBody: TxBody<void> = (tx) => closeMerged(ctx, tx, mergedRuns, run.id);
  const unanswered = (commit: TxBody<void> | undefined): Staged => ({ commit, runId: run.id, answered: false });
  if (TERMINAL_RUN_STATUSES.includes(run.status)) {
    // Cancelled (or stopped) between the claim and now, before this process could abort it:
    // not invoked. Every run of the batch cancelled: settled as cancelled; otherwise the claimed
    // messages complete, closing the runs merged into this one.
    if (settleIfCancelled(ctx, messages, await Promise.all(open.map((p) => runs.mustGetRun(p.run.id))))) return unanswered(undefined);
    return unanswered(closeMergedBody);
  }
  // Nothing awaits between the read above and this registration: a cancel commits before the
  // read (seen there), after the registration (and aborts the invocation), or, on PostgreSQL,
  // in between (the read's answer arrived after the commit): `cancelledHeld` below.
  const controller = linkedController(flightSignal);
  const active: ActiveRun = {
    runId: run.id,
    agentId: plan.agentId,
    conversationId: conversation.id,
    startedAt: Date.now(),
    controller,
    messageIds: open.map((p) => p.message.id),
    spawned: false,
    parentRunId: run.parentRunId,
  };
  ctx.active.set(run.id, active);
  // Cancelled after the read above but before this registration (the read's answer came after
  // the cancel's commit): abort as the cancel would have (the invocation then ends at once).
  const cancelledMeanwhile = ctx.cancelledHeld.get(primary.message.id);
  if (cancelledMeanwhile) abortActive(ctx, active, cancelledMeanwhile);
  try {
    const result = await invoke(ctx, plan, run, controller.signal);
    const outcome: RunOutcome = { run, merged: mergedRuns, messages: open.map((p) => p.message), conversationId: conversation.id, sessionKey: plan.sessionKey, result };
    const routed = await route(ctx, outcome, active.declared);
    return { commit: (tx) => commitRunEffects(ctx, tx, outcome, routed), runId: run.id, answered: true };
  } catch (err) {
    await recordAttemptSpend(ctx, run, err);
    // The message's cancel was requested from another process (seen at lease renewal): the
    // run tree ends here like a cancel in this process would end it.
    let cancelled: QueueMessage | undefined;
    if (abortCause(controller.signal) === 'cancelled') {
      for (const p of open) {
        const m = await ctx.stores.queue.get(p.message.id);
        if (m?.cancelRequested) {
          cancelled = m;
          break;
        }
      }
    }
    if (cancelled && !TERMINAL_RUN_STATUSES.includes((await runs.mustGetRun(run.id)).status)) {
      await cancelRunTree(ctx, run.id, cancelled.lastError ?? 'cancelled by request');
    }
    // Cancelled or stopped while running: the run already has its terminal event; the claimed
    // messages complete (or are finished as cancelled by the worker) without further effects.
    if (abortCause(controller.signal) && TERMINAL_RUN_STATUSES.includes((await runs.mustGetRun(run.id)).status)) {
      ctx.steering.forget(run.id);
      return unanswered(closeMergedBody);
    }
    // The attempt failed and the queue may retry it: keep the steering for the next attempt.
    ctx.steering.endAttempt(run.id);
    notifyAttemptFailed(ctx.observers, run, err);
    throw err;
  } finally {
    ctx.active.delete(run.id);
  }
}

/** start: the batch's runs go running, with the runs of other batches claimed in the same turn (one commit, `durable: false`). */
function start(ctx: Pick<Ctx, 'startWrites' | 'observers' | 'node'>, plan: InvokePlan): Promise<void> {
  return ctx.startWrites.add(function* startBatch(tx) {
    for (const { run, messageIds } of plan.starts) yield* markStarted(ctx, tx, run, messageIds);
  });
}

/** invoke: the incoming plugins, the prompt (with what memory recalls and the notes held for the agent's session), the agent's turns. */
async function invoke(ctx: Ctx, plan: InvokePlan, run: RunRecord, signal: AbortSignal): Promise<TurnsResult> {
  const parts = await Promise.all(
    [plan.primary, ...plan.merged].map(async (p) => ({
      text: await transformIncoming(ctx, p.message, p.run),
      from: readMeta(p.message)?.from ?? null,
    })),
  );
  const memory = await memoryForTurn(ctx, run, parts.map((p) => p.text).join('\n'));
  return runAgentTurns(ctx, {
    run,
    prompt: composeRunPrompt(parts, ctx.notes.take(plan.agentId, plan.sessionKey), memory),
    sessionKey: plan.sessionKey,
    teamId: plan.primary.message.teamId,
    signal,
    retry: plan.retry,
    workdir: readMeta(plan.primary.message)?.workdir,
    confinedBy: confinedByOf([plan.primary, ...plan.merged].map((p) => p.message)),
    spawnAgent: (args) => spawnForTool(ctx, run.id, args),
  });
}

/** route: the answer's files checked (the filesystem), `routeAnswer` (pure), then the outgoing plugins. */
async function route(ctx: Pick<Ctx, 'getSettings' | 'env' | 'filesDir' | 'plugins' | 'pluginTimeoutMs' | 'stores'>, outcome: RunOutcome, declared: DeclaredActions | undefined): Promise<RoutedAnswer> {
  const { run, result } = outcome;
  const settings = ctx.getSettings();
  const readable = readAnswer(run, result.text);
  const files = checkAnswerFiles(ctx, settings, run, [...readable.files, ...(declared?.files ?? [])]);
  return applyOutgoing(ctx, run, routeAnswer({ run, messages: outcome.messages, settings, answer: result.text, declared, readable, files }));
}

async function transformIncoming(ctx: PluginCtx, message: QueueMessage, run: RunRecord): Promise<string> {
  const text = message.attachments.length > 0 ? `${message.content}\n\n[Attached files: ${message.attachments.join(', ')}]` : message.content;
  if (message.kind === 'teammate' || message.kind === 'chatroom') return text;
  return applyPluginHooks(ctx, 'transformIncoming', text, { agentId: message.agentId, conversationId: message.conversationId, runId: run.id, channel: message.channel, sender: message.sender });
}

/** A message enqueued without a conversation (by another component) gets one. */
async function ensureConversation(ctx: Pick<Ctx, 'stores'>, message: QueueMessage): Promise<ConversationRecord> {
  const existing = await ctx.stores.runs.getConversation(message.conversationId);
  if (existing) return existing;
  return ctx.stores.transaction(function* createConversation(tx) {
    const conversation = yield* io(
      tx.stores.runs.createConversation({
        id: message.conversationId,
        teamId: message.teamId,
        rootAgentId: message.agentId,
        channel: message.channel,
        sender: message.sender,
        senderId: message.senderId,
        threadKey: message.threadKey,
        title: message.content.slice(0, 120),
      }),
    );
    yield* io(
      tx.stores.events.append({
        type: 'conversation.started',
        conversationId: conversation.id,
        agentId: message.agentId,
        data: { channel: message.channel, sender: message.sender, teamId: message.teamId },
      }),
    );
    return conversation;
  });
}

/**
 * The run a message starts (created with the message). A message without one, or whose run
 * failed (a dead letter retried by hand), gets a new run, re-opening a finished conversation.
 */
async function ensureRun(ctx: WriteCtx & Pick<Ctx, 'stores'>, message: QueueMessage, conversation: ConversationRecord): Promise<RunRecord> {
  const meta = readMeta(message);
  const existing = meta ? await ctx.stores.runs.getRun(meta.runId) : undefined;
  if (existing && existing.status !== 'failed') return existing;
  const settings = ctx.getSettings();
  const run = await ctx.stores.transaction(function* createRun(tx): TxSteps<RunRecord> {
    if (conversation.finished) {
      yield* io(tx.stores.runs.updateConversation(conversation.id, { status: 'active', stopReason: null, finished: false }));
    }
    const created = yield* createRunWithEvent(ctx, tx, {
      id: newId('run'),
      conversationId: conversation.id,
      parentRunId: existing?.parentRunId ?? message.parentRunId,
      depth: 0,
      maxDepth: effectiveLimits(settings, message.teamId ? { teamId: message.teamId, agentId: message.agentId } : { agentId: message.agentId }).max_depth,
      agentId: message.agentId,
      teamId: message.teamId,
      channel: message.channel,
      cause: causeOfKind(message.kind),
      messageIds: [message.id],
      input: readMeta(message)?.body ?? message.content,
    });
    // The message now answers to this run: its failure or dead-letter events name it.
    yield* io(tx.stores.queue.assignRun(message.id, created.id));
    return created;
  });
  // Set after the commit: a rolled-back reopening leaves the record as it was.
  conversation.finished = false;
  return run;
}

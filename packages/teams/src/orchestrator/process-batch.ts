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
import {
  agentDefaults,
  effectiveLimits,
  io,
  ownEntry,
  runBody,
  sessionKeyFor,
  type AgentSessionRecord,
  type CompletionState,
  type RunSteeringState,
  type StoreTransaction,
  type TxBody,
  type TxSteps,
} from '../core-internal.ts';
import { readMeta } from '../router/provenance.ts';
import { callersOf, confinedByOf } from '../guards/confinement.ts';
import { spawnForTool } from '../subagents/spawner.ts';
import { abortCause, linkedController } from './abort.ts';
import type { ActiveRun, CancelCtx, Ctx, DeclaredActions, WriteCtx } from './context.ts';
import { cancelRunTree, completeIfDone, stopConversation } from './conversation-ops.ts';
import { applyOutgoing, checkAnswerFiles, readAnswer, routeAnswer, type RoutedAnswer } from './route.ts';
import { closeMerged, createRunWithEvent, finishRunWithEvent, notifyAttemptFailed, recordAttemptSpend, recordStarted } from './lifecycle.ts';
import { applyPluginHooks, type PluginCtx } from './plugins.ts';
import { runAgentTurns, type TurnsResult } from './invoke-turns.ts';
import { planBatch, spendToRead, type BatchPair, type BatchPlan, type DailySpend, type InvokePlan, type PlanInput } from './plan.ts';
import { composeRunPrompt } from './prompt.ts';
import { memoryForTurn, memoryScopesToAsk } from './memory-recall.ts';
import { commitRunEffects, rejectRunsEffects, type RunOutcome } from './run-effects.ts';

/** The agent's session as prepare read it (`record`), under the key it read it by; and whether the agent's and its teams' memory hold anything (`memoryHeld`, PostgreSQL). */
interface SessionRead {
  key: string;
  record: AgentSessionRecord | undefined;
  memoryHeld: boolean | undefined;
}

/** What the stages before the commit leave for it and for publish. */
interface Staged {
  /** The commit stage (undefined: nothing to write but the completion); it may return where the conversation stands (`completeIfDone`'s `known`). */
  commit: TxBody<CompletionState | undefined> | TxBody<void> | undefined;
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
        const known = commit ? yield* commit(t) : undefined;
        yield* completeIfDone(t, conversationId, known ?? undefined);
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
  const { conversation, pairs, session } = await prepare(ctx, settings, messages);
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
      return runPlan(ctx, plan, conversation, messages, flightSignal, session);
  }
}

/**
 * prepare: the conversation, each message's run and the agent's session in one read
 * (`runContext`); a conversation or run that is missing is created, and then the conversation
 * is read again as it is now.
 */
async function prepare(
  ctx: WriteCtx & Pick<Ctx, 'stores'>,
  settings: Settings,
  messages: readonly QueueMessage[],
): Promise<{ conversation: ConversationRecord; pairs: BatchPair[]; session: SessionRead }> {
  const first = messages[0]!;
  const runIds = messages.flatMap((m) => readMeta(m)?.runId ?? []);
  // The key `planBatch` gives the turn (from the conversation, whose channel, sender and thread the messages carry); checked again before it is used.
  const sessionKey = sessionKeyFor(agentDefaults(ownEntry(settings.agents, first.agentId) ?? {}, settings).session_mode, first);
  const context = await ctx.stores.queries.runContext({
    conversationId: first.conversationId,
    runIds,
    session: { agentId: first.agentId, sessionKey },
    memoryScopes: memoryScopesToAsk(settings, first.agentId),
  });
  const known = context.conversation;
  const conversation = known ?? (await createConversation(ctx, first));
  let wrote = known === undefined;
  const pairs: BatchPair[] = [];
  for (const message of messages) {
    const id = readMeta(message)?.runId;
    const existing = id === undefined ? undefined : context.runs.find((r) => r.id === id);
    if (existing && existing.status !== 'failed') {
      pairs.push({ message, run: existing });
      continue;
    }
    pairs.push({ message, run: await createRun(ctx, message, conversation, existing) });
    wrote = true;
  }
  return {
    conversation: wrote ? await ctx.stores.runs.mustGetConversation(conversation.id) : conversation,
    pairs,
    session: { key: sessionKey, record: context.session, memoryHeld: context.memoryHeld },
  };
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
async function runPlan(ctx: Ctx, plan: InvokePlan, conversation: ConversationRecord, messages: readonly QueueMessage[], flightSignal: AbortSignal, session: SessionRead): Promise<Staged> {
  const { runs } = ctx.stores;
  const { primary } = plan;
  const open = [primary, ...plan.merged];
  const mergedRuns = plan.merged.map((p) => p.run);
  const started = await start(ctx, plan);
  // The run as its start left it (not open any more: cancelled or stopped meanwhile, read as it ended).
  const run = started.run ?? (await runs.mustGetRun(primary.run.id));
  if (started.steering) ctx.steering.adopt(primary.run.id, await started.steering);
  /** The primary run ended without an answer: the runs merged into it end with it. */
  const closeMergedBody: TxBody<void> = (tx) => closeMerged(ctx, tx, mergedRuns, run.id);
  const unanswered = (commit: TxBody<void> | undefined): Staged => ({ commit, runId: run.id, answered: false });
  // Cancelled (or stopped) between the claim and now, before this process could abort it: before
  // the start (the run it returned has ended) or after it, by this process (`cancelledHeld`: the
  // cancel found the run not registered yet). Not invoked. Every run of the batch cancelled:
  // settled as cancelled; otherwise the claimed messages complete, closing the runs merged into
  // this one. Nothing awaits from here to the registration below, so a cancel committed later
  // finds the run registered and aborts its invocation.
  if (TERMINAL_RUN_STATUSES.includes(run.status) || ctx.cancelledHeld.has(primary.message.id)) {
    if (settleIfCancelled(ctx, messages, await Promise.all(open.map((p) => runs.mustGetRun(p.run.id))))) return unanswered(undefined);
    return unanswered(closeMergedBody);
  }
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
  try {
    const result = await invoke(ctx, plan, run, conversation, controller.signal, session);
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

/**
 * start: the batch's runs go running, with the runs of other batches claimed in the same turn (one
 * commit, `durable: false`). Resolves with the primary run as the start wrote it (undefined if it
 * was not open any more) and, with several nodes, its stored steering.
 */
async function start(ctx: Pick<Ctx, 'startWrites' | 'observers' | 'node'>, plan: InvokePlan): Promise<{ run: RunRecord | undefined; steering: Promise<RunSteeringState | undefined> | undefined }> {
  let primary: RunRecord | undefined;
  let steering: Promise<RunSteeringState | undefined> | undefined;
  await ctx.startWrites.add({
    starts: plan.starts,
    *started(tx, runs) {
      // Several nodes: a command sent to another node while the run was queued waits in the store
      // (steering/steering.ts `applyQueued`). Read by this transaction after its update of the run,
      // which waited for any such write, so none slips between; one read for the group's runs.
      steering = ctx.node !== undefined ? tx.stores.steering.loadAtCommit(plan.primary.run.id) : undefined;
      // Run again when the group's transaction is (a failing neighbour): only the last run counts.
      primary = undefined;
      for (const [i, { run, messageIds }] of plan.starts.entries()) {
        yield* recordStarted(ctx, tx, run, messageIds);
        if (run.id === plan.primary.run.id) primary = runs[i];
      }
    },
  });
  return { run: primary, steering };
}

/** invoke: the incoming plugins, the prompt (with what memory recalls and the notes held for the agent's session), the agent's turns. */
async function invoke(ctx: Ctx, plan: InvokePlan, run: RunRecord, conversation: ConversationRecord, signal: AbortSignal, session: SessionRead): Promise<TurnsResult> {
  const parts = await Promise.all(
    [plan.primary, ...plan.merged].map(async (p) => ({
      text: await transformIncoming(ctx, p.message, p.run),
      from: readMeta(p.message)?.from ?? null,
    })),
  );
  const memory = await memoryForTurn(ctx, run, conversation, parts.map((p) => p.text).join('\n'), session.memoryHeld);
  return runAgentTurns(ctx, {
    run,
    prompt: composeRunPrompt(parts, ctx.notes.take(plan.agentId, plan.sessionKey), memory),
    sessionKey: plan.sessionKey,
    // The session as prepare read it, when read under the key the plan chose.
    ...(session.key === plan.sessionKey ? { session: session.record } : {}),
    teamId: plan.primary.message.teamId,
    signal,
    retry: plan.retry,
    workdir: readMeta(plan.primary.message)?.workdir,
    confinedBy: confinedByOf([plan.primary, ...plan.merged].map((p) => p.message)),
    callers: callersOf([plan.primary, ...plan.merged].map((p) => p.message)),
    spawnAgent: (args) => spawnForTool(ctx, run.id, args),
  });
}

/** route: the answer's files checked (the filesystem), `routeAnswer` (pure), then the outgoing plugins. */
async function route(ctx: Pick<Ctx, 'getSettings' | 'env' | 'filesDir' | 'plugins' | 'pluginTimeoutMs' | 'stores'>, outcome: RunOutcome, declared: DeclaredActions | undefined): Promise<RoutedAnswer> {
  const { run, result } = outcome;
  const settings = ctx.getSettings();
  const readable = readAnswer(run, result.text);
  const files = checkAnswerFiles(ctx, settings, run, [...readable.files, ...(declared?.files ?? [])]);
  return applyOutgoing(ctx, run, routeAnswer({ run, messages: outcome.messages, settings, answer: result.text, declared, readable, files, confinedBy: result.confinedBy }));
}

async function transformIncoming(ctx: PluginCtx, message: QueueMessage, run: RunRecord): Promise<string> {
  const text = message.attachments.length > 0 ? `${message.content}\n\n[Attached files: ${message.attachments.join(', ')}]` : message.content;
  if (message.kind === 'teammate' || message.kind === 'chatroom') return text;
  return applyPluginHooks(ctx, 'transformIncoming', text, { agentId: message.agentId, conversationId: message.conversationId, runId: run.id, channel: message.channel, sender: message.sender });
}

/** A message enqueued without a conversation (by another component) gets one. */
async function createConversation(ctx: Pick<Ctx, 'stores'>, message: QueueMessage): Promise<ConversationRecord> {
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
 * The run a message starts when it has none (`existing` undefined), or whose run failed (a dead
 * letter retried by hand: `existing` is that run): a new run, re-opening a finished conversation.
 */
async function createRun(ctx: WriteCtx & Pick<Ctx, 'stores'>, message: QueueMessage, conversation: ConversationRecord, existing: RunRecord | undefined): Promise<RunRecord> {
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

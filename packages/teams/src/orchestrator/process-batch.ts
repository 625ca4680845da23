/**
 * The queue handler, the pipeline of spec 20-teams.md: claim (the queue) -> plan (budgets,
 * prompt) -> invoke (no transaction open) -> decide (`decideRunEffects`) -> commit (a
 * transaction body run in the completion's transaction) -> publish (after-commit callbacks).
 *
 * A claimed batch holds one agent's pending messages of one conversation (collect mode: a burst
 * merged into one turn; sequential: one message). They are answered together by one
 * invocation, whose run is the first message's run (the others are completed as merged into
 * it), and its answer commits and is delivered as soon as that invocation ends.
 *
 * Everything the answer causes — follow-up messages, chat-room posts, replies to the human,
 * run records, events, the conversation's completion — is returned as `effects` (a generator
 * body, `runBody`), which the queue applies in the same transaction as the completion of the
 * claimed messages: synchronously on SQLite, awaited on the transaction's client on PostgreSQL.
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
} from '@tinyagi/core';
import { agentDefaults, effectiveBudgets, effectiveLimits, io, runBody, sessionKeyFor, ownEntry, type StoreTransaction, type TxBody, type TxSteps } from '@tinyagi/core/internal';
import { checkBudgets, startOfUtcDay } from '../guards/budgets.ts';
import { readMeta } from '../router/provenance.ts';
import { spawnForTool } from '../subagents/spawner.ts';
import { abortActive, abortCause, linkedController, type ActiveRun, type Ctx } from './context.ts';
import { cancelRunTree, completeIfDone, stopConversation } from './conversation-ops.ts';
import { commitRunEffects, decideRunEffects, rejectRunsEffects } from './run-effects.ts';
import { closeMerged, createRunWithEvent, finishRunWithEvent, markStarted, recordAttemptSpend } from './lifecycle.ts';
import { applyPluginHooks } from './plugins.ts';
import { runAgentTurns } from './invoke-turns.ts';
import { composeRunPrompt } from './prompt.ts';

export async function handleBatch(ctx: Ctx, batch: ClaimedBatch, handler: HandlerContext): Promise<HandlerResult> {
  const conversationId = batch.messages[0]!.conversationId;
  if (batch.messages.some((m) => m.conversationId !== conversationId)) {
    // The queue's claim never mixes conversations: one conversation's answer (and failure) must
    // not wait for, or be shared with, another's.
    throw new TinyError('INVALID_STATE', `A claimed batch of @${batch.agentId} holds several conversations; the queue store must claim one conversation per batch.`);
  }
  let commit: TxBody<void> | undefined;
  try {
    commit = await processGroup(ctx, batch.messages, handler.signal);
  } finally {
    for (const m of batch.messages) ctx.cancelledHeld.delete(m.id);
  }
  return {
    effects: (tx) =>
      runBody(function* commitBatch(t: StoreTransaction) {
        if (commit) yield* commit(t);
        yield* completeIfDone(t, conversationId);
      }, tx),
  };
}

/**
 * Every run of a claimed batch was cancelled between the claim and now (before this process
 * registered it, so the cancel could not abort it): the worker is told to settle the batch as
 * cancelled, which is what the cancel waits for (conversation-ops.ts `settleInProcess`), rather
 * than completing it. Returns whether it did.
 */
function settleIfCancelled(ctx: Ctx, messages: readonly QueueMessage[], runs: readonly RunRecord[]): boolean {
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

/** Plans, invokes and decides one batch; returns its commit stage (undefined: nothing to write but the completion). */
async function processGroup(ctx: Ctx, messages: QueueMessage[], flightSignal: AbortSignal): Promise<TxBody<void> | undefined> {
  const { runs } = ctx.stores;
  const settings = ctx.getSettings();
  const created = await ensureConversation(ctx, messages[0]!);
  const pairs: Array<{ message: QueueMessage; run: RunRecord }> = [];
  for (const message of messages) pairs.push({ message, run: await ensureRun(ctx, message, created) });
  const conversation = await runs.mustGetConversation(created.id);
  const open = pairs.filter((p) => !TERMINAL_RUN_STATUSES.includes(p.run.status));
  if (open.length === 0) {
    settleIfCancelled(
      ctx,
      messages,
      pairs.map((p) => p.run),
    );
    return undefined;
  }
  const primary = open[0]!;
  const agentId = primary.message.agentId;

  if (conversation.status !== 'active') {
    return function* cancelInactive(tx) {
      for (const p of open) yield* finishRunWithEvent(ctx, tx, p.run, { status: 'cancelled', error: `the conversation was ${conversation.status}` });
    };
  }
  const now = Date.now();
  const budgets = effectiveBudgets(settings, { ...(conversation.teamId ? { teamId: conversation.teamId } : {}), agentId });
  // The daily sums scan today's runs: only pay for them when a daily budget is configured.
  const day = startOfUtcDay(now);
  const overBudget = checkBudgets(budgets, {
    conversation,
    ...(budgets.agent_daily_usd !== undefined || budgets.agent_daily_tokens !== undefined ? { agentToday: { agentId, ...(await runs.agentSpend(agentId, day)) } } : {}),
    ...(budgets.global_daily_usd !== undefined || budgets.global_daily_tokens !== undefined ? { globalToday: await runs.globalSpend(day) } : {}),
  });
  if (overBudget) {
    return function* rejectOverBudget(tx) {
      yield* rejectRunsEffects(
        ctx,
        tx,
        conversation,
        open.map((p) => p.run),
        overBudget,
      );
      if (overBudget.rule === 'conversation_usd' || overBudget.rule === 'conversation_tokens') {
        yield* stopConversation(ctx, tx, conversation.id, { rejection: overBudget, runId: primary.run.id });
      }
    };
  }

  // Batches claimed together start together: their run.started writes share one commit.
  await ctx.startWrites.add(function* startBatch(tx) {
    for (const p of open) yield* markStarted(tx, p.run, p.run === primary.run ? messages.map((m) => m.id) : [p.message.id]);
  });
  // Several nodes: a command sent to another node while the run was queued waits in the store
  // (steering/steering.ts `applyQueued`); read after the start's commit, so none slips between.
  if (ctx.node !== undefined) await ctx.steering.adopt(primary.run.id);
  const run = await runs.mustGetRun(primary.run.id);
  /** The primary run ended without an answer: the runs merged into it end with it. */
  const closeMergedBody: TxBody<void> = (tx) =>
    closeMerged(
      ctx,
      tx,
      open.slice(1).map((p) => p.run),
      run.id,
    );
  if (TERMINAL_RUN_STATUSES.includes(run.status)) {
    // Cancelled (or stopped) between the claim and now, before this process could abort it:
    // not invoked. Every run of the batch cancelled: settled as cancelled; otherwise the claimed
    // messages complete, closing the runs merged into this one.
    if (settleIfCancelled(ctx, messages, await Promise.all(open.map((p) => runs.mustGetRun(p.run.id))))) return undefined;
    return closeMergedBody;
  }
  // Nothing awaits between the read above and this registration: a cancel commits before the
  // read (seen there), after the registration (and aborts the invocation), or, on PostgreSQL,
  // in between (the read's answer arrived after the commit): `cancelledHeld` below.
  const controller = linkedController(flightSignal);
  const active: ActiveRun = {
    runId: run.id,
    agentId,
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
    const parts = await Promise.all(
      open.map(async (p) => ({
        text: await transformIncoming(ctx, p.message, p.run),
        from: readMeta(p.message)?.from ?? null,
      })),
    );
    const agent = agentDefaults(ownEntry(settings.agents, agentId) ?? {}, settings);
    const sessionKey = sessionKeyFor(agent.session_mode, { channel: conversation.channel, senderId: conversation.senderId, threadKey: conversation.threadKey });
    const result = await runAgentTurns(ctx, {
      run,
      prompt: composeRunPrompt(parts, ctx.notes.take(agentId, sessionKey)),
      sessionKey,
      teamId: primary.message.teamId,
      signal: controller.signal,
      // A message that failed before (also a lost lease) may have left half a turn in the CLI's session.
      retry: open.some((p) => p.message.lastError !== null),
      spawnAgent: (args) => spawnForTool(ctx, run.id, args),
    });
    const outcome = { run, merged: open.slice(1).map((p) => p.run), messages: open.map((p) => p.message), conversationId: conversation.id, sessionKey, result };
    const decision = await decideRunEffects(ctx, outcome);
    return function* commitRun(tx) {
      yield* commitRunEffects(ctx, tx, outcome, decision);
      tx.onCommit(() => ctx.steering.forget(run.id));
    };
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
      return closeMergedBody;
    }
    // The attempt failed and the queue may retry it: keep the steering for the next attempt.
    ctx.steering.endAttempt(run.id);
    throw err;
  } finally {
    ctx.active.delete(run.id);
  }
}

async function transformIncoming(ctx: Ctx, message: QueueMessage, run: RunRecord): Promise<string> {
  const text = message.attachments.length > 0 ? `${message.content}\n\n[Attached files: ${message.attachments.join(', ')}]` : message.content;
  if (message.kind === 'teammate' || message.kind === 'chatroom') return text;
  return applyPluginHooks(ctx, 'transformIncoming', text, { agentId: message.agentId, conversationId: message.conversationId, runId: run.id, channel: message.channel, sender: message.sender });
}

/** A message enqueued without a conversation (by another component) gets one. */
async function ensureConversation(ctx: Ctx, message: QueueMessage): Promise<ConversationRecord> {
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
async function ensureRun(ctx: Ctx, message: QueueMessage, conversation: ConversationRecord): Promise<RunRecord> {
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

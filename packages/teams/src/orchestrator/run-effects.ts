/**
 * The commit stage of a finished queue run (process-batch.ts; what it writes was worked out before,
 * route.ts): `commitRunEffects` is a transaction body run inside the queue's completion
 * transaction: run records (usage accounting and the event log follow as observers), session
 * transcript and agent history, chat-room posts, guarded handoffs (new messages with their runs;
 * the guards see the conversation as it is in the transaction), notes and replies to the human,
 * the soft-limit prompt. Also the refusal before invocation (`rejectRunsEffects`) and the
 * enqueueing of one handoff (`enqueueDelivery`, shared with `continue`).
 */
import { clause, newId, type BudgetWarningEvent, type ConversationRecord, type QueueMessage, type RunRecord } from '@tinyagi/core';
import {
  effectiveBudgets,
  effectiveLimits,
  agentDefaults,
  io,
  ownEntry,
  type AppendAgentMessageInput,
  type CompletionState,
  type TurnWrite,
  type StoreTransaction,
  type TxSteps,
} from '../core-internal.ts';
import { signReply } from '@tinyagi/client';
import { answersHuman, noteKey, replyKey, toHuman } from '../conversations/replies.ts';
import { guardDeliveries } from '../guards/dispatch.ts';
import { callersOf, chainFollowing, confinedByOf, type RunChain } from '../guards/confinement.ts';
import type { GuardRejection } from '../guards/limits.ts';
import { softLimitMessage, softLimitReached } from '../guards/soft-limit.ts';
import type { PlannedDelivery } from '../router/plan.ts';
import { readMeta, type MessageMeta } from '../router/provenance.ts';
import type { PingPongState } from '../guards/ping-pong.ts';
import type { CancelCtx, Ctx, LifecycleCtx, WriteCtx } from './context.ts';
import { stopConversation } from './conversation-ops.ts';
import type { TurnsResult } from './invoke-turns.ts';
import { closeMerged, createRunWithEvent, finishRunWithEvent, treeFields } from './lifecycle.ts';
import type { RoutedAnswer } from './route.ts';

export interface RunOutcome {
  run: RunRecord;
  /** Runs of the same batch answered by this invocation. */
  merged: RunRecord[];
  messages: QueueMessage[];
  conversationId: string;
  sessionKey: string;
  result: TurnsResult;
}

/** A message to a teammate or chat-room member, ready to enqueue. */
export interface DeliveryToEnqueue {
  kind: 'teammate' | 'chatroom';
  agentId: string;
  teamId: string | null;
  content: string;
  body: string;
  hop: number;
  pingPong?: PingPongState | undefined;
  room?: string | undefined;
  /** The sender's working directory (a task's worktree), carried on to the teammate's run. */
  workdir?: string | undefined;
  /** The agents whose confinement follows the delivery's run. */
  confinedBy?: string[] | undefined;
  /** Every agent up the chain, the sender included: whom the delivery's run may reach holds for each. */
  callers?: string[] | undefined;
}

/** Work held back by a guard (a conversation's `held` column). */
export type { HeldDelivery } from '../core-internal.ts';
import type { HeldDelivery } from '../core-internal.ts';

const MAX_HELD = 50;

/**
 * The commit stage of a finished queue run: writes what the route stage worked out (`routeAnswer`,
 * then the outgoing plugins). Returns where the conversation stands for its completion when it
 * was read after the run's finish locked it and nothing changed it since (`completeIfDone` then
 * needs no read of its own), else undefined.
 */
export function* commitRunEffects(ctx: CancelCtx & WriteCtx & Pick<Ctx, 'notes' | 'node'>, tx: StoreTransaction, outcome: RunOutcome, routed: RoutedAnswer): TxSteps<CompletionState | undefined> {
  const { run, result } = outcome;
  const { humanText, plan, files, refused } = routed;
  const settings = ctx.getSettings();
  const { runs, events, outbox } = tx.stores;
  // A soft-limit warning (decided at the end) is told to the observers after the commit, ahead of
  // the run's `runEnded` (registered first), so it still finds the run as it ends.
  let warning: BudgetWarningEvent | undefined;
  if (ctx.observers.listening('budgetWarning')) tx.onCommit(() => warning && ctx.observers.notify('budgetWarning', warning));
  if (!(yield* finishRunWithEvent(ctx, tx, run, { status: 'completed', output: humanText, usage: result.usage, costUsd: result.costUsd }))) {
    yield* closeMerged(ctx, tx, outcome.merged, run.id);
    return undefined;
  }
  for (const merged of outcome.merged) yield* finishRunWithEvent(ctx, tx, merged, { status: 'completed', data: { mergedInto: run.id } });
  const turn = yield* recordHistory(tx, outcome, humanText, ctx.node);

  if (refused.length > 0) {
    yield* io(
      events.append({ type: 'guard.rejected', ...treeFields(run), data: { limitName: 'send_file', files: refused, message: 'files outside the workspace and TINYAGI_HOME/files are not sent' } }),
    );
  }
  if (plan.notes.length > 0) {
    const notes = plan.notes;
    tx.onCommit(() => ctx.notes.add(run.agentId, outcome.sessionKey, notes));
  }
  // Each tag, handoff or room delivery not made, as an event of its own (the person reads it in the reply too).
  for (const refusal of plan.refusals) yield* io(events.append({ type: 'handoff.undelivered', ...treeFields(run), data: { fromAgent: run.agentId, ...refusal } }));
  for (const post of plan.roomPosts) {
    const stored = yield* io(tx.stores.chatroom.post({ teamId: post.teamId, fromAgent: run.agentId, content: post.text, conversationId: run.conversationId }));
    yield* io(events.append({ type: 'chatroom.message', ...treeFields(run), data: { teamId: post.teamId, from: run.agentId, postId: stored.id, text: post.text } }));
  }

  // The conversation is locked since the run's finish (`finishRun`): read with where it stands for
  // its completion, in one statement that sees what other nodes committed before the lock.
  let state: CompletionState | undefined = yield* io(tx.stores.queries.completionState(run.conversationId, turn));
  let conversation = state.conversation ?? (yield* io(runs.mustGetConversation(run.conversationId)));
  const guardSettings = { limits: effectiveLimits(settings, scopeOf(run)), budgets: effectiveBudgets(settings, conversation.teamId ? { teamId: conversation.teamId } : {}) };
  const deliveries = conversation.status === 'active' ? plan.deliveries : [];
  const verdict = guardDeliveries(deliveries, { conversation, settings: guardSettings, now: Date.now() });
  const parentMessageId = outcome.messages[0]!.id;
  const workdir = outcome.messages.map((m) => readMeta(m)?.workdir).find((w) => w !== undefined);
  // A confined run's handoffs and room deliveries run at least as confined (guards/confinement.ts).
  const chain = chainFollowing(settings, run.agentId, { confinedBy: result.confinedBy ?? confinedByOf(outcome.messages), callers: callersOf(outcome.messages) });
  for (const delivery of verdict.accepted) yield* enqueueDelivery(ctx, tx, conversation, run, parentMessageId, { ...fromPlan(delivery), workdir, ...chain });
  if (verdict.accepted.length > 0) {
    const hop = Math.max(...verdict.accepted.map((d) => d.hop));
    yield* io(runs.bumpConversation(run.conversationId, { messages: verdict.accepted.length, hops: Math.max(0, hop - conversation.hops) }));
  }
  if (verdict.rejected.length > 0) {
    for (const { delivery, rejection } of verdict.rejected) {
      yield* io(
        events.append({
          type: 'guard.rejected',
          ...treeFields(run),
          data: { limitName: rejection.limitName, limit: rejection.limit, actual: rejection.actual, message: rejection.message, from: run.agentId, to: delivery.target, kind: delivery.kind },
        }),
      );
    }
    yield* io(runs.updateConversation(conversation.id, { held: heldAfter(conversation, run, parentMessageId, verdict.rejected, chain), awaitingDecision: true }));
    if (!verdict.stop) {
      const lines = verdict.rejected.map(
        ({ delivery, rejection }) => `- ${delivery.kind === 'chatroom' ? `chat-room post to #${delivery.room} for` : 'handoff to'} @${delivery.target}: ${rejection.message}`,
      );
      const raisable = verdict.rejected.some(({ rejection }) => rejection.limitName !== 'max_fanout');
      yield* io(
        outbox.enqueue(
          toHuman(conversation, {
            key: noteKey(run.conversationId, `guard:${run.id}`),
            kind: 'note',
            runId: run.id,
            agentId: run.agentId,
            text: `I held back ${verdict.rejected.length === 1 ? 'a message' : `${verdict.rejected.length} messages`} from @${run.agentId}:\n${lines.join('\n')}${raisable ? '\nReply `continue` to raise the limit and deliver, or `stop` to end the conversation.' : ''}`,
          }),
        ),
      );
    }
  }

  const reply =
    answersHuman(run.cause) && humanText !== '' && conversation.replyMode === 'each'
      ? toHuman(conversation, {
          key: replyKey(run.conversationId, run.id),
          text: signReply(humanText, run.agentId),
          kind: 'reply',
          runId: run.id,
          messageId: parentMessageId,
          agentId: run.agentId,
          files,
        })
      : undefined;
  if (verdict.stop) {
    if (reply) yield* io(outbox.enqueue(reply));
    yield* stopConversation(ctx, tx, run.conversationId, { rejection: verdict.stop, runId: run.id });
    return undefined;
  }
  // Read again only if this transaction changed it since (the completion then reads its own state).
  if (verdict.accepted.length > 0 || verdict.rejected.length > 0) {
    conversation = yield* io(runs.mustGetConversation(run.conversationId));
    state = undefined;
  }
  const soft = conversation.softWarned || conversation.status !== 'active' ? undefined : softLimitReached(conversation, guardSettings, Date.now());
  if (!soft) {
    // The transaction's last reply (the completion adds one only to an aggregate conversation),
    // and its key is new (the run's finish above is what stores its reply): it rides on the last statement.
    if (reply) yield* io(outbox.enqueueAtCommit(reply, { parent_run_id: run.parentRunId, depth: run.depth }));
    return state;
  }
  if (reply) yield* io(outbox.enqueue(reply));
  yield* io(runs.updateConversation(conversation.id, { softWarned: true, awaitingDecision: true }));
  yield* io(
    events.append({
      type: 'budget.warning',
      conversationId: conversation.id,
      runId: run.id,
      agentId: run.agentId,
      data: { limitName: soft.limitName, used: soft.used, limit: soft.limit, fraction: guardSettings.budgets.soft_limit_fraction },
    }),
  );
  warning = { run, conversationId: conversation.id, limitName: soft.limitName, used: soft.used, limit: soft.limit, fraction: guardSettings.budgets.soft_limit_fraction };
  yield* io(outbox.enqueue(toHuman(conversation, { key: noteKey(conversation.id, `soft:${conversation.limitScale}`), text: softLimitMessage(conversation, soft), kind: 'soft-limit', runId: run.id })));
  return undefined;
}

/** A refusal before invocation (budget): the runs end `rejected` and the human is told. */
export function* rejectRunsEffects(ctx: LifecycleCtx, tx: StoreTransaction, conversation: ConversationRecord, runs: readonly RunRecord[], rejection: GuardRejection): TxSteps<void> {
  const first = runs[0];
  if (!first) return;
  for (const run of runs) yield* finishRunWithEvent(ctx, tx, run, { status: 'rejected', error: rejection.message, data: { limitName: rejection.limitName } });
  yield* io(
    tx.stores.events.append({
      type: 'guard.rejected',
      ...treeFields(first),
      data: { limitName: rejection.limitName, limit: rejection.limit, actual: rejection.actual, message: rejection.message, action: 'not-invoked' },
    }),
  );
  yield* io(
    tx.stores.outbox.enqueue(
      toHuman(conversation, {
        key: noteKey(conversation.id, `budget:${first.id}`),
        kind: 'note',
        runId: first.id,
        agentId: first.agentId,
        text: `@${first.agentId} was not run: ${clause(rejection.message)}.`,
      }),
    ),
  );
}

/** Enqueues one delivery with its run (queued), inside the caller's transaction. */
export function* enqueueDelivery(ctx: WriteCtx, tx: StoreTransaction, conversation: ConversationRecord, parent: RunRecord, parentMessageId: string | null, d: DeliveryToEnqueue): TxSteps<void> {
  const settings = ctx.getSettings();
  const runId = newId('run');
  const messageId = newId('msg');
  const meta: MessageMeta = { from: parent.agentId, hop: d.hop, body: d.body };
  if (d.pingPong) meta.pingPong = d.pingPong;
  if (d.room) meta.room = d.room;
  if (d.workdir) meta.workdir = d.workdir;
  if (d.confinedBy && d.confinedBy.length > 0) meta.confinedBy = d.confinedBy;
  if (d.callers && d.callers.length > 0) meta.callers = d.callers;
  yield* io(
    tx.stores.queue.enqueue({
      id: messageId,
      kind: d.kind,
      agentId: d.agentId,
      teamId: d.teamId,
      conversationId: conversation.id,
      parentMessageId,
      parentRunId: parent.id,
      runId,
      depth: 0,
      channel: conversation.channel,
      sender: conversation.sender,
      senderId: conversation.senderId,
      threadKey: conversation.threadKey,
      content: d.content,
      meta: { ...meta },
      maxAttempts: agentDefaults(ownEntry(settings.agents, d.agentId) ?? {}, settings).max_attempts,
    }),
  );
  yield* createRunWithEvent(
    ctx,
    tx,
    {
      id: runId,
      conversationId: conversation.id,
      parentRunId: parent.id,
      depth: 0,
      maxDepth: effectiveLimits(settings, d.teamId ? { teamId: d.teamId, agentId: d.agentId } : { agentId: d.agentId }).max_depth,
      agentId: d.agentId,
      teamId: d.teamId,
      channel: conversation.channel,
      cause: d.kind === 'teammate' ? 'mention' : 'chatroom',
      messageIds: [messageId],
      input: d.body,
    },
    { from: parent.agentId, hop: d.hop },
  );
  if (d.kind === 'teammate') {
    yield* io(
      tx.stores.events.append({ type: 'agent.mention', ...treeFields(parent), data: { teamId: d.teamId, fromAgent: parent.agentId, toAgent: d.agentId, hop: d.hop, messageId, childRunId: runId } }),
    );
  }
}

function fromPlan(d: PlannedDelivery): DeliveryToEnqueue {
  return { kind: d.kind === 'mention' ? 'teammate' : 'chatroom', agentId: d.target, teamId: d.teamId, content: d.content, body: d.body, hop: d.hop, pingPong: d.pingPong, room: d.room };
}

/** The conversation's held deliveries with the rejected ones added (a guard raised by `continue` delivers them). */
function heldAfter(
  conversation: ConversationRecord,
  run: RunRecord,
  parentMessageId: string,
  rejected: Array<{ delivery: PlannedDelivery; rejection: GuardRejection }>,
  chain: RunChain,
): HeldDelivery[] {
  const held = [...conversation.held];
  for (const { delivery, rejection } of rejected) {
    if (rejection.limitName === 'max_fanout' || held.length >= MAX_HELD) continue;
    held.push({
      kind: delivery.kind === 'mention' ? 'teammate' : 'chatroom',
      agentId: delivery.target,
      teamId: delivery.teamId,
      content: delivery.content,
      body: delivery.body,
      from: run.agentId,
      hop: delivery.hop,
      ...(delivery.room ? { room: delivery.room } : {}),
      parentRunId: run.id,
      parentMessageId,
      ...(chain.confinedBy.length > 0 ? { confinedBy: chain.confinedBy } : {}),
      callers: chain.callers,
    });
  }
  return held;
}

/**
 * Session transcript (resume id + history for the next turn) and the agent's chat history: the
 * exchanges before the last are written here; the last, with the history, is returned for the
 * completion's read to write (`completionState`'s `turn`). Without exchanges the history is written here.
 */
function* recordHistory(tx: StoreTransaction, outcome: RunOutcome, answer: string, node: string | undefined): TxSteps<TurnWrite | undefined> {
  const { run, result, messages } = outcome;
  // The messages the run answered, then its answer.
  const history: AppendAgentMessageInput[] = messages.map((m) => {
    const meta = readMeta(m);
    return {
      agentId: run.agentId,
      role: 'user',
      channel: m.channel,
      sender: meta?.from ? `@${meta.from}` : m.sender,
      messageId: m.id,
      runId: run.id,
      conversationId: run.conversationId,
      content: meta?.body ?? m.content,
    };
  });
  history.push({ agentId: run.agentId, role: 'assistant', channel: run.channel, sender: `@${run.agentId}`, runId: run.id, conversationId: run.conversationId, content: answer });
  const turns = result.exchanges.map((exchange) => ({
    provider: result.provider,
    sessionId: result.sessionId,
    instructionsHash: result.instructionsHash,
    runtimeState: result.runtimeState,
    node,
    ...exchange,
  }));
  const last = turns.pop();
  if (!last) {
    yield* io(tx.stores.agentMessages.appendMany(history));
    return undefined;
  }
  for (const turn of turns) yield* io(tx.stores.agentSessions.recordTurn(run.agentId, outcome.sessionKey, turn));
  return { agentId: run.agentId, sessionKey: outcome.sessionKey, input: last, history };
}

function scopeOf(run: RunRecord): { teamId?: string; agentId: string } {
  return run.teamId ? { teamId: run.teamId, agentId: run.agentId } : { agentId: run.agentId };
}

/**
 * Human (and heartbeat/schedule/system) messages entering the system: addressing, sticky
 * defaults, `continue`/`stop` answers to a limit prompt, and the enqueue of the message with its
 * conversation and root run, all in one transaction body (idempotent on the channel's message key).
 */
import type { Decision } from '@tinyagi/client/contract';
import { newId, TinyError, type ConversationRecord, type MessageKind, type Settings } from '@tinyagi/core';
import { effectiveLimits, agentDefaults, io, teamDefaults, ownEntry, type StoreTransaction, type TxSteps } from '../core-internal.ts';
import { noteKey, toHuman } from '../conversations/replies.ts';
import { defaultAgentId, defaultTeamOf, resolveTarget, splitAddressPrefix, type ResolvedTarget } from '../protocol/addressing.ts';
import type { MessageMeta } from '../router/provenance.ts';
import type { CancelCtx, WriteCtx } from './context.ts';
import { completeIfDone, stopConversation } from './conversation-ops.ts';
import { runCreated, withProvider } from './lifecycle.ts';
import { causeOfKind } from './process-batch.ts';
import { enqueueDelivery, type HeldDelivery } from './run-effects.ts';

export interface SubmitInput {
  message: string;
  agent?: string | undefined;
  team?: string | undefined;
  channel?: string | undefined;
  sender?: string | undefined;
  senderId?: string | undefined;
  threadKey?: string | undefined;
  idempotencyKey?: string | undefined;
  attachments?: string[] | undefined;
  kind?: 'user' | 'heartbeat' | 'schedule' | 'system' | undefined;
  /**
   * The working directory of the conversation's runs instead of each agent's workspace (a task's
   * git worktree, docs/git-tasks.md); handoffs in the conversation carry it on.
   */
  workdir?: string | undefined;
  /**
   * The chain an agent's work carries on (guards/confinement.ts): a workflow step of a run an agent
   * started runs confined by it, as a call would. Absent for a person's message.
   */
  chain?: { confinedBy: readonly string[]; callers: readonly string[] } | undefined;
}

export interface SubmitResult {
  /** '' when nothing was enqueued (a sticky-default switch or a `continue`/`stop` answer). */
  messageId: string;
  conversationId: string;
  agentId: string;
  teamId: string | null;
  /** False for a duplicate idempotency key (the existing message is returned) and when nothing was enqueued. */
  created: boolean;
  /** What the message did: ran (or repeated) a message, changed the sender's default target, answered a limit prompt. */
  action: SubmitAction;
  /** Whether the message was addressed to the agent itself or to its team (`teamId` may be a context team either way). */
  addressed: 'agent' | 'team';
  /** A system answer for the sender instead of an agent run (also stored in the outbox). */
  reply?: string;
  /** With `answered`: the decision it gave. */
  decision?: Decision;
}

export type SubmitAction = 'enqueued' | 'duplicate' | 'default_set' | 'default_cleared' | 'answered';

/** How far back `continue` / `stop` look for the conversation that asked. */
const DECISION_WINDOW_MS = 24 * 3600_000;

/** The submission as one transaction body (`stores.commit` or a group commit runs it). */
export function* submitMessage(ctx: CancelCtx & WriteCtx, tx: StoreTransaction, input: SubmitInput): TxSteps<SubmitResult> {
  const settings = ctx.getSettings();
  const channel = input.channel ?? 'api';
  const senderId = input.senderId ?? input.sender ?? '';
  const sender = input.sender ?? senderId;
  const kind: MessageKind = input.kind ?? 'user';
  let text = input.message ?? '';

  // `continue` / `stop` answer a limit prompt waiting for this sender, also when sent to the
  // agent or team it came from (`tinyagi send --team dev continue`); with nothing waiting they
  // are ordinary messages.
  if (kind === 'user') {
    const decision = text.trim().toLowerCase().replace(/^\//, '');
    if (decision === 'continue' || decision === 'stop') {
      const answered = yield* answerLimitPrompt(ctx, tx, channel, senderId, decision);
      if (answered) return answered;
    }
  }

  let target = explicitTarget(settings, input);
  const prefix = splitAddressPrefix(text);
  if (prefix) {
    const resolved = resolveTarget(settings, prefix.token);
    const explicit = target !== undefined;
    if (!resolved && prefix.token.toLowerCase() === 'default' && prefix.rest === '' && !explicit) {
      const had = yield* io(tx.stores.senderDefaults.clear(channel, senderId));
      return yield* systemReply(
        tx,
        input,
        { channel, senderId, sender, action: 'default_cleared' },
        had ? 'Your default target is cleared: messages without @ go to the default agent again.' : 'You had no default target set.',
        { kind: 'agent', agentId: defaultAgentId(settings) ?? '', teamId: null },
      );
    }
    if (resolved) {
      text = prefix.rest;
      if (!explicit) target = resolved;
      if (prefix.rest === '' && !explicit) {
        yield* io(tx.stores.senderDefaults.set(channel, senderId, resolved.kind === 'team' ? resolved.teamId : resolved.agentId));
        const name = resolved.kind === 'team' ? `#${resolved.teamId} (led by @${resolved.agentId})` : `@${resolved.agentId}`;
        return yield* systemReply(tx, input, { channel, senderId, sender, action: 'default_set' }, `Your messages now go to ${name} by default. Send @default to clear it.`, resolved);
      }
    } else if (!explicit) {
      throw new TinyError('AGENT_NOT_FOUND', `No agent or team named "@${prefix.token}".`, {
        hint: `Known agents: ${Object.keys(settings.agents ?? {}).join(', ') || 'none'}; teams: ${Object.keys(settings.teams ?? {}).join(', ') || 'none'}.`,
        details: { target: prefix.token },
      });
    }
  }
  if (!target) {
    const sticky = yield* io(tx.stores.senderDefaults.get(channel, senderId));
    target = sticky !== undefined ? resolveTarget(settings, sticky) : undefined;
  }
  if (!target) {
    const fallback = defaultAgentId(settings);
    if (fallback === undefined) throw new TinyError('AGENT_NOT_FOUND', 'No agents are configured.', { hint: 'Add one with `tinyagi agent add` or in settings.json.' });
    target = { kind: 'agent', agentId: fallback, teamId: null };
  }
  if (text.trim() === '') throw new TinyError('MESSAGE_EMPTY', 'The message is empty.', { hint: 'Write something after the @target.' });

  const agentId = target.agentId;
  const teamId = target.kind === 'team' ? target.teamId : defaultTeamOf(settings, agentId);
  const team = teamId ? ownEntry(settings.teams, teamId) : undefined;
  const replyMode = team ? teamDefaults(team).reply_mode : 'each';
  const messageId = newId('msg');
  const runId = newId('run');
  const conversationId = newId('conv');
  const meta: MessageMeta = { from: null, hop: 0 };
  if (input.workdir !== undefined) meta.workdir = input.workdir;
  if (input.chain?.confinedBy.length) meta.confinedBy = [...input.chain.confinedBy];
  if (input.chain?.callers.length) meta.callers = [...input.chain.callers];
  const { queue, runs, events } = tx.stores;

  const enqueued = yield* io(
    queue.enqueue({
      id: messageId,
      runId,
      kind,
      agentId,
      teamId,
      conversationId,
      channel,
      sender,
      senderId,
      threadKey: input.threadKey ?? null,
      content: text,
      attachments: input.attachments ?? [],
      meta: { ...meta },
      maxAttempts: agentDefaults(ownEntry(settings.agents, agentId) ?? {}, settings).max_attempts,
      idempotencyKey: input.idempotencyKey ?? null,
    }),
  );
  if (!enqueued.created) {
    const existing = yield* io(queue.get(enqueued.id));
    const addressed = (yield* io(runs.getConversation(enqueued.conversationId)))?.addressed ?? target.kind;
    return {
      messageId: enqueued.id,
      conversationId: enqueued.conversationId,
      agentId: existing?.agentId ?? agentId,
      teamId: existing?.teamId ?? null,
      created: false,
      action: 'duplicate',
      addressed,
    };
  }
  // The conversation and its root run in one write, with the transaction's last statement (new rows: nothing here reads them).
  const { run } = yield* io(
    runs.createConversationWithRunAtCommit(
      {
        id: conversationId,
        teamId,
        rootAgentId: agentId,
        channel,
        sender,
        senderId,
        threadKey: input.threadKey ?? null,
        title: titleOf(text),
        replyMode,
        addressed: target.kind,
      },
      withProvider(ctx, {
        id: runId,
        conversationId,
        agentId,
        teamId,
        channel,
        cause: causeOfKind(kind),
        depth: 0,
        maxDepth: effectiveLimits(settings, teamId ? { teamId, agentId } : { agentId }).max_depth,
        messageIds: [messageId],
        input: text,
      }),
    ),
  );
  yield* io(events.append({ type: 'conversation.started', conversationId, agentId, data: { channel, sender, senderId, teamId, replyMode, kind } }));
  yield* io(events.append({ type: 'message.received', conversationId, agentId, data: { messageId, channel, sender, teamId, kind, preview: text.slice(0, 120) } }));
  yield* runCreated(ctx, tx, run);
  return { messageId, conversationId, agentId, teamId, created: true, action: 'enqueued', addressed: target.kind };
}

function explicitTarget(settings: Settings, input: SubmitInput): ResolvedTarget | undefined {
  if (input.team !== undefined) {
    const resolved = resolveTarget(settings, input.team);
    if (resolved?.kind !== 'team') {
      throw new TinyError('TEAM_NOT_FOUND', `No team "${input.team}".`, { hint: `Known teams: ${Object.keys(settings.teams ?? {}).join(', ') || 'none'}.` });
    }
    return resolved;
  }
  if (input.agent !== undefined) {
    const id = input.agent.replace(/^@/, '').toLowerCase();
    if (ownEntry(settings.agents, id) === undefined) {
      throw new TinyError('AGENT_NOT_FOUND', `No agent "${input.agent}".`, { hint: `Known agents: ${Object.keys(settings.agents ?? {}).join(', ') || 'none'}.` });
    }
    return { kind: 'agent', agentId: id, teamId: null };
  }
  return undefined;
}

function* systemReply(
  tx: StoreTransaction,
  input: SubmitInput,
  { channel, senderId, sender, action }: { channel: string; senderId: string; sender: string; action: SubmitAction },
  text: string,
  target: ResolvedTarget,
): TxSteps<SubmitResult> {
  yield* io(
    tx.stores.outbox.enqueue({
      idempotencyKey: `system:${channel}:${senderId}:${input.idempotencyKey ?? newId('sys')}`,
      channel,
      text,
      recipient: { senderId, sender, ...(input.threadKey ? { threadId: input.threadKey } : {}) },
      meta: { kind: 'system' },
    }),
  );
  return { messageId: '', conversationId: '', agentId: target.agentId, teamId: target.teamId, created: false, action, addressed: target.kind, reply: text };
}

/** A `continue` or `stop` message answers the newest conversation of its sender that waits for a decision. */
function* answerLimitPrompt(ctx: CancelCtx & WriteCtx, tx: StoreTransaction, channel: string, senderId: string, decision: Decision): TxSteps<SubmitResult | undefined> {
  const { runs } = tx.stores;
  for (const id of yield* io(tx.stores.queries.recentConversationsOf(channel, senderId, Date.now() - DECISION_WINDOW_MS))) {
    const c = yield* io(runs.getConversation(id));
    if (c?.awaitingDecision === true) return yield* continueOrStop(ctx, tx, c, decision);
  }
  return undefined;
}

/**
 * A person's `continue` or `stop` for one conversation, named by id (TinyOffice's Continue and
 * Stop): the same effect as the message, without matching a sender. INVALID_STATE when it does
 * not wait for one (already answered, or never asked).
 */
export function* continueOrStopConversation(ctx: CancelCtx & WriteCtx, tx: StoreTransaction, conversationId: string, decision: Decision): TxSteps<SubmitResult> {
  const asking = yield* io(tx.stores.runs.mustGetConversation(conversationId));
  if (!asking.awaitingDecision) {
    throw new TinyError('INVALID_STATE', `Conversation ${conversationId} is not waiting for a decision${asking.status === 'active' ? '' : ` (it is ${asking.status})`}.`, {
      details: { conversationId, status: asking.status },
    });
  }
  return yield* continueOrStop(ctx, tx, asking, decision);
}

/** `continue` raises the asking conversation's limits (and delivers held work); `stop` ends it. */
function* continueOrStop(ctx: CancelCtx & WriteCtx, tx: StoreTransaction, asking: ConversationRecord, decision: Decision): TxSteps<SubmitResult> {
  const { runs, events, outbox } = tx.stores;
  const result = { messageId: '', conversationId: asking.id, agentId: asking.rootAgentId, teamId: asking.teamId, created: false, action: 'answered' as const, addressed: asking.addressed, decision };

  if (decision === 'stop') {
    const cancelled = yield* stopConversation(ctx, tx, asking.id, { byHuman: true });
    yield* io(events.append({ type: 'system.notice', conversationId: asking.id, agentId: asking.rootAgentId, data: { action: 'stop', cancelled: cancelled.length } }));
    return { ...result, reply: `Stopped. ${cancelled.length} outstanding run${cancelled.length === 1 ? '' : 's'} cancelled.` };
  }
  const held: HeldDelivery[] = asking.held;
  const limitScale = asking.limitScale * 2;
  const reopen = held.length > 0;
  const resume = asking.status !== 'active' && reopen;
  yield* io(
    runs.updateConversation(asking.id, {
      limitScale,
      softWarned: false,
      ...(resume ? { status: 'active' as const, stopReason: null } : {}),
      awaitingDecision: false,
      held: [],
      ...(reopen ? { finished: false } : {}),
    }),
  );
  const conversation = yield* io(runs.mustGetConversation(asking.id));
  // Retention keeps a waiting conversation's runs; one removed anyway (by hand) is said, not hidden.
  let delivered = 0;
  for (const h of held) {
    const parent = yield* io(runs.getRun(h.parentRunId));
    if (!parent) continue;
    yield* enqueueDelivery(ctx, tx, conversation, parent, h.parentMessageId, { ...h, pingPong: undefined });
    delivered++;
  }
  if (delivered > 0) yield* io(runs.bumpConversation(asking.id, { messages: delivered }));
  yield* io(events.append({ type: 'system.notice', conversationId: asking.id, agentId: asking.rootAgentId, data: { action: 'continue', limitScale, delivered } }));
  const lost = held.length - delivered;
  const text = `Limits raised to ${limitScale}× for this conversation${delivered > 0 ? `; ${delivered} held message${delivered === 1 ? '' : 's'} delivered` : ''}${lost > 0 ? `; ${lost} could not be: ${lost === 1 ? 'the run it came from no longer exists' : 'the runs they came from no longer exist'}` : ''}.`;
  yield* io(outbox.enqueue(toHuman(conversation, { key: noteKey(asking.id, `continue:${limitScale}`), text, kind: 'system' })));
  yield* completeIfDone(tx, asking.id);
  return { ...result, reply: text };
}

/** A conversation's title: the message's start, without the `[task:<id>] ` tag a kanban dispatch leads with (people read the task's name, not its id). */
export function titleOf(text: string): string {
  return text.replace(/^\[task:[^\]\s]+\]\s*/, '').slice(0, 120);
}

/**
 * The orchestrator: drives the durable queue through agents and the team protocol.
 *
 *   claim -> compose prompt -> invoke (progress streamed as `run.progress`) -> record usage ->
 *   parse tags -> guards -> enqueue handoffs / chat-room posts / replies + run records + events,
 *   all in the transaction that completes the claimed messages -> conversation completion.
 *
 * Concurrency: `queue.concurrency` invocations at once (global), one batch per agent at a time
 * (the queue's per-agent single flight); sub-agents run beside them, limited by the tree limits.
 * Settings are read live (`getSettings`) at every claim and run.
 */
import { invokeAgent, newId, QueueWorker, TERMINAL_RUN_STATUSES, TinyError, type InvokeRequest, type InvokeResult, type Settings, type Stores } from '@tinyagi/core';
import {
  ownEntry,
  type AgentMessageStore,
  type AgentSessionStore,
  agentDefaults,
  type CancelOutcome,
  type ChatroomStore,
  effectiveQueue,
  groupWrites,
  type SenderDefaultsStore,
  STEER_COMMANDS,
  type SteerCommand,
  withDatabase,
} from '@tinyagi/core/internal';
import { buildTranscript, transcriptToMarkdown, type TranscriptEntry } from '../conversations/transcript.ts';
import { nestRuns, runNode, type ConversationTree } from '../conversations/tree.ts';
import { teamMembers } from '../protocol/addressing.ts';
import { chatroomMessage, type MessageMeta } from '../router/provenance.ts';
import { SteeringBoard } from '../steering/steering.ts';
import { spawnSubAgent, type SpawnInput, type SpawnResult } from '../subagents/spawner.ts';
import type { Spawner } from '../subagents/sub-agent.ts';
import type { Ctx, OrchestratorPlugin } from './context.ts';
import { cancelConversation, cancelMessage, cancelRunTree, stopOverdueConversations, type CancelConversationResult } from './conversation-ops.ts';
import { createRunWithEvent, treeFields } from './lifecycle.ts';
import { PLUGIN_HOOK_TIMEOUT_MS } from './plugins.ts';
import { handleBatch } from './process-batch.ts';
import { onMessageDead, reconcileOpenRuns } from './recovery.ts';
import { submitMessage, type SubmitInput, type SubmitResult } from './submit.ts';

export interface OrchestratorOptions {
  stores: Stores;
  /** Live settings: read at every claim and run (the daemon reloads them on change). */
  getSettings: () => Settings;
  /** Identifies this process's queue worker (lease owner). */
  owner?: string;
  /** Defaults to core's `invokeAgent`. */
  invoke?: (req: InvokeRequest) => Promise<InvokeResult>;
  /** Passed to CLI agents as TINYAGI_API_URL, for `tinyagi call`. */
  apiUrl?: string;
  /** Run-scoped token for CLI agents (TINYAGI_RUN_TOKEN), issued by the server. */
  issueRunToken?: (runId: string, conversationId: string) => string;
  plugins?: OrchestratorPlugin[];
  /** How long one plugin hook may take (default 10 s); a slower one is skipped for that text. */
  pluginTimeoutMs?: number;
  /** TINYAGI_HOME/files; agents may send files from there besides their workspace. */
  filesDir?: string;
  /** Environment used to resolve provider credentials (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Overrides of queue.* settings (tests, embedded use). */
  concurrency?: number;
  leaseMs?: number;
  sweepMs?: number;
  /** How often running conversations are checked against their wall clock (default 1 s). */
  deadlineCheckMs?: number;
}

export interface SteerResult {
  accepted: boolean;
  reason?: string;
}

export interface OrchestratorStatus {
  running: Array<{ runId: string; agentId: string; conversationId: string; startedAt: number; spawned: boolean }>;
  paused: string[];
}

export class Orchestrator implements Spawner {
  readonly #ctx: Ctx;
  readonly #options: OrchestratorOptions;
  #worker: QueueWorker | undefined;
  #unsubscribe: (() => void) | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;

  constructor(options: OrchestratorOptions) {
    this.#options = options;
    const stores = withDatabase(options.stores);
    const db = stores.db;
    this.#ctx = {
      stores,
      getSettings: options.getSettings,
      invoke: options.invoke ?? invokeAgent,
      plugins: options.plugins ?? [],
      pluginTimeoutMs: options.pluginTimeoutMs ?? PLUGIN_HOOK_TIMEOUT_MS,
      apiUrl: options.apiUrl,
      issueRunToken: options.issueRunToken,
      env: options.env ?? process.env,
      steering: new SteeringBoard(options.stores.steering),
      active: new Map(),
      notes: new Map(),
      worker: undefined,
      provisioned: new Set(),
      filesDir: options.filesDir,
      writes: groupWrites(db),
      startWrites: groupWrites(db, undefined, { durable: false }),
    };
  }

  /** The stores the orchestrator owns beside core's (chat rooms, sessions, agent history, sender defaults). */
  get chatroom(): ChatroomStore {
    return this.#ctx.stores.chatroom;
  }

  get sessions(): AgentSessionStore {
    return this.#ctx.stores.agentSessions;
  }

  get agentMessages(): AgentMessageStore {
    return this.#ctx.stores.agentMessages;
  }

  get senderDefaults(): SenderDefaultsStore {
    return this.#ctx.stores.senderDefaults;
  }

  /** Recovers what a previous process left behind and starts claiming. Idempotent. */
  start(): void {
    if (this.#worker) return;
    const ctx = this.#ctx;
    const queueSettings = effectiveQueue(ctx.getSettings());
    this.#unsubscribe = ctx.stores.events.subscribe((event) => {
      if (event.type !== 'queue.dead' || typeof event.data.messageId !== 'string') return;
      try {
        onMessageDead(ctx, event.data.messageId, typeof event.data.reason === 'string' ? event.data.reason : 'failed');
      } catch {
        // Reconciled at the next start at the latest; a subscriber must not throw.
      }
    });
    reconcileOpenRuns(ctx);
    this.#worker = new QueueWorker({
      store: ctx.stores.queue,
      handler: (batch, handler) => handleBatch(ctx, batch, handler),
      ...(this.#options.owner ? { owner: this.#options.owner } : {}),
      // Read at every claim: a change of queue.concurrency in settings.json applies live.
      concurrency: this.#options.concurrency ?? (() => effectiveQueue(ctx.getSettings()).concurrency),
      leaseMs: this.#options.leaseMs ?? queueSettings.lease_ms,
      sweepMs: this.#options.sweepMs ?? queueSettings.sweep_ms,
      policy: (agentId) => {
        const settings = ctx.getSettings();
        return agentDefaults(ownEntry(settings.agents, agentId) ?? {}, settings).busy_policy;
      },
    });
    ctx.worker = this.#worker;
    this.#worker.start();
    // The conversation wall clock also stops work that is already running or queued.
    this.#deadlineTimer = setInterval(() => {
      try {
        stopOverdueConversations(ctx);
      } catch (err) {
        ctx.stores.events.emit({ type: 'system.notice', data: { level: 'error', where: 'conversation deadlines', error: err instanceof Error ? err.message : String(err) } });
      }
    }, this.#options.deadlineCheckMs ?? 1000);
    this.#deadlineTimer.unref();
  }

  /**
   * Stops claiming; running work gets `graceMs` to finish, then it is aborted and its messages
   * go back to pending (picked up again after a restart). Sub-agents stop with their parents.
   */
  async stop(graceMs = 10_000): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = undefined;
    this.#ctx.worker = undefined;
    this.#unsubscribe?.();
    clearInterval(this.#deadlineTimer);
    await worker.stop(graceMs);
    for (const active of this.#ctx.active.values()) active.controller.abort('shutdown');
    this.#ctx.stores.events.flush();
  }

  /** Takes a message in: validated, routed and durably queued when this returns. */
  submit(input: SubmitInput): SubmitResult {
    return submitMessage(this.#ctx, input);
  }

  /**
   * `submit` with group commit: submissions made in the same event-loop turn (a burst of API
   * requests) share one durable transaction, a savepoint each. Resolves once the message is on
   * disk; a submission that is refused (unknown agent, empty message) rejects alone.
   */
  async submitGrouped(input: SubmitInput): Promise<SubmitResult> {
    let result: SubmitResult | undefined;
    await this.#ctx.writes.add(() => {
      result = submitMessage(this.#ctx, input);
    });
    return result!;
  }

  /** Cancels a run and all its descendants; their processes are killed. */
  cancelRun(runId: string, reason = 'cancelled by request'): { cancelled: string[] } {
    return { cancelled: cancelRunTree(this.#ctx, runId, reason) };
  }

  /**
   * Cancels a queued or running message: its run and descendants end at once, a running
   * invocation is aborted (process group killed) and awaited, and the conversation settles.
   */
  cancelMessage(messageId: string, reason = 'cancelled by request'): Promise<CancelOutcome> {
    return cancelMessage(this.#ctx, messageId, reason);
  }

  /** Cancels a whole conversation (status `cancelled`): every open run and queued message. */
  cancelConversation(conversationId: string, reason = 'cancelled by request'): Promise<CancelConversationResult> {
    return cancelConversation(this.#ctx, conversationId, reason);
  }

  steer(runId: string, command: SteerCommand, payload: { text?: string } = {}): SteerResult {
    const ctx = this.#ctx;
    const run = ctx.stores.runs.getRun(runId);
    if (!run) throw new TinyError('RUN_NOT_FOUND', `No run with id ${runId}.`);
    const settings = ctx.getSettings();
    const allowed = agentDefaults(ownEntry(settings.agents, run.agentId) ?? {}, settings).steering;
    let outcome: SteerResult;
    if (!STEER_COMMANDS.includes(command)) outcome = { accepted: false, reason: `unknown command "${String(command)}"; use ${STEER_COMMANDS.join(', ')}` };
    else if (TERMINAL_RUN_STATUSES.includes(run.status)) outcome = { accepted: false, reason: `the run has already ended (${run.status})` };
    else if (!allowed.includes(command)) outcome = { accepted: false, reason: `agents.${run.agentId}.steering does not allow "${command}" (allowed: ${allowed.join(', ') || 'none'})` };
    else if (command === 'cancel') {
      this.cancelRun(runId, payload.text ?? 'cancelled by steering');
      outcome = { accepted: true };
    } else {
      outcome = ctx.steering.apply(runId, command, payload.text);
    }
    ctx.stores.events.append({
      type: 'run.steered',
      ...treeFields(run),
      data: { command, accepted: outcome.accepted, ...(outcome.reason ? { reason: outcome.reason } : {}), ...(payload.text ? { text: payload.text } : {}) },
    });
    return outcome;
  }

  /** Runs `input.agent` as a sub-agent of a running run and resolves with its answer or an explicit refusal. */
  spawn(parentRunId: string, input: SpawnInput): Promise<SpawnResult> {
    return spawnSubAgent(this.#ctx, parentRunId, input);
  }

  /** A post to a team's chat room (a human's, or an agent's from outside a run): every other member receives it. */
  postChatroom(teamId: string, from: string, text: string): { id: number; conversationId: string | null } {
    const ctx = this.#ctx;
    const settings = ctx.getSettings();
    const team = ownEntry(settings.teams, teamId);
    if (!team) throw new TinyError('TEAM_NOT_FOUND', `No team "${teamId}".`, { hint: `Known teams: ${Object.keys(settings.teams ?? {}).join(', ') || 'none'}.` });
    const members = teamMembers(settings, teamId);
    const author = from.replace(/^@/, '') || 'user';
    if (author !== 'user' && !members.includes(author)) {
      throw new TinyError('NOT_A_MEMBER', `@${author} is not a member of #${teamId}.`, { hint: `Members: ${members.map((m) => `@${m}`).join(', ')}.` });
    }
    if (text.trim() === '') throw new TinyError('MESSAGE_EMPTY', 'The chat-room post is empty.');
    const { runs, queue, events, db } = ctx.stores;
    return db.write(() => {
      const recipients = members.filter((m) => m !== author);
      // Posts join the room's conversation while it is still running, so members that are
      // busy receive every waiting post in one invocation.
      let conversationId: string | null = recipients.length > 0 ? (ctx.stores.queries.activeRoomConversation(teamId) ?? null) : null;
      if (recipients.length > 0 && conversationId === null) {
        conversationId = newId('conv');
        runs.createConversation({ id: conversationId, teamId, rootAgentId: team.leader_agent ?? recipients[0]!, channel: 'chatroom', sender: author, senderId: author, title: text.slice(0, 120) });
        events.append({ type: 'conversation.started', conversationId, data: { channel: 'chatroom', sender: author, teamId } });
      }
      const post = ctx.stores.chatroom.post({ teamId, fromAgent: author, content: text, conversationId });
      events.append({ type: 'chatroom.message', conversationId, data: { teamId, from: author, postId: post.id, text } });
      for (const agentId of recipients) {
        const runId = newId('run');
        const messageId = newId('msg');
        const meta: MessageMeta = { from: author === 'user' ? null : author, hop: 0, room: teamId, body: text };
        queue.enqueue({
          id: messageId,
          runId,
          kind: 'chatroom',
          agentId,
          teamId,
          conversationId: conversationId!,
          channel: 'chatroom',
          sender: author,
          senderId: author,
          content: chatroomMessage({ from: author, teamId, text }),
          meta: { ...meta },
        });
        createRunWithEvent(ctx, { id: runId, conversationId: conversationId!, agentId, teamId, channel: 'chatroom', cause: 'chatroom', depth: 0, messageIds: [messageId], input: text });
      }
      return { id: post.id, conversationId };
    });
  }

  conversationTree(conversationId: string): ConversationTree {
    const { runs } = this.#ctx.stores;
    const conversation = runs.mustGetConversation(conversationId);
    return { conversation, roots: nestRuns(runs.listRuns(conversationId).map(runNode)) };
  }

  transcript(conversationId: string): TranscriptEntry[] {
    const { runs } = this.#ctx.stores;
    return buildTranscript(runs.mustGetConversation(conversationId), runs.listRuns(conversationId));
  }

  transcriptMarkdown(conversationId: string): string {
    const { runs } = this.#ctx.stores;
    const conversation = runs.mustGetConversation(conversationId);
    return transcriptToMarkdown(conversation, buildTranscript(conversation, runs.listRuns(conversationId)));
  }

  status(): OrchestratorStatus {
    return {
      running: [...this.#ctx.active.values()].map((a) => ({ runId: a.runId, agentId: a.agentId, conversationId: a.conversationId, startedAt: a.startedAt, spawned: a.spawned })),
      paused: this.#ctx.steering.pausedRuns(),
    };
  }
}

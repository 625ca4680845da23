/**
 * The orchestrator: drives the durable queue through agents and the team protocol. Each claimed
 * batch goes through the pipeline of process-batch.ts:
 *
 *   claim -> plan (pure, plan.ts) -> invoke (invoke-turns.ts) -> decide (pure, decide.ts) ->
 *   commit (run-effects.ts, in the transaction that completes the claimed messages) -> publish
 *
 * Observers (core's observer seam, docs/observers.md; `addObserver`) hear claims, runs started,
 * progress, failed attempts, runs ended and commits; the event log's run events and usage
 * accounting are the first two (observers.ts).
 *
 * Concurrency: `queue.concurrency` invocations at once (global), one batch per agent at a time
 * (the queue's per-agent single flight); sub-agents run beside them, limited by the tree limits.
 * Settings are read live (`getSettings`) at every claim and run.
 *
 * Storage: any `StoreSet` (SQLite, the default, or PostgreSQL). Reads are awaited; writes are
 * transaction bodies (`stores.commit`, `yield* io(…)` per store call), which run synchronously
 * inside one write on SQLite.
 */
import {
  invokeAgent,
  newId,
  ObserverList,
  QueueWorker,
  TERMINAL_RUN_STATUSES,
  TinyError,
  warmCapabilities,
  type ApprovalAnswer,
  type ApprovalAsk,
  type InvokeRequest,
  type InvokeResult,
  type Observer,
  type RunStatus,
  type Settings,
} from '@tinyagi/core';
import {
  ownEntry,
  type AgentMessageStoreApi,
  type AgentSessionStoreApi,
  agentDefaults,
  type CancelOutcome,
  type ChatroomStoreApi,
  effectiveQueue,
  io,
  resolveInvokeTarget,
  type SenderDefaultsStoreApi,
  STEER_COMMANDS,
  type SteerCommand,
  type StoreSet,
  type StoreTransaction,
  QuotaBoard,
  type ApprovalRecord,
  type QuotaHoldView,
} from '@tinyagi/core/internal';
import { buildTranscript, transcriptToMarkdown, type TranscriptEntry } from '../conversations/transcript.ts';
import { nestRuns, runNode, type ConversationTree } from '../conversations/tree.ts';
import { teamMembers } from '../protocol/addressing.ts';
import { chatroomMessage, type MessageMeta } from '../router/provenance.ts';
import { steerCapabilities, steerNote, type SteerCapability, type SteerRunner } from '../steering/capabilities.ts';
import { SteeringBoard } from '../steering/steering.ts';
import { spawnSubAgent, type SpawnInput, type SpawnResult } from '../subagents/spawner.ts';
import type { Spawner } from '../subagents/sub-agent.ts';
import type { Ctx, OrchestratorPlugin } from './context.ts';
import { cancelConversation, cancelMessage, cancelRunTree, stopCancelledElsewhere, stopOverdueConversations, type CancelConversationResult } from './conversation-ops.ts';
import { createRunWithEvent } from './lifecycle.ts';
import { DEFAULT_RELAY_TIMEOUT_MS, relayedToThisNode, relaySteer, steeredEvent } from '../steering/relay.ts';
import { PLUGIN_HOOK_TIMEOUT_MS } from './plugins.ts';
import { handleBatch } from './process-batch.ts';
import { onMessageDead, reconcileOpenRuns } from './recovery.ts';
import { steerEntry } from '@tinyagi/client';
import type { ApprovalDecision, Decision, RunAction, RunSteerEntry } from '@tinyagi/client/contract';
import { askHumanFor, declareAction } from './run-actions.ts';
import { ApprovalDesk, type HumanAnswer, type HumanQuestion } from '../approvals/desk.ts';
import { decideConversation, submitMessage, type SubmitInput, type SubmitResult } from './submit.ts';
import { AgentNotes } from './agent-notes.ts';
import { eventLogObserver, usageObserver } from './observers.ts';

export interface OrchestratorOptions {
  /** The stores of any backend (`openStores` for SQLite, `openPgStores` for PostgreSQL). */
  stores: StoreSet;
  /** Live settings: read at every claim and run (the daemon reloads them on change). */
  getSettings: () => Settings;
  /** Identifies this process's queue worker (lease owner). */
  owner?: string;
  /**
   * Only these agents are run here (a node's: its own and the unplaced ones, core's
   * `agentsForNode`). Read at every claim, so a change of placement applies at once. Absent: all.
   */
  agents?: () => ReadonlySet<string>;
  /**
   * Agents not run here (the API node of several: those placed on other nodes, core's
   * `agentsOnOtherNodes`). Read at every claim. Unlike `agents`, an agent missing from the
   * settings is still claimed, and its messages end dead with the reason.
   */
  skipAgents?: () => ReadonlySet<string>;
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
  /**
   * This node's name when several nodes share a PostgreSQL database: agent CLI sessions are
   * recorded with it, and a session another node holds (its files are on that machine) is not
   * resumed here: the run starts a new one. Absent: one process, every session resumes.
   */
  node?: string;
  filesDir?: string;
  /** Environment used to resolve provider credentials (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Overrides of queue.* settings (tests, embedded use). */
  concurrency?: number;
  leaseMs?: number;
  sweepMs?: number;
  /** How often running conversations are checked against their wall clock (default 1 s). */
  deadlineCheckMs?: number;
  /** Several nodes: how long a steering command relayed to the node running the run waits for its answer (default 5 s). */
  steerRelayTimeoutMs?: number;
  /** Observers added at construction, after the orchestrator's own (the event log, usage accounting); see `addObserver`. */
  observers?: Observer<StoreTransaction>[];
}

export interface SteerResult {
  accepted: boolean;
  reason?: string;
  /** An accepted command: what it does for the run's provider (capabilities.ts). */
  effect?: string;
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
  #starting: Promise<void> | undefined;

  constructor(options: OrchestratorOptions) {
    this.#options = options;
    const stores = options.stores;
    const observers = new ObserverList<StoreTransaction>({ onFailure: (name, err) => reportError(stores, `observer ${name}`, err) });
    observers.add(eventLogObserver(stores.events));
    observers.add(usageObserver());
    for (const observer of options.observers ?? []) observers.add(observer);
    this.#ctx = {
      stores,
      getSettings: options.getSettings,
      invoke: options.invoke ?? invokeAgent,
      plugins: options.plugins ?? [],
      pluginTimeoutMs: options.pluginTimeoutMs ?? PLUGIN_HOOK_TIMEOUT_MS,
      apiUrl: options.apiUrl,
      issueRunToken: options.issueRunToken,
      env: options.env ?? process.env,
      steering: new SteeringBoard(stores.steering, (err) => reportError(stores, 'steering store', err)),
      active: new Map(),
      cancelledHeld: new Map(),
      notes: new AgentNotes(),
      worker: undefined,
      provisioned: new Set(),
      filesDir: options.filesDir,
      node: options.node,
      writes: stores.groupCommit(),
      startWrites: stores.groupCommit({ durable: false }),
      observers,
      quotas: new QuotaBoard({
        store: stores.quotas,
        events: stores.events,
        getSettings: options.getSettings,
        env: options.env ?? process.env,
        // A hold ended: the held agents' messages are claimable again.
        onRelease: () => this.#worker?.wake(),
        onError: (err) => reportError(stores, 'quota holds', err),
      }),
      approvals: new ApprovalDesk({
        stores,
        getSettings: options.getSettings,
        env: options.env ?? process.env,
        observers,
        onError: (err) => reportError(stores, 'approvals', err),
      }),
    };
  }

  /** Accounts held until their rate limit resets, with the agents each holds (docs/quotas.md). */
  quotaHolds(): QuotaHoldView[] {
    return this.#ctx.quotas.list();
  }

  /**
   * Adds an observer of this orchestrator's work (claims of its queue worker, runs started,
   * progress, attempts failed, runs ended, effects committed: docs/observers.md). It watches and
   * cannot veto; a notification that throws is caught, counted and logged once (`system.notice`).
   * Returns the function that removes it.
   */
  addObserver(observer: Observer<StoreTransaction>): () => void {
    return this.#ctx.observers.add(observer);
  }

  /** How often each observer's notifications failed (observers that never failed are absent). */
  observerFailures(): Array<{ name: string; count: number }> {
    return this.#ctx.observers.failures();
  }

  /** The stores the orchestrator owns beside core's (chat rooms, sessions, agent history, sender defaults). */
  get chatroom(): ChatroomStoreApi {
    return this.#ctx.stores.chatroom;
  }

  get sessions(): AgentSessionStoreApi {
    return this.#ctx.stores.agentSessions;
  }

  get agentMessages(): AgentMessageStoreApi {
    return this.#ctx.stores.agentMessages;
  }

  get senderDefaults(): SenderDefaultsStoreApi {
    return this.#ctx.stores.senderDefaults;
  }

  /**
   * Recovers what a previous process left behind (steering of open runs, runs no process can
   * finish) and starts claiming. Idempotent; concurrent calls share one start.
   */
  start(): Promise<void> {
    this.#starting ??= this.#start().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    if (this.#worker) return;
    const ctx = this.#ctx;
    const queueSettings = effectiveQueue(ctx.getSettings());
    await ctx.steering.restore();
    // Holds a previous process (or another node) recorded stay in force after a restart.
    await ctx.quotas.restore();
    this.#unsubscribe = ctx.stores.events.subscribe((event) => {
      if (event.type === 'runtime.quota' && (event.data.status === 'exhausted' || event.data.status === 'released')) {
        // Another node's report (PostgreSQL): its hold applies here too. Our own changes nothing.
        ctx.quotas.refresh().catch((err: unknown) => reportError(ctx.stores, 'quota holds', err));
        return;
      }
      if (relayedToThisNode(ctx, event)) {
        // A command for a run of this node, sent to another one (steering/relay.ts).
        this.steer(
          event.runId!,
          event.data.command as SteerCommand,
          { ...(event.data.text ? { text: event.data.text } : {}), ...(event.data.by ? { by: event.data.by } : {}) },
          { requestId: event.data.requestId },
        ).catch(() => {});
        return;
      }
      if (event.type === 'run.cancelled' && ctx.node !== undefined) {
        // Several nodes: a run of this node cancelled by another one stops now, not at the next
        // lease renewal (the queue's fallback, up to a third of the lease later).
        stopCancelledElsewhere(ctx, event.runId, event.data.reason);
        return;
      }
      if (event.type !== 'queue.dead' || typeof event.data.messageId !== 'string') return;
      // Reconciled at the next start at the latest; a subscriber must not throw.
      onMessageDead(ctx, event.data.messageId, typeof event.data.reason === 'string' ? event.data.reason : 'failed').catch(() => {});
    });
    await reconcileOpenRuns(ctx);
    // Requests whose runs no process runs any more (this node's, ended by the reconcile above):
    // their CLIs are gone, so they are cancelled ("denied: the session ended"), never left waiting.
    await ctx.approvals.recover();
    this.#worker = new QueueWorker({
      store: ctx.stores.queue,
      handler: (batch, handler) => handleBatch(ctx, batch, handler),
      observers: ctx.observers,
      ...(this.#options.owner ? { owner: this.#options.owner } : {}),
      ...(this.#options.agents ? { agents: this.#options.agents } : {}),
      // Agents on an account held until its rate limit resets are not claimed (no attempt spent).
      skipAgents: () => unionOf(this.#options.skipAgents?.(), ctx.quotas.heldAgents()),
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
    let checking = false;
    this.#deadlineTimer = setInterval(() => {
      if (checking) return;
      checking = true;
      stopOverdueConversations(ctx)
        .catch((err: unknown) => reportError(ctx.stores, 'conversation deadlines', err))
        .finally(() => {
          checking = false;
        });
    }, this.#options.deadlineCheckMs ?? 1000);
    this.#deadlineTimer.unref();
  }

  /**
   * Closes runs no process can finish any more (sub-agent runs of a process that is gone, runs
   * whose messages ended without them). Done at start; a node calls it again after it released
   * the work of a node that died. Returns how many runs it closed.
   */
  reconcile(): Promise<number> {
    return reconcileOpenRuns(this.#ctx);
  }

  /**
   * Stops claiming; running work gets `graceMs` to finish, then it is aborted and its messages
   * go back to pending (picked up again after a restart). Sub-agents stop with their parents.
   */
  async stop(graceMs = 10_000): Promise<void> {
    // A start under way finishes first (its failure is the caller of start's to see).
    await this.#starting?.catch(() => {});
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = undefined;
    this.#ctx.worker = undefined;
    this.#unsubscribe?.();
    clearInterval(this.#deadlineTimer);
    this.#ctx.quotas.stop();
    await worker.stop(graceMs);
    for (const active of this.#ctx.active.values()) active.controller.abort('shutdown');
    await this.#ctx.stores.events.flush();
  }

  /** Takes a message in: validated, routed and queued (one transaction) when this resolves. */
  async submit(input: SubmitInput): Promise<SubmitResult> {
    const ctx = this.#ctx;
    return ctx.stores.transaction(function* submit(tx) {
      return yield* submitMessage(ctx, tx, input);
    });
  }

  /**
   * `submit` with group commit: submissions made in the same event-loop turn (a burst of API
   * requests) share one durable transaction, a savepoint each. Resolves once the message is on
   * disk; a submission that is refused (unknown agent, empty message) rejects alone.
   */
  async submitGrouped(input: SubmitInput): Promise<SubmitResult> {
    const ctx = this.#ctx;
    let result: SubmitResult | undefined;
    await ctx.writes.add(function* submitGrouped(tx) {
      result = yield* submitMessage(ctx, tx, input);
    });
    return result!;
  }

  /**
   * The person's decision on a conversation that waits for one (a guard held its work):
   * `continue` raises its limits and delivers what was held, `stop` ends it. INVALID_STATE when
   * it does not wait; CONVERSATION_NOT_FOUND for an unknown id.
   */
  async decide(conversationId: string, decision: Decision): Promise<SubmitResult> {
    const ctx = this.#ctx;
    return ctx.stores.transaction(function* decide(tx) {
      return yield* decideConversation(ctx, tx, conversationId, decision);
    });
  }

  /** Cancels a run and all its descendants; their processes are killed. */
  async cancelRun(runId: string, reason = 'cancelled by request'): Promise<{ cancelled: string[] }> {
    return { cancelled: await cancelRunTree(this.#ctx, runId, reason) };
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

  /**
   * Applies a steering command and records the answer (`run.steered`). With several nodes, a
   * command for a run another node runs is relayed to it and its answer returned
   * (steering/relay.ts); `relay` marks a command this node received that way.
   */
  async steer(runId: string, command: SteerCommand, payload: { text?: string; by?: string } = {}, relay?: { requestId: string }): Promise<SteerResult> {
    const ctx = this.#ctx;
    const run = await ctx.stores.runs.getRun(runId);
    if (!run) throw new TinyError('RUN_NOT_FOUND', `No run with id ${runId}.`);
    const settings = ctx.getSettings();
    const allowed = agentDefaults(ownEntry(settings.agents, run.agentId) ?? {}, settings).steering;
    let outcome: SteerResult;
    if (!STEER_COMMANDS.includes(command)) outcome = { accepted: false, reason: `unknown command "${String(command)}"; use ${STEER_COMMANDS.join(', ')}` };
    else if (TERMINAL_RUN_STATUSES.includes(run.status)) outcome = { accepted: false, reason: `the run has already ended (${run.status})` };
    else if (!allowed.includes(command)) outcome = { accepted: false, reason: `agents.${run.agentId}.steering does not allow "${command}" (allowed: ${allowed.join(', ') || 'none'})` };
    else if (command !== 'cancel' && ctx.node !== undefined && !ctx.active.has(runId)) {
      // Several nodes: a steering board lives in the process that runs the run. A running run of
      // another node gets the command relayed (its node answers); a queued one may start on any
      // node: the command is kept in the store for the node that starts it, unless it started
      // meanwhile (then relayed). A cancel goes through the queue and reaches any node.
      const queued = run.status === 'queued' && !relay ? await ctx.steering.applyQueued(runId, command, payload.text) : 'started';
      if (queued !== 'started') outcome = queued;
      else if (!relay) return relaySteer(ctx, run, command, payload, this.#options.steerRelayTimeoutMs ?? DEFAULT_RELAY_TIMEOUT_MS);
      else outcome = { accepted: false, reason: 'the run is not running on this node' };
    } else if (command === 'cancel') {
      await this.cancelRun(runId, payload.text ?? `cancelled by ${payload.by ?? 'steering'}`);
      outcome = { accepted: true };
    } else {
      outcome = ctx.steering.apply(runId, command, payload.text);
    }
    // What an accepted command does for this provider, said with the answer (and in the tree).
    if (outcome.accepted) outcome = { accepted: true, effect: steerNote(this.#runnerOf(run.agentId), command, run.status === 'queued') };
    await ctx.stores.events.append(steeredEvent(run, command, outcome, payload, relay?.requestId));
    return outcome;
  }

  /** The adapter that runs an agent, with its live driver's capabilities when it runs warm (`turn`-only steering for one that no longer resolves). */
  #runnerOf(agentId: string): SteerRunner {
    try {
      const target = resolveInvokeTarget(this.#ctx.getSettings(), agentId, this.#ctx.env);
      return { adapter: target.adapter, live: warmCapabilities(target) };
    } catch {
      return { adapter: 'unknown' };
    }
  }

  /** What each steering command does for a run (its provider), which are allowed, and whether it is paused. */
  async runSteering(runId: string): Promise<{ runId: string; agentId: string; adapter: string; status: RunStatus; paused: boolean; commands: SteerCapability[] }> {
    const ctx = this.#ctx;
    const run = await ctx.stores.runs.mustGetRun(runId);
    const settings = ctx.getSettings();
    const allowed = agentDefaults(ownEntry(settings.agents, run.agentId) ?? {}, settings).steering;
    const runner = this.#runnerOf(run.agentId);
    const adapter = runner.adapter;
    const paused = !TERMINAL_RUN_STATUSES.includes(run.status) && (ctx.steering.isPaused(runId) || (await this.#pausedElsewhere(run.id, run.conversationId)));
    return { runId: run.id, agentId: run.agentId, adapter, status: run.status, paused, commands: steerCapabilities(runner, allowed, run.status) };
  }

  /** Several nodes: the last accepted pause/resume of a run another node holds. */
  async #pausedElsewhere(runId: string, conversationId: string): Promise<boolean> {
    if (this.#ctx.node === undefined) return false;
    const events = await this.#ctx.stores.events.readSince(0, { conversationId, runId, types: ['run.steered'] }, 10_000);
    return events.findLast((e) => e.data.accepted && (e.data.command === 'pause' || e.data.command === 'resume'))?.data.command === 'pause';
  }

  /** Runs `input.agent` as a sub-agent of a running run and resolves with its answer or an explicit refusal. */
  spawn(parentRunId: string, input: SpawnInput): Promise<SpawnResult> {
    return spawnSubAgent(this.#ctx, parentRunId, input);
  }

  /** A person's answer to an approval request (the first answer wins: APPROVAL_DECIDED after). */
  decideApproval(id: string, decision: ApprovalDecision, by: string, reason?: string, answer?: string): Promise<ApprovalRecord> {
    return this.#ctx.approvals.decide(id, decision, by, reason, answer);
  }

  /**
   * A permission request of a running run's CLI made through the API (the MCP tool
   * `approval_prompt` of per-message Claude Code): the run's approval step decides, as for a
   * request its runtime reports itself (rules, session allowances, a person, expiry).
   */
  requestApproval(runId: string, ask: ApprovalAsk): Promise<ApprovalAnswer> {
    const askApproval = this.#ctx.active.get(runId)?.askApproval;
    if (!askApproval) return Promise.reject(new TinyError('INVALID_STATE', `Run ${runId} is not running on this node: it can ask for approval only while its turn runs.`));
    return askApproval(ask);
  }

  /** An agent's `ask_human`: its running run asks the person and waits for the answer (run-actions.ts). */
  askHuman(runId: string, question: HumanQuestion, signal?: AbortSignal): Promise<HumanAnswer> {
    return askHumanFor(this.#ctx.active.get(runId), runId, question, signal);
  }

  /** An agent's tool asks its running run to hand off, post or send a file when its turn ends (run-actions.ts); returns what will happen. */
  declareRunAction(runId: string, action: RunAction): string {
    return declareAction(this.#ctx.active.get(runId), runId, this.#ctx.getSettings(), action);
  }

  /** A post to a team's chat room (a human's, or an agent's from outside a run): every other member receives it. */
  async postChatroom(teamId: string, from: string, text: string): Promise<{ id: number; conversationId: string | null }> {
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
    return ctx.stores.transaction(function* postChatroom(tx) {
      const { runs, queue, events } = tx.stores;
      const recipients = members.filter((m) => m !== author);
      // Posts join the room's conversation while it is still running, so members that are
      // busy receive every waiting post in one invocation.
      let conversationId: string | null = recipients.length > 0 ? ((yield* io(tx.stores.queries.activeRoomConversation(teamId))) ?? null) : null;
      if (recipients.length > 0 && conversationId === null) {
        conversationId = newId('conv');
        yield* io(
          runs.createConversation({ id: conversationId, teamId, rootAgentId: team.leader_agent ?? recipients[0]!, channel: 'chatroom', sender: author, senderId: author, title: text.slice(0, 120) }),
        );
        yield* io(events.append({ type: 'conversation.started', conversationId, data: { channel: 'chatroom', sender: author, teamId } }));
      }
      const post = yield* io(tx.stores.chatroom.post({ teamId, fromAgent: author, content: text, conversationId }));
      yield* io(events.append({ type: 'chatroom.message', conversationId, data: { teamId, from: author, postId: post.id, text } }));
      for (const agentId of recipients) {
        const runId = newId('run');
        const messageId = newId('msg');
        const meta: MessageMeta = { from: author === 'user' ? null : author, hop: 0, room: teamId, body: text };
        yield* io(
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
          }),
        );
        yield* createRunWithEvent(ctx, tx, { id: runId, conversationId: conversationId!, agentId, teamId, channel: 'chatroom', cause: 'chatroom', depth: 0, messageIds: [messageId], input: text });
      }
      return { id: post.id, conversationId };
    });
  }

  async conversationTree(conversationId: string): Promise<ConversationTree> {
    const { runs } = this.#ctx.stores;
    const conversation = await runs.mustGetConversation(conversationId);
    const steering = await this.#steeringOf(conversationId);
    return { conversation, roots: nestRuns((await runs.listRuns(conversationId)).map((r) => runNode(r, steering.get(r.id)))) };
  }

  async transcript(conversationId: string): Promise<TranscriptEntry[]> {
    const { runs } = this.#ctx.stores;
    return buildTranscript(await runs.mustGetConversation(conversationId), await runs.listRuns(conversationId), await this.#steeringOf(conversationId));
  }

  async transcriptMarkdown(conversationId: string): Promise<string> {
    const { runs } = this.#ctx.stores;
    const conversation = await runs.mustGetConversation(conversationId);
    return transcriptToMarkdown(conversation, buildTranscript(conversation, await runs.listRuns(conversationId), await this.#steeringOf(conversationId)));
  }

  /** The accepted steering commands of a conversation's runs (their `run.steered` events), by run. */
  async #steeringOf(conversationId: string): Promise<Map<string, RunSteerEntry[]>> {
    const byRun = new Map<string, RunSteerEntry[]>();
    for (const event of await this.#ctx.stores.events.readSince(0, { conversationId, types: ['run.steered'] }, 10_000)) {
      const entry = event.runId ? steerEntry(event) : undefined;
      if (!entry) continue;
      const list = byRun.get(event.runId!);
      if (list) list.push(entry);
      else byRun.set(event.runId!, [entry]);
    }
    return byRun;
  }

  status(): OrchestratorStatus {
    return {
      running: [...this.#ctx.active.values()].map((a) => ({ runId: a.runId, agentId: a.agentId, conversationId: a.conversationId, startedAt: a.startedAt, spawned: a.spawned })),
      paused: this.#ctx.steering.pausedRuns(),
    };
  }
}

/** A background failure (a timer's, a write-through's) as a `system.notice` event: nothing to throw it to. */
function reportError(stores: StoreSet, where: string, err: unknown): void {
  stores.events.emit({ type: 'system.notice', data: { level: 'error', where, error: err instanceof Error ? err.message : String(err) } });
}

/** Both sets (the common case, nothing held: the first as it is). */
function unionOf(a: ReadonlySet<string> | undefined, b: ReadonlySet<string>): ReadonlySet<string> {
  if (b.size === 0) return a ?? b;
  if (!a || a.size === 0) return b;
  return new Set([...a, ...b]);
}

/**
 * The orchestrator: drives the durable queue through agents and the team protocol. Each claimed
 * batch goes through the pipeline of process-batch.ts:
 *
 *   claim -> plan (pure, plan.ts) -> invoke (invoke-turns.ts) -> route (pure, route.ts) ->
 *   commit (run-effects.ts, in the transaction that completes the claimed messages) -> publish
 *
 * It is the pipeline only: taking messages in, running batches and sub-agents, its lifecycle.
 * The facets a person uses on it are built on it by whoever serves them (facets/: steering,
 * the approval desk's surfaces, chat rooms, cancel and continue/stop, the conversation views;
 * `orchestratorFacets` builds them all); they share its in-process state through
 * `orchestratorContext`, which is not part of the package's API.
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
import { invokeAgent, ObserverList, QueueWorker, type InvokeRequest, type InvokeResult, type Observer, type Settings, type TaskCheckedEvent } from '@tinyagi/core';
import {
  ownEntry,
  agentDefaults,
  effectiveQueue,
  type SandboxHost,
  type SteerCommand,
  type StoreSet,
  type StoreTransaction,
  QuotaBoard,
  type QuotaHoldView,
  resolveInvokeTarget,
} from '../core-internal.ts';
import type { RunAction } from '@tinyagi/client/contract';
import { ApprovalDesk } from '../approvals/desk.ts';
import { DEFAULT_RELAY_TIMEOUT_MS, relayedToThisNode } from '../steering/relay.ts';
import { steerRun } from '../steering/steer.ts';
import { SteeringBoard } from '../steering/steering.ts';
import { spawnSubAgent, type SpawnInput, type SpawnResult } from '../subagents/spawner.ts';
import type { Spawner } from '../subagents/sub-agent.ts';
import { AgentNotes } from './agent-notes.ts';
import type { Ctx, OrchestratorPlugin } from './context.ts';
import { stopCancelledElsewhere, stopOverdueConversations } from './conversation-ops.ts';
import { eventLogObserver, usageObserver } from './observers.ts';
import { PLUGIN_HOOK_TIMEOUT_MS } from './plugins.ts';
import { handleBatch } from './process-batch.ts';
import { onMessageDead, reconcileOpenRuns } from './recovery.ts';
import { declareAction } from './run-actions.ts';
import { submitMessage, type SubmitInput, type SubmitResult } from './submit.ts';
import { startGroup } from './start-group.ts';

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
  /** `invoke` carries a launch's model route through this node's model proxy (the daemon's agent call): the launch plans route there. */
  modelProxy?: boolean;
  /**
   * The node's sandbox host (core's `sandboxHost`): every agent call carries it (`sandboxHost`: the
   * confined starts on it), the launch plans and the approval desk follow its machine check.
   * Absent: each start makes its own host, and the plans a quick check of the machine.
   */
  sandboxHost?: SandboxHost;
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
  /** Observers added at construction, after the orchestrator's own (the event log, usage accounting); see `addObserver`. */
  observers?: Observer<StoreTransaction>[];
}

export interface OrchestratorStatus {
  running: Array<{ runId: string; agentId: string; conversationId: string; startedAt: number; spawned: boolean }>;
  paused: string[];
}

/** Set once the class is defined: reads an orchestrator's context (its private field). */
let contextOf: (orchestrator: Orchestrator) => Ctx;

/**
 * The in-process state an orchestrator shares with the facets built on it (facets/). For
 * this package only (not exported from its entries); a TypeError for anything that is not an
 * Orchestrator of this package.
 */
export function orchestratorContext(orchestrator: Orchestrator): Ctx {
  return contextOf(orchestrator);
}

export class Orchestrator implements Spawner {
  static {
    contextOf = (orchestrator) => {
      if (typeof orchestrator !== 'object' || orchestrator === null || !(#ctx in orchestrator)) {
        throw new TypeError('Not an Orchestrator of @tinyagi/teams: its facets are built on one (new Orchestrator(…)).');
      }
      return orchestrator.#ctx;
    };
  }

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
      invoke: withSandboxHost(options.invoke ?? invokeAgent, options.sandboxHost),
      modelProxy: options.modelProxy ?? false,
      sandboxHost: options.sandboxHost,
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
      startWrites: startGroup(stores.groupCommit({ durable: false }), options.node),
      observers,
      quotas: new QuotaBoard({
        store: stores.quotas,
        events: stores.events,
        getSettings: options.getSettings,
        resolveTarget: resolveInvokeTarget,
        env: options.env ?? process.env,
        // A hold ended: the held agents' messages are claimable again.
        onRelease: () => this.#worker?.wake(),
        onError: (err) => reportError(stores, 'quota holds', err),
      }),
      approvals: new ApprovalDesk({
        stores,
        getSettings: options.getSettings,
        env: options.env ?? process.env,
        sandboxHost: options.sandboxHost,
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

  /**
   * Tells this orchestrator's observers that a task's Checking ended (`taskChecked`,
   * docs/observers.md): the step runs beside the pipeline (the server's background), and its
   * observers, the trace export among them, are this orchestrator's.
   */
  notifyTaskChecked(event: TaskCheckedEvent): void {
    if (this.#ctx.observers.listening('taskChecked')) this.#ctx.observers.notify('taskChecked', event);
  }

  /** How often each observer's notifications failed (observers that never failed are absent). */
  observerFailures(): Array<{ name: string; count: number }> {
    return this.#ctx.observers.failures();
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
        steerRun(
          ctx,
          event.runId!,
          event.data.command as SteerCommand,
          { ...(event.data.text ? { text: event.data.text } : {}), ...(event.data.by ? { by: event.data.by } : {}) },
          { relay: { requestId: event.data.requestId }, relayTimeoutMs: DEFAULT_RELAY_TIMEOUT_MS },
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
    void this.#worker.start();
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

  /** Runs `input.agent` as a sub-agent of a running run and resolves with its answer or an explicit refusal. */
  spawn(parentRunId: string, input: SpawnInput): Promise<SpawnResult> {
    return spawnSubAgent(this.#ctx, parentRunId, input);
  }

  /** An agent's tool asks its running run to hand off, post or send a file when its turn ends (run-actions.ts); returns what will happen. */
  declareRunAction(runId: string, action: RunAction): string {
    return declareAction(this.#ctx.active.get(runId), runId, this.#ctx.getSettings(), action);
  }

  status(): OrchestratorStatus {
    return {
      running: [...this.#ctx.active.values()].map((a) => ({ runId: a.runId, agentId: a.agentId, conversationId: a.conversationId, startedAt: a.startedAt, spawned: a.spawned })),
      paused: this.#ctx.steering.pausedRuns(),
    };
  }
}

/** A background failure (a timer's, a write-through's) as a `system.notice` event: nothing to throw it to. */
/** The agent call with the node's sandbox host on every request (none: as it is). */
function withSandboxHost(invoke: (req: InvokeRequest) => Promise<InvokeResult>, host: SandboxHost | undefined): (req: InvokeRequest) => Promise<InvokeResult> {
  return host === undefined ? invoke : (req) => invoke({ ...req, sandboxHost: host });
}

function reportError(stores: StoreSet, where: string, err: unknown): void {
  stores.events.emit({ type: 'system.notice', data: { level: 'error', where, error: err instanceof Error ? err.message : String(err) } });
}

/** Both sets (the common case, nothing held: the first as it is). */
function unionOf(a: ReadonlySet<string> | undefined, b: ReadonlySet<string>): ReadonlySet<string> {
  if (b.size === 0) return a ?? b;
  if (!a || a.size === 0) return b;
  return new Set([...a, ...b]);
}

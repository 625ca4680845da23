/**
 * The observer seam: typed hooks on the points where work happens (a batch claimed by the queue
 * worker, a run started, progress of an invocation, a failed attempt, a run ended, a run's effects
 * committed). Observers watch; they cannot veto or change anything. docs/observers.md says what
 * each hook receives, when it fires and in which transaction.
 *
 * Two kinds of hook:
 * - notifications (`claimed`, `runStarted`, `progress`, `attemptFailed`, `runEnded`,
 *   `committed`, `approvalRequested`, `approvalSettled`, `budgetWarning`, `taskChecked`,
 *   `memoryInjected`): plain
 *   functions called once the fact is durable (after its commit) or, for progress, as it arrives.
 *   An observer that throws is caught, counted and logged once; the pipeline never sees the error.
 * - records (`record.runCreated`, `record.runStarted`, `record.attemptFailed`,
 *   `record.runEnded`): transaction bodies run inside the transaction that writes the fact, so
 *   their rows commit or roll back with it (the event log's run events, usage accounting). Their
 *   errors are not caught: a record that cannot be written fails the transaction like any other
 *   write of it.
 *
 * Cheap when nobody listens: each hook has its own list, and the pipeline asks `listening(hook)`
 * before it builds an event object, so an empty list allocates nothing.
 */
import type { ApprovalRecord } from '../approvals/store.ts';
import type { InvokeProgress } from '../invoker/types.ts';
import type { RunRecord, RunStatus, Usage } from '../runs/index.ts';
import type { FailureReason, TaskCheck } from '@tinyagi/client/contract';
import type { TxSteps } from '../storage/index.ts';

/** A batch of one agent's messages claimed by a queue worker (committed in the store). */
export interface ClaimedEvent {
  /** The worker (lease owner) that claimed it. */
  owner: string;
  agentId: string;
  conversationId: string;
  messageIds: readonly string[];
  /** When each message (same order as `messageIds`) became claimable: its enqueue, or the end of its backoff or schedule. `at` minus this is its pickup latency. */
  availableAt: readonly number[];
  at: number;
}

/** A run was created (queued, already running as a sub-agent, or rejected at creation). Records only. */
export interface RunCreatedEvent {
  run: RunRecord;
  /** A handoff's sender and hop count (the `run.queued` event carries them). */
  from?: string | undefined;
  hop?: number | undefined;
}

/** A run went running: the queue started it (`messageIds` are the messages it answers) or a sub-agent was created running. */
export interface RunStartedEvent {
  run: RunRecord;
  messageIds: readonly string[];
  /**
   * False when an attempt of a run that was already running starts again (a retry after a
   * failed attempt or a lost lease): its state does not change.
   */
  changed: boolean;
}

/** Progress of a run's invocation: what the runtime reported (text, tool use, tool results) or the orchestrator's own status lines. */
export interface ProgressEvent {
  run: RunRecord;
  /** The run's turn in its session (steering can add turns to one run). */
  turn: number;
  progress: InvokeProgress;
}

/** An attempt of a run failed and the queue decides what follows (retry, dead letter); the run stays open. */
export interface AttemptFailedEvent {
  run: RunRecord;
  error: string;
  /** How the queue classifies the failure (`classifyFailure`). */
  errorClass: FailureReason;
  /** What the failed attempt spent, when the agent reported it (counted against the budgets). */
  usage: Usage | undefined;
  costUsd: number | undefined;
}

export type TerminalRunStatus = Exclude<RunStatus, 'queued' | 'running'>;

/** A run ended: exactly once per run. */
export interface RunEndedEvent {
  /** The run as it was before it ended (its usage columns without this end's usage). */
  run: RunRecord;
  status: TerminalRunStatus;
  /** Usage and cost this end adds to the run (the invocation's, or a failed attempt's). */
  usage: Usage | undefined;
  costUsd: number | undefined;
  /** The run's totals with this end's usage. */
  totals: { inputTokens: number; outputTokens: number; costUsd: number };
  error: string | null;
  /** Why: a cancel's cause (`reason`), the limit a guard or budget refused it by (`limitName`), or the run answered together with another (`mergedInto`). */
  detail?: { reason?: string | undefined; limitName?: string | undefined; mergedInto?: string | undefined } | undefined;
}

/** A claimed batch's effects (run records, follow-ups, replies) committed with the completion of its messages. */
export interface CommittedEvent {
  agentId: string;
  conversationId: string;
  /** The run the batch answered (undefined: nothing was run, e.g. every run was cancelled before). */
  runId: string | undefined;
  messageIds: readonly string[];
}

/** A person is asked (a durable approval request or `ask_human` question of a run was written). Told by the node running the run. */
export interface ApprovalRequestedEvent {
  approval: ApprovalRecord;
}

/**
 * A request ended (allowed, denied, answered, expired or cancelled), wherever it was decided: told
 * once per request by the node whose run waits on it, before the run is given the answer.
 */
export interface ApprovalSettledEvent {
  approval: ApprovalRecord;
}

/** A conversation crossed its soft limit (`budget.warning` in the event log): told after the commit of the run that crossed it, before that run's `runEnded`. */
export interface BudgetWarningEvent {
  /** The run whose end crossed the limit. */
  run: RunRecord;
  conversationId: string;
  /** The limit crossed: `conversation_tokens`, `conversation_usd`, `max_hops`, `max_messages`, `conversation_timeout`. */
  limitName: string;
  used: number;
  limit: number;
  /** The share of the limit that warns (`budgets.soft_limit_fraction`). */
  fraction: number;
}

/**
 * A repository-bound task's Checking ended (docs/git-tasks.md): its record written on the task,
 * `task.checked` appended and the task moved (or left for a person). Told by the process that ran
 * the step (the daemon's server, through its orchestrator's `notifyTaskChecked`), after those writes.
 */
export interface TaskCheckedEvent {
  taskId: string;
  /** `WEB-3` (the task's id when it has no identifier). */
  identifier: string;
  projectId: string;
  outcome: 'passed' | 'failed' | 'needs_person';
  /** The rounds the task had before this Checking (0 the first time), as `task.checking` says. */
  round: number;
  /** The task's branch, when its worktree step recorded one. */
  branch: string | null;
  /** The Checking's record (`task.git.check`): start and end, the head commit, each check's result, what does not hold. */
  check: TaskCheck;
  /** When each check started (epoch ms), in the order of `check.checks` (its end: that plus its `durationMs`). */
  checkStartedAt: readonly number[];
  /** The conversation the task worked in: the run's that said done, else the task's at the start; null when it has none. */
  conversationId: string | null;
  /** The run whose "done" started the Checking (absent for a Checking resumed at start). */
  runId?: string | undefined;
}

/**
 * Memory went into a run's context before its turn (docs/memory.md): told by the node running the
 * run once the injection is recorded (`GET /api/runs/:id/memory-injection`), before the agent is invoked.
 */
export interface MemoryInjectedEvent {
  run: RunRecord;
  /** The entries, in the block's order. */
  entryIds: readonly string[];
  /** The block's estimated tokens (characters / 4) and the agent's budget. */
  tokens: number;
  budget: number;
}

/**
 * Hooks with a transaction: their rows commit with the fact. See the module comment. `Tx` is the
 * transaction of the stores (the orchestrator's observers are `Observer<StoreTransaction>`).
 */
export interface ObserverRecords<Tx = unknown> {
  runCreated?(event: RunCreatedEvent, tx: Tx): TxSteps<void>;
  runStarted?(event: RunStartedEvent, tx: Tx): TxSteps<void>;
  attemptFailed?(event: AttemptFailedEvent, tx: Tx): TxSteps<void>;
  runEnded?(event: RunEndedEvent, tx: Tx): TxSteps<void>;
}

export interface Observer<Tx = unknown> {
  /** Names the observer in the log line of its first failure. */
  readonly name: string;
  claimed?(event: ClaimedEvent): void;
  runStarted?(event: RunStartedEvent): void;
  progress?(event: ProgressEvent): void;
  attemptFailed?(event: AttemptFailedEvent): void;
  runEnded?(event: RunEndedEvent): void;
  committed?(event: CommittedEvent): void;
  approvalRequested?(event: ApprovalRequestedEvent): void;
  approvalSettled?(event: ApprovalSettledEvent): void;
  budgetWarning?(event: BudgetWarningEvent): void;
  taskChecked?(event: TaskCheckedEvent): void;
  memoryInjected?(event: MemoryInjectedEvent): void;
  records?: ObserverRecords<Tx>;
}

export interface NotificationEvents {
  claimed: ClaimedEvent;
  runStarted: RunStartedEvent;
  progress: ProgressEvent;
  attemptFailed: AttemptFailedEvent;
  runEnded: RunEndedEvent;
  committed: CommittedEvent;
  approvalRequested: ApprovalRequestedEvent;
  approvalSettled: ApprovalSettledEvent;
  budgetWarning: BudgetWarningEvent;
  taskChecked: TaskCheckedEvent;
  memoryInjected: MemoryInjectedEvent;
}

export type NotificationHook = keyof NotificationEvents;

export interface RecordEvents {
  runCreated: RunCreatedEvent;
  runStarted: RunStartedEvent;
  attemptFailed: AttemptFailedEvent;
  runEnded: RunEndedEvent;
}

export type RecordHook = keyof RecordEvents;

const NOTIFICATION_HOOKS: readonly NotificationHook[] = [
  'claimed',
  'runStarted',
  'progress',
  'attemptFailed',
  'runEnded',
  'committed',
  'approvalRequested',
  'approvalSettled',
  'budgetWarning',
  'taskChecked',
  'memoryInjected',
];
const RECORD_HOOKS: readonly RecordHook[] = ['runCreated', 'runStarted', 'attemptFailed', 'runEnded'];

const NONE: readonly never[] = Object.freeze([]);

export interface ObserverListOptions {
  /** Told of an observer's first failure (later ones are only counted). Default: `console.error`. */
  onFailure?: (observer: string, err: unknown) => void;
}

/**
 * The observers of one orchestrator and its queue worker (not a process-wide singleton: a
 * daemon or a test may run several). Lists are replaced, never mutated, on `add` and removal,
 * so an observer added or removed during a notification does not disturb that notification.
 */
export class ObserverList<Tx = unknown> {
  readonly #notify = new Map<NotificationHook, readonly Observer<Tx>[]>();
  readonly #records = new Map<RecordHook, readonly Observer<Tx>[]>();
  readonly #failures = new Map<Observer<Tx>, number>();
  readonly #onFailure: (observer: string, err: unknown) => void;

  constructor(options: ObserverListOptions = {}) {
    this.#onFailure = options.onFailure ?? ((name, err) => console.error(`observer "${name}" failed (later failures are only counted):`, err));
  }

  /** Adds an observer; returns the function that removes it. Adding the same object twice is an error. */
  add(observer: Observer<Tx>): () => void {
    if (typeof observer?.name !== 'string' || observer.name === '') throw new TypeError('An observer needs a name (a non-empty string).');
    for (const hook of NOTIFICATION_HOOKS) if ((this.#notify.get(hook) ?? NONE).includes(observer)) throw new TypeError(`The observer "${observer.name}" is already added.`);
    for (const hook of NOTIFICATION_HOOKS) if (typeof observer[hook] === 'function') this.#notify.set(hook, [...(this.#notify.get(hook) ?? NONE), observer]);
    for (const hook of RECORD_HOOKS) if (typeof observer.records?.[hook] === 'function') this.#records.set(hook, [...(this.#records.get(hook) ?? NONE), observer]);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      for (const [hook, list] of this.#notify)
        this.#notify.set(
          hook,
          list.filter((o) => o !== observer),
        );
      for (const [hook, list] of this.#records)
        this.#records.set(
          hook,
          list.filter((o) => o !== observer),
        );
    };
  }

  /** Whether any observer has this notification hook: ask before building its event. */
  listening(hook: NotificationHook): boolean {
    return (this.#notify.get(hook)?.length ?? 0) > 0;
  }

  /** Whether any observer has this record hook. */
  recording(hook: RecordHook): boolean {
    return (this.#records.get(hook)?.length ?? 0) > 0;
  }

  /** Calls the hook of every observer that has it, in the order they were added; a throwing observer is caught. */
  notify<H extends NotificationHook>(hook: H, event: NotificationEvents[H]): void {
    const list = this.#notify.get(hook);
    if (!list) return;
    for (const observer of list) {
      try {
        (observer[hook] as (e: NotificationEvents[H]) => void).call(observer, event);
      } catch (err) {
        this.#failed(observer, err);
      }
    }
  }

  /** Runs the record hook of every observer that has it, in order, inside `tx` (errors propagate). */
  *record<H extends RecordHook>(hook: H, event: RecordEvents[H], tx: Tx): TxSteps<void> {
    const list = this.#records.get(hook);
    if (!list) return;
    for (const observer of list) yield* (observer.records![hook] as (e: RecordEvents[H], tx: Tx) => TxSteps<void>).call(observer.records, event, tx);
  }

  /** How often each observer's notifications failed (those that never failed are absent). */
  failures(): Array<{ name: string; count: number }> {
    return [...this.#failures].map(([observer, count]) => ({ name: observer.name, count }));
  }

  #failed(observer: Observer<Tx>, err: unknown): void {
    const count = (this.#failures.get(observer) ?? 0) + 1;
    this.#failures.set(observer, count);
    if (count > 1) return;
    try {
      this.#onFailure(observer.name, err);
    } catch {
      // A failing logger must not reach the pipeline either.
    }
  }
}

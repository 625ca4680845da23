/**
 * The durable queue contract. `SqliteQueueStore` implements it; a PostgreSQL store must pass
 * the same conformance suite (test/queue-conformance.ts). Methods may return promises so that
 * network stores fit; callers always `await`.
 */
import type { FailureReason } from '@tinyagi/client/contract';
import type { StoreTransaction, TxSteps } from '../storage/transaction.ts';
export const MESSAGE_KINDS = ['user', 'teammate', 'subagent', 'chatroom', 'heartbeat', 'schedule', 'system', 'job'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

export type MessageStatus = 'pending' | 'processing' | 'completed' | 'dead' | 'cancelled';

export type Awaitable<T> = T | Promise<T>;

export interface QueueMessage {
  seq: number;
  id: string;
  kind: MessageKind;
  agentId: string;
  teamId: string | null;
  conversationId: string;
  parentMessageId: string | null;
  parentRunId: string | null;
  runId: string | null;
  depth: number;
  channel: string;
  sender: string;
  senderId: string;
  threadKey: string | null;
  content: string;
  attachments: string[];
  meta: Record<string, unknown>;
  status: MessageStatus;
  attempts: number;
  maxAttempts: number;
  availableAt: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  cancelRequested: boolean;
  lastError: string | null;
  /** How the last failed attempt failed (null if none did). */
  lastFailure: FailureReason | null;
  idempotencyKey: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export interface EnqueueInput {
  id?: string;
  kind: MessageKind;
  agentId: string;
  teamId?: string | null;
  conversationId: string;
  parentMessageId?: string | null;
  parentRunId?: string | null;
  /** The run this message starts (the orchestrator's); carried by its queue events. */
  runId?: string | null;
  depth?: number;
  channel: string;
  sender?: string;
  senderId?: string;
  threadKey?: string | null;
  content: string;
  attachments?: string[];
  meta?: Record<string, unknown>;
  maxAttempts?: number;
  /** Not claimable before this time (ms epoch). */
  availableAt?: number;
  /** Unique when present: re-enqueueing the same key returns the existing message. */
  idempotencyKey?: string | null;
}

export interface EnqueueResult {
  id: string;
  seq: number;
  /** False when the idempotency key already existed and nothing was inserted. */
  created: boolean;
  conversationId: string;
}

export type BusyPolicy = 'collect' | 'sequential';

export interface ClaimOptions {
  /** Identifies the claiming worker; only it may complete or fail what it claimed. */
  owner: string;
  leaseMs: number;
  /** At most this many agents' batches are claimed (the free concurrency slots). */
  maxAgents: number;
  /**
   * Per-agent busy policy: `collect` claims the agent's head message with the available pending
   * messages of the same conversation (one turn answers a burst); `sequential` claims the head.
   */
  policy?: (agentId: string) => BusyPolicy;
  /** Upper bound of messages in one collected batch. */
  collectLimit?: number;
  /** Agents the caller does not want now (e.g. paused). */
  skipAgents?: ReadonlySet<string>;
  /**
   * Agents whose batch the caller runs now. They are busy in the store too (their messages are
   * processing), so this is a hint: a store may pass them over without its busy check, or ignore it.
   */
  busyAgents?: ReadonlySet<string>;
  /**
   * Only these agents (an allow-list; absent: every agent). A node of several claims only the
   * agents placed on it or on no node (nodes/placement.ts `agentsForNode`).
   */
  agents?: ReadonlySet<string>;
  now?: number;
}

/** One agent's claimed messages, all of one conversation, in seq order. */
export interface ClaimedBatch {
  agentId: string;
  messages: QueueMessage[];
}

/** How a failure is treated: the invoker's error classification maps onto these. */
export type FailureKind = 'retryable' | 'permanent' | 'rate_limited';

// The classification of failed attempts is part of the API contract (message records, events).
export { FAILURE_REASONS, type FailureReason } from '@tinyagi/client/contract';

export interface FailInput {
  kind: FailureKind;
  /** Defaults from `kind`: rate_limited, cannot_run (permanent) or failed. */
  reason?: FailureReason;
  error: string;
  /** For rate limits: wait at least this long (provider reset time when known). */
  retryAfterMs?: number;
  now?: number;
}

export interface FailOutcome {
  id: string;
  status: 'pending' | 'dead' | 'cancelled';
  attempts: number;
  availableAt: number;
}

export interface LeaseRenewal {
  /** Ids the owner no longer holds (expired and recovered elsewhere, or finished). */
  lost: string[];
  /** Ids whose cancel was requested: the worker must stop and call `finishCancelled`. */
  cancelRequested: string[];
}

export interface RecoveredLease {
  id: string;
  agentId: string;
  status: 'pending' | 'dead' | 'cancelled';
  attempts: number;
}

export interface CancelOutcome {
  id: string;
  /** `cancelled`: done; `cancelling`: a worker holds it and was asked to stop. */
  state: 'cancelled' | 'cancelling' | 'not_cancellable';
  status: MessageStatus;
}

export interface QueueCounts {
  pending: number;
  processing: number;
  completed: number;
  dead: number;
  cancelled: number;
}

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** 0..1: the delay is multiplied by a random factor in [1 - jitter, 1]. */
  jitter: number;
  /** Rate-limit waits do not consume attempts, but are capped. */
  maxRateLimitWaits: number;
}

/**
 * A completion's effects, run inside the completion's transaction (its savepoint under group
 * commit) and given it: write through `tx.stores` (on PostgreSQL they are bound to the
 * transaction's client). A callback, or a generator body (`function* (tx) { yield* io(…) }`, as
 * `stores.transaction` takes) run in that transaction. On SQLite the effects must finish synchronously (the store rejects a
 * returned promise, as `write()` does): its stores return plain values. `S` is the set of stores
 * bound to the transaction: every store when the composition made the queue (compose/store-set.ts);
 * `never` for a queue store made on its own, whose `tx.stores` throws (and for the worker, which
 * hands effects to its store without looking at them).
 */
export type CompletionEffects<S = never> = EffectsOf<S>['run'];

/**
 * Method syntax, so that `tx`'s type is compared both ways: the worker hands any store's effects
 * on without looking at them (`CompletionEffects<never>`), the composition's queue passes every store.
 */
interface EffectsOf<S> {
  run(tx: StoreTransaction<S>): Awaitable<void> | TxSteps<void>;
}

export interface CompletionInput<S = never> {
  owner: string;
  ids: readonly string[];
  effects?: CompletionEffects<S>;
}

/** The durable queue; `S`: the stores its completion effects write through (`tx.stores`). */
export interface QueueStore<S = unknown> {
  enqueue(input: EnqueueInput): Awaitable<EnqueueResult>;
  enqueueMany(inputs: readonly EnqueueInput[]): Awaitable<EnqueueResult[]>;
  claim(options: ClaimOptions): Awaitable<ClaimedBatch[]>;
  /**
   * Readies `connections` connections for claims and completions (a store over a network opens
   * them and plans its statements on each; others need not have it). A worker calls it at start.
   */
  prepareConnections?(connections: number): Promise<void>;
  /**
   * Extends the leases the owner still holds to `leaseMs` from now (a store may leave one with
   * more than two thirds of that left as it is); reports lost leases and requested cancels.
   */
  renewLeases(owner: string, ids: readonly string[], leaseMs: number): Awaitable<LeaseRenewal>;
  /**
   * Gives claimed messages back (clean shutdown): pending again, the attempt not counted, its
   * last error RELEASED (so the next attempt is a retry: an interrupted turn is not resumed).
   */
  release(owner: string, ids: readonly string[]): Awaitable<void>;
  /**
   * Completes messages the owner holds. `effects` runs in the same transaction (follow-up
   * messages, replies, run records), so a crash never half-applies a completion. Throws
   * `INVALID_STATE` (and applies nothing) if the owner lost any of the leases.
   */
  complete(owner: string, ids: readonly string[], effects?: CompletionEffects<S>): Awaitable<void>;
  /**
   * Group commit: completes several batches in one durable transaction, each in its own
   * savepoint, so one batch whose lease was lost or whose effects throw changes nothing of its
   * own and does not stop the others. Returns, per item, undefined or the error it failed with.
   */
  completeMany(items: readonly CompletionInput<S>[]): Awaitable<Array<Error | undefined>>;
  fail(owner: string, ids: readonly string[], input: FailInput): Awaitable<FailOutcome[]>;
  /** Finishes messages whose cancel was requested (the worker stopped the process). */
  finishCancelled(owner: string, ids: readonly string[], reason: string): Awaitable<void>;
  cancel(id: string, reason?: string): Awaitable<CancelOutcome>;
  /** Expired leases: back to pending with the attempt counted, or dead after max attempts. */
  recoverExpiredLeases(now?: number): Awaitable<RecoveredLease[]>;
  /**
   * Ends now the leases of owners known to be dead (the daemon holding its home's single-instance
   * lock knows its predecessors' workers are gone), so the next `recoverExpiredLeases` recovers
   * them at once instead of after the lease length. Returns how many leases it ended.
   */
  expireLeases(isDead: (owner: string) => boolean, now?: number): Awaitable<number>;
  get(id: string): Awaitable<QueueMessage | undefined>;
  counts(): Awaitable<QueueCounts>;
  countsByAgent(): Awaitable<Array<{ agentId: string } & QueueCounts>>;
  listProcessing(): Awaitable<QueueMessage[]>;
  listDead(limit?: number): Awaitable<QueueMessage[]>;
  retryDead(id: string): Awaitable<QueueMessage>;
  deleteDead(id: string): Awaitable<void>;
  /** Points a message at the run that answers it now (a dead letter retried by hand gets a new run); its events then name that run. */
  assignRun(id: string, runId: string): Awaitable<void>;
  /** Deletes every dead letter (of one agent when given), in batches; returns how many. */
  deleteAllDead(agentId?: string): Awaitable<number>;
  /**
   * The next time after `now` (the worker's last claim) something may become claimable without a
   * wake-up of its own: a backoff or retry wait ending, or a lease expiring. Messages available
   * at `now` and not claimed then wait for a busy agent or a free slot, which a completion's
   * wake-up brings, so they are not counted: a backlog behind busy agents must not make the
   * worker poll. (A time already past is returned as is: the worker then claims at once.)
   */
  nextWakeAt(now?: number): Awaitable<number | undefined>;
  /** Deletes completed/cancelled messages finished before `beforeTs`, in batches. */
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
  /** In-process wake-up: called after every commit that may have made work claimable. */
  onWake(listener: () => void): () => void;
}

/**
 * The set of every store of one backend (docs/storage.md), put together above the domains: each
 * domain folder owns its store interface (`RunStoreApi` in runs/, `OutboxStoreApi` in outbox/, …);
 * this names the whole set, the transaction with every store bound, and the operations on the set.
 * Code that must run on either backend (SQLite, the default, or PostgreSQL) is typed by these,
 * never by a SQLite class. Every method may return a promise (`Awaitable`): callers always
 * `await`; the SQLite stores return plain values, so the default backend allocates no promise per
 * statement.
 */
import type { ChatroomStoreApi } from '../chatroom/store.ts';
import type { EventLogApi } from '../events/store.ts';
import type { OutboxStoreApi } from '../outbox/store.ts';
import type { PairingStoreApi } from '../pairing/store.ts';
import type { QuotaStoreApi } from '../quotas/store.ts';
import type { ApprovalStoreApi } from '../approvals/store.ts';
import type { MemoryStoreApi } from '../memory/store.ts';
import type { MemoryVectorStoreApi } from '../memory/vectors.ts';
import type { QueueStore } from '../queue/types.ts';
import type { ConversationQueriesApi, RunSteeringStoreApi } from '../runs/store.ts';
import type { RunStoreApi } from '../runs/store.ts';
import type { ScheduleStoreApi } from '../schedules/store.ts';
import type { AgentMessageStoreApi, AgentSessionStoreApi, SenderDefaultsStoreApi } from '../sessions/store.ts';
import type { TaskStoreApi } from '../tasks/store.ts';
import type { WorkflowStoreApi } from '../workflows/store.ts';
import type { GroupCommit, GroupCommitOptions } from '../storage/group-commit.ts';
import type { Awaitable, StoreTransaction as BoundTransaction, TransactionOptions, TxBody as BodyIn, TxHandle } from '../storage/transaction.ts';

export interface PruneCounts {
  messages: number;
  outbox: number;
  runs: number;
  events: number;
  agentMessages: number;
  chatroom: number;
  sessions: number;
}

/** The stores a transaction's callback writes through (on PostgreSQL: bound to its client). */
export interface TransactionalStores {
  events: EventLogApi;
  queue: QueueStore<TransactionalStores>;
  outbox: OutboxStoreApi;
  runs: RunStoreApi;
  steering: RunSteeringStoreApi;
  queries: ConversationQueriesApi;
  chatroom: ChatroomStoreApi;
  agentSessions: AgentSessionStoreApi;
  agentMessages: AgentMessageStoreApi;
  senderDefaults: SenderDefaultsStoreApi;
  pairings: PairingStoreApi;
  schedules: ScheduleStoreApi;
  tasks: TaskStoreApi;
  /** Accounts held until their rate limit resets (quotas/). */
  quotas: QuotaStoreApi;
  /** Approval requests of agents' tool calls (approvals/). */
  approvals: ApprovalStoreApi;
  /** Memory entries and proposals per scope, and what each run was given (memory/). */
  memory: MemoryStoreApi;
  /** The entries' embeddings, for recall by meaning when an embeddings endpoint is configured (memory/vectors.ts). */
  memoryVectors: MemoryVectorStoreApi;
  /** Workflow runs and their journal (workflows/). */
  workflows: WorkflowStoreApi;
}

/** A transaction with every store bound to it (`tx.stores.runs.finishRun(…)` writes inside it). */
export type StoreTransaction = BoundTransaction<TransactionalStores>;

/** A generator body (`yield* io(…)` per store call), by default in a transaction with every store. */
export type TxBody<T, Tx extends TxHandle = StoreTransaction> = BodyIn<T, Tx>;

/**
 * Every store of one backend, and its transactions: what the orchestrator and server share. The
 * verbs (docs/queue.md, "Transactions"): `transaction` (a unit that applies whole), `groupCommit`
 * (many small ones sharing a commit), `whenDurable` (before acknowledging); inside a transaction,
 * `tx.afterCommit` and `tx.onCommit` (StoreTransaction).
 */
export interface StoreSet extends TransactionalStores {
  readonly backend: 'sqlite' | 'postgres';
  /**
   * Runs `work` in a transaction of its own (a savepoint when called inside a SQLite write) and
   * commits it; work that throws rolls back and the error propagates. A generator body
   * (`yield* io(…)` per store call, the orchestrator's form) runs on SQLite to its end inside one
   * synchronous `write()`/`writeLazy()` and returns its value; on PostgreSQL it awaits each yielded
   * store call on one pooled client. An (async) callback runs in an asynchronous transaction
   * (SQLite: serialised on the connection). Callers `await` it either way.
   */
  transaction<T>(body: TxBody<T>, options?: TransactionOptions): Awaitable<T>;
  transaction<T>(fn: (tx: StoreTransaction) => Awaitable<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Group commit of bodies (the orchestrator's submissions and run starts): the bodies handed to
   * `add` in one event-loop turn share one transaction, a savepoint each, so one that throws
   * rejects alone. `add` resolves once its commit is durable (after-commit callbacks ran).
   */
  groupCommit(options?: GroupCommitOptions): GroupCommit<TxBody<void>>;
  /**
   * Resolves once every commit made so far is durable and its after-commit callbacks (events)
   * have run: acknowledge a write to anyone outside (an API answer) only after this.
   */
  whenDurable(): Promise<void>;
  /** Deletes data older than `days` (dead letters are kept). */
  prune(days: number): Awaitable<PruneCounts>;
  close(): Awaitable<void>;
}

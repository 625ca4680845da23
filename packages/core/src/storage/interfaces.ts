/**
 * The store interfaces (docs/storage.md). Code that must run on either backend (SQLite, the
 * default, or PostgreSQL) is typed by these, never by a SQLite class. Every method may return a
 * promise (`Awaitable`): callers always `await`; the SQLite stores return plain values, so the
 * default backend allocates no promise per statement. The queue's interface is `QueueStore`
 * (queue/types.ts), the first of them.
 */
import type { EventFilter, EventListener } from '../events/log.ts';
import type { EventInput, EventOf, EventPayloadInput, EventType, TinyEvent } from '../events/types.ts';
import type { OutboxInput, OutboxListQuery, OutboxRow, OutboxStatus } from '../outbox/store.ts';
import type { ApprovedPairing, PairingRequestResult, PendingPairing } from '../pairing/store.ts';
import type { QueueStore } from '../queue/types.ts';
import type { OpenRunRow } from '../runs/queries.ts';
import type { RunSteeringState } from '../runs/steering-store.ts';
import type {
  ConversationPatch,
  ConversationRecord,
  ConversationStatus,
  ConversationUsageRow,
  CreateConversationInput,
  CreateRunInput,
  RunRecord,
  RunStatus,
  Usage,
  UsageGroup,
  UsageRow,
  UsageSeriesRow,
} from '../runs/store.ts';
import type { ScheduleInput, ScheduleRecord } from '../schedules/store.ts';
import type { AgentMessageRecord, AppendAgentMessageInput } from '../sessions/agent-messages.ts';
import type { AgentSessionRecord, RecordTurnInput } from '../sessions/agent-sessions.ts';
import type { CommentRecord, CreateTaskInput, ProjectRecord, TaskPatch, TaskRecord, TaskStatus } from '../tasks/store.ts';
import type { ChatroomListQuery, ChatroomPost } from '../chatroom/store.ts';
import type { GroupCommit } from './group-commit.ts';
import type { Awaitable, Transaction, TransactionOptions, TxBody } from './transaction.ts';

export type ConversationListQuery = { status?: ConversationStatus | 'waiting'; teamId?: string; agentId?: string; before?: number; limit?: number };
export type ConversationDelta = { hops?: number; messages?: number; spawns?: number; inputTokens?: number; outputTokens?: number; costUsd?: number };
export type RunFinish = { status: Exclude<RunStatus, 'queued' | 'running'>; output?: string | null; usage?: Usage | undefined; costUsd?: number | undefined; error?: string | null };
export type Spend = { tokens: number; costUsd: number };

/** Conversations, runs and usage (the `conversations` and `runs` tables). */
export interface RunStoreApi {
  createConversation(input: CreateConversationInput): Awaitable<ConversationRecord>;
  /**
   * `forUpdate` (inside a transaction): also holds the conversation's row until the commit, so a
   * decision read after it (is every run of the conversation finished?) sees what other
   * transactions on the conversation committed, and theirs sees this one's. PostgreSQL: `SELECT …
   * FOR UPDATE`; SQLite: a plain read (a write transaction already excludes every other).
   */
  getConversation(id: string, options?: { forUpdate?: boolean }): Awaitable<ConversationRecord | undefined>;
  /** Throws CONVERSATION_NOT_FOUND. */
  mustGetConversation(id: string): Awaitable<ConversationRecord>;
  listConversations(query?: ConversationListQuery): Awaitable<ConversationRecord[]>;
  latestConversationOfThread(channel: string, threadKey: string): Awaitable<ConversationRecord | undefined>;
  /** Adds to the counters in place (no read-modify-write race between nodes). */
  bumpConversation(id: string, delta: ConversationDelta): Awaitable<void>;
  updateConversation(id: string, patch: ConversationPatch): Awaitable<void>;
  createRun(input: CreateRunInput): Awaitable<RunRecord>;
  startRun(id: string, patch?: { messageIds?: string[]; input?: string }): Awaitable<void>;
  /** False when the run had already ended (nothing changed). */
  finishRun(id: string, result: RunFinish): Awaitable<boolean>;
  addUsage(id: string, usage: Usage, costUsd: number): Awaitable<void>;
  getRun(id: string): Awaitable<RunRecord | undefined>;
  /** Throws RUN_NOT_FOUND. */
  mustGetRun(id: string): Awaitable<RunRecord>;
  listRuns(conversationId: string): Awaitable<RunRecord[]>;
  children(runId: string): Awaitable<RunRecord[]>;
  descendants(runId: string): Awaitable<RunRecord[]>;
  openRunCount(conversationId: string): Awaitable<number>;
  /** Usage: spend of one agent / of everyone since a time, and usage grouped. */
  agentSpend(agentId: string, sinceTs: number): Awaitable<Spend>;
  globalSpend(sinceTs: number): Awaitable<Spend>;
  usage(by: UsageGroup, query?: { since?: number; until?: number }): Awaitable<UsageRow[]>;
  /** Usage per bucket (`edges`: n + 1 ascending boundaries, ms) and key, ordered by bucket, key; runs outside [since, until) not counted. */
  usageSeries(by: Exclude<UsageGroup, 'day'>, edges: readonly number[], query?: { since?: number; until?: number }): Awaitable<UsageSeriesRow[]>;
  /** The conversations that cost most in [since, until) (then most tokens), with their titles. */
  topConversations(query: { since?: number; until?: number; limit: number }): Awaitable<ConversationUsageRow[]>;
  /** Creation time of the oldest run (ms), or null when there are none. */
  firstRunAt(): Awaitable<number | null>;
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
}

/** Read queries across queue, runs and conversations (what the orchestrator asks). */
export interface ConversationQueriesApi {
  unfinishedMessages(conversationId: string): Awaitable<number>;
  pendingMessagesOf(conversationId: string): Awaitable<string[]>;
  messageStatus(messageId: string): Awaitable<string | undefined>;
  activeStartedBefore(createdBefore: number, limit: number): Awaitable<string[]>;
  openRuns(): Awaitable<OpenRunRow[]>;
  openRunsOf(conversationId: string): Awaitable<OpenRunRow[]>;
  recentConversationsOf(channel: string, senderId: string, sinceTs: number): Awaitable<string[]>;
  activeRoomConversation(teamId: string): Awaitable<string | undefined>;
  spawnedChildren(runId: string): Awaitable<{ total: number; running: number }>;
}

export interface RunSteeringStoreApi {
  save(runId: string, state: RunSteeringState): Awaitable<void>;
  delete(runId: string): Awaitable<void>;
  loadOpen(): Awaitable<Map<string, RunSteeringState>>;
  /** One run's row (a node starting a run another node may have steered while it was queued). */
  load(runId: string): Awaitable<RunSteeringState | undefined>;
  /** Saves only while the run is queued (a concurrent start waits for it): false when it is not queued. */
  saveIfQueued(runId: string, state: RunSteeringState): Awaitable<boolean>;
}

/** Human-facing replies with at-least-once delivery (leases, retries, expiry). */
export interface OutboxStoreApi {
  hasClient(channel: string): boolean;
  registerClientChannel(channel: string): void;
  enqueue(input: OutboxInput): Awaitable<{ row: OutboxRow; created: boolean }>;
  claim(options: { channel: string; owner: string; limit?: number; leaseMs?: number; now?: number }): Awaitable<OutboxRow[]>;
  ack(id: string): Awaitable<OutboxRow>;
  fail(id: string, error: string, options?: { retryAfterMs?: number; permanent?: boolean }): Awaitable<OutboxRow>;
  expire(now?: number): Awaitable<OutboxRow[]>;
  get(id: string): Awaitable<OutboxRow | undefined>;
  list(query?: OutboxListQuery): Awaitable<OutboxRow[]>;
  counts(): Awaitable<Record<OutboxStatus, number>>;
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
}

/**
 * The event log: ids increase strictly in commit order (SSE resume relies on it); subscribers
 * see committed events only, in id order, including those other processes or nodes wrote.
 */
export interface EventLogApi {
  /**
   * Written in the open transaction, published after its commit. On PostgreSQL an event appended
   * inside a transaction is written just before the commit and returned with `id: 0` (its id
   * exists once committed); outside a transaction, and on SQLite, the returned id is the stored one.
   */
  append(input: EventInput): Awaitable<TinyEvent>;
  /** Buffered, non-transactional (streamed progress); written in groups. */
  emit(input: EventInput): void;
  flush(): Awaitable<void>;
  subscribe(listener: EventListener): () => void;
  readSince<T extends EventType = EventType>(afterId: number, filter?: EventFilter<T>, limit?: number): Awaitable<Array<EventOf<T>>>;
  lastId(): Awaitable<number>;
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
  close(): void;
}

export interface AgentSessionStoreApi {
  get(agentId: string, sessionKey: string): Awaitable<AgentSessionRecord | undefined>;
  list(agentId: string): Awaitable<AgentSessionRecord[]>;
  recordTurn(agentId: string, sessionKey: string, input: RecordTurnInput): Awaitable<AgentSessionRecord>;
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
  resetKeys(sessionKeys: readonly string[]): Awaitable<number>;
  reset(agentId: string, sessionKey?: string): Awaitable<number>;
}

export interface AgentMessageStoreApi {
  append(input: AppendAgentMessageInput): Awaitable<number>;
  list(agentId: string, query?: { beforeId?: number; sinceId?: number; limit?: number }): Awaitable<AgentMessageRecord[]>;
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
}

export interface SenderDefaultsStoreApi {
  get(channel: string, senderId: string): Awaitable<string | undefined>;
  set(channel: string, senderId: string, target: string): Awaitable<void>;
  clear(channel: string, senderId: string): Awaitable<boolean>;
}

export interface PairingStoreApi {
  request(input: { channel: string; senderId: string; sender?: string }, now?: number): Awaitable<PairingRequestResult>;
  approve(code: string, now?: number): Awaitable<ApprovedPairing>;
  dismiss(code: string): Awaitable<void>;
  revoke(channel: string, senderId: string): Awaitable<void>;
  isApproved(channel: string, senderId: string): Awaitable<boolean>;
  list(): Awaitable<{ pending: PendingPairing[]; approved: ApprovedPairing[] }>;
}

export interface ScheduleStoreApi {
  create(input: ScheduleInput): Awaitable<ScheduleRecord>;
  update(idOrLabel: string, input: ScheduleInput): Awaitable<ScheduleRecord>;
  get(idOrLabel: string): Awaitable<ScheduleRecord | undefined>;
  mustGet(idOrLabel: string): Awaitable<ScheduleRecord>;
  list(query?: { agentId?: string }): Awaitable<ScheduleRecord[]>;
  delete(idOrLabel: string): Awaitable<void>;
  due(now?: number): Awaitable<ScheduleRecord[]>;
  nextDueAt(): Awaitable<number | undefined>;
  markFired(id: string, firedAt: number, nextRunAt: number | null, extra?: Pick<EventPayloadInput<'schedule.fired'>, 'messageId' | 'dueAt' | 'missed'>): Awaitable<ScheduleRecord>;
}

export interface TaskStoreApi {
  createProject(input: { name: string; prefix?: string; description?: string }): Awaitable<ProjectRecord>;
  getProject(id: string): Awaitable<ProjectRecord | undefined>;
  mustGetProject(id: string): Awaitable<ProjectRecord>;
  listProjects(): Awaitable<ProjectRecord[]>;
  /** `archived: true` archives (keeping the first archive time), `false` restores. */
  updateProject(id: string, patch: { name?: string; prefix?: string; description?: string; archived?: boolean }): Awaitable<ProjectRecord>;
  deleteProject(id: string): Awaitable<void>;
  createTask(input: CreateTaskInput): Awaitable<TaskRecord>;
  getTask(idOrIdentifier: string): Awaitable<TaskRecord | undefined>;
  mustGetTask(idOrIdentifier: string): Awaitable<TaskRecord>;
  listTasks(query?: { projectId?: string; status?: TaskStatus; assignee?: string }): Awaitable<TaskRecord[]>;
  updateTask(idOrIdentifier: string, patch: TaskPatch): Awaitable<{ before: TaskRecord; after: TaskRecord }>;
  deleteTask(idOrIdentifier: string): Awaitable<void>;
  reorder(columns: Partial<Record<TaskStatus, readonly string[]>>): Awaitable<{ tasks: TaskRecord[]; statusChanged: Array<{ before: TaskRecord; after: TaskRecord }> }>;
  listComments(taskId: string): Awaitable<CommentRecord[]>;
  commentCount(taskId: string): Awaitable<number>;
  addComment(taskId: string, input: { author: string; content: string }): Awaitable<CommentRecord>;
  deleteComment(id: number): Awaitable<void>;
}

export interface ChatroomStoreApi {
  post(input: { teamId: string; fromAgent: string; content: string; conversationId?: string | null }): Awaitable<ChatroomPost>;
  list(teamId: string, query?: ChatroomListQuery): Awaitable<ChatroomPost[]>;
  latest(teamId: string, limit?: number): Awaitable<ChatroomPost[]>;
  /** Whether the room has a post older than `id` (so a "load older" page would not be empty). */
  hasBefore(teamId: string, id: number): Awaitable<boolean>;
  prune(beforeTs: number, batchSize?: number): Awaitable<number>;
}

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
  queue: QueueStore;
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
}

/** A transaction with the stores bound to it (`tx.stores.runs.finishRun(…)` writes inside it). */
export interface StoreTransaction extends Transaction {
  readonly stores: TransactionalStores;
  savepoint<T>(fn: (tx: StoreTransaction) => Awaitable<T>): Promise<T>;
  /**
   * Runs a generator body (`yield* io(…)` per store call) in a savepoint of this transaction: if
   * it throws, its changes and callbacks are dropped and the error propagates. SQLite: synchronously,
   * returning the value; PostgreSQL: a promise. Inside a body: `yield* io(tx.nest(inner))`.
   */
  nest<T>(body: TxBody<T>): Awaitable<T>;
  /**
   * Runs `cb` when the outermost transaction commits, dropped on rollback: for this process's own
   * state that must follow the database (a note for an agent's next prompt, forgetting a run's
   * steering). SQLite: at the COMMIT, before it is on disk; PostgreSQL: after the COMMIT. Anything
   * seen outside the process goes through `afterCommit`.
   */
  onCommit(cb: () => void): void;
}

export interface GroupCommitOptions {
  /** false: the group's commit need not wait for the disk (`TransactionOptions.durable`). */
  durable?: boolean;
  /** Most items per commit (default 64). */
  maxGroup?: number;
}

/** Every store of one backend, and its transactions: what the orchestrator and server share. */
export interface StoreSet extends TransactionalStores {
  readonly backend: 'sqlite' | 'postgres';
  transaction<T>(fn: (tx: StoreTransaction) => Awaitable<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs a generator body in a transaction of its own (a savepoint when called inside a SQLite
   * write) and commits it; a body that throws rolls back and the error propagates. SQLite: runs
   * to the end inside one synchronous `write()`/`writeLazy()` and returns the value; PostgreSQL:
   * awaits each yielded store call on one pooled client and resolves with the value. Callers
   * `await` it either way.
   */
  commit<T>(body: TxBody<T>, options?: TransactionOptions): Awaitable<T>;
  /**
   * Group commit of bodies (the orchestrator's submissions and run starts): the bodies handed to
   * `add` in one event-loop turn share one transaction, a savepoint each, so one that throws
   * rejects alone. `add` resolves once its commit is durable (after-commit callbacks ran).
   */
  groupCommit(options?: GroupCommitOptions): GroupCommit<TxBody<void>>;
  /**
   * Resolves once every commit made so far is durable and its after-commit callbacks (events)
   * have run: answer a client only after this.
   */
  whenDurable(): Promise<void>;
  /** Deletes data older than `days` (dead letters are kept). */
  prune(days: number): Awaitable<PruneCounts>;
  close(): Awaitable<void>;
}

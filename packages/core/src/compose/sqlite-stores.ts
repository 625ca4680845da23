/**
 * Opens the database and the stores on it: the one object the orchestrator, the server and
 * the CLI share inside a process.
 */
import { openDatabase, type Durability, type TinyDatabase } from '../storage/database.ts';
import { EventLog } from '../events/sqlite-log.ts';
import { SqliteQueueStore } from '../queue/sqlite-store.ts';
import type { BackoffPolicy } from '../queue/types.ts';
import { OutboxStore } from '../outbox/sqlite-store.ts';
import { RunStore } from '../runs/sqlite-store.ts';
import { ConversationQueries, RunSteeringStore } from '../runs/sqlite-store.ts';
import { ChatroomStore } from '../chatroom/sqlite-store.ts';
import { WorkflowStore } from '../workflows/sqlite-store.ts';
import { AgentMessageStore, AgentSessionStore, SenderDefaultsStore } from '../sessions/sqlite-stores.ts';
import { PairingStore } from '../pairing/sqlite-store.ts';
import { QuotaStore } from '../quotas/sqlite-store.ts';
import { ApprovalStore } from '../approvals/sqlite-store.ts';
import { MemoryStore } from '../memory/sqlite-store.ts';
import { MemoryVectorStore } from '../memory/sqlite-vectors.ts';
import { ScheduleStore } from '../schedules/sqlite-store.ts';
import { TaskStore } from '../tasks/sqlite-store.ts';
import { groupBodies } from '../storage/group-commit.ts';
import { SqliteWriteTransaction } from '../storage/sqlite-transaction.ts';
import { type Awaitable, isBody, runBody, runWork, type Transaction, type TransactionOptions, type TxWork } from '../storage/transaction.ts';
import type { PruneCounts, StoreSet, StoreTransaction, TransactionalStores, TxBody } from './store-set.ts';

export interface OpenStoresOptions {
  dbPath: string;
  durability?: Durability;
  maxAttempts?: number;
  backoff?: BackoffPolicy;
  outboxTtlMs?: number;
  clientChannels?: readonly string[];
}

/**
 * The SQLite stores with their database (`db`), as `PgStores` are PostgreSQL's with their pool: a
 * `StoreSet` whose members are the synchronous SQLite classes (code of this process that knows it
 * runs on SQLite may use their plain return values; backend-neutral code takes `StoreSet`).
 * Library users get them without `db` (`SqliteStoreSet`, compose/public-stores.ts).
 */
export interface SqliteStores extends StoreSet {
  readonly backend: 'sqlite';
  db: TinyDatabase;
  events: EventLog;
  queue: SqliteQueueStore<TransactionalStores>;
  outbox: OutboxStore;
  runs: RunStore;
  steering: RunSteeringStore;
  /** Read queries across queue, runs and conversations (what the orchestrator asks). */
  queries: ConversationQueries;
  chatroom: ChatroomStore;
  agentSessions: AgentSessionStore;
  agentMessages: AgentMessageStore;
  senderDefaults: SenderDefaultsStore;
  pairings: PairingStore;
  schedules: ScheduleStore;
  tasks: TaskStore;
  quotas: QuotaStore;
  approvals: ApprovalStore;
  memory: MemoryStore;
  memoryVectors: MemoryVectorStore;
  workflows: WorkflowStore;
  /**
   * Deletes data older than `days`: finished messages, delivered outbox rows, runs, events, the
   * agents' chat history, chat-room posts and sessions not used in that time. Dead letters are kept.
   */
  prune(days: number): PruneCounts;
  /** A body runs to its end inside one synchronous `write()` (`writeLazy()` when not durable) and returns its value. */
  transaction<T>(body: TxBody<T>, options?: TransactionOptions): T;
  transaction<T>(fn: (tx: StoreTransaction) => Awaitable<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Resolves once every commit made so far is on disk (commits are fsynced off the event loop:
   * storage/durable-commit.ts). Acknowledge a write to anyone outside only after this.
   */
  whenDurable(): Promise<void>;
  close(): void;
}

/** A SQLite transaction frame with the stores: on one connection the stores are the same objects. */
class SqliteStoreTransaction implements StoreTransaction {
  readonly backend = 'sqlite' as const;
  readonly #tx: Transaction;
  /** The synchronous handle: a body nested in this asynchronous transaction runs as a synchronous write (a savepoint of it). */
  readonly #write: SqliteWriteTransaction<TransactionalStores>;
  readonly stores: TransactionalStores;

  constructor(tx: Transaction, write: SqliteWriteTransaction<TransactionalStores>, stores: TransactionalStores) {
    this.#tx = tx;
    this.#write = write;
    this.stores = stores;
  }

  /** A body: a synchronous write nested in this transaction; a callback: a savepoint of it. */
  transaction<T>(body: TxBody<T>): T;
  transaction<T>(fn: (tx: StoreTransaction) => Awaitable<T>): Promise<T>;
  transaction<T>(work: TxWork<T, StoreTransaction>): Awaitable<T> {
    if (isBody(work)) return this.#write.transaction(work);
    return this.#tx.savepoint((inner) => runWork(work, new SqliteStoreTransaction(inner, this.#write, this.stores)));
  }

  afterCommit(cb: () => void): void {
    this.#tx.afterCommit(cb);
  }

  onCommit(cb: () => void): void {
    this.#write.onCommit(cb);
  }
}

export function openStores(options: OpenStoresOptions): SqliteStores {
  const db = openDatabase({ path: options.dbPath, ...(options.durability ? { durability: options.durability } : {}) });
  const events = new EventLog(db);
  const queue = new SqliteQueueStore<TransactionalStores>(db, {
    events,
    ...(options.maxAttempts !== undefined ? { defaultMaxAttempts: options.maxAttempts } : {}),
    ...(options.backoff ? { backoff: options.backoff } : {}),
  });
  const outbox = new OutboxStore(db, {
    events,
    ...(options.outboxTtlMs !== undefined ? { defaultTtlMs: options.outboxTtlMs } : {}),
    ...(options.clientChannels ? { clientChannels: options.clientChannels } : {}),
  });
  const runs = new RunStore(db);
  const chatroom = new ChatroomStore(db);
  const agentSessions = new AgentSessionStore(db);
  const agentMessages = new AgentMessageStore(db);
  // The one synchronous transaction handle (bodies, completion effects): bound below, once the stores exist.
  let writeTx: SqliteWriteTransaction<TransactionalStores>;
  const stores: SqliteStores = {
    backend: 'sqlite',
    db,
    events,
    queue,
    outbox,
    runs,
    steering: new RunSteeringStore(db),
    queries: new ConversationQueries(db),
    chatroom,
    agentSessions,
    agentMessages,
    senderDefaults: new SenderDefaultsStore(db),
    pairings: new PairingStore(db, { events }),
    schedules: new ScheduleStore(db, { events }),
    tasks: new TaskStore(db),
    quotas: new QuotaStore(db),
    approvals: new ApprovalStore(db),
    memory: new MemoryStore(db),
    memoryVectors: new MemoryVectorStore(db),
    workflows: new WorkflowStore(db),
    whenDurable: () => db.whenDurable(),
    prune(days) {
      const before = Date.now() - days * 86_400_000;
      return {
        messages: queue.prune(before),
        outbox: outbox.prune(before),
        runs: runs.prune(before),
        events: events.prune(before),
        agentMessages: agentMessages.prune(before),
        chatroom: chatroom.prune(before),
        sessions: agentSessions.prune(before),
      };
    },
    transaction: (<T>(work: TxWork<T, StoreTransaction>, txOptions?: TransactionOptions): Awaitable<T> => {
      if (isBody(work)) {
        const run = (): T => runBody(work, writeTx) as T;
        return txOptions?.durable === false ? db.writeLazy(run) : db.write(run);
      }
      return db.transaction((tx) => runWork(work, new SqliteStoreTransaction(tx, writeTx, stores)), txOptions);
    }) as SqliteStores['transaction'],
    groupCommit(groupOptions) {
      return groupBodies(db, writeTx, groupOptions);
    },
    close() {
      events.flush();
      events.close();
      db.close();
    },
  };
  writeTx = new SqliteWriteTransaction<TransactionalStores>(db, stores);
  queue.bindTransaction(writeTx);
  return stores;
}

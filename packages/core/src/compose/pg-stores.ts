/**
 * The PostgreSQL `StoreSet` (docs/storage.md): every store over one pool and one schema, and
 * `transaction(fn)` running `fn` on one pooled client with `tx.stores` bound to it.
 *
 * Each store is built by a factory from a `PgScope` (the pool, or an open transaction) and the
 * process-wide state the stores share (`PgShared`: the pool, the queue's LISTEN connection and
 * wake-up listeners, the event log's subscribers and publisher). LISTEN connections are clients
 * of their own (storage/pg/listen.ts), not the pool's: the pool is for statements and
 * transactions only, and nothing holding one of its connections waits for another. The pool-level stores are built
 * once; a transaction builds its own light set over its scope.
 */
import pg from 'pg';
import type { Pool } from 'pg';
import { TinyError } from '../errors.ts';
import type { BackoffPolicy } from '../queue/types.ts';
import { GroupCommit, toError } from '../storage/group-commit.ts';
import { type Awaitable, runWork, type TransactionOptions, type TxWork } from '../storage/transaction.ts';
import { pgEventHub, pgEventLog, type PgEventLog } from '../events/pg-log.ts';
import { pgOutboxStore } from '../outbox/pg-store.ts';
import { pgPairingStore } from '../pairing/pg-store.ts';
import { PgQuotaStore } from '../quotas/pg-store.ts';
import { PgApprovalStore } from '../approvals/pg-store.ts';
import { PgMemoryStore } from '../memory/pg-store.ts';
import { PgMemoryVectorStore } from '../memory/pg-vectors.ts';
import { pgChatroomStore } from '../chatroom/pg-store.ts';
import { pgWorkflowStore } from '../workflows/pg-store.ts';
import { pgScheduleStore } from '../schedules/pg-store.ts';
import { pgTaskStore } from '../tasks/pg-store.ts';
import { PgQueueHub, PgQueueStore } from '../queue/pg-store.ts';
import { PgConversationQueries } from '../runs/pg-queries.ts';
import { PgRunSteeringStore } from '../runs/pg-steering-store.ts';
import { PgRunStore } from '../runs/pg-store.ts';
import { PgAgentMessageStore, PgAgentSessionStore, PgSenderDefaultsStore } from '../sessions/pg-stores.ts';
import { type PgShared, sharedState } from '../storage/pg/helpers.ts';
import { migratePg, pgIdent } from '../storage/pg/migrate.ts';
import type { LastStatement } from '../storage/pg/last-statement.ts';
import { PgPoolScope, type PgScope } from '../storage/pg/scope.ts';
import { PgStoreTransaction } from '../storage/pg/transaction.ts';
import type { PruneCounts, StoreSet, StoreTransaction, TransactionalStores, TxBody } from './store-set.ts';

export interface OpenPgStoresOptions {
  /** postgres://… (or give `pool`). */
  url?: string;
  pool?: Pool;
  /** Default `tinyagi`. */
  schema?: string;
  /** Apply pending migrations at open (default true). */
  migrate?: boolean;
  maxAttempts?: number;
  backoff?: BackoffPolicy;
  outboxTtlMs?: number;
  clientChannels?: readonly string[];
  /** Pool size when the pool is made here (default 10). */
  poolSize?: number;
}

/** What the stores of one process share (storage/pg/helpers.ts), with the options and every store. */
interface PgStoresShared extends PgShared {
  readonly options: OpenPgStoresOptions;
  /** The stores over a scope, built once per scope (a store that writes through another, as the queue through the event log, takes the one of its own scope). */
  storesOf(scope: PgScope): TransactionalStores;
}

type StoreName = keyof TransactionalStores;
type Factory<K extends StoreName> = (scope: PgScope, shared: PgStoresShared) => TransactionalStores[K];

/** Builds one store over a scope. Every store of `TransactionalStores` has one. */
const FACTORIES: { [K in StoreName]: Factory<K> } = {
  events: pgEventLog,
  queue: (scope, shared) => new PgQueueStore<TransactionalStores>(queueHub(shared), { scope, eventsOf: (s) => shared.storesOf(s).events, storesOf: (s) => shared.storesOf(s) }),
  outbox: (scope, shared) => pgOutboxStore(scope, shared, shared.options),
  runs: (scope, shared) => new PgRunStore(scope, () => lastStatementOf(scope, shared)),
  steering: (scope, shared) => new PgRunSteeringStore(scope, () => lastStatementOf(scope, shared)),
  queries: (scope) => new PgConversationQueries(scope),
  chatroom: pgChatroomStore,
  agentSessions: (scope) => new PgAgentSessionStore(scope),
  agentMessages: (scope) => new PgAgentMessageStore(scope),
  senderDefaults: (scope) => new PgSenderDefaultsStore(scope),
  pairings: pgPairingStore,
  quotas: (scope) => new PgQuotaStore(scope),
  approvals: (scope) => new PgApprovalStore(scope),
  memory: (scope) => new PgMemoryStore(scope),
  memoryVectors: (scope) => new PgMemoryVectorStore(scope),
  workflows: pgWorkflowStore,
  schedules: pgScheduleStore,
  tasks: pgTaskStore,
};

/** The last statement of a scope's transaction: its event log's (storage/pg/last-statement.ts). */
function lastStatementOf(scope: PgScope, shared: PgStoresShared): LastStatement {
  return shared.storesOf(scope).events as PgEventLog;
}

/** The queue's process-wide part (pool, LISTEN connection, wake-up listeners): one per PgStores. */
function queueHub(shared: PgStoresShared): PgQueueHub {
  return sharedState(shared, 'queue', () => {
    const { maxAttempts, backoff } = shared.options;
    return new PgQueueHub(shared.pool, { schema: shared.schema, ...(maxAttempts !== undefined ? { defaultMaxAttempts: maxAttempts } : {}), ...(backoff ? { backoff } : {}) });
  });
}

function buildStores(scope: PgScope, shared: PgStoresShared): TransactionalStores {
  const out = {} as Record<StoreName, unknown>;
  for (const name of Object.keys(FACTORIES) as StoreName[]) out[name] = FACTORIES[name](scope, shared);
  return out as TransactionalStores;
}

export interface PgStores extends StoreSet {
  readonly backend: 'postgres';
  readonly pool: Pool;
  readonly schema: string;
}

export async function openPgStores(options: OpenPgStoresOptions): Promise<PgStores> {
  const schema = options.schema ?? 'tinyagi';
  pgIdent(schema);
  const ownPool = !options.pool;
  if (!options.pool && !options.url) throw new TinyError('CONFIG_INVALID', 'openPgStores needs a url (postgres://…) or a pool.');
  const pool = options.pool ?? new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
  try {
    if (options.migrate !== false) await migratePg(pool, schema);
  } catch (err) {
    if (ownPool) await pool.end().catch(() => {});
    throw err;
  }
  const built = new WeakMap<PgScope, TransactionalStores>();
  const shared: PgStoresShared = {
    pool,
    schema,
    options,
    state: new Map(),
    storesOf(scope) {
      let stores = built.get(scope);
      if (!stores) {
        stores = buildStores(scope, shared);
        built.set(scope, stores);
      }
      return stores;
    },
  };
  const root = new PgPoolScope(pool, schema);
  const stores = shared.storesOf(root);
  // Events committed before this point are history (readSince), not published to subscribers.
  await pgEventHub(shared).ready;
  const set: PgStores = {
    backend: 'postgres',
    pool,
    schema,
    ...stores,
    transaction<T>(work: TxWork<T, StoreTransaction>, txOptions?: TransactionOptions): Promise<T> {
      return root.begin(async (scope) => runWork(work, new PgStoreTransaction(scope, shared.storesOf)), txOptions);
    },
    // One transaction per group (one network commit for the group).
    groupCommit(groupOptions = {}) {
      const options = { durable: groupOptions.durable !== false };
      return new GroupCommit<TxBody<void>>((bodies) => commitGroup(set, bodies, options), groupOptions.maxGroup);
    },
    // A commit on PostgreSQL is durable when COMMIT returns, and its after-commit callbacks ran
    // before `transaction` resolved: whoever awaited a write has nothing more to wait for.
    whenDurable(): Promise<void> {
      return Promise.resolve();
    },
    async prune(days: number): Promise<PruneCounts> {
      const before = Date.now() - days * 86_400_000;
      return {
        messages: await stores.queue.prune(before),
        outbox: await stores.outbox.prune(before),
        runs: await stores.runs.prune(before),
        events: await stores.events.prune(before),
        agentMessages: await stores.agentMessages.prune(before),
        chatroom: await stores.chatroom.prune(before),
        sessions: await stores.agentSessions.prune(before),
      };
    },
    async close(): Promise<void> {
      await stores.events.flush();
      await pgEventHub(shared).close();
      const queue = stores.queue as { close?: () => Awaitable<void> };
      await queue.close?.();
      if (ownPool) await pool.end();
    },
  };
  return set;
}

/**
 * One group's commit. Bodies rarely fail, so they first run one after the other in one
 * transaction without savepoints (two statements fewer per body). If one throws, that
 * transaction rolls back and the group runs again in a new one with a savepoint per body, so
 * the failing body fails alone; a body is thereby run twice, and only its last run commits. A
 * failure of the transaction itself (BEGIN, the commit) is not retried: whether it committed
 * is unknown, so every body fails with it.
 */
async function commitGroup(set: StoreSet, bodies: ReadonlyArray<TxBody<void>>, options: TransactionOptions): Promise<Array<Error | undefined>> {
  let bodyFailed: Error | undefined;
  try {
    await set.transaction(async (tx) => {
      for (const body of bodies) {
        try {
          await runWork(body, tx);
        } catch (err) {
          bodyFailed = toError(err);
          throw err;
        }
      }
    }, options);
    return bodies.map(() => undefined);
  } catch (err) {
    if (bodyFailed === undefined) throw err;
    if (bodies.length === 1) return [bodyFailed];
  }
  return set.transaction(async (tx) => {
    const errors: Array<Error | undefined> = [];
    for (const body of bodies) {
      try {
        await tx.transaction(body);
        errors.push(undefined);
      } catch (err) {
        errors.push(toError(err));
      }
    }
    return errors;
  }, options);
}

/**
 * The PostgreSQL `StoreSet` (docs/storage.md): every store over one pool and one schema, and
 * `transaction(fn)` running `fn` on one pooled client with `tx.stores` bound to it.
 *
 * Each store is built by a factory from a `PgScope` (the pool, or an open transaction) and the
 * process-wide state the stores share (`PgShared`: the pool, the queue's LISTEN connection and
 * wake-up listeners, the event log's subscribers and publisher). The pool-level stores are built
 * once; a transaction builds its own light set over its scope.
 */
import pg from 'pg';
import type { Pool } from 'pg';
import { TinyError } from '../../errors.ts';
import type { BackoffPolicy } from '../../queue/types.ts';
import type { PruneCounts, StoreSet, StoreTransaction, TransactionalStores } from '../interfaces.ts';
import { GroupCommit, toError } from '../group-commit.ts';
import { type Awaitable, runBody, type TransactionOptions, type TxBody } from '../transaction.ts';
import { migratePg, pgIdent } from './migrate.ts';
import { PgPoolScope, type PgScope, PgTxScope, rollback } from './scope.ts';

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

/** What the stores of one process share, whichever scope they were built over. */
export interface PgShared {
  readonly pool: Pool;
  readonly schema: string;
  readonly options: OpenPgStoresOptions;
  /** Per-store process-wide state (listeners, caches), created by the store's factory on first use. */
  readonly state: Map<string, unknown>;
}

type StoreName = keyof TransactionalStores;
type Factory<K extends StoreName> = (scope: PgScope, shared: PgShared) => TransactionalStores[K];

/** Builds one store over a scope. Every store of `TransactionalStores` has one. */
const FACTORIES: { [K in StoreName]: Factory<K> } = {
  events: notBuilt('events'),
  queue: notBuilt('queue'),
  outbox: notBuilt('outbox'),
  runs: notBuilt('runs'),
  steering: notBuilt('steering'),
  queries: notBuilt('queries'),
  chatroom: notBuilt('chatroom'),
  agentSessions: notBuilt('agentSessions'),
  agentMessages: notBuilt('agentMessages'),
  senderDefaults: notBuilt('senderDefaults'),
  pairings: notBuilt('pairings'),
  schedules: notBuilt('schedules'),
  tasks: notBuilt('tasks'),
};

// Scaffolding while the PostgreSQL stores are being written (issue 17); removed when the last one lands.
function notBuilt<K extends StoreName>(name: K): Factory<K> {
  return () =>
    new Proxy({} as TransactionalStores[K], {
      get(_target, prop) {
        if (prop === 'then') return undefined;
        throw new TinyError('INVALID_STATE', `The PostgreSQL ${name} store is not built yet (${String(prop)}).`);
      },
    });
}

function buildStores(scope: PgScope, shared: PgShared): TransactionalStores {
  const out = {} as Record<StoreName, unknown>;
  for (const name of Object.keys(FACTORIES) as StoreName[]) out[name] = FACTORIES[name](scope, shared);
  return out as TransactionalStores;
}

export class PgStoreTransaction implements StoreTransaction {
  readonly backend = 'postgres' as const;
  readonly scope: PgTxScope;
  readonly #shared: PgShared;
  #stores: TransactionalStores | undefined;

  constructor(scope: PgTxScope, shared: PgShared) {
    this.scope = scope;
    this.#shared = shared;
  }

  get stores(): TransactionalStores {
    this.#stores ??= buildStores(this.scope, this.#shared);
    return this.#stores;
  }

  savepoint<T>(fn: (tx: StoreTransaction) => Awaitable<T>): Promise<T> {
    return this.scope.transaction((inner) => Promise.resolve(fn(new PgStoreTransaction(inner as PgTxScope, this.#shared))));
  }

  nest<T>(body: TxBody<T>): Promise<T> {
    return this.savepoint((inner) => runBody(body, inner));
  }

  afterCommit(cb: () => void): void {
    this.scope.afterCommit(cb);
  }

  /** In-process state follows the database once it committed: on PostgreSQL that is after the COMMIT. */
  onCommit(cb: () => void): void {
    this.scope.afterCommit(cb);
  }
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
  const shared: PgShared = { pool, schema, options, state: new Map() };
  const root = new PgPoolScope(pool, schema);
  const stores = buildStores(root, shared);
  const set: PgStores = {
    backend: 'postgres',
    pool,
    schema,
    ...stores,
    async transaction<T>(fn: (tx: StoreTransaction) => Awaitable<T>, txOptions?: TransactionOptions): Promise<T> {
      const client = await pool.connect();
      const scope = new PgTxScope(client, schema);
      try {
        await client.query('BEGIN');
        if (txOptions?.durable === false) await client.query('SET LOCAL synchronous_commit = off');
        const out = await fn(new PgStoreTransaction(scope, shared));
        await client.query('COMMIT');
        client.release();
        scope.runCallbacks();
        return out;
      } catch (err) {
        await rollback(client);
        throw err;
      }
    },
    commit<T>(body: TxBody<T>, txOptions?: TransactionOptions): Promise<T> {
      return set.transaction((tx) => runBody(body, tx), txOptions);
    },
    // One transaction per group, a savepoint per body (one network commit for the group).
    groupCommit(groupOptions = {}) {
      return new GroupCommit<TxBody<void>>(
        (bodies) =>
          set.transaction(
            async (tx) => {
              const errors: Array<Error | undefined> = [];
              for (const body of bodies) {
                try {
                  await tx.nest(body);
                  errors.push(undefined);
                } catch (err) {
                  errors.push(toError(err));
                }
              }
              return errors;
            },
            { durable: groupOptions.durable !== false },
          ),
        groupOptions.maxGroup,
      );
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
      stores.events.close();
      const queue = stores.queue as { close?: () => Awaitable<void> };
      await queue.close?.();
      if (ownPool) await pool.end();
    },
  };
  return set;
}

/**
 * The `StoreTransaction` of a synchronous SQLite write (docs/storage.md): what a queue
 * completion's effects and `StoreSet.transaction` bodies receive on SQLite.
 */
import { TinyError } from '../errors.ts';
import type { TinyDatabase } from './database.ts';
import { type Awaitable, isBody, runBody, runWork, type StoreTransaction, type TxBody, type TxWork } from './transaction.ts';

/**
 * The transaction handle of a synchronous SQLite write (a completion's savepoint, a body run by
 * `stores.transaction`): savepoints are nested synchronous writes, callbacks go to the connection's
 * `afterCommit`/`onCommit`. One object per set of stores, not per transaction.
 */
export class SqliteWriteTransaction<S> implements StoreTransaction<S> {
  readonly backend = 'sqlite' as const;
  readonly #db: TinyDatabase;
  readonly #stores: S | undefined;

  constructor(db: TinyDatabase, stores: S | undefined) {
    this.#db = db;
    this.#stores = stores;
  }

  get stores(): S {
    if (this.#stores === undefined) throw new TinyError('INVALID_STATE', 'This queue store was not opened through openStores: its completion effects have no stores to write through.');
    return this.#stores;
  }

  /** A nested synchronous write (a savepoint): a body returns its value, a callback a promise of it. */
  transaction<T>(body: TxBody<T, StoreTransaction<S>>): T;
  transaction<T>(fn: (tx: StoreTransaction<S>) => Awaitable<T>): Promise<T>;
  transaction<T>(work: TxWork<T, StoreTransaction<S>>): Awaitable<T> {
    if (isBody(work)) return this.#db.write(() => runBody(work, this) as T);
    try {
      return Promise.resolve(this.#db.write(() => runWork(work, this) as T));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  afterCommit(cb: () => void): void {
    this.#db.afterCommit(cb);
  }

  onCommit(cb: () => void): void {
    this.#db.onCommit(cb);
  }
}

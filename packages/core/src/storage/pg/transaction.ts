/**
 * The `StoreTransaction` of PostgreSQL (docs/storage.md): a transaction (or one of its
 * savepoints) as a `PgTxScope`, with the stores bound to it. Used by `PgStores.transaction` and
 * by the queue's completion effects (each item's savepoint).
 */
import { TinyError } from '../../errors.ts';
import { type Awaitable, runWork, type StoreTransaction, type TxBody, type TxWork } from '../transaction.ts';
import type { PgScope, PgTxScope } from './scope.ts';

/** The stores `S` over a scope (built once per scope by `openPgStores`). */
export type PgStoresOf<S> = (scope: PgScope) => S;

/** For a store used on its own (a bare `PgQueueStore`): there are no other stores to bind. */
export const NO_STORES: PgStoresOf<never> = () => {
  throw new TinyError('INVALID_STATE', 'This PostgreSQL queue store was made without the other stores (use openPgStores): completion effects cannot write through tx.stores.');
};

export class PgStoreTransaction<S> implements StoreTransaction<S> {
  readonly backend = 'postgres' as const;
  readonly scope: PgTxScope;
  readonly #storesOf: PgStoresOf<S>;

  constructor(scope: PgTxScope, storesOf: PgStoresOf<S>) {
    this.scope = scope;
    this.#storesOf = storesOf;
  }

  get stores(): S {
    return this.#storesOf(this.scope);
  }

  /** A savepoint: if `work` throws, its writes and after-commit callbacks are undone and the error propagates. */
  transaction<T>(body: TxBody<T, StoreTransaction<S>>): Promise<T>;
  transaction<T>(fn: (tx: StoreTransaction<S>) => Awaitable<T>): Promise<T>;
  transaction<T>(work: TxWork<T, StoreTransaction<S>>): Promise<T> {
    return this.scope.transaction((inner) => Promise.resolve(runWork(work, new PgStoreTransaction(inner as PgTxScope, this.#storesOf))));
  }

  afterCommit(cb: () => void): void {
    this.scope.afterCommit(cb);
  }

  /** In-process state follows the database once it committed: on PostgreSQL that is after the COMMIT. */
  onCommit(cb: () => void): void {
    this.scope.afterCommit(cb);
  }
}

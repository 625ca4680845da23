/**
 * The `StoreTransaction` of PostgreSQL (docs/storage.md): a transaction (or one of its
 * savepoints) as a `PgTxScope`, with the stores bound to it. Used by `PgStores.transaction` and
 * by the queue's completion effects (each item's savepoint).
 */
import { TinyError } from '../../errors.ts';
import type { StoreTransaction, TransactionalStores } from '../interfaces.ts';
import { type Awaitable, runBody, type TxBody } from '../transaction.ts';
import type { PgScope, PgTxScope } from './scope.ts';

/** The stores over a scope (built once per scope by `openPgStores`). */
export type PgStoresOf = (scope: PgScope) => TransactionalStores;

/** For a store used on its own (a bare `PgQueueStore`): there are no other stores to bind. */
export const NO_STORES: PgStoresOf = () => {
  throw new TinyError('INVALID_STATE', 'This PostgreSQL queue store was made without the other stores (use openPgStores): completion effects cannot write through tx.stores.');
};

export class PgStoreTransaction implements StoreTransaction {
  readonly backend = 'postgres' as const;
  readonly scope: PgTxScope;
  readonly #storesOf: PgStoresOf;

  constructor(scope: PgTxScope, storesOf: PgStoresOf) {
    this.scope = scope;
    this.#storesOf = storesOf;
  }

  get stores(): TransactionalStores {
    return this.#storesOf(this.scope);
  }

  /** A savepoint: if `fn` throws, its writes and after-commit callbacks are undone and the error propagates. */
  savepoint<T>(fn: (tx: StoreTransaction) => Awaitable<T>): Promise<T> {
    return this.scope.transaction((inner) => Promise.resolve(fn(new PgStoreTransaction(inner as PgTxScope, this.#storesOf))));
  }

  /** A generator body in a savepoint of this transaction (`StoreTransaction.nest`). */
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

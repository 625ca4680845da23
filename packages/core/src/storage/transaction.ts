/**
 * The backend-neutral transaction: `transaction(async (tx) => …)` with savepoints and
 * after-commit callbacks (docs/storage.md). SQLite implements it in `database.ts` (serialised on
 * the process's one connection); a network backend runs it on one pooled client.
 */
export type Awaitable<T> = T | Promise<T>;

export interface TransactionOptions {
  /**
   * false: the commit need not wait for the disk (survives a crash of the process, may be lost on
   * power loss; SQLite's `writeLazy`). Default true.
   */
  durable?: boolean;
}

export interface Transaction {
  /** Which backend opened it (a store of another backend must not be handed this handle). */
  readonly backend: 'sqlite' | 'postgres';
  /**
   * Runs `fn` in a savepoint: if it throws (or rejects), its changes and the `afterCommit`
   * callbacks registered inside it are dropped and the error propagates; the enclosing
   * transaction goes on. Savepoints of one transaction run one at a time (a second one started
   * while another of the same handle is open throws INVALID_STATE).
   */
  savepoint<T>(fn: (tx: Transaction) => Awaitable<T>): Promise<T>;
  /** Runs `cb` after the outermost commit; dropped if the transaction (or savepoint) rolls back. */
  afterCommit(cb: () => void): void;
}

export interface TransactionRunner {
  /**
   * Opens a transaction, runs `fn(tx)`, commits when it resolves, rolls back and rethrows when it
   * rejects. Called inside another transaction's callback it becomes a savepoint of that one.
   */
  transaction<T>(fn: (tx: Transaction) => Awaitable<T>, options?: TransactionOptions): Promise<T>;
}

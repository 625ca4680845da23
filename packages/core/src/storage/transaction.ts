/**
 * The backend-neutral transaction (docs/storage.md, docs/queue.md "Transactions"): the driver's
 * `transaction(async (tx) => …)` with savepoints and after-commit callbacks, and the stores'
 * `StoreTransaction` over it. SQLite implements the driver in `database.ts` (serialised on the
 * process's one connection); a network backend runs it on one pooled client.
 */
export type Awaitable<T> = T | Promise<T>;

export interface TransactionOptions {
  /**
   * false: the commit need not wait for the disk (survives a crash of the process, may be lost on
   * power loss; SQLite's `writeLazy`). Default true.
   */
  durable?: boolean;
}

/**
 * The driver's transaction frame (SQLite's `TinyDatabase.transaction`, a PostgreSQL scope's), under
 * the stores' `StoreTransaction`: code above storage/ writes through the latter.
 */
export interface Transaction extends TxHandle {
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

/**
 * Transaction bodies as generators (docs/storage.md#transaction-bodies-as-generators): the orchestrator's
 * commit stage is written once for both backends as
 *
 *   function* (tx: StoreTransaction) { const c = yield* io(tx.stores.runs.getConversation(id)); … }
 *
 * and run by `stores.transaction(body)` (a transaction of its own), `tx.transaction(body)` (a
 * savepoint of `tx`) or handed to the queue as a completion's effects. On SQLite every store call
 * returns a plain value, so `io` does not yield: the body runs to its end synchronously inside the
 * one `write()` (nothing else can interleave, nothing is allocated per statement); a promise
 * reaching the SQLite driver is a bug and throws a TypeError. On PostgreSQL `io` yields each
 * promise and the driver awaits it inside BEGIN … COMMIT.
 */
export type TxSteps<T> = Generator<Promise<unknown>, T, unknown>;

/** What every transaction handle says: which backend opened it. */
export interface TxHandle {
  /** Which backend opened it (a store of another backend must not be handed this handle). */
  readonly backend: 'sqlite' | 'postgres';
}

/**
 * A body run in the transaction `Tx`. The stores' own alias (compose/store-set.ts) defaults `Tx`
 * to the transaction with every store bound; here, below the stores, it is always given.
 */
export type TxBody<T, Tx extends TxHandle> = (tx: Tx) => TxSteps<T>;

/** What `transaction` runs: a generator body, or an (async) callback. */
export type TxWork<T, Tx extends TxHandle> = TxBody<T, Tx> | ((tx: Tx) => Awaitable<T>);

/**
 * A transaction with a set of stores `S` bound to it (`tx.stores.runs.finishRun(…)` writes inside
 * it). Storage knows the shape, not the stores: compose/store-set.ts names the full set
 * (`StoreTransaction` there is this with `TransactionalStores`). Three verbs (docs/queue.md,
 * "Transactions"): `transaction` for a unit that must apply whole, `afterCommit` for what the
 * world outside the process sees, `onCommit` for this process's own state.
 */
export interface StoreTransaction<S> extends TxHandle {
  readonly stores: S;
  /**
   * A transaction inside this one (a savepoint): if `work` throws, its changes and the callbacks
   * registered inside it are dropped and the error propagates; this transaction goes on. A
   * generator body runs synchronously on SQLite and returns its value (inside a body:
   * `yield* io(tx.transaction(inner))`); a callback gets a promise. Nested transactions of one
   * handle run one at a time.
   */
  transaction<T>(body: TxBody<T, StoreTransaction<S>>): Awaitable<T>;
  transaction<T>(fn: (tx: StoreTransaction<S>) => Awaitable<T>): Promise<T>;
  /**
   * Runs `cb` after the outermost commit, once it is durable; dropped if the transaction (or the
   * nested one it was registered in) rolls back. For whatever is seen outside the process: events
   * to subscribers, deliveries, wake-ups of other processes.
   */
  afterCommit(cb: () => void): void;
  /**
   * Runs `cb` when the outermost transaction commits, dropped on rollback: for this process's own
   * state that must follow the database (a note for an agent's next prompt, forgetting a run's
   * steering). SQLite: at the COMMIT, before it is on disk; PostgreSQL: after the COMMIT. Anything
   * seen outside the process goes through `afterCommit`.
   */
  onCommit(cb: () => void): void;
}

const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor as new () => unknown;

/** Whether `work` is a generator body (`function*`), which SQLite runs synchronously. */
export function isBody<T, Tx extends TxHandle>(work: TxWork<T, Tx>): work is TxBody<T, Tx> {
  return work instanceof GeneratorFunction;
}

function isSteps(value: unknown): value is TxSteps<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { next?: unknown }).next === 'function' && typeof (value as { throw?: unknown }).throw === 'function';
}

/**
 * Runs `work` in the transaction `tx` (opened by the caller): a callback's result as it is; the
 * steps of a body (also one a plain function returned) as `runBody` does.
 */
export function runWork<T, Tx extends TxHandle>(work: TxWork<T, Tx>, tx: Tx): Awaitable<T> {
  const out = work(tx);
  return isSteps(out) ? runSteps(out as TxSteps<T>, tx, work.name) : out;
}

/**
 * The one iterator `io` hands out for a plain value: it is done at once, so `yield*` evaluates to
 * the value without suspending the body. Shared (no allocation on the SQLite path): `io(x)` is
 * only ever consumed at once by the `yield*` in front of it.
 */
const PLAIN = {
  done: true as const,
  value: undefined as unknown,
  next() {
    return this;
  },
  [Symbol.iterator]() {
    return this;
  },
};

function* awaitOne<T>(promise: Promise<T>): TxSteps<T> {
  return (yield promise) as T;
}

/** `yield* io(call)`: a store call's result inside a transaction body (use it only right after `yield*`). */
export function io<T>(value: Awaitable<T>): TxSteps<T> {
  if (value instanceof Promise) return awaitOne(value);
  PLAIN.value = value;
  return PLAIN as unknown as TxSteps<T>;
}

/**
 * Runs a body inside the transaction `tx` (its own transaction is the caller's business). SQLite:
 * synchronously, returning the value (throws a TypeError if the body yields a promise). PostgreSQL:
 * awaits each yielded promise in turn and resolves with the value; a rejected one is thrown into
 * the body (which may catch it).
 */
export function runBody<T, Tx extends TxHandle>(body: TxBody<T, Tx>, tx: Tx): Awaitable<T> {
  return runSteps(body(tx), tx, body.name);
}

function runSteps<T>(steps: TxSteps<T>, tx: TxHandle, name: string): Awaitable<T> {
  const first = steps.next();
  if (first.done) return first.value;
  if (tx.backend === 'sqlite') {
    first.value.catch(() => {});
    try {
      steps.return(undefined as T);
    } catch {}
    throw new TypeError(
      `The transaction body ${name || '(anonymous)'} yielded a promise on SQLite: a SQLite store returned a promise, or the body awaits something that is not a store call. On SQLite a body runs to its end inside one synchronous write.`,
    );
  }
  return resume(steps, first.value);
}

async function resume<T>(steps: TxSteps<T>, pending: Promise<unknown>): Promise<T> {
  for (;;) {
    let value: unknown;
    let failed = false;
    let error: unknown;
    try {
      value = await pending;
    } catch (err) {
      failed = true;
      error = err;
    }
    const step = failed ? steps.throw(error) : steps.next(value);
    if (step.done) return step.value;
    pending = step.value;
  }
}

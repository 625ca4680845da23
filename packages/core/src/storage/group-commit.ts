/**
 * Group commit: work items handed in during one event-loop turn are committed together, so at
 * synchronous FULL N concurrent writers pay for one fsync instead of N.
 *
 * - `add` resolves once the item's transaction committed (with `groupWrites`, once it is on disk
 *   and its afterCommit callbacks ran), or rejects with the item's own error;
 *   one failing item does not fail the others (the commit function isolates items, e.g. with
 *   a savepoint each, and reports a per-item error).
 * - At most `maxGroup` items per commit; a bigger backlog is committed in several turns with
 *   the event loop let through in between, so one commit never blocks it for long.
 * - At most `maxInFlight` commits at once (default: no bound). With 1, items handed in while a
 *   commit is on its way wait for it and go together in the next: over a network, commits that
 *   overlap each hold a connection of their own, and a burst opens new ones.
 */
import type { TinyDatabase } from './database.ts';
import { type Awaitable, runBody, type StoreTransaction, type TxBody } from './transaction.ts';

export interface GroupCommitOptions {
  /** false: the group's commit need not wait for the disk (`TransactionOptions.durable`). */
  durable?: boolean;
  /** Most items per commit (default 64). */
  maxGroup?: number;
}

interface Pending<I> {
  item: I;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class GroupCommit<I> {
  readonly #commit: (items: I[]) => Awaitable<Array<Error | undefined>>;
  readonly #maxGroup: number;
  readonly #maxInFlight: number;
  #pending: Array<Pending<I>> = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(commit: (items: I[]) => Awaitable<Array<Error | undefined>>, maxGroup = 64, maxInFlight = Number.POSITIVE_INFINITY) {
    this.#commit = commit;
    this.#maxGroup = Math.max(1, maxGroup);
    this.#maxInFlight = Math.max(1, maxInFlight);
  }

  add(item: I): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#pending.length === 0 || this.#inFlight >= this.#maxInFlight) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#inFlight >= this.#maxInFlight || this.#pending.length === 0) return;
    const group = this.#pending.splice(0, this.#maxGroup);
    this.#inFlight++;
    this.#schedule();
    try {
      const errors = await this.#commit(group.map((p) => p.item));
      for (const [i, p] of group.entries()) {
        const error = errors[i];
        if (error) p.reject(error);
        else p.resolve();
      }
    } catch (err) {
      for (const p of group) p.reject(toError(err));
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
  }
}

/**
 * Runs each function in its own savepoint inside one transaction: a function that throws rolls
 * back only its own changes (and its afterCommit callbacks). Returns the per-function errors.
 */
export function writeEach(db: TinyDatabase, fns: ReadonlyArray<() => void>, options: { durable?: boolean } = {}): Array<Error | undefined> {
  return writeEachWith(db, fns, call, options);
}

function call(fn: () => void): void {
  fn();
}

/** `writeEach` of items applied by one function (no closure per item). */
function writeEachWith<I>(db: TinyDatabase, items: readonly I[], apply: (item: I) => void, options: { durable?: boolean }): Array<Error | undefined> {
  const write = options.durable === false ? db.writeLazy.bind(db) : db.write.bind(db);
  return write(() =>
    items.map((item) => {
      try {
        db.write(() => apply(item));
        return undefined;
      } catch (err) {
        return toError(err);
      }
    }),
  );
}

/**
 * A GroupCommit of plain write functions on one database; `durable: false` commits with
 * `writeLazy`. A group that comes due while an asynchronous transaction is open waits for it.
 */
export function groupWrites(db: TinyDatabase, maxGroup?: number, options: { durable?: boolean } = {}): GroupCommit<() => void> {
  return groupApplied(db, call, maxGroup, options);
}

/**
 * `StoreSet.groupCommit` on SQLite: a GroupCommit of transaction bodies, each run synchronously
 * (`runBody`) with the stores' one SQLite transaction handle in its own savepoint.
 */
export function groupBodies<S>(db: TinyDatabase, tx: StoreTransaction<S>, options: GroupCommitOptions = {}): GroupCommit<TxBody<void, StoreTransaction<S>>> {
  return groupApplied(db, (body: TxBody<void, StoreTransaction<S>>) => void runBody(body, tx), options.maxGroup, options);
}

function groupApplied<I>(db: TinyDatabase, apply: (item: I) => void, maxGroup: number | undefined, options: { durable?: boolean }): GroupCommit<I> {
  return new GroupCommit(async (items) => {
    const errors = await whenNoTransaction(db, () => writeEachWith(db, items, apply, options));
    // A durable item is acknowledged once its commit is on disk (and published: its callbacks ran).
    if (options.durable !== false) await db.whenDurable();
    return errors;
  }, maxGroup);
}

/**
 * Runs `fn` now, or, while an asynchronous transaction is open and the caller is outside it, once
 * none is (re-checked: another may have been queued behind it).
 */
export function whenNoTransaction<T>(db: TinyDatabase, fn: () => T): T | Promise<T> {
  const pending = db.transactionPending();
  return pending ? pending.then(() => whenNoTransaction(db, fn)) : fn();
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * What every PostgreSQL store is built on (docs/storage.md, "PostgreSQL: one pooled client per
 * transaction"): a `PgScope` is either the pool (each call is its own statement, committed at
 * once) or one open transaction on one pooled client. A store class takes a scope in its
 * constructor and never knows which: `PgStores` makes one set of stores over the pool and, per
 * transaction, a light set over that transaction's scope (`tx.stores`).
 *
 * - `query` runs one statement (int8/numeric read as numbers: ms timestamps and counters are far
 *   below 2^53).
 * - `transaction(fn)`: a store method that needs several statements to be atomic uses it; over
 *   the pool it is BEGIN … COMMIT on one client, inside a transaction it is a savepoint.
 * - `afterCommit(cb)`: runs `cb` once the outermost transaction committed (dropped on rollback);
 *   over the pool, right away (the statement has committed when `query` resolved).
 */
import pg from 'pg';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { TinyError } from '../../errors.ts';
import { pgIdent } from './migrate.ts';
import { isStaleStatement, statementName, unnameStatement } from './statements.ts';

const INT8 = 20;
const NUMERIC = 1700;

/** Type parsers: bigint and numeric as numbers, everything else as node-postgres parses it. */
export const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return Number;
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
};

export type PgQueryable = Pick<PoolClient, 'query'>;

/** One statement with its parameters. */
export interface PgStatement {
  text: string;
  values: unknown[];
}

export interface PgScope {
  /** The schema, validated and quoted (`"tinyagi"`). */
  readonly schemaIdent: string;
  /** The schema's plain name (for channel names, advisory lock keys). */
  readonly schema: string;
  /** `"schema"."table"` */
  table(name: string): string;
  /** True inside a transaction (statements share its client and commit together). */
  readonly inTransaction: boolean;
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /**
   * Several statements as one unit: BEGIN … COMMIT over the pool, a savepoint inside a transaction.
   * `opening`: a statement run first, in the same pipeline as the BEGIN or SAVEPOINT (one round
   * trip for both; a savepoint's also carries `fn`'s first statement).
   */
  transaction<T>(fn: (scope: PgScope) => Promise<T>, opening?: PgStatement): Promise<T>;
  afterCommit(cb: () => void): void;
  /**
   * Adds `items` to the transaction's list for `write`, which writes the whole list with one call
   * on the transaction's client just before the outermost COMMIT; items added inside a savepoint
   * that rolls back are dropped. Over the pool, `write` runs at once. The event log writes a
   * transaction's events this way: one statement per transaction, whatever its savepoints, and
   * the commit-order lock that statement takes is held only for the commit itself.
   */
  collect<T>(write: CommitWriter<T>, items: readonly T[]): Promise<void> | void;
}

/** Writes what a transaction collected (`PgScope.collect`), on its outermost scope. The same function is the same list. */
export type CommitWriter<T> = (root: PgScope, items: T[]) => Promise<void>;

/**
 * Several statements as one unit, with a savepoint only where one is needed: over the pool in
 * BEGIN … COMMIT; inside a transaction on it as it is (its statements are already part of one
 * unit, and a failure fails it, or the caller's own savepoint). For store methods whose caller
 * never goes on after their failure in the same transaction; `scope.transaction` for the others.
 */
export function atomically<T>(scope: PgScope, fn: (scope: PgScope) => Promise<T>): Promise<T> {
  return scope.inTransaction ? fn(scope) : scope.transaction(fn);
}

/** The pool as a scope: every `query` is its own transaction. */
export class PgPoolScope implements PgScope {
  readonly schema: string;
  readonly schemaIdent: string;
  readonly inTransaction = false;
  readonly pool: Pool;

  constructor(pool: Pool, schema: string) {
    this.pool = pool;
    this.schema = schema;
    this.schemaIdent = pgIdent(schema);
  }

  table(name: string): string {
    return `${this.schemaIdent}.${pgIdent(name)}`;
  }

  async query<R extends QueryResultRow = QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return runNamed(this.pool, text, values, true);
  }

  transaction<T>(fn: (scope: PgScope) => Promise<T>, opening?: PgStatement): Promise<T> {
    return this.begin(async (tx) => {
      if (opening !== undefined) await tx.query(opening.text, opening.values);
      return fn(tx);
    });
  }

  /**
   * BEGIN … COMMIT on one pooled client, the one place a transaction is committed: the
   * before-commit hooks run first, the after-commit callbacks once the client is back in the
   * pool; any failure rolls back. `durable: false` commits without waiting for the WAL flush.
   */
  async begin<T>(fn: (scope: PgTxScope) => Promise<T>, options: { durable?: boolean } = {}): Promise<T> {
    const client = await this.pool.connect();
    const tx = new PgTxScope(client, this.schema);
    try {
      // One simple-protocol message (it takes several statements), which goes with the
      // transaction's first statement, in one pipeline: a round trip fewer.
      tx.beginWithNext(options.durable === false ? 'BEGIN; SET LOCAL synchronous_commit = off' : 'BEGIN');
      const out = await fn(tx);
      await tx.writeCollected();
      // A transaction that sent no statement has nothing to commit.
      if (!tx.committed && tx.begun) assertCommitted(await client.query('COMMIT'));
      client.release();
      tx.runCallbacks();
      return out;
    } catch (err) {
      await rollback(client);
      throw err;
    }
  }

  afterCommit(cb: () => void): void {
    cb();
  }

  collect<T>(write: CommitWriter<T>, items: readonly T[]): Promise<void> {
    return write(this, [...items]);
  }
}

/**
 * One statement under its name (statements.ts). `retry`: outside a transaction a statement
 * refused as stale is run again unnamed; inside one the transaction is aborted, so the error goes
 * to the caller (the text is unnamed from then on either way).
 */
async function runNamed<R extends QueryResultRow>(on: PgQueryable, text: string, values: unknown[], retry: boolean): Promise<R[]> {
  // A statement without parameters goes unnamed: it may be several statements (the simple query protocol's), which a prepared one cannot be.
  const name = values.length > 0 ? statementName(text) : undefined;
  try {
    return (await on.query<R>(queryConfig(name, text, values))).rows;
  } catch (err) {
    if (name === undefined || !isStaleStatement(err)) rethrowPg(err);
    unnameStatement(text);
    if (!retry) throw err;
    return (await on.query<R>({ text, values, types: pgTypes }).catch(rethrowPg)).rows;
  }
}

/** node-postgres' query: named (prepared once per connection) or not; int8 and numeric as numbers. */
function queryConfig(name: string | undefined, text: string, values: unknown[]): pg.QueryConfig {
  return name === undefined ? { text, values, types: pgTypes } : { name, text, values, types: pgTypes };
}

/**
 * PostgreSQL's text cannot hold NUL (SQLite's can): a value with one fails with 22021. That is
 * bad input (an id or text from a request), not a database failure, so it says so.
 */
function rethrowPg(err: unknown): never {
  if ((err as { code?: unknown }).code === '22021') {
    throw new TinyError('VALIDATION_FAILED', `PostgreSQL cannot take this value: ${(err as Error).message}. Text must not contain NUL characters (\\u0000).`, { cause: err });
  }
  throw err;
}

/**
 * What goes before a statement in its pipeline: the transaction's BEGIN and/or a savepoint's
 * opening message (`PgTxScope.transaction`), one simple-protocol message, then the savepoint's
 * opening statement if it has one. `failed` hears the error of either.
 */
interface Prefix {
  text: string;
  statement?: PgStatement;
  failed?: (err: unknown) => void;
}

/**
 * One statement with what opens it before it (the transaction's BEGIN, a savepoint) and/or its
 * COMMIT after it, sent together (node-postgres' pipeline mode, on this client for these messages
 * only): the server runs them back to back. A failed statement leaves the transaction aborted, and
 * a COMMIT then ends it as a ROLLBACK: the statement's error is thrown, like any failure before a
 * commit. A failed prefix is thrown (the statement then failed as aborted, 25P02).
 */
async function runPipelined<R extends QueryResultRow>(client: PoolClient, prefix: Prefix | undefined, text: string, values: unknown[], commit: boolean): Promise<R[]> {
  const name = values.length > 0 ? statementName(text) : undefined;
  const pipelined = client as PoolClient & { pipeline: boolean; connection?: { stream?: { cork?: () => void; uncork?: () => void } } };
  pipelined.pipeline = true;
  let answers: Array<PromiseSettledResult<pg.QueryResult | undefined>>;
  try {
    // The messages are written as the queries are made (pipeline mode): corked, they leave in one
    // write, where each query's own cork made one each (a loopback write costs the sender the
    // receiver's side of TCP too).
    const stream = pipelined.connection?.stream;
    stream?.cork?.();
    const leading = prefix?.statement;
    const leadingName = leading !== undefined && leading.values.length > 0 ? statementName(leading.text) : undefined;
    let sent: Array<Promise<pg.QueryResult | undefined> | undefined>;
    try {
      sent = [
        prefix === undefined ? undefined : client.query(prefix.text),
        leading === undefined ? undefined : client.query(queryConfig(leadingName, leading.text, leading.values)),
        client.query<R>(queryConfig(name, text, values)),
        commit ? client.query('COMMIT') : undefined,
      ];
    } finally {
      stream?.uncork?.();
    }
    answers = await Promise.allSettled(sent);
    const [opened, opening] = answers;
    const openFailure = opened?.status === 'rejected' ? opened.reason : opening?.status === 'rejected' ? opening.reason : undefined;
    if (openFailure !== undefined) {
      if (leading !== undefined && leadingName !== undefined && isStaleStatement(openFailure)) unnameStatement(leading.text);
      prefix?.failed?.(openFailure);
      rethrowPg(openFailure);
    }
  } finally {
    // Only once all answered: a pipelined query still unanswered is lost when the mode is left.
    pipelined.pipeline = false;
  }
  const [, , statement, committed] = answers as [unknown, unknown, PromiseSettledResult<pg.QueryResult<R>>, PromiseSettledResult<pg.QueryResult | undefined>];
  if (statement.status === 'rejected') {
    if (name !== undefined && isStaleStatement(statement.reason)) unnameStatement(text);
    rethrowPg(statement.reason);
  }
  if (committed.status === 'rejected') throw committed.reason;
  if (committed.value !== undefined) assertCommitted(committed.value);
  return statement.value.rows;
}

/**
 * PostgreSQL answers the COMMIT of a transaction a failed statement aborted with ROLLBACK, not an
 * error: a caller that caught that statement's error without a savepoint would think it committed.
 */
function assertCommitted(answer: pg.QueryResult): void {
  if (answer.command !== 'COMMIT') {
    throw new TinyError('DB_ERROR', `The transaction was rolled back at its COMMIT (${answer.command}): a statement in it failed and its error was caught without a savepoint.`);
  }
}

/** Rolls back and releases; a client whose rollback failed is discarded, not returned to the pool. */
export async function rollback(client: PoolClient): Promise<void> {
  try {
    await client.query('ROLLBACK');
    client.release();
  } catch (err) {
    client.release(err as Error);
  }
}

/** One open transaction on one client. Savepoints nest; their callbacks join the parent's on release. */
export class PgTxScope implements PgScope {
  readonly schema: string;
  readonly schemaIdent: string;
  readonly inTransaction = true;
  readonly client: PoolClient;
  readonly #depth: number;
  /** The outermost scope, which holds the collected lists (`collect`). */
  readonly #root: PgTxScope;
  #callbacks: Array<() => void> = [];
  /** On the outermost scope: the collected lists, by writer, in the order of their first item. */
  readonly #collected = new Map<CommitWriter<never>, unknown[]>();
  #open = false;
  /** A savepoint of this scope's (`sp<depth>`) ended and was not released yet (see `transaction`). */
  #ended = false;
  /** On the outermost scope: its next statement carries the COMMIT (`writeCollected`'s last writer). */
  #commitWithNext = false;
  #committed = false;
  /** On the outermost scope: the BEGIN its first statement carries (`beginWithNext`), until sent. */
  #begin: string | undefined;
  /** On the outermost scope: the opening message of the newest savepoint, until its first statement carries it (`transaction`). */
  #opening: Prefix | undefined;

  constructor(client: PoolClient, schema: string, depth = 0, root?: PgTxScope) {
    this.client = client;
    this.schema = schema;
    this.schemaIdent = pgIdent(schema);
    this.#depth = depth;
    this.#root = root ?? this;
  }

  table(name: string): string {
    return `${this.schemaIdent}.${pgIdent(name)}`;
  }

  async query<R extends QueryResultRow = QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    const root = this.#root;
    if (root.#committed) throw new TinyError('INVALID_STATE', 'This transaction has committed: no statement may follow the one that carried its COMMIT.');
    const prefix = root.#takePrefix();
    if (prefix === undefined && !root.#commitWithNext) return runNamed(this.client, text, values, false);
    const commit = root.#commitWithNext;
    root.#commitWithNext = false;
    root.#committed = commit;
    return runPipelined(this.client, prefix, text, values, commit);
  }

  /** The transaction's BEGIN goes with its first statement (PgPoolScope.begin). */
  beginWithNext(begin: string): void {
    this.#begin = begin;
  }

  /** What the next statement must carry before it (the BEGIN, a savepoint's opening), taken. */
  #takePrefix(): Prefix | undefined {
    const begin = this.#begin;
    const opening = this.#opening;
    this.#begin = undefined;
    this.#opening = undefined;
    if (opening === undefined) return begin === undefined ? undefined : { text: begin };
    return begin === undefined ? opening : { ...opening, text: `${begin}; ${opening.text}` };
  }

  /** Sends what waits for a statement (a savepoint that ran none, or one before a nested savepoint) on its own. */
  async #sendPrefix(): Promise<void> {
    const prefix = this.#takePrefix();
    if (prefix === undefined) return;
    const { statement, failed, ...message } = prefix;
    try {
      if (statement === undefined) await this.client.query(message.text);
      else await runPipelined(this.client, message, statement.text, statement.values, false);
    } catch (err) {
      failed?.(err);
      throw err;
    }
  }

  /** True once the BEGIN was sent (a transaction that sent no statement has none). */
  get begun(): boolean {
    return this.#begin === undefined;
  }

  /** True once a statement carried the outermost COMMIT (`begin` then sends none). */
  get committed(): boolean {
    return this.#committed;
  }

  /**
   * A savepoint: if `fn` throws, its statements and callbacks are undone and the error propagates.
   * A savepoint that ended is released lazily, in the same message as this scope's next
   * `SAVEPOINT` (or by the COMMIT, or by a release or rollback of an enclosing savepoint): one
   * round trip per savepoint where SAVEPOINT and RELEASE took two. Statements run meanwhile on
   * this scope belong to that finished savepoint's subtransaction, which changes nothing: it is
   * never rolled back to (a later rollback goes to the newest savepoint of the name).
   *
   * The SAVEPOINT message (with the release and `opening`) is not sent alone: `fn`'s first
   * statement carries it in one pipeline, so a savepoint costs no round trip of its own. If that
   * message fails, `fn`'s statement gets its error, and the savepoint fails with it even if `fn`
   * caught it; if `fn` throws before any statement, nothing of the savepoint was sent and nothing
   * is rolled back; if `fn` sent none and returns, the message goes alone then.
   */
  async transaction<T>(fn: (scope: PgScope) => Promise<T>, opening?: PgStatement): Promise<T> {
    if (this.#open) throw new TinyError('INVALID_STATE', 'A savepoint of this transaction is already open: run savepoints one at a time.');
    // Savepoints nest strictly, so one name per depth suffices (a sibling's was released).
    const name = `sp${this.#depth}`;
    const inner = new PgTxScope(this.client, this.schema, this.#depth + 1, this.#root);
    const root = this.#root;
    this.#open = true;
    try {
      // An enclosing savepoint whose message is still waiting goes first: a failure of the combined message could not be told apart.
      if (root.#opening !== undefined) await root.#sendPrefix();
      let failure: { error: unknown } | undefined;
      const mine: Prefix = {
        text: `${this.#ended ? `RELEASE SAVEPOINT ${name}; ` : ''}SAVEPOINT ${name}`,
        ...(opening === undefined ? {} : { statement: opening }),
        failed: (error) => {
          failure ??= { error };
        },
      };
      root.#opening = mine;
      // How long each collected list was: a rollback to the savepoint cuts them back.
      const marks = new Map([...root.#collected].map(([write, items]) => [write, items.length]));
      const undo = async (err: unknown): Promise<never> => {
        for (const [write, items] of root.#collected) items.length = marks.get(write) ?? 0;
        if (root.#opening === mine) {
          // Never sent: there is no savepoint to roll back to (a release waiting in it still waits).
          root.#opening = undefined;
          throw err;
        }
        // An aborted transaction ran none of the message (25P02): no savepoint was made.
        if (failure !== undefined && (failure.error as { code?: unknown }).code === '25P02') throw failure.error;
        this.#ended = true;
        // The savepoint stays after a rollback to it: released with the next one, like a finished one.
        await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
        throw err;
      };
      let out: T;
      try {
        out = await fn(inner);
        if (root.#opening === mine) await root.#sendPrefix();
      } catch (err) {
        return await undo(failure?.error ?? err);
      }
      if (failure !== undefined) return await undo(failure.error);
      this.#ended = true;
      this.#callbacks.push(...inner.#callbacks);
      return out;
    } finally {
      this.#open = false;
    }
  }

  afterCommit(cb: () => void): void {
    this.#callbacks.push(cb);
  }

  collect<T>(write: CommitWriter<T>, items: readonly T[]): void {
    const lists = this.#root.#collected;
    const list = lists.get(write as CommitWriter<never>);
    if (list) list.push(...items);
    else lists.set(write as CommitWriter<never>, [...items]);
  }

  /**
   * Just before the outermost COMMIT: each collected list with its writer, in order (one that
   * fails fails the transaction). The last writer's statement carries the COMMIT: sent with it in
   * one pipeline, so the server commits as soon as the statement ends. The event log's writer
   * takes the commit-order lock, which is held until the commit: without the pipeline the lock
   * waited for the node to read the statement's answer and send COMMIT, a wait the node's
   * scheduling stretched (B5: ~11 transactions queued on the lock).
   */
  async writeCollected(): Promise<void> {
    const lists = [...this.#collected].filter(([, items]) => items.length > 0);
    this.#collected.clear();
    for (const [k, [write, items]] of lists.entries()) {
      this.#commitWithNext = k === lists.length - 1;
      // `this` is the outermost scope: a writer's own after-commit callbacks go there.
      await (write as CommitWriter<unknown>)(this, items);
    }
    this.#commitWithNext = false;
  }

  /** After the outermost COMMIT: runs the callbacks in registration order (a throwing one is reported, not fatal). */
  runCallbacks(): void {
    const callbacks = this.#callbacks;
    this.#callbacks = [];
    for (const cb of callbacks) {
      try {
        cb();
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

/**
 * A statement written with `?` placeholders (the SQLite stores' text, shared) with PostgreSQL's
 * `$1, $2, …` instead. Only for statements with no `?` inside string literals.
 */
export function positional(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * A table of statements (strings, or functions returning one) with every statement numbered by
 * `positional`; a function's text is numbered once per distinct arguments (they are column and
 * order names, a handful each), not at every call.
 */
export function positionalAll<T extends Record<string, string | ((...args: never[]) => string)>>(statements: T): T {
  const numbered = (build: (...a: unknown[]) => string) => {
    const texts = new Map<string, string>();
    return (...args: unknown[]) => {
      const key = args.join('\u0000');
      const known = texts.get(key);
      if (known !== undefined) return known;
      const text = positional(build(...args));
      texts.set(key, text);
      return text;
    };
  };
  return Object.fromEntries(Object.entries(statements).map(([k, v]) => [k, typeof v === 'string' ? positional(v) : numbered(v as (...a: unknown[]) => string)])) as T;
}

const numberedTables = new WeakMap<(table: string) => unknown, Map<string, unknown>>();

/**
 * `positionalAll(statements(table))`, made once per statements function and table: a store made
 * for each transaction (`tx.stores`) takes the table's numbered statements, not a new set.
 */
export function positionalFor<T extends Record<string, string | ((...args: never[]) => string)>>(statements: (table: string) => T, table: string): T {
  let byTable = numberedTables.get(statements);
  if (byTable === undefined) {
    byTable = new Map();
    numberedTables.set(statements, byTable);
  }
  let numbered = byTable.get(table) as T | undefined;
  if (numbered === undefined) {
    numbered = positionalAll(statements(table));
    byTable.set(table, numbered);
  }
  return numbered;
}

/**
 * Statements named by their text, so PostgreSQL parses and analyses each once per connection
 * instead of at every call (docs/storage.md, "Named statements"). node-postgres sends a named
 * statement's Parse only the first time a connection sees the name; later calls are Bind and
 * Execute. An unnamed statement is parsed, analysed and planned at every call: in B5's profile
 * that was about 29 % of the server's CPU.
 *
 * - The name is a hash of the text, so the same text has the same name on every connection and
 *   two texts never share one (node-postgres refuses a name reused with another text).
 * - Only statements with parameters are named (scope.ts): one without may be several statements
 *   sent together, which PostgreSQL cannot prepare; the hot ones all have parameters.
 * - At most `MAX_NAMED` texts per process are named; the rest go unnamed. A statement built with
 *   a varying number of placeholders would otherwise leave a prepared statement per variant on
 *   every connection of the pool, for as long as the connection lives.
 * - Plans stay PostgreSQL's to choose (`plan_cache_mode = auto`: custom plans for the first five
 *   executions, then a generic one only if it is estimated no dearer; a relation's statistics
 *   changing, by ANALYZE or autovacuum, re-plans). The claim and completion functions keep one
 *   generic plan per connection, in shapes that hold at any table size (drizzle-pg/0027, 0028).
 * - A table changed under a connection's statement (a newer node's migration adding a column
 *   to a `SELECT *`) fails with "cached plan must not change result type": that text is then
 *   sent unnamed from then on, and the statement is run again unnamed when it was not inside a
 *   transaction (a transaction it failed in is aborted: the caller's retry runs unnamed).
 * - A statement whose generic plan goes stale as a table grows is sent unnamed (`planAtEveryCall`).
 * - `TINYAGI_PG_PREPARE=off` in the environment sends every statement unnamed: for a connection
 *   pooler that cannot keep a connection's prepared statements (PgBouncer in transaction mode
 *   before 1.21, or with `max_prepared_statements = 0`).
 */
import { createHash } from 'node:crypto';

const MAX_NAMED = 500;
/** Text → its name, or `null` once the text must go unnamed. */
const names = new Map<string, string | null>();

/** False under `TINYAGI_PG_PREPARE=off`: every statement goes unnamed (read at each call: callers keep what it said). */
export function preparingStatements(): boolean {
  return process.env.TINYAGI_PG_PREPARE !== 'off';
}

/** The name to prepare `text` under, or undefined to send it unnamed. */
export function statementName(text: string): string | undefined {
  const known = names.get(text);
  if (known !== undefined) return known ?? undefined;
  // The environment is read only for a text not seen yet: reading it at every call was most of this function's cost.
  if (names.size >= MAX_NAMED || !preparingStatements()) return undefined;
  const name = `t${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`;
  names.set(text, name);
  return name;
}

/** Forgets every name (a process whose statements named `MAX_NAMED` texts names new ones again): for tests, which share a process across schemas. Texts sent unnamed stay so. */
export function forgetStatementNames(): void {
  for (const [text, name] of names) if (name !== null) names.delete(text);
}

/**
 * Sends `text` unnamed, so it is planned for its values at every call: for a statement whose
 * generic plan, once a connection caches it, can go stale as a table grows (one chosen while the
 * table was small scans it whole), and which PostgreSQL mostly plans anew anyway.
 */
export function planAtEveryCall(text: string): string {
  names.set(text, null);
  return text;
}

/** True for PostgreSQL's refusal of a prepared statement whose result columns changed (SQLSTATE 0A000). */
export function isStaleStatement(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e.code === '0A000' && typeof e.message === 'string' && e.message.includes('cached plan must not change result type');
}

/** Sends `text` unnamed from now on (its named form was refused as stale). */
export function unnameStatement(text: string): void {
  names.set(text, null);
}

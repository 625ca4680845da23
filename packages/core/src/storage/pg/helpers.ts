/**
 * Small pieces the PostgreSQL stores share: process-wide state per `PgStores`, advisory locks
 * keyed by the schema, and batched deletes for retention.
 */
import type { Pool } from 'pg';
import type { PgScope } from './scope.ts';

/**
 * What the stores of one process share, whichever scope they were built over (made by the
 * composition, compose/pg-stores.ts, which adds the options and the other stores to it).
 */
export interface PgShared {
  readonly pool: Pool;
  readonly schema: string;
  /** Per-store process-wide state (listeners, caches), created by the store's factory on first use. */
  readonly state: Map<string, unknown>;
}

/** The process-wide object of one store (subscribers, caches) for this `PgStores`, made on first use. */
export function sharedState<T>(shared: PgShared, key: string, create: () => T): T {
  let state = shared.state.get(key) as T | undefined;
  if (state === undefined) {
    state = create();
    shared.state.set(key, state);
  }
  return state;
}

/**
 * SQL taking the transaction-scoped advisory lock `name` of the schema given as parameter
 * `schemaParam` (`$1`…): two keys, `hashtext('tinyagi.<name>')` and `hashtext(schema)`, like the
 * migration lock, so schemas (installations, tests) never wait for each other.
 */
export function schemaLockSql(name: string, schemaParam: string): string {
  return `pg_advisory_xact_lock(hashtext('tinyagi.${name}'), hashtext(${schemaParam}))`;
}

/** Takes the schema's advisory lock `name` until the transaction of `scope` ends. */
export async function lockSchema(scope: PgScope, name: string): Promise<void> {
  await scope.query(`SELECT ${schemaLockSql(name, '$1')}`, [scope.schema]);
}

/**
 * Repeats a `DELETE … LIMIT`-style statement until it deletes fewer than `batchSize` rows; the
 * batch size is the statement's last parameter. Each batch is its own statement (over the pool:
 * its own short transaction). Returns how many rows were deleted.
 */
export async function deleteInBatches(scope: PgScope, deleteSql: string, params: readonly unknown[], batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const [row] = await scope.query<{ n: number }>(`WITH d AS (${deleteSql} RETURNING 1) SELECT count(*)::int AS n FROM d`, [...params, batchSize]);
    const n = row?.n ?? 0;
    total += n;
    if (n < batchSize) return total;
  }
}

/**
 * The conditions of a filtered query: each `[condition, value]` whose value is set (not
 * undefined, null or '') adds its value to `params` and the condition with `?` replaced by that
 * parameter's `$n`.
 */
export function whereSet(params: unknown[], conditions: ReadonlyArray<readonly [string, unknown]>): string[] {
  const out: string[] = [];
  for (const [condition, value] of conditions) {
    if (value === undefined || value === null || value === '') continue;
    params.push(value);
    out.push(condition.replaceAll('?', `$${params.length}`));
  }
  return out;
}

/**
 * `@tinyagi/core/orm`: the database's tables as drizzle schema objects and a typed drizzle query
 * builder over an open TinyDatabase, for library users who prefer typed queries to SQL. Kept out
 * of the main entry so that importing core does not load drizzle-orm.
 */
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type { TinyDatabase } from './database.ts';
import * as tables from './schema.ts';

export { tables };
export type Drizzle = BetterSQLite3Database<typeof tables>;

/** A drizzle query builder on the same connection (writes still belong in `db.write`). */
export function drizzleOf(db: TinyDatabase): Drizzle {
  return drizzle(db.sqlite, { schema: tables });
}

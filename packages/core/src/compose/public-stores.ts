/**
 * The stores as a library user sees them: every store, prune() and close(), but not the database
 * handle under them (better-sqlite3 is an implementation detail; the PostgreSQL backend has none).
 * A transaction across stores is `stores.transaction(…)`; `databaseOf` serves the ORM entry.
 */
import type { TinyDatabase } from '../storage/database.ts';
import { openStores as openStoresWithDatabase, type OpenStoresOptions, type SqliteStores } from './sqlite-stores.ts';

/** The store set on a SQLite file, as `openStores` gives it to a library user: every store, without the database handle. */
export type SqliteStoreSet = Omit<SqliteStores, 'db'>;

/** Opens (and migrates) the SQLite file and returns the stores on it. */
export const openStores: (options: OpenStoresOptions) => SqliteStoreSet = openStoresWithDatabase;

/** The database under stores opened by `openStores` (internal: transactions across stores, tests' raw SQL). */
export function databaseOf(stores: SqliteStoreSet): TinyDatabase {
  const db = (stores as Partial<SqliteStores>).db;
  if (db === undefined) throw new Error('databaseOf: these stores were not opened by openStores');
  return db;
}

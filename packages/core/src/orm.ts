/**
 * `@tinyagi/core/orm` for library users: the tables as drizzle schema objects and a typed query
 * builder over stores opened with `openStores` (the database handle itself stays internal; the
 * siblings use storage/orm.ts on a TinyDatabase). Kept out of the main entry so that importing core
 * does not load drizzle-orm.
 */
import { databaseOf, type SqliteStoreSet } from './compose/public-stores.ts';
import { drizzleOf as drizzleOfDatabase, tables, type Drizzle } from './storage/orm.ts';

export { tables, type Drizzle };

/** A drizzle query builder on the stores' connection, for reads (the stores own the writes). */
export function drizzleOf(stores: SqliteStoreSet): Drizzle {
  return drizzleOfDatabase(databaseOf(stores));
}

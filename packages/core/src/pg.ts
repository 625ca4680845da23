/**
 * @tinyagi/core/pg: the PostgreSQL backend (docs/storage.md). A separate entry so that the
 * embedded default (SQLite) never loads node-postgres.
 */
export { PgQueueStore, PgTransaction, type PgQueueStoreOptions } from './queue/pg-store.ts';
export { migratePg, pgIdent } from './storage/pg/migrate.ts';
export { openPgStores, PgStoreTransaction, type OpenPgStoresOptions, type PgShared, type PgStores } from './storage/pg/stores.ts';
export { PgPoolScope, PgTxScope, pgTypes, type PgScope } from './storage/pg/scope.ts';

/**
 * @tinyagi/core/pg: the PostgreSQL backend (docs/storage.md). A separate entry so that the
 * embedded default (SQLite) never loads node-postgres.
 */
export { PgQueueHub, PgQueueStore, type PgQueueScopeOptions, type PgQueueStoreOptions } from './queue/pg-store.ts';
export { PgStoreTransaction, type PgStoresOf } from './storage/pg/transaction.ts';
export type { PgShared } from './storage/pg/helpers.ts';
export { openPgStores, type OpenPgStoresOptions, type PgStores } from './compose/pg-stores.ts';
export { PgPoolScope, PgTxScope, pgTypes, type PgScope } from './storage/pg/scope.ts';
export { PgRunStore } from './runs/pg-store.ts';
export { PgConversationQueries } from './runs/pg-queries.ts';
export { PgRunSteeringStore } from './runs/pg-steering-store.ts';
export { PgAgentMessageStore, PgAgentSessionStore, PgSenderDefaultsStore } from './sessions/pg-stores.ts';
export { migratePg, pgIdent, pgMigrationStatus } from './storage/pg/migrate.ts';
export { PgChannelListener, type PgChannelListenerOptions } from './storage/pg/listen.ts';
export {
  NodeRegistry,
  LocalNode,
  leaseOwner,
  leaseOwnerNode,
  NODE_ROLES,
  DEFAULT_HEARTBEAT_MS,
  MISSED_HEARTBEATS,
  NODE_RETENTION,
  type NodeInfo,
  type NodeRetention,
  type NodeLog,
  type NodeRole,
  type NodeState,
  type NodeRegistryOptions,
  type RegisterNodeOptions,
} from './nodes/registry.ts';
export { SharedSettings, type SharedSettingsOptions, type SharedSettingsProblem } from './nodes/shared-settings.ts';
export { copySqliteToPg, pgSchemaHasHistory, type CopyReport } from './storage/copy-to-pg.ts';

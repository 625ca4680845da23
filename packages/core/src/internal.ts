/**
 * @tinyagi/core/internal: what the sibling packages (teams, server, cli, channels) and the tests
 * need beyond the public root — the database under the stores, the settings-editing service,
 * lock files, the daemon's helpers. No stability promise to library users. Each folder's index is
 * the one list of what that folder offers; this file only gathers them.
 */
export * from './errors.ts';
export * from './ids.ts';
export * from './storage/index.ts';
export * from './compose/sqlite-stores.ts';
export type * from './compose/store-set.ts';
export { databaseOf, withDatabase } from './compose/public-stores.ts';
export * from './events/index.ts';
export * from './queue/index.ts';
export * from './outbox/index.ts';
export * from './runs/index.ts';
export * from './workspace/index.ts';
export * from './chatroom/index.ts';
export * from './sessions/index.ts';
export * from './config/index.ts';
export * from './nodes/index.ts';
// Both the queue and the settings name a BusyPolicy (the same two values); the settings' one is the user-facing name.
export type { BusyPolicy } from './config/index.ts';
export * from './invoker/index.ts';
export * from './kinds/index.ts';
export * from './pairing/index.ts';
export * from './schedules/index.ts';
export * from './tasks/index.ts';
export * from './lockfile/lock-file.ts';
export { processExists } from './process-exists.ts';

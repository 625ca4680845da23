export type * from './types.ts';
export { FAILURE_REASONS, MESSAGE_KINDS } from './types.ts';
export { SqliteQueueStore, type SqliteQueueStoreOptions } from './sqlite-store.ts';
export { QueueWorker, classifyFailure, type BatchHandler, type HandlerContext, type HandlerResult, type QueueWorkerOptions } from './worker.ts';
export { backoffDelay, DEFAULT_BACKOFF } from './backoff.ts';

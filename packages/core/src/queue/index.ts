export type { MessageKind, Awaitable, QueueMessage, ClaimedBatch, CancelOutcome, BackoffPolicy } from './types.ts';
export { SqliteQueueStore } from './sqlite-store.ts';
export { QueueWorker, classifyFailure, type HandlerContext, type HandlerResult } from './worker.ts';

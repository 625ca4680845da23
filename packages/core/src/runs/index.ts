export {
  TERMINAL_RUN_STATUSES,
  type RunCause,
  type RunStatus,
  type RunRecord,
  type CreateRunInput,
  type Usage,
  type ConversationRecord,
  type ConversationStatus,
  type HeldDelivery,
} from './store.ts';
export { bucketBoundaries } from './usage-buckets.ts';
export type { CompletionState, RunSteeringState, RunSteeringStoreApi } from './store.ts';

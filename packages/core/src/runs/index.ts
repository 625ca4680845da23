export {
  RUN_CAUSES,
  TERMINAL_RUN_STATUSES,
  type RunCause,
  type RunStatus,
  type RunRecord,
  type CreateRunInput,
  type Usage,
  type ConversationRecord,
  type ConversationStatus,
  type CreateConversationInput,
  type ConversationPatch,
  type HeldDelivery,
  type UsageGroup,
  type UsageRow,
  type UsageSeriesRow,
  type ConversationUsageRow,
  type ConversationListQuery,
  type ConversationDelta,
  type RunFinish,
  type Spend,
  type RunStoreApi,
} from './model.ts';
export { RunStore } from './sqlite-store.ts';
export { USAGE_BUCKETS, bucketBoundaries, type UsageBucket, type BucketBoundaries } from './usage-buckets.ts';
export { RunSteeringStore, ConversationQueries } from './sqlite-store.ts';
export type { RunSteeringState, RunSteeringStoreApi, OpenRunRow, ConversationQueriesApi } from './model.ts';

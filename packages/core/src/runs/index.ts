export {
  RunStore,
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
} from './store.ts';
export { USAGE_BUCKETS, bucketBoundaries, type UsageBucket, type BucketBoundaries } from './usage-buckets.ts';
export { RunSteeringStore, type RunSteeringState } from './steering-store.ts';
export { ConversationQueries, type OpenRunRow } from './queries.ts';

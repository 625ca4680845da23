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
} from './store.ts';
export { RunSteeringStore, type RunSteeringState } from './steering-store.ts';
export { ConversationQueries, type OpenRunRow } from './queries.ts';

/**
 * @tinyagi/core public API: what a library user needs to open the stores, queue and answer
 * messages, follow runs and events, read settings and invoke an agent (README `## Example`).
 * What only the sibling packages need (the database under the stores, the settings-editing
 * service, lock files, the daemon's helpers) is `@tinyagi/core/internal`. The names here come
 * from their source files (a folder's index lists what the sibling packages take from it).
 */
export { TinyError, clause, isTinyError, errorMessage, type TinyErrorCode, type TinyErrorOptions } from './errors.ts';
export { newId, isValidId, assertValidId, ID_PATTERN } from './ids.ts';

export { openStores, type SqliteStoreSet } from './compose/public-stores.ts';
export type { OpenStoresOptions } from './compose/sqlite-stores.ts';
export type { PruneCounts } from './compose/store-set.ts';
export type { Durability } from './storage/database.ts';

export { EVENT_TYPES, type EventType, type EventOf, type TinyEvent, type EventPayload } from './events/types.ts';
export { matchesFilter, type EventFilter, type EventListener } from './events/store.ts';
export { QueueWorker, type BatchHandler, type HandlerContext, type HandlerResult, type QueueWorkerOptions } from './queue/worker.ts';
export { DEFAULT_BACKOFF } from './queue/backoff.ts';
export { FAILURE_REASONS, MESSAGE_KINDS, type QueueMessage, type ClaimedBatch, type MessageKind, type BackoffPolicy } from './queue/types.ts';
export type { OutboxRow, OutboxStatus, OutboxInput, OutboxListQuery } from './outbox/store.ts';
export { TERMINAL_RUN_STATUSES, type RunRecord, type RunStatus, type RunCause, type ConversationRecord, type ConversationStatus, type Usage } from './runs/store.ts';
// The observer seam: hooks on claim, run start, progress, run end and commit (docs/observers.md).
export {
  ObserverList,
  type Observer,
  type ObserverRecords,
  type ObserverListOptions,
  type ClaimedEvent,
  type RunCreatedEvent,
  type RunStartedEvent,
  type ProgressEvent,
  type AttemptFailedEvent,
  type RunEndedEvent,
  type CommittedEvent,
  type ApprovalRequestedEvent,
  type ApprovalSettledEvent,
  type BudgetWarningEvent,
  type TaskCheckedEvent,
  type MemoryInjectedEvent,
  type TerminalRunStatus,
  type NotificationEvents,
  type NotificationHook,
} from './observe/index.ts';
// The approval request the approval hooks carry (docs/approvals.md).
export type { ApprovalRecord } from './approvals/store.ts';

export {
  SettingsSchema,
  SETTINGS_DEFAULTS,
  loadSettings,
  resolveTinyHome,
  homePaths,
  type Settings,
  type AgentSettings,
  type TeamSettings,
  type HomePaths,
} from './config/index.ts';
export {
  invokeAgent,
  InvokeError,
  isInvokeError,
  type InvokeFn,
  type InvokeRequest,
  type InvokeResult,
  type InvokeTarget,
  type InvokeProgress,
  type PlanStep,
  type ToolActivityKind,
  type QuotaReport,
  type ApprovalAsk,
  type ApprovalAnswer,
  type InvokeErrorKind,
} from './invoker/index.ts';
// A plugin's own agent runtime: its descriptor and implementation (docs/kinds.md, "Runtimes").
export { registerRuntime } from './invoker/runtimes/index.ts';
export type { RuntimeImpl, RuntimeTarget, RuntimeTargetInput, RuntimeCustomTargetInput } from './invoker/runtime.ts';
// Warm sessions (docs/sessions.md): a runtime's warm driver, and the daemon's pool of warm processes.
export {
  sessionPool,
  attachSessionPool,
  warmCapabilities,
  type SessionPoolOptions,
  type PoolStats,
  type PoolSessionInfo,
  type WarmDriver,
  type WarmSession,
  type WarmTurn,
  type WarmStartOptions,
  type WarmCapabilities,
} from './invoker/index.ts';
// The registries of channel and runtime kinds: a plugin registers a kind of its own here (docs/kinds.md).
export { KindRegistry, channelKinds, runtimeKinds } from './kinds/index.ts';

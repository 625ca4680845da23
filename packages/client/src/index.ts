/**
 * `@tinyagi/client`: the one way the CLI, the TUI, TinyOffice and the channel processes talk to a
 * TinyAGI daemon: the typed REST client (one method per route), the resumable event stream and
 * ApiError with the server's codes. It runs unchanged in Node >= 22, browsers and Next.js client
 * components, and loads no zod at run time (types only); the zod schemas themselves are
 * `@tinyagi/client/contract`, for validating forms or building a server.
 */
export { createApiClient, type ApiClient, type ApiClientOptions, type ApiRouteMethods, type CallOptions, type RouteInput, type RouteOutput } from './create-client.ts';
export {
  backoffDelay,
  type BackoffOptions,
  type ConnectionInfo,
  type ConnectionState,
  type EventFilterOptions,
  type EventSourceConstructor,
  type EventSourceLike,
  type EventSubscription,
  type StateListener,
  type SubscribeOptions,
} from './event-stream.ts';
export { ApiError, isApiError, type ClientErrorCode } from './api-error.ts';
export { conversationStatus, conversationTarget } from './conversation-target.ts';
export {
  approvalAnswers,
  approvalBatchText,
  approvalEgress,
  approvalOutcome,
  approvalOutcomeText,
  approvalQuestion,
  approvalTaskRounds,
  approvalWorkflowBudget,
  budgetText,
  parseBudgetText,
  TASK_ROUNDS_LABELS,
  WORKFLOW_BUDGET_LABELS,
  type ApprovalOutcome,
  type ApprovalOutcomeHead,
  type WorkflowBudgetAsk,
} from './approval-text.ts';
export { CHECK_COMMON_KEYS, checkKindOf, FORGE_COMMON_KEYS, kindSettings, kindSettingsText, parseKindSettings } from './binding-kinds.ts';
export { autoMergeRefusalOf, autoMergeRetryText, checkResultText, mergedByText, ROUNDS_ANSWERED, UNCHECKED_MERGE_WARNING } from './check-text.ts';
export { joinArgv, splitCommand, type SplitCommand } from './command-line.ts';
export { nodeStateOf, type NodeState, stepWaitText, TASK_STEP_NAMES, worktreeNodeText } from './task-node-text.ts';
export { patchLines, patchLineText, reviewAnchorText, reviewPlaceText, type PatchLine, type PatchLineKind } from './contract/diff-text.ts';
export { signReply, unsignReply } from './reply-signature.ts';
export { SseParser, type SseMessage } from './sse-parser.ts';
export { EVENT_TYPES, EVENTS_PATH, type EventType } from './contract/event-types.ts';
export { CHANNEL_EXIT_REJECTED, CHANNEL_STATES, channelStateText, channelStateTone } from './channel-state-text.ts';
export { undeliveredText, undeliveredWhat } from './undelivered-text.ts';
export type * from './contract/index.ts';
export {
  applyRunEvent,
  applyRunEvents,
  emptyRunTree,
  flattenRunTree,
  isRunEnded,
  mergeRunRecords,
  runProgressLine,
  runTreeFromRecords,
  runTreeRecords,
  runTreeTotals,
  steerEntry,
  currentToolCall,
  EMPTY_RUN_ACTIVITY,
  planLine,
  RUN_ACTIVITY_MAX_TOOLS,
  RUN_ACTIVITY_OUTPUT_CHARS,
  toolCallLine,
  withActivity,
  type RunActivity,
  type RunCallUsage,
  type RunPlanStep,
  type RunToolCall,
  type RunTree,
  type RunTreeNode,
  type RunTreeOptions,
  type RunTreeTotals,
} from './run-tree.ts';
export type { AgentStepOptions, BestOfResult, BestOfSpec, StepOptions, StepSchema, TaskOutcome, TaskStepSpec, WorkflowContext, WorkflowFunction } from './workflow-program.ts';
export { parentStepId, stepOutputLine, workflowStepTree, type WorkflowTreeNode } from './workflow-tree.ts';

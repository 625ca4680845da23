/**
 * What the orchestrator and its services take from `@tinyagi/core/internal` (docs/architecture.md,
 * "Public roots and internal subpaths"): the pipeline's grouped writes under the stores, the
 * settings as an agent runs with them, what it asks of the invoker, the quota board and the
 * approval desk's rules. None of it is a library user's business: the root keeps to what a
 * program embedding the stores and the invoker needs.
 * Every other file of the package imports these names from here (biome.jsonc), so what the
 * package depends on beyond core's public root is read in one place, each group with the reason
 * the root does not carry it; a name core stops giving fails here. Only re-exports: the CLI's
 * bundle looks through this file to the module that defines each name (flatten-barrels.mjs).
 */

// approvals/: the approval desk: answering a request by the permission rules, the rules an answer adds, secrets masked in what a person sees, and the requests' deadlines
export { Deadline, evaluatePermission, isOwnRequest, maskSecretsInText, maskToolInput, rulesForAnswer } from '@tinyagi/core/internal';
// compose/: the store set and its transactions, which the pipeline's grouped writes (commit, recovery, cancel) go through
export type { StoreSet, StoreTransaction, TransactionalStores, TxBody } from '@tinyagi/core/internal';
// config/: the settings as a run uses them: an agent's and a team's defaults, effective budgets, limits and queue, an agent's provider and workspace, the steering commands
export {
  agentDefaults,
  agentModel,
  agentProvider,
  agentWorkspaceDir,
  effectiveBudgets,
  type EffectiveBudgets,
  effectiveLimits,
  type EffectiveLimits,
  effectiveQueue,
  ownEntry,
  STEER_COMMANDS,
  type SteerCommand,
  teamDefaults,
} from '@tinyagi/core/internal';
// events/: the inputs of the events the steering relay and a run's life cycle append
export type { EventInput, EventPayloadInput } from '@tinyagi/core/internal';
// invoker/: what the pipeline asks of the invoker: an agent's launch plan (and what it reads of the node first), its target and session key, a sub-agent's spawn arguments, what a failed attempt spent, whether the CLI reads AGENTS.md
export {
  addSpend,
  type AgentSessionRecord,
  type AppendAgentMessageInput,
  type TurnWrite,
  type AttemptSpend,
  cliReadsAgentsMd,
  type LaunchConfinement,
  planLaunch,
  readLaunchFacts,
  resolveInvokeTarget,
  sessionKeyFor,
  type SessionMessage,
  type SpawnAgentArgs,
  spendOf,
} from '@tinyagi/core/internal';
// queue/: how a failure is classified for its message, the outcome of a cancel, the awaitable a steering wait returns
export { type Awaitable, type CancelOutcome, classifyFailure } from '@tinyagi/core/internal';
// quotas/: the quota board the orchestrator holds accounts on, and its holds as views
export { QuotaBoard, type QuotaHoldView } from '@tinyagi/core/internal';
// runs/: a run's creation input, the deliveries a limit holds, the steering state of a run, where a conversation stands for its completion
export type { CompletionState, CreateRunInput, HeldDelivery, RunSteeringState, RunSteeringStoreApi } from '@tinyagi/core/internal';
// sandbox/: an agent's sandbox status (the approval desk's rules depend on it), the egress proxy's asks and answers, the model proxy's budget query, a task's commands confined like its owner on the node's sandbox host, the folders confined runs worked in
export { type BudgetQuery, type EgressAnswer, type EgressAsk, type SandboxHost, sandboxStatusOf, taskCommandWrap } from '@tinyagi/core/internal';
export { holdFolder, type FolderHold } from '@tinyagi/core/internal';
// sandbox/agent-spec: an agent's sandbox setting, and the agent as a run its callers confine runs it
export { confinedAgent, sandboxAtLeast, sandboxModeOf } from '@tinyagi/core/internal';
// invoker/child-env: the environment a task's checks and setup start from, as an agent's processes do
export { baseChildEnv } from '@tinyagi/core/internal';
// storage/: the grouped writes' machinery, internal by design: `io` and `runBody` steps, the group commit
export { GroupCommit, io, runBody, toError, type TxSteps } from '@tinyagi/core/internal';
// tasks/: the task records and the store the refusals of a task's moves read
export type { TaskRecord, TaskStoreApi } from '@tinyagi/core/internal';
// workspace/: an agent's workspace: provisioning, the system prompt, the teams it is in, the files a reply may attach
export { composeSystemPrompt, partitionFiles, provisionWorkspace, type RefusedFile, teamsOfAgent } from '@tinyagi/core/internal';
// memory/: recall before a turn, within the scopes the run reads (its agent's, its teams', its task's project's), and the agent's memory files imported
export { embeddingsConfig, importMemoryFiles, projectOfSender, readableScopes, readWorkspaceMemoryFiles, recallForTurn, semanticRecallFor } from '@tinyagi/core/internal';
// workflows/: the runs and journal of steps the workflow engine replays
export type { WorkflowRunChain, WorkflowRunRecord, WorkflowStepRecord, WorkflowStoreApi } from '@tinyagi/core/internal';

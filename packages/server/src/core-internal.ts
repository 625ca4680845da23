/**
 * What the API server takes from `@tinyagi/core/internal` (docs/architecture.md, "Public roots and
 * internal subpaths"): the settings source and the settings edits the routes apply (the same ones
 * the offline CLI applies), the stores' interfaces its context holds, and the daemon's views the
 * routes answer with (sandbox, quotas, schedules, kinds). The root keeps to what a library user
 * needs; these are the server's.
 * Every other file of the package imports these names from here (biome.jsonc), so what the
 * package depends on beyond core's public root is read in one place, each group with the reason
 * the root does not carry it; a name core stops giving fails here. Only re-exports: the CLI's
 * bundle looks through this file to the module that defines each name (flatten-barrels.mjs).
 */

// approvals/: an approval's requested paths and the rules an answer adds; a new agent's machine facts
export { MAX_REQUEST_PATHS, type NewAgentMachine, requestPaths, rulesForAnswer } from '@tinyagi/core/internal';
// chatroom/: the chat room's store, in the server's context
export type { ChatroomStoreApi } from '@tinyagi/core/internal';
// compose/: the store set the server's context is built over
export type { StoreSet } from '@tinyagi/core/internal';
// config/: the settings source and its edits (agents, teams, providers, settings), masking, the listen address's checks, an agent's provider and workspace, the JSON error's path
export {
  addAgent,
  agentWorkspaceDir,
  type AgentWrite,
  assertListenAllowed,
  createTeam,
  type CustomProviderSettings,
  customProviderWithRuntime,
  deleteCustomProvider,
  deleteTeam,
  effectiveBudgets,
  effectiveServer,
  fileSettingsSource,
  findJsonTreeProblem,
  formatSettingsPath,
  heartbeatIntervalSeconds,
  isLoopbackHost,
  maskSettings,
  maskUrlSecretsInText,
  ownEntry,
  patchAgent,
  patchSettings,
  patchTeam,
  providerRuntime,
  putAgent,
  putCustomProvider,
  putTeam,
  requireAgent,
  requireCustomProvider,
  requireTeam,
  secretStatus,
  setAgentHeartbeat,
  setBuiltinProvider,
  type SettingsSource,
  workspaceRoot,
} from '@tinyagi/core/internal';
// invoker/: the run tools' tokens the guard checks, an agent's target and session key
export { isToolsToken, resolveInvokeTarget, sessionKeyFor, toolsTokenOpen } from '@tinyagi/core/internal';
// kinds/: the registered kinds and which runtime CLIs are present, for `GET /api/kinds`
export { kindsInfo, runtimeCliPresence } from '@tinyagi/core/internal';
// outbox/: the reply delivery the context owns
export { ReplyDelivery } from '@tinyagi/core/internal';
// pairing/: the pairing store (the paired-sender check)
export type { PairingStoreApi } from '@tinyagi/core/internal';
// quotas/: the quota holds as the API shows them
export { quotaHoldViews } from '@tinyagi/core/internal';
// runs/: the usage report's time buckets
export { bucketBoundaries } from '@tinyagi/core/internal';
// sandbox/: the sandbox's status of an agent (as the node that runs it sees it: nodes/sandbox.ts) and of the machine
export { agentSandboxOnNodes, type MachineCheck, releaseFolder, sandboxMachineView } from '@tinyagi/core/internal';
// schedules/: schedule edits, their next runs, and the message and event a fired schedule makes
export { createSchedule, firedEvent, nextScheduleRuns, scheduleMessage, type ScheduleStoreApi, updateSchedule } from '@tinyagi/core/internal';
// sessions/: the agents' session and message stores, in the server's context
export type { AgentMessageStoreApi, AgentSessionStoreApi } from '@tinyagi/core/internal';
// tasks/: task records and the tasks store
export type { TaskRecord, TaskStoreApi } from '@tinyagi/core/internal';
// workflows/: the registered workflows (settings' `workflows.<name>`) as the API lists them
export { registeredWorkflow, registeredWorkflows } from '@tinyagi/core/internal';
// workspace/: an agent's workspace: preparing and removing it, its memory index and front matter, the files a route may read
export { confineFiles, formatMemoryIndex, parseFrontMatter, prepareAgentWorkspace, readMemoryIndex, removeAgent, WORKSPACE_PATHS } from '@tinyagi/core/internal';
// memory/: the memory rules the routes apply (proposals, decisions, edits, retirement; secrets refused) and the scopes a run token reads
export {
  addMemory,
  autoAcceptedKinds,
  decideMemory,
  editMemory,
  embeddingsConfig,
  exportMemoryFiles,
  importMemoryFiles,
  includesScope,
  mustGetMemory,
  projectOfConversation,
  proposeForget,
  proposeRemember,
  readableScopes,
  readWorkspaceMemoryFiles,
  retireMemory,
  searchMemory,
  searchTerms,
  semanticRecallFor,
} from '@tinyagi/core/internal';

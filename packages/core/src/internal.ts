/**
 * @tinyagi/core/internal: what the sibling packages (teams, server, cli, channels, bench, the
 * tests) use beyond the public root — the database under the stores, the settings-editing
 * service, lock files, the daemon's helpers. No stability promise to library users. Only names
 * some other package imports (test/internal-exports.test.ts): the storage and domain folders'
 * index files list exactly those; the other folders' names are listed here (their index files
 * also serve core's own tests).
 */
export { type TinyErrorCode, TinyError, isTinyError, errorMessage } from './errors.ts';
export { newId, ID_PATTERN, isValidId, assertValidId } from './ids.ts';
export * from './storage/index.ts';
export { type SqliteStores, openStores } from './compose/sqlite-stores.ts';
export type { PruneCounts, TransactionalStores, StoreTransaction, TxBody, StoreSet } from './compose/store-set.ts';
export * from './events/index.ts';
export * from './queue/index.ts';
export * from './outbox/index.ts';
export * from './runs/index.ts';
export {
  formatMemoryIndex,
  parseFrontMatter,
  readMemoryIndex,
  composeSystemPrompt,
  provisionWorkspace,
  WORKSPACE_PATHS,
  prepareAgentWorkspace,
  teamsOfAgent,
  confineFiles,
  partitionFiles,
  type RefusedFile,
  removeAgent,
  type WorkspaceRemovalMode,
  type WorkspaceOutcome,
} from './workspace/index.ts';
export * from './chatroom/index.ts';
export * from './workflows/index.ts';
export * from './sessions/index.ts';
export {
  requireAgent,
  requireTeam,
  requireCustomProvider,
  addAgent,
  type AgentWrite,
  createAgent,
  putAgent,
  patchAgent,
  setAgentHeartbeat,
  createTeam,
  putTeam,
  patchTeam,
  deleteTeam,
  setBuiltinProvider,
  putCustomProvider,
  deleteCustomProvider,
  type BuiltinCredentialProvider,
  type BuiltinProviderChange,
  patchSettings,
  channelsPatch,
  type ChannelsChange,
  SettingsSchema,
  STEER_COMMANDS,
  REPLY_MODES,
  type Settings,
  type AgentSettings,
  type TeamSettings,
  type CustomProviderSettings,
  type SteerCommand,
  QUIET_HOURS_PATTERN,
  validateSettings,
  DEFAULT_AGENT_RUNTIME,
  agentProvider,
  customProviderRuntime,
  customProviderWithRuntime,
  customRuntimeName,
  oldRuntimeNames,
  oldMockRulesPaths,
  providerRuntime,
  findJsonTreeProblem,
  formatSettingsPath,
  ownEntry,
  checkAgentConfig,
  DEFAULT_LIMITS,
  effectiveServer,
  effectiveQueue,
  effectiveRetentionDays,
  heartbeatIntervalSeconds,
  effectiveLimits,
  effectiveBudgets,
  agentDefaults,
  teamDefaults,
  type EffectiveLimits,
  type EffectiveBudgets,
  loadSettings,
  writeSettings,
  type SettingsSource,
  fileSettingsSource,
  maskSettings,
  maskUrlSecrets,
  maskUrlSecretsInText,
  secretStatus,
  stripUnchangedMasks,
  DEFAULT_WORKSPACE_PATH,
  resolveTinyHome,
  homePaths,
  workspaceRoot,
  agentWorkspaceDir,
  type Env,
  type HomePaths,
  applyEnvOverrides,
  ALLOW_REMOTE_ENV,
  assertListenAllowed,
  isLoopbackHost,
  remoteAllowed,
} from './config/index.ts';
export * from './nodes/index.ts';
export {
  type InvokeRequest,
  type InvokeResult,
  type InvokeProgress,
  type SessionMessage,
  type SpawnAgentArgs,
  InvokeError,
  isInvokeError,
  addSpend,
  spendOf,
  type AttemptSpend,
  invokeAgent,
  customProviderRuntimes,
  agentModel,
  resolveInvokeTarget,
  sessionKeyFor,
  cliReadsAgentsMd,
  codexProviderStatus,
  reapOrphanedGroups,
  setProcessJournal,
} from './invoker/index.ts';
export { channelKinds, runtimeKinds, channelKindInfo, kindsInfo } from './kinds/index.ts';
export { findOnPath, runtimeCliPresence } from './kinds/runtime-cli.ts';
export { sandboxLoginStatus } from './invoker/sandbox-login.ts';
export * from './pairing/index.ts';
export * from './quotas/index.ts';
export { cliVersion, cliVersionSpec, type CliVersionInfo } from './invoker/cli-version.ts';
export * from './approvals/index.ts';
export { EgressProxy, type EgressAnswer, type EgressAsk } from '@tinyagi/sandbox';
export { ModelProxy, type BudgetQuery } from '@tinyagi/sandbox';
export { invokeThroughModelProxy } from './invoker/through-model-proxy.ts';
export { type LaunchConfinement, planLaunch } from './invoker/launch-plan.ts';
export { readLaunchFacts } from './invoker/launch-facts.ts';
export { agentSandboxMode, confinedAgent, sandboxAtLeast, sandboxModeOf } from './sandbox/agent-spec.ts';
export { AGENT_TOOLS_ENV, type McpServerSpec } from './invoker/mcp-servers.ts';
export { isToolsToken, toolsRunOf, toolsTokenOpen } from './invoker/tools-tokens.ts';
export { baseChildEnv, buildChildEnv } from './invoker/child-env.ts';
// The boundary of sandboxed agents (docs/sandbox.md): the daemon's self-test and the status every surface shows.
export { quickCheck, type MachineCheck } from '@tinyagi/sandbox';
export { hiddenInSandbox, runSelfTest, sandboxHost } from './sandbox/host.ts';
export type { SandboxHost } from '@tinyagi/sandbox';
export { daemonSecrets } from './config/secrets.ts';
export { joinTools } from '@tinyagi/sandbox';
export { agentSandboxView, sandboxStatusOf, sandboxMachineView, runtimeRunsProcess } from './sandbox/status.ts';
export { boundaryEnforced } from '@tinyagi/sandbox';
export { confinedCommandWrap, taskCommandWrap } from './sandbox/task-commands.ts';
export { folderHold, heldFolders, holdFolder, releaseFolder, type FolderHold } from './sandbox/held-folders.ts';
export * from './schedules/index.ts';
export * from './tasks/index.ts';
// Memory (docs/memory.md): the stores' rules, recall before a turn, the scopes a run reads.
export {
  addMemory,
  autoAcceptedKinds,
  decideMemory,
  editMemory,
  embed,
  EmbeddingSweep,
  embeddingsConfig,
  exportMemoryFiles,
  importMemoryFiles,
  includesScope,
  mustGetMemory,
  projectOfConversation,
  projectOfSender,
  proposeForget,
  proposeRemember,
  readableScopes,
  readWorkspaceMemoryFiles,
  recallForTurn,
  retireMemory,
  searchMemory,
  searchTerms,
  semanticRecallFor,
  useEmbeddingsLog,
} from './memory/index.ts';
// The git engine's needs (packages/git-tasks/src/core.ts): the process groups its checks run in, the
// sandbox's answers a binding is checked against, and a task worktree's admin files and identity.
export { signalProcessGroup, trackProcessGroup, untrackProcessGroup } from './process-group.ts';
export { sandboxSpecOf } from './sandbox/agent-spec.ts';
export * from './task-worktree/index.ts';
// For the git engine's tests of a sandboxed agent, setup and check in a task's worktree (packages/git-tasks/test).
export { gitWorktreeMounts } from '@tinyagi/sandbox';
export { runCliProcess } from './invoker/cli-runner.ts';
export { readLockFile, createLockFile, takeOverStaleLock, removeLockFile } from './lockfile/lock-file.ts';
export { processExists } from './process-exists.ts';

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
export { EgressProxy, type EgressAnswer, type EgressAsk } from './sandbox/egress-proxy.ts';
export { ModelProxy, type BudgetQuery } from './sandbox/model-proxy.ts';
export { invokeThroughModelProxy } from './invoker/through-model-proxy.ts';
export { AGENT_TOOLS_ENV, type McpServerSpec } from './invoker/mcp-servers.ts';
export { isToolsToken, toolsRunOf, toolsTokenOpen } from './invoker/tools-tokens.ts';
export { baseChildEnv } from './invoker/child-env.ts';
// The boundary of sandboxed agents (docs/sandbox.md): the daemon's self-test and the status every surface shows.
export { recordMachineCheck, recordedMachineCheck, type MachineCheck } from './sandbox/machine.ts';
export { runSelfTest, daemonSecrets } from './sandbox/self-test.ts';
export { sandboxStatusOf, sandboxMachineView, runtimeRunsProcess } from './sandbox/status.ts';
export { setCliEntry } from './sandbox/boundary.ts';
export { taskCommandWrap } from './sandbox/task-commands.ts';
export * from './schedules/index.ts';
export * from './tasks/index.ts';
export { resolveProjectRepo } from './git-tasks/project-repo.ts';
export { checkProjectBinding } from './git-tasks/binding-check.ts';
export { runTaskWorktreeStep, type TaskStepBase } from './git-tasks/task-step.ts';
export { CHECK_NOT_STARTED, finishTaskChecking, runTaskChecking } from './git-tasks/checking-step.ts';
export { carryOutRoundsAnswer } from './git-tasks/rounds-step.ts';
export { requestRoundsApproval, roundsApprovalId } from './git-tasks/rounds-request.ts';
export { runTaskReview } from './git-tasks/review-step.ts';
export { anchoredFile } from './git-tasks/review-anchor.ts';
export { followComments, taskTip } from './git-tasks/review-position.ts';
export { runTaskMerge } from './git-tasks/merge-step.ts';
export { mergeRuleDecision } from './git-tasks/merge-rule.ts';
export { taskDiff } from './git-tasks/diff.ts';
export { projectWorktrees, removeWorktreeAt, type WorktreeRemoval } from './git-tasks/worktree-life.ts';
export { openTaskPullRequest, runTaskForgeMerge, syncTaskForge } from './git-tasks/forge-step.ts';
export type { CreateForge, Forge, ForgeCheckRun, ForgeConnection, ForgeMergeResult, ForgePullRequest, ForgeReview, ForgeReviewComment } from './git-tasks/forge.ts';
// Check kinds and forges (docs/kinds.md): registries a new kind is registered in.
export { BUILTIN_CHECK_KINDS, type BindingProblem, type CheckKind, checkKindName, checkKinds, defineCheckKind, textCheckResult } from './git-tasks/check-kinds/index.ts';
export type { CheckResult, RunCheckOptions } from './git-tasks/checks.ts';
export { defineForgeKind, type ForgeKind, forgeKinds, openBindingForge } from './git-tasks/forge-kind.ts';
export { readLockFile, createLockFile, takeOverStaleLock, removeLockFile } from './lockfile/lock-file.ts';
export { processExists } from './process-exists.ts';

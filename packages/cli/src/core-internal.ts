/**
 * What the `tinyagi` command and the daemon take from `@tinyagi/core/internal`
 * (docs/architecture.md, "Public roots and internal subpaths"): what starts and runs a daemon
 * (settings source, lock files, process journal, the model and egress proxies, the sandbox's
 * self-test, nodes), the settings edits the offline commands apply (the same the API applies), and
 * what doctor checks. The root keeps to what a library user needs; these are the daemon's.
 * Every other file of the package imports these names from here (biome.jsonc), so what the
 * package depends on beyond core's public root is read in one place, each group with the reason
 * the root does not carry it; a name core stops giving fails here. Only re-exports: the CLI's
 * bundle looks through this file to the module that defines each name (flatten-barrels.mjs).
 */

// approvals/: a new agent's approval defaults from the machine's facts
export { newAgent, newAgentNoteText, type NewAgent, type NewAgentMachine } from '@tinyagi/core/internal';
// compose/: the store set the daemon's services run over
export type { StoreSet } from '@tinyagi/core/internal';
// config/: the settings: reading, the environment's overrides, the source, the offline edits (agents, teams, providers, channels), defaults and effective values, masking, the listen address's checks
export {
  agentDefaults,
  agentProvider,
  agentWorkspaceDir,
  ALLOW_REMOTE_ENV,
  applyEnvOverrides,
  assertListenAllowed,
  type BuiltinCredentialProvider,
  type BuiltinProviderChange,
  type ChannelsChange,
  channelsPatch,
  checkAgentConfig,
  createAgent,
  createTeam,
  customProviderRuntime,
  customProviderWithRuntime,
  customRuntimeName,
  DEFAULT_AGENT_RUNTIME,
  DEFAULT_WORKSPACE_PATH,
  deleteCustomProvider,
  deleteTeam,
  effectiveQueue,
  effectiveRetentionDays,
  effectiveServer,
  type Env,
  fileSettingsSource,
  heartbeatIntervalSeconds,
  isLoopbackHost,
  maskSettings,
  maskUrlSecrets,
  maskUrlSecretsInText,
  oldRuntimeNames,
  oldMockRulesPaths,
  ownEntry,
  patchAgent,
  patchSettings,
  patchTeam,
  providerRuntime,
  putCustomProvider,
  QUIET_HOURS_PATTERN,
  remoteAllowed,
  REPLY_MODES,
  requireAgent,
  requireTeam,
  secretStatus,
  setBuiltinProvider,
  type SettingsSource,
  workspaceRoot,
  writeSettings,
} from '@tinyagi/core/internal';
// events/: the event log the activity log and the channel supervisor write
export type { EventLogApi, EventPayloadInput } from '@tinyagi/core/internal';
// invoker/: the agent tools' shim and environment, the CLI versions, an agent's target, the model proxy's routing, the process journal and orphaned groups, the sandboxed logins
export {
  AGENT_TOOLS_ENV,
  baseChildEnv,
  cliVersion,
  type CliVersionInfo,
  cliVersionSpec,
  codexProviderStatus,
  customProviderRuntimes,
  invokeThroughModelProxy,
  type McpServerSpec,
  reapOrphanedGroups,
  resolveInvokeTarget,
  sandboxLoginStatus,
  setProcessJournal,
  toolsRunOf,
} from '@tinyagi/core/internal';
// kinds/: the channel kinds' descriptions and finding a runtime's CLI
export { channelKindInfo, findOnPath } from '@tinyagi/core/internal';
// lockfile/: the daemon's single-instance lock
export { createLockFile, readLockFile, removeLockFile, takeOverStaleLock } from '@tinyagi/core/internal';
// memory/: the embedding sweep the daemon runs, the embeddings endpoint doctor asks, where recall's embeddings problems are logged
export { embed, EmbeddingSweep, embeddingsConfig, semanticRecallFor, useEmbeddingsLog } from '@tinyagi/core/internal';
// nodes/: which agents run on which node (several nodes on one PostgreSQL database)
export { agentsForNode, agentsOnOtherNodes, agentsWaitingForNodes, leadingNode, nodeStatuses } from '@tinyagi/core/internal';
// outbox/: the reply delivery the daemon runs
export { ReplyDelivery } from '@tinyagi/core/internal';
// process-exists.ts: whether a pid is alive (stale locks, channel processes)
export { processExists } from '@tinyagi/core/internal';
// sandbox/: an agent's sandbox setting, the node's sandbox host, the sandbox's self-test and status, the model and egress proxies, the machine check, the folders confined runs worked in
export { agentSandboxMode, daemonSecrets, EgressProxy, joinTools, type MachineCheck, ModelProxy, quickCheck, runSelfTest, runtimeRunsProcess, sandboxStatusOf } from '@tinyagi/core/internal';
export { sandboxHost, type SandboxHost } from '@tinyagi/core/internal';
export { agentSandboxView, heldFolders, nodeSandboxView, releaseFolder } from '@tinyagi/core/internal';
// schedules/: schedule edits, time zones and run-at times, the scheduler's next runs
export {
  createSchedule,
  isTimeZone,
  nextScheduleRun,
  parseRunAt,
  type ScheduleCreate,
  scheduleMessage,
  type SchedulePatch,
  type ScheduleRecord,
  type ScheduleStoreApi,
  updateSchedule,
} from '@tinyagi/core/internal';
// storage/: opening the SQLite database (doctor, `storage copy`, the SQLite beside PostgreSQL) and its migrations, internal by design
export { MIGRATIONS_FOLDER, openDatabase, type TinyDatabase } from '@tinyagi/core/internal';
// workspace/: an agent's workspace: provisioning, preparing and removing it, its paths
export { prepareAgentWorkspace, provisionWorkspace, removeAgent, WORKSPACE_PATHS, type WorkspaceOutcome, type WorkspaceRemovalMode } from '@tinyagi/core/internal';

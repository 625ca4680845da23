/**
 * @tinyagi/core public API. Internals (statement caches, row mappers) are not exported.
 */
export { TinyError, isTinyError, errorMessage, type TinyErrorCode, type TinyErrorOptions } from './errors.ts';
export { newId, isValidId, assertValidId, ID_PATTERN } from './ids.ts';

export { openDatabase, classifyDatabaseError, MIGRATIONS_FOLDER, GroupCommit, groupWrites, writeEach, type TinyDatabase, type OpenDatabaseOptions, type Durability } from './storage/index.ts';
export type { Transaction, TransactionOptions, TransactionRunner } from './storage/transaction.ts';
export type * from './storage/interfaces.ts';
export { openStores, type Stores, type OpenStoresOptions } from './stores.ts';

export * from './events/index.ts';
export * from './queue/index.ts';
export * from './outbox/index.ts';
export * from './runs/index.ts';

export {
  provisionWorkspace,
  prepareAgentWorkspace,
  archiveWorkspace,
  removeWorkspace,
  PROVISION_VERSION,
  WORKSPACE_PATHS,
  TEMPLATES_DIR,
  readMemoryIndex,
  formatMemoryIndex,
  parseFrontMatter,
  DEFAULT_MEMORY_BOUNDS,
  composeSystemPrompt,
  PromptCache,
  teamsOfAgent,
  formatTeammates,
  confineFiles,
  partitionFiles,
  isInside,
  type RefusedFile,
  type PromptAgent,
  type PromptTeam,
  type PromptTeamMember,
  type TeamDirectory,
  type ComposeSystemPromptInput,
  type ComposedPrompt,
  type MemoryEntry,
  type ProvisionResult,
  type ProvisionWorkspaceInput,
  type ArchiveWorkspaceInput,
  type ArchiveResult,
  removeAgent,
  planWorkspaceRemoval,
  applyWorkspaceRemoval,
  WORKSPACE_ARCHIVE_DIR,
  type WorkspaceRemovalMode,
  type WorkspaceOutcome,
  type WorkspaceRemovalPlan,
} from './workspace/index.ts';

export { ChatroomStore, type ChatroomPost, type ChatroomListQuery } from './chatroom/index.ts';
export {
  SenderDefaultsStore,
  AgentSessionStore,
  AgentMessageStore,
  type AgentSessionRecord,
  type SessionTurnMessage,
  type RecordTurnInput,
  type AgentMessageRecord,
  type AppendAgentMessageInput,
} from './sessions/index.ts';

export {
  SettingsSchema,
  QUIET_HOURS_PATTERN,
  STEER_COMMANDS,
  REPLY_MODES,
  SETTINGS_DEFAULTS,
  DEFAULT_LIMITS,
  effectiveLimits,
  effectiveBudgets,
  effectiveQueue,
  agentDefaults,
  teamDefaults,
  agentWorkspaceDir,
  loadSettings,
  ownEntry,
  type Settings,
  type AgentSettings,
  type TeamSettings,
  type LimitsSettings,
  type BudgetSettings,
  type SteerCommand,
  type ReplyMode,
  type EffectiveLimits,
  type EffectiveBudgets,
  type EffectiveAgent,
} from './config/index.ts';
export {
  invokeAgent,
  registerAdapter,
  resolveInvokeTarget,
  sessionKeyFor,
  InvokeError,
  isInvokeError,
  SPAWN_AGENT_TOOL_NAME,
  addSpend,
  spendOf,
  type AttemptSpend,
  type InvokeRequest,
  type InvokeResult,
  type InvokeTarget,
  type InvokeProgress,
  type InvokeSession,
  type InvokeTools,
  type InvokeUsage,
  type InvokeErrorKind,
  type SessionMessage,
  type SpawnAgentArgs,
  type InvokeAdapter,
  reapOrphanedGroups,
  setProcessJournal,
  type ReapResult,
} from './invoker/index.ts';

// The settings-editing service (API routes and the CLI without a daemon).
export {
  requireAgent,
  requireTeam,
  requireCustomProvider,
  agentConfig,
  putAgent,
  patchAgent,
  setAgentHeartbeat,
  deleteAgent,
  teamsReferencingAgent,
  putTeam,
  patchTeam,
  deleteTeam,
  setBuiltinProvider,
  putCustomProvider,
  deleteCustomProvider,
  customProviderUsers,
  patchSettings,
  channelsPatch,
  type BuiltinCredentialProvider,
  type BuiltinProviderChange,
  type ChannelsChange,
  type CustomProviderSettings,
} from './config/index.ts';

// Used by @tinyagi/server (settings routes, security and file confinement).
export {
  effectiveServer,
  heartbeatIntervalSeconds,
  maskSettings,
  stripUnchangedMasks,
  secretStatus,
  deepMergeSettings,
  updateSettings,
  parseSettings,
  parseSettingsChange,
  findJsonTreeProblem,
  formatSettingsPath,
  workspaceRoot,
  homePaths,
  resolveTinyHome,
  BUILTIN_PROVIDERS,
  type EffectiveServer,
  type HomePaths,
  type SecretStatus,
} from './config/index.ts';
export {
  PairingStore,
  generatePairingCode,
  normalizePairingCode,
  PAIRING_CODE_ALPHABET,
  PAIRING_CODE_LENGTH,
  type PendingPairing,
  type ApprovedPairing,
  type PairingRequestResult,
  type PairingStoreOptions,
} from './pairing/index.ts';
export {
  ScheduleStore,
  nextScheduleRun,
  validateScheduleTiming,
  assertTimeZone,
  isTimeZone,
  parseRunAt,
  newScheduleInput,
  patchedScheduleInput,
  createSchedule,
  updateSchedule,
  type ScheduleRecord,
  type ScheduleInput,
  type MissedPolicy,
  type ScheduleTiming,
  type ScheduleCreate,
  type SchedulePatch,
} from './schedules/index.ts';
export {
  TaskStore,
  derivePrefix,
  TASK_STATUSES,
  type TaskStatus,
  type TaskRecord,
  type ProjectRecord,
  type CommentRecord,
  type CreateTaskInput,
  type TaskPatch,
} from './tasks/index.ts';

// Used by the tinyagi CLI (daemon start, first-run defaults, settings reload).
export {
  DEFAULT_WORKSPACE_PATH,
  HARNESSES,
  applyEnvOverrides,
  ALLOW_REMOTE_ENV,
  assertListenAllowed,
  isLoopbackHost,
  remoteAllowed,
  effectiveRetentionDays,
  parseSettingsText,
  writeSettings,
  checkAgentConfig,
  unknownAgentKeys,
  formatSettingsIssues,
  PERMISSION_MODES,
  type Env,
  type SettingsIssue,
  type PermissionMode,
} from './config/index.ts';

export { createLockFile, readLockFile, takeOverStaleLock, removeLockFile, type StaleCheck } from './lockfile/lock-file.ts';

/**
 * @tinyagi/core config: the settings.json schema, loading, atomic locked writes, secrets
 * masking, paths and environment overrides.
 */
export {
  SettingsSchema,
  SettingsShapeSchema,
  AgentSchema,
  TeamSchema,
  CustomProviderSchema,
  LimitsSchema,
  BudgetsSchema,
  MockScriptSchema,
  MockReplySchema,
  ProviderNameSchema,
  STEER_COMMANDS,
  BUSY_POLICIES,
  SESSION_MODES,
  REPLY_MODES,
  DURABILITIES,
  MOCK_FAILURES,
  PERMISSION_MODES,
  ENV_NAME_PATTERN,
  type PermissionMode,
  type Settings,
  type AgentSettings,
  type TeamSettings,
  type CustomProviderSettings,
  type LimitsSettings,
  type BudgetSettings,
  type MockScript,
  type MockReply,
  type ProviderName,
  type ServerSettings,
  type QueueSettings,
  type SteerCommand,
  type BusyPolicy,
  type SessionMode,
  type ReplyMode,
  QUIET_HOURS_PATTERN,
} from './schema.ts';
export {
  validateSettings,
  parseSettings,
  parseSettingsChange,
  toSettingsIssues,
  formatSettingsIssues,
  settingsInvalidError,
  type SettingsIssue,
  type SettingsValidation,
} from './validate.ts';
export { oldMockRulesPaths } from './mock-replies.ts';
export { DEFAULT_AGENT_RUNTIME, agentProvider, customProviderRuntime, customProviderWithRuntime, customRuntimeName, oldRuntimeNames, providerRuntime } from './runtime-names.ts';
export { findJsonTreeProblem, formatSettingsPath, ownEntry, type JsonTreeLimits, type JsonTreeProblem } from './object-path.ts';
export { checkAgentConfig, unknownAgentKeys, unknownKeyIssues, nearestKey } from './unknown-keys.ts';
export {
  SETTINGS_DEFAULTS,
  DEFAULT_LIMITS,
  effectiveServer,
  effectiveQueue,
  effectiveRetentionDays,
  heartbeatIntervalSeconds,
  effectiveLimits,
  effectiveBudgets,
  agentDefaults,
  teamDefaults,
  type EffectiveServer,
  type EffectiveQueue,
  type EffectiveLimits,
  type EffectiveBudgets,
  type EffectiveAgent,
  type EffectiveTeam,
} from './defaults.ts';
export { loadSettings, parseSettingsText, type LoadedSettings } from './load.ts';
export { findJsonSyntaxError, type JsonSyntaxError } from './json-syntax.ts';
export { writeSettings, updateSettings, prepareSettingsWrite, settingsLockPath, type WriteSettingsOptions } from './write.ts';
export type { SettingsSource, SettingsChangeListener, SettingsChangeSource, SettingsEventSink } from './source.ts';
export { fileSettingsSource, recordSettingsChange, type FileSettingsOptions, type SettingsLog } from './settings-source.ts';
export { DEFAULT_LOCK_TIMEOUT_MS, DEFAULT_STALE_LOCK_MS, type LockOptions } from './lock.ts';
export { deepMergeSettings } from './merge.ts';
export * from './editing/index.ts';
export {
  SECRET_PATHS,
  MASK_CHAR,
  isSecretKey,
  maskSecret,
  isMaskedValue,
  maskSettings,
  maskUrlSecrets,
  maskUrlSecretsInText,
  hasMaskedUrlSecret,
  secretStatus,
  stripUnchangedMasks,
  type SecretStatus,
} from './secrets.ts';
export {
  DEFAULT_HOME_DIR_NAME,
  DEFAULT_WORKSPACE_PATH,
  expandHome,
  resolveTinyHome,
  homePaths,
  workspaceRoot,
  agentWorkspaceDir,
  type Env,
  type HomePaths,
} from './paths.ts';
export { ENV_OVERRIDES, applyEnvOverrides, stripEnvOverrides, type EnvOverrideResult } from './env.ts';
export { ALLOW_REMOTE_ENV, assertListenAllowed, isLoopbackHost, remoteAllowed } from './listen-policy.ts';

/**
 * @tinyagi/core agent invoker: one `invokeAgent` call for every runtime (the Claude Code, Codex
 * and OpenCode CLIs, OpenAI- and Anthropic-compatible HTTP APIs, the built-in mock, and any a
 * plugin registers with `registerRuntime`; docs/kinds.md), with timeouts,
 * process-group kills, progress events and failures classified for the durable queue.
 */
export {
  DEFAULT_TIMEOUT_MS,
  DEFAULT_INACTIVITY_MS,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_EXIT_AFTER_RESULT_MS,
  DEFAULT_MAX_TOOL_ROUNDS,
  type InvokeTarget,
  type InvokeRequest,
  type InvokeResult,
  type InvokeUsage,
  type InvokeProgress,
  type PlanStep,
  type ToolActivityKind,
  type QuotaReport,
  type ApprovalAsk,
  type ApprovalAnswer,
  type InvokeSession,
  type InvokeTools,
  type InvokeFn,
  type SessionMessage,
  type SpawnAgentArgs,
} from './types.ts';
export {
  InvokeError,
  isInvokeError,
  isRetryableKind,
  addSpend,
  spendOf,
  type AttemptSpend,
  type InvokeErrorKind,
  type InvokeErrorOptions,
} from './invoke-error.ts';
export { invokeAgent } from './invoke.ts';
export { agentModel, customProviderRuntimes, resolveInvokeTarget, resolveModelAlias, sessionKeyFor, type SessionScope } from './resolve-target.ts';
export {
  DEFAULT_MOCK_REPLY,
  MOCK_RATE_LIMIT_RETRY_MS,
  type MockScriptSpec,
  type MockReplySpec,
  type MockSpawnSpec,
  type MockUsageSpec,
  type MockFailure,
} from './runtimes/mock.ts';
export { SPAWN_AGENT_TOOL_NAME } from './spawn-tool.ts';
export { cliReadsAgentsMd } from './workspace-instructions.ts';
export { codexProviderStatus, type CodexProviderStatus } from './runtimes/codex-config.ts';
export { reapOrphanedGroups, setProcessJournal, type ReapResult } from '../process-group.ts';
export { sessionPool, SessionPool, DEFAULT_SESSION_POOL_OPTIONS, type SessionPoolOptions, type PoolStats, type PoolSessionInfo } from './warm/pool.ts';
export { attachSessionPool, sessionPoolOptions } from './warm/pool-settings.ts';
export { warmCapabilities } from './warm/invoke-warm.ts';
export type { WarmDriver, WarmSession, WarmTurn, WarmStartOptions, WarmCapabilities } from './warm/types.ts';

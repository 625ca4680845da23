/**
 * The invoker's contract: one request shape for every provider, one result shape, one error
 * class (invoke-error.ts). Adapters never see settings.json; `resolveInvokeTarget` turns an
 * agent's settings into an `InvokeTarget` first, so plugins and tests can build targets directly.
 */
import type { MockScriptSpec } from './adapters/mock-script.ts';

/** Where and how one agent runs: everything an adapter needs besides the message itself. */
export interface InvokeTarget {
  /** The runtime's name (`claude-code`, `codex`, `mock`, a plugin's; see runtimes.ts). */
  adapter: string;
  /** The agent's provider, named as it runs ("claude-code", "custom:local", …); for messages and usage. */
  provider: string;
  /** Model id after alias resolution; omitted means the CLI's own default. */
  model?: string;
  /** CLI adapters: the executable to run (default: the adapter's binary name, found on PATH). */
  command?: string;
  /** CLI adapters: provider environment (credentials, config homes) added to the minimal base env. */
  env?: Record<string, string>;
  /** HTTP adapters and codex/opencode custom providers: API root, e.g. `http://127.0.0.1:8080/v1` (openai) or `https://api.anthropic.com` (anthropic). */
  baseUrl?: string;
  apiKey?: string;
  headers?: Record<string, string>;
  /** anthropic HTTP: `max_tokens` per model call (the API requires one). Default 8192. */
  maxOutputTokens?: number;
  /** HTTP adapters: model calls allowed in one invocation when tools are used. Default 8. */
  maxToolRounds?: number;
  /** Wall-clock limit for one invocation. Default 30 min. */
  timeoutMs?: number;
  /** No output (stdout/stderr bytes or stream chunks) for this long ends the run. Default 3 min. */
  inactivityMs?: number;
  /** Between SIGTERM and SIGKILL of the process group. Default 5 s. */
  killGraceMs?: number;
  /** CLI adapters: after the final result event, how long the CLI may take to exit before its group is killed. Default 30 s. */
  exitAfterResultMs?: number;
  /** claude adapter: Claude Code's `--permission-mode`; `bypassPermissions` (default) passes `--dangerously-skip-permissions`. */
  permissionMode?: string;
  /** mock adapter: the scripted behaviour. */
  mock?: MockScriptSpec;
}

export interface SessionMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface InvokeSession {
  /** The session key (`shared`, `sender:<channel>:<id>`, `thread:<channel>:<key>`). */
  key: string;
  /** Provider session to continue (claude session id, codex thread id, opencode session id). */
  resumeId?: string | null;
  /** Earlier turns, oldest first; sent as prior messages by the HTTP adapters and used by mock templates. */
  history?: SessionMessage[];
  /** 1-based number of this turn in the session. */
  turn?: number;
  /** Start a new provider session even when `resumeId` is set (`tinyagi agent reset`). */
  fresh?: boolean;
  /**
   * For adapters that give the system prompt in-band once per provider session (codex): the
   * hash of the prompt the resumed session last received. A different current prompt is sent
   * again, so edits to AGENTS.md, memory or teammates reach a long-lived thread.
   */
  instructionsHash?: string;
  /** What this adapter returned as `providerState` for the session last time (opaque to callers). */
  providerState?: string;
  /**
   * An earlier attempt of this turn failed: the provider session may hold the failed attempt's
   * half of the turn, so the adapter must not simply resume it (docs/operations.md, "Retries").
   */
  retry?: boolean;
}

export interface SpawnAgentArgs {
  agent: string;
  task: string;
  session?: string;
}

export interface InvokeTools {
  /**
   * Runs another agent as a child and resolves with its final reply (or an explicit refusal
   * text). `signal` aborts when the parent run is cancelled or times out; the parent stops
   * waiting at that moment either way.
   */
  spawnAgent?: (args: SpawnAgentArgs, options: { signal: AbortSignal }) => Promise<string>;
}

export type InvokeProgress =
  | { type: 'text'; text: string }
  | { type: 'tool'; name: string; input?: unknown }
  | { type: 'tool_result'; name?: string; ok: boolean }
  | { type: 'status'; message: string };

export interface InvokeRequest {
  agentId: string;
  target: InvokeTarget;
  prompt: string;
  systemPrompt: string;
  /** The agent's workspace; the CLI runs here. */
  cwd: string;
  session?: InvokeSession;
  signal?: AbortSignal;
  onEvent?: (event: InvokeProgress) => void;
  tools?: InvokeTools;
  /** Extra environment for CLI agents (TINYAGI_RUN_ID, TINYAGI_RUN_TOKEN, TINYAGI_API_URL, …). */
  env?: Record<string, string>;
  /** Overrides `target.timeoutMs` for this call. */
  timeoutMs?: number;
  /** Overrides `target.inactivityMs` for this call. */
  inactivityMs?: number;
  /**
   * True while the run is legitimately silent, e.g. its CLI is blocked in `tinyagi call` on a
   * child run; the inactivity watchdog waits instead of killing it. The wall clock still applies.
   */
  busyElsewhere?: () => boolean;
  /**
   * A steering checkpoint inside one invocation. HTTP agents call it before each model call
   * after the first (between tool rounds); it may wait (the run is paused) and returns operator
   * input to add as a user message before that call, or undefined. CLI agents cannot be
   * steered mid-invocation; their checkpoints are between invocations (the orchestrator's).
   */
  checkpoint?: () => Promise<string | undefined>;
}

export interface InvokeUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface InvokeResult {
  /** The agent's final reply, free of tool markers. */
  text: string;
  usage?: InvokeUsage;
  costUsd?: number;
  /** Provider session to pass as `session.resumeId` next time. */
  sessionId?: string;
  /** The hash of the system prompt this call delivered in-band (store it with the session). */
  instructionsHash?: string;
  /** What the adapter keeps about the provider session for the next turn (store it with the session). */
  providerState?: string;
}

export type InvokeAdapter = (req: InvokeRequest) => Promise<InvokeResult>;

export const DEFAULT_TIMEOUT_MS = 30 * 60_000;
export const DEFAULT_INACTIVITY_MS = 3 * 60_000;
export const DEFAULT_KILL_GRACE_MS = 5_000;
export const DEFAULT_EXIT_AFTER_RESULT_MS = 30_000;
export const DEFAULT_MAX_TOOL_ROUNDS = 8;

export interface RunLimits {
  timeoutMs: number;
  inactivityMs: number;
}

export function runLimits(req: InvokeRequest): RunLimits {
  return {
    timeoutMs: req.timeoutMs ?? req.target.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    inactivityMs: req.inactivityMs ?? req.target.inactivityMs ?? DEFAULT_INACTIVITY_MS,
  };
}

export function addUsage(total: InvokeUsage | undefined, more: InvokeUsage | undefined): InvokeUsage | undefined {
  if (!more) return total;
  if (!total) return more;
  return { inputTokens: total.inputTokens + more.inputTokens, outputTokens: total.outputTokens + more.outputTokens };
}

/** Progress callbacks must never break a run: a throwing listener is the caller's bug, not the agent's failure. */
export function emitProgress(req: InvokeRequest, event: InvokeProgress): void {
  if (!req.onEvent) return;
  try {
    req.onEvent(event);
  } catch {
    // ignored on purpose, see above
  }
}

/**
 * The invoker's contract: one request shape for every provider, one result shape, one error
 * class (invoke-error.ts). Runtimes never see settings.json; `resolveInvokeTarget` turns an
 * agent's settings into an `InvokeTarget` first, so plugins and tests can build targets directly.
 */
import type { MockScriptSpec } from './runtimes/mock-script.ts';
import type { McpServerSpec } from './mcp-servers.ts';
import type { ModelUpstream, QuotaReport, SandboxHost, SandboxSpec } from '@tinyagi/sandbox';

/** Where and how one agent runs: everything a runtime needs besides the message itself. */
export interface InvokeTarget {
  /** The runtime's name (`claude-code`, `codex`, `mock`, a plugin's; see runtimes/index.ts). */
  runtime: string;
  /** The agent's provider, named as it runs ("claude-code", "custom:local", …); for messages and usage. */
  provider: string;
  /** Model id after alias resolution; omitted means the CLI's own default. */
  model?: string;
  /** CLI runtimes: the executable to run (default: the runtime's binary name, found on PATH). */
  command?: string;
  /** The `acp` runtime: the agent's arguments (no shell), e.g. `["--acp"]`. */
  args?: string[];
  /**
   * The `acp` runtime: whether this agent reads the workspace's AGENTS.md itself (unless one of
   * `instructionFiles` exists), instead of its runtime's `capabilities.readsAgentsMd`.
   */
  readsAgentsMd?: boolean;
  instructionFiles?: string[];
  /** CLI runtimes: provider environment (credentials, config homes) added to the minimal base env. */
  env?: Record<string, string>;
  /** HTTP runtimes and codex/opencode custom providers: API root, e.g. `http://127.0.0.1:8080/v1` (openai) or `https://api.anthropic.com` (anthropic). */
  baseUrl?: string;
  apiKey?: string;
  headers?: Record<string, string>;
  /** anthropic HTTP: `max_tokens` per model call (the API requires one). Default 8192. */
  maxOutputTokens?: number;
  /** HTTP runtimes: model calls allowed in one invocation when tools are used. Default 8. */
  maxToolRounds?: number;
  /** Wall-clock limit for one invocation. Default 30 min. */
  timeoutMs?: number;
  /** No output (stdout/stderr bytes or stream chunks) for this long after the first output ends the run. Default 3 min. */
  inactivityMs?: number;
  /**
   * No output for this long after the start ends the run (the start grace: a CLI's start is slow
   * on a loaded machine). Never shorter than `inactivityMs`; default: `inactivityMs`.
   */
  startGraceMs?: number;
  /** Between SIGTERM and SIGKILL of the process group. Default 5 s. */
  killGraceMs?: number;
  /** CLI runtimes: after the final result event, how long the CLI may take to exit before its group is killed. Default 30 s. */
  exitAfterResultMs?: number;
  /** claude-code runtime: Claude Code's `--permission-mode`; `bypassPermissions` (default) passes `--dangerously-skip-permissions`. */
  permissionMode?: string;
  /** mock runtime: the scripted behaviour. */
  mock?: MockScriptSpec;
  /** Run through the runtime's warm driver (a warm process from the session pool) when it has one (`process: "warm"`). */
  warm?: boolean;
  /**
   * CLI runtimes: start the CLI inside the boundary (the agent's `sandbox` setting `on` or
   * `required`, docs/sandbox.md); absent: unconfined. `on` runs unconfined where the machine cannot
   * enforce it (saying so); `required` then fails the run. The launch plan (launch-plan.ts) sets it
   * after the callers' chain.
   */
  sandbox?: SandboxSpec;
  /**
   * The launch plan's word that `sandbox` holds on this node: the CLI starts inside the boundary.
   * What a runtime does differently inside (its own sandbox off, no login of the user's) reads
   * this, never the machine.
   */
  confined?: boolean;
}

/**
 * How an invocation's model calls travel (the launch plan's model route, launch-plan.ts): straight
 * to the provider, or through the node's model proxy, which carries `upstream`'s key and meters
 * the calls; the agent reaches the proxy on its socket inside the boundary (`sandbox`) or on the
 * loopback.
 */
export type ModelRoute = { via: 'direct' } | { via: 'proxy'; upstream: ModelUpstream; where: 'sandbox' | 'loopback' };

export interface SessionMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface InvokeSession {
  /** The session key (`shared`, `sender:<channel>:<id>`, `thread:<channel>:<key>`). */
  key: string;
  /** Session to continue (claude session id, codex thread id, opencode session id). */
  resumeId?: string | null;
  /** Earlier turns, oldest first; sent as prior messages by the HTTP runtimes and used by mock templates. */
  history?: SessionMessage[];
  /** 1-based number of this turn in the session. */
  turn?: number;
  /** Start a new session even when `resumeId` is set (`tinyagi agent reset`). */
  fresh?: boolean;
  /**
   * For runtimes that give the system prompt in-band once per session (codex): the
   * hash of the prompt the resumed session last received. A different current prompt is sent
   * again, so edits to AGENTS.md, memory or teammates reach a long-lived thread.
   */
  instructionsHash?: string;
  /** What this runtime returned as `runtimeState` for the session last time (opaque to callers). */
  runtimeState?: string;
  /**
   * An earlier attempt of this turn failed: the session may hold the failed attempt's
   * half of the turn, so the runtime must not simply resume it (docs/agent-clis.md#retries).
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

/** What a tool call does (the contract's TOOL_ACTIVITY_KINDS). */
export type ToolActivityKind = 'command' | 'file_edit' | 'file_read' | 'search' | 'web' | 'mcp' | 'agent' | 'other';

/** One step of an agent's plan as the runtime streams it. */
export interface PlanStep {
  text: string;
  status: 'pending' | 'in_progress' | 'completed';
}

/**
 * What a runtime streams while it works (the event log's `run.progress`, the contract's
 * RunProgressSchema): text, tool calls and their results (with the runtime's call id when it has
 * one, so a result names its call), status lines, plan updates and one model call's usage.
 */
export type InvokeProgress =
  | { type: 'text'; text: string }
  | { type: 'tool'; name: string; input?: unknown; id?: string; kind?: ToolActivityKind; title?: string }
  | { type: 'tool_result'; name?: string; ok: boolean; id?: string; output?: string }
  | { type: 'status'; message: string }
  | { type: 'plan'; steps: PlanStep[] }
  | { type: 'usage'; inputTokens: number; outputTokens: number; cacheReadTokens?: number; model?: string };

/** A runtime's word on its account's rate limit or quota: the sandbox's shape (sandbox/quota-report.ts), which the model proxy reports too. */
export type { QuotaReport };

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
  /**
   * Warm runtimes: `listener` is called whenever operator input (inject, redirect) or a pause
   * waits for this run, so a runtime that can take input inside its turn (Claude Code's stdin,
   * Codex's `turn/steer`) takes it at once instead of at its next safe point. Returns
   * the unsubscribe function. The listener then calls `takeInput`.
   */
  onSteer?: (listener: () => void) => () => void;
  /**
   * Takes operator input waiting for this run now, without waiting for a pause to end (the
   * warm runtimes' hand-over after `onSteer`); undefined when none waits. What it returns
   * counts as given to this turn (kept with the turn's prompt in the session transcript).
   */
  takeInput?: () => string | undefined;
  /** The runtime reports its account's rate-limit or quota state (QuotaReport). */
  onQuota?: (report: QuotaReport) => void;
  /**
   * Runtimes that receive permission requests (Claude Code's `can_use_tool`, Codex's approval
   * requests, ACP's `session/request_permission`): asks before a tool runs. The daemon's rules
   * answer at once where they can; otherwise a person does, from any surface, or the request
   * expires (docs/approvals.md). Never rejects: a cancelled run is answered with a denial.
   */
  askApproval?: (ask: ApprovalAsk) => Promise<ApprovalAnswer>;
  /** The launch plan's model route (launch-plan.ts), carried out by the node's model proxy wrapper; absent: direct. */
  modelRoute?: ModelRoute;
  /** MCP servers the CLI gets beside the user's own (TinyAGI's agent tools; mcp-servers.ts). */
  mcpServers?: McpServerSpec[];
  /**
   * The node's sandbox host (@tinyagi/sandbox `SandboxHost`, set by the node's agent call): a
   * sandboxed agent's process starts with its bridges, its network and its cgroup. Without one (a
   * library call, a test) each sandboxed start gets a host of its own, closed when its process is
   * released (core's sandbox/host.ts).
   */
  sandboxHost?: SandboxHost | undefined;
}

/** A runtime's permission request (InvokeRequest.askApproval). */
export interface ApprovalAsk {
  /** The tool as the runtime names it (`Bash`, `Edit`, `commandExecution`, …). */
  tool: string;
  /** Its input as the runtime gave it (secrets are masked before it is stored or shown). */
  input: unknown;
  /** One line for people; made from the tool and input when left out. */
  summary?: string;
}

export interface ApprovalAnswer {
  allow: boolean;
  /** A denial's reason, for the model (`denied by the person: use the staging database`). */
  reason?: string;
  /** Who or what decided: `rule`, `session`, `expiry`, `cancelled`, or the person's surface. */
  decidedBy: string;
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
  /** Session to pass as `session.resumeId` next time. */
  sessionId?: string;
  /** The hash of the system prompt this call delivered in-band (store it with the session). */
  instructionsHash?: string;
  /** What the runtime keeps about the session for the next turn (store it with the session). */
  runtimeState?: string;
}

export type InvokeFn = (req: InvokeRequest) => Promise<InvokeResult>;

export const DEFAULT_TIMEOUT_MS = 30 * 60_000;
export const DEFAULT_INACTIVITY_MS = 3 * 60_000;
export const DEFAULT_KILL_GRACE_MS = 5_000;
export const DEFAULT_EXIT_AFTER_RESULT_MS = 30_000;
export const DEFAULT_MAX_TOOL_ROUNDS = 8;

export interface RunLimits {
  timeoutMs: number;
  /** Silence allowed after the first output. */
  inactivityMs: number;
  /** Silence allowed from the start until the first output (at least `inactivityMs`). */
  startGraceMs: number;
}

export function runLimits(req: InvokeRequest): RunLimits {
  const inactivityMs = req.inactivityMs ?? req.target.inactivityMs ?? DEFAULT_INACTIVITY_MS;
  return {
    timeoutMs: req.timeoutMs ?? req.target.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    inactivityMs,
    startGraceMs: Math.max(req.target.startGraceMs ?? 0, inactivityMs),
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

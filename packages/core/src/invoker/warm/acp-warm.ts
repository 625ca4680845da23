/**
 * The Agent Client Protocol (ACP, agentclientprotocol.com; schema version 1) as a warm driver
 * (docs/sessions.md, "ACP"): JSON-RPC 2.0 over the agent's stdio, one warm process per session.
 *
 * - Start: `initialize` (protocolVersion 1; we offer fs read/write of text files, no terminal),
 *   then `session/load` of the stored session when the agent says `loadSession` (its replayed
 *   history is dropped: no turn is running), else `session/new` {cwd, mcpServers} (TinyAGI's MCP
 *   server, beside the agent's own; docs/mcp.md). A load
 *   the agent refuses (the session is gone) becomes a new session whose first prompt carries the
 *   transcript, as a retry does (a retry never loads: the session may hold the failed half turn).
 * - A turn is one `session/prompt`; its response's `stopReason` ends it (end_turn, max_tokens,
 *   max_turn_requests: done; cancelled: interrupted; refusal: failed). Run epochs come with
 *   JSON-RPC itself: a turn is settled by the answer to its own request id only, and updates that
 *   arrive while no turn runs are dropped.
 * - `session/update`: agent_message_chunk -> text (the reply is the turn's message chunks),
 *   tool_call / tool_call_update -> tool / tool_result, plan -> plan, usage_update (cumulative
 *   session cost) -> the turn's cost when nothing better is known.
 * - Usage: ACP has no per-model-call usage. The prompt response's `usage` (unstable in the
 *   schema) is recorded as one call unless the agent's hooks know better (OpenCode reads its
 *   own per-step usage,, runtimes/opencode.ts).
 * - Steering: ACP has no mid-turn input (`steer` is false: input goes to the next turn);
 *   interrupt is `session/cancel` (the process stays warm); the pause point is the agent's
 *   `session/request_permission` (the turn's checkpoint is awaited before answering; input
 *   handed over there is sent as a follow-up prompt inside the same run, after the current one).
 * - The agent's requests: `fs/read_text_file` and `fs/write_text_file` confined to the agent's
 *   workspace (symlinks resolved; anything outside is a JSON-RPC error), `session/request_permission`
 *   answered by the run's approval step where it has one (InvokeRequest.askApproval), else by the
 *   agent's permission mode; anything else "method not found".
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { addSpend, InvokeError, isInvokeError } from '../invoke-error.ts';
import { asNumber, asRecord, asRecords, asString, type JsonRecord } from '../json-read.ts';
import { messageFor, readRuntimeState, sessionGoneMessage } from '../session-state.ts';
import { addUsage, DEFAULT_KILL_GRACE_MS, emitProgress, type InvokeRequest, type InvokeResult, type InvokeUsage, type PlanStep, type ToolActivityKind } from '../types.ts';
import { JSONRPC_INVALID_PARAMS, JSONRPC_METHOD_NOT_FOUND, JsonRpcError, JsonRpcPeer } from './jsonrpc.ts';
import type { WarmDriver, WarmSession, WarmStartOptions, WarmTurn } from './types.ts';
import { WarmProcess } from './warm-process.ts';
import { acpMcpServers } from '../mcp-servers.ts';

const ACP_PROTOCOL_VERSION = 1;
/** Characters of a tool's output kept on a tool_result event. */
const TOOL_OUTPUT_CHARS = 2000;
/**
 * After session/load the first prompt waits until the agent has sent no update for
 * REPLAY_QUIET_MS (at most REPLAY_WAIT_MS): Gemini CLI answers the load and replays the history
 * after (see #replayDrained).
 */
const REPLAY_QUIET_MS = 250;
const REPLAY_WAIT_MS = 5_000;

/** One model call's usage as the driver records it. */
export interface AcpCallUsage extends InvokeUsage {
  cacheReadTokens?: number;
  model?: string;
  costUsd?: number;
}

/** What the agent's hooks see of a started session. */
export interface AcpSessionContext {
  req: InvokeRequest;
  sessionId: string;
  /** The `session/new` or `session/load` answer (configOptions, models, modes). */
  setup: JsonRecord;
  peer: JsonRpcPeer;
  /** The session was loaded (true) or created (false). */
  loaded: boolean;
}

/** How one agent is started and what it knows beyond the protocol. */
export interface AcpLaunch {
  command: string;
  args: string[];
  /** Variables for this process only (a generated config file's path, a server password). */
  env?: Record<string, string>;
  /** Ports the agent serves on its loopback that the launch's hooks read (OpenCode's API): reachable inside the boundary too. */
  inboundPorts?: number[];
  /** Runs once the session exists, before the first turn (select the agent, skip a title call). */
  afterSession?(ctx: AcpSessionContext): Promise<void>;
  /** `_meta` of `session/new` and `session/load` (an agent's own session options). */
  sessionMeta?: JsonRecord;
  /**
   * The session mode to select (`session/set_config_option` of the `mode` option, else
   * `session/set_mode`), when the agent offers it: the agent's permission_mode in the agent's
   * own terms (runtimes/acp.ts).
   */
  modeId?: string;
  /** Runs before each `session/prompt` (note where the agent's own record of the session stands). */
  beforePrompt?(ctx: AcpSessionContext): void;
  /**
   * The reply of the turn that just ended as the agent recorded it, when the message chunks mix
   * in what is not the reply (codex-acp's warnings); undefined to take the chunks.
   */
  turnReply?(ctx: AcpSessionContext): string | undefined;
  /**
   * The session total the agent itself restored for a loaded session, when it can be known
   * (claude-agent-acp: its transcript's last cost-state): the loaded session's cost baseline,
   * instead of the total stored with the session.
   */
  loadedCostBaseline?(ctx: AcpSessionContext): number | undefined;
  /**
   * The exact per-call usage of the turn that just ended (OpenCode asks its own server); undefined
   * to fall back on the prompt response's `usage`.
   */
  turnUsage?(ctx: AcpSessionContext, response: JsonRecord): Promise<AcpCallUsage[] | undefined>;
  /** Called when the process has exited (remove generated files). */
  cleanup?(): void;
}

export interface AcpDriverOptions {
  binary: string;
  installHint: string;
  memoryEstimateMb: number;
  runtimeEnv?(req: InvokeRequest): Record<string, string>;
  /** The command line and hooks for one process (`env`: the process's environment, before the launch's own variables). */
  launch(req: InvokeRequest, env: Record<string, string>): Promise<AcpLaunch> | AcpLaunch;
  /** What else binds a process to its start (the system prompt when it is given at start). */
  fingerprintParts?(req: InvokeRequest): unknown[];
  /**
   * The system prompt goes in-band, before the first prompt of each session (agents without a way
   * to set one at start); the session's `instructionsHash` says when it was already given.
   */
  instructionsInBand: boolean;
  /** The model id to select (`session/set_config_option` model, else `session/set_model`); undefined keeps the agent's. */
  modelId?(req: InvokeRequest): string | undefined;
}

/** ACP's ToolKind as a run's tool activity kind. */
function acpToolKind(kind: unknown): ToolActivityKind {
  switch (kind) {
    case 'execute':
      return 'command';
    case 'edit':
    case 'delete':
    case 'move':
      return 'file_edit';
    case 'read':
      return 'file_read';
    case 'search':
      return 'search';
    case 'fetch':
      return 'web';
    default:
      return 'other';
  }
}

/** The text of a tool call's content blocks (`content`, `diff`, `terminal` entries). */
function acpToolOutput(content: unknown): string | undefined {
  const parts: string[] = [];
  for (const entry of asRecords(content)) {
    if (entry.type === 'content') {
      const block = asRecord(entry.content);
      const text = asString(block?.text);
      if (text !== undefined) parts.push(text);
    } else if (entry.type === 'diff') {
      const path = asString(entry.path);
      if (path !== undefined) parts.push(`edited ${path}`);
    }
  }
  if (parts.length === 0) return undefined;
  return parts.join('\n').slice(0, TOOL_OUTPUT_CHARS);
}

/** A usage record of ACP's schema (`inputTokens`, `outputTokens`, `cachedReadTokens`, …) as one call; input counts cache reads and writes. */
function acpUsage(usage: unknown): AcpCallUsage | undefined {
  const u = asRecord(usage);
  if (!u) return undefined;
  const input = asNumber(u.inputTokens);
  const output = asNumber(u.outputTokens);
  if (input === undefined || output === undefined) return undefined;
  const cacheRead = asNumber(u.cachedReadTokens) ?? 0;
  const cacheWrite = asNumber(u.cachedWriteTokens) ?? 0;
  return {
    inputTokens: input + cacheRead + cacheWrite,
    outputTokens: output + (asNumber(u.thoughtTokens) ?? 0),
    ...(cacheRead > 0 ? { cacheReadTokens: cacheRead } : {}),
  };
}

/**
 * Gemini CLI's prompt answer has no `usage` but `_meta.quota`: the turn's tokens per model
 * (`model_usage[].token_count` {input_tokens, output_tokens}, `token_count` their sum), the
 * Gemini API's promptTokenCount (cached tokens included) and candidatesTokenCount (thinking not
 * included) summed over the turn's model calls. One call per model.
 */
function quotaUsage(meta: unknown): AcpCallUsage[] {
  const quota = asRecord(asRecord(meta)?.quota);
  if (!quota) return [];
  const count = (value: unknown): AcpCallUsage | undefined => {
    const t = asRecord(value);
    const input = asNumber(t?.input_tokens);
    const output = asNumber(t?.output_tokens);
    return input === undefined || output === undefined || input + output === 0 ? undefined : { inputTokens: input, outputTokens: output };
  };
  const perModel = asRecords(quota.model_usage).flatMap((m) => {
    const c = count(m.token_count);
    const model = asString(m.model);
    return c ? [{ ...c, ...(model ? { model } : {}) }] : [];
  });
  if (perModel.length > 0) return perModel;
  const total = count(quota.token_count);
  return total ? [total] : [];
}

/** What a prompt's answer says the turn used: ACP's `usage`, else Gemini's `_meta.quota`. */
export function promptUsage(response: JsonRecord): AcpCallUsage[] {
  const u = acpUsage(response.usage);
  return u ? [u] : quotaUsage(response._meta);
}

function planSteps(entries: unknown): PlanStep[] {
  return asRecords(entries).map((e) => ({
    text: asString(e.content) ?? '',
    status: e.status === 'completed' ? 'completed' : e.status === 'in_progress' ? 'in_progress' : 'pending',
  }));
}

/**
 * The reply: the turn's last agent message (its chunks joined), as the spawn mode takes the last
 * message; earlier messages were said between tool calls. Without message ids: every chunk (the
 * driver numbers an agent's chunks without ids by the stretch between tool events they came in).
 */
export function finalText(texts: ReadonlyArray<{ messageId: string | undefined; text: string }>): string {
  const lastId = texts.at(-1)?.messageId;
  return texts
    .filter((t) => lastId === undefined || t.messageId === lastId)
    .map((t) => t.text)
    .join('');
}

/**
 * A turn's cost from the session's cumulative cost (usage_update): what it grew by since the
 * turn began. A total lower than the baseline is a count the agent restarted (all of it is the
 * turn's); a loaded session whose earlier cost is not known has no baseline, so its first turn's
 * cost is unknown rather than the whole session's.
 */
function turnCost(state: Pick<TurnState, 'costAtStart' | 'costNow'>, baselineKnown: boolean): number | undefined {
  if (state.costNow === undefined) return undefined;
  const base = state.costAtStart ?? 0;
  if (state.costNow < base) return state.costNow;
  if (!baselineKnown && state.costAtStart === undefined) return undefined;
  return state.costNow - base;
}

/** The reply of a turn the agent ended at a refused request and said nothing in. */
function deniedText(denied: { what: string; reason: string | undefined }): string {
  return `The agent stopped: its request (${denied.what}) was denied${denied.reason ? ` (${denied.reason})` : ''}.`;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * A permission request without the run's approval step (InvokeRequest.askApproval): answered by
 * the agent's permission mode: `plan` and `dontAsk` refuse, every other mode allows once.
 */
export function decidePermission(req: InvokeRequest, options: JsonRecord[]): PermissionOutcome {
  const refuse = req.target.permissionMode === 'plan' || req.target.permissionMode === 'dontAsk';
  return pickOption(options, refuse ? ['reject_once', 'reject_always'] : ['allow_once', 'allow_always']);
}

type PermissionOutcome = { outcome: 'selected'; optionId: string } | { outcome: 'cancelled' };

/** The first option of the wanted kinds (ACP's PermissionOptionKind); none: the request is cancelled. */
function pickOption(options: JsonRecord[], wanted: string[]): PermissionOutcome {
  for (const kind of wanted) {
    const option = options.find((o) => o.kind === kind);
    const optionId = asString(option?.optionId);
    if (optionId !== undefined) return { outcome: 'selected', optionId };
  }
  return { outcome: 'cancelled' };
}

/** True when `path` (absolute) lies inside `root` (both already resolved). */
function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * The file an `fs/*` request names, inside the workspace: absolute, with every symlink of the
 * existing part resolved; anything else is refused with a JSON-RPC error.
 */
function confinedPath(workspace: string, requested: unknown): string {
  if (typeof requested !== 'string' || requested === '' || !isAbsolute(requested) || requested.includes('\u0000')) {
    throw new JsonRpcError(JSONRPC_INVALID_PARAMS, 'path must be an absolute path');
  }
  const root = realpathSync(workspace);
  // Resolve the longest existing prefix (a file to be written may not exist yet), then add the rest.
  let existing = resolve(requested);
  const rest: string[] = [];
  for (;;) {
    try {
      existing = realpathSync(existing);
      break;
    } catch {
      const parent = dirname(existing);
      if (parent === existing) throw new JsonRpcError(JSONRPC_INVALID_PARAMS, `no such path: ${requested}`);
      rest.unshift(existing.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)));
      existing = parent;
    }
  }
  const full = rest.length === 0 ? existing : join(existing, ...rest);
  if (!inside(root, full)) throw new JsonRpcError(JSONRPC_INVALID_PARAMS, `access denied: ${requested} is outside the agent's workspace`);
  return full;
}

interface TurnState {
  turn: WarmTurn;
  /**
   * The turn's message chunks, with the message they belong to: the agent's `messageId`, else
   * `#<segment>`, the stretch between tool events (a tool call, its updates, its permission
   * request) they came in. So what was said before a tool call, and a notice sent as a message
   * chunk while a tool ran (Gemini CLI's `[MODE_UPDATE] plan`), is not the reply.
   */
  texts: Array<{ messageId: string | undefined; text: string }>;
  segment: number;
  /** The session's cumulative cost when the turn began (usage_update), and the latest. */
  costAtStart: number | undefined;
  costNow: number | undefined;
  /** Operator input handed over at a checkpoint, sent as follow-up prompts. */
  followUps: string[];
  /** TinyAGI asked the agent to stop the turn (`session/cancel`). */
  interrupted: boolean;
  /** A permission request of the turn that was refused (what it was, and why). */
  denied: { what: string; reason: string | undefined } | undefined;
  /** Exact usage of the turn's finished prompts (follow-ups), and the latest reading of the running one (turnUsage). */
  accounted: AcpCallUsage[];
  snapshot: AcpCallUsage[] | undefined;
  /** The turn's tool calls by id: the name first announced, the latest title, kind and input. */
  tools: Map<string, { name: string; title: string | undefined; kind: unknown; input: JsonRecord | undefined; emitted: boolean }>;
}

class AcpSession implements WarmSession {
  readonly #opts: AcpDriverOptions;
  readonly #proc: WarmProcess;
  readonly #peer: JsonRpcPeer;
  readonly #launch: AcpLaunch;
  readonly #req: InvokeRequest;
  #sessionId: string | undefined;
  #ctx: AcpSessionContext | undefined;
  #turn: TurnState | undefined;
  /** The turn that ran last (its spend, for a failure reported after it ended). */
  #lastTurn: TurnState | undefined;
  /** The first prompt of a new session carries the transcript (a retry, a session that could not be loaded). */
  #transcriptDue = false;
  /** The hash of the instructions the session holds (in-band instructions); undefined: none given yet. */
  #instructionsHash: string | undefined;
  /**
   * The session's cumulative cost as last reported (usage_update), or before any report the cost
   * it had when it was loaded (stored with the session, `runtimeState.sessionCostUsd`): agents
   * such as claude-agent-acp count a loaded session's earlier turns in the total.
   */
  #sessionCost: number | undefined;
  /** False for a loaded session whose earlier cost is not known: its first turn's cost cannot be told from the total. */
  #costBaselineKnown = true;
  #canLoad = false;
  /** When the session last sent a session/update (the end of a loaded session's replay). */
  #lastUpdateAt = 0;

  constructor(opts: AcpDriverOptions, proc: WarmProcess, peer: JsonRpcPeer, launch: AcpLaunch, req: InvokeRequest) {
    this.#opts = opts;
    this.#proc = proc;
    this.#peer = peer;
    this.#launch = launch;
    this.#req = req;
  }

  get pid(): number | undefined {
    return this.#proc.pid;
  }

  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  get exited(): Promise<{ code: number | undefined; signal: string | undefined }> {
    return this.#proc.exited;
  }

  memoryBytes(): number | undefined {
    return this.#proc.memoryBytes();
  }

  /**
   * `mcpServersFor`: TinyAGI's (and any other) MCP servers for the session, beside the agent's
   * own, in the form the agent takes (HTTP where its `initialize` answer offers `mcpCapabilities.http`).
   */
  async handshake(resumeId: string | undefined, mcpServersFor: (agentTakesHttp: boolean) => unknown[] = () => []): Promise<void> {
    const req = this.#req;
    const init = asRecord(
      await this.#peer.request('initialize', {
        protocolVersion: ACP_PROTOCOL_VERSION,
        // `session.notices`: the agent may send its notices (warnings, information) as `notice`
        // updates instead of mixing them into the reply's message chunks (claude-agent-acp does).
        clientCapabilities: { fs: { readTextFile: true, writeTextFile: true }, terminal: false, session: { notices: {} } },
        clientInfo: { name: 'tinyagi', version: '1' },
      }),
    );
    const version = asNumber(init?.protocolVersion);
    if (version !== ACP_PROTOCOL_VERSION) {
      throw new InvokeError('permanent', `${this.#proc.what}: the agent speaks ACP protocol version ${String(init?.protocolVersion)}, TinyAGI speaks ${ACP_PROTOCOL_VERSION}.`, {
        code: 'PROVIDER_CONFIG_INVALID',
        hint: 'Use an agent version that supports ACP protocol version 1.',
      });
    }
    const capabilities = asRecord(init?.agentCapabilities);
    this.#canLoad = capabilities?.loadSession === true;
    const mcpServers = mcpServersFor(asRecord(capabilities?.mcpCapabilities)?.http === true);
    const cwd = req.cwd;
    let setup: JsonRecord | undefined;
    let loaded = false;
    const meta = this.#launch.sessionMeta ? { _meta: this.#launch.sessionMeta } : {};
    if (resumeId !== undefined && !req.session?.retry && this.#canLoad) {
      try {
        setup = asRecord(await this.#peer.request('session/load', { sessionId: resumeId, cwd, mcpServers, ...meta })) ?? {};
        this.#sessionId = resumeId;
        loaded = true;
        const stored = asNumber(readRuntimeState(req.session)?.sessionCostUsd);
        this.#sessionCost = stored;
        this.#costBaselineKnown = stored !== undefined;
      } catch (err) {
        if (!(err instanceof JsonRpcError)) throw err;
        // The stored session is gone (another machine, cleaned up): a new one with the transcript.
        emitProgress(req, { type: 'status', message: sessionGoneMessage(resumeId, `session/load: ${err.message}`) });
      }
    }
    if (!loaded) {
      setup = asRecord(await this.#peer.request('session/new', { cwd, mcpServers, ...meta })) ?? {};
      const id = asString(setup.sessionId);
      if (id === undefined) throw new InvokeError('retryable', `${this.#proc.what}: session/new answered without a sessionId.`);
      this.#sessionId = id;
      this.#transcriptDue = true;
    }
    const sessionId = this.#sessionId as string;
    this.#ctx = { req, sessionId, setup: setup ?? {}, peer: this.#peer, loaded };
    if (loaded) {
      const restored = this.#launch.loadedCostBaseline?.(this.#ctx);
      if (restored !== undefined) {
        this.#sessionCost = restored;
        this.#costBaselineKnown = true;
      }
    }
    await this.#selectModel(this.#ctx);
    await this.#selectMode(this.#ctx);
    await this.#launch.afterSession?.(this.#ctx);
    // A loaded session holds what it was given before (the stored hash says what).
    if (loaded) this.#instructionsHash = req.session?.instructionsHash;
    if (loaded) await this.#replayDrained(Date.now());
  }

  /**
   * ACP has the agent replay a loaded session's history before it answers session/load, and the
   * driver drops those updates (no turn runs). Gemini CLI 0.61 answers first and replays after
   * (its history stream is not awaited), so the replay would land in the first turn and become
   * its reply: the first prompt waits until the agent has sent no update for REPLAY_QUIET_MS
   * since the session was set up (at most REPLAY_WAIT_MS); what arrives until then is dropped.
   */
  async #replayDrained(setUpAt: number): Promise<void> {
    for (;;) {
      const now = Date.now();
      const quietFor = now - Math.max(setUpAt, this.#lastUpdateAt);
      if (quietFor >= REPLAY_QUIET_MS || now - setUpAt >= REPLAY_WAIT_MS) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(REPLAY_QUIET_MS - quietFor, REPLAY_WAIT_MS - (now - setUpAt))));
    }
  }

  async #selectModel(ctx: AcpSessionContext): Promise<void> {
    const model = this.#opts.modelId?.(ctx.req);
    if (model === undefined) return;
    const option = asRecords(ctx.setup.configOptions).find((o) => o.category === 'model' || o.id === 'model');
    if (option) {
      if (option.currentValue !== model) await this.#peer.request('session/set_config_option', { sessionId: ctx.sessionId, configId: asString(option.id) ?? 'model', value: model });
      return;
    }
    const models = asRecord(ctx.setup.models);
    if (models && models.currentModelId !== model) await this.#peer.request('session/set_model', { sessionId: ctx.sessionId, modelId: model });
  }

  /** The launch's session mode, where the agent offers it and it is not the current one. */
  async #selectMode(ctx: AcpSessionContext): Promise<void> {
    const mode = this.#launch.modeId;
    if (mode === undefined) return;
    const option = asRecords(ctx.setup.configOptions).find((o) => o.category === 'mode' || o.id === 'mode');
    if (option && asRecords(option.options).some((o) => o.value === mode)) {
      if (option.currentValue !== mode) await this.#peer.request('session/set_config_option', { sessionId: ctx.sessionId, configId: asString(option.id) ?? 'mode', value: mode });
      return;
    }
    const modes = asRecord(ctx.setup.modes);
    if (modes && modes.currentModeId !== mode && asRecords(modes.availableModes).some((m) => m.id === mode)) {
      await this.#peer.request('session/set_mode', { sessionId: ctx.sessionId, modeId: mode });
    }
  }

  /** The agent's requests. */
  async onRequest(method: string, params: unknown): Promise<unknown> {
    const p = asRecord(params) ?? {};
    switch (method) {
      case 'fs/read_text_file': {
        const path = confinedPath(this.#req.cwd, p.path);
        let text: string;
        try {
          text = readFileSync(path, 'utf8');
        } catch (err) {
          throw new JsonRpcError(JSONRPC_INVALID_PARAMS, `cannot read ${String(p.path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
        const line = asNumber(p.line);
        const limit = asNumber(p.limit);
        if (line === undefined && limit === undefined) return { content: text };
        const lines = text.split('\n');
        const from = Math.max(0, (line ?? 1) - 1);
        return { content: lines.slice(from, limit === undefined ? undefined : from + limit).join('\n') };
      }
      case 'fs/write_text_file': {
        const path = confinedPath(this.#req.cwd, p.path);
        if (typeof p.content !== 'string') throw new JsonRpcError(JSONRPC_INVALID_PARAMS, 'content must be a string');
        try {
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, p.content);
        } catch (err) {
          throw new JsonRpcError(JSONRPC_INVALID_PARAMS, `cannot write ${String(p.path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
        return null;
      }
      case 'session/request_permission': {
        const state = this.#turn;
        if (!state) return { outcome: { outcome: 'cancelled' } };
        state.segment++;
        state.turn.activity();
        // The pause point: a paused run holds here, before the tool runs.
        const input = await state.turn.checkpoint();
        if (input !== undefined && input.trim() !== '') state.followUps.push(input);
        if (this.#turn !== state) return { outcome: { outcome: 'cancelled' } };
        state.turn.activity();
        const req = state.turn.req;
        const options = asRecords(p.options);
        if (req.askApproval) {
          // The run's approval step (docs/approvals.md): the daemon's rules, else a person. The
          // wait is not a stall: the watchdog is touched while it lasts.
          // The tool is ACP's tool kind (`execute`, `edit`, `read`, `fetch`, …: the same for every
          // ACP agent); rules on commands and paths read the raw input.
          const toolCall = asRecord(p.toolCall) ?? {};
          const tool = asString(toolCall.kind) ?? asString(toolCall.title) ?? 'tool';
          const title = asString(toolCall.title);
          const beat = setInterval(() => state.turn.activity(), 5_000);
          let answer: Awaited<ReturnType<NonNullable<InvokeRequest['askApproval']>>>;
          try {
            answer = await req.askApproval({ tool, input: toolCall.rawInput ?? {}, ...(title ? { summary: title } : {}) });
          } finally {
            clearInterval(beat);
          }
          if (this.#turn !== state) return { outcome: { outcome: 'cancelled' } };
          if (!answer.allow) state.denied = { what: title ?? tool, reason: answer.reason };
          return { outcome: pickOption(options, answer.allow ? ['allow_once', 'allow_always'] : ['reject_once', 'reject_always']) };
        }
        const outcome = decidePermission(req, options);
        const picked = options.find((o) => outcome.outcome === 'selected' && o.optionId === outcome.optionId);
        if (outcome.outcome === 'cancelled' || String(picked?.kind).startsWith('reject')) {
          const toolCall = asRecord(p.toolCall) ?? {};
          state.denied = { what: asString(toolCall.title) ?? asString(toolCall.kind) ?? 'a tool call', reason: `refused by permission_mode ${req.target.permissionMode ?? ''}`.trim() };
        }
        return { outcome };
      }
      default:
        throw new JsonRpcError(JSONRPC_METHOD_NOT_FOUND, `Method not found: ${method}`);
    }
  }

  onNotification(method: string, params: unknown): void {
    if (method !== 'session/update') return;
    const p = asRecord(params);
    const update = asRecord(p?.update);
    if (!update || (this.#sessionId !== undefined && p?.sessionId !== this.#sessionId)) return;
    this.#lastUpdateAt = Date.now();
    if (update.sessionUpdate === 'usage_update') {
      const cost = asNumber(asRecord(update.cost)?.amount);
      if (cost !== undefined) {
        this.#sessionCost = cost;
        if (this.#turn) this.#turn.costNow = cost;
      }
    }
    const state = this.#turn;
    if (!state) return; // a loaded session's replay, or a late update of an ended turn
    state.turn.activity();
    const emit = state.turn.emit;
    switch (update.sessionUpdate) {
      case 'notice': {
        // The agent's word to the user (a warning, information), never part of the reply.
        const title = asString(update.title) ?? '';
        const description = asString(update.description);
        emit({ type: 'status', message: `${asString(update.severity) ?? 'info'} from the agent: ${title}${description ? `: ${description}` : ''}` });
        break;
      }
      case 'agent_message_chunk': {
        const content = asRecord(update.content);
        const text = content?.type === 'text' ? (asString(content.text) ?? '') : '';
        if (text === '') return;
        state.texts.push({ messageId: asString(update.messageId) ?? `#${state.segment}`, text });
        emit({ type: 'text', text });
        break;
      }
      case 'tool_call':
      case 'tool_call_update':
        this.#toolUpdate(state, update);
        break;
      case 'plan':
        emit({ type: 'plan', steps: planSteps(update.entries) });
        break;
    }
  }

  /**
   * A tool call and its updates. The `tool` event waits until the call runs (`in_progress`) or
   * ended: agents announce a pending call before its input is complete (OpenCode: `bash` with
   * only the cwd, then the command in the in_progress update).
   */
  #toolUpdate(state: TurnState, update: JsonRecord): void {
    state.segment++;
    const id = asString(update.toolCallId) ?? '';
    let tool = state.tools.get(id);
    if (!tool) {
      tool = { name: asString(update.title) ?? 'tool', title: undefined, kind: undefined, input: undefined, emitted: false };
      state.tools.set(id, tool);
    }
    if (typeof update.title === 'string') tool.title = update.title;
    if (update.kind !== undefined && update.kind !== null) tool.kind = update.kind;
    const input = asRecord(update.rawInput);
    if (input && Object.keys(input).length > 0) tool.input = input;
    const status = update.status;
    const ended = status === 'completed' || status === 'failed';
    if (!tool.emitted && (status === 'in_progress' || ended)) {
      tool.emitted = true;
      const title = tool.title ?? tool.name;
      state.turn.emit({ type: 'tool', name: tool.name, id, kind: acpToolKind(tool.kind), title, ...(tool.input !== undefined ? { input: tool.input } : {}) });
    }
    if (ended) {
      this.#pollUsage(state);
      const output = acpToolOutput(update.content);
      state.turn.emit({ type: 'tool_result', id, ok: status === 'completed', name: tool.name, ...(output !== undefined ? { output } : {}) });
    }
  }

  async turn(turn: WarmTurn): Promise<InvokeResult> {
    if (this.#turn) throw new InvokeError('retryable', `${this.#proc.what}: a turn is already running on this session.`);
    const ctx = this.#ctx;
    if (!ctx) throw new InvokeError('retryable', `${this.#proc.what}: the session is not ready.`);
    const state: TurnState = {
      turn,
      texts: [],
      segment: 0,
      costAtStart: this.#sessionCost,
      costNow: this.#sessionCost,
      followUps: [],
      interrupted: false,
      denied: undefined,
      tools: new Map(),
      accounted: [],
      snapshot: undefined,
    };
    const baselineKnown = this.#costBaselineKnown;
    this.#turn = state;
    let message = this.#transcriptDue ? messageFor(turn.req.session, undefined, turn.prompt) : turn.prompt;
    // In-band instructions: before the session's first prompt, and again when they changed.
    const instructions = this.#opts.instructionsInBand && turn.req.systemPrompt.trim() !== '' ? hash(turn.req.systemPrompt) : undefined;
    if (instructions !== undefined && instructions !== this.#instructionsHash) message = `<instructions>\n${turn.req.systemPrompt}\n</instructions>\n\n${message}`;
    const spentCost = (): number | undefined => turnCost(state, baselineKnown);
    try {
      this.#launch.beforePrompt?.(ctx);
      let response = await this.#prompt(ctx, message);
      this.#transcriptDue = false;
      if (instructions !== undefined) this.#instructionsHash = instructions;
      const calls: AcpCallUsage[] = [];
      const account = async (r: JsonRecord): Promise<void> => {
        const exact = await this.#launch.turnUsage?.(ctx, r).catch(() => undefined);
        state.snapshot = undefined;
        if (exact) {
          calls.push(...exact);
          state.accounted.push(...exact);
        } else {
          calls.push(...promptUsage(r));
        }
      };
      await account(response);
      // Operator input handed over at a pause point goes in as the next prompt of the same run.
      while (response.stopReason === 'end_turn' && state.followUps.length > 0) {
        const input = state.followUps.splice(0).join('\n\n');
        state.texts.length = 0;
        this.#launch.beforePrompt?.(ctx);
        response = await this.#prompt(ctx, input);
        await account(response);
      }
      let usage: InvokeUsage | undefined;
      let costUsd: number | undefined;
      for (const call of calls) {
        turn.emit({
          type: 'usage',
          inputTokens: call.inputTokens,
          outputTokens: call.outputTokens,
          ...(call.cacheReadTokens ? { cacheReadTokens: call.cacheReadTokens } : {}),
          ...(call.model ? { model: call.model } : {}),
        });
        usage = addUsage(usage, { inputTokens: call.inputTokens, outputTokens: call.outputTokens });
        if (call.costUsd !== undefined) costUsd = (costUsd ?? 0) + call.costUsd;
      }
      costUsd ??= spentCost();
      // The cost counted so far is the baseline of the next turn, wherever it runs.
      if (state.costNow !== undefined) this.#costBaselineKnown = true;
      const stop = asString(response.stopReason) ?? 'end_turn';
      let text = this.#launch.turnReply?.(ctx) ?? finalText(state.texts);
      if (stop === 'cancelled') {
        // A turn the agent ended itself at a refused permission request (codex-acp aborts its
        // turn there) ends the run with the denial, as a refused tool does in other runtimes:
        // it is no failed attempt to retry.
        if (!state.interrupted && state.denied) text ||= deniedText(state.denied);
        else throw addSpend(new InvokeError('cancelled', `${this.#proc.what}: the turn was cancelled.`), usage, costUsd);
      }
      if (stop === 'refusal') throw addSpend(new InvokeError('permanent', `${this.#proc.what}: the agent refused to continue (stopReason refusal).`, { code: 'INVOKE_FAILED' }), usage, costUsd);
      return {
        text,
        ...(usage ? { usage } : {}),
        ...(costUsd !== undefined ? { costUsd } : {}),
        sessionId: ctx.sessionId,
        ...(this.#instructionsHash !== undefined ? { instructionsHash: this.#instructionsHash } : {}),
        ...(this.#sessionCost !== undefined ? { runtimeState: JSON.stringify({ sessionCostUsd: this.#sessionCost }) } : {}),
      };
    } catch (err) {
      if (isInvokeError(err) && (err.kind === 'cancelled' || err.kind === 'permanent')) throw err;
      // The process died or answered the prompt with an error: retryable, with what the session reported spending.
      const message = err instanceof JsonRpcError ? `${this.#proc.what}: ${err.message}` : err instanceof Error ? err.message : String(err);
      const tail = this.#proc.stderrTail.trim().split('\n').slice(-5).join('\n');
      const spent = this.spentSoFar();
      throw addSpend(new InvokeError('retryable', tail ? `${message}\n${tail}` : message, { cause: err }), spent?.usage, spent?.costUsd);
    } finally {
      if (this.#turn === state) {
        this.#turn = undefined;
        this.#lastTurn = state;
      }
    }
  }

  /**
   * What the running (or last) turn is known to have spent: the exact per-call usage read so
   * far (OpenCode: read again shortly after each tool call ends, so a turn the watchdog ends
   * while its next model call hangs keeps the finished step's usage), else the cost the agent
   * reported with usage_update.
   */
  spentSoFar(): { usage?: InvokeUsage; costUsd?: number } | undefined {
    const state = this.#turn ?? this.#lastTurn;
    if (!state) return undefined;
    const calls = [...state.accounted, ...(state.snapshot ?? [])];
    let usage: InvokeUsage | undefined;
    let costUsd: number | undefined;
    for (const call of calls) {
      usage = addUsage(usage, { inputTokens: call.inputTokens, outputTokens: call.outputTokens });
      if (call.costUsd !== undefined) costUsd = (costUsd ?? 0) + call.costUsd;
    }
    costUsd ??= turnCost(state, state === this.#turn ? this.#costBaselineKnown : true);
    return usage === undefined && costUsd === undefined ? undefined : { ...(usage ? { usage } : {}), ...(costUsd !== undefined ? { costUsd } : {}) };
  }

  /** Reads the running prompt's exact usage (the agent's turnUsage hook) a little after a tool call ended. */
  #pollUsage(state: TurnState): void {
    const hook = this.#launch.turnUsage;
    const ctx = this.#ctx;
    if (!hook || !ctx) return;
    for (const delay of [250, 1_500, 4_000]) {
      setTimeout(() => {
        if (this.#turn !== state) return;
        void hook(ctx, {}).then(
          (calls) => {
            if (calls && this.#turn === state) state.snapshot = calls;
          },
          () => undefined,
        );
      }, delay).unref();
    }
  }

  async #prompt(ctx: AcpSessionContext, text: string): Promise<JsonRecord> {
    return asRecord(await this.#peer.request('session/prompt', { sessionId: ctx.sessionId, prompt: [{ type: 'text', text }] })) ?? {};
  }

  steer(): Promise<boolean> {
    return Promise.resolve(false);
  }

  interrupt(): Promise<boolean> {
    if (!this.#turn || this.#sessionId === undefined) return Promise.resolve(false);
    this.#turn.interrupted = true;
    return Promise.resolve(this.#peer.notify('session/cancel', { sessionId: this.#sessionId }));
  }

  async close(_reason: string): Promise<void> {
    await this.#proc.close();
  }
}

/** An ACP agent as a warm driver. */
export function acpWarmDriver(opts: AcpDriverOptions): WarmDriver {
  return {
    binary: opts.binary,
    installHint: opts.installHint,
    memoryEstimateMb: opts.memoryEstimateMb,
    capabilities: { steersMidTurn: false, interrupts: true, pausePoint: 'before a tool call the agent asks permission for (session/request_permission)' },
    ...(opts.runtimeEnv ? { runtimeEnv: opts.runtimeEnv } : {}),
    fingerprint(req) {
      const env = Object.entries(req.target.env ?? {}).sort(([a], [b]) => a.localeCompare(b));
      return hash(
        JSON.stringify([
          opts.binary,
          req.target.command,
          req.target.args,
          req.target.model,
          req.target.permissionMode,
          req.target.baseUrl,
          req.target.apiKey,
          env,
          req.cwd,
          ...(opts.fingerprintParts?.(req) ?? []),
        ]),
      );
    },
    async start(start: WarmStartOptions): Promise<WarmSession> {
      const { req } = start;
      const launch = await opts.launch(req, start.env);
      let session: AcpSession | undefined;
      let proc: WarmProcess;
      // Lines read before the session object exists are queued (none are expected before initialize).
      const early: string[] = [];
      let peer: JsonRpcPeer | undefined;
      try {
        proc = await WarmProcess.start({
          what: start.what,
          command: launch.command,
          args: launch.args,
          cwd: req.cwd,
          env: { ...start.env, ...launch.env },
          killGraceMs: req.target.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
          installHint: opts.installHint,
          onLine: (line) => {
            if (peer) peer.handleLine(line);
            else early.push(line);
          },
          onActivity: start.onActivity,
          boundary: start.boundary,
          inboundPorts: launch.inboundPorts,
        });
      } catch (err) {
        launch.cleanup?.();
        throw err;
      }
      peer = new JsonRpcPeer({
        what: start.what,
        write: (line) => proc.writeLine(line),
        onRequest: (method, params) => (session ? session.onRequest(method, params) : Promise.reject(new JsonRpcError(JSONRPC_METHOD_NOT_FOUND, `Method not found: ${method}`))),
        onNotification: (method, params) => session?.onNotification(method, params),
      });
      const rpc = peer;
      void proc.exited.then((exit) => {
        rpc.close(`the process exited (${exit.signal ?? `code ${exit.code ?? '?'}`})`);
        launch.cleanup?.();
      });
      session = new AcpSession(opts, proc, rpc, launch, req);
      for (const line of early.splice(0)) rpc.handleLine(line);
      // The pool gave the start up: closing the process rejects the handshake's requests.
      const onAbort = (): void => void proc.close(0);
      start.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        if (start.signal?.aborted) throw new InvokeError('cancelled', `${start.what}: the start was given up.`);
        await session.handshake(start.resumeId, (agentTakesHttp) => acpMcpServers(req.mcpServers ?? [], start.env, agentTakesHttp));
      } catch (err) {
        await proc.close(0);
        if (isInvokeError(err)) throw err;
        const tail = proc.stderrTail.trim().split('\n').slice(-5).join('\n');
        throw new InvokeError('retryable', `${start.what}: the ACP handshake failed: ${err instanceof Error ? err.message : String(err)}${tail ? `\n${tail}` : ''}`, { cause: err });
      } finally {
        start.signal?.removeEventListener('abort', onAbort);
      }
      return session;
    },
  };
}

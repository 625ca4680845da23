/**
 * Claude Code as a warm session (docs/sessions.md, "Claude Code"): one `claude -p --input-format
 * stream-json --output-format stream-json --verbose` process per (agent, session key), user turns
 * as JSON lines on stdin, control requests and responses on the same pipes. What the real CLI
 * (2.1.330) does, as observed against the stand-in model server:
 *
 * - Every user message we write carries a `uuid`; the CLI reports each one's fate as
 *   `command_lifecycle` events (queued, started, then completed or cancelled) and lists the
 *   messages a model call and a result answer in `user_message_uuids`. A turn here owns the
 *   uuids it wrote (its prompt and what was steered in) and ends when every one of them is
 *   answered by a result or has reached a final state: a result that names none of them (an
 *   earlier, interrupted turn's) is dropped and never settles it (run epochs).
 * - Steering: a user message written while a turn runs is folded into that turn at its next
 *   model call (after a tool call, attached to the tool result); when the model's current call
 *   ends the turn instead, the message runs as a turn of its own right after, with its own
 *   result. Either way it belongs to our turn, which then ends with the last of those results.
 * - Interrupt: `control_request {subtype: interrupt, cancel_queued: true}`; the CLI answers,
 *   ends the turn with an `error_during_execution` result (terminal_reason aborted_streaming or
 *   aborted_tools) and cancels what was still queued; the process stays up for the next turn.
 * - Pause point: `initialize` registers a PreToolUse hook callback, so the CLI asks us
 *   (`hook_callback`) before every tool call in every permission mode; the turn's checkpoint
 *   holds it while the run is paused, and operator input it returns is written as a user
 *   message, which the model then sees with that tool's result.
 * - Permission requests (`can_use_tool`, `--permission-prompt-tool stdio`, only when the
 *   agent's permission_mode is not bypassPermissions: bypass never asks) go to the run's
 *   approval step (InvokeRequest.askApproval); without one a call the mode does not allow is
 *   denied with a message, as `claude -p` does without a prompt tool.
 * - Start and resume follow the per-message run's rules (claude.ts): `--session-id <new uuid>` or
 *   `--resume <id> --resume-session-at <last completed turn's last assistant message>`; a retry
 *   without a known resume point starts a new session with the transcript, and so does a resume
 *   point the CLI refuses ("No message found with message.uuid of …", before the handshake: a
 *   process killed just after a message arrived may not have written its transcript's leaf). The system prompt is
 *   given once at start (`--append-system-prompt-file`), so its hash is part of the fingerprint.
 * - Usage and cost of a turn: each result's `model_usage_since_last_result` (the calls since the
 *   previous result), else the difference of the session's `total_cost_usd`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { unlinkSync, writeFileSync } from 'node:fs';
import { addSpend, failureFromText, InvokeError } from '../invoke-error.ts';
import { asArray, asNumber, asRecord, asString, parseJsonRecord, type JsonRecord } from '../json-read.ts';
import { bindingEnv } from '../warm/invoke-warm.ts';
import type { WarmDriver, WarmSession, WarmStartOptions, WarmTurn } from '../warm/types.ts';
import { WarmProcess } from '../warm/warm-process.ts';
import { claudeMcpConfig } from '../mcp-servers.ts';
import { privateTempPath } from '../private-temp.ts';
import { messageFor, readRuntimeState } from '../session-state.ts';
import { addUsage, DEFAULT_KILL_GRACE_MS, type InvokeRequest, type InvokeResult, type InvokeUsage, type PlanStep } from '../types.ts';
import { CLAUDE_INSTALL_HINT, callSpend, ClaudeStream, claudeRuntimeEnv, claudeErrorText, permissionArgs, refusesResumePoint } from './claude-stream.ts';
import { claudeLoginFailure } from './claude-login.ts';

/** How long the CLI may take to answer `initialize` (MCP servers start first). */
const INITIALIZE_TIMEOUT_MS = 60_000;
/** How long a control request (interrupt) may wait for its answer. */
const CONTROL_TIMEOUT_MS = 10_000;
/** The hook callback id the CLI names before each tool call. */
const CHECKPOINT_HOOK = 'tinyagi_checkpoint';
/** While a turn is held on purpose (paused, waiting for an approval), how often it says it is alive. */
const HOLD_HEARTBEAT_MS = 1_000;
/** Final states of a message (command_lifecycle): it will not be answered any more in this turn. */
const FINAL_STATES = new Set(['completed', 'cancelled', 'discarded', 'refused']);

function bypasses(mode: string | undefined): boolean {
  return mode === undefined || mode === 'bypassPermissions';
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sortedEntries(env: Record<string, string> | undefined): Array<[string, string]> {
  return Object.entries(env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export const claudeWarmDriver: WarmDriver = {
  binary: 'claude',
  installHint: CLAUDE_INSTALL_HINT,
  capabilities: { steersMidTurn: true, interrupts: true, pausePoint: 'before its next tool call' },
  // Claude Code 2.1.330 (the native binary) measured 218 MB resident after five short turns, no MCP servers.
  memoryEstimateMb: 250,
  runtimeEnv: (req) => claudeRuntimeEnv(req),
  fingerprint: (req) =>
    sha256(
      JSON.stringify({
        command: req.target.command ?? 'claude',
        model: req.target.model ?? null,
        permissionMode: req.target.permissionMode ?? null,
        env: sortedEntries(req.target.env),
        lasting: bindingEnv(req.env),
        cwd: req.cwd,
        systemPrompt: sha256(req.systemPrompt),
      }),
    ),
  start: (options) => ClaudeWarmSession.start(options),
};

interface PendingControl {
  resolve: (response: JsonRecord) => void;
  reject: (err: Error) => void;
}

interface TurnState {
  turn: WarmTurn;
  stream: ClaudeStream;
  /** The messages this turn wrote (uuid -> answered or final). */
  owned: Map<string, boolean>;
  results: JsonRecord[];
  interrupted: boolean;
  settled: boolean;
  resolve: (result: InvokeResult) => void;
  reject: (err: unknown) => void;
}

class ClaudeWarmSession implements WarmSession {
  readonly #what: string;
  readonly #req: InvokeRequest;
  #proc!: WarmProcess;
  #sessionId: string;
  /** Where the session resumes (`--resume-session-at`): the last assistant message of the last completed turn. */
  #at: string | undefined;
  /** The session's running total after the last result (for a CLI without per-call figures). */
  #totalCostUsd: number | undefined;
  /** The first turn of a new session in a conversation with history gets the transcript. */
  #firstPrompt: ((prompt: string) => string) | undefined;
  readonly #pending = new Map<string, PendingControl>();
  /** The session's task list (TaskCreate / TaskUpdate), kept across turns: each plan event shows all of it. */
  readonly #tasks = new Map<string, PlanStep>();
  /** Hook and permission requests the CLI withdrew (control_cancel_request): never answered. */
  readonly #withdrawn = new Set<string>();
  #turn: TurnState | undefined;
  #nextRequest = 0;
  /** Private files of this process (its system prompt, its MCP config), removed when it exits. */
  #privateFiles: string[] = [];
  readonly exited: Promise<{ code: number | undefined; signal: string | undefined }>;
  #resolveExited!: (exit: { code: number | undefined; signal: string | undefined }) => void;

  private constructor(opts: WarmStartOptions, sessionId: string) {
    this.#what = opts.what;
    this.#req = opts.req;
    this.#sessionId = sessionId;
    this.exited = new Promise((resolve) => {
      this.#resolveExited = resolve;
    });
  }

  static async start(opts: WarmStartOptions): Promise<ClaudeWarmSession> {
    try {
      return await ClaudeWarmSession.#launch(opts, false);
    } catch (err) {
      // A resume point Claude Code cannot find (refused before the handshake): a new session with the transcript.
      if (!(err instanceof Error) || !refusesResumePoint(err.message)) throw err;
      return ClaudeWarmSession.#launch(opts, true);
    }
  }

  static async #launch(opts: WarmStartOptions, startOver: boolean): Promise<ClaudeWarmSession> {
    const { req } = opts;
    const state = readRuntimeState(req.session);
    const resumeAt = asString(state?.at);
    // A retry without a known resume point (a session stored before it was kept) starts over with the transcript.
    const dirty = startOver || (req.session?.retry === true && resumeAt === undefined);
    const resumeId = dirty ? undefined : opts.resumeId;
    const session = new ClaudeWarmSession(opts, resumeId ?? randomUUID());
    session.#at = resumeId ? resumeAt : undefined;
    session.#totalCostUsd = resumeId ? asNumber(state?.totalCostUsd) : undefined;
    if (!resumeId) session.#firstPrompt = (prompt) => messageFor(req.session, undefined, prompt);

    const mode = req.target.permissionMode;
    const args = ['-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose', ...permissionArgs(mode), '--system-prompt-snapshot', 'off'];
    if (!bypasses(mode)) args.push('--permission-prompt-tool', 'stdio');
    if (req.target.model) args.push('--model', req.target.model);
    // Kept for the process's life (private 0600 files), removed when it exits.
    const privateFile = (suffix: string, content: string): string => {
      const file = privateTempPath(`claude-warm-${randomUUID()}${suffix}`);
      writeFileSync(file, content, { mode: 0o600 });
      session.#privateFiles.push(file);
      return file;
    };
    if (req.systemPrompt.trim() !== '') args.push('--append-system-prompt-file', privateFile('.md', req.systemPrompt));
    // TinyAGI's MCP server beside the user's own; its run comes from TINYAGI_RUN_FILE.
    if (req.mcpServers?.length) args.push('--mcp-config', privateFile('-mcp.json', claudeMcpConfig(req.mcpServers)));
    if (resumeId) args.push('--resume', resumeId, ...(resumeAt ? ['--resume-session-at', resumeAt] : []));
    else args.push('--session-id', session.#sessionId);

    try {
      session.#proc = await WarmProcess.start({
        what: opts.what,
        command: req.target.command ?? 'claude',
        args,
        cwd: req.cwd,
        env: opts.env,
        killGraceMs: req.target.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
        installHint: CLAUDE_INSTALL_HINT,
        onLine: (line) => session.#onLine(line),
        onActivity: opts.onActivity,
        boundary: opts.boundary,
      });
    } catch (err) {
      session.#removePrivateFiles();
      throw err;
    }
    void session.#proc.exited.then((exit) => session.#onExit(exit));
    // The pool gives a start up (its timeout, the request cancelled): stop waiting and close the process.
    const onAbort = (): void => void session.close('its start was given up');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // The handshake: the CLI is up and speaks the protocol; the hook gives the pause point.
      await session.#control({ subtype: 'initialize', hooks: { PreToolUse: [{ matcher: null, hookCallbackIds: [CHECKPOINT_HOOK] }] } }, INITIALIZE_TIMEOUT_MS);
    } catch (err) {
      await session.close('it did not start');
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    return session;
  }

  get pid(): number | undefined {
    return this.#proc.pid;
  }

  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  memoryBytes(): number | undefined {
    return this.#proc.memoryBytes();
  }

  turn(turn: WarmTurn): Promise<InvokeResult> {
    if (this.#turn && !this.#turn.settled) return Promise.reject(new InvokeError('retryable', `${this.#what}: a turn is already running in this session.`));
    if (this.#proc.exit) return Promise.reject(this.#exitError(this.#proc.exit, undefined));
    return new Promise<InvokeResult>((resolve, reject) => {
      const state: TurnState = {
        turn,
        stream: new ClaudeStream({ emit: turn.emit, quota: turn.quota, tasks: this.#tasks }),
        owned: new Map(),
        results: [],
        interrupted: false,
        settled: false,
        resolve,
        reject,
      };
      this.#turn = state;
      const prompt = this.#firstPrompt ? this.#firstPrompt(turn.prompt) : turn.prompt;
      this.#firstPrompt = undefined;
      if (!this.#writeUser(state, prompt)) this.#fail(state, this.#exitError(this.#proc.exit, state));
    });
  }

  async steer(text: string): Promise<boolean> {
    const state = this.#turn;
    if (!state || state.settled || state.interrupted) return false;
    return this.#writeUser(state, text);
  }

  async interrupt(): Promise<boolean> {
    const state = this.#turn;
    if (this.#proc.exit) return false;
    if (!state || state.settled) return true;
    state.interrupted = true;
    try {
      await this.#control({ subtype: 'interrupt', cancel_queued: true }, CONTROL_TIMEOUT_MS);
      return true;
    } catch {
      return false;
    }
  }

  async close(_reason: string): Promise<void> {
    await this.#proc.close();
  }

  // ---- the wire ---------------------------------------------------------------------------

  #writeUser(state: TurnState, text: string): boolean {
    const uuid = randomUUID();
    state.owned.set(uuid, false);
    return this.#proc.writeLine(JSON.stringify({ type: 'user', message: { role: 'user', content: text }, parent_tool_use_id: null, session_id: this.#sessionId, uuid }));
  }

  #control(request: JsonRecord, timeoutMs: number): Promise<JsonRecord> {
    const id = `tinyagi_${++this.#nextRequest}`;
    return new Promise<JsonRecord>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new InvokeError('retryable', `${this.#what}: no answer to the ${asString(request.subtype)} request within ${Math.round(timeoutMs / 1000)} s.`));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(id, {
        resolve: (response) => {
          clearTimeout(timer);
          resolve(response);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      if (!this.#proc.writeLine(JSON.stringify({ type: 'control_request', request_id: id, request }))) {
        this.#pending.delete(id);
        clearTimeout(timer);
        reject(this.#exitError(this.#proc.exit, undefined));
      }
    });
  }

  #respond(requestId: string, response: JsonRecord): void {
    if (this.#withdrawn.delete(requestId)) return;
    this.#proc.writeLine(JSON.stringify({ type: 'control_response', response: { subtype: 'success', request_id: requestId, response } }));
  }

  #respondError(requestId: string, error: string): void {
    this.#proc.writeLine(JSON.stringify({ type: 'control_response', response: { subtype: 'error', request_id: requestId, error } }));
  }

  #onLine(line: string): void {
    const event = parseJsonRecord(line);
    if (!event) return;
    const state = this.#turn && !this.#turn.settled ? this.#turn : undefined;
    state?.turn.activity();
    switch (event.type) {
      case 'control_response':
        this.#onControlResponse(asRecord(event.response));
        return;
      case 'control_request':
        this.#onControlRequest(asString(event.request_id), asRecord(event.request));
        return;
      case 'control_cancel_request': {
        const id = asString(event.request_id);
        if (id) this.#withdrawn.add(id);
        return;
      }
      case 'command_lifecycle': {
        const uuid = asString(event.command_uuid);
        if (state && uuid && state.owned.has(uuid) && FINAL_STATES.has(asString(event.state) ?? '')) {
          state.owned.set(uuid, true);
          this.#maybeSettle(state);
        }
        return;
      }
      case 'result':
        this.#onResult(state, event);
        return;
    }
    if (event.type === 'system' && asString(event.subtype) === 'init') {
      const id = asString(event.session_id);
      if (id) this.#sessionId = id;
    }
    // Output of an earlier turn (a model call answering none of this turn's messages) is not this turn's.
    if (!state || this.#answersOthers(state, event)) return;
    state.stream.handle(event);
  }

  /** The event names the messages it answers, and none is this turn's. */
  #answersOthers(state: TurnState, event: JsonRecord): boolean {
    if (!Array.isArray(event.user_message_uuids)) return false;
    const uuids = asArray(event.user_message_uuids).filter((u): u is string => typeof u === 'string');
    return uuids.length > 0 && !uuids.some((u) => state.owned.has(u));
  }

  #onControlResponse(response: JsonRecord | undefined): void {
    const id = asString(response?.request_id);
    const pending = id ? this.#pending.get(id) : undefined;
    if (!id || !pending || !response) return;
    this.#pending.delete(id);
    if (asString(response.subtype) === 'error') pending.reject(new InvokeError('retryable', `${this.#what}: ${asString(response.error) ?? 'the control request failed'}.`));
    else pending.resolve(asRecord(response.response) ?? {});
  }

  #onControlRequest(id: string | undefined, request: JsonRecord | undefined): void {
    if (!id || !request) return;
    const subtype = asString(request.subtype);
    if (subtype === 'hook_callback') {
      void this.#checkpoint().then(
        () => this.#respond(id, {}),
        () => this.#respond(id, {}),
      );
    } else if (subtype === 'can_use_tool') {
      void this.#decidePermission(request).then(
        (answer) => this.#respond(id, answer),
        (err: unknown) => this.#respond(id, { behavior: 'deny', message: `the approval failed: ${(err as Error).message}` }),
      );
    } else {
      this.#respondError(id, `unsupported control request: ${subtype ?? '(none)'}`);
    }
  }

  /** Before a tool call: hold while the run is paused; operator input goes in as a user message the model sees with this tool's result. */
  async #checkpoint(): Promise<void> {
    const state = this.#turn;
    if (!state || state.settled || state.interrupted) return;
    const input = await this.#holding(state, state.turn.checkpoint());
    if (input !== undefined && input.trim() !== '' && !state.settled && !state.interrupted) this.#writeUser(state, input);
  }

  /**
   * The turn is held on purpose (paused before a tool call, a permission request waiting for a
   * person): the process is silent, but not stalled, so the inactivity watchdog is kept quiet
   * until the hold ends. The wall clock still applies.
   */
  async #holding<T>(state: TurnState, held: Promise<T>): Promise<T> {
    const beat = setInterval(() => {
      if (state.settled) clearInterval(beat);
      else state.turn.activity();
    }, HOLD_HEARTBEAT_MS);
    try {
      return await held;
    } finally {
      clearInterval(beat);
    }
  }

  /**
   * A tool call the permission mode does not allow by itself: the run's approval step decides
   * (InvokeRequest.askApproval: the daemon's rules, else a person, docs/approvals.md); without
   * one nobody is there to approve it, so it is denied with a message the model reads, as
   * `claude -p` does without a prompt tool.
   */
  async #decidePermission(request: JsonRecord): Promise<JsonRecord> {
    const tool = asString(request.tool_name) ?? 'tool';
    const input = request.input;
    const req = this.#turn?.turn.req ?? this.#req;
    if (req.askApproval) {
      const answer = this.#turn ? await this.#holding(this.#turn, req.askApproval({ tool, input })) : await req.askApproval({ tool, input });
      return answer.allow ? { behavior: 'allow', updatedInput: asRecord(input) ?? {} } : { behavior: 'deny', message: answer.reason ?? `${tool} was not approved.` };
    }
    return {
      behavior: 'deny',
      message: `${tool} needs an approval, and no one is there to give it: the agent's permission_mode (${req.target.permissionMode}) does not allow it without one.`,
    };
  }

  #onResult(state: TurnState | undefined, event: JsonRecord): void {
    // A result before any turn, or one answering only another turn's messages, settles nothing.
    if (!state || this.#answersOthers(state, event)) return;
    state.results.push(event);
    state.stream.handle(event);
    if (Array.isArray(event.user_message_uuids)) {
      for (const uuid of asArray(event.user_message_uuids)) if (typeof uuid === 'string' && state.owned.has(uuid)) state.owned.set(uuid, true);
    } else {
      // A CLI that names no messages: the result ends the turn (every message was taken in).
      for (const uuid of state.owned.keys()) state.owned.set(uuid, true);
    }
    const at = asString(event.session_id);
    if (at) this.#sessionId = at;
    this.#maybeSettle(state);
  }

  #maybeSettle(state: TurnState): void {
    if (state.settled || [...state.owned.values()].some((done) => !done)) return;
    const spend = this.#spend(state);
    const last = state.results.at(-1);
    if (!last) {
      // Every message was cancelled before the model answered (an interrupt).
      this.#fail(state, addSpend(new InvokeError(state.interrupted ? 'cancelled' : 'retryable', `${this.#what}: the turn ended without a result.`), spend.usage, spend.costUsd));
      return;
    }
    if (last.is_error === true) {
      const text = claudeErrorText(last);
      const err = state.interrupted
        ? new InvokeError('cancelled', `${this.#what}: the turn was interrupted (${asString(last.terminal_reason) ?? asString(last.subtype) ?? 'error'}).`)
        : (claudeLoginFailure(this.#what, text) ?? failureFromText(`${this.#what} failed: ${text}`, text));
      this.#fail(state, addSpend(err, spend.usage, spend.costUsd));
      return;
    }
    const texts = state.results.filter((r) => r.is_error !== true).map((r) => asString(r.result) ?? '');
    const text = texts.filter((t) => t.trim() !== '').join('\n\n') || state.stream.assistantText();
    this.#at = state.stream.lastAssistantUuid ?? this.#at;
    state.settled = true;
    state.resolve({
      text,
      ...(spend.usage ? { usage: spend.usage } : {}),
      ...(spend.costUsd !== undefined ? { costUsd: spend.costUsd } : {}),
      sessionId: this.#sessionId,
      runtimeState: JSON.stringify({ at: this.#at, totalCostUsd: this.#totalCostUsd }),
    });
  }

  /** What the turn's results say it cost (each its own calls); without a result, what its model calls reported. */
  #spend(state: TurnState): { usage?: InvokeUsage; costUsd?: number } {
    if (state.results.length === 0) return { usage: state.stream.messagesUsage() };
    let usage: InvokeUsage | undefined;
    let costUsd: number | undefined;
    for (const result of state.results) {
      const one = callSpend(result, this.#totalCostUsd);
      usage = addUsage(usage, one.usage);
      if (one.costUsd !== undefined) costUsd = (costUsd ?? 0) + one.costUsd;
      this.#totalCostUsd = asNumber(result.total_cost_usd) ?? this.#totalCostUsd;
    }
    return { usage, costUsd };
  }

  #fail(state: TurnState, err: unknown): void {
    if (state.settled) return;
    state.settled = true;
    state.reject(err);
  }

  #exitError(exit: { code: number | undefined; signal: string | undefined } | undefined, state: TurnState | undefined): InvokeError {
    const tail = this.#proc.stderrTail.trim();
    const last =
      tail
        .split('\n')
        .filter((l) => l.trim() !== '')
        .at(-1) ?? '';
    const how = exit?.signal ? `was killed (signal ${exit.signal})` : exit ? `exited (code ${exit.code})` : 'is not running';
    const err = failureFromText(`${this.#what} ${how}${state ? ' during the turn' : ''}${last && !exit?.signal ? `: ${last.slice(0, 500)}` : '.'}`, tail, {
      ...(exit?.code !== undefined ? { exitCode: exit.code } : {}),
      ...(exit?.signal ? { signal: exit.signal } : {}),
      ...(tail ? { stderrTail: tail } : {}),
    });
    if (!state) return err;
    const spend = this.#spend(state);
    return addSpend(err, spend.usage, spend.costUsd);
  }

  #onExit(exit: { code: number | undefined; signal: string | undefined }): void {
    for (const pending of this.#pending.values()) pending.reject(this.#exitError(exit, undefined));
    this.#pending.clear();
    const state = this.#turn;
    if (state && !state.settled) this.#fail(state, this.#exitError(exit, state));
    this.#removePrivateFiles();
    this.#resolveExited(exit);
  }

  #removePrivateFiles(): void {
    for (const file of this.#privateFiles.splice(0)) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  }
}

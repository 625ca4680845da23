/**
 * Codex as a warm session (docs/sessions.md, "Codex"): one warm `codex app-server` per session,
 * JSON-RPC over stdio (one JSON message a line, no `"jsonrpc"` member), the protocol of codex
 * 0.169 as `codex app-server generate-ts` prints it, checked against the real app-server.
 *
 * - Handshake: `initialize` (client info), then the `initialized` notification.
 * - One process holds one thread (the pool's rule): `thread/start` (new), `thread/resume` (the
 *   stored thread id), or, for a retry, `thread/fork` through the last turn that completed
 *   (`lastTurnId`, kept in the runtime state), so the failed attempt's half turn is left out;
 *   without a completed turn to fork through, a retry starts a new thread whose first message
 *   carries the transcript (as codex.ts does). The session id is the thread id.
 * - Turns: `turn/start`; everything the server streams names its turn id, which is the run
 *   epoch: notifications of another turn (an interrupted one, the usage the server repeats for
 *   the last turn on `thread/resume`) never touch the current turn, and only `turn/completed`
 *   of the current turn id settles it. `turn/steer` adds input to the running turn (codex gives
 *   it to the model at its next request, inside the same turn); `turn/interrupt` ends the turn
 *   as `interrupted` and the process stays warm. codex leaves the turn's commands running then
 *   (each leads a session of its own, out of reach of the process group), so the interrupted
 *   turn settles only once TinyAGI has stopped the commands it started (command-sessions.ts).
 * - The user's own provider (no TinyAGI provider given with `-c`): a start whose selected
 *   provider's key variable is missing fails at once, as the per-message run's run (codex-config.ts).
 * - Trace context: the process's environment has no TRACEPARENT (it outlives its runs); every
 *   thread and turn request carries the run's in its `trace` member instead (traceEnvelope).
 * - The system prompt: `developerInstructions` on `thread/start` (a developer message the thread
 *   keeps). codex ignores them on `thread/resume` of a thread it has on disk (checked with 0.169),
 *   so a prompt that changed since the thread last received it (`session.instructionsHash`) is
 *   sent in-band ahead of the turn's message, marked as replacing the earlier instructions, as
 *   the per-message run does.
 * - Usage: `thread/tokenUsage/updated` after every model call; its `last` is that call
 *   (input_tokens already include the cached ones), emitted as a `usage` event and summed into
 *   the turn's usage; `total` (the thread's running total) goes into the runtime state, which
 *   the per-message run reads the same way. codex also repeats the last call's figures without a
 *   new call (after `thread/resume`, when a turn is interrupted): a notification whose total did
 *   not grow is not a call.
 * - Approvals: the thread runs with `approvalPolicy: "never"` and full access (what the
 *   per-message run's `--dangerously-bypass-approvals-and-sandbox` means), so codex asks nothing; a
 *   request that comes anyway is answered by `answerServerRequest`. An agent with
 *   `permission_mode: "ask"` runs `untrusted` in the workspace sandbox instead: each command,
 *   edit or MCP tool call codex asks about goes to the approval desk (InvokeRequest.askApproval;
 *   TinyAGI's own MCP tools need no person there), and a paused run holds there. Otherwise pause has no point inside a Codex turn.
 */
import { createHash } from 'node:crypto';
import { stopTurnCommands, turnStartTicks } from '../command-sessions.ts';
import { addSpend, failureFromText, InvokeError, parseRetryAfterText } from '../invoke-error.ts';
import { asNumber, asRecord, asString, type JsonRecord } from '../json-read.ts';
import { messageFor, readRuntimeState } from '../session-state.ts';
import { type ApprovalAsk, DEFAULT_KILL_GRACE_MS, type InvokeProgress, type InvokeRequest, type InvokeResult, type InvokeUsage, type QuotaReport } from '../types.ts';
import { JsonRpcError, JsonRpcPeer, JSONRPC_METHOD_NOT_FOUND } from '../warm/jsonrpc.ts';
import { bindingEnv } from '../warm/invoke-warm.ts';
import type { WarmDriver, WarmSession, WarmStartOptions, WarmTurn } from '../warm/types.ts';
import { WarmProcess } from '../warm/warm-process.ts';
import { codexMcpArgs } from '../mcp-servers.ts';
import { codexMissingKeyError, codexMissingVariableFailure, codexSandboxLoginError } from './codex-config.ts';
import { CODEX_INSTALL_HINT, CodexItemEvents, codexRuntimeEnv, codexItemType, codexPlanSteps, codexTurnInput, codexOtelArgs, instructionsHash, providerArgs } from './codex-common.ts';

const CLIENT_INFO = { name: 'tinyagi', title: 'TinyAGI', version: '1' };

/**
 * The thread settings of every start, resume and fork: no approvals, no sandbox (as
 * `--dangerously-bypass-approvals-and-sandbox`), except for an agent with `permission_mode:
 * "ask"`: codex asks before commands and edits it does not trust (`untrusted`, inside the
 * workspace sandbox), and each request goes to the approval desk (docs/approvals.md). Inside
 * TinyAGI's boundary (docs/sandbox.md) codex's own sandbox is off (a sandbox nested in
 * another fails) and its approval policy stays.
 */
function threadSettings(req: InvokeRequest): JsonRecord {
  const ask = req.target.permissionMode === 'ask';
  return {
    ...(req.target.model ? { model: req.target.model } : {}),
    cwd: req.cwd,
    approvalPolicy: ask ? 'untrusted' : 'never',
    sandbox: ask && req.target.confined !== true ? 'workspace-write' : 'danger-full-access',
  };
}

/**
 * The run's W3C trace context as the app-server takes it on a request (`trace`, codex 0.169): a
 * warm process outlives its runs and its environment never holds TRACEPARENT, so each request
 * of a run names the run's span itself, and codex's spans for it (`turn/start`, `run_turn`, its
 * model requests) are children of that run's span. Nothing when the run has no trace context.
 */
function traceEnvelope(req: InvokeRequest): JsonRecord | undefined {
  const traceparent = req.env?.TRACEPARENT;
  if (!traceparent) return undefined;
  return { trace: { traceparent, tracestate: req.env?.TRACESTATE ?? null } };
}

function textInput(text: string): JsonRecord[] {
  return [{ type: 'text', text, text_elements: [] }];
}

/** `app-server` with the same `-c` settings the per-message run gives `exec`. */
export function codexAppServerArgs(req: InvokeRequest): string[] {
  return ['app-server', '-c', 'allow_login_shell=false', ...providerArgs(req), ...codexOtelArgs(req), ...codexMcpArgs(req.mcpServers ?? [])];
}

interface RunningTurn {
  turn: WarmTurn;
  id: string | undefined;
  /** Notifications that came before `turn/start` answered with the turn's id. */
  early: Array<{ method: string; params: JsonRecord }>;
  /**
   * Settles with the turn id once codex runs the turn (its first notification, `turn/started`):
   * codex answers `turn/start` before the turn is active, and refuses `turn/steer` and
   * `turn/interrupt` until it is ("no active turn"). Undefined: the turn never started.
   */
  active: Promise<string | undefined>;
  setActive: (id: string | undefined) => void;
  usage: InvokeUsage;
  calls: number;
  /** When the turn began (clock ticks since boot): the commands it started are younger. */
  startedTicks: number | undefined;
  text: string | undefined;
  error: string | undefined;
  items: CodexItemEvents;
  resolve: (result: InvokeResult) => void;
  reject: (err: unknown) => void;
}

class CodexWarmSession implements WarmSession {
  readonly #proc: WarmProcess;
  readonly #peer: JsonRpcPeer;
  readonly #what: string;
  /** The process's environment: where codex read its config, and what it could find. */
  readonly #env: Record<string, string>;
  readonly #onActivity: () => void;
  #threadId: string | undefined;
  /** The hash of the instructions the thread last received (undefined: unknown, send them). */
  #told: string | undefined;
  /** The first turn on a new thread in a conversation with earlier turns carries the transcript. */
  #transcriptDue = false;
  #current: RunningTurn | undefined;
  #lastTurn: string | undefined;
  #total: InvokeUsage | undefined;
  readonly exited: Promise<{ code: number | undefined; signal: string | undefined }>;

  private constructor(proc: WarmProcess, what: string, env: Record<string, string>, onActivity: () => void, lines: { handle: (line: string) => void }) {
    this.#proc = proc;
    this.#what = what;
    this.#env = env;
    this.#onActivity = onActivity;
    this.#peer = new JsonRpcPeer({
      write: (line) => proc.writeLine(line),
      onRequest: (method, params) => this.#serverRequest(method, asRecord(params) ?? {}),
      onNotification: (method, params) => this.#notification(method, asRecord(params) ?? {}),
      jsonrpcField: false,
      what,
    });
    lines.handle = (line) => {
      this.#touch();
      this.#peer.handleLine(line);
    };
    this.exited = proc.exited;
    void proc.exited.then((exit) => {
      const how = exit.signal ? `was killed (signal ${exit.signal})` : `exited (code ${exit.code ?? '?'})`;
      const tail = proc.stderrTail.trim().split('\n').filter(Boolean).at(-1);
      this.#peer.close(`the app-server ${how}`);
      const running = this.#current;
      if (running) {
        this.#current = undefined;
        const err = new InvokeError('retryable', `${what}: the app-server ${how} mid-turn${tail ? `: ${tail.slice(0, 500)}` : '.'}`, {
          exitCode: exit.code,
          ...(exit.signal ? { signal: exit.signal } : {}),
          stderrTail: proc.stderrTail.trim() || undefined,
        });
        running.reject(addSpend(err, running.calls > 0 ? running.usage : undefined, undefined));
      }
    });
  }

  static async start(opts: WarmStartOptions): Promise<CodexWarmSession> {
    const { req } = opts;
    // The user's own provider (no TinyAGI provider given with -c): its key must be there.
    const missingKey = codexSandboxLoginError(opts.what, req.target) ?? (req.target.baseUrl === undefined ? codexMissingKeyError(opts.what, opts.env) : undefined);
    if (missingKey) throw missingKey;
    const lines = { handle: (_line: string): void => {} };
    const proc = await WarmProcess.start({
      what: opts.what,
      command: req.target.command ?? 'codex',
      args: codexAppServerArgs(req),
      cwd: req.cwd,
      env: opts.env,
      killGraceMs: req.target.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
      installHint: CODEX_INSTALL_HINT,
      onLine: (line) => lines.handle(line),
      onActivity: opts.onActivity,
      boundary: opts.boundary,
    });
    const session = new CodexWarmSession(proc, opts.what, opts.env, opts.onActivity, lines);
    try {
      await session.#handshake(opts);
    } catch (err) {
      await session.close('the handshake failed');
      throw session.#startError(err);
    }
    return session;
  }

  get pid(): number | undefined {
    return this.#proc.pid;
  }

  get sessionId(): string | undefined {
    return this.#threadId;
  }

  memoryBytes(): number | undefined {
    return this.#proc.memoryBytes();
  }

  async #handshake(opts: WarmStartOptions): Promise<void> {
    const { req, resumeId } = opts;
    await this.#peer.request('initialize', { clientInfo: CLIENT_INFO, capabilities: null });
    this.#peer.notify('initialized');
    const state = readRuntimeState(req.session);
    const sameThread = resumeId !== undefined && asString(state?.thread) === resumeId;
    const lastTurn = sameThread ? asString(state?.lastTurn) : undefined;
    const settings = threadSettings(req);
    if (resumeId !== undefined && req.session?.retry) {
      // The failed attempt may have left half a turn in the thread: fork through the last completed turn.
      if (lastTurn !== undefined) {
        const forked = await this.#peer.request('thread/fork', { threadId: resumeId, lastTurnId: lastTurn, ...settings, excludeTurns: true }, traceEnvelope(req)).catch(() => undefined);
        const id = asString(asRecord(asRecord(forked)?.thread)?.id);
        if (id !== undefined) {
          this.#threadId = id;
          this.#told = req.session?.instructionsHash;
          this.#lastTurn = lastTurn;
          return;
        }
      }
      await this.#startThread(req, true);
      return;
    }
    if (resumeId !== undefined) {
      const resumed = await this.#peer.request('thread/resume', { threadId: resumeId, ...settings, excludeTurns: true }, traceEnvelope(req));
      this.#threadId = asString(asRecord(asRecord(resumed)?.thread)?.id) ?? resumeId;
      this.#told = req.session?.instructionsHash;
      this.#lastTurn = lastTurn;
      if (sameThread) {
        const input = asNumber(state?.inputTokens);
        const output = asNumber(state?.outputTokens);
        if (input !== undefined && output !== undefined) this.#total = { inputTokens: input, outputTokens: output };
      }
      return;
    }
    await this.#startThread(req, req.session?.fresh !== true);
  }

  async #startThread(req: InvokeRequest, transcript: boolean): Promise<void> {
    const instructions = req.systemPrompt.trim() === '' ? null : req.systemPrompt;
    const started = await this.#peer.request('thread/start', { ...threadSettings(req), developerInstructions: instructions }, traceEnvelope(req));
    const id = asString(asRecord(asRecord(started)?.thread)?.id);
    if (id === undefined) throw new InvokeError('retryable', `${this.#what}: thread/start answered without a thread id`);
    this.#threadId = id;
    this.#told = instructionsHash(req.systemPrompt);
    this.#transcriptDue = transcript;
  }

  #startError(err: unknown): unknown {
    if (err instanceof InvokeError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new InvokeError('retryable', `${this.#what}: could not open the thread: ${message}`, { stderrTail: this.#proc.stderrTail.trim() || undefined, cause: err });
  }

  turn(turn: WarmTurn): Promise<InvokeResult> {
    if (this.#current) return Promise.reject(new InvokeError('retryable', `${this.#what}: a turn is already running on this session`));
    if (this.#proc.exit || this.#threadId === undefined) return Promise.reject(new InvokeError('retryable', `${this.#what}: the app-server is gone`));
    const threadId = this.#threadId;
    const req = turn.req;
    const hash = instructionsHash(req.systemPrompt);
    const prompt = this.#transcriptDue ? messageFor(req.session, undefined, turn.prompt) : turn.prompt;
    const text = this.#told === hash ? prompt : codexTurnInput(req.systemPrompt, prompt, true);
    return new Promise<InvokeResult>((resolve, reject) => {
      let setActive: (id: string | undefined) => void = () => {};
      const active = new Promise<string | undefined>((r) => {
        setActive = r;
      });
      const running: RunningTurn = {
        turn,
        id: undefined,
        early: [],
        active,
        setActive,
        usage: { inputTokens: 0, outputTokens: 0 },
        calls: 0,
        startedTicks: turnStartTicks(),
        text: undefined,
        error: undefined,
        items: new CodexItemEvents(turn.emit),
        resolve,
        reject,
      };
      this.#current = running;
      this.#peer.request('turn/start', { threadId, input: textInput(text) }, traceEnvelope(req)).then(
        (answer) => {
          const id = asString(asRecord(asRecord(answer)?.turn)?.id);
          if (this.#current !== running) return;
          if (id === undefined) {
            this.#settle(running, new InvokeError('retryable', `${this.#what}: turn/start answered without a turn id`));
            return;
          }
          // The thread has the current instructions and the transcript once the turn is under way.
          this.#told = hash;
          this.#transcriptDue = false;
          running.id = id;
          for (const early of running.early.splice(0)) if (early.params.turnId === id || asRecord(early.params.turn)?.id === id) this.#turnNotification(running, early.method, early.params);
        },
        (err: unknown) => {
          running.setActive(undefined);
          if (this.#current === running)
            this.#settle(running, err instanceof InvokeError ? err : failureFromText(`${this.#what}: turn/start failed: ${(err as Error).message}`, String((err as Error).message)));
        },
      );
    });
  }

  async steer(text: string): Promise<boolean> {
    const running = this.#current;
    if (!running || this.#threadId === undefined) return false;
    const id = await running.active;
    if (id === undefined || this.#current !== running) return false;
    try {
      await this.#peer.request('turn/steer', { threadId: this.#threadId, expectedTurnId: id, input: textInput(text) }, traceEnvelope(running.turn.req));
      return true;
    } catch {
      return false;
    }
  }

  async interrupt(): Promise<boolean> {
    const running = this.#current;
    if (!running) return true;
    if (this.#threadId === undefined) return false;
    const id = await running.active;
    if (this.#current !== running) return true;
    if (id === undefined) return false;
    try {
      await this.#peer.request('turn/interrupt', { threadId: this.#threadId, turnId: id }, traceEnvelope(running.turn.req));
      return true;
    } catch {
      // Refused because the turn ended meanwhile: nothing left to stop.
      return this.#current !== running;
    }
  }

  async close(reason: string): Promise<void> {
    this.#peer.close(reason);
    await this.#proc.close();
  }

  #touch(): void {
    if (this.#current) this.#current.turn.activity();
    else this.#onActivity();
  }

  #notification(method: string, params: JsonRecord): void {
    const threadId = asString(params.threadId);
    if (threadId !== undefined && this.#threadId !== undefined && threadId !== this.#threadId) return;
    if (method === 'thread/tokenUsage/updated') {
      const total = asRecord(asRecord(params.tokenUsage)?.total);
      if (!total) return;
      const next = { inputTokens: asNumber(total.inputTokens) ?? 0, outputTokens: asNumber(total.outputTokens) ?? 0 };
      // codex repeats the last call's usage without a new call (on thread/resume, when a turn is
      // interrupted): only a grown total is a model call.
      const grew = this.#total === undefined || next.inputTokens + next.outputTokens > this.#total.inputTokens + this.#total.outputTokens;
      this.#total = next;
      if (!grew) return;
    }
    const running = this.#current;
    if (!running) return;
    if (method === 'account/rateLimits/updated') {
      const report = quotaReport(asRecord(params.rateLimits));
      if (report) running.turn.quota(report);
      return;
    }
    const turnId = asString(params.turnId) ?? asString(asRecord(params.turn)?.id);
    if (turnId === undefined) return;
    if (running.id === undefined) {
      running.early.push({ method, params });
      return;
    }
    // Run epochs: another turn's stream (an interrupted one, a resumed thread's last) is dropped.
    if (turnId === running.id) this.#turnNotification(running, method, params);
  }

  #turnNotification(running: RunningTurn, method: string, params: JsonRecord): void {
    running.setActive(running.id);
    const emit = (event: InvokeProgress): void => running.turn.emit(event);
    switch (method) {
      case 'item/started':
        running.items.started(asRecord(params.item));
        break;
      case 'item/completed': {
        const item = asRecord(params.item);
        const type = codexItemType(item);
        if (type === 'agentMessage') {
          const text = asString(item?.text) ?? '';
          running.text = text;
          if (text !== '') emit({ type: 'text', text });
        } else {
          running.items.completed(item);
        }
        break;
      }
      case 'thread/tokenUsage/updated': {
        const last = asRecord(asRecord(params.tokenUsage)?.last);
        if (!last) break;
        const call = { inputTokens: asNumber(last.inputTokens) ?? 0, outputTokens: asNumber(last.outputTokens) ?? 0 };
        running.usage = { inputTokens: running.usage.inputTokens + call.inputTokens, outputTokens: running.usage.outputTokens + call.outputTokens };
        running.calls++;
        const cached = asNumber(last.cachedInputTokens);
        const model = running.turn.req.target.model;
        emit({ type: 'usage', ...call, ...(cached ? { cacheReadTokens: cached } : {}), ...(model ? { model } : {}) });
        break;
      }
      case 'turn/plan/updated':
        emit({ type: 'plan', steps: codexPlanSteps(params.plan) });
        break;
      case 'error': {
        const message = asString(asRecord(params.error)?.message) ?? 'codex reported an error';
        emit({ type: 'status', message });
        if (params.willRetry !== true) running.error = message;
        break;
      }
      case 'turn/completed':
        this.#completed(running, asRecord(params.turn) ?? {});
        break;
    }
  }

  #completed(running: RunningTurn, turn: JsonRecord): void {
    const status = asString(turn.status);
    const spent = running.calls > 0 ? running.usage : undefined;
    if (status === 'completed') {
      this.#lastTurn = running.id;
      const total = this.#total;
      this.#settle(running, undefined, {
        text: running.text ?? '',
        usage: running.usage,
        sessionId: this.#threadId,
        instructionsHash: this.#told,
        runtimeState: JSON.stringify({ thread: this.#threadId, inputTokens: total?.inputTokens ?? 0, outputTokens: total?.outputTokens ?? 0, lastTurn: this.#lastTurn }),
      });
      return;
    }
    if (status === 'interrupted') {
      // codex leaves a command that still runs (or yielded to the background) alive when it
      // interrupts a turn: this turn's commands are stopped before the interrupt settles.
      const failure = addSpend(new InvokeError('cancelled', `${this.#what}: the turn was interrupted`), spent, undefined);
      void stopTurnCommands(this.#proc.pid, running.startedTicks)
        .catch(() => 0)
        .then(() => this.#settle(running, failure));
      return;
    }
    const error = asRecord(turn.error);
    const message = asString(error?.message) ?? running.error ?? `the turn ended ${status ?? 'without a status'}`;
    const failure = codexMissingVariableFailure(this.#what, message, this.#env) ?? turnFailure(`${this.#what}: ${message}`, message, error?.codexErrorInfo);
    this.#settle(running, addSpend(failure, spent, undefined));
  }

  #settle(running: RunningTurn, err: unknown, result?: InvokeResult): void {
    if (this.#current !== running) return;
    this.#current = undefined;
    running.setActive(running.id);
    if (result) running.resolve(result);
    else running.reject(err);
  }

  /**
   * The server's requests. Without an approval step (no askApproval, or a request that is no
   * approval) answerServerRequest answers as the per-message run's bypass would. With one, each
   * command, edit and MCP tool call codex asks about goes to the approval desk, which lets
   * TinyAGI's own MCP tools through without a person (isOwnRequest) and asks about the rest.
   */
  async #serverRequest(method: string, params: JsonRecord): Promise<unknown> {
    this.#touch();
    const turn = this.#current?.turn;
    const ask = turn?.req.askApproval;
    const approval = codexApprovalAsk(method, params);
    if (!turn || !ask || approval === undefined) return answerServerRequest(method, params);
    // A paused run holds here, before the command, edit or tool runs; operator input is given to the turn.
    const input = await turn.checkpoint();
    if (input !== undefined) void this.steer(input);
    const answer = await ask(approval);
    // codex's answers carry no reason (the model reads `Rejected("rejected by user")` or "user
    // rejected MCP tool call"): the reason is steered into the turn first, so the model's next
    // request has it right after the refused call (checked with 0.169).
    if (!answer.allow && answer.reason) await this.steer(`TinyAGI: ${approvalSubject(approval)} was not run, ${answer.reason}.`);
    if (method === 'mcpServer/elicitation/request') return { action: answer.allow ? 'accept' : 'decline', content: null, _meta: null };
    return { decision: answer.allow ? 'accept' : 'decline' };
  }
}

/** What an approval request was about, for the denial steered into the turn. */
function approvalSubject(ask: ApprovalAsk): string {
  const input = asRecord(ask.input) ?? {};
  if (ask.tool === 'commandExecution') {
    const argv = Array.isArray(input.command) ? input.command.filter((w): w is string => typeof w === 'string') : undefined;
    // The line the shell runs (`bash -c <line>`), as the person saw it.
    const line = argv ? (argv.length === 3 && /^-l?c$/.test(argv[1]!) ? argv[2] : argv.join(' ')) : asString(input.command);
    return `the command \`${line ?? '?'}\``;
  }
  if (ask.tool === 'fileChange') return 'the file change';
  return `the tool call ${ask.tool}`;
}

/**
 * A server request that asks permission, as the approval desk takes it: a command
 * (`commandExecution`), an edit (`fileChange`), or an MCP tool call. codex 0.169 asks about an MCP
 * tool call with an `mcpServer/elicitation/request` whose `_meta.codex_approval_kind` is
 * `mcp_tool_call` (`serverName`, `_meta.tool_name`, `_meta.tool_params`); the tool is named as
 * Claude Code names it (`mcp__tinyagi__call_agent`), so the desk's rules and its own-tools check
 * read both CLIs alike. Undefined: not an approval (another elicitation, a question).
 */
export function codexApprovalAsk(method: string, params: JsonRecord): ApprovalAsk | undefined {
  const reason = params.reason ? { reason: params.reason } : {};
  if (method === 'item/commandExecution/requestApproval') {
    // codex 0.169 shows the argv shell-joined (`/bin/bash -c 'git status'`): as words, the desk reads the line the shell runs.
    const shown = asString(params.command);
    const argv = shown === undefined ? undefined : codexCommandArgv(shown);
    if (argv === undefined) return { tool: 'commandExecution', input: { command: params.command, cwd: params.cwd, ...reason } };
    return { tool: 'commandExecution', input: { command: argv, cwd: params.cwd, ...reason }, summary: `commandExecution: ${shown}` };
  }
  if (method === 'item/fileChange/requestApproval') return { tool: 'fileChange', input: { ...(params.grantRoot ? { path: params.grantRoot } : {}), ...reason } };
  const meta = asRecord(params._meta);
  if (method === 'mcpServer/elicitation/request' && meta?.codex_approval_kind === 'mcp_tool_call') {
    const server = asString(params.serverName) ?? '';
    const tool = asString(meta.tool_name) ?? '';
    return { tool: `mcp__${server}__${tool}`, input: asRecord(meta.tool_params) ?? {} };
  }
  return undefined;
}

/** Characters a shell-joined word may hold unquoted (what a quoting joiner leaves bare). */
const BARE = /[A-Za-z0-9_@%+=:,./-]/;

/**
 * The words of a command codex shows shell-joined (`/bin/bash -c 'tinyagi call beta "hi"'`):
 * single and double quotes and backslashes, as a shell reads them. codex asks about a command
 * as that one string, which the permission rules would read as a `bash -c` they cannot look
 * into, so no rule that allows (the starter rules, TinyAGI's own `tinyagi call`) could match;
 * as words, the rules read the line the shell runs (rules.ts `commandLineOf`). Undefined when the
 * string is anything but plain quoted words (an expansion, an operator): then the desk reads it
 * as it is, and asks.
 */
export function codexCommandArgv(shown: string): string[] | undefined {
  const words: string[] = [];
  let i = 0;
  while (i < shown.length) {
    if (shown[i] === ' ') {
      i++;
      continue;
    }
    let word = '';
    while (i < shown.length && shown[i] !== ' ') {
      const c = shown[i]!;
      if (c === "'") {
        const end = shown.indexOf("'", i + 1);
        if (end < 0) return undefined;
        word += shown.slice(i + 1, end);
        i = end + 1;
      } else if (c === '"') {
        i++;
        for (;;) {
          const d = shown[i];
          if (d === undefined || d === '$' || d === '`') return undefined;
          i++;
          if (d === '"') break;
          if (d === '\\' && shown[i] !== undefined && '"\\$`'.includes(shown[i]!)) word += shown[i++];
          else if (d === '\\' && shown[i] === '\n') return undefined;
          else word += d;
        }
      } else if (c === '\\') {
        const next = shown[i + 1];
        if (next === undefined || next === '\n') return undefined;
        word += next;
        i += 2;
      } else if (BARE.test(c)) {
        word += c;
        i++;
      } else {
        return undefined;
      }
    }
    words.push(word);
  }
  return words.length > 0 ? words : undefined;
}

/** Codex's error codes that are the account's limits, and those no retry can fix (bad key, unknown model). */
const RATE_LIMITED_CODES = new Set(['usageLimitExceeded', 'rateLimitExceeded', 'serverOverloaded']);
const PERMANENT_CODES = new Set(['unauthorized', 'modelNotFound']);

/** A failed turn's error by its `codexErrorInfo` (a code, or `{ variant: { httpStatusCode } }`), else by its text. */
export function turnFailure(message: string, diagnostic: string, info: unknown): InvokeError {
  const code = typeof info === 'string' ? info : Object.keys(asRecord(info) ?? {})[0];
  const status = asNumber(asRecord(Object.values(asRecord(info) ?? {})[0])?.httpStatusCode);
  if ((code !== undefined && RATE_LIMITED_CODES.has(code)) || status === 429) {
    return new InvokeError('rate_limited', message, { retryAfterMs: parseRetryAfterText(diagnostic) });
  }
  if (code !== undefined && PERMANENT_CODES.has(code)) return new InvokeError('permanent', message);
  return failureFromText(message, diagnostic);
}

export function answerServerRequest(method: string, params: JsonRecord): unknown {
  switch (method) {
    case 'item/commandExecution/requestApproval':
    case 'item/fileChange/requestApproval':
      return { decision: 'accept' };
    case 'execCommandApproval':
    case 'applyPatchApproval':
      return { decision: 'approved' };
    case 'item/permissions/requestApproval': {
      const asked = asRecord(params.permissions) ?? {};
      return { permissions: Object.fromEntries(Object.entries(asked).filter(([, v]) => v !== null)), scope: 'turn' };
    }
    case 'item/tool/requestUserInput':
      return { answers: {} };
    case 'mcpServer/elicitation/request':
      // An MCP tool call's approval is accepted, as the bypass would; an MCP server's own form is declined (nobody fills it in).
      return { action: asRecord(params._meta)?.codex_approval_kind === 'mcp_tool_call' ? 'accept' : 'decline', content: null, _meta: null };
  }
  throw new JsonRpcError(JSONRPC_METHOD_NOT_FOUND, `tinyagi does not answer ${method}`);
}

/** A rate-limit snapshot as a QuotaReport: the fullest window; nothing when the snapshot has no window and no limit reached. */
export function codexQuotaReport(snapshot: JsonRecord | undefined): QuotaReport | undefined {
  return quotaReport(snapshot);
}

function quotaReport(snapshot: JsonRecord | undefined): QuotaReport | undefined {
  if (!snapshot) return undefined;
  const reached = asString(snapshot.rateLimitReachedType);
  const windows = (['primary', 'secondary'] as const)
    .map((name) => ({ name, window: asRecord(snapshot[name]) }))
    .filter((w): w is { name: 'primary' | 'secondary'; window: JsonRecord } => w.window !== undefined)
    .map(({ name, window }) => ({ name, used: asNumber(window.usedPercent) ?? 0, resetsAt: asNumber(window.resetsAt) }));
  if (windows.length === 0 && !reached && snapshot.spendControlReached !== true) return undefined;
  const fullest = windows.toSorted((a, b) => b.used - a.used)[0];
  const exhausted = reached !== undefined || snapshot.spendControlReached === true || (fullest !== undefined && fullest.used >= 100);
  const label = [asString(snapshot.limitName) ?? asString(snapshot.limitId), fullest?.name].filter(Boolean).join(' ');
  return {
    status: exhausted ? 'exhausted' : fullest !== undefined && fullest.used >= 80 ? 'warning' : 'ok',
    // codex gives resetsAt in seconds since the epoch.
    ...(fullest?.resetsAt !== undefined ? { resetsAt: fullest.resetsAt * 1000 } : {}),
    ...(label ? { limit: label } : {}),
    ...(fullest !== undefined ? { utilization: Math.min(1, fullest.used / 100) } : {}),
    ...(reached ? { message: reached.replaceAll('_', ' ') } : fullest !== undefined ? { message: `${Math.round(fullest.used)}% of the ${label || 'rate'} limit used` } : {}),
  };
}

function fingerprintOf(req: InvokeRequest): string {
  const t = req.target;
  const key = t.apiKey === undefined ? null : createHash('sha256').update(t.apiKey).digest('hex');
  const bound = {
    command: t.command ?? 'codex',
    model: t.model ?? null,
    permissionMode: t.permissionMode ?? null,
    provider: t.provider,
    baseUrl: t.baseUrl ?? null,
    key,
    env: t.env ?? {},
    lasting: bindingEnv(req.env),
    cwd: req.cwd,
  };
  return createHash('sha256').update(JSON.stringify(bound)).digest('hex').slice(0, 24);
}

export const codexWarmDriver: WarmDriver = {
  binary: 'codex',
  installHint: CODEX_INSTALL_HINT,
  capabilities: { steersMidTurn: true, interrupts: true, pausePoint: null },
  // Measured with 0.169: the native app-server holds about 140 MB after a turn, the npm wrapper (node) about 40 MB more.
  memoryEstimateMb: 190,
  runtimeEnv: (req) => codexRuntimeEnv(req) ?? {},
  fingerprint: fingerprintOf,
  start: (opts) => CodexWarmSession.start(opts),
};

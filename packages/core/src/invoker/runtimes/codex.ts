/**
 * Codex: `codex exec --json … -` (new thread) or `codex exec --json … resume <thread id> -`. An
 * agent with `process: "warm"` runs through the warm driver instead (codex-warm.ts: one
 * `codex app-server` per session, the same thread ids and runtime state); both read codex's
 * items with codex-common.ts (tool calls with id, kind and title, results with their output).
 *
 * - The message is read from stdin (the `-` prompt), so nothing the user writes is ever in argv.
 * - Codex has no file flag for added instructions (`model_instructions_file` would replace its
 *   built-in prompt, and `-c developer_instructions=…` puts the whole prompt in argv and through
 *   a TOML parser). The system prompt therefore travels on stdin too, in an
 *   `<tinyagi_instructions>` block ahead of the first message of a thread. Resumed turns carry
 *   the instructions in the thread's history; when the composed prompt changed since the
 *   thread last received it (`session.instructionsHash`: memory or teammates changed; AGENTS.md
 *   codex reads from the workspace itself), the new one is sent again, marked as replacing the earlier instructions.
 * - Continuity uses the thread id from `thread.started` (`exec resume <id>`), never `--last`.
 *   Codex cannot resume from before a turn, so a retry (an earlier attempt may have left half a
 *   turn in the thread) starts a new thread whose first message carries the transcript.
 * - `turn.completed.usage` is the thread's running total (also after `exec fork`): the call's
 *   usage is the difference to the total kept in the session's runtime state.
 * - `-c allow_login_shell=false`: the shell tool runs `bash -c`, not `bash -lc`, so a profile that
 *   resets PATH (Debian's /etc/profile) cannot hide `tinyagi` from the agent.
 * - A custom provider (`target.baseUrl`) is a `model_providers.tinyagi` entry given with `-c`
 *   (codex 0.169 ignores OPENAI_BASE_URL): its key is read from TINYAGI_CODEX_API_KEY, a variable
 *   only that provider reads, so it is never sent to another host. OpenAI's own key travels as
 *   CODEX_API_KEY (codex exec no longer reads OPENAI_API_KEY).
 * - Otherwise codex runs with the user's own config, which may select a provider of theirs
 *   (codex-config.ts): the variables its providers read (`env_key`, `env_http_headers`) are
 *   passed on, and a run whose selected provider's key is missing fails at once, saying which.
 * - A cancelled, timed-out or failed run stops the commands codex left running: each runs in a
 *   session of its own (out of reach of the process group's kill) and outlives codex; they are
 *   found by TINYAGI_CLI_INVOCATION, a marker every process of the run inherits (command-sessions.ts).
 */
import { cliFailure, cliRunBase, runCliProcess, type CliRunOutcome } from '../cli-runner.ts';
import { INVOCATION_VARIABLE, invocationMarker, stopMarkedProcesses } from '../command-sessions.ts';
import { codexMcpArgs } from '../mcp-servers.ts';
import { addSpend } from '../invoke-error.ts';
import { asNumber, asRecord, asString, parseJsonRecord, type JsonRecord } from '../json-read.ts';
import { messageFor, readRuntimeState, resumeIdOf } from '../session-state.ts';
import { emitProgress, type InvokeRequest, type InvokeResult, type InvokeUsage } from '../types.ts';
import { CODEX_PASSTHROUGH } from '../../kinds/runtimes/codex.ts';
import { pickEnv, type RuntimeImpl, type RuntimeEnv, type RuntimeModelRoute } from '../runtime.ts';
import { baseChildEnv } from '../child-env.ts';
import { DEFAULT_BASE_URLS, type ModelUpstream } from '@tinyagi/sandbox';
import { CODEX_INSTALL_HINT, CodexItemEvents, codexRuntimeEnv, codexItemType, codexTurnInput, codexOtelArgs, instructionsHash, providerArgs } from './codex-common.ts';
import {
  codexLoginApiKey,
  codexMissingKeyError,
  codexSandboxLogin,
  codexSandboxLoginError,
  codexMissingVariableFailure,
  codexOwnProviderEnv,
  readCodexUserConfig,
  type CodexOwnProvider,
} from './codex-config.ts';
import { codexWarmDriver } from './codex-warm.ts';

export { CODEX_PROVIDER_ID, CODEX_PROVIDER_KEY_ENV, codexTurnInput, instructionsHash } from './codex-common.ts';

export async function invokeCodex(req: InvokeRequest): Promise<InvokeResult> {
  const resumeId = req.session?.retry ? undefined : resumeIdOf(req.session);
  const state = readRuntimeState(req.session);
  // The running total this thread had after its last completed turn (0 for a new thread).
  const before: InvokeUsage =
    resumeId !== undefined && asString(state?.thread) === resumeId
      ? { inputTokens: asNumber(state?.inputTokens) ?? 0, outputTokens: asNumber(state?.outputTokens) ?? 0 }
      : { inputTokens: 0, outputTokens: 0 };
  const args = [
    'exec',
    '--json',
    '--skip-git-repo-check',
    '--dangerously-bypass-approvals-and-sandbox',
    '-c',
    'allow_login_shell=false',
    ...providerArgs(req),
    ...codexOtelArgs(req),
    ...codexMcpArgs(req.mcpServers ?? []),
  ];
  if (req.target.model) args.push('--model', req.target.model);
  if (resumeId) args.push('resume', resumeId);
  args.push('-');

  const stream = new CodexStream(req);
  const base = cliRunBase(req, {
    binary: 'codex',
    installHint: CODEX_INSTALL_HINT,
    runtimeEnv: codexRuntimeEnv(req),
  });
  // The user's own provider (no TinyAGI provider given with -c): its key must be there.
  const missingKey = codexSandboxLoginError(base.what, req.target) ?? (req.target.baseUrl === undefined ? codexMissingKeyError(base.what, base.env) : undefined);
  if (missingKey) throw missingKey;
  const hash = instructionsHash(req.systemPrompt);
  const current = resumeId !== undefined && req.session?.instructionsHash === hash;
  const prompt = messageFor(req.session, resumeId, req.prompt);
  const spent = (): InvokeUsage | undefined =>
    stream.total && { inputTokens: Math.max(0, stream.total.inputTokens - before.inputTokens), outputTokens: Math.max(0, stream.total.outputTokens - before.outputTokens) };
  // Every process of this run carries the marker: codex runs each command in a session of its
  // own, which the kill of its process group does not reach, and dies without stopping it.
  const marker = invocationMarker();
  let outcome: CliRunOutcome;
  try {
    outcome = await runCliProcess({
      ...base,
      env: { ...base.env, [INVOCATION_VARIABLE]: marker },
      args,
      input: current ? prompt : codexTurnInput(req.systemPrompt, prompt, resumeId !== undefined),
      onLine: (line) => stream.handle(line),
      spentSoFar: () => ({ usage: spent() }),
    });
  } catch (err) {
    // Cancelled, timed out or stalled: the commands codex was running are stopped before the run ends.
    await stopMarkedProcesses(marker).catch(() => 0);
    throw err;
  }
  // Killed or failed: what it left running goes too (a normal end leaves nothing of its own).
  if (outcome.exitCode !== 0 || outcome.killedAfterResult) await stopMarkedProcesses(marker).catch(() => 0);

  // Killed: the signal is the cause, not a "Reconnecting…" error codex printed before it.
  const failure = outcome.exitCode === undefined ? stream.turnFailed : stream.failure;
  if (failure !== undefined || outcome.exitCode !== 0) {
    throw addSpend((failure && codexMissingVariableFailure(base.what, failure, base.env)) || cliFailure(base.what, outcome, failure), spent(), undefined);
  }
  const threadId = stream.threadId ?? resumeId;
  const total = stream.total ?? before;
  return {
    text: stream.finalMessage ?? '',
    usage: spent(),
    sessionId: threadId,
    instructionsHash: hash,
    runtimeState: JSON.stringify({ thread: threadId, inputTokens: total.inputTokens, outputTokens: total.outputTokens }),
  };
}

class CodexStream {
  readonly #req: InvokeRequest;
  readonly #items: CodexItemEvents;
  threadId: string | undefined;
  finalMessage: string | undefined;
  /** The thread's running usage total, as the last `turn.completed` reported it. */
  total: InvokeUsage | undefined;
  turnFailed: string | undefined;
  #lastError: string | undefined;
  #completed = false;

  constructor(req: InvokeRequest) {
    this.#req = req;
    this.#items = new CodexItemEvents((event) => emitProgress(req, event));
  }

  handle(line: string): void {
    const event = parseJsonRecord(line);
    if (!event) return;
    switch (event.type) {
      case 'thread.started':
        this.threadId = asString(event.thread_id) ?? this.threadId;
        break;
      case 'item.started':
      case 'item.updated':
        this.#items.started(asRecord(event.item));
        break;
      case 'item.completed':
        this.#itemCompleted(asRecord(event.item));
        break;
      case 'turn.completed':
        this.#completed = true;
        this.#setTotal(asRecord(event.usage));
        break;
      case 'turn.failed':
        this.turnFailed = asString(asRecord(event.error)?.message) ?? 'turn failed';
        break;
      case 'error':
        // Also sent for transient trouble Codex recovers from ("Reconnecting… 1/5").
        this.#lastError = asString(event.message) ?? 'error';
        emitProgress(this.#req, { type: 'status', message: this.#lastError });
        break;
    }
  }

  /** Why the turn failed, if it did: a failed turn, or an error and no completed turn. */
  get failure(): string | undefined {
    return this.turnFailed ?? (this.#completed ? undefined : this.#lastError);
  }

  #itemCompleted(item: JsonRecord | undefined): void {
    const type = codexItemType(item);
    if (!item || !type) return;
    if (type === 'agentMessage') {
      const text = asString(item.text) ?? '';
      this.finalMessage = text;
      if (text !== '') emitProgress(this.#req, { type: 'text', text });
      return;
    }
    if (type === 'error') {
      emitProgress(this.#req, { type: 'status', message: asString(item.message) ?? 'codex reported an error' });
      return;
    }
    this.#items.completed(item);
  }

  /** Cached input is already part of input_tokens. */
  #setTotal(usage: JsonRecord | undefined): void {
    if (!usage) return;
    this.total = { inputTokens: asNumber(usage.input_tokens) ?? 0, outputTokens: asNumber(usage.output_tokens) ?? 0 };
  }
}

/** The daemon's own codex variables; an OPENAI_API_KEY there is the key a user means for codex too. */
function codexEnv(env: RuntimeEnv): Record<string, string> {
  const picked = pickEnv(env, CODEX_PASSTHROUGH);
  const openaiKey = pickEnv(env, ['OPENAI_API_KEY']).OPENAI_API_KEY;
  return picked.CODEX_API_KEY === undefined && openaiKey !== undefined ? { ...picked, CODEX_API_KEY: openaiKey } : picked;
}

/** `permission_mode: "ask"` reaches the warm driver (codex's own approvals, routed to the approval desk); other modes keep the bypass. */
function askMode(agent: { permission_mode?: string | undefined }): { permissionMode?: string } {
  return agent.permission_mode === 'ask' ? { permissionMode: 'ask' } : {};
}

/**
 * The model proxy stands in for a custom provider's key (its `model_providers.tinyagi` entry gets
 * the proxy's URL, TINYAGI_CODEX_API_KEY the placeholder), for OpenAI's own key (CODEX_API_KEY,
 * else the key `codex login --with-api-key` keeps in auth.json: codex's built-in provider gets
 * the proxy's URL as `openai_base_url`), and for the provider the user's own config.toml selects
 * (codex-config.ts): its base URL and its `env_key`'s value stay outside, the CLI gets the
 * definition as TinyAGI's provider entry at the proxy (and the config's `model` when the agent
 * names none), so a sandboxed codex, whose private home has no config.toml, asks the same
 * provider; a model server on the host's loopback is reached by the proxy, on the host. Not for a
 * ChatGPT login (`codex login`'s tokens: not an API key).
 */
const codexModelRoute: RuntimeModelRoute = {
  upstream: (target) => {
    if (target.baseUrl !== undefined) return target.apiKey ? { family: 'openai', baseUrl: target.baseUrl, key: target.apiKey, auth: 'bearer' } : undefined;
    const env = { ...baseChildEnv(), ...target.env };
    const own = readCodexUserConfig(env)?.selected;
    if (own) return ownProviderUpstream(own, env);
    const key = target.env?.CODEX_API_KEY || codexLoginApiKey(env);
    if (!key) return undefined;
    return { family: 'openai', baseUrl: target.env?.OPENAI_BASE_URL || DEFAULT_BASE_URLS.openai, key, auth: 'bearer' };
  },
  via: (target, endpoint) => {
    if (target.baseUrl !== undefined) return { ...target, baseUrl: endpoint.baseUrl, apiKey: endpoint.apiKey };
    const env = { ...baseChildEnv(), ...target.env };
    const config = readCodexUserConfig(env);
    if (config?.selected) {
      // Neither the provider's key nor another one its config or OpenAI's key names: the provider is TinyAGI's entry at the proxy.
      const drop = new Set([...config.variables, 'CODEX_API_KEY', 'OPENAI_API_KEY']);
      const rest = Object.fromEntries(Object.entries(target.env ?? {}).filter(([name]) => !drop.has(name)));
      const model = target.model ?? config.model;
      return { ...target, env: rest, baseUrl: endpoint.baseUrl, apiKey: endpoint.apiKey, ...(model ? { model } : {}) };
    }
    const { CODEX_API_KEY: _key, OPENAI_BASE_URL: _url, OPENAI_API_KEY: _openai, ...rest } = target.env ?? {};
    return { ...target, env: { ...rest, OPENAI_BASE_URL: endpoint.baseUrl, CODEX_API_KEY: endpoint.apiKey } };
  },
};

/** The user's selected provider as the proxy's upstream: undefined without a base URL, or when its key variable is unset (the run says so: codexMissingKeyError). */
function ownProviderUpstream(own: CodexOwnProvider, env: RuntimeEnv): ModelUpstream | undefined {
  if (own.baseUrl === undefined) return undefined;
  const key = own.envKey === undefined ? '' : env[own.envKey];
  if (key === undefined || (own.envKey !== undefined && key === '')) return undefined;
  return { family: 'openai', baseUrl: own.baseUrl, key, auth: 'bearer' };
}

export const codexRuntime: RuntimeImpl = {
  invoke: invokeCodex,
  warm: codexWarmDriver,
  target: ({ agent, model, credentials, env }) => {
    const key = credentials.openai?.api_key;
    return {
      model,
      env: { ...codexOwnProviderEnv(env, key), ...pickEnv(env, ['CODEX_HOME', 'OPENAI_BASE_URL']), ...(key ? { CODEX_API_KEY: key } : codexEnv(env)) },
      ...askMode(agent),
    };
  },
  // Codex reads a provider's URL from its config only (above); without a URL the key is OpenAI's.
  customTarget: ({ agent, model, baseUrl, apiKey, env }) => ({
    model,
    ...askMode(agent),
    env: { ...pickEnv(env, ['CODEX_HOME']), ...(apiKey && !baseUrl ? { CODEX_API_KEY: apiKey } : {}) },
    ...(baseUrl ? { baseUrl, ...(apiKey ? { apiKey } : {}) } : {}),
  }),
  modelProxy: codexModelRoute,
  sandboxLogin: codexSandboxLogin,
};

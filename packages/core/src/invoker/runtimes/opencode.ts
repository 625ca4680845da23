/**
 * OpenCode: `opencode run --format json [--model m] [--agent tinyagi-<id>] [--session <id>]`.
 *
 * - The message is read from stdin (`opencode run` reads piped stdin as the message), so no
 *   user text is ever in argv.
 * - The system prompt becomes the prompt of an OpenCode agent declared in a generated config
 *   file (0600, per run) that `OPENCODE_CONFIG` points at; OpenCode merges it with the user's
 *   own config. Nothing large goes through argv or the environment.
 * - Continuity uses the `sessionID` every JSON event carries (`--session <id>`), never `-c`.
 *   OpenCode cannot resume from before a turn (`--fork` copies all of it), so a retry (an earlier
 *   attempt may have left half a turn in the session) starts a new session whose message carries
 *   the transcript.
 * - A new session gets `--title`: without one OpenCode makes an extra model call to write a title.
 * - `OPENCODE_DISABLE_CLAUDE_CODE_SKILLS=1`: OpenCode reads `.agents/skills` itself, and the
 *   workspace's `.claude/skills` (a link to it, for Claude Code) would list every skill twice.
 * - Usage is per `step_finish` (one per model call, not cumulative), recorded also when the
 *   watchdog ends the run.
 * - A custom provider (`target.baseUrl`) is a `provider.tinyagi` entry (`@ai-sdk/openai-compatible`,
 *   `baseURL`) in the same config file, its key in TINYAGI_OPENCODE_API_KEY; the model is
 *   `tinyagi/<model>`.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { cliFailure, cliRunBase, runCliProcess } from '../cli-runner.ts';
import { opencodeMcpConfig } from '../mcp-servers.ts';
import { acpWarmDriver, type AcpCallUsage, type AcpLaunch } from '../warm/acp-warm.ts';
import { addSpend } from '../invoke-error.ts';
import { reserveLoopbackPort } from '../loopback-port.ts';
import { asNumber, asRecord, asRecords, asString, parseJsonRecord, type JsonRecord } from '../json-read.ts';
import { privateTempPath, withPrivateTempDir } from '../private-temp.ts';
import { messageFor, resumeIdOf } from '../session-state.ts';
import { addUsage, emitProgress, type InvokeRequest, type InvokeResult, type InvokeTarget, type InvokeUsage, type ToolActivityKind } from '../types.ts';
import { OPENCODE_PASSTHROUGH } from '../../kinds/runtimes/opencode.ts';
import { pickEnv, type RuntimeEnv, type RuntimeImpl, type RuntimeModelRoute } from '../runtime.ts';
import { baseChildEnv } from '../child-env.ts';
import { opencodeConfigVariables, opencodeLoginError, opencodeOwnProvider, opencodeOwnProviderEnv, opencodeSandboxLogin } from './opencode-config.ts';

export const OPENCODE_PROVIDER_ID = 'tinyagi';
export const OPENCODE_PROVIDER_KEY_ENV = 'TINYAGI_OPENCODE_API_KEY';

export function opencodeAgentName(agentId: string): string {
  return `tinyagi-${agentId}`;
}

export async function invokeOpencode(req: InvokeRequest): Promise<InvokeResult> {
  const resumeId = req.session?.retry ? undefined : resumeIdOf(req.session);
  const custom = req.target.baseUrl !== undefined;

  return withPrivateTempDir(async (tmp) => {
    const args = ['run', '--format', 'json'];
    if (req.target.model) args.push('--model', custom ? `${OPENCODE_PROVIDER_ID}/${req.target.model}` : req.target.model);
    const runtimeEnv: Record<string, string> = { OPENCODE_DISABLE_CLAUDE_CODE_SKILLS: '1' };
    if (custom && req.target.apiKey !== undefined) runtimeEnv[OPENCODE_PROVIDER_KEY_ENV] = req.target.apiKey;
    const agent = req.systemPrompt.trim() !== '' ? opencodeAgentName(req.agentId) : undefined;
    if (agent || custom || req.mcpServers?.length) runtimeEnv.OPENCODE_CONFIG = await tmp.write('opencode.json', opencodeConfig(agent, req));
    if (agent) args.push('--agent', agent);
    if (resumeId) args.push('--session', resumeId);
    else args.push('--title', `tinyagi ${req.agentId}`);

    const stream = new OpencodeStream(req);
    const base = cliRunBase(req, {
      binary: 'opencode',
      installHint: 'Install OpenCode (npm i -g opencode-ai) and configure a provider, or give the agent another provider (e.g. "mock").',
      runtimeEnv,
    });
    const noLogin = opencodeLoginError(base.what, req.target);
    if (noLogin) throw noLogin;
    const outcome = await runCliProcess({
      ...base,
      args,
      input: messageFor(req.session, resumeId, req.prompt),
      onLine: (line) => stream.handle(line),
      spentSoFar: () => ({ usage: stream.usage, costUsd: stream.costUsd }),
    });

    if (stream.error !== undefined || outcome.exitCode !== 0) throw addSpend(cliFailure(base.what, outcome, stream.error), stream.usage, stream.costUsd);
    return { text: stream.finalText(), usage: stream.usage, costUsd: stream.costUsd, sessionId: stream.sessionId ?? resumeId };
  });
}

/**
 * `warm`: the config of an `opencode acp` process, whose edits, commands and fetches ask first
 * (ACP's session/request_permission: the run's approval step answers, and a paused run holds
 * there); `opencode run` rejects permission prompts it cannot show, so per message they are allowed:
 * `external_directory` too (OpenCode asks it for a command naming a path outside the workspace,
 * `cat /etc/hosts`; rejected, the turn ends at once without an answer, exit 0).
 */
function opencodeConfig(agent: string | undefined, req: InvokeRequest, warm = false): string {
  const model = req.target.model;
  const permission = warm ? { edit: 'ask', bash: 'ask', webfetch: 'ask' } : { edit: 'allow', bash: 'allow', webfetch: 'allow', external_directory: 'allow' };
  return JSON.stringify({
    $schema: 'https://opencode.ai/config.json',
    ...(warm && { permission }),
    // TinyAGI's MCP server beside the user's own (a warm process gets it from ACP's session/new instead).
    ...(!warm && req.mcpServers?.length && { mcp: opencodeMcpConfig(req.mcpServers) }),
    ...(agent && {
      agent: {
        [agent]: {
          description: `TinyAGI agent ${req.agentId}`,
          mode: 'primary',
          prompt: req.systemPrompt,
          permission,
        },
      },
    }),
    ...(req.target.baseUrl !== undefined && {
      provider: {
        [OPENCODE_PROVIDER_ID]: {
          npm: '@ai-sdk/openai-compatible',
          name: req.target.provider,
          options: { baseURL: req.target.baseUrl, ...(req.target.apiKey !== undefined ? { apiKey: `{env:${OPENCODE_PROVIDER_KEY_ENV}}` } : {}) },
          ...(model ? { models: { [model]: { name: model } } } : {}),
        },
      },
    }),
  });
}

class OpencodeStream {
  readonly #req: InvokeRequest;
  readonly #texts: Array<{ messageId: string | undefined; text: string }> = [];
  sessionId: string | undefined;
  usage: InvokeUsage | undefined;
  costUsd: number | undefined;
  error: string | undefined;

  constructor(req: InvokeRequest) {
    this.#req = req;
  }

  handle(line: string): void {
    const event = parseJsonRecord(line);
    if (!event) return;
    this.sessionId = asString(event.sessionID) ?? this.sessionId;
    const part = asRecord(event.part);
    switch (event.type) {
      case 'text': {
        const text = asString(part?.text) ?? '';
        if (text === '') return;
        this.#texts.push({ messageId: asString(part?.messageID), text });
        emitProgress(this.#req, { type: 'text', text });
        break;
      }
      case 'tool_use': {
        const name = asString(part?.tool) ?? 'tool';
        const state = asRecord(part?.state);
        const id = asString(part?.callID);
        const title = asString(state?.title);
        const output = asString(state?.output);
        emitProgress(this.#req, { type: 'tool', name, input: state?.input, kind: opencodeToolKind(name), ...(id ? { id } : {}), ...(title ? { title } : {}) });
        emitProgress(this.#req, { type: 'tool_result', name, ok: state?.status === 'completed', ...(id ? { id } : {}), ...(output !== undefined ? { output: output.slice(0, 2000) } : {}) });
        break;
      }
      case 'step_finish':
        if (part) this.#addStep(part);
        break;
      case 'error':
        this.error = opencodeErrorText(event.error);
        break;
    }
  }

  /** The answer is the last assistant message; earlier messages were said between tool calls. */
  finalText(): string {
    const lastId = this.#texts.at(-1)?.messageId;
    if (lastId === undefined) return this.#texts.at(-1)?.text ?? '';
    return this.#texts
      .filter((t) => t.messageId === lastId)
      .map((t) => t.text)
      .join('');
  }

  #addStep(part: JsonRecord): void {
    const step = opencodeStepUsage(part);
    if (step.usage) {
      this.usage = addUsage(this.usage, step.usage);
      emitProgress(this.#req, { type: 'usage', ...step.usage, ...(step.cacheReadTokens > 0 ? { cacheReadTokens: step.cacheReadTokens } : {}) });
    }
    if (step.costUsd !== undefined) this.costUsd = (this.costUsd ?? 0) + step.costUsd;
  }
}

/** What an OpenCode tool does (its built-in tools; MCP tools are named `<server>_<tool>`). */
export function opencodeToolKind(tool: string): ToolActivityKind {
  switch (tool) {
    case 'bash':
      return 'command';
    case 'edit':
    case 'write':
    case 'patch':
    case 'multiedit':
      return 'file_edit';
    case 'read':
      return 'file_read';
    case 'grep':
    case 'glob':
    case 'list':
    case 'codesearch':
    case 'websearch':
      return 'search';
    case 'webfetch':
      return 'web';
    case 'task':
      return 'agent';
    default:
      return 'other';
  }
}

/**
 * One model call's usage from an OpenCode `step-finish` part (the `step_finish` event of
 * `opencode run --format json`, and the parts of its server's session messages that the warm
 * driver reads): input counts cache reads and writes, output counts reasoning.
 */
export function opencodeStepUsage(part: JsonRecord): { usage: InvokeUsage | undefined; cacheReadTokens: number; costUsd: number | undefined } {
  const tokens = asRecord(part.tokens);
  let usage: InvokeUsage | undefined;
  let cacheReadTokens = 0;
  if (tokens) {
    const cache = asRecord(tokens.cache);
    cacheReadTokens = asNumber(cache?.read) ?? 0;
    const input = (asNumber(tokens.input) ?? 0) + cacheReadTokens + (asNumber(cache?.write) ?? 0);
    const output = (asNumber(tokens.output) ?? 0) + (asNumber(tokens.reasoning) ?? 0);
    usage = { inputTokens: input, outputTokens: output };
  }
  return { usage, cacheReadTokens, costUsd: asNumber(part.cost) };
}

function opencodeErrorText(error: unknown): string {
  const record = asRecord(error);
  const data = asRecord(record?.data);
  const message = asString(data?.message) ?? asString(record?.message) ?? asString(record?.name) ?? 'error';
  const status = asNumber(data?.statusCode);
  return status === undefined ? message : `${message} (HTTP ${status})`;
}

/**
 * `opencode acp` as a warm session (docs/sessions.md, "ACP"), with the spawn mode's rules: the
 * system prompt is the prompt of the generated agent (selected with the session's `mode` config
 * option), a custom provider is the same `provider.tinyagi` entry, skills are read once.
 *
 * OpenCode's ACP answers a prompt with the usage of the turn's last model call only, so the
 * exact usage comes from OpenCode itself: `opencode acp` serves its HTTP API on loopback (on a
 * port we pick, behind a random password in OPENCODE_SERVER_PASSWORD), and after each prompt
 * the driver reads the session's messages and records each `step-finish` part as one call (the
 * parsing the spawn mode uses). A new session gets its title through the same API before the
 * first prompt: without one OpenCode makes an extra model call to write it.
 */
async function opencodeLaunch(req: InvokeRequest): Promise<AcpLaunch> {
  const noLogin = opencodeLoginError(`opencode (agent ${req.agentId})`, req.target);
  if (noLogin) throw noLogin;
  const custom = req.target.baseUrl !== undefined;
  const agent = req.systemPrompt.trim() !== '' ? opencodeAgentName(req.agentId) : undefined;
  const port = await reserveLoopbackPort();
  const password = randomBytes(18).toString('base64url');
  const env: Record<string, string> = { OPENCODE_SERVER_PASSWORD: password };
  if (custom && req.target.apiKey !== undefined) env[OPENCODE_PROVIDER_KEY_ENV] = req.target.apiKey;
  const configFile = privateTempPath(`opencode-acp-${randomBytes(8).toString('hex')}.json`);
  writeFileSync(configFile, opencodeConfig(agent, req, true), { mode: 0o600 });
  env.OPENCODE_CONFIG = configFile;
  const base = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Basic ${Buffer.from(`opencode:${password}`).toString('base64')}`, 'content-type': 'application/json' };
  const api = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${base}${path}${path.includes('?') ? '&' : '?'}directory=${encodeURIComponent(req.cwd)}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    if (!res.ok) throw new Error(`opencode server ${method} ${path}: HTTP ${res.status}`);
    return res.json();
  };
  return {
    command: req.target.command ?? 'opencode',
    args: ['acp', '--hostname', '127.0.0.1', '--port', String(port)],
    env,
    // Inside the boundary its API is on the sandbox's own loopback: the daemon reaches it at the same port (docs/sandbox.md).
    inboundPorts: [port],
    async afterSession(ctx) {
      if (!ctx.loaded) await api('PATCH', `/session/${encodeURIComponent(ctx.sessionId)}`, { title: `tinyagi ${req.agentId}` }).catch(() => undefined);
      if (agent) await ctx.peer.request('session/set_config_option', { sessionId: ctx.sessionId, configId: 'mode', value: agent });
    },
    async turnUsage(ctx) {
      const messages = asRecords(await api('GET', `/session/${encodeURIComponent(ctx.sessionId)}/message`));
      const lastUser = messages.findLast((m) => asRecord(m.info)?.role === 'user');
      const userId = asString(asRecord(lastUser?.info)?.id);
      if (userId === undefined) return undefined;
      const calls: AcpCallUsage[] = [];
      for (const message of messages) {
        const info = asRecord(message.info);
        if (info?.role !== 'assistant' || info.parentID !== userId) continue;
        for (const part of asRecords(message.parts)) {
          if (part.type !== 'step-finish') continue;
          const step = opencodeStepUsage(part);
          if (!step.usage) continue;
          const model = asString(info.modelID);
          calls.push({
            ...step.usage,
            ...(step.cacheReadTokens > 0 ? { cacheReadTokens: step.cacheReadTokens } : {}),
            ...(model ? { model } : {}),
            ...(step.costUsd !== undefined ? { costUsd: step.costUsd } : {}),
          });
        }
      }
      return calls;
    },
    cleanup() {
      rmSync(configFile, { force: true });
    },
  };
}

export const opencodeWarmDriver = acpWarmDriver({
  binary: 'opencode',
  installHint: 'Install OpenCode (npm i -g opencode-ai) and configure a provider, or give the agent another provider (e.g. "mock").',
  // Measured: 381 MB resident after session/new (OpenCode 1.18.33, linux-x64).
  memoryEstimateMb: 400,
  runtimeEnv: () => ({ OPENCODE_DISABLE_CLAUDE_CODE_SKILLS: '1' }),
  launch: opencodeLaunch,
  // The system prompt is in the generated config, read at start.
  fingerprintParts: (req) => [req.systemPrompt],
  instructionsInBand: false,
  modelId: (req) => (req.target.model === undefined ? undefined : req.target.baseUrl !== undefined ? `${OPENCODE_PROVIDER_ID}/${req.target.model}` : req.target.model),
});

/** Where the user's opencode.json is read: the daemon's HOME and XDG_CONFIG_HOME, under the target's. */
function userEnv(target: InvokeTarget): RuntimeEnv {
  return { ...baseChildEnv(), ...target.env };
}

/**
 * The model proxy stands in for a custom provider's key (its provider.tinyagi entry,
 * @ai-sdk/openai-compatible: Chat Completions) and, for a sandboxed agent, for the
 * OpenAI-compatible provider of the user's own opencode.json its model names (opencode-config.ts):
 * the CLI gets that provider as provider.tinyagi at the proxy, its base URL and key outside.
 * OpenCode's built-in providers and its own login (`opencode auth`) are not carried.
 */
const opencodeModelRoute: RuntimeModelRoute = {
  upstream: (target) => {
    if (target.baseUrl !== undefined) return target.apiKey ? { family: 'openai', baseUrl: target.baseUrl, key: target.apiKey, auth: 'bearer' } : undefined;
    const own = opencodeOwnProvider(userEnv(target), target.model);
    if (!own) return undefined;
    const key = own.key === undefined ? '' : 'literal' in own.key ? own.key.literal : target.env?.[own.key.variable];
    return key === undefined ? undefined : { family: 'openai', baseUrl: own.baseUrl, key, auth: 'bearer' };
  },
  via: (target, endpoint) => {
    if (target.baseUrl !== undefined) return { ...target, baseUrl: endpoint.baseUrl, apiKey: endpoint.apiKey };
    const own = opencodeOwnProvider(userEnv(target), target.model);
    // Neither its key nor the built-in providers' ones: the provider is TinyAGI's entry at the proxy.
    const drop = new Set([...opencodeConfigVariables(userEnv(target)), ...OPENCODE_PASSTHROUGH]);
    const env = Object.fromEntries(Object.entries(target.env ?? {}).filter(([name]) => !drop.has(name)));
    return { ...target, env, baseUrl: endpoint.baseUrl, apiKey: endpoint.apiKey, ...(own ? { model: own.model } : {}) };
  },
};

export const opencodeRuntime: RuntimeImpl = {
  invoke: invokeOpencode,
  warm: opencodeWarmDriver,
  target: ({ model, credentials, env }) => ({
    model,
    env: {
      ...opencodeOwnProviderEnv(env, model),
      ...pickEnv(env, OPENCODE_PASSTHROUGH),
      ...(credentials.anthropic?.api_key ? { ANTHROPIC_API_KEY: credentials.anthropic.api_key } : {}),
      ...(credentials.openai?.api_key ? { OPENAI_API_KEY: credentials.openai.api_key } : {}),
    },
  }),
  customTarget: ({ model, baseUrl, apiKey }) => ({ model, ...(baseUrl ? { baseUrl } : {}), ...(apiKey ? { apiKey } : {}), env: {} }),
  modelProxy: opencodeModelRoute,
  sandboxLogin: opencodeSandboxLogin,
};

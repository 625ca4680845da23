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
import { cliFailure, cliRunBase, runCliProcess } from '../cli-runner.ts';
import { addSpend } from '../invoke-error.ts';
import { asNumber, asRecord, asString, parseJsonRecord, type JsonRecord } from '../json-read.ts';
import { withPrivateTempDir } from '../private-temp.ts';
import { messageFor, resumeIdOf } from '../session-state.ts';
import { addUsage, emitProgress, type InvokeRequest, type InvokeResult, type InvokeUsage } from '../types.ts';
import { defineRuntimeKind } from '@tinyagi/client/contract';
import { pickEnv, type RuntimeAdapter } from '../runtime.ts';

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
    const adapterEnv: Record<string, string> = { OPENCODE_DISABLE_CLAUDE_CODE_SKILLS: '1' };
    if (custom && req.target.apiKey !== undefined) adapterEnv[OPENCODE_PROVIDER_KEY_ENV] = req.target.apiKey;
    const agent = req.systemPrompt.trim() !== '' ? opencodeAgentName(req.agentId) : undefined;
    if (agent || custom) adapterEnv.OPENCODE_CONFIG = await tmp.write('opencode.json', opencodeConfig(agent, req));
    if (agent) args.push('--agent', agent);
    if (resumeId) args.push('--session', resumeId);
    else args.push('--title', `tinyagi ${req.agentId}`);

    const stream = new OpencodeStream(req);
    const base = cliRunBase(req, {
      binary: 'opencode',
      installHint: 'Install OpenCode (npm i -g opencode-ai) and configure a provider, or give the agent another provider (e.g. "mock").',
      adapterEnv,
    });
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

function opencodeConfig(agent: string | undefined, req: InvokeRequest): string {
  const model = req.target.model;
  return JSON.stringify({
    $schema: 'https://opencode.ai/config.json',
    ...(agent && {
      agent: {
        [agent]: {
          description: `TinyAGI agent ${req.agentId}`,
          mode: 'primary',
          prompt: req.systemPrompt,
          // `opencode run` rejects permission prompts it cannot show; the agent works unattended.
          permission: { edit: 'allow', bash: 'allow', webfetch: 'allow' },
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
        emitProgress(this.#req, { type: 'tool', name, input: state?.input });
        emitProgress(this.#req, { type: 'tool_result', name, ok: state?.status === 'completed' });
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
    const tokens = asRecord(part.tokens);
    if (tokens) {
      const cache = asRecord(tokens.cache);
      const input = (asNumber(tokens.input) ?? 0) + (asNumber(cache?.read) ?? 0) + (asNumber(cache?.write) ?? 0);
      const output = (asNumber(tokens.output) ?? 0) + (asNumber(tokens.reasoning) ?? 0);
      this.usage = addUsage(this.usage, { inputTokens: input, outputTokens: output });
    }
    const cost = asNumber(part.cost);
    if (cost !== undefined) this.costUsd = (this.costUsd ?? 0) + cost;
  }
}

function opencodeErrorText(error: unknown): string {
  const record = asRecord(error);
  const data = asRecord(record?.data);
  const message = asString(data?.message) ?? asString(record?.message) ?? asString(record?.name) ?? 'error';
  const status = asNumber(data?.statusCode);
  return status === undefined ? message : `${message} (HTTP ${status})`;
}

const OPENCODE_PASSTHROUGH = [
  'ANTHROPIC_API_KEY',
  'OPENAI_API_KEY',
  'OPENROUTER_API_KEY',
  'GEMINI_API_KEY',
  'GOOGLE_GENERATIVE_AI_API_KEY',
  'GROQ_API_KEY',
  'XAI_API_KEY',
  'DEEPSEEK_API_KEY',
  'MISTRAL_API_KEY',
  'OPENCODE_API_KEY',
];

export const opencodeKind = defineRuntimeKind({
  name: 'opencode',
  aliases: [],
  title: 'OpenCode',
  description: 'The OpenCode CLI (`opencode run`), with any model provider it knows (models.anthropic and models.openai keys are passed on).',
  command: 'opencode',
  installHint: 'npm install -g opencode-ai',
  passthroughEnv: OPENCODE_PASSTHROUGH,
  capabilities: { keepsSession: true, steersMidTurn: false, pauses: false, asksApproval: false, readsAgentsMd: true, usesTools: true },
  instructionFiles: [],
  modelAliases: { sonnet: 'opencode/claude-sonnet-4-6', opus: 'opencode/claude-opus-4-6' },
  modelsBlock: 'opencode',
  customProvider: { via: 'a provider.tinyagi entry (@ai-sdk/openai-compatible) in its generated config; the model is tinyagi/<model>', needsBaseUrl: true },
  retry: 'fresh-session',
  steerPoint: null,
});

export const opencodeRuntime: RuntimeAdapter = {
  invoke: invokeOpencode,
  target: ({ model, credentials, env }) => ({
    model,
    env: {
      ...pickEnv(env, OPENCODE_PASSTHROUGH),
      ...(credentials.anthropic?.api_key ? { ANTHROPIC_API_KEY: credentials.anthropic.api_key } : {}),
      ...(credentials.openai?.api_key ? { OPENAI_API_KEY: credentials.openai.api_key } : {}),
    },
  }),
  customTarget: ({ model, baseUrl, apiKey }) => ({ model, ...(baseUrl ? { baseUrl } : {}), ...(apiKey ? { apiKey } : {}), env: {} }),
};

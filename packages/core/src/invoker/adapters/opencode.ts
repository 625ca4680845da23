/**
 * OpenCode: `opencode run --format json [--model m] [--agent tinyagi-<id>] [--session <id>]`.
 *
 * - The message is read from stdin (`opencode run` reads piped stdin as the message), so no
 *   user text is ever in argv.
 * - The system prompt becomes the prompt of an OpenCode agent declared in a generated config
 *   file (0600, per run) that `OPENCODE_CONFIG` points at; OpenCode merges it with the user's
 *   own config. Nothing large goes through argv or the environment.
 * - Continuity uses the `sessionID` every JSON event carries (`--session <id>`), never `-c`.
 */
import { cliFailure, cliRunBase, runCliProcess } from '../cli-runner.ts';
import { addSpend } from '../invoke-error.ts';
import { asNumber, asRecord, asString, parseJsonRecord, type JsonRecord } from '../json-read.ts';
import { withPrivateTempDir } from '../private-temp.ts';
import { addUsage, emitProgress, type InvokeRequest, type InvokeResult, type InvokeUsage } from '../types.ts';

export function opencodeAgentName(agentId: string): string {
  return `tinyagi-${agentId}`;
}

export async function invokeOpencode(req: InvokeRequest): Promise<InvokeResult> {
  const resumeId = req.session?.fresh ? undefined : (req.session?.resumeId ?? undefined);

  return withPrivateTempDir(async (tmp) => {
    const args = ['run', '--format', 'json'];
    if (req.target.model) args.push('--model', req.target.model);
    const adapterEnv: Record<string, string> = {};
    if (req.systemPrompt.trim() !== '') {
      const agent = opencodeAgentName(req.agentId);
      adapterEnv.OPENCODE_CONFIG = await tmp.write('opencode.json', opencodeConfig(agent, req));
      args.push('--agent', agent);
    }
    if (resumeId) args.push('--session', resumeId);

    const stream = new OpencodeStream(req);
    const base = cliRunBase(req, {
      binary: 'opencode',
      installHint: 'Install OpenCode (npm i -g opencode-ai) and configure a provider, or give the agent another provider (e.g. "mock").',
      adapterEnv,
    });
    const outcome = await runCliProcess({ ...base, args, input: req.prompt, onLine: (line) => stream.handle(line) });

    if (stream.error !== undefined || outcome.exitCode !== 0) throw addSpend(cliFailure(base.what, outcome, stream.error), stream.usage, stream.costUsd);
    return { text: stream.finalText(), usage: stream.usage, costUsd: stream.costUsd, sessionId: stream.sessionId ?? resumeId };
  });
}

function opencodeConfig(agent: string, req: InvokeRequest): string {
  return JSON.stringify({
    $schema: 'https://opencode.ai/config.json',
    agent: {
      [agent]: {
        description: `TinyAGI agent ${req.agentId}`,
        mode: 'primary',
        prompt: req.systemPrompt,
        // `opencode run` rejects permission prompts it cannot show; the agent works unattended.
        permission: { edit: 'allow', bash: 'allow', webfetch: 'allow' },
      },
    },
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

/**
 * Claude Code: `claude -p --output-format stream-json --verbose …` with the prompt on stdin.
 *
 * - The prompt is read from stdin (`-p` without a prompt argument): a message of any size
 *   reaches the CLI (one argv string is capped at 128 KiB on Linux, E2BIG), it never shows in
 *   `ps`, and a message starting with `-` is never read as a flag.
 * - The system prompt goes through `--append-system-prompt-file` (a 0600 temp file): it keeps
 *   Claude Code's own prompt (tools, safety) and stays out of argv.
 * - Sessions are explicit: `--session-id <new uuid>` starts one, `--resume <id>` continues it,
 *   so two agents (or two senders of one agent) never share a "most recent" session.
 * - `IS_SANDBOX=1` lets `--dangerously-skip-permissions` run as root (containers); an agent's
 *   `permission_mode` other than `bypassPermissions` is passed as `--permission-mode` instead.
 */
import { randomUUID } from 'node:crypto';
import { cliFailure, cliRunBase, runCliProcess } from '../cli-runner.ts';
import { addSpend } from '../invoke-error.ts';
import { asNumber, asRecord, asRecords, asString, parseJsonRecord, type JsonRecord } from '../json-read.ts';
import { withPrivateTempDir } from '../private-temp.ts';
import { emitProgress, type InvokeRequest, type InvokeResult, type InvokeUsage } from '../types.ts';

export async function invokeClaude(req: InvokeRequest): Promise<InvokeResult> {
  const resumeId = req.session?.fresh ? undefined : (req.session?.resumeId ?? undefined);
  const newSessionId = resumeId ? undefined : randomUUID();

  return withPrivateTempDir(async (tmp) => {
    const args = ['-p', '--output-format', 'stream-json', '--verbose', ...permissionArgs(req.target.permissionMode)];
    if (req.target.model) args.push('--model', req.target.model);
    if (req.systemPrompt.trim() !== '') {
      args.push('--append-system-prompt-file', await tmp.write('system-prompt.md', req.systemPrompt));
    }
    if (resumeId) args.push('--resume', resumeId);
    else if (newSessionId) args.push('--session-id', newSessionId);

    const stream = new ClaudeStream(req);
    const base = cliRunBase(req, {
      binary: 'claude',
      installHint: 'Install Claude Code (npm i -g @anthropic-ai/claude-code) and log in, or give the agent another provider (e.g. "mock").',
      adapterEnv: { IS_SANDBOX: '1' },
    });
    const outcome = await runCliProcess({
      ...base,
      args,
      input: req.prompt,
      onLine: (line) => stream.handle(line),
      resultSeen: () => stream.result !== undefined,
    });

    const result = stream.result;
    if (result && result.is_error !== true) {
      return {
        text: asString(result.result) ?? stream.assistantText(),
        usage: stream.usage,
        costUsd: asNumber(result.total_cost_usd),
        sessionId: stream.sessionId ?? resumeId ?? newSessionId,
      };
    }
    // A failed result still reports what it cost: the attempt is paid for either way.
    if (result) throw addSpend(cliFailure(base.what, outcome, claudeErrorText(result)), stream.usage, asNumber(result.total_cost_usd));
    if (outcome.exitCode === 0) {
      return { text: stream.assistantText(), sessionId: stream.sessionId ?? resumeId ?? newSessionId };
    }
    throw cliFailure(base.what, outcome);
  });
}

/** Nobody is at a terminal to approve a tool call, so the default skips the prompts (docs/security.md). */
function permissionArgs(mode: string | undefined): string[] {
  return mode === undefined || mode === 'bypassPermissions' ? ['--dangerously-skip-permissions'] : ['--permission-mode', mode];
}

class ClaudeStream {
  readonly #req: InvokeRequest;
  readonly #texts: string[] = [];
  readonly #toolNames = new Map<string, string>();
  sessionId: string | undefined;
  result: JsonRecord | undefined;
  usage: InvokeUsage | undefined;

  constructor(req: InvokeRequest) {
    this.#req = req;
  }

  handle(line: string): void {
    const event = parseJsonRecord(line);
    if (!event) return;
    const sessionId = asString(event.session_id);
    if (sessionId) this.sessionId = sessionId;
    switch (event.type) {
      case 'assistant':
        for (const block of asRecords(asRecord(event.message)?.content)) this.#assistantBlock(block);
        break;
      case 'user':
        for (const block of asRecords(asRecord(event.message)?.content)) {
          if (block.type !== 'tool_result') continue;
          const name = this.#toolNames.get(asString(block.tool_use_id) ?? '');
          emitProgress(this.#req, { type: 'tool_result', name, ok: block.is_error !== true });
        }
        break;
      case 'result':
        this.result = event;
        this.usage = claudeUsage(asRecord(event.usage));
        break;
    }
  }

  #assistantBlock(block: JsonRecord): void {
    if (block.type === 'text') {
      const text = asString(block.text) ?? '';
      if (text === '') return;
      this.#texts.push(text);
      emitProgress(this.#req, { type: 'text', text });
    } else if (block.type === 'tool_use') {
      const name = asString(block.name) ?? 'tool';
      const id = asString(block.id);
      if (id) this.#toolNames.set(id, name);
      emitProgress(this.#req, { type: 'tool', name, input: block.input });
    }
  }

  /** Fallback when no result event arrived: the last assistant message is the answer. */
  assistantText(): string {
    return this.#texts.at(-1) ?? '';
  }
}

/** Input counts every prompt token the model processed, cached or not (what the user pays for). */
function claudeUsage(usage: JsonRecord | undefined): InvokeUsage | undefined {
  if (!usage) return undefined;
  const input = (asNumber(usage.input_tokens) ?? 0) + (asNumber(usage.cache_creation_input_tokens) ?? 0) + (asNumber(usage.cache_read_input_tokens) ?? 0);
  return { inputTokens: input, outputTokens: asNumber(usage.output_tokens) ?? 0 };
}

function claudeErrorText(result: JsonRecord): string {
  const errors = Array.isArray(result.errors) ? result.errors.filter((e) => typeof e === 'string') : [];
  return asString(result.result) ?? (errors.length > 0 ? errors.join('; ') : `result ${asString(result.subtype) ?? 'error'}`);
}

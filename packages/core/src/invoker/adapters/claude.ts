/**
 * Claude Code: `claude -p --output-format stream-json --verbose …` with the prompt on stdin.
 *
 * - The prompt is read from stdin (`-p` without a prompt argument): a message of any size
 *   reaches the CLI (one argv string is capped at 128 KiB on Linux, E2BIG), it never shows in
 *   `ps`, and a message starting with `-` is never read as a flag.
 * - The system prompt goes through `--append-system-prompt-file` (a 0600 temp file): it keeps
 *   Claude Code's own prompt (tools, safety) and stays out of argv. `--system-prompt-snapshot off`:
 *   by default Claude Code 2.1 records a conversation's first system prompt and sends that on
 *   every resume, so an edited prompt (teammates, memory) would never reach a resumed session.
 * - Sessions are explicit: `--session-id <new uuid>` starts one, `--resume <id>` continues it,
 *   so two agents (or two senders of one agent) never share a "most recent" session.
 * - Every resume is `--resume <id> --resume-session-at <uuid of the last completed turn's last
 *   assistant message>` (kept in the session's provider state): a failed or killed attempt's
 *   half turn (and the "No response requested." Claude Code adds after a kill) is left on a
 *   side branch, so a retried message reaches the model once.
 * - Usage and cost are the call's own: `result.model_usage_since_last_result` (per model, with
 *   `costUSD`). `total_cost_usd` and `modelUsage` are the session's running totals on a resume;
 *   only without the per-call field is the cost the difference to the total kept in the state.
 * - `IS_SANDBOX=1` lets `--dangerously-skip-permissions` run as root (containers); an agent's
 *   `permission_mode` other than `bypassPermissions` is passed as `--permission-mode` instead.
 */
import { randomUUID } from 'node:crypto';
import { cliFailure, cliRunBase, runCliProcess } from '../cli-runner.ts';
import { addSpend } from '../invoke-error.ts';
import { asNumber, asRecord, asRecords, asString, parseJsonRecord, type JsonRecord } from '../json-read.ts';
import { withPrivateTempDir } from '../private-temp.ts';
import { messageFor, readProviderState, resumeIdOf } from '../session-state.ts';
import { addUsage, emitProgress, type InvokeRequest, type InvokeResult, type InvokeUsage } from '../types.ts';
import { defineRuntimeKind } from '@tinyagi/client/contract';
import { pickEnv, type RuntimeAdapter, type RuntimeEnv } from '../runtime.ts';

export async function invokeClaude(req: InvokeRequest): Promise<InvokeResult> {
  const state = readProviderState(req.session);
  const resumeAt = asString(state?.at);
  // A retry without a known resume point (a session stored before it was kept) starts over with the transcript.
  const dirty = req.session?.retry === true && resumeAt === undefined;
  const resumeId = dirty ? undefined : resumeIdOf(req.session);
  const newSessionId = resumeId ? undefined : randomUUID();
  const prompt = messageFor(req.session, resumeId, req.prompt);

  return withPrivateTempDir(async (tmp) => {
    const args = ['-p', '--output-format', 'stream-json', '--verbose', ...permissionArgs(req.target.permissionMode), '--system-prompt-snapshot', 'off'];
    if (req.target.model) args.push('--model', req.target.model);
    if (req.systemPrompt.trim() !== '') {
      args.push('--append-system-prompt-file', await tmp.write('system-prompt.md', req.systemPrompt));
    }
    if (resumeId) args.push('--resume', resumeId, ...(resumeAt ? ['--resume-session-at', resumeAt] : []));
    else if (newSessionId) args.push('--session-id', newSessionId);

    const stream = new ClaudeStream(req);
    const base = cliRunBase(req, {
      binary: 'claude',
      installHint: 'Install Claude Code (npm i -g @anthropic-ai/claude-code) and log in, or give the agent another provider (e.g. "mock").',
      // With a custom provider (ANTHROPIC_BASE_URL) nothing may go to Anthropic's own hosts (update checks, telemetry).
      adapterEnv: { IS_SANDBOX: '1', ...(req.target.env?.ANTHROPIC_BASE_URL ? { CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' } : {}) },
    });
    const outcome = await runCliProcess({
      ...base,
      args,
      input: prompt,
      onLine: (line) => stream.handle(line),
      resultSeen: () => stream.result !== undefined,
      spentSoFar: () => ({ usage: stream.messagesUsage() }),
    });

    const result = stream.result;
    const sessionId = stream.sessionId ?? resumeId ?? newSessionId;
    // The stored resume point and running total belong to the resumed session only.
    const resumed = resumeId !== undefined && sessionId === resumeId;
    const spend = result ? callSpend(result, resumed ? asNumber(state?.totalCostUsd) : undefined) : undefined;
    const providerState = (): string => JSON.stringify({ at: stream.lastAssistantUuid ?? (resumed ? resumeAt : undefined), totalCostUsd: asNumber(result?.total_cost_usd) });
    if (result && result.is_error !== true) {
      return { text: asString(result.result) ?? stream.assistantText(), usage: spend?.usage, costUsd: spend?.costUsd, sessionId, providerState: providerState() };
    }
    // A failed result still reports what it cost: the attempt is paid for either way.
    if (result) throw addSpend(cliFailure(base.what, outcome, claudeErrorText(result)), spend?.usage, spend?.costUsd);
    if (outcome.exitCode === 0) return { text: stream.assistantText(), sessionId, providerState: providerState() };
    // No result (killed, crashed): the model calls its assistant messages report still happened.
    throw addSpend(cliFailure(base.what, outcome), stream.messagesUsage(), undefined);
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
  /** Where the next turn resumes: the last assistant message of this one. */
  lastAssistantUuid: string | undefined;
  /** Usage per model call (message id) as its assistant events reported it: all there is without a result. */
  readonly #messageUsage = new Map<string, InvokeUsage>();

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
        this.lastAssistantUuid = asString(event.uuid) ?? this.lastAssistantUuid;
        this.#noteUsage(asRecord(event.message));
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

  #noteUsage(message: JsonRecord | undefined): void {
    const id = asString(message?.id);
    const usage = asRecord(message?.usage);
    if (id && usage) this.#messageUsage.set(id, tokensOf(usage));
  }

  /** What the model calls of this run cost as their messages said (an assistant event carries its call's input; output only so far). */
  messagesUsage(): InvokeUsage | undefined {
    let total: InvokeUsage | undefined;
    for (const usage of this.#messageUsage.values()) total = addUsage(total, usage);
    return total;
  }

  /** Fallback when no result event arrived: the last assistant message is the answer. */
  assistantText(): string {
    return this.#texts.at(-1) ?? '';
  }
}

/**
 * What this call cost. Input counts every prompt token the model processed, cached or not (what
 * the user pays for). `sessionTotalBefore`: the resumed session's `total_cost_usd` after its last
 * completed turn, for a CLI that reports no per-call figure.
 */
export function callSpend(result: JsonRecord, sessionTotalBefore: number | undefined): { usage?: InvokeUsage; costUsd?: number } {
  const perModel = asRecord(result.model_usage_since_last_result);
  if (perModel) {
    let usage: InvokeUsage | undefined;
    let costUsd = 0;
    for (const model of Object.values(perModel)) {
      const m = asRecord(model);
      if (!m) continue;
      const input = (asNumber(m.inputTokens) ?? 0) + (asNumber(m.cacheReadInputTokens) ?? 0) + (asNumber(m.cacheCreationInputTokens) ?? 0);
      usage = addUsage(usage, { inputTokens: input, outputTokens: asNumber(m.outputTokens) ?? 0 });
      costUsd += asNumber(m.costUSD) ?? 0;
    }
    return { usage, costUsd };
  }
  const u = asRecord(result.usage);
  const usage = u && tokensOf(u);
  const total = asNumber(result.total_cost_usd);
  return { usage, costUsd: total === undefined ? undefined : Math.max(0, total - (sessionTotalBefore ?? 0)) };
}

/** Anthropic usage: input counts cached and cache-writing tokens too. */
function tokensOf(u: JsonRecord): InvokeUsage {
  return {
    inputTokens: (asNumber(u.input_tokens) ?? 0) + (asNumber(u.cache_creation_input_tokens) ?? 0) + (asNumber(u.cache_read_input_tokens) ?? 0),
    outputTokens: asNumber(u.output_tokens) ?? 0,
  };
}

function claudeErrorText(result: JsonRecord): string {
  const errors = Array.isArray(result.errors) ? result.errors.filter((e) => typeof e === 'string') : [];
  return asString(result.result) ?? (errors.length > 0 ? errors.join('; ') : `result ${asString(result.subtype) ?? 'error'}`);
}

/** Claude Code's own credentials, config dir and cloud switches. */
const CLAUDE_PASSTHROUGH = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'ANTHROPIC_BASE_URL',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'CLAUDE_CODE_USE_BEDROCK',
  'CLAUDE_CODE_USE_VERTEX',
  'ANTHROPIC_VERTEX_PROJECT_ID',
  'CLOUD_ML_REGION',
  'AWS_REGION',
  'AWS_PROFILE',
];

export const claudeCodeKind = defineRuntimeKind({
  name: 'claude-code',
  aliases: [],
  title: 'Claude Code',
  description: "Anthropic's Claude Code CLI (`claude -p`), logged in with `claude` or given models.anthropic's key or OAuth token.",
  command: 'claude',
  installHint: 'npm install -g @anthropic-ai/claude-code',
  passthroughEnv: CLAUDE_PASSTHROUGH,
  capabilities: { keepsSession: true, steersMidTurn: false, pauses: false, asksApproval: false, readsAgentsMd: true, usesTools: true },
  instructionFiles: ['CLAUDE.md'],
  modelAliases: { sonnet: 'claude-sonnet-4-6', opus: 'claude-opus-4-6' },
  modelsBlock: 'anthropic',
  customProvider: { via: "ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN in the CLI's environment", needsBaseUrl: false },
  retry: 'resume-at',
  steerPoint: null,
});

/** An oauth token wins over an api key; with neither, Claude Code's own variables pass through. */
function claudeCredentials(creds: { api_key?: string | undefined; oauth_token?: string | undefined } | undefined, env: RuntimeEnv): Record<string, string> {
  if (creds?.oauth_token) return { CLAUDE_CODE_OAUTH_TOKEN: creds.oauth_token };
  if (creds?.api_key) return { ANTHROPIC_API_KEY: creds.api_key };
  return pickEnv(env, CLAUDE_PASSTHROUGH);
}

function permissionMode(agent: { permission_mode?: string | undefined }): { permissionMode?: string } {
  return agent.permission_mode !== undefined ? { permissionMode: agent.permission_mode } : {};
}

export const claudeCodeRuntime: RuntimeAdapter = {
  invoke: invokeClaude,
  target: ({ agent, model, credentials, env }) => ({
    model,
    env: { ...pickEnv(env, ['CLAUDE_CONFIG_DIR']), ...claudeCredentials(credentials.anthropic, env) },
    ...permissionMode(agent),
  }),
  customTarget: ({ agent, model, baseUrl, apiKey, env }) => ({
    model,
    env: {
      ...pickEnv(env, ['CLAUDE_CONFIG_DIR']),
      ...(baseUrl ? { ANTHROPIC_BASE_URL: baseUrl } : {}),
      ...(apiKey ? { ANTHROPIC_AUTH_TOKEN: apiKey } : {}),
    },
    ...permissionMode(agent),
  }),
};

/**
 * Claude Code's stream-json output, read the same way by the spawn-per-message runtime
 * (claude.ts) and the warm session (claude-warm.ts): progress events (text, tool calls with
 * their kind and a one-line title, tool results with their output's start, the TodoWrite plan,
 * usage per model call), the rate-limit state (`rate_limit_event`) and the spend of a result.
 *
 * Message shapes as Claude Code 2.1.330 prints them (checked against the real CLI, see
 * docs/sessions.md): `assistant` events carry one model call's message (`message.id`, `usage`,
 * content blocks; one event per block, the same id), `user` events the tool results, `result`
 * ends a turn with `usage` and `model_usage_since_last_result` of that turn alone and the
 * session's running totals `total_cost_usd` / `modelUsage`.
 */
import { asNumber, asRecord, asRecords, asString, type JsonRecord } from '../json-read.ts';
import { addUsage, type InvokeProgress, type InvokeRequest, type InvokeUsage, type PlanStep, type QuotaReport, type ToolActivityKind } from '../types.ts';

/** Longest output start a tool_result event carries. */
const OUTPUT_CHARS = 2_000;
const TITLE_CHARS = 200;

/** What a Claude Code tool call does, and the one line that says it (the command, the path, the pattern). */
export function claudeToolActivity(name: string, input: unknown): { kind: ToolActivityKind; title?: string } {
  const args = asRecord(input) ?? {};
  const str = (key: string): string | undefined => asString(args[key]);
  switch (name) {
    case 'Bash':
      return withTitle('command', str('command'));
    case 'Edit':
    case 'Write':
    case 'MultiEdit':
      return withTitle('file_edit', str('file_path'));
    case 'NotebookEdit':
      return withTitle('file_edit', str('notebook_path'));
    case 'Read':
      return withTitle('file_read', str('file_path'));
    case 'Grep':
    case 'Glob': {
      const where = str('path');
      return withTitle('search', str('pattern') && where ? `${str('pattern')} in ${where}` : str('pattern'));
    }
    case 'WebFetch':
      return withTitle('web', str('url'));
    case 'WebSearch':
      return withTitle('web', str('query'));
    case 'Task':
    case 'Agent':
      return withTitle('agent', str('description') ?? str('subagent_type'));
    default:
      if (name.startsWith('mcp__')) return withTitle('mcp', name.slice('mcp__'.length).replace('__', '/'));
      return { kind: 'other' };
  }
}

function withTitle(kind: ToolActivityKind, title: string | undefined): { kind: ToolActivityKind; title?: string } {
  const line = title
    ?.split('\n')
    .find((l) => l.trim() !== '')
    ?.trim();
  if (!line) return { kind };
  return { kind, title: line.length > TITLE_CHARS ? `${line.slice(0, TITLE_CHARS - 1)}…` : line };
}

/** TodoWrite's list as plan steps. */
function planOf(input: unknown): PlanStep[] | undefined {
  const todos = asRecords(asRecord(input)?.todos);
  if (todos.length === 0) return undefined;
  return todos.map((t) => {
    const status = asString(t.status);
    return {
      text: asString(t.content) ?? asString(t.activeForm) ?? '',
      status: status === 'completed' || status === 'in_progress' ? status : 'pending',
    };
  });
}

/** The text of a tool_result's content (a string, or text blocks). */
function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  return asRecords(content)
    .map((b) => asString(b.text) ?? '')
    .filter((t) => t !== '')
    .join('\n');
}

/** Claude Code's `rate_limit_event.rate_limit_info` as a quota report (resetsAt is in seconds there). */
export function claudeQuota(info: JsonRecord | undefined): QuotaReport | undefined {
  const status = asString(info?.status);
  if (!info || !status) return undefined;
  const mapped = status === 'rejected' ? 'exhausted' : status === 'allowed_warning' ? 'warning' : status === 'allowed' ? 'ok' : undefined;
  if (!mapped) return undefined;
  const resetsAt = asNumber(info.resetsAt);
  const limit = asString(info.rateLimitType);
  const utilization = asNumber(info.utilization);
  return {
    status: mapped,
    ...(resetsAt !== undefined ? { resetsAt: resetsAt * 1000 } : {}),
    ...(limit ? { limit } : {}),
    ...(utilization !== undefined ? { utilization } : {}),
    message: `Claude Code rate limit ${limit ?? ''} ${status}`.replace(/\s+/g, ' ').trim(),
  };
}

export interface ClaudeStreamHooks {
  emit: (event: InvokeProgress) => void;
  quota?: (report: QuotaReport) => void;
  /**
   * The session's task list (TaskCreate / TaskUpdate, by task id), kept by a warm session across
   * its turns; a stream without one keeps its own.
   */
  tasks?: Map<string, PlanStep>;
}

/** A task's status as a plan step's (TaskUpdate's `deleted` removes it). */
function stepStatus(status: string | undefined): PlanStep['status'] | undefined {
  return status === 'pending' || status === 'in_progress' || status === 'completed' ? status : undefined;
}

/**
 * The progress and bookkeeping of one stretch of the stream (one spawned process, or one turn
 * of a warm one): `handle` takes each parsed event.
 */
export class ClaudeStream {
  readonly #hooks: ClaudeStreamHooks;
  readonly #texts: string[] = [];
  readonly #toolNames = new Map<string, string>();
  readonly #toolInputs = new Map<string, unknown>();
  readonly #tasks: Map<string, PlanStep>;
  sessionId: string | undefined;
  result: JsonRecord | undefined;
  /** Where the next turn resumes: the last assistant message seen. */
  lastAssistantUuid: string | undefined;
  /** Usage per model call (message id) as its assistant events reported it: all there is without a result. */
  readonly #messageUsage = new Map<string, InvokeUsage>();

  constructor(hooks: ClaudeStreamHooks) {
    this.#hooks = hooks;
    this.#tasks = hooks.tasks ?? new Map();
  }

  handle(event: JsonRecord): void {
    const sessionId = asString(event.session_id);
    if (sessionId) this.sessionId = sessionId;
    switch (event.type) {
      case 'assistant': {
        // A subagent's messages (parent_tool_use_id set) are its own work, not this turn's answer.
        const nested = asString(event.parent_tool_use_id) !== undefined;
        if (!nested) this.lastAssistantUuid = asString(event.uuid) ?? this.lastAssistantUuid;
        this.#noteUsage(asRecord(event.message));
        for (const block of asRecords(asRecord(event.message)?.content)) this.#assistantBlock(block, nested);
        break;
      }
      case 'user':
        for (const block of asRecords(asRecord(event.message)?.content)) {
          if (block.type !== 'tool_result') continue;
          const id = asString(block.tool_use_id);
          const name = id ? this.#toolNames.get(id) : undefined;
          const output = resultText(block.content);
          this.#hooks.emit({
            type: 'tool_result',
            name,
            ok: block.is_error !== true,
            ...(id ? { id } : {}),
            ...(output !== '' ? { output: output.slice(0, OUTPUT_CHARS) } : {}),
          });
          if (id && block.is_error !== true) this.#taskResult(name, this.#toolInputs.get(id), asRecord(event.tool_use_result));
        }
        break;
      case 'rate_limit_event': {
        const report = claudeQuota(asRecord(event.rate_limit_info));
        if (report) this.#hooks.quota?.(report);
        break;
      }
      case 'result':
        this.result = event;
        break;
    }
  }

  #assistantBlock(block: JsonRecord, nested: boolean): void {
    if (block.type === 'text') {
      const text = asString(block.text) ?? '';
      if (text === '' || nested) return;
      this.#texts.push(text);
      this.#hooks.emit({ type: 'text', text });
    } else if (block.type === 'tool_use') {
      const name = asString(block.name) ?? 'tool';
      const id = asString(block.id);
      if (id) {
        this.#toolNames.set(id, name);
        this.#toolInputs.set(id, block.input);
      }
      this.#hooks.emit({ type: 'tool', name, input: block.input, ...(id ? { id } : {}), ...claudeToolActivity(name, block.input) });
      if (name === 'TodoWrite') {
        const steps = planOf(block.input);
        if (steps) this.#hooks.emit({ type: 'plan', steps });
      }
    }
  }

  /**
   * Claude Code 2.1's plan tools (TodoWrite is disabled in print mode): the task list as its
   * results say it (`tool_use_result`: TaskCreate `{task: {id, subject}}`, TaskUpdate
   * `{success, taskId}`, TaskList `{tasks}`), emitted whole after each change.
   */
  #taskResult(name: string | undefined, input: unknown, result: JsonRecord | undefined): void {
    if (!result) return;
    if (name === 'TaskCreate') {
      const task = asRecord(result.task);
      const id = asString(task?.id);
      if (!id) return;
      this.#tasks.set(id, { text: asString(task?.subject) ?? asString(asRecord(input)?.subject) ?? '', status: 'pending' });
    } else if (name === 'TaskUpdate') {
      const args = asRecord(input);
      const id = asString(result.taskId) ?? asString(args?.taskId);
      if (result.success !== true || !id) return;
      if (asString(args?.status) === 'deleted') this.#tasks.delete(id);
      else {
        const before = this.#tasks.get(id) ?? { text: '', status: 'pending' as const };
        this.#tasks.set(id, { text: asString(args?.subject) ?? before.text, status: stepStatus(asString(args?.status)) ?? before.status });
      }
    } else if (name === 'TaskList') {
      const tasks = asRecords(result.tasks);
      if (!Array.isArray(result.tasks)) return;
      this.#tasks.clear();
      for (const t of tasks) {
        const id = asString(t.id);
        if (id) this.#tasks.set(id, { text: asString(t.subject) ?? '', status: stepStatus(asString(t.status)) ?? 'pending' });
      }
    } else {
      return;
    }
    this.#hooks.emit({ type: 'plan', steps: [...this.#tasks.values()].map((step) => ({ ...step })) });
  }

  #noteUsage(message: JsonRecord | undefined): void {
    const id = asString(message?.id);
    const usage = asRecord(message?.usage);
    if (!id || !usage || this.#messageUsage.has(id)) return;
    const tokens = tokensOf(usage);
    this.#messageUsage.set(id, tokens);
    const cacheRead = asNumber(usage.cache_read_input_tokens);
    const model = asString(message?.model);
    this.#hooks.emit({ type: 'usage', ...tokens, ...(cacheRead ? { cacheReadTokens: cacheRead } : {}), ...(model ? { model } : {}) });
  }

  /** What the model calls seen so far cost as their messages said (an assistant event carries its call's input; output only so far). */
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
export function tokensOf(u: JsonRecord): InvokeUsage {
  return {
    inputTokens: (asNumber(u.input_tokens) ?? 0) + (asNumber(u.cache_creation_input_tokens) ?? 0) + (asNumber(u.cache_read_input_tokens) ?? 0),
    outputTokens: asNumber(u.output_tokens) ?? 0,
  };
}

export function claudeErrorText(result: JsonRecord): string {
  const errors = Array.isArray(result.errors) ? result.errors.filter((e) => typeof e === 'string') : [];
  return asString(result.result) ?? (errors.length > 0 ? errors.join('; ') : `result ${asString(result.subtype) ?? 'error'}`);
}

/**
 * Claude Code refused `--resume-session-at`: its transcript holds no message with that uuid
 * (2.1.330: "No message found with message.uuid of: <uuid>", on stderr and in an error result's
 * `errors`, exit 1 before any model call). The CLI reads a session along its transcript's leaf
 * (`last-prompt`); a warm process killed just after a new message arrived may not have written
 * the leaf of its last completed turn, so the point is in the file but not on the branch read.
 */
export function refusesResumePoint(text: string | undefined): boolean {
  return text?.includes('No message found with message.uuid of') === true;
}

// ---- what both modes start the CLI with ----------------------------------------------------

export const CLAUDE_INSTALL_HINT = 'Install Claude Code (npm i -g @anthropic-ai/claude-code) and log in, or give the agent another provider (e.g. "mock").';

/** `IS_SANDBOX` lets the bypass run as root; with a custom provider (ANTHROPIC_BASE_URL) nothing may go to Anthropic's own hosts (update checks, telemetry). */
export function claudeRuntimeEnv(req: InvokeRequest): Record<string, string> {
  return { IS_SANDBOX: '1', ...(req.target.env?.ANTHROPIC_BASE_URL ? { CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' } : {}) };
}

/**
 * Nobody is at a terminal to approve a tool call, so the default skips the prompts
 * (docs/security.md). TinyAGI's own `ask` (every call not allowed by a rule is asked,
 * docs/approvals.md) is Claude Code's `default` mode: it asks whatever it does not allow itself.
 */
export function permissionArgs(mode: string | undefined): string[] {
  if (mode === undefined || mode === 'bypassPermissions') return ['--dangerously-skip-permissions'];
  return ['--permission-mode', mode === 'ask' ? 'default' : mode];
}

/**
 * The built-in deterministic provider, for demos, tests and fresh installs without an agent CLI.
 * A script (the agent's `mock` setting) picks one of its replies by matching the prompt
 * (case-insensitive substring, or `/regex/flags`; the first match wins) and replies from a
 * template, optionally after reporting scripted progress (tool use, status lines, as an agent CLI
 * streams them), after its gate is released (mock-gate.ts) and a delay, after spawning
 * sub-agents, or by failing in a chosen way, or after its scripted actions (mock-actions.ts:
 * write a file, run a command, commit, update its task, ask an approval, as a coding agent's
 * tools do). It never calls a model, and its default reply says so. Its steps (after the delay,
 * before each sub-agent call) are steering checkpoints (`req.checkpoint`): a paused run waits
 * there, and operator input joins `{{message}}` like a user message added to the turn.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { InvokeError } from '../invoke-error.ts';
import { emitProgress, runLimits, type InvokeProgress, type InvokeRequest, type InvokeResult, type SpawnAgentArgs } from '../types.ts';
import { mockActionName, parseMockActions, runMockAction } from './mock-actions.ts';
import { gateOpened, mockGateDir } from './mock-gate.ts';
import type { MockActionSpec } from './mock-actions.ts';
import type { MockProgressSpec, MockQuotaSpec, MockReplySpec, MockScriptSpec, MockUsageSpec } from './mock-script.ts';
import { untilAborted } from '../until-aborted.ts';
import { expiryError, startWatchdog } from '../watchdog.ts';
import type { RuntimeImpl } from '../runtime.ts';

export type { MockActionSpec } from './mock-actions.ts';
export type { MockFailure, MockProgressSpec, MockReplySpec, MockScriptSpec, MockSpawnSpec, MockUsageSpec } from './mock-script.ts';

export const DEFAULT_MOCK_REPLY = '[mock] {{agent}}: received "{{message}}"';
/** The wait a scripted rate limit asks for. */
export const MOCK_RATE_LIMIT_RETRY_MS = 1000;

export async function invokeMock(req: InvokeRequest): Promise<InvokeResult> {
  const script = req.target.mock ?? {};
  const scripted = script.replies?.find((r) => promptMatches(r.match, req.prompt));
  const what = `mock (agent ${req.agentId})`;
  const limits = runLimits(req);

  // Every wait below ends as soon as the watchdog fires (abort, timeout or inactivity); waiting
  // on a spawned sub-agent is not silence.
  const stop = new AbortController();
  let spawning = false;
  let holding = false;
  const watchdog = startWatchdog({
    limits,
    signal: req.signal,
    onExpire: (kind) => stop.abort(kind),
    isBusy: () => spawning || holding || req.busyElsewhere?.() === true,
  });
  const guarded = <T>(work: Promise<T>): Promise<T> => untilAborted(work, stop.signal);
  /** Operator input added to this turn at its checkpoints. */
  const steered: string[] = [];
  const checkpoint = async (): Promise<void> => {
    if (!req.checkpoint) return;
    // A paused run waits here: not silence for the watchdog.
    holding = true;
    try {
      const text = await guarded(req.checkpoint());
      if (text !== undefined && text.trim() !== '') steered.push(text);
    } finally {
      holding = false;
      watchdog.touch();
    }
  };
  const spawnOne = async (args: SpawnAgentArgs): Promise<{ text: string; ok: boolean }> => {
    const spawnAgent = req.tools?.spawnAgent;
    if (!spawnAgent) return { text: 'spawn_agent is not available to this run.', ok: false };
    spawning = true;
    try {
      return { text: await guarded(spawnAgent(args, { signal: stop.signal })), ok: true };
    } catch (err) {
      if (stop.signal.aborted) throw err;
      return { text: `spawn_agent failed: ${err instanceof Error ? err.message : String(err)}`, ok: false };
    } finally {
      spawning = false;
    }
  };

  try {
    if (scripted?.quota) reportQuota(req, scripted.quota);
    for (const step of scripted?.progress ?? []) {
      if ((step.after_ms ?? 0) > 0) {
        await delay(step.after_ms, undefined, { signal: stop.signal });
        watchdog.touch();
      }
      emitProgress(req, mockProgress(step));
    }
    // A closed gate is silence, as a delay is: the watchdog's limits still apply.
    if (scripted?.gate !== undefined) await gateOpened(mockGateDir(script.gate_dir), scripted.gate, stop.signal);
    const latency = scripted?.latency_ms ?? script.latency_ms ?? 0;
    if (latency > 0) await delay(latency, undefined, { signal: stop.signal });
    watchdog.touch();
    await checkpoint();

    if (scripted?.fail !== undefined) await failAsScripted(scripted, what, guarded);

    const history = req.session?.history ?? [];
    const userTurns = history.filter((m) => m.role === 'user');
    const vars: Record<string, string> = {
      agent: req.agentId,
      message: [req.prompt, ...steered].join('\n\n'),
      turn: String(req.session?.turn ?? userTurns.length + 1),
      previous: userTurns.at(-1)?.content ?? '',
    };

    // The actions, in order; the first that fails ends the run with its reason.
    const actions = parseMockActions(scripted?.actions, `reply "${scripted?.match ?? ''}"`);
    for (const [i, action] of actions.entries()) {
      const name = mockActionName(action);
      const id = `mock-action-${i + 1}`;
      emitProgress(req, { type: 'tool', name, input: actionInput(action), id, kind: ACTION_KINDS[name] });
      try {
        await runMockAction(action, {
          req,
          signal: stop.signal,
          render: (template) => renderTemplate(template, vars),
          holding: (on) => {
            holding = on;
          },
        });
      } catch (err) {
        emitProgress(req, { type: 'tool_result', name, id, ok: false });
        if (stop.signal.aborted) throw err;
        const reason = err instanceof Error ? err.message : String(err);
        throw new InvokeError('permanent', `${what}: action ${i + 1} (${name}) failed: ${reason}`, {
          ...(err instanceof InvokeError ? { code: err.code, ...(err.hint ? { hint: err.hint } : {}) } : {}),
          cause: err,
        });
      }
      emitProgress(req, { type: 'tool_result', name, id, ok: true });
      watchdog.touch();
    }

    const spawnResults: string[] = [];
    for (const [i, spawn] of (scripted?.spawn ?? []).entries()) {
      if (i > 0) await checkpoint();
      const args = { agent: spawn.agent, task: renderTemplate(spawn.task, vars), ...(spawn.session ? { session: spawn.session } : {}) };
      emitProgress(req, { type: 'tool', name: 'spawn_agent', input: args });
      const result = await spawnOne(args);
      emitProgress(req, { type: 'tool_result', name: 'spawn_agent', ok: result.ok });
      spawnResults.push(result.text);
      watchdog.touch();
    }
    vars.spawn_results = spawnResults.join('\n');
    if ((scripted?.spawn?.length ?? 0) > 0) {
      await checkpoint();
      vars.message = [req.prompt, ...steered].join('\n\n');
    }

    const text = renderTemplate(scripted?.reply ?? script.reply ?? DEFAULT_MOCK_REPLY, vars);
    emitProgress(req, { type: 'text', text });
    return mockResult(req, text, scripted?.usage ?? script.usage);
  } catch (err) {
    if (watchdog.expired) throw expiryError(watchdog.expired, limits, what);
    throw err;
  } finally {
    watchdog.dispose();
  }
}

/** The reply's rate-limit state, reported as a CLI streams its account's (Claude Code's rate_limit_event). */
function reportQuota(req: InvokeRequest, quota: MockQuotaSpec): void {
  req.onQuota?.({
    status: quota.status,
    ...(quota.resets_in_ms !== undefined ? { resetsAt: Date.now() + quota.resets_in_ms } : {}),
    ...(quota.limit !== undefined ? { limit: quota.limit } : {}),
    ...(quota.message !== undefined ? { message: quota.message } : {}),
  });
}

/** The reply's scripted failure: the process killed, a run that never ends (until the watchdog ends it), or an error of the kind named. */
async function failAsScripted(scripted: MockReplySpec, what: string, guarded: <T>(work: Promise<T>) => Promise<T>): Promise<void> {
  switch (scripted.fail) {
    case 'crash':
      process.kill(process.pid, 'SIGKILL');
      return await guarded(new Promise<never>(() => {}));
    case 'hang':
      return await guarded(new Promise<never>(() => {}));
    case 'retryable':
      throw new InvokeError('retryable', `${what}: scripted retryable failure.`);
    case 'permanent':
      throw new InvokeError('permanent', `${what}: scripted permanent failure.`);
    case 'rate_limited':
      throw new InvokeError('rate_limited', `${what}: scripted rate limit.`, { retryAfterMs: scripted.quota?.resets_in_ms ?? MOCK_RATE_LIMIT_RETRY_MS });
  }
}

/** The reply as a result: the scripted usage, or token estimates; the session resumed, or a new one. */
function mockResult(req: InvokeRequest, text: string, usage: MockUsageSpec | undefined): InvokeResult {
  const resumeId = req.session?.fresh ? undefined : (req.session?.resumeId ?? undefined);
  return {
    text,
    usage: {
      inputTokens: usage?.input_tokens ?? estimateTokens(req.systemPrompt + req.prompt),
      outputTokens: usage?.output_tokens ?? estimateTokens(text),
    },
    costUsd: usage?.cost_usd ?? 0,
    sessionId: resumeId ?? `mock-${randomUUID()}`,
  };
}

export function promptMatches(match: string, prompt: string): boolean {
  const regex = /^\/(.+)\/([a-z]*)$/s.exec(match);
  if (regex?.[1] !== undefined) {
    try {
      return new RegExp(regex[1], regex[2]).test(prompt);
    } catch {
      // not a valid regex after all: fall through to a literal match
    }
  }
  return prompt.toLowerCase().includes(match.toLowerCase());
}

export function renderTemplate(template: string, vars: Record<string, string>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name: string) => vars[name] ?? whole);
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export const mockRuntime: RuntimeImpl = {
  invoke: invokeMock,
  // Its block, agents.<id>.mock, is the script (the kind's settings: MockScriptSchema).
  target: ({ block, model }) => ({ model, mock: mockScript(block as MockScriptSpec | undefined) }),
};

/**
 * The script as it runs: `replies`, else its old name `rules` (deprecated, read forever; the
 * next settings write renames it: config/mock-replies.ts). The one reader of the old key.
 */
export function mockScript(block: (MockScriptSpec & { rules?: MockReplySpec[] }) | undefined): MockScriptSpec {
  if (block === undefined) return {};
  if (!Object.hasOwn(block, 'rules')) return block;
  const { rules, ...script } = block;
  return { ...script, replies: script.replies ?? rules };
}

const ACTION_KINDS = { write: 'file_edit', run: 'command', commit: 'command', update_task: 'mcp', ask_approval: 'other', remember: 'mcp' } as const;

/** An action's input as its tool event shows it. */
function actionInput(action: MockActionSpec): Record<string, unknown> {
  if ('write' in action) return { path: action.write.path };
  if ('run' in action) return { argv: action.run };
  if ('commit' in action) return { message: action.commit };
  if ('update_task' in action) return action.update_task;
  if ('remember' in action) return { kind: action.remember.kind, text: action.remember.text, ...(action.remember.scope ? { scope: action.remember.scope } : {}) };
  return { tool: action.ask_approval.tool, ...(action.ask_approval.input ? { input: action.ask_approval.input } : {}) };
}

/** The progress event of one scripted step (optional fields only when the script gives them). */
function mockProgress(step: MockProgressSpec): InvokeProgress {
  if ('tool' in step) {
    const { tool, input, id, kind, title } = step;
    return { type: 'tool', name: tool, ...(input ? { input } : {}), ...(id ? { id } : {}), ...(kind ? { kind } : {}), ...(title ? { title } : {}) };
  }
  if ('tool_result' in step) {
    const { tool_result: name, ok, id, output } = step;
    // `tool_result: ''`: a result that names only its call's id (as Claude Code's tool_result blocks do).
    return { type: 'tool_result', ...(name ? { name } : {}), ok: ok ?? true, ...(id ? { id } : {}), ...(output !== undefined ? { output } : {}) };
  }
  if ('plan' in step) return { type: 'plan', steps: step.plan.map((s) => ({ text: s.text, status: s.status })) };
  if ('usage' in step) {
    const { input_tokens, output_tokens, cache_read_tokens, model } = step.usage;
    return {
      type: 'usage',
      inputTokens: input_tokens,
      outputTokens: output_tokens,
      ...(cache_read_tokens !== undefined ? { cacheReadTokens: cache_read_tokens } : {}),
      ...(model ? { model } : {}),
    };
  }
  return 'text' in step ? { type: 'text', text: step.text } : { type: 'status', message: step.status };
}

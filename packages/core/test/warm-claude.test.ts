/**
 * The Claude Code warm driver (runtimes/claude-warm.ts) through invokeWarm and a session pool of
 * its own, against the fake CLI's stream-json mode (@tinyagi/test-kit bin/claude-stream.cjs,
 * checked against the real CLI: docs/sessions.md). Real subprocesses, real temp workspaces.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeCli, waitFor } from '@tinyagi/test-kit';
import { claudeWarmDriver } from '../src/invoker/runtimes/claude-warm.ts';
import { InvokeError, spendOf } from '../src/invoker/invoke-error.ts';
import { invokeWarm } from '../src/invoker/warm/invoke-warm.ts';
import { SessionPool } from '../src/invoker/warm/pool.ts';
import type { InvokeProgress, InvokeRequest, InvokeResult, InvokeSession, QuotaReport } from '../src/invoker/types.ts';
import { fakeLogEntries } from './fixtures/fake-cli-log.ts';

interface LogEntry {
  pid: number;
  mode?: string;
  argv?: string[];
  turn?: number;
  prompt?: string;
  context?: string;
}

let root: string;
let workspace: string;
let logFile: string;
let pool: SessionPool;
let events: InvokeProgress[];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tinyagi-warm-claude-'));
  workspace = mkdtempSync(join(root, 'ws-'));
  logFile = join(root, 'fake.log');
  pool = new SessionPool({ maxTotal: 4, maxPerAgent: 4, idleMs: 60_000 });
  events = [];
});
afterEach(async () => {
  await pool.closeAll('test over');
  rmSync(root, { recursive: true, force: true });
});

function request(prompt: string, extra: Partial<InvokeRequest> = {}): InvokeRequest {
  return {
    agentId: 'coder',
    target: { runtime: 'claude-code', provider: 'test', command: fakeCli('claude'), env: { ANTHROPIC_API_KEY: 'sk-from-target' }, warm: true, killGraceMs: 3_000 },
    prompt,
    systemPrompt: 'You are the coder of team alpha.',
    cwd: workspace,
    env: { FAKE_LOG: logFile, FAKE_STATE_DIR: root, TINYAGI_RUN_ID: 'run_1' },
    onEvent: (e) => events.push(e),
    ...extra,
  };
}

/** The session after a result, as the orchestrator stores it. */
function next(result: InvokeResult, key = 'shared'): InvokeSession {
  return { key, resumeId: result.sessionId ?? null, ...(result.runtimeState ? { runtimeState: result.runtimeState } : {}) };
}

const starts = (): LogEntry[] => fakeLogEntries<LogEntry>(logFile).filter((e) => e.mode === 'stream-json' && e.turn === undefined);
const turns = (): LogEntry[] => fakeLogEntries<LogEntry>(logFile).filter((e) => e.mode === 'stream-json' && e.turn !== undefined);

async function failure(promise: Promise<unknown>): Promise<InvokeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof InvokeError) return err;
    throw err;
  }
  throw new Error('expected the turn to fail');
}

/** Operator input handed to the running turn the way the orchestrator does (onSteer wakes, takeInput gives). */
function steering(): { extra: Partial<InvokeRequest>; send: (text: string) => void } {
  const waiting: string[] = [];
  let wake: (() => void) | undefined;
  return {
    extra: {
      onSteer: (listener) => {
        wake = listener;
        return () => {
          wake = undefined;
        };
      },
      takeInput: () => waiting.shift(),
    },
    send: (text) => {
      waiting.push(text);
      wake?.();
    },
  };
}

describe('Claude Code warm driver', () => {
  it('runs many turns on one warm process, each with its own usage and cost', async () => {
    const first = await invokeWarm(claudeWarmDriver, request('hello', { session: { key: 'shared' } }), pool);
    expect(first.text).toBe('fake-claude turn 1: hello');
    expect(first.usage).toEqual({ inputTokens: 120, outputTokens: 42 });
    expect(first.costUsd).toBeCloseTo(0.0123, 6);
    let session = next(first);
    for (let turn = 2; turn <= 4; turn++) {
      const result = await invokeWarm(claudeWarmDriver, request(`message ${turn}`, { session }), pool);
      expect(result.text).toBe(`fake-claude turn ${turn}: message ${turn}`);
      // Each turn's own calls, not the session's running total.
      expect(result.usage).toEqual({ inputTokens: 120, outputTokens: 42 });
      expect(result.costUsd).toBeCloseTo(0.0123, 6);
      expect(result.sessionId).toBe(first.sessionId);
      session = next(result);
    }
    expect(starts()).toHaveLength(1);
    expect(new Set(turns().map((t) => t.pid)).size).toBe(1);
    const argv = starts()[0]?.argv ?? [];
    expect(argv).toEqual(expect.arrayContaining(['--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions']));
    expect(argv[argv.indexOf('--session-id') + 1]).toBe(first.sessionId);
    expect(argv.join(' ')).not.toContain('team alpha');
    expect(events.filter((e) => e.type === 'usage')).toHaveLength(4);
    expect(events).toContainEqual({ type: 'status', message: expect.stringContaining('turn 2 on this process') });
  });

  it('streams tool calls with their kind, title and result, the TodoWrite plan and the rate-limit state', async () => {
    const quotas: QuotaReport[] = [];
    const result = await invokeWarm(claudeWarmDriver, request('FAKE:todo FAKE:tool FAKE:rate-limit go', { onQuota: (q) => quotas.push(q) }), pool);
    expect(result.text).toBe('fake-claude turn 1: FAKE:todo FAKE:tool FAKE:rate-limit go');
    const bash = events.find((e) => e.type === 'tool' && e.name === 'Bash');
    expect(bash).toMatchObject({ type: 'tool', name: 'Bash', kind: 'command', title: 'ls', id: expect.stringMatching(/^toolu_/) });
    const id = bash?.type === 'tool' ? bash.id : undefined;
    expect(events).toContainEqual({ type: 'tool_result', name: 'Bash', ok: true, id, output: 'notes.md' });
    expect(events).toContainEqual({
      type: 'plan',
      steps: [
        { text: 'Read the code', status: 'completed' },
        { text: 'Fix the bug', status: 'in_progress' },
      ],
    });
    expect(quotas).toEqual([{ status: 'warning', resetsAt: 1_900_000_000_000, limit: 'five_hour', utilization: 0.91, message: 'Claude Code rate limit five_hour allowed_warning' }]);
    // Three model calls (TodoWrite, Bash, the answer): usage of each as it streamed, the turn's total from the result.
    expect(events.filter((e) => e.type === 'usage')).toHaveLength(3);
    expect(result.usage).toEqual({ inputTokens: 360, outputTokens: 126 });
  });

  it("Claude Code 2.1's task list (TaskCreate, TaskUpdate) is the run's plan, kept across the session's turns", async () => {
    const first = await invokeWarm(claudeWarmDriver, request('FAKE:tasks plan it', { session: { key: 'shared' } }), pool);
    const plans = events.filter((e) => e.type === 'plan');
    expect(plans.at(-1)).toEqual({
      type: 'plan',
      steps: [
        { text: 'Write the test', status: 'completed' },
        { text: 'Make it pass', status: 'pending' },
      ],
    });
    expect(plans).toHaveLength(3);
    expect(events).toContainEqual(expect.objectContaining({ type: 'tool', name: 'TaskCreate', kind: 'other' }));
    // The next turn updates one task: the plan it shows is the session's whole list.
    await invokeWarm(claudeWarmDriver, request('FAKE:task-done=2 finish', { session: next(first) }), pool);
    expect(events.filter((e) => e.type === 'plan').at(-1)).toEqual({
      type: 'plan',
      steps: [
        { text: 'Write the test', status: 'completed' },
        { text: 'Make it pass', status: 'completed' },
      ],
    });
  });

  it('steers operator input into the running turn: folded in after a tool call, one result', async () => {
    const steer = steering();
    const run = invokeWarm(claudeWarmDriver, request('FAKE:tool-ms=1500 work on it', steer.extra), pool);
    await waitFor(() => events.some((e) => e.type === 'tool'), 20_000, 'the tool call');
    steer.send('also check the tests');
    const result = await run;
    expect(result.text).toBe('fake-claude turn 1: FAKE:tool-ms=1500 work on it [steered: also check the tests]');
    expect(turns()).toHaveLength(1);
  });

  it('a message steered in while the last model call runs gets its own answer, in the same turn', async () => {
    const steer = steering();
    const run = invokeWarm(claudeWarmDriver, request('FAKE:reply-ms=1500 think', steer.extra), pool);
    await waitFor(() => turns().length === 1, 20_000, 'the turn to start');
    steer.send('and then stop');
    const result = await run;
    expect(result.text).toBe('fake-claude turn 1: FAKE:reply-ms=1500 think\n\nfake-claude turn 2: and then stop');
    // Both CLI turns' calls are this run's.
    expect(result.usage).toEqual({ inputTokens: 240, outputTokens: 84 });
    expect(result.costUsd).toBeCloseTo(0.0246, 6);
  });

  it('a cancel interrupts the turn and keeps the process warm for the next one', async () => {
    const abort = new AbortController();
    const run = invokeWarm(claudeWarmDriver, request('FAKE:hang forever', { session: { key: 'shared' }, signal: abort.signal }), pool);
    await waitFor(() => turns().length === 1, 20_000, 'the turn to start');
    abort.abort();
    const err = await failure(run);
    expect(err.kind).toBe('cancelled');
    const sessionId = starts()[0]?.argv?.[(starts()[0]?.argv ?? []).indexOf('--session-id') + 1];
    const after = await invokeWarm(claudeWarmDriver, request('still there?', { session: { key: 'shared', resumeId: sessionId ?? null } }), pool);
    expect(after.text).toBe('fake-claude turn 3: still there?');
    expect(starts()).toHaveLength(1);
  });

  it('a result the CLI streams for a turn of its own never settles the next turn (run epochs)', async () => {
    const first = await invokeWarm(claudeWarmDriver, request('FAKE:wakeup-ms=300 first', { session: { key: 'shared' } }), pool);
    expect(first.text).toBe('fake-claude turn 1: FAKE:wakeup-ms=300 first');
    const second = await invokeWarm(claudeWarmDriver, request('FAKE:reply-ms=1500 second', { session: next(first) }), pool);
    expect(second.text).toBe('fake-claude turn 2: FAKE:reply-ms=1500 second');
    expect(events.filter((e) => e.type === 'text').map((e) => (e.type === 'text' ? e.text : ''))).not.toContain('wakeup');
  });

  it('a process that dies mid-turn fails the run as retryable with what it spent; the retry resumes from before the half turn', async () => {
    const first = await invokeWarm(claudeWarmDriver, request('hello', { session: { key: 'shared' } }), pool);
    const run = invokeWarm(claudeWarmDriver, request('FAKE:step-then-hang then die', { session: next(first) }), pool);
    await waitFor(() => events.filter((e) => e.type === 'usage').length === 2, 20_000, 'the second model call');
    process.kill(turns()[1]?.pid ?? 0, 'SIGKILL');
    const err = await failure(run);
    expect(err.kind).toBe('retryable');
    expect(err.message).toContain('signal SIGKILL');
    expect(spendOf(err)?.usage).toEqual({ inputTokens: 100, outputTokens: 1 });

    const retry = await invokeWarm(claudeWarmDriver, request('again', { session: { ...next(first), retry: true } }), pool);
    // The failed attempt's message is left on a side branch: this is the session's second turn.
    expect(retry.text).toBe('fake-claude turn 2: again');
    expect(retry.sessionId).toBe(first.sessionId);
    const argv = starts()[1]?.argv ?? [];
    expect(argv[argv.indexOf('--resume') + 1]).toBe(first.sessionId);
    expect(argv[argv.indexOf('--resume-session-at') + 1]).toBe(JSON.parse(first.runtimeState ?? '{}').at);
  });

  it('a resume point Claude Code cannot find (a killed warm process never wrote it) starts a new session with the transcript, the message once', async () => {
    const first = await invokeWarm(claudeWarmDriver, request('remember 42', { session: { key: 'shared' } }), pool);
    await pool.closeAll('killed');
    const history = [
      { role: 'user' as const, content: 'remember 42' },
      { role: 'assistant' as const, content: first.text },
    ];
    const lost = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    const session = { ...next(first), history, runtimeState: JSON.stringify({ at: lost }), retry: true };
    const retry = await invokeWarm(claudeWarmDriver, request('what was it?', { session }), pool);
    // The new session's first turn, the earlier conversation given as its transcript.
    expect(retry.text).toMatch(/^fake-claude turn 1: <earlier_conversation>[\s\S]*what was it\?$/);
    expect(retry.sessionId).not.toBe(first.sessionId);
    const argv = starts().at(-1)?.argv ?? [];
    expect(argv).toContain('--session-id');
    expect(argv).not.toContain('--resume-session-at');
    const context = turns().at(-1)?.context ?? '';
    expect(context.split('what was it?')).toHaveLength(2);
    expect(context.split(first.text)).toHaveLength(2);
    // The next message resumes the new session where its turn ended.
    const after = await invokeWarm(claudeWarmDriver, request('and now?', { session: next(retry) }), new SessionPool());
    expect(after.sessionId).toBe(retry.sessionId);
  });

  it('a new pool (a daemon restart) resumes the stored session in a new process', async () => {
    const first = await invokeWarm(claudeWarmDriver, request('remember 42', { session: { key: 'shared' } }), pool);
    await pool.closeAll('restart');
    const second = await invokeWarm(claudeWarmDriver, request('what was it?', { session: next(first) }), new SessionPool());
    expect(second.text).toBe('fake-claude turn 2: what was it?');
    expect(starts()).toHaveLength(2);
    expect(turns()[1]?.context).toContain('remember 42');
  });

  it('a resume of a session the CLI does not know fails as retryable with its message', async () => {
    const err = await failure(invokeWarm(claudeWarmDriver, request('hello', { session: { key: 'shared', resumeId: '3f0c5b7e-1111-4111-8111-111111111111' } }), pool));
    expect(err.kind).toBe('retryable');
    expect(err.message).toContain('No conversation found with session ID');
  });

  it('pauses before a tool call and steers the operator input given at the checkpoint', async () => {
    let asked = 0;
    const checkpoint = async (): Promise<string | undefined> => {
      asked++;
      await new Promise((r) => setTimeout(r, 300));
      return asked === 1 ? 'use the staging config' : undefined;
    };
    const result = await invokeWarm(claudeWarmDriver, request('FAKE:tool deploy', { checkpoint }), pool);
    expect(asked).toBe(1);
    expect(result.text).toBe('fake-claude turn 1: FAKE:tool deploy [steered: use the staging config]');
  });

  it('a pause longer than the inactivity limit is a hold, not a stall', async () => {
    const checkpoint = (): Promise<undefined> => new Promise((r) => setTimeout(() => r(undefined), 5_000));
    const result = await invokeWarm(claudeWarmDriver, request('FAKE:tool held', { checkpoint, inactivityMs: 2_500 }), pool);
    expect(result.text).toBe('fake-claude turn 1: FAKE:tool held');
  });

  it('a tool call the permission mode does not allow is denied with a message (nobody is there to approve it)', async () => {
    const req = request('FAKE:edit write notes');
    const result = await invokeWarm(claudeWarmDriver, { ...req, target: { ...req.target, permissionMode: 'default' } }, pool);
    expect(result.text).toBe('fake-claude turn 1: FAKE:edit write notes');
    const argv = starts()[0]?.argv ?? [];
    expect(argv).toEqual(expect.arrayContaining(['--permission-mode', 'default', '--permission-prompt-tool', 'stdio']));
    expect(events).toContainEqual(expect.objectContaining({ type: 'tool', name: 'Write', kind: 'file_edit', title: 'notes.md' }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'tool_result', name: 'Write', ok: false, output: expect.stringContaining('needs an approval') }));
  });

  it("permission requests go to the run's approval step (permission_mode ask is Claude Code's default mode with the prompt tool)", async () => {
    const asked: unknown[] = [];
    const req = request('FAKE:edit write notes', {
      askApproval: async (ask) => {
        asked.push(ask);
        return { allow: true, decidedBy: 'person' };
      },
    });
    await invokeWarm(claudeWarmDriver, { ...req, target: { ...req.target, permissionMode: 'ask' } }, pool);
    expect(asked).toEqual([{ tool: 'Write', input: { file_path: 'notes.md', content: 'hello' } }]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'tool_result', name: 'Write', ok: true, output: 'File created successfully at: notes.md' }));
    const argv = starts()[0]?.argv ?? [];
    expect(argv).toEqual(expect.arrayContaining(['--permission-mode', 'default', '--permission-prompt-tool', 'stdio']));

    const denied = request('FAKE:edit write notes again', { session: { key: 'other' }, askApproval: async () => ({ allow: false, reason: 'denied by the person: not now', decidedBy: 'person' }) });
    await invokeWarm(claudeWarmDriver, { ...denied, target: { ...denied.target, permissionMode: 'ask' } }, pool);
    expect(events).toContainEqual(expect.objectContaining({ type: 'tool_result', name: 'Write', ok: false, output: 'denied by the person: not now' }));
  });

  it('the fingerprint binds a process to its model, permission mode, environment and system prompt', () => {
    const base = request('x');
    const fp = claudeWarmDriver.fingerprint(base);
    expect(claudeWarmDriver.fingerprint(request('another message'))).toBe(fp);
    expect(claudeWarmDriver.fingerprint({ ...base, env: { ...base.env, TINYAGI_RUN_ID: 'run_2' } })).toBe(fp);
    // What names the run (its trace context, the CLI telemetry's resource attributes) does not restart the process.
    const telemetry = (run: string) => ({ TRACEPARENT: `00-${'a'.repeat(32)}-${run.repeat(16).slice(0, 16)}-01`, OTEL_RESOURCE_ATTRIBUTES: `tinyagi.run.id=run_${run}` });
    const withTelemetry = claudeWarmDriver.fingerprint({ ...base, env: { ...base.env, ...telemetry('1') } });
    expect(claudeWarmDriver.fingerprint({ ...base, env: { ...base.env, ...telemetry('2'), TINYAGI_RUN_ID: 'run_2' } })).toBe(withTelemetry);
    expect(claudeWarmDriver.fingerprint({ ...base, env: { ...base.env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' } })).not.toBe(fp);
    expect(claudeWarmDriver.fingerprint({ ...base, systemPrompt: 'You are the reviewer.' })).not.toBe(fp);
    expect(claudeWarmDriver.fingerprint({ ...base, target: { ...base.target, model: 'claude-opus-4-6' } })).not.toBe(fp);
    expect(claudeWarmDriver.fingerprint({ ...base, target: { ...base.target, permissionMode: 'acceptEdits' } })).not.toBe(fp);
    expect(claudeWarmDriver.fingerprint({ ...base, target: { ...base.target, env: { ANTHROPIC_API_KEY: 'sk-other' } } })).not.toBe(fp);
  });
});

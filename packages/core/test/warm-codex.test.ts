/**
 * The Codex warm driver (runtimes/codex-warm.ts) against test-kit's fake `codex app-server`
 * (bin/codex, written from the 0.169 schema and checked against the real app-server): real
 * subprocesses through the real session pool and invokeWarm. Turns on one warm pid, usage per
 * model call, tool/plan/quota events, steering into the running turn, interrupt keeping the
 * process, a stale completion of an interrupted turn dropped, a crash mid-turn failing with what
 * it spent, resume after a restart, a retry forked from before the failed half turn.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeCli, waitFor } from '@tinyagi/test-kit';
import { fakeLogEntries } from './fixtures/fake-cli-log.ts';
import { answerServerRequest, codexWarmDriver, codexQuotaReport, turnFailure } from '../src/invoker/runtimes/codex-warm.ts';
import { codexRuntime } from '../src/invoker/runtimes/codex.ts';
import { InvokeError, spendOf } from '../src/invoker/invoke-error.ts';
import { invokeWarm } from '../src/invoker/warm/invoke-warm.ts';
import { SessionPool } from '../src/invoker/warm/pool.ts';
import type { InvokeProgress, InvokeRequest, InvokeResult, InvokeSession, QuotaReport } from '../src/invoker/types.ts';

const SYSTEM_PROMPT = 'You are the coder of team alpha.\nUse [@agent: message] to hand work over.';

interface LogEntry {
  pid: number;
  mode?: string;
  event?: string;
  prompt?: string;
  steer?: string;
  threadId?: string;
  turnId?: string;
  developerInstructions?: string | null;
  context?: string;
}

let root: string;
let workspace: string;
let logFile: string;
let events: InvokeProgress[];
let quotas: QuotaReport[];
let pool: SessionPool;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tinyagi-warm-codex-'));
  workspace = mkdtempSync(join(root, 'ws-'));
  logFile = join(root, 'fake.log');
  events = [];
  quotas = [];
  pool = new SessionPool({ memoryShare: 1 });
});
afterEach(async () => {
  await pool.closeAll();
  rmSync(root, { recursive: true, force: true });
});

const log = (): LogEntry[] => fakeLogEntries<LogEntry>(logFile).filter((e) => e.mode === 'app-server');
const turnsLogged = (): LogEntry[] => log().filter((e) => e.prompt !== undefined);
const starts = (): number[] => log().flatMap((e) => (e.event === 'start' ? [e.pid] : []));

function request(prompt: string, extra: Partial<InvokeRequest> = {}): InvokeRequest {
  return {
    agentId: 'coder',
    target: { runtime: 'codex', provider: 'test', command: fakeCli('codex'), warm: true, killGraceMs: 2_000 },
    prompt,
    systemPrompt: SYSTEM_PROMPT,
    cwd: workspace,
    env: { FAKE_LOG: logFile, FAKE_STATE_DIR: root, TINYAGI_RUN_ID: 'run_1' },
    onEvent: (e) => events.push(e),
    onQuota: (q) => quotas.push(q),
    ...extra,
  };
}

/** The session the orchestrator would pass for the next turn after `result`. */
function nextSession(result: InvokeResult, more: Partial<InvokeSession> = {}): InvokeSession {
  return { key: 'shared', resumeId: result.sessionId, instructionsHash: result.instructionsHash, runtimeState: result.runtimeState, ...more };
}

async function failure(promise: Promise<unknown>): Promise<InvokeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof InvokeError) return err;
    throw err;
  }
  throw new Error('expected the turn to fail');
}

describe('codex warm driver', () => {
  it('runs turns on one warm app-server: one thread, usage per model call, instructions given once at thread start', async () => {
    const first = await invokeWarm(codexWarmDriver, request('hello', { session: { key: 'shared' } }), pool);
    expect(first.text).toBe('fake-codex turn 1: hello');
    expect(first.usage).toEqual({ inputTokens: 200, outputTokens: 30 });
    expect(events.filter((e) => e.type === 'usage')).toEqual([{ type: 'usage', inputTokens: 200, outputTokens: 30, cacheReadTokens: 50 }]);
    const second = await invokeWarm(codexWarmDriver, request('FAKE:tool again', { session: nextSession(first) }), pool);
    const third = await invokeWarm(codexWarmDriver, request('third', { session: nextSession(second) }), pool);
    expect(third.text).toBe('fake-codex turn 3: third');
    // FAKE:tool makes two model calls: the turn's usage is both, each reported on its own.
    expect(second.usage).toEqual({ inputTokens: 400, outputTokens: 60 });
    expect(events.filter((e) => e.type === 'usage')).toHaveLength(4);
    expect(new Set([first.sessionId, second.sessionId, third.sessionId]).size).toBe(1);
    expect(starts()).toHaveLength(1);
    const turns = turnsLogged();
    expect(new Set(turns.map((t) => t.pid)).size).toBe(1);
    // The system prompt is the thread's developer instructions, never repeated in a message.
    expect(turns.every((t) => t.developerInstructions === SYSTEM_PROMPT && !t.prompt!.includes('tinyagi_instructions'))).toBe(true);
    expect(turns.at(-1)!.context!.split('You are the coder of team alpha.').length - 1).toBe(1);
    expect(JSON.parse(third.runtimeState!)).toMatchObject({ thread: third.sessionId, inputTokens: 800, outputTokens: 120, lastTurn: turns.at(-1)!.turnId });
  });

  it('streams tool calls with id, kind and title, results with output, file edits, plan updates and rate limits', async () => {
    await invokeWarm(codexWarmDriver, request('FAKE:tool FAKE:edit FAKE:plan FAKE:quota look around'), pool);
    expect(events).toContainEqual({ type: 'tool', name: 'shell', input: { command: "/bin/bash -c 'ls'" }, id: 'call_ls', kind: 'command', title: "/bin/bash -c 'ls'" });
    expect(events).toContainEqual({ type: 'tool_result', name: 'shell', ok: true, id: 'call_ls', output: 'notes.md\n' });
    const edit = events.find((e) => e.type === 'tool' && e.kind === 'file_edit');
    expect(edit).toMatchObject({ id: 'call_edit', title: join(workspace, 'notes.md') });
    expect(events.filter((e) => e.type === 'tool' && e.id === 'call_ls')).toHaveLength(1);
    expect(events).toContainEqual({
      type: 'plan',
      steps: [
        { text: 'Read the files', status: 'completed' },
        { text: 'Write the answer', status: 'in_progress' },
        { text: 'Check it', status: 'pending' },
      ],
    });
    expect(quotas.length).toBeGreaterThan(0);
    expect(quotas[0]).toMatchObject({ status: 'warning', utilization: 0.85, limit: 'codex primary' });
    expect(quotas[0]!.resetsAt).toBeGreaterThan(Date.now());
  });

  it('steers operator input into the running turn (turn/steer): the same turn answers it', async () => {
    let wake = (): void => {};
    let pending: string | undefined = 'also check the tests';
    const result = invokeWarm(
      codexWarmDriver,
      request('FAKE:wait-steer work on it', {
        onSteer: (w) => {
          wake = w;
          return () => {};
        },
        takeInput: () => {
          const text = pending;
          pending = undefined;
          return text;
        },
      }),
      pool,
    );
    await waitFor(() => events.some((e) => e.type === 'tool' && e.id === 'call_wait'), 20_000, 'the long tool call');
    wake();
    const done = await result;
    expect(done.text).toBe('steered: also check the tests');
    expect(
      log()
        .filter((e) => e.steer !== undefined)
        .map((e) => e.steer),
    ).toEqual(['also check the tests']);
    expect(turnsLogged()).toHaveLength(1);
  });

  it('cancel interrupts the turn (turn/interrupt) and keeps the process warm; a stale completion of the interrupted turn never settles the next', async () => {
    const warm = await invokeWarm(codexWarmDriver, request('warm up', { session: { key: 'shared' } }), pool);
    const controller = new AbortController();
    const first = invokeWarm(codexWarmDriver, request('FAKE:hang FAKE:stale-after-interrupt wait', { signal: controller.signal, session: nextSession(warm) }), pool);
    await waitFor(() => turnsLogged().length === 2, 20_000, 'the turn to start');
    controller.abort();
    const err = await failure(first);
    expect(err.kind).toBe('cancelled');
    // codex repeats the thread's last usage when it interrupts: not a call of the cancelled turn.
    expect(spendOf(err)?.usage).toBeUndefined();
    expect(events.filter((e) => e.type === 'usage')).toHaveLength(1);
    const threadId = turnsLogged()[0]!.threadId;
    // The fake sends the interrupted turn's late reply and completion as the next turn starts.
    const next = await invokeWarm(codexWarmDriver, request('after the cancel', { session: { key: 'shared', resumeId: threadId } }), pool);
    expect(next.text).toBe('fake-codex turn 3: after the cancel');
    expect(next.text).not.toContain('STALE');
    expect(events.some((e) => e.type === 'text' && e.text.includes('STALE'))).toBe(false);
    expect(starts()).toHaveLength(1);
    expect(new Set(turnsLogged().map((t) => t.pid)).size).toBe(1);
  });

  it('steer and interrupt sent before codex has started the turn wait for it (codex refuses both until turn/started)', async () => {
    const req = request('FAKE:wait-steer work');
    const session = await codexWarmDriver.start({
      req,
      resumeId: undefined,
      what: 'codex (test)',
      onActivity: () => {},
      // The fake answers turn/start 300 ms before the turn is active, as the real one answers before it.
      env: { PATH: process.env.PATH ?? '', FAKE_LOG: logFile, FAKE_STATE_DIR: root, FAKE_TURN_START_MS: '300' },
    });
    try {
      const liveTurn = { req, emit: (e: InvokeProgress) => events.push(e), activity: () => {}, quota: () => {}, checkpoint: async () => undefined };
      const steered = session.turn({ ...liveTurn, prompt: 'FAKE:wait-steer work' });
      expect(await session.steer('right away')).toBe(true);
      expect((await steered).text).toBe('steered: right away');
      const interrupted = session.turn({ ...liveTurn, prompt: 'FAKE:hang wait' });
      expect(await session.interrupt()).toBe(true);
      expect((await failure(interrupted)).kind).toBe('cancelled');
      expect((await session.turn({ ...liveTurn, prompt: 'still here' })).text).toBe('fake-codex turn 4: still here');
    } finally {
      await session.close('test over');
    }
  });

  it('a process that dies mid-turn fails the run as retryable with what it spent; the retry forks from before the failed half turn', async () => {
    const first = await invokeWarm(codexWarmDriver, request('remember pelican', { session: { key: 'shared' } }), pool);
    const turn = invokeWarm(codexWarmDriver, request('FAKE:step-then-hang second', { session: nextSession(first) }), pool);
    await waitFor(() => events.filter((e) => e.type === 'usage').length === 2, 20_000, 'the first model call of the turn');
    process.kill(turnsLogged()[0]!.pid, 'SIGKILL');
    const err = await failure(turn);
    expect(err.kind).toBe('retryable');
    expect(spendOf(err)?.usage).toEqual({ inputTokens: 200, outputTokens: 30 });
    // The retry: a new process, a fork of the thread through the last completed turn.
    const retry = await invokeWarm(codexWarmDriver, request('second, again', { session: nextSession(first, { retry: true }) }), pool);
    expect(retry.sessionId).not.toBe(first.sessionId);
    expect(starts()).toHaveLength(2);
    const context = turnsLogged().at(-1)!.context!;
    expect(context).toContain('remember pelican');
    expect(context).not.toContain('FAKE:step-then-hang second');
    expect(context.split('You are the coder of team alpha.').length - 1).toBe(1);
    expect(retry.instructionsHash).toBe(first.instructionsHash);
  });

  it('resumes the thread in a new process after a restart; changed instructions are sent again in-band', async () => {
    const first = await invokeWarm(codexWarmDriver, request('remember pelican', { session: { key: 'shared' } }), pool);
    await pool.closeAll();
    pool = new SessionPool({ memoryShare: 1 });
    const second = await invokeWarm(codexWarmDriver, request('which word?', { session: nextSession(first) }), pool);
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.text).toBe('fake-codex turn 2: which word?');
    expect(starts()).toHaveLength(2);
    // The usage repeated for the last turn on thread/resume is not this turn's.
    expect(second.usage).toEqual({ inputTokens: 200, outputTokens: 30 });
    expect(turnsLogged().at(-1)!.prompt).toBe('which word?');
    const edited = await invokeWarm(codexWarmDriver, request('FAKE:echo-system who are you?', { systemPrompt: 'You are the reviewer now.', session: nextSession(second) }), pool);
    expect(edited.text).toBe('You are the reviewer now.');
    expect(turnsLogged().at(-1)!.prompt).toContain('<tinyagi_instructions updated="true">');
    expect(edited.instructionsHash).not.toBe(second.instructionsHash);
    const after = await invokeWarm(codexWarmDriver, request('and now?', { systemPrompt: 'You are the reviewer now.', session: nextSession(edited) }), pool);
    expect(after.text).toBe('fake-codex turn 4: and now?');
    expect(turnsLogged().at(-1)!.prompt).toBe('and now?');
  });

  it('a new thread in a conversation with earlier turns gets the transcript once', async () => {
    const session: InvokeSession = {
      key: 'shared',
      history: [
        { role: 'user', content: 'earlier question' },
        { role: 'assistant', content: 'earlier answer' },
      ],
    };
    await invokeWarm(codexWarmDriver, request('next question', { session }), pool);
    expect(turnsLogged()[0]!.prompt).toContain('<earlier_conversation>');
    expect(turnsLogged()[0]!.prompt).toContain('earlier answer');
  });

  it('a failed turn (429) fails as rate limited with its message', async () => {
    const err = await failure(invokeWarm(codexWarmDriver, request('FAKE:429 hi'), pool));
    expect(err.kind).toBe('rate_limited');
    expect(err.message).toContain('429 Too Many Requests');
    expect(err.retryAfterMs).toBe(2_000);
    // codex's own retries are status lines, not the failure.
    expect(events).toContainEqual({ type: 'status', message: 'Reconnecting... 1/5' });
  });

  it("classifies a failed turn by codex's error code", () => {
    expect(turnFailure('m', 'm', 'usageLimitExceeded').kind).toBe('rate_limited');
    expect(turnFailure('m', 'm', { responseStreamDisconnected: { httpStatusCode: 429 } }).kind).toBe('rate_limited');
    expect(turnFailure('m', 'm', 'unauthorized').kind).toBe('permanent');
    expect(turnFailure('m', 'stream broke', { responseStreamDisconnected: { httpStatusCode: 502 } }).kind).toBe('retryable');
  });

  it("answers the server's approval requests by the agent's settings (accept, as the bypass does)", async () => {
    const result = await invokeWarm(codexWarmDriver, request('FAKE:ask-approval delete the build'), pool);
    expect(result.text).toBe('approval: "accept"');
    expect(answerServerRequest('item/fileChange/requestApproval', {})).toEqual({ decision: 'accept' });
    expect(() => answerServerRequest('attestation/generate', {})).toThrow(/does not answer/);
  });

  it('permission_mode ask: the thread runs untrusted in the workspace sandbox and each approval request goes to askApproval (a denial declines, its reason steered into the turn)', async () => {
    const asked: unknown[] = [];
    const target = { runtime: 'codex', provider: 'test', command: fakeCli('codex'), warm: true, killGraceMs: 2_000, permissionMode: 'ask' };
    const denied = await invokeWarm(
      codexWarmDriver,
      request('FAKE:ask-approval delete the build', {
        target,
        askApproval: async (ask) => {
          asked.push(ask);
          return { allow: false, reason: 'not today', decidedBy: 'test' };
        },
      }),
      pool,
    );
    // The answer carries no reason: it is steered into the turn before the decline.
    expect(denied.text).toBe('approval: "decline" | steered: TinyAGI: the command `rm -rf build` was not run, not today.');
    // The shell-joined command as its words (codexCommandArgv), shown as codex showed it.
    expect(asked).toEqual([{ tool: 'commandExecution', input: expect.objectContaining({ command: ['rm', '-rf', 'build'], cwd: workspace }), summary: 'commandExecution: rm -rf build' }]);
    const allowed = await invokeWarm(codexWarmDriver, request('FAKE:ask-approval delete the build', { target, askApproval: async () => ({ allow: true, decidedBy: 'test' }) }), pool);
    expect(allowed.text).toBe('approval: "accept"');
    expect(codexWarmDriver.fingerprint(request('x', { target }))).not.toBe(codexWarmDriver.fingerprint(request('x')));
  });

  it("permission_mode ask: codex's approval of an MCP tool call goes to askApproval as mcp__<server>__<tool> (allowed: accepted; denied: declined); without an approval step it is accepted", async () => {
    const asked: unknown[] = [];
    const target = { runtime: 'codex', provider: 'test', command: fakeCli('codex'), warm: true, killGraceMs: 2_000, permissionMode: 'ask' };
    const allowed = await invokeWarm(
      codexWarmDriver,
      request('FAKE:ask-mcp=tinyagi/call_agent ask beta', {
        target,
        askApproval: async (ask) => {
          asked.push(ask);
          return { allow: true, decidedBy: 'mode' };
        },
      }),
      pool,
    );
    expect(allowed.text).toBe('mcp tinyagi/call_agent: accept');
    expect(asked).toEqual([{ tool: 'mcp__tinyagi__call_agent', input: { task: 'fake' } }]);
    const denied = await invokeWarm(codexWarmDriver, request('FAKE:ask-mcp=weather/weather_report', { target, askApproval: async () => ({ allow: false, reason: 'no', decidedBy: 'test' }) }), pool);
    expect(denied.text).toBe('mcp weather/weather_report: user rejected MCP tool call | steered: TinyAGI: the tool call mcp__weather__weather_report was not run, no.');
    expect(answerServerRequest('mcpServer/elicitation/request', { serverName: 'weather', _meta: { codex_approval_kind: 'mcp_tool_call', tool_name: 'weather_report' } })).toMatchObject({
      action: 'accept',
    });
    expect(answerServerRequest('mcpServer/elicitation/request', { serverName: 'weather', mode: 'form', message: 'Your name?' })).toMatchObject({ action: 'decline' });
  });

  it('reads rate-limit snapshots as quota reports', () => {
    expect(codexQuotaReport({ limitId: 'codex', primary: null, secondary: null, rateLimitReachedType: null })).toBeUndefined();
    expect(
      codexQuotaReport({ limitId: 'codex', primary: { usedPercent: 100, resetsAt: 1_800_000_000 }, secondary: { usedPercent: 20, resetsAt: 1 }, rateLimitReachedType: 'rate_limit_reached' }),
    ).toEqual({
      status: 'exhausted',
      resetsAt: 1_800_000_000_000,
      limit: 'codex primary',
      utilization: 1,
      message: 'rate limit reached',
    });
  });
});

describe('codex per-message run (exec --json) shares the item parsing', () => {
  it('tool calls carry id, kind and title; results their id and output', async () => {
    await codexRuntime.invoke({ ...request('FAKE:tool list'), target: { runtime: 'codex', provider: 'test', command: fakeCli('codex') } });
    expect(events).toContainEqual({ type: 'tool', name: 'shell', input: { command: "bash -lc 'ls'" }, id: 'item_1', kind: 'command', title: "bash -lc 'ls'" });
    expect(events).toContainEqual({ type: 'tool_result', name: 'shell', ok: true, id: 'item_1', output: 'notes.md\n' });
  });
});

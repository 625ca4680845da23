/**
 * invokeWarm on real warm processes (test-kit's bin/fake-warm and its driver): turns on one pid
 * with the per-run file (TINYAGI_RUN_FILE) instead of per-run variables in the process's
 * environment, cancel by interrupt keeping the process, run epochs (a stopped turn's late answer
 * never settles the next turn; an abandoned process never reaches a later turn), a stalled turn
 * and a crash mid-turn failing retryable with the next turn on a new process that resumes the
 * session, operator input steered into the running turn, and the process's tools token
 * (TINYAGI_TOOLS_TOKEN) acting for each turn's run.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { fakeWarmDriver } from '@tinyagi/test-kit/fake-warm-driver';
import { waitFor } from '@tinyagi/test-kit';
import { invokeWarm } from '../src/invoker/warm/invoke-warm.ts';
import { SessionPool } from '../src/invoker/warm/pool.ts';
import { toolsRunOf, toolsTokenOpen } from '../src/invoker/tools-tokens.ts';
import type { WarmDriver } from '../src/invoker/warm/types.ts';
import type { InvokeProgress, InvokeRequest } from '../src/invoker/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'tinyagi-warm-invoke-'));
const pools: SessionPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.closeAll()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function newPool(): SessionPool {
  const pool = new SessionPool({ memoryShare: 1 });
  pools.push(pool);
  return pool;
}

function driver(epochs = true): WarmDriver {
  return fakeWarmDriver({ epochs, env: { FAKE_WARM_STATE: dir } }) as unknown as WarmDriver;
}

function request(prompt: string, more: Partial<InvokeRequest> = {}, resumeId?: string): InvokeRequest & { events: InvokeProgress[] } {
  const events: InvokeProgress[] = [];
  return {
    agentId: 'coder',
    target: { runtime: 'fake-warm', provider: 'fake-warm', killGraceMs: 2_000, env: { PATH: process.env.PATH ?? '' } },
    prompt,
    systemPrompt: '',
    cwd: dir,
    session: { key: 'shared', resumeId },
    env: { TINYAGI_RUN_ID: `run-${prompt.length}-${Math.random()}`, TINYAGI_RUN_TOKEN: 'secret-token', TINYAGI_API_URL: 'http://127.0.0.1:1' },
    onEvent: (e) => events.push(e),
    events,
    ...more,
  };
}

function environOf(pid: number): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

function pidOf(text: string): number {
  return Number(/\(pid (\d+)\)/.exec(text)?.[1]);
}

it('turns of one conversation run on one warm process; each run is named by the run file, never by the process environment', async () => {
  const pool = newPool();
  const d = driver();
  const r1 = request('first');
  const one = await invokeWarm(d, r1, pool);
  expect(one.text).toContain('turn 1 of');
  const pid = pidOf(one.text);
  const env = environOf(pid);
  expect(env.TINYAGI_RUN_ID).toBeUndefined();
  expect(env.TINYAGI_RUN_TOKEN).toBeUndefined();
  expect(env.TINYAGI_API_URL).toBe('http://127.0.0.1:1');
  const runFile = env.TINYAGI_RUN_FILE as string;
  expect(JSON.parse(readFileSync(runFile, 'utf8'))).toEqual({ TINYAGI_RUN_ID: r1.env?.TINYAGI_RUN_ID, TINYAGI_RUN_TOKEN: 'secret-token' });
  const r2 = request('second one', {}, one.sessionId);
  const two = await invokeWarm(d, r2, pool);
  expect(two.text).toContain('turn 2 of');
  expect(pidOf(two.text)).toBe(pid);
  expect(r2.events).toContainEqual({ type: 'status', message: `warm session (pid ${pid}), turn 2 on this process` });
  expect(JSON.parse(readFileSync(runFile, 'utf8')).TINYAGI_RUN_ID).toBe(r2.env?.TINYAGI_RUN_ID);
  // The run file goes with its process.
  await pool.closeAll();
  expect(existsSync(runFile)).toBe(false);
});

it("a warm process keeps one tools token, which acts for each turn's run and for nothing once the process has gone", async () => {
  const pool = newPool();
  const d = driver();
  const r1 = request('first');
  const one = await invokeWarm(d, r1, pool);
  const token = environOf(pidOf(one.text)).TINYAGI_TOOLS_TOKEN as string;
  expect(toolsTokenOpen(token)).toBe(true);
  expect(toolsRunOf(token)).toEqual({ runId: r1.env?.TINYAGI_RUN_ID, runToken: 'secret-token' });
  const r2 = request('second one', { env: { ...request('x').env, TINYAGI_RUN_TOKEN: 'second-token' } }, one.sessionId);
  const two = await invokeWarm(d, r2, pool);
  expect(pidOf(two.text)).toBe(pidOf(one.text));
  expect(toolsRunOf(token)).toEqual({ runId: r2.env?.TINYAGI_RUN_ID, runToken: 'second-token' });
  await pool.closeAll();
  await waitFor(async () => (toolsTokenOpen(token) ? undefined : true), 10_000, 'the token closed with its process');
  expect(toolsRunOf(token)).toBeUndefined();
});

it('cancel interrupts the turn and keeps the process warm; the stopped turn’s late answer does not settle the next turn (run epochs)', async () => {
  const pool = newPool();
  const d = driver();
  const first = await invokeWarm(d, request('hello'), pool);
  const controller = new AbortController();
  const cancelled = invokeWarm(d, request('LATE 600', { signal: controller.signal }, first.sessionId), pool).catch((e: unknown) => e);
  setTimeout(() => controller.abort(), 200);
  expect(await cancelled).toMatchObject({ kind: 'cancelled' });
  // The next turn runs on the same process while the stale answer of the stopped one arrives.
  const next = await invokeWarm(d, request('SLOW 1200 after the cancel', {}, first.sessionId), pool);
  expect(pidOf(next.text)).toBe(pidOf(first.text));
  expect(next.text).toContain('after the cancel');
  expect(next.text).not.toContain('stale answer');
});

it('a turn abandoned on timeout closes its process: its late answer never reaches the next turn, which runs on a new process (even with a driver without epochs)', async () => {
  const pool = newPool();
  const naive = driver(false);
  const first = await invokeWarm(naive, request('hello'), pool);
  const timedOut = await invokeWarm(naive, request('LATE 800', { timeoutMs: 300 }, first.sessionId), pool).catch((e: unknown) => e);
  expect(timedOut).toMatchObject({ kind: 'timeout' });
  const next = await invokeWarm(naive, request('SLOW 1000 after the timeout', { session: { key: 'shared', resumeId: first.sessionId, retry: true } }), pool);
  expect(pidOf(next.text)).not.toBe(pidOf(first.text));
  expect(next.text).toContain('after the timeout');
  expect(next.text).not.toContain('stale answer');
  // The new process resumed the session (the fake remembers its turns).
  expect(next.sessionId).toBe(first.sessionId);
});

it('a stalled turn (no protocol activity) fails as a timeout and its process is closed; a crash mid-turn fails retryable; the retry resumes on a new process', async () => {
  const pool = newPool();
  const d = driver();
  const first = await invokeWarm(d, request('hello'), pool);
  const hung = await invokeWarm(d, request('HANG', { inactivityMs: 400 }, first.sessionId), pool).catch((e: unknown) => e);
  expect(hung).toMatchObject({ kind: 'timeout', message: expect.stringContaining('produced no output for 400 ms') });
  await waitFor(() => pool.list().length === 0, 10_000);
  const second = await invokeWarm(d, request('again', { session: { key: 'shared', resumeId: first.sessionId, retry: true } }), pool);
  expect(pidOf(second.text)).not.toBe(pidOf(first.text));
  expect(second.text).toContain('turn 2 of');
  const crashed = await invokeWarm(d, request('DIE', {}, second.sessionId), pool).catch((e: unknown) => e);
  expect(crashed).toMatchObject({ kind: 'retryable', message: expect.stringContaining('exited mid-turn') });
  expect(pool.list()).toEqual([]);
  const third = await invokeWarm(d, request('after the crash', { session: { key: 'shared', resumeId: second.sessionId, retry: true } }), pool);
  expect(third.text).toContain('turn 3 of');
  expect(pidOf(third.text)).not.toBe(pidOf(second.text));
});

it('operator input waiting for the run is steered into the running turn', async () => {
  const pool = newPool();
  const d = driver();
  let listener: (() => void) | undefined;
  const waiting: string[] = [];
  const req = request('WAIT_STEER do the thing', {
    onSteer: (l) => {
      listener = l;
      return () => {
        listener = undefined;
      };
    },
    takeInput: () => waiting.shift(),
  });
  const running = invokeWarm(d, req, pool);
  await waitFor(() => listener !== undefined, 10_000);
  waiting.push('use the blue one');
  listener?.();
  const result = await running;
  expect(result.text).toContain('[steered: use the blue one]');
  expect(req.events).toContainEqual({ type: 'status', message: 'steered: use the blue one' });
  expect(listener).toBeUndefined();
});

/**
 * The session pool with real warm processes (test-kit's bin/fake-warm through its driver):
 * reuse on one pid, caps with least-recently-used eviction, idle close, a process that dies
 * while idle forgotten at once, a hung handshake, admission by the machine's memory (the real
 * /proc/meminfo with a tiny share, and a given reading for the close-idle-first order), and
 * closeAll/closeAgent waiting for the exits.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import { fakeWarmDriver, type FakeWarmSession } from '@tinyagi/test-kit/fake-warm-driver';
import { SessionPool, type AcquireOptions, type MachineMemory } from '../src/invoker/warm/pool.ts';
import type { WarmSession } from '../src/invoker/warm/types.ts';
import { InvokeError } from '../src/invoker/invoke-error.ts';

const state = mkdtempSync(join(tmpdir(), 'tinyagi-warm-pool-'));
const pools: SessionPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.closeAll()));
});
afterAll(() => rmSync(state, { recursive: true, force: true }));

function newPool(options: ConstructorParameters<typeof SessionPool>[0] = {}, memory?: () => MachineMemory | undefined): SessionPool {
  const pool = new SessionPool({ memoryShare: 1, ...options }, memory);
  pools.push(pool);
  return pool;
}

function acquireOptions(agentId: string, sessionKey: string, more: Partial<AcquireOptions> & { env?: Record<string, string> } = {}): AcquireOptions {
  const driver = fakeWarmDriver({ env: more.env });
  const cwd = state;
  return {
    agentId,
    sessionKey,
    driver: 'fake-warm',
    memoryEstimateMb: 40,
    fingerprint: 'fp',
    resumeId: undefined,
    retry: false,
    signal: undefined,
    startTimeoutMs: 30_000,
    start: ({ onActivity, signal }) =>
      driver.start({
        signal,
        req: { agentId, prompt: '', cwd, target: {} },
        resumeId: more.resumeId,
        env: { PATH: process.env.PATH ?? '', FAKE_WARM_STATE: state, ...more.env },
        what: 'fake-warm',
        onActivity,
      }) as unknown as Promise<WarmSession>,
    ...more,
  };
}

/** Live processes whose environment holds `entry` (NAME=value); a zombie's environment reads empty. */
function processesWithEnv(entry: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(entry)) pids.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

async function turn(session: WarmSession, prompt: string): Promise<string> {
  const result = await session.turn({ prompt, req: {} as never, emit: () => {}, activity: () => {}, quota: () => {}, checkpoint: async () => undefined });
  return result.text;
}

it('reuses one warm process for a session while its fingerprint and session id match', async () => {
  const pool = newPool();
  const first = await pool.acquire(acquireOptions('a', 'shared'));
  expect(await turn(first.session, 'one')).toContain('turn 1');
  first.release();
  const sessionId = first.session.sessionId;
  const second = await pool.acquire(acquireOptions('a', 'shared', { resumeId: sessionId }));
  expect(second.session.pid).toBe(first.session.pid);
  expect(second.turnsBefore).toBe(1);
  expect(await turn(second.session, 'two')).toContain('turn 2');
  second.release();
  // Another fingerprint (a model change): a new process that resumes the session.
  const third = await pool.acquire(acquireOptions('a', 'shared', { resumeId: sessionId, fingerprint: 'other' }));
  expect(third.session.pid).not.toBe(first.session.pid);
  expect(await first.session.exited).toBeDefined();
  expect(await turn(third.session, 'three')).toContain('turn 3');
  third.release();
  // A retry never reuses the process.
  const retry = await pool.acquire(acquireOptions('a', 'shared', { resumeId: sessionId, fingerprint: 'other', retry: true }));
  expect(retry.session.pid).not.toBe(third.session.pid);
  retry.release();
  expect(pool.list()).toHaveLength(1);
  expect(pool.list()[0]).toMatchObject({ agentId: 'a', sessionKey: 'shared', sessionId, busy: false, turns: 1 });
});

it('a second lease of a busy session waits for the release', async () => {
  const pool = newPool();
  const first = await pool.acquire(acquireOptions('a', 'k'));
  await turn(first.session, 'x');
  let got = false;
  const second = pool.acquire(acquireOptions('a', 'k', { resumeId: first.session.sessionId })).then((lease) => {
    got = true;
    return lease;
  });
  await new Promise((r) => setTimeout(r, 100));
  expect(got).toBe(false);
  first.release();
  expect((await second).session.pid).toBe(first.session.pid);
});

it('caps: the least recently used idle session of the agent is closed for a new one; with every slot busy the request waits', async () => {
  const pool = newPool({ maxPerAgent: 2, maxTotal: 3 });
  const s1 = await pool.acquire(acquireOptions('a', 's1'));
  const s2 = await pool.acquire(acquireOptions('a', 's2'));
  s1.release();
  s2.release();
  const s3 = await pool.acquire(acquireOptions('a', 's3'));
  await s1.session.exited; // the least recently used
  expect(
    pool
      .list()
      .map((s) => s.sessionKey)
      .sort(),
  ).toEqual(['s2', 's3']);
  const b1 = await pool.acquire(acquireOptions('b', 'x'));
  // Total cap (3) reached with s3 and b1 busy: s2 (idle) goes.
  const b2 = await pool.acquire(acquireOptions('b', 'y'));
  await s2.session.exited;
  // Now everything is busy: a fourth waits until a release, then takes that slot.
  let started = false;
  const c = pool.acquire(acquireOptions('c', 'z')).then((lease) => {
    started = true;
    return lease;
  });
  await new Promise((r) => setTimeout(r, 200));
  expect(started).toBe(false);
  b1.release();
  const cLease = await c;
  await b1.session.exited;
  expect(pool.stats()).toMatchObject({ sessions: 3, busy: 3, byAgent: { a: 1, b: 1, c: 1 } });
  for (const l of [s3, b2, cLease]) l.release();
});

it('a waiting request gives up on its signal', async () => {
  const pool = newPool({ maxTotal: 1 });
  const held = await pool.acquire(acquireOptions('a', 'one'));
  const controller = new AbortController();
  const waiting = pool.acquire(acquireOptions('b', 'two', { signal: controller.signal }));
  controller.abort();
  await expect(waiting).rejects.toMatchObject({ kind: 'cancelled' });
  held.release();
});

it('idle sessions are closed after idleMs; a process that dies while idle is forgotten at once', async () => {
  const pool = newPool({ idleMs: 60_000 });
  const a = await pool.acquire(acquireOptions('a', 'k1'));
  a.release();
  const b = await pool.acquire(acquireOptions('a', 'k2'));
  b.release();
  process.kill(b.session.pid as number, 'SIGKILL');
  await b.session.exited;
  expect(pool.list().map((s) => s.sessionKey)).toEqual(['k1']);
  pool.closeIdle(Date.now() + 30_000);
  expect(pool.list()).toHaveLength(1);
  pool.closeIdle(Date.now() + 61_000);
  await a.session.exited;
  expect(pool.list()).toHaveLength(0);
});

it('a start that never completes its handshake fails as a timeout and its process is closed', async () => {
  const pool = newPool();
  let session: WarmSession | undefined;
  const starts = join(state, 'handshake-starts');
  const opts = acquireOptions('a', 'k', { env: { FAKE_WARM_HANDSHAKE_HANG: '1', FAKE_WARM_STARTS: starts }, startTimeoutMs: 300 });
  const start = opts.start;
  opts.start = async (hooks) => {
    session = await start(hooks);
    return session;
  };
  // The driver's own ready wait is 30 s; the pool's start timeout ends it first.
  const err = await pool.acquire(opts).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InvokeError);
  expect(err).toMatchObject({ kind: 'timeout', message: expect.stringContaining('did not complete its start within') });
  expect(pool.stats().sessions).toBe(0);
  // The process is found by its environment, not by the pid it writes at boot: on a loaded machine
  // the 300 ms timeout can close it before its code ran (test:stress saw the file missing).
  await waitFor(() => (processesWithEnv(`FAKE_WARM_STARTS=${starts}`).length === 0 ? true : undefined), 10_000, 'the hung process to be closed');
  // The slot is free again.
  const next = await pool.acquire(acquireOptions('a', 'k'));
  next.release();
});

it('admission by memory: with the real /proc/meminfo and a tiny sessions.memory_share, a start is refused as retryable SESSION_POOL_FULL', async () => {
  const pool = newPool({ memoryShare: 0.001, processMemoryMb: 250 });
  const err = await pool.acquire(acquireOptions('a', 'k')).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InvokeError);
  expect(err).toMatchObject({ kind: 'retryable', code: 'SESSION_POOL_FULL' });
  expect((err as Error).message).toMatch(/^warm session refused: starting another fake-warm \(~250 MB\) would take memory use to \d+% of [\d.]+ GiB, above sessions\.memory_share 0\.001\.$/);
  expect(pool.stats().sessions).toBe(0);
});

it('admission by memory: idle sessions are closed first (least recently used), then a busy one is waited for (bounded), then refused', async () => {
  // The machine as the pool reads it: 1000 MB, 400 MB used by others, each warm process the
  // measured size of the live ones (read from the pool's own list).
  const MB = 1024 * 1024;
  let pool: SessionPool | undefined;
  const perProcess = 200 * MB;
  const memory = (): MachineMemory => ({ totalBytes: 1000 * MB, availableBytes: 1000 * MB - 400 * MB - (pool?.list().length ?? 0) * perProcess });
  pool = newPool({ memoryShare: 0.85, processMemoryMb: 200, admissionWaitMs: 400 }, memory);
  // 400 + 200 = 600 and 800 <= 850: two fit.
  const s1 = await pool.acquire(acquireOptions('a', 's1'));
  s1.release();
  const s2 = await pool.acquire(acquireOptions('a', 's2'));
  s2.release();
  // The third (400 + 2×200 + 200 = 1000 > 850): s1, the least recently used idle one, is closed first.
  const s3 = await pool.acquire(acquireOptions('b', 's3'));
  await s1.session.exited;
  expect(
    pool
      .list()
      .map((s) => s.sessionKey)
      .sort(),
  ).toEqual(['s2', 's3']);
  // s2 idle, s3 busy: the fourth closes s2 and fits.
  const s4 = await pool.acquire(acquireOptions('b', 's4'));
  await s2.session.exited;
  // Both busy: the fifth waits for a release (bounded by admissionWaitMs); one released in time is closed for it.
  const fifth = pool.acquire(acquireOptions('c', 's5'));
  await new Promise((r) => setTimeout(r, 100));
  s3.release();
  const s5 = await fifth;
  await s3.session.exited;
  // Nothing released within the wait: refused.
  const t0 = Date.now();
  const refused = await pool.acquire(acquireOptions('c', 's6')).catch((e: unknown) => e);
  expect(refused).toMatchObject({ kind: 'retryable', code: 'SESSION_POOL_FULL' });
  expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
  expect((refused as Error).message).toContain('would take memory use to 100% of 1.0 GiB, above sessions.memory_share 0.85');
  s4.release();
  s5.release();
});

it('closeAgent and closeAll wait for the processes to exit; a start under way during closeAll is closed when it arrives', async () => {
  const pool = newPool();
  const a1 = await pool.acquire(acquireOptions('a', 'k1'));
  a1.release();
  const b1 = await pool.acquire(acquireOptions('b', 'k1'));
  b1.release();
  expect(await pool.closeAgent('a')).toBe(1);
  expect((a1.session as unknown as FakeWarmSession).pid).toBeDefined();
  expect(pool.list().map((s) => s.agentId)).toEqual(['b']);
  const late = pool.acquire(acquireOptions('c', 'k')).catch((e: unknown) => e);
  await pool.closeAll();
  expect(pool.list()).toEqual([]);
  expect(await late).toMatchObject({ kind: 'retryable' });
});

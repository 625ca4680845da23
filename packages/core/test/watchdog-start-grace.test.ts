/**
 * The watchdog's start grace, with real subprocesses: until a CLI's first output the silence
 * deadline is the start grace (`startGraceMs`), from then on the silence limit (`inactivityMs`).
 * For a spawned CLI (cli-runner) and for a warm session (the pool's handshake, then the turn).
 *
 * Bounds: the silence limit is 500 ms and the grace 10 s. A silent start of 1.5 s is three
 * silence limits long, and leaves more than 8 s of the grace for Node to start on a loaded machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fakeWarmDriver } from '@tinyagi/test-kit/fake-warm-driver';
import { runCliProcess, type CliRunOptions } from '../src/invoker/cli-runner.ts';
import { InvokeError } from '../src/invoker/invoke-error.ts';
import { invokeWarm } from '../src/invoker/warm/invoke-warm.ts';
import { SessionPool } from '../src/invoker/warm/pool.ts';
import type { WarmDriver } from '../src/invoker/warm/types.ts';
import type { InvokeRequest } from '../src/invoker/types.ts';

const SILENCE_MS = 500;
const GRACE_MS = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'tinyagi-start-grace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(promise: Promise<unknown>): Promise<InvokeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvokeError);
  return err as InvokeError;
}

describe('a spawned CLI', () => {
  /** `node -e script` under the watchdog; `lines` records when each stdout line arrived. */
  function run(script: string, startGraceMs: number, lines: Array<{ at: number; line: string }>) {
    const opts: CliRunOptions = {
      what: 'script (agent coder)',
      command: process.execPath,
      args: ['-e', script],
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
      limits: { timeoutMs: 60_000, inactivityMs: SILENCE_MS, startGraceMs },
      killGraceMs: 200,
      exitAfterResultMs: 5_000,
      onLine: (line) => lines.push({ at: Date.now(), line }),
      installHint: 'it is node',
    };
    return runCliProcess(opts);
  }

  it('silent at its start for longer than the silence limit, within the start grace: it runs to the end', async () => {
    const lines: Array<{ at: number; line: string }> = [];
    const outcome = await run("setTimeout(() => console.log('first words'), 1500)", GRACE_MS, lines);
    expect(outcome.exitCode).toBe(0);
    expect(lines.map((l) => l.line)).toEqual(['first words']);
  });

  it('silent after its first output: killed after the silence limit, not the start grace', async () => {
    const lines: Array<{ at: number; line: string }> = [];
    const err = await failure(run("console.log('started'); setInterval(() => {}, 1 << 30)", GRACE_MS, lines));
    const ended = Date.now();
    expect(err.kind).toBe('timeout');
    expect(err.message).toContain(`produced no output for ${SILENCE_MS} ms.`);
    expect(lines.map((l) => l.line)).toEqual(['started']);
    const silentFor = ended - lines[0]!.at;
    // Node's timers fire no earlier than asked (a millisecond of rounding aside); the kill takes at most the 200 ms kill grace.
    expect(silentFor).toBeGreaterThanOrEqual(SILENCE_MS - 5);
    expect(silentFor).toBeLessThan(GRACE_MS);
  });

  it('silent for the whole start grace: killed, and the error names the start', async () => {
    const err = await failure(run('setInterval(() => {}, 1 << 30)', 1_500, []));
    expect(err.kind).toBe('timeout');
    expect(err.message).toContain('produced no output for 1500 ms after it started.');
    expect(err.hint).toContain('start_grace_s');
  });
});

describe('a warm session', () => {
  const pools: SessionPool[] = [];
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.closeAll()));
  });

  function invoke(prompt: string, env: Record<string, string> = {}) {
    const pool = new SessionPool({ memoryShare: 1 });
    pools.push(pool);
    const driver = fakeWarmDriver({ env: { FAKE_WARM_STATE: dir, ...env } }) as unknown as WarmDriver;
    const req: InvokeRequest = {
      agentId: 'coder',
      target: { runtime: 'fake-warm', provider: 'fake-warm', killGraceMs: 2_000, startGraceMs: GRACE_MS, env: { PATH: process.env.PATH ?? '' } },
      prompt,
      systemPrompt: '',
      cwd: dir,
      session: { key: 'shared' },
      inactivityMs: SILENCE_MS,
    };
    return invokeWarm(driver, req, pool);
  }

  it('a handshake and a turn each silent at their start for longer than the silence limit, within the start grace: the turn completes', async () => {
    const result = await invoke('QUIET 1500 hello', { FAKE_WARM_READY_DELAY_MS: '1500' });
    expect(result.text).toContain('hello');
  });

  it('a turn silent after its first output: failed after the silence limit, not the start grace', async () => {
    const started = Date.now();
    const err = await failure(invoke('STALL now'));
    expect(err.kind).toBe('timeout');
    expect(err.message).toContain(`produced no output for ${SILENCE_MS} ms.`);
    expect(Date.now() - started).toBeLessThan(GRACE_MS);
  });
});

/**
 * The bench harness keeps going when a peer fails: a failing peer is retried a bounded number of
 * times and reported in its cell; our own failures still fail the run; a crashed worker process
 * is reported with its error line and its siblings are stopped instead of waited for forever.
 */
import { fork } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { allSucceed, benchB1, benchB2, watchProcess, type RunSpec } from '../src/queue-bench.ts';
import { PEER_ATTEMPTS } from '../src/peer-cell.ts';

const FIXTURE = new URL('./fixtures/bench-process.ts', import.meta.url).pathname;

function runner(fail: (spec: RunSpec, call: number) => string | undefined) {
  const calls = new Map<string, number>();
  const run = async (spec: RunSpec) => {
    const key = JSON.stringify(spec);
    const call = (calls.get(key) ?? 0) + 1;
    calls.set(key, call);
    const error = fail(spec, call);
    if (error !== undefined) throw new Error(error);
    return { ms: spec.impl === 'plainjob' ? 2000 : 1000, latencies: [1, 2, 3] };
  };
  return { run, calls };
}

describe('bench harness', () => {
  it('a peer that keeps failing is reported in its cell after a bounded retry, and the run goes on', async () => {
    const busy = 'a plainjob bench process failed (exit code 1): SqliteError: database is locked';
    const { run, calls } = runner((spec) => (spec.impl === 'plainjob' && spec.workers === 2 ? busy : undefined));
    const table = await benchB1(1000, run);
    const rows = table.split('\n').slice(2);
    expect(rows).toHaveLength(12);
    const failed = rows.filter((r) => r.includes('failed'));
    expect(failed).toHaveLength(4);
    for (const row of failed) {
      expect(row).toContain(`| 2 | 1000 | 1000 | failed (${PEER_ATTEMPTS} attempts): ${busy} | — | — |`);
    }
    expect(rows.filter((r) => !r.includes('failed')).every((r) => r.endsWith('| 1000 | 1000 | 500 | 2.00× | 2.00× |'))).toBe(true);
    const peerCalls = [...calls].filter(([key]) => key.includes('"plainjob"') && key.includes('"workers":2')).map(([, n]) => n);
    expect(peerCalls).toEqual([PEER_ATTEMPTS, PEER_ATTEMPTS, PEER_ATTEMPTS, PEER_ATTEMPTS]);
  });

  it('a peer that fails once and then succeeds gets its figure', async () => {
    const { run } = runner((spec, call) => (spec.impl === 'plainjob' && call === 1 ? 'SqliteError: database is locked' : undefined));
    const table = await benchB2(run);
    expect(table).not.toContain('failed');
    expect(table.split('\n').filter((r) => r.includes('plainjob'))).toHaveLength(2);
  });

  it('our own failure fails the run', async () => {
    const { run } = runner((spec) => (spec.impl === 'tinyagi' && spec.policy === 'sequential' ? 'a tinyagi bench process failed' : undefined));
    await expect(benchB1(1000, run)).rejects.toThrow('a tinyagi bench process failed');
  });

  it('a crashed worker process is reported with its error line and its siblings are stopped', async () => {
    const spawn = (mode: string) => watchProcess(fork(FIXTURE, [mode], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }));
    const hanging = spawn('hang');
    const crashed = spawn('crash');
    await expect(allSucceed('plainjob', [hanging, crashed])).rejects.toThrow(/^a plainjob bench process failed \(exit code 1\): SqliteError: database is locked/);
    await new Promise<void>((resolve) => (hanging.child.exitCode !== null || hanging.child.signalCode !== null ? resolve() : hanging.child.once('exit', () => resolve())));
    expect(hanging.child.signalCode).toBe('SIGKILL');
    await expect(allSucceed('plainjob', [spawn('ok'), spawn('ok')])).resolves.toBeUndefined();
  });
});

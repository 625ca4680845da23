/**
 * `pnpm test:stress [--rounds N] [package folder…]`: the timing-sensitive suites, run while every core of
 * the machine is kept busy by other processes (one busy loop per core), so a test that races a
 * clock or assumes a prompt scheduler fails here before it fails in CI. Each round runs every
 * suite below once; the command exits non-zero if any run failed. docs/testing.md says which
 * suites are here and why; add a file when it waits on processes, streams or timers.
 *
 * The suites run from sources (vitest), on SQLite and, where the behaviour differs by backend, on
 * PostgreSQL too. The CLI and channel suites start the built `tinyagi` bundle: run `pnpm build` first.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './test-times.ts';

interface StressSuite {
  /** The package folder, relative to the repo root. */
  dir: string;
  /** vitest file filters (substrings of the test files' paths). */
  files: string[];
  backends: ('sqlite' | 'postgres')[];
}

export const STRESS_SUITES: StressSuite[] = [
  // The watchdog, the CLI runner's process groups, warm sessions, the queue across processes, the event bus.
  { dir: 'packages/core', files: ['watchdog', 'invoker-cli', 'invoker-process', 'warm-', 'queue.', 'events-multiprocess', 'events.pg', 'shared-settings.pg'], backends: ['sqlite'] },
  // SSE streams (a burst over the client buffer, resume by Last-Event-ID), rate limits.
  { dir: 'packages/server', files: ['events', 'rate-limit'], backends: ['sqlite', 'postgres'] },
  // Steering and cancel of running turns, completion races, restarts, retries; workflow runs' leases, waits and replays.
  { dir: 'packages/teams', files: ['steering', 'cancel', 'completion-race', 'restart', 'failed-attempts', 'workflow'], backends: ['sqlite', 'postgres'] },
  // The daemon as a process: start/stop, crash harnesses, waiting sends and workflow runs, live activity, warm sessions, prompts typed into a terminal (tmux).
  { dir: 'packages/cli', files: ['crash-harness', 'send-wait', 'workflow', 'live-activity', 'shutdown', 'restart', 'warm-sessions', 'approvals-tty', 'chat-tty'], backends: ['sqlite'] },
  // The dashboard and chat room in a real terminal (tmux).
  { dir: 'packages/visualizer', files: ['tmux'], backends: ['sqlite'] },
  // Live replies edited in place, runner crashes.
  { dir: 'packages/channels', files: ['live', 'crash'], backends: ['sqlite'] },
];

function busyLoops(count: number): ChildProcess[] {
  return Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

/** `dirs`: only the suites of these package folders (`packages/cli`); all when empty. */
export function runStress(rounds: number, dirs: readonly string[] = []): number {
  const suites = dirs.length === 0 ? STRESS_SUITES : STRESS_SUITES.filter((s) => dirs.some((d) => s.dir === d.replace(/\/$/, '')));
  if (suites.length === 0) throw new Error(`no stress suite in ${dirs.join(', ')} (suites: ${STRESS_SUITES.map((s) => s.dir).join(', ')})`);
  const loops = busyLoops(availableParallelism());
  const stop = (): void => {
    for (const loop of loops) loop.kill('SIGKILL');
  };
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  console.log(`test:stress: ${loops.length} busy loops on ${availableParallelism()} cores, ${rounds} round(s)`);
  const failed: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const suite of suites) {
      for (const backend of suite.backends) {
        const label = `round ${round}: ${suite.dir} (${backend}) ${suite.files.join(' ')}`;
        const started = Date.now();
        const run = spawnSync('pnpm', ['exec', 'vitest', 'run', ...suite.files], {
          cwd: join(REPO_ROOT, suite.dir),
          stdio: 'inherit',
          env: { ...process.env, TINYAGI_TEST_BACKEND: backend, npm_lifecycle_event: 'test:stress' },
        });
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        console.log(`test:stress: ${label}: ${run.status === 0 ? 'passed' : 'FAILED'} in ${seconds} s`);
        if (run.status !== 0) failed.push(label);
      }
    }
  }
  stop();
  if (failed.length > 0) console.log(`test:stress: failed:\n  ${failed.join('\n  ')}`);
  else console.log('test:stress: every run passed');
  return failed.length === 0 ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ options: { rounds: { type: 'string', default: '2' } }, allowPositionals: true });
  process.exit(runStress(Number(values.rounds), positionals));
}

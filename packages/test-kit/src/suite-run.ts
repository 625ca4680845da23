/**
 * `pnpm test` after the lint: `node packages/test-kit/src/suite-run.ts [--concurrency=N] [task…]`
 * builds every package with turbo (`turbo run build`), then runs every package's `test` and
 * `test:pg` script, N at a time, the longest first (task-pool.ts says why not turbo), and prints
 * where the time went (test-times.ts): each task's start and wall time, and the 15 slowest test
 * files. Tasks named on the command line (`tinyagi#test`, or a package name for all of its
 * tasks) run alone. It exits 1 if the build or any task failed. The reports of an earlier run are
 * removed first, so the tables show this run only.
 *
 * The real-CLI suite's install step (its `install-clis.mjs`: about 2 min of npm on a clean clone
 * of a slow machine) starts beside the build, so it is not the first two minutes of the longest
 * task; the task waits for it, then finds the CLIs installed and goes straight to its tests.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { discoverTasks, orderTasks, runPool, runWithPnpm, type RunTask } from './task-pool.ts';
import { formatTimes, readFileTimes, REPO_ROOT, RESULTS_DIR } from './test-times.ts';

/**
 * The longest tasks, longest first (docs/testing.md has the measured times): starting them first
 * lets the short ones fill the other slot around them instead of the longest running alone at the end.
 */
export const LONGEST_FIRST = ['@tinyagi/real-cli-test#test', 'tinyagi#test', 'tinyoffice#test', '@tinyagi/core#test', '@tinyagi/channels#test', '@tinyagi/pack-test#test'];

const { values, positionals } = parseArgs({ options: { concurrency: { type: 'string', default: '2' } }, allowPositionals: true });
const slots = Number(values.concurrency);
if (!Number.isInteger(slots) || slots < 1) throw new Error(`--concurrency must be a whole number of at least 1, not ${values.concurrency}`);

const all = discoverTasks(REPO_ROOT);
const picked = positionals.length === 0 ? all : all.filter((t) => positionals.some((p) => t.id === p || t.id.startsWith(`${p}#`)));
if (picked.length === 0) throw new Error(`no test task matches ${positionals.join(', ')} (tasks: ${all.map((t) => t.id).join(', ')})`);

rmSync(RESULTS_DIR, { recursive: true, force: true });
const REAL_CLI = picked.find((t) => t.id === '@tinyagi/real-cli-test#test');
// Its exit code does not matter here: on a failure the task's own install step runs it again and fails with the reason.
const clis = REAL_CLI && installClisBesideTheBuild(join(REAL_CLI.dir, 'scripts', 'install-clis.mjs'));
const build = spawnSync('turbo', ['run', 'build', `--concurrency=${slots}`], { cwd: REPO_ROOT, stdio: 'inherit' });
if (build.error) throw build.error;
if (build.status !== 0) {
  console.error('The build failed: no tests were run.');
  clis?.child.kill();
  process.exit(1);
}

const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
const runTask: RunTask = async (task, signal) => {
  if (task.id === REAL_CLI?.id) await clis?.done;
  return runWithPnpm(task, signal);
};
const run = await runPool(orderTasks(picked, LONGEST_FIRST), slots, runTask, stop.signal);
console.log(`\n${formatTimes(run, readFileTimes())}`);
const failed = run.tasks.filter((t) => t.exitCode !== 0);
if (failed.length > 0) console.log(`\nFailed: ${failed.map((t) => t.task).join(', ')}`);
process.exit(failed.length > 0 || stop.signal.aborted ? 1 : 0);

function installClisBesideTheBuild(script: string): { child: ChildProcess; done: Promise<void> } {
  const child = spawn(process.execPath, [script], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const done = new Promise<void>((resolve) => {
    child.once('error', () => resolve());
    child.once('close', () => resolve());
  });
  return { child, done };
}

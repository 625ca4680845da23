/**
 * The test tasks of `pnpm test` and the pool that runs them. Turbo builds; this pool
 * runs the tests, because the order matters and turbo has no way to say it: turbo hands its
 * slots to tasks in the order they become ready, so the tests that need only sources took both
 * slots at the start and the real-CLI suite (the longest, about 40% of the whole) started a third
 * of the way in and then ran alone for eight minutes at the end. Here the longest tasks start
 * first (LONGEST_FIRST, from the measured times in docs/testing.md) and the short ones fill in
 * around them, so the run ends close to (sum of task times) / slots.
 *
 * A task is a package's `test` or `test:pg` script, run by pnpm in the package's folder with the
 * environment of `pnpm test`; every line it prints is prefixed with the task's id. A failed task
 * does not stop the others: one run reports every failure.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskTime } from './test-times.ts';

export interface TestTask {
  /** `<package>#<script>`, as turbo names a task (`@tinyagi/core#test`). */
  id: string;
  /** The package's folder. */
  dir: string;
  /** `test` or `test:pg`. */
  script: string;
}

export const TEST_SCRIPTS = ['test', 'test:pg'] as const;

/** The workspace's package folders, from pnpm-workspace.yaml's `packages` (`dir/*` or `dir`). */
export function workspaceDirs(root: string): string[] {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const block = /^packages:\n((?:[ \t]+-[^\n]*\n?)+)/m.exec(yaml)?.[1] ?? '';
  const globs = [...block.matchAll(/-\s*["']?([^"'\n]+?)["']?\s*$/gm)].map((m) => m[1]!);
  return globs.flatMap((glob) => {
    if (!glob.endsWith('/*')) return [join(root, glob)];
    const parent = join(root, glob.slice(0, -2));
    return existsSync(parent)
      ? readdirSync(parent, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => join(parent, d.name))
      : [];
  });
}

/** Every `test` and `test:pg` script of the workspace's packages. */
export function discoverTasks(root: string): TestTask[] {
  const tasks: TestTask[] = [];
  for (const dir of workspaceDirs(root)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; scripts?: Record<string, string> };
    for (const script of TEST_SCRIPTS) if (pkg.name && pkg.scripts?.[script]) tasks.push({ id: `${pkg.name}#${script}`, dir, script });
  }
  return tasks;
}

/** The tasks named in `first` in that order, then the rest by id. */
export function orderTasks(tasks: readonly TestTask[], first: readonly string[]): TestTask[] {
  const rank = (t: TestTask): number => {
    const i = first.indexOf(t.id);
    return i === -1 ? first.length : i;
  };
  return [...tasks].sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
}

/** Writes `prefix` before every line of a stream's text (a partial last line waits for its end). */
export function linePrefixer(prefix: string, write: (text: string) => void): { push(chunk: string): void; end(): void } {
  let rest = '';
  return {
    push(chunk) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      if (lines.length > 0) write(lines.map((l) => `${prefix}${l}\n`).join(''));
    },
    end() {
      if (rest !== '') write(`${prefix}${rest}\n`);
      rest = '';
    },
  };
}

export interface PoolRun {
  wallMs: number;
  tasks: TaskTime[];
}

export type RunTask = (task: TestTask, signal: AbortSignal) => Promise<number | null>;

/**
 * Runs the tasks in order, at most `slots` at once, each starting as soon as a slot is free.
 * `signal` stops starting new tasks and is passed on to the running ones.
 */
export async function runPool(tasks: readonly TestTask[], slots: number, run: RunTask, signal: AbortSignal = new AbortController().signal): Promise<PoolRun> {
  const started = Date.now();
  const queue = [...tasks];
  const done: TaskTime[] = [];
  const lane = async (): Promise<void> => {
    for (let task = queue.shift(); task !== undefined && !signal.aborted; task = queue.shift()) {
      const time: TaskTime = { task: task.id, startMs: Date.now() - started, ms: 0, exitCode: null };
      done.push(time);
      time.exitCode = await run(task, signal).catch(() => 1);
      time.ms = Date.now() - started - time.startMs;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, slots) }, lane));
  // In start order (the order they were pushed).
  return { wallMs: Date.now() - started, tasks: done };
}

/**
 * Runs one task: `pnpm run <script>` in its folder, in its own process group (stopped as a whole
 * when `signal` aborts), every output line prefixed with the task's id. Resolves to the exit code
 * (null when a signal ended it).
 */
export function runWithPnpm(task: TestTask, signal: AbortSignal, out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn('pnpm', ['run', task.script], { cwd: task.dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const prefix = `${task.id}: `;
    const streams = [child.stdout, child.stderr].map((stream) => {
      const lines = linePrefixer(prefix, out);
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => lines.push(chunk));
      return lines;
    });
    const stop = (): void => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    };
    signal.addEventListener('abort', stop, { once: true });
    child.once('error', reject);
    child.once('close', (code) => {
      signal.removeEventListener('abort', stop);
      for (const lines of streams) lines.end();
      resolve(code);
    });
  });
}

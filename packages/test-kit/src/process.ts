/**
 * Process helpers for tests that start real subprocesses: is a pid gone, wait for a child's exit
 * (an event, not a sleep), and kill a whole tree (the child and everything it started).
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Dead means kill(pid, 0) fails with ESRCH. A killed grandchild is re-parented to PID 1, and some
 * container inits never reap, so an exited-but-unreaped process (state Z) counts as gone too.
 */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  return procState(pid) === 'Z' || procState(pid) === undefined;
}

export function pidAlive(pid: number): boolean {
  return !isGone(pid);
}

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves when the child has exited (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<ExitStatus> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Waits for the child's exit; past `timeoutMs` it is SIGKILLed (with its tree) and the error names it. */
export async function waitForExit(child: ChildProcess, timeoutMs = 20_000): Promise<ExitStatus> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const result = await Promise.race([exitOf(child), timedOut]);
  clearTimeout(timer);
  if (result !== 'timeout') return result;
  if (child.pid !== undefined) killTree(child.pid);
  await exitOf(child);
  throw new Error(`pid ${child.pid} did not exit within ${timeoutMs} ms (killed)`);
}

/** Every descendant of `pid` (from /proc/<pid>/task/<tid>/children), deepest last. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift()!;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${current}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${current}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of children.split(' ').filter(Boolean).map(Number)) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** Sends `signal` (default SIGKILL) to `pid` and every descendant; the tree is read before any dies. */
export function killTree(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const target of [pid, ...descendants(pid)]) {
    try {
      process.kill(target, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Private_Clean + Private_Dirty of one process (/proc/<pid>/smaps_rollup), in bytes: the memory it
 * alone holds, unlike RSS, which counts the shared pages of its binary and libraries again per
 * process. 0 once it has gone.
 */
export function privateBytes(pid: number): number {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    let kb = 0;
    for (const m of rollup.matchAll(/^Private_(?:Clean|Dirty):\s+(\d+) kB$/gm)) kb += Number(m[1]);
    return kb * 1024;
  } catch {
    return 0;
  }
}

/**
 * Is a pid one of our daemons? `kill(pid, 0)` says a process exists; on Linux /proc also tells
 * whether it is a `tinyagi run` at all, so a pid reused by an unrelated program after a crash
 * (common in containers, where the daemon is often pid 1 every time) is not mistaken for a
 * running daemon, and `stop` never signals a stranger.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processExists } from '../core-internal.ts';

export { processExists };

/** The process's argv on Linux; undefined where /proc is not available. */
function procArgv(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
  } catch {
    return undefined;
  }
}

export function isDaemonProcess(pid: number): boolean {
  if (pid === process.pid || !processExists(pid)) return false;
  const argv = procArgv(pid);
  if (argv === undefined) return true; // cannot tell (no /proc): trust the pid
  return argv.includes('run');
}

/** Where a daemon of this home records the process groups of the agent CLIs it runs. */
export function agentGroupsJournal(home: string): string {
  return join(home, 'run', 'agent-groups');
}

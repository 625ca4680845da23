/**
 * Is a pid one of our daemons? `kill(pid, 0)` says a process exists; on Linux /proc also tells
 * whether it is a `tinyagi run` at all, so a pid reused by an unrelated program after a crash
 * (common in containers, where the daemon is often pid 1 every time) is not mistaken for a
 * running daemon, and `stop` never signals a stranger.
 */
import { readFileSync } from 'node:fs';

/** A zombie has exited but was not reaped yet (an init that does not reap, in some containers). */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** True while the process is alive (exited-but-unreaped zombies count as gone). */
export function processExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

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

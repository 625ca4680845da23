/**
 * Is a process alive? `kill(pid, 0)` says a process entry exists (EPERM: it runs as another
 * user). On Linux /proc also tells a zombie apart: it has exited but was not reaped yet (an
 * init that does not reap, in some containers; a detached daemon killed while its new parent
 * has not waited for it), so it counts as gone.
 */
import { readFileSync } from 'node:fs';

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

/**
 * `tinyagi.pid`: the daemon's pid as plain text, for scripts and service managers. The lock
 * file (instance-lock.ts) is the source of truth; the pid file mirrors it while the daemon runs.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

export function writePidFile(path: string, pid = process.pid): void {
  writeFileSync(path, `${pid}\n`, { mode: 0o644 });
}

export function readPidFile(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the pid file if it still names `pid`. */
export function removePidFile(path: string, pid = process.pid): void {
  if (readPidFile(path) !== pid) return;
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

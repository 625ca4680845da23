/**
 * Stopping the daemon of a home: SIGTERM (the daemon finishes or releases in-flight work and
 * exits), wait, SIGKILL after the timeout, then remove what a killed daemon leaves behind.
 * Afterwards no daemon process of this home is left.
 */
import { rmSync } from 'node:fs';
import type { HomePaths } from '@tinyagi/core';
import { reapOrphanedGroups } from '../core-internal.ts';
import { CliError } from '../output/cli-error.ts';
import { readRunningDaemon } from './instance-lock.ts';
import { readPidFile, removePidFile } from './pid-file.ts';
import { agentGroupsJournal, isDaemonProcess, processExists } from './process-check.ts';

export interface StopResult {
  wasRunning: boolean;
  pid?: number;
  /** True when SIGTERM was not enough and the daemon was killed. */
  killed: boolean;
  /** Killed with it: the process groups of agent CLIs it was still running (left alone, they would run on until the next start). */
  agentGroupsKilled?: number;
}

export const DEFAULT_STOP_TIMEOUT_MS = 30_000;
const KILL_WAIT_MS = 5000;

/** The pid of this home's live daemon, from the lock file or else the pid file. */
export function runningDaemonPid(paths: HomePaths): number | undefined {
  const record = readRunningDaemon(paths.lockFile);
  if (record !== undefined) return record.pid;
  const pid = readPidFile(paths.pidFile);
  return pid !== undefined && isDaemonProcess(pid) ? pid : undefined;
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processExists(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return;
    throw new CliError('DAEMON_STOP_FAILED', `Cannot signal the daemon (pid ${pid}): ${(err as Error).message}`, {
      hint: 'It may run as another user; stop it as that user.',
    });
  }
}

/** Removes a lock or pid file that names `pid` (a daemon that cannot clean up after itself). */
function removeLeftovers(paths: HomePaths, pid: number): void {
  removePidFile(paths.pidFile, pid);
  if (readRunningDaemon(paths.lockFile) === undefined) rmSync(paths.lockFile, { force: true });
}

export async function stopDaemon(paths: HomePaths, timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<StopResult> {
  const pid = runningDaemonPid(paths);
  if (pid === undefined) {
    // Clean up after a daemon that died without doing it (kill -9, power loss).
    const stale = readPidFile(paths.pidFile);
    if (stale !== undefined) removePidFile(paths.pidFile, stale);
    if (readRunningDaemon(paths.lockFile) === undefined) rmSync(paths.lockFile, { force: true });
    return { wasRunning: false, killed: false };
  }
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, timeoutMs)) {
    removeLeftovers(paths, pid);
    return { wasRunning: true, pid, killed: false };
  }
  signal(pid, 'SIGKILL');
  if (!(await waitForExit(pid, KILL_WAIT_MS))) {
    throw new CliError('DAEMON_STOP_FAILED', `The daemon (pid ${pid}) did not exit after SIGKILL.`, {
      hint: `Check the process with \`ps -p ${pid}\`.`,
    });
  }
  removeLeftovers(paths, pid);
  return { wasRunning: true, pid, killed: true, agentGroupsKilled: reapOrphanedGroups(agentGroupsJournal(paths.home)).killed.length };
}

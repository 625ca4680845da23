/**
 * Every agent CLI is spawned `detached`, so it leads its own process group and a kill reaches
 * the shells, test runners and servers it started too. Groups still alive when this process
 * exits are killed on the way out: a detached child would otherwise outlive the daemon and race
 * the retry of its own message (two processes for one agent).
 *
 * An exit hook does not run on SIGKILL or an OOM kill, so live groups are also written to a
 * journal directory (one file per group: its id and the leader's start time); the next daemon
 * reaps what a killed one left behind before it claims anything (`reapOrphanedGroups`).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const liveGroups = new Set<number>();
let exitHookInstalled = false;
let journalDir: string | undefined;

/** Where live process groups are recorded (the daemon sets TINYAGI_HOME/run/agent-groups). */
export function setProcessJournal(dir: string | undefined): void {
  if (dir !== undefined) mkdirSync(dir, { recursive: true, mode: 0o700 });
  journalDir = dir;
}

/**
 * The start time of a process in clock ticks since boot (Linux /proc), which tells a process
 * from a later one that got the same pid. Undefined where /proc is not available.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may contain spaces, so count from its closing ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export interface ReapResult {
  /** Groups of a previous daemon that were still alive and were killed. */
  killed: number[];
  /** Journal entries whose group could not be verified as ours (not killed). */
  skipped: number[];
}

/**
 * Kills the process groups a previous daemon recorded and never saw end, and clears the
 * journal. A group is killed only when it is provably the same: its leader still has the
 * recorded start time, or the leader is gone while the group still has members (the kernel
 * does not hand out a pid while it is still a process group id). Anything else is left alone.
 */
export function reapOrphanedGroups(dir: string): ReapResult {
  const result: ReapResult = { killed: [], skipped: [] };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return result;
  }
  for (const name of names) {
    const path = join(dir, name);
    const pgid = Number(name);
    if (!Number.isInteger(pgid) || pgid <= 1) {
      rmSync(path, { force: true });
      continue;
    }
    let recorded = '';
    try {
      recorded = readFileSync(path, 'utf8').trim();
    } catch {
      // Unreadable: treat as unverifiable below.
    }
    const current = processStartTime(pgid);
    const leaderGone = current === undefined && process.platform === 'linux';
    const same = recorded !== '' && current === recorded;
    if ((same || leaderGone) && signalProcessGroup(pgid, 'SIGKILL')) result.killed.push(pgid);
    else if (!same && !leaderGone) result.skipped.push(pgid);
    rmSync(path, { force: true });
  }
  return result;
}

/** Sends `signal` to the whole group led by `pid`; false when the group is already gone (ESRCH). */
export function signalProcessGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function trackProcessGroup(pid: number): void {
  liveGroups.add(pid);
  if (journalDir !== undefined) {
    try {
      writeFileSync(join(journalDir, String(pid)), processStartTime(pid) ?? '', { mode: 0o600 });
    } catch {
      // The journal is a safety net for the next start; an agent still runs without it.
    }
  }
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const group of liveGroups) signalProcessGroup(group, 'SIGKILL');
    });
  }
}

export function untrackProcessGroup(pid: number): void {
  liveGroups.delete(pid);
  if (journalDir !== undefined) rmSync(join(journalDir, String(pid)), { force: true });
}

/**
 * Every agent CLI is spawned `detached`, so it leads its own process group and a kill reaches
 * the shells, test runners and servers it started too. Groups still alive when this process
 * exits are killed on the way out: a detached child would otherwise outlive the daemon and race
 * the retry of its own message (two processes for one agent).
 *
 * An exit hook does not run on SIGKILL or an OOM kill, so live groups are also written to a
 * journal (`groups.log` in the journal directory: `+<pgid> <leader start time>` when a group
 * starts, `-<pgid>` when it ends, appended through one open descriptor — a file per group cost
 * five system calls per agent run, measured under B0); the next daemon reaps what a killed one
 * left behind before it claims anything (`reapOrphanedGroups`). The journal is emptied whenever
 * no group is live and rewritten when it grows past 64 KiB.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const liveGroups = new Map<number, string>();
let exitHookInstalled = false;
let journal: { dir: string; fd: number; bytes: number } | undefined;
const JOURNAL_FILE = 'groups.log';
const JOURNAL_MAX_BYTES = 64 * 1024;

/** Where live process groups are recorded (the daemon sets TINYAGI_HOME/run/agent-groups). */
export function setProcessJournal(dir: string | undefined): void {
  if (journal !== undefined) closeSync(journal.fd);
  journal = undefined;
  if (dir === undefined) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  journal = { dir, fd: openSync(join(dir, JOURNAL_FILE), 'a', 0o600), bytes: 0 };
  if (liveGroups.size > 0) rewriteJournal(journal);
}

function appendJournal(line: string): void {
  if (journal === undefined) return;
  try {
    if (liveGroups.size === 0) {
      // Nothing live: the journal holds nothing worth keeping.
      ftruncateSync(journal.fd, 0);
      journal.bytes = 0;
      return;
    }
    if (journal.bytes > JOURNAL_MAX_BYTES) {
      rewriteJournal(journal);
      return;
    }
    journal.bytes += writeSync(journal.fd, line);
  } catch {
    // The journal is a safety net for the next start; an agent still runs without it.
  }
}

/** Replaces the journal with the live groups only (write aside, rename over, reopen). */
function rewriteJournal(j: { dir: string; fd: number; bytes: number }): void {
  const text = [...liveGroups].map(([pgid, start]) => `+${pgid} ${start}\n`).join('');
  const aside = join(j.dir, `${JOURNAL_FILE}.new`);
  writeFileSync(aside, text, { mode: 0o600 });
  renameSync(aside, join(j.dir, JOURNAL_FILE));
  closeSync(j.fd);
  j.fd = openSync(join(j.dir, JOURNAL_FILE), 'a', 0o600);
  j.bytes = Buffer.byteLength(text);
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
  for (const [pgid, recorded] of recordedGroups(dir)) {
    const current = processStartTime(pgid);
    const leaderGone = current === undefined && process.platform === 'linux';
    const same = recorded !== '' && current === recorded;
    if ((same || leaderGone) && signalProcessGroup(pgid, 'SIGKILL')) result.killed.push(pgid);
    else if (!same && !leaderGone) result.skipped.push(pgid);
  }
  return result;
}

/**
 * The groups a journal directory records as live (their leader's start time, '' if unknown),
 * and clears it: the journal file's `+`/`-` lines, and one file per group named by its id (the
 * format before 2026-11-22, still read so an upgrade reaps what the old daemon left).
 */
function recordedGroups(dir: string): Map<number, string> {
  const groups = new Map<number, string>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return groups;
  }
  for (const name of names) {
    const path = join(dir, name);
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      // Unreadable: an entry file counts as unverifiable below.
    }
    rmSync(path, { force: true });
    if (name === JOURNAL_FILE) {
      for (const line of text.split('\n')) {
        const [id, start] = line.slice(1).split(' ');
        const pgid = Number(id);
        if (!Number.isInteger(pgid) || pgid <= 1) continue;
        if (line.startsWith('+')) groups.set(pgid, start ?? '');
        else if (line.startsWith('-')) groups.delete(pgid);
      }
      continue;
    }
    const pgid = Number(name);
    if (Number.isInteger(pgid) && pgid > 1) groups.set(pgid, text.trim());
  }
  return groups;
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
  const start = journal === undefined ? '' : (processStartTime(pid) ?? '');
  liveGroups.set(pid, start);
  appendJournal(`+${pid} ${start}\n`);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const group of liveGroups.keys()) signalProcessGroup(group, 'SIGKILL');
    });
  }
}

export function untrackProcessGroup(pid: number): void {
  if (!liveGroups.delete(pid)) return;
  appendJournal(`-${pid}\n`);
}

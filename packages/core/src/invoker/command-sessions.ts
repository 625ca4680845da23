/**
 * The commands of a cancelled turn, stopped by TinyAGI itself (Linux /proc; elsewhere nothing is
 * found and nothing is done).
 *
 * Codex (0.169) runs every shell command as the leader of a session of its own (setsid:
 * `/bin/bash -c …`, or `codex-linux-sandbox` and bwrap in the workspace sandbox), so a kill of
 * the CLI's process group (cli-runner.ts, WarmProcess) never reaches it, and codex does not stop
 * it either: `turn/interrupt` ends the turn but leaves a command that is still running (or that
 * yielded to the background) alive, and `codex exec` ended by a cancel leaves its command
 * orphaned, running on for good. Codex's MCP servers are not session leaders (their own process
 * group inside codex's session), which tells them apart from commands.
 *
 * What belongs to a turn: for a warm process, the session leaders among its descendants (by
 * parent pid) that started after the turn began (`turnStartTicks`); for a spawned CLI, every
 * process whose environment carries the invocation's marker (`invocationMarker`), which is
 * inherited by everything it starts and survives the CLI's own death. Each is stopped with its
 * whole session and every descendant: SIGTERM, SIGKILL after a short grace, and waited for until
 * gone (a zombie is gone: it runs nothing, and its parent reaps it).
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

/** The variable that marks every process of one spawned CLI run (its value is unique per run). */
export const INVOCATION_VARIABLE = 'TINYAGI_CLI_INVOCATION';

/** How long stopped commands get to end on SIGTERM before SIGKILL, and how long SIGKILL is waited for. */
const TERM_GRACE_MS = 1_000;
const KILL_WAIT_MS = 2_000;
const POLL_MS = 20;

interface Proc {
  pid: number;
  ppid: number;
  sid: number;
  /** Start time in clock ticks since boot: tells a process from a later one with the same pid. */
  start: number;
  state: string;
}

/** A fresh marker for one spawned CLI run: `{ [INVOCATION_VARIABLE]: value }` goes into its environment. */
export function invocationMarker(): string {
  return randomUUID();
}

/** Now, in the clock ticks of a process's start time (/proc/uptime; USER_HZ is 100 on Linux); undefined without /proc. */
export function turnStartTicks(): number | undefined {
  try {
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return Number.isFinite(uptime) ? Math.floor(uptime * 100) : undefined;
  } catch {
    return undefined;
  }
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state ppid pgrp session … starttime (22nd).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, state: f[0] ?? '', ppid: Number(f[1]), sid: Number(f[3]), start: Number(f[19]) };
  } catch {
    return undefined;
  }
}

function allProcs(): Proc[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const procs: Proc[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const proc = readProc(Number(entry));
    if (proc) procs.push(proc);
  }
  return procs;
}

const alive = (p: Proc): boolean => p.state !== 'Z' && p.state !== 'X';

/** `seeds`, every process of the sessions they lead, and every descendant of all of these (by parent pid). */
function withFamilies(seeds: Proc[], procs: Proc[]): Proc[] {
  const leaders = new Set(seeds.filter((p) => p.sid === p.pid).map((p) => p.pid));
  const found = new Map<number, Proc>(seeds.map((p) => [p.pid, p]));
  for (const p of procs) if (leaders.has(p.sid)) found.set(p.pid, p);
  const children = new Map<number, Proc[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const queue = [...found.values()];
  for (let p = queue.pop(); p !== undefined; p = queue.pop()) {
    for (const child of children.get(p.pid) ?? []) {
      if (found.has(child.pid)) continue;
      found.set(child.pid, child);
      queue.push(child);
    }
  }
  return [...found.values()].filter(alive);
}

/** The session leaders among `root`'s descendants that started at or after `sinceTicks`: the commands of a warm CLI's turn. */
function commandLeaders(root: number, sinceTicks: number, procs: Proc[]): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const leaders: Proc[] = [];
  const queue = [...(children.get(root) ?? [])];
  for (let p = queue.pop(); p !== undefined; p = queue.pop()) {
    // A command's own children are its family (stopped with it), not more commands. Older
    // processes are looked through: the CLI itself may lead a session (codex's native binary
    // under its npm wrapper does), and an earlier turn's command is older and left running.
    if (p.sid === p.pid && p.start >= sinceTicks) leaders.push(p);
    else queue.push(...(children.get(p.pid) ?? []));
  }
  return leaders.filter(alive);
}

function hasMarker(pid: number, entry: string): boolean {
  try {
    return `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`.includes(`\0${entry}\0`);
  } catch {
    return false;
  }
}

/** Still the same process, and running (not a zombie). */
function stillRunning(p: Proc): boolean {
  const now = readProc(p.pid);
  return now !== undefined && now.start === p.start && alive(now);
}

function signal(procs: Proc[], sig: NodeJS.Signals): void {
  for (const p of procs) {
    // The pid may have been reused since it was read: only the same process is signalled.
    if (!stillRunning(p)) continue;
    try {
      process.kill(p.pid, sig);
    } catch {
      // Gone meanwhile, or not ours.
    }
  }
}

async function goneWithin(procs: Proc[], ms: number): Promise<Proc[]> {
  const deadline = Date.now() + ms;
  let left = procs.filter(stillRunning);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    left = left.filter(stillRunning);
  }
  return left;
}

/**
 * Stops `seeds` with their sessions and descendants: SIGTERM, then SIGKILL to whatever is left
 * (and what they started meanwhile), and waits until they are gone. Returns how many were stopped.
 */
async function stop(find: (procs: Proc[]) => Proc[]): Promise<number> {
  const first = find(allProcs());
  if (first.length === 0) return 0;
  signal(first, 'SIGTERM');
  const left = await goneWithin(first, TERM_GRACE_MS);
  // A family member forked after the first look is found again by its session or parent.
  const rest = left.length > 0 ? [...new Map([...left, ...find(allProcs())].map((p) => [p.pid, p])).values()] : find(allProcs());
  if (rest.length > 0) {
    signal(rest, 'SIGKILL');
    await goneWithin(rest, KILL_WAIT_MS);
  }
  return first.length;
}

/** Stops the commands a warm CLI (`root`, its process) started in sessions of their own since `sinceTicks`. */
export function stopTurnCommands(root: number | undefined, sinceTicks: number | undefined): Promise<number> {
  if (root === undefined || sinceTicks === undefined) return Promise.resolve(0);
  return stop((procs) => withFamilies(commandLeaders(root, sinceTicks, procs), procs));
}

/** Stops every process still carrying the invocation marker `value` (what a spawned CLI run left behind). */
export function stopMarkedProcesses(value: string): Promise<number> {
  const entry = `${INVOCATION_VARIABLE}=${value}`;
  return stop((procs) =>
    withFamilies(
      procs.filter((p) => p.pid !== process.pid && alive(p) && hasMarker(p.pid, entry)),
      procs,
    ),
  );
}

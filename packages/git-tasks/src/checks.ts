/**
 * A check's process in a worktree (docs/git-tasks.md): how the `command` check kind runs
 * (check-kinds/command/), and a worktree's setup. The result is what every check kind gives
 * (check-kinds/check-kind.ts). Contract:
 * - argv, never a shell; the process leads its own group (`detached`), and the whole group is
 *   SIGKILLed at the check's timeout, and also when the leader exits (a check's leftovers — a
 *   server it started, a watcher — must not outlive it or hold its output open). The group is in
 *   the daemon's process-group journal while it runs (../process-group.ts, as agent CLIs are), so
 *   one a killed daemon left behind is reaped by the next start;
 * - each result keeps the exit code (or the signal, or that it timed out), the duration, and a
 *   bounded log of stdout and stderr interleaved: the first `headBytes` and the last `tailBytes`,
 *   with the number of bytes left out between them;
 * - while it streams, each failing test's lines are kept wherever they are in the output, and
 *   `excerpt` is what a feedback message carries: their evidence and the end, within
 *   `EXCERPT_CHARS`, each cut said ("… 3,120 bytes cut …") (failure-excerpt.ts);
 * - `failureFingerprint` names a failure by the check, its exit code and its tail with what
 *   changes from run to run taken out, so the same failure is recognised the next time;
 * - `wrap` (the task's owner is sandboxed: docs/sandbox.md) turns the argv and environment into
 *   the confined process's before it starts; that process leads the group, so the journal and
 *   the timeout's kill are the same. A wrap that refuses (a `required` sandbox the machine cannot
 *   enforce) is a check that could not start.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { signalProcessGroup, trackProcessGroup, untrackProcessGroup } from './core.ts';
import { buildExcerpt, FailingUnits } from './failure-excerpt.ts';

export const DEFAULT_HEAD_BYTES = 8 * 1024;
export const DEFAULT_TAIL_BYTES = 32 * 1024;
/** How much of a check's output a feedback message carries (the excerpt's budget, in characters). */
export const EXCERPT_CHARS = 4_000;
/** After the leader exits, how long the pipes may stay open (held by a process that left the group) before they are closed. */
const DRAIN_AFTER_EXIT_MS = 2_000;

/** One check's result, whatever its kind. */
export interface CheckResult {
  name: string;
  /** What ran, as words: a command's program and arguments, another kind's own words. */
  argv: string[];
  /** The exit code, or null when the process was ended by a signal or never started. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Why the process could not start (e.g. `spawn pnpm ENOENT`). */
  spawnError?: string;
  ok: boolean;
  startedAt: number;
  durationMs: number;
  /** The head and the tail of the output; `omittedBytes` were left out between them. */
  log: string;
  /** The last `tailBytes` of the output alone (what a feedback message carries). */
  tail: string;
  totalBytes: number;
  omittedBytes: number;
  /** The failing lines with their context and the end, within `EXCERPT_CHARS`, each cut said. */
  excerpt: string;
}

/** A check's process as it would start, given to a `CheckWrap`. */
export interface CheckSpawn {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** What starts instead: `extraPipes` more pipes after stderr (the boundary's control pipe); `release` is called once it has exited. */
export interface WrappedCheckSpawn {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  extraPipes?: number;
  release?: () => void;
}

/** A process to run as a check (a `command` check, a worktree's setup): its name, its argument vector and its time limit. */
export interface ProcessCheck {
  name: string;
  /** The program and its arguments; absent or empty, nothing can start. */
  argv?: readonly string[] | undefined;
  timeoutMs: number;
}

/** Runs a check's process somewhere else than as the daemon (inside the task owner's boundary). */
export type CheckWrap = (spawn: CheckSpawn) => Promise<WrappedCheckSpawn>;

export interface RunCheckOptions {
  cwd: string;
  /** Confines each process (the task owner's sandbox); absent: the process runs as the daemon's child. */
  wrap?: CheckWrap;
  /** The environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  headBytes?: number;
  tailBytes?: number;
  /** The excerpt's budget (default `EXCERPT_CHARS`). */
  excerptChars?: number;
  /** Ends the check early (the daemon stopping); counted as a timeout. */
  signal?: AbortSignal;
}

/** Keeps the first `headBytes` and a rolling last `tailBytes` of a stream of chunks. */
class BoundedLog {
  private head: Buffer[] = [];
  private headLength = 0;
  private tail: Buffer[] = [];
  private tailLength = 0;
  total = 0;
  private readonly headBytes: number;
  private readonly tailBytes: number;
  private readonly failing = new FailingUnits();

  constructor(headBytes: number, tailBytes: number) {
    this.headBytes = headBytes;
    this.tailBytes = tailBytes;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    this.failing.push(chunk);
    if (this.headLength < this.headBytes) {
      const take = chunk.subarray(0, this.headBytes - this.headLength);
      this.head.push(take);
      this.headLength += take.length;
      chunk = chunk.subarray(take.length);
      if (chunk.length === 0) return;
    }
    this.tail.push(chunk);
    this.tailLength += chunk.length;
    while (this.tailLength - this.tail[0]!.length >= this.tailBytes) this.tailLength -= this.tail.shift()!.length;
  }

  result(excerptChars = EXCERPT_CHARS): { log: string; tail: string; omittedBytes: number; excerpt: string } {
    const head = Buffer.concat(this.head);
    let tail = Buffer.concat(this.tail);
    if (tail.length > this.tailBytes) tail = tail.subarray(tail.length - this.tailBytes);
    const omittedBytes = this.total - head.length - tail.length;
    const log = omittedBytes > 0 ? `${head.toString('utf8')}\n… ${omittedBytes} bytes left out …\n${tail.toString('utf8')}` : `${head.toString('utf8')}${tail.toString('utf8')}`;
    // The tail alone: the end of the output, head included when the whole output was short.
    const all = Buffer.concat([head, tail]);
    const tailOnly = omittedBytes > 0 || all.length > this.tailBytes ? tail : all;
    this.failing.finish();
    const tailText = tailOnly.toString('utf8');
    return { log, tail: tailText, omittedBytes, excerpt: buildExcerpt(this.failing, tailText, this.total, excerptChars) };
  }
}

function killGroup(pid: number): void {
  signalProcessGroup(pid, 'SIGKILL');
}

/** Runs one check to its end (or its timeout); never rejects: a check that cannot start is a failed result. */
export async function runCheck(check: ProcessCheck, options: RunCheckOptions): Promise<CheckResult> {
  const startedAt = Date.now();
  const started = performance.now();
  const [command, ...args] = check.argv ?? [];
  if (command === undefined) return checkNotStarted(check, 'a command check needs argv: the program and its arguments (e.g. ["pnpm", "test"])', startedAt, started);
  let spawnAs: WrappedCheckSpawn = { command, args, env: options.env ?? process.env };
  if (options.wrap !== undefined) {
    try {
      spawnAs = await options.wrap({ command, args, env: spawnAs.env, cwd: options.cwd });
    } catch (err) {
      return checkNotStarted(check, err instanceof Error ? err.message : String(err), startedAt, started);
    }
  }
  return spawnCheck({ ...check, argv: [command, ...args] }, options, spawnAs, startedAt, started);
}

/**
 * The result of a check that could not start (its process could not be made, its wrap refused,
 * its kind is not registered here): `spawnError` says why, so the Checking asks a person instead
 * of counting a round (checking-step.ts `couldNotStart`). `started` is `performance.now()` then.
 */
export function checkNotStarted(check: Pick<ProcessCheck, 'name' | 'argv'>, message: string, startedAt = Date.now(), started = performance.now()): CheckResult {
  const log = `${message}\n`;
  const bytes = Buffer.byteLength(log);
  return {
    name: check.name,
    argv: [...(check.argv ?? [])],
    exitCode: null,
    signal: null,
    timedOut: false,
    spawnError: message,
    ok: false,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    log,
    tail: log,
    totalBytes: bytes,
    omittedBytes: 0,
    excerpt: log,
  };
}

function spawnCheck(check: ProcessCheck & { argv: readonly string[] }, options: RunCheckOptions, spawnAs: WrappedCheckSpawn, startedAt: number, started: number): Promise<CheckResult> {
  const output = new BoundedLog(options.headBytes ?? DEFAULT_HEAD_BYTES, options.tailBytes ?? DEFAULT_TAIL_BYTES);
  return new Promise((resolve) => {
    let timedOut = false;
    let spawnError: string | undefined;
    let exit: { code: number | null; signal: string | null } | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    const stdio: Array<'ignore' | 'pipe'> = ['ignore', 'pipe', 'pipe', ...Array.from({ length: spawnAs.extraPipes ?? 0 }, () => 'pipe' as const)];
    const child = spawn(spawnAs.command, spawnAs.args, { cwd: options.cwd, env: spawnAs.env, detached: true, stdio, windowsHide: true });
    if (child.pid !== undefined) trackProcessGroup(child.pid);
    for (const pipe of child.stdio.slice(3)) pipe?.on('error', () => {});
    const timeout = (): void => {
      timedOut = true;
      if (child.pid !== undefined) killGroup(child.pid);
    };
    const timer = setTimeout(timeout, check.timeoutMs);
    options.signal?.addEventListener('abort', timeout, { once: true });
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk));
    child.on('error', (err) => {
      spawnError = err.message;
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // The wrap's extra pipes (the boundary's control pipe) carry nothing back: closed with the leader.
      for (const pipe of child.stdio.slice(3)) pipe?.destroy();
      // Whatever the leader left running in its group goes with it.
      if (child.pid !== undefined) killGroup(child.pid);
      drainTimer = setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
      }, DRAIN_AFTER_EXIT_MS);
    });
    child.on('close', (code, signal) => {
      // The group was killed with its leader's exit: nothing of it is left to reap.
      if (child.pid !== undefined) untrackProcessGroup(child.pid);
      spawnAs.release?.();
      clearTimeout(timer);
      clearTimeout(drainTimer);
      options.signal?.removeEventListener('abort', timeout);
      const exitCode = exit?.code ?? code;
      const exitSignal = exit?.signal ?? signal;
      const { log, tail, omittedBytes, excerpt } = output.result(options.excerptChars);
      const result: CheckResult = {
        name: check.name,
        argv: [...check.argv],
        exitCode: spawnError === undefined ? exitCode : null,
        signal: exitSignal,
        timedOut,
        ok: spawnError === undefined && !timedOut && exitCode === 0,
        startedAt,
        durationMs: Math.round(performance.now() - started),
        log: spawnError === undefined ? log : `${log}${spawnError}\n`,
        tail: spawnError === undefined ? tail : `${tail}${spawnError}\n`,
        totalBytes: output.total,
        omittedBytes,
        excerpt: spawnError === undefined ? excerpt : `${excerpt}${spawnError}\n`,
      };
      if (spawnError !== undefined) result.spawnError = spawnError;
      resolve(result);
    });
  });
}

/** How many lines of the tail a fingerprint reads (the end of a failure names it; earlier lines are progress). */
const FINGERPRINT_LINES = 30;

/**
 * The tail as a fingerprint reads it: the worktree's path (and other absolute paths' folders)
 * out, ANSI colours out, hex ids (7+ digits) and numbers (times, counts, pids, line:column of a
 * stack frame in a dependency) replaced, blank lines and spacing collapsed, the last 30 lines.
 */
export function normaliseTail(tail: string, worktreeDir?: string): string {
  let text = tail;
  if (worktreeDir !== undefined && worktreeDir !== '') text = text.split(worktreeDir).join('<worktree>');
  text = text
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences are what is removed.
    .replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/(?<![\w.>~-])(?:\/[^\s/:'"`()]+)+\/([^\s/:'"`()]+)/g, '<path>/$1')
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{7,}\b/gi, '<hex>')
    .replace(/\d+(?:\.\d+)?/g, 'N')
    .replace(/[ \t]+/g, ' ');
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return lines.slice(-FINGERPRINT_LINES).join('\n');
}

/** The same failure gives the same fingerprint: check name, how it ended, and the normalised tail. */
export function failureFingerprint(result: Pick<CheckResult, 'name' | 'exitCode' | 'timedOut' | 'tail'>, worktreeDir?: string): string {
  const ending = result.timedOut ? 'timeout' : `exit:${result.exitCode ?? 'none'}`;
  return createHash('sha256')
    .update(`${result.name}\0${ending}\0${normaliseTail(result.tail, worktreeDir)}`)
    .digest('hex')
    .slice(0, 32);
}

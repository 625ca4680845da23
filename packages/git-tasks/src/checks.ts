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
 * - while it streams, the lines that name a failure are kept with a few lines of context (TAP's
 *   `not ok` and its YAML block, vitest/jest `FAIL`/`✗`/`×`/`●`, pytest `FAILED`/`E   `/`___ name ___`,
 *   `error:` lines), bounded (`FAILING_KEPT_BYTES`), wherever they are in the output; `excerpt` is
 *   what a feedback message carries: those lines and the end, within `EXCERPT_CHARS`, each cut said
 *   ("… 3,120 bytes cut …");
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

export const DEFAULT_HEAD_BYTES = 8 * 1024;
export const DEFAULT_TAIL_BYTES = 32 * 1024;
/** How much of a check's output a feedback message carries (the excerpt's budget, in characters). */
export const EXCERPT_CHARS = 4_000;
/** At most this much of failing lines and their context is kept while a check streams. */
export const FAILING_KEPT_BYTES = 32 * 1024;
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

/** A line that names a failure in the test runners' outputs people meet most. */
const FAILING_LINE = [
  /^\s*not ok\b/, // TAP (tape, node:test)
  /^\s*(?:FAIL|FAILED|ERROR)\b/, // vitest/jest files, pytest's summary
  /^\s*(?:[✗×✕✖●]|❯.*\bFAIL\b)/u, // vitest/jest/mocha tests
  /^E {3}/, // pytest's assertion lines
  /^_{3,} .+ _{3,}\s*$/, // pytest's test headers
  /(?:^|[\s:[(])[A-Za-z]*(?:error|Error|ERROR)(?:\[[^\]]*\]| TS\d+)?:/, // error: / Error: / AssertionError: / error TS2345:
];
const LINES_BEFORE = 2;
const LINES_AFTER = 4;
/** A TAP YAML block (`  ---` … `  ...`) after `not ok` is kept whole up to this many lines. */
const YAML_LINES = 40;
/** A line longer than this is kept cut (a minified bundle's line names nothing). */
const LINE_BYTES = 400;

interface KeptLine {
  /** Byte offsets of the line in the whole output (end after its newline). */
  start: number;
  end: number;
  text: string;
}

/** Keeps, while the output streams, each failing line with the lines around it (bounded). */
class FailingLines {
  readonly kept: KeptLine[] = [];
  /** Failing lines seen after the bound was reached. */
  dropped = 0;
  private keptBytes = 0;
  private partial: Buffer[] = [];
  private partialLength = 0;
  private lineStart = 0;
  private before: KeptLine[] = [];
  private after = 0;
  private yaml = -1;
  private lastKept = '';
  private readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  push(chunk: Buffer): void {
    let from = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, from)) {
      this.addPart(chunk.subarray(from, nl + 1));
      this.endLine();
      from = nl + 1;
    }
    if (from < chunk.length) this.addPart(chunk.subarray(from));
  }

  /** The last line, when the output did not end with a newline. */
  finish(): void {
    if (this.partialLength > 0) this.endLine();
  }

  private addPart(part: Buffer): void {
    // Only the start of a long line is kept; its length still counts.
    if (this.partialLength < LINE_BYTES) this.partial.push(part.subarray(0, LINE_BYTES - this.partialLength));
    this.partialLength += part.length;
  }

  private endLine(): void {
    const line: KeptLine = {
      start: this.lineStart,
      end: this.lineStart + this.partialLength,
      text: Buffer.concat(this.partial)
        .toString('utf8')
        .replace(/\r?\n$/, ''),
    };
    this.lineStart = line.end;
    this.partial = [];
    this.partialLength = 0;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colours are taken out before matching.
    const plain = line.text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    if (this.yaml >= 0) {
      this.keep(line);
      if (/^\s*\.\.\.\s*$/.test(plain) || ++this.yaml >= YAML_LINES) this.yaml = -1;
      return;
    }
    if (FAILING_LINE.some((re) => re.test(plain))) {
      if (this.keptBytes >= this.maxBytes) {
        this.dropped += 1;
        return;
      }
      for (const earlier of this.before) this.keep(earlier);
      this.before = [];
      this.keep(line);
      this.after = LINES_AFTER;
      this.lastKept = plain;
      return;
    }
    if (this.after > 0) {
      this.after -= 1;
      this.keep(line);
      if (/^\s*not ok\b/.test(this.lastKept) && /^\s+---\s*$/.test(plain)) this.yaml = 0;
      this.lastKept = plain;
      return;
    }
    this.before.push(line);
    if (this.before.length > LINES_BEFORE) this.before.shift();
  }

  private keep(line: KeptLine): void {
    const last = this.kept[this.kept.length - 1];
    if (last !== undefined && line.start < last.end) return;
    this.kept.push(line);
    this.keptBytes += line.end - line.start;
  }
}

const cutLine = (n: number): string => `… ${n.toLocaleString('en-US')} bytes cut …`;

/**
 * The output as a feedback message carries it, within `budget` characters: the whole output when it
 * fits; else the failing lines kept (in order, about 60% of the budget) and the end (the rest), a
 * line saying how many bytes were cut wherever something was.
 */
function buildExcerpt(failing: FailingLines, end: string, total: number, budget: number): string {
  const endBytes = Buffer.byteLength(end);
  if (endBytes === total && end.length <= budget) return end;
  const shown = failing.kept;
  // The end first takes what the failing lines leave (they get at most 60%), and never less than 40%.
  let failingChars = 0;
  for (const line of shown) failingChars += line.text.length + 1;
  const forFailing = Math.min(failingChars, Math.floor(budget * 0.6));
  let endChars = budget - forFailing - 80;
  let endText = end.length > endChars ? end.slice(end.length - endChars) : end;
  // The end starts at a whole line when it can.
  const firstNl = endText.indexOf('\n');
  if ((endText.length < end.length || endBytes < total) && firstNl !== -1 && firstNl < endText.length - 1) endText = endText.slice(firstNl + 1);
  endChars = endText.length;
  const endStart = total - Buffer.byteLength(endText);
  const parts: string[] = [];
  let at = 0;
  let used = 0;
  for (const line of shown) {
    if (line.end > endStart) break;
    if (used + line.text.length + 1 > forFailing) break;
    if (line.start > at) parts.push(cutLine(line.start - at));
    parts.push(line.text);
    used += line.text.length + 1;
    at = line.end;
  }
  if (endStart > at) parts.push(cutLine(endStart - at) + (failing.dropped > 0 ? ` (${failing.dropped} more failing lines not kept)` : ''));
  return `${parts.join('\n')}${parts.length > 0 ? '\n' : ''}${endText}`;
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
  private readonly failing = new FailingLines(FAILING_KEPT_BYTES);

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

/**
 * Runs one agent CLI to completion under the invoker's rules: spawn with an argument array (no
 * shell), an explicit environment, the workspace as cwd, its own process group, a wall-clock
 * timeout and an inactivity watchdog (the start grace until the first output byte, the silence
 * limit after it) that kill the whole group (SIGTERM, then SIGKILL after a grace period; a cancel
 * of a CLI that ends its turn on an interrupt signal sends that first), and
 * bounded output buffers. stdout is handed to the runtime line by line as it
 * arrives; the runtime owns the format.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { BoundedTail, LineSplitter } from './bounded-text.ts';
import { addSpend, failureFromText, fromSandboxRefusal, InvokeError } from './invoke-error.ts';
import { signalProcessGroup, trackProcessGroup, untrackProcessGroup } from '../process-group.ts';
import { buildChildEnv } from './child-env.ts';
import { privateTempRoot } from './private-temp.ts';
import type { Boundary, WrappedSpawn } from '@tinyagi/sandbox';
import { runBoundary } from './agent-boundary.ts';
import { DEFAULT_EXIT_AFTER_RESULT_MS, DEFAULT_KILL_GRACE_MS, runLimits, type InvokeRequest, type InvokeUsage, type RunLimits } from './types.ts';
import { expiryError, startWatchdog, type WatchdogExpiry } from './watchdog.ts';

const STDERR_TAIL_CHARS = 64 * 1024;
const PLAIN_STDOUT_TAIL_CHARS = 64 * 1024;
/** One JSON event larger than this is dropped rather than buffered. */
const MAX_LINE_CHARS = 16 * 1024 * 1024;
/** After the CLI itself exited, how long a leftover child may keep our pipes open. */
const STDIO_DRAIN_MS = 2_000;

export interface CliRunOptions {
  /** For messages: "claude (agent coder)". */
  what: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Written to stdin, then stdin is closed; without it stdin is /dev/null. */
  input?: string;
  limits: RunLimits;
  killGraceMs: number;
  exitAfterResultMs: number;
  signal?: AbortSignal;
  busyElsewhere?: () => boolean;
  onLine: (line: string) => void;
  /** True once the runtime has seen the final result; the CLI then gets `exitAfterResultMs` to exit. */
  resultSeen?: () => boolean;
  /** What the CLI reported spending so far: a run the watchdog ends still records it. */
  spentSoFar?: () => { usage?: InvokeUsage | undefined; costUsd?: number | undefined };
  /**
   * A cancel sends this to the CLI first (Claude Code: SIGINT ends its turn with a result that
   * says what it spent; SIGTERM ends it silently); the group's SIGTERM follows if the CLI is still
   * there after the kill grace.
   */
  interruptSignal?: NodeJS.Signals;
  /** Shown when the executable is missing. */
  installHint: string;
  /** Start the CLI inside this boundary (docs/sandbox.md); `env` is then already the boundary's. */
  boundary?: Boundary | undefined;
}

export interface CliRunOutcome {
  exitCode: number | undefined;
  signal: string | undefined;
  stderrTail: string;
  /** stdout lines that are not JSON events: warnings and errors some CLIs print there. */
  plainStdoutTail: string;
  /** The CLI delivered its result but did not exit on its own, so its group was killed. */
  killedAfterResult: boolean;
}

type Termination = WatchdogExpiry | 'lingering';

export async function runCliProcess(opts: CliRunOptions): Promise<CliRunOutcome> {
  assertWorkspace(opts.cwd, opts.what);

  const stderrTail = new BoundedTail(STDERR_TAIL_CHARS);
  const plainStdoutTail = new BoundedTail(PLAIN_STDOUT_TAIL_CHARS);
  let termination: Termination | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  let interruptTimer: NodeJS.Timeout | undefined;
  let lingerTimer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;

  let wrapped: WrappedSpawn | undefined;
  if (opts.boundary) {
    try {
      wrapped = await opts.boundary.wrap({ command: opts.command, args: opts.args, env: opts.env, privateDir: privateTempRoot() });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return spawnFailure(opts, code, err);
      throw fromSandboxRefusal(err);
    }
  }
  // node:child_process directly: execa's per-spawn machinery was a third of the daemon's CPU per message (docs/profiling.md).
  const started = startChild(opts, wrapped);
  if ('code' in started) return spawnFailure(opts, started.code, started.cause);
  const child = started.child;
  const pid = child.pid;

  const kill = (): void => {
    if (pid === undefined) return;
    signalProcessGroup(pid, 'SIGTERM');
    graceTimer = setTimeout(() => signalProcessGroup(pid, 'SIGKILL'), opts.killGraceMs);
  };
  const terminate = (why: Termination): void => {
    if (termination || pid === undefined) return;
    termination = why;
    if (why === 'cancelled' && opts.interruptSignal) {
      // The CLI alone (it stops its own tools): its group may hold what carries its output (a wrapper's `tee`).
      // Inside the boundary the CLI is not this process: the boundary finds it.
      try {
        if (wrapped) wrapped.interrupt(child, opts.interruptSignal);
        else process.kill(pid, opts.interruptSignal);
      } catch {
        // Gone already: its exit ends the run.
      }
      // It gets the kill grace to end its turn (and say what it spent), then SIGTERM.
      interruptTimer = setTimeout(kill, opts.killGraceMs);
      return;
    }
    kill();
  };
  const watchdog = startWatchdog({ limits: opts.limits, signal: opts.signal, onExpire: terminate, isBusy: opts.busyElsewhere });
  if (pid !== undefined) trackProcessGroup(pid);

  const lines = new LineSplitter(
    MAX_LINE_CHARS,
    (line) => {
      if (!line.trimStart().startsWith('{')) plainStdoutTail.append(`${line}\n`);
      opts.onLine(line);
      if (!lingerTimer && opts.resultSeen?.()) {
        lingerTimer = setTimeout(() => terminate('lingering'), opts.exitAfterResultMs);
      }
    },
    () => stderrTail.append(`[tinyagi: dropped an output line longer than ${MAX_LINE_CHARS} characters]\n`),
  );
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    watchdog.touch();
    lines.push(chunk);
  });
  child.stderr?.on('data', (chunk: string) => {
    watchdog.touch();
    stderrTail.append(chunk);
  });
  child.once('exit', () => {
    if (pid !== undefined) drainTimer = setTimeout(() => signalProcessGroup(pid, 'SIGKILL'), STDIO_DRAIN_MS);
  });
  // A CLI that exits without reading all of its stdin closes the pipe under us (EPIPE): not our failure.
  child.stdin?.on('error', () => {});
  if (opts.input !== undefined) child.stdin?.end(opts.input);

  const result = await new Promise<{ exitCode: number | undefined; signal: string | undefined; code?: string; cause?: unknown }>((resolve) => {
    // Only a failed spawn (no pid: ENOENT, EACCES) ends the run here; later errors are failed kills, and 'close' still comes.
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (pid === undefined) resolve({ exitCode: undefined, signal: undefined, code: err.code ?? 'UNKNOWN', cause: err });
    });
    child.once('close', (code, signal) => resolve({ exitCode: code ?? undefined, signal: signal ?? undefined }));
  });
  lines.end();
  wrapped?.release();
  watchdog.dispose();
  clearTimeout(interruptTimer);
  clearTimeout(graceTimer);
  clearTimeout(lingerTimer);
  clearTimeout(drainTimer);
  if (pid !== undefined) {
    // The leader is gone; members that ignored SIGTERM (or kept running after a kill) go now.
    if (termination) signalProcessGroup(pid, 'SIGKILL');
    untrackProcessGroup(pid);
  }

  if (result.code !== undefined) return spawnFailure(opts, result.code, result.cause);
  // A deadline that passes after the final result only cuts short a CLI that would not exit.
  const resultSeen = opts.resultSeen?.() === true;
  if (termination === 'cancelled' || (termination && termination !== 'lingering' && !resultSeen)) {
    const spent = opts.spentSoFar?.();
    throw addSpend(expiryError(termination, opts.limits, opts.what, stderrTail.toString()), spent?.usage, spent?.costUsd);
  }
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    stderrTail: stderrTail.toString(),
    plainStdoutTail: plainStdoutTail.toString(),
    killedAfterResult: termination !== undefined && resultSeen,
  };
}

/** Spawns the CLI (or the boundary's launcher); failures libuv reports synchronously (E2BIG, …) come back as a code. */
function startChild(opts: CliRunOptions, wrapped: WrappedSpawn | undefined): { child: ChildProcess } | { code: string; cause: unknown } {
  try {
    const stdin = opts.input === undefined ? 'ignore' : 'pipe';
    const child = spawn(wrapped?.command ?? opts.command, wrapped?.args ?? opts.args, {
      cwd: opts.cwd,
      env: wrapped?.env ?? opts.env,
      detached: true,
      // Inside the boundary, fd 3 is sandbox-init's control pipe.
      stdio: wrapped ? [stdin, 'pipe', 'pipe', 'pipe'] : [stdin, 'pipe', 'pipe'],
      windowsHide: true,
    });
    if (wrapped) (child.stdio[wrapped.controlFd] as (NodeJS.WritableStream & { on(e: 'error', l: () => void): void }) | null)?.on('error', () => {});
    return { child };
  } catch (err) {
    return { code: (err as NodeJS.ErrnoException).code ?? 'UNKNOWN', cause: err };
  }
}

/** A CLI that could not be started at all. */
function spawnFailure(opts: CliRunOptions, code: string, cause: unknown): never {
  throw spawnFailureError(opts, code, cause);
}

/** Why a CLI's process could not be started (per message and warm alike): not installed and too large are permanent. */
export function spawnFailureError(opts: { what: string; command: string; installHint?: string | undefined }, code: string, cause: unknown): InvokeError {
  if (code === 'E2BIG') {
    // The kernel refused argv + environment as too large: the same request fails the same way every time.
    return new InvokeError('permanent', `${opts.what}: the request is too large to start "${opts.command}" (E2BIG: arguments and environment exceed the system limit).`, {
      code: 'INPUT_TOO_LARGE',
      hint: 'Shorten the message, or the provider environment variables of this agent.',
      cause,
    });
  }
  if (code === 'ENOENT' || code === 'EACCES') {
    // Not installed is not transient: said as such, never retried.
    const why = code === 'ENOENT' ? "is not installed on this machine (not found on the daemon's PATH)" : "is not executable by the daemon's user";
    return new InvokeError('permanent', `${opts.what}: "${opts.command}" ${why} (${code}).`, { code: 'PROVIDER_CONFIG_INVALID', hint: opts.installHint, cause });
  }
  return new InvokeError('retryable', `${opts.what}: cannot start "${opts.command}" (${code}).`, { cause });
}

/** A missing workspace is the agent's settings' fault, said as such (spawn would blame the CLI install with ENOENT). */
export function assertWorkspace(cwd: string, what: string): void {
  // spawn reports a missing cwd as ENOENT of the command, which would blame the CLI install.
  // One local stat, synchronous: cheaper than a thread-pool round trip before every spawn.
  let isDirectory = false;
  try {
    isDirectory = statSync(cwd).isDirectory();
  } catch {}
  if (!isDirectory) {
    throw new InvokeError('permanent', `${what}: workspace directory ${cwd} does not exist.`, {
      code: 'INVALID_PATH',
      hint: "Check the agent's working_directory, or let tinyagi provision the workspace again.",
    });
  }
}

/**
 * The failure for a CLI run that ended badly: `detail` is the CLI's own error event, if any.
 * Rate limits are recognised from that and stderr only, never from the model's reply text.
 */
export function cliFailure(what: string, outcome: CliRunOutcome, detail?: string): InvokeError {
  const tail = outcome.stderrTail.trim();
  const plain = outcome.plainStdoutTail.trim();
  // Killed by a signal: that is the cause; its last stderr line was written before and is unrelated.
  const killed = outcome.exitCode === undefined;
  const status = killed ? `was killed (signal ${outcome.signal ?? 'unknown'})` : `failed (exit code ${outcome.exitCode})`;
  const summary = detail ?? (killed ? '' : lastLine(tail) || lastLine(plain));
  return failureFromText(`${what} ${status}${summary ? `: ${summary}` : '.'}`, `${detail ?? ''}\n${tail}\n${plain}`, {
    exitCode: outcome.exitCode,
    ...(outcome.signal ? { signal: outcome.signal } : {}),
    stderrTail: tail === '' ? undefined : tail,
  });
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const last = lines.at(-1) ?? '';
  return last.length > 500 ? `${last.slice(0, 500)}…` : last;
}

export interface CliRuntimeDefaults {
  binary: string;
  installHint: string;
  /** Variables the runtime itself sets (IS_SANDBOX, OPENCODE_CONFIG, …). */
  runtimeEnv?: Record<string, string>;
}

/**
 * The parts of `CliRunOptions` that every CLI runtime derives from the request the same way, the
 * boundary among them (an agent set to `sandbox: "on"` on a machine that cannot enforce it runs
 * unconfined and its run says why; `required` throws instead).
 */
export function cliRunBase(req: InvokeRequest, defaults: CliRuntimeDefaults): Omit<CliRunOptions, 'args' | 'onLine' | 'input' | 'resultSeen'> {
  const what = `${defaults.binary} (agent ${req.agentId})`;
  const boundary = runBoundary(req);
  const env = buildChildEnv({
    agentId: req.agentId,
    cwd: req.cwd,
    provider: req.target.env,
    runtime: defaults.runtimeEnv,
    request: req.env,
  });
  return {
    what,
    command: req.target.command ?? defaults.binary,
    cwd: req.cwd,
    env: boundary ? boundary.env(env) : env,
    boundary,
    limits: runLimits(req),
    killGraceMs: req.target.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    exitAfterResultMs: req.target.exitAfterResultMs ?? DEFAULT_EXIT_AFTER_RESULT_MS,
    signal: req.signal,
    busyElsewhere: req.busyElsewhere,
    installHint: defaults.installHint,
  };
}

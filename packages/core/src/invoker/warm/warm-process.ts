/**
 * A long-lived agent CLI process under the invoker's rules (cli-runner.ts runs one to its end;
 * this keeps one open): an argument array (no shell), an explicit environment, the workspace as
 * cwd, its own process group (tracked, so the daemon's exit and the next start's reaper end
 * it), stdout handed over line by line, a bounded stderr tail, and a close that ends the whole
 * group (SIGTERM, SIGKILL after the grace period).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { BoundedTail, LineSplitter } from '../bounded-text.ts';
import { fromSandboxRefusal } from '../invoke-error.ts';
import { assertWorkspace, spawnFailureError } from '../cli-runner.ts';
import { privateTempRoot } from '../private-temp.ts';
import { signalProcessGroup, trackProcessGroup, untrackProcessGroup } from '../../process-group.ts';
import type { Boundary, WrappedSpawn } from '@tinyagi/sandbox';

const STDERR_TAIL_CHARS = 64 * 1024;
/** One protocol message larger than this is dropped rather than buffered. */
const MAX_LINE_CHARS = 16 * 1024 * 1024;

export interface WarmProcessOptions {
  what: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  killGraceMs: number;
  /** Shown when the executable is missing. */
  installHint: string;
  onLine: (line: string) => void;
  /** Any output at all (stdout or stderr): a sign of life. */
  onActivity?: () => void;
  /** Start the process inside this boundary (docs/sandbox.md; once per warm process); `env` is then already the boundary's. */
  boundary?: Boundary | undefined;
  /** Ports the process serves on its loopback that the daemon reads (OpenCode's API): reachable from here inside the boundary too. */
  inboundPorts?: readonly number[] | undefined;
}

export interface WarmExit {
  code: number | undefined;
  signal: string | undefined;
}

export class WarmProcess {
  readonly what: string;
  readonly #child: ChildProcess;
  readonly #stderr = new BoundedTail(STDERR_TAIL_CHARS);
  readonly #killGraceMs: number;
  #exit: WarmExit | undefined;
  #closing = false;
  readonly exited: Promise<WarmExit>;

  private constructor(opts: WarmProcessOptions, child: ChildProcess, release: () => void) {
    this.what = opts.what;
    this.#child = child;
    this.#killGraceMs = opts.killGraceMs;
    const pid = child.pid;
    if (pid !== undefined) trackProcessGroup(pid);
    const lines = new LineSplitter(MAX_LINE_CHARS, opts.onLine, () => this.#stderr.append(`[tinyagi: dropped an output line longer than ${MAX_LINE_CHARS} characters]\n`));
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      opts.onActivity?.();
      lines.push(chunk);
    });
    child.stderr?.on('data', (chunk: string) => {
      opts.onActivity?.();
      this.#stderr.append(chunk);
    });
    // Writing to a process that died closes the pipe under us (EPIPE): the exit says what happened.
    child.stdin?.on('error', () => {});
    this.exited = new Promise<WarmExit>((resolve) => {
      child.once('close', (code, signal) => {
        lines.end();
        if (pid !== undefined) {
          // The leader is gone; whatever it started goes with it.
          signalProcessGroup(pid, 'SIGKILL');
          untrackProcessGroup(pid);
        }
        release();
        this.#exit = { code: code ?? undefined, signal: signal ?? undefined };
        resolve(this.#exit);
      });
    });
  }

  /** Spawns the process; a missing executable or workspace is a permanent InvokeError, as for a spawned CLI. */
  static async start(opts: WarmProcessOptions): Promise<WarmProcess> {
    assertWorkspace(opts.cwd, opts.what);
    let wrapped: WrappedSpawn | undefined;
    if (opts.boundary) {
      try {
        wrapped = await opts.boundary.wrap({ command: opts.command, args: opts.args, env: opts.env, privateDir: privateTempRoot(), inboundPorts: opts.inboundPorts });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw spawnFailureError(opts, code, err);
        throw fromSandboxRefusal(err);
      }
    }
    let child: ChildProcess;
    try {
      child = spawn(wrapped?.command ?? opts.command, wrapped?.args ?? opts.args, {
        cwd: opts.cwd,
        env: wrapped?.env ?? opts.env,
        detached: true,
        // Inside the boundary, fd 3 is sandbox-init's control pipe (unused here: a warm process is closed, not interrupted).
        stdio: wrapped ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (err) {
      throw spawnFailureError(opts, (err as NodeJS.ErrnoException).code ?? 'UNKNOWN', err);
    }
    const release = (): void => wrapped?.release();
    return new Promise((resolve, reject) => {
      child.once('spawn', () => resolve(new WarmProcess(opts, child, release)));
      child.once('error', (err: NodeJS.ErrnoException) => {
        if (child.pid !== undefined) return;
        release();
        reject(spawnFailureError(opts, err.code ?? 'UNKNOWN', err));
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** The exit, once the process has gone. */
  get exit(): WarmExit | undefined {
    return this.#exit;
  }

  get stderrTail(): string {
    return this.#stderr.toString();
  }

  /** Writes one protocol line (a newline is added); false when the process is gone. */
  writeLine(line: string): boolean {
    const stdin = this.#child.stdin;
    if (this.#exit || !stdin || stdin.destroyed || !stdin.writable) return false;
    stdin.write(`${line}\n`);
    return true;
  }

  /** Closes stdin (most CLIs exit on EOF), then SIGTERM to the group after `politeMs`, then SIGKILL after the grace period. */
  async close(politeMs = 1_000): Promise<WarmExit> {
    if (this.#exit) return this.#exit;
    const pid = this.#child.pid;
    if (!this.#closing && pid !== undefined) {
      this.#closing = true;
      this.#child.stdin?.end();
      const term = setTimeout(() => signalProcessGroup(pid, 'SIGTERM'), politeMs);
      const kill = setTimeout(() => signalProcessGroup(pid, 'SIGKILL'), politeMs + this.#killGraceMs);
      void this.exited.then(() => {
        clearTimeout(term);
        clearTimeout(kill);
      });
    }
    return this.exited;
  }

  /**
   * Resident memory of the process and all its descendants (bytes), summed from /proc; undefined
   * where /proc is not readable. The tree, not the process group: a CLI may start children in
   * groups of their own (Codex's MCP servers, `tinyagi mcp` among them).
   */
  memoryBytes(): number | undefined {
    const pid = this.#child.pid;
    if (pid === undefined || this.#exit) return undefined;
    return treeRssBytes(pid);
  }
}

/** Sum of VmRSS of `root` and every process descended from it by parent pid (Linux /proc). */
function treeRssBytes(root: number): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const children = new Map<number, number[]>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (which may hold spaces and parentheses): state ppid pgrp …
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const siblings = children.get(ppid);
      if (siblings) siblings.push(Number(entry));
      else children.set(ppid, [Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  let total = 0;
  let found = false;
  const queue = [root];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    queue.push(...(children.get(pid) ?? []));
    try {
      const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (rss) {
        total += Number(rss[1]) * 1024;
        found = true;
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return found ? total : undefined;
}

/**
 * Running the real `tinyagi` CLI (from source, no build) in a temp TINYAGI_HOME with its own
 * HOME (so `~/tinyagi-workspace` lands in the temp dir) and a free API port.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../src/bin.ts', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface TestHome {
  root: string;
  home: string;
  port: number;
  env: Record<string, string>;
  run(args: string[], options?: { env?: Record<string, string>; input?: string; timeoutMs?: number }): Promise<CliResult>;
  /** Runs and asserts exit code 0, returning stdout. */
  ok(args: string[], options?: { env?: Record<string, string> }): Promise<string>;
  cleanup(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Starts a long-running CLI command (e.g. `chatroom -f`); the caller stops it. */
export function spawnCli(args: string[], env: Record<string, string>): { child: ReturnType<typeof spawn>; output: () => string } {
  const child = spawn(process.execPath, ['--conditions=tinyagi-source', BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

export function runCli(args: string[], env: Record<string, string>, options: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=tinyagi-source', BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tinyagi ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export async function makeHome(): Promise<TestHome> {
  const root = mkdtempSync(join(tmpdir(), 'tinyagi-cli-'));
  const home = join(root, 'home');
  const port = await freePort();
  const env: Record<string, string> = {
    // Only node's directory: no agent CLI is found, so first-run defaults pick the mock provider.
    PATH: dirname(process.execPath),
    HOME: root,
    TINYAGI_HOME: home,
    TINYAGI_API_PORT: String(port),
    NO_COLOR: '1',
  };
  const t: TestHome = {
    root,
    home,
    port,
    env,
    run: (args, options = {}) => runCli(args, { ...env, ...options.env }, options),
    async ok(args, options = {}) {
      const result = await runCli(args, { ...env, ...options.env });
      if (result.code !== 0) throw new Error(`tinyagi ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
      return result.stdout;
    },
    async cleanup() {
      await runCli(['stop', '--timeout', '10'], env).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
  return t;
}

/** Polls `check` every 50 ms until it returns a value or the deadline passes. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // an exited but unreaped process counts as gone
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

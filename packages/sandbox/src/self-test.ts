/**
 * The daemon's start-up self-test of the boundary (docs/sandbox.md, "A status that tells the
 * truth"): a probe (core's sandbox/probe.mjs) runs inside the boundary exactly as an agent's CLI
 * would (the same launcher, cgroup, bwrap arguments and sandbox-init bridges) and must
 * - fail to read a file planted in a hidden directory (the TinyAGI home),
 * - fail to write outside its workspace (the hidden home, the user's home as HOME and the
 *   password database name it, the workspace root)
 *   and succeed inside it,
 * - fail to connect to a listener on the host's loopback that is not bridged, and to a public
 *   address, while the bridged port answers,
 * - not find any of the daemon's secrets (a planted canary, the API token, the providers' keys)
 *   in its environment, in /proc or in the files that hold them,
 * - see a PID namespace of its own,
 * - fail to open the kernel's settings for writing (`/proc/sys/kernel/core_pattern`,
 *   `/proc/sysrq-trigger`, `/sys`: a root daemon's sandbox is root inside);
 * and its processes must be in the agent's memory cgroup. The node records the result on its
 * sandbox host (host.ts `recordCheck`) for every spawn there; core shows it per agent (status.ts).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { SANDBOX_ROOT } from './package-root.ts';
import { accountHome, Boundary, cliCredentialFiles } from './boundary.ts';
import type { SandboxHost } from './host.ts';
import { DEFAULT_SANDBOX_MEMORY_MB, sandboxRunDir } from './spec.ts';
import { bwrapMissing, bwrapProblem, EMPTY_SANDBOX_ARGS, findBwrap, platformProblem, type MachineCheck, type SelfTestCheck } from './machine.ts';

export const PROBE = join(SANDBOX_ROOT, 'bin', 'probe.mjs');

/**
 * The kernel's settings the probe tries to open for writing (and closes unwritten): each must
 * refuse. `core_pattern` is the one a sandbox running as host root would turn into a program
 * the kernel runs as root on the next crash.
 */
export const KERNEL_WRITE_PROBES = [
  '/proc/sys/kernel/core_pattern',
  '/proc/sys/kernel/randomize_va_space',
  '/proc/sysrq-trigger',
  '/sys/kernel/uevent_helper',
  '/sys/kernel/mm/transparent_hugepage/enabled',
];
/** The self-test's agent id: not a valid agent id, so no agent's directories are touched. */
export const SELF_TEST_AGENT = '.self-test';

export interface SelfTestOptions {
  /** The host the probe starts on (its cgroup, bridges and network are released after the test). */
  host: SandboxHost;
  tinyHome: string;
  workspaceRoot: string;
  /** The daemon's environment (PATH finds bwrap; HOME is the user's home). */
  env?: NodeJS.ProcessEnv;
  /** Values no agent may find: the API token, the providers' keys (a canary is added). */
  secrets?: readonly string[];
  memoryMb?: number;
  /** For the whole test (default 20 s: a loaded machine). */
  timeoutMs?: number;
}

export async function runSelfTest(opts: SelfTestOptions): Promise<MachineCheck> {
  const env = opts.env ?? process.env;
  const started = Date.now();
  const base = { checks: [] as SelfTestCheck[], source: 'self-test' as const, checkedAt: started };
  const noMemory = (reason: string) => ({ ok: false as const, reason });
  const platform = platformProblem();
  if (platform) return { ...base, ok: false, problem: platform, memory: noMemory(platform.reason) };
  const bwrap = findBwrap(env);
  if (!bwrap) return { ...base, ok: false, problem: bwrapMissing(), memory: noMemory('bwrap is not installed') };
  const empty = await run(bwrap, EMPTY_SANDBOX_ARGS, { PATH: env.PATH ?? '' }, opts.timeoutMs ?? 20_000);
  if (empty.code !== 0) return { ...base, ok: false, bwrap, problem: bwrapProblem(bwrap, empty.stderr.trim(), empty.code), memory: noMemory('no sandbox') };

  // Per process: doctor's self-test may run beside the daemon's.
  const dir = join(opts.tinyHome, 'run', `sandbox-self-test-${process.pid}`);
  const workspace = join(dir, 'workspace');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(workspace, { recursive: true, mode: 0o700 });
  const canary = `tinyagi-canary-${randomBytes(16).toString('hex')}`;
  const planted = join(dir, 'planted-secret');
  writeFileSync(planted, `${canary}\n`, { mode: 0o600 });
  const home = env.HOME ?? '';
  // HOME and the account's home in the password database, when HOME names another folder.
  const account = accountHome();
  const homes = [...new Set([home, account].filter((h): h is string => h !== undefined && h !== ''))];
  const writeOutside = [join(dir, 'written-from-sandbox'), ...homes.map((h) => join(h, `.tinyagi-sandbox-write-test-${process.pid}`)), join(opts.tinyHome, `written-from-sandbox-${process.pid}`)];
  if (existsSync(opts.workspaceRoot)) writeOutside.push(join(opts.workspaceRoot, `.written-from-sandbox-${process.pid}`));
  const secretFiles = [planted, join(opts.tinyHome, 'settings.json'), join(opts.tinyHome, 'api-token'), ...homes.flatMap((h) => cliCredentialFiles(opts.host.cliHomes()).map((file) => join(h, file)))];

  // A listener the sandbox must not reach, and one it reaches through its bridge (as it reaches the API).
  const refused = await listen((socket) => socket.end('leak\n'));
  const bridged = await listen((socket) => socket.end('pong\n'));
  const memoryMb = opts.memoryMb ?? DEFAULT_SANDBOX_MEMORY_MB;
  const machine: MachineCheck = { ...base, ok: true, bwrap, memory: { ok: true } };
  const boundary = new Boundary(opts.host, SELF_TEST_AGENT, { mode: 'required', tinyHome: opts.tinyHome, workspaceRoot: opts.workspaceRoot, memoryMb }, workspace, machine);
  const checks: SelfTestCheck[] = [];
  let memory: MachineCheck['memory'] = { ok: true };
  let release: (() => void) | undefined;
  // Why the agent network's holder ended, when it ended while the probe ran (a probe that found it gone says only that).
  const endedBefore = opts.host.nets.ended(boundary.runDir);
  let holderEnded = '';
  try {
    const childEnv = boundary.env({ PATH: env.PATH ?? '', HOME: home, LANG: env.LANG ?? 'C.UTF-8', TINYAGI_API_URL: `http://127.0.0.1:${port(bridged)}` });
    const wrapped = await boundary.wrap({ command: process.execPath, args: [PROBE], env: childEnv });
    release = wrapped.release;
    const cgroup = opts.host.cgroups.forAgent(SELF_TEST_AGENT, memoryMb);
    const child = spawn(wrapped.command, wrapped.args, { cwd: workspace, env: wrapped.env, detached: true, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdin?.on('error', () => {});
    const exited = new Promise<number | null>((resolve) => {
      child.once('error', () => resolve(null));
      child.once('close', (code) => resolve(code));
    });
    const timer = setTimeout(() => killGroup(child.pid), opts.timeoutMs ?? 20_000);
    if (cgroup.ok) {
      const joined = await until(() => readFileSync(cgroup.procs, 'utf8').trim() !== '', exited);
      memory = joined ? { ok: true } : { ok: false, reason: `the probe did not join the cgroup ${cgroup.dir}` };
    } else memory = { ok: false, reason: cgroup.reason };
    child.stdin?.end(
      `${JSON.stringify({
        hidden: [planted],
        writeOutside,
        workspaceFile: join(workspace, 'written-inside'),
        refuse: [
          { host: '127.0.0.1', port: port(refused) },
          { host: '1.1.1.1', port: 443 },
        ],
        bridge: { host: '127.0.0.1', port: port(bridged), expect: 'pong' },
        secrets: [canary, ...(opts.secrets ?? [])],
        secretFiles,
        kernel: KERNEL_WRITE_PROBES,
      })}\n`,
    );
    const code = await exited;
    clearTimeout(timer);
    const ended = opts.host.nets.ended(boundary.runDir);
    if (ended !== endedBefore) holderEnded = `; ${ended}`;
    const line = stdout.split('\n').find((l) => l.startsWith('{'));
    if (code !== 0 || !line) {
      return {
        ...machine,
        ok: false,
        memory,
        problem: {
          reason: `the self-test's probe did not run inside the boundary (exit ${code ?? 'signal'}): ${lastLines(stderr) || 'no output'}${holderEnded}`,
          fix: 'run `tinyagi doctor` and check the daemon log',
        },
      };
    }
    // A write outside the workspace is judged here, by what reached the host: inside, a path under
    // /tmp (a home in /tmp) lands in the sandbox's own tmpfs and is gone with it, which is no leak.
    for (const check of (JSON.parse(line) as { checks: SelfTestCheck[] }).checks) {
      if (check.name !== 'write-outside') checks.push(check);
    }
    for (const path of writeOutside) {
      if (existsSync(path)) {
        checks.push({ name: 'write-outside', ok: false, detail: `${path} was written from inside` });
        rmSync(path, { force: true });
      } else checks.push({ name: 'write-outside', ok: true, detail: `${path}: not written` });
    }
    if (!existsSync(join(workspace, 'written-inside'))) checks.push({ name: 'write-workspace', ok: false, detail: 'what was written in the workspace did not reach it' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    refused.close();
    bridged.close();
    // Its network's holder, its bridges and its cgroup have nothing more to carry.
    await opts.host.releaseAgent(SELF_TEST_AGENT, boundary.runDir);
    release?.();
  }
  const failed = checks.filter((c) => !c.ok);
  if (failed.length > 0) {
    return {
      ...machine,
      ok: false,
      checks,
      memory,
      problem: {
        reason: `the self-test found the boundary open: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}${holderEnded}`,
        fix: 'report this with `tinyagi doctor`\'s output; set the agents\' sandbox to "off" or keep them "required" (they will not run)',
      },
    };
  }
  return { ...machine, checks, memory, checkedAt: Date.now() };
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' ').slice(0, 500);
}

function port(server: Server): number {
  return (server.address() as AddressInfo).port;
}

function listen(handler: (socket: import('node:net').Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.unref();
      resolve(server);
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {}
}

/** Waits (on the event loop, checking each tick) until `test` holds or `end` settles. */
async function until(test: () => boolean, end: Promise<unknown>): Promise<boolean> {
  let ended = false;
  void end.then(() => (ended = true));
  for (let i = 0; i < 100_000; i++) {
    try {
      if (test()) return true;
    } catch {}
    if (ended) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
  return false;
}

function run(command: string, args: readonly string[], env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, stderr: err.message });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** The run dir of the self-test (for cleanup by tests). */
export function selfTestRunDir(tinyHome: string): string {
  return sandboxRunDir(tinyHome, SELF_TEST_AGENT);
}

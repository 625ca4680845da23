/**
 * The filesystem and process boundary of a sandboxed agent (docs/sandbox.md, "The boundary"):
 * each CLI process of the agent (once per warm process, not per turn) starts inside `bwrap`
 * (Debian's bubblewrap) with
 * - the whole file system read-only, a private /tmp, /var/tmp and /run (no host sockets: Docker's,
 *   the SSH agent's, the database's), its own /proc (PID namespace) with the kernel's settings
 *   read-only (KERNEL_PATHS) and a minimal /dev;
 * - its workspace read-write; when that is a task's git worktree, what a commit needs of the
 *   repository (git-worktree.ts: its admin folder, objects, the branch's ref folder);
 * - hidden (an empty tmpfs, or /dev/null for a file, in their place): the user's credentials
 *   (`~/.ssh`, `~/.aws`, `~/.config/gh`, …) and the user's CLI homes (each runtime's `home`: `~/.claude`, …)
 *   under HOME and under the account's home in the password database,
 *   the TinyAGI home and the workspace root (other agents' workspaces);
 * - a private home of its own, `<TINYAGI_HOME>/agent-homes/<agent>`, read-write and bound at the
 *   same path (so the daemon reads what the CLI writes there, its transcripts among them): HOME,
 *   the CLIs' config homes (each runtime's `home.variables`) and the XDG directories point into it;
 * - no network but the agent's own loopback (agent-net.ts: one network per agent, which each start
 *   enters), where ports are bridged to Unix sockets in `<TINYAGI_HOME>/run/sandbox/<agent>/`
 *   (bound into the sandbox): the model proxy (45801), the egress proxy (45802, which
 *   HTTP(S)_PROXY name) and the daemon's API (its own port, for `tinyagi call` and TinyAGI's MCP
 *   tools; every request needs the run's token);
 * - no capabilities (`--cap-drop ALL`: a root daemon's sandbox cannot unmount what hides a
 *   directory), `--die-with-parent`;
 * - a memory cap per agent where the daemon can make a cgroup (cgroup.ts).
 * What the starts of a node's agents share (the bridges, the agents' networks, the cgroups, a
 * worktree's holds) and what is hidden (the runtimes' CLI homes) are the node's sandbox host's
 * (host.ts): a boundary is always one host's (`host.boundaryFor`).
 *
 * The launcher is `/bin/sh -c` that ignores SIGINT/SIGTERM/SIGHUP, joins the agent's cgroup and
 * execs nsenter into the agent's network, which execs bwrap: the daemon signals the start's
 * process group as it signals an unconfined CLI's, the launcher and bwrap outlive the signal, and
 * the command (its dispositions back to the defaults) exits as it would unconfined; SIGKILL ends
 * it all (bwrap's death ends the PID namespace). "Only the CLI" signals (a cancel's SIGINT to
 * Claude Code) go to the command alone (`interrupt`). Where no agent network can be joined, a
 * start bridges its own: sandbox-init runs first inside it and passes signals on (LAUNCHER).
 *
 * A refusal to start is a SandboxRefusal (refusal.ts); the invoker says what it means to a run.
 */
import { accessSync, constants, existsSync, lstatSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { createConnection, createServer, type Server } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { basename, delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { RuntimeHome } from '@tinyagi/client/contract';
import { LOOPBACK_HOSTS } from './loopback-hosts.ts';
import { SANDBOX_ROOT } from './package-root.ts';
import { type AgentNets, joinedCommandPid } from './agent-net.ts';
import { type HostBridges, joinSockets } from './bridges.ts';
import type { AgentCgroups } from './cgroup.ts';
import { gitWorktreeMounts, type WorktreeHolds } from './git-worktree.ts';
import type { BoundaryProblem, MachineCheck } from './machine.ts';
import { SandboxRefusal } from './refusal.ts';
import { assertNothingWithheld, scrubEnv, withheldValues } from './withheld.ts';
import { EGRESS_PORT, makeRunDir, MAX_SOCKET_PATH, MODEL_PORT, sandboxHomeDir, sandboxRunDir, type SandboxSpec } from './spec.ts';

export { DEFAULT_SANDBOX_MEMORY_MB, EGRESS_PORT, MODEL_PORT, sandboxHomeDir, sandboxRunDir, type SandboxSpec } from './spec.ts';

/** The control pipe's descriptor in the sandbox (sandbox-init's `--control`). */
export const CONTROL_FD = 3;

/** sandbox-init, the boundary's first process (shipped in this package's bin/ as it is, see the file). */
export const SANDBOX_INIT = join(SANDBOX_ROOT, 'bin', 'sandbox-init.mjs');

/** Relative to the user's home: credentials hidden in every sandbox (the CLIs' own homes are their runtimes', `cliHomes`). */
const CREDENTIALS_IN_HOME = [
  '.ssh',
  '.aws',
  '.azure',
  '.config/gcloud',
  '.kube',
  '.config/gh',
  '.gnupg',
  '.netrc',
  '.git-credentials',
  '.npmrc',
  '.pypirc',
  '.docker',
  // curl's and wget's own settings: a user, a password, an authorization header, a proxy.
  '.curlrc',
  '.wgetrc',
];

/**
 * What a boundary uses of its sandbox host (host.ts `SandboxHost`, the node's): the runtimes' CLI
 * homes it hides, the CLI entry it binds in, and the state its starts share.
 */
export interface BoundaryHost {
  /** The runtimes' CLI homes (the runtime registry's descriptors, docs/kinds.md). */
  cliHomes(): readonly RuntimeHome[];
  /** The `tinyagi` CLI entry the node's shim runs: its installation is bound in read-only when hidden. */
  readonly cliEntry: string | undefined;
  readonly bridges: HostBridges;
  readonly nets: AgentNets;
  readonly cgroups: AgentCgroups;
  readonly worktrees: WorktreeHolds;
  /** Whether this machine enforces the boundary, as the host knows it (its node's self-test, else a quick check). */
  machineCheck(env?: NodeJS.ProcessEnv): MachineCheck;
  /** Counts a wrapped spawn; the function returned says it was released. */
  spawnStarted(): () => void;
}

/** Relative to the user's home: credentials and the CLIs' own homes, hidden in every sandbox. */
export function hiddenInHome(cliHomes: readonly RuntimeHome[]): string[] {
  return [...CREDENTIALS_IN_HOME, ...cliHomes.flatMap((home) => home.paths)];
}

/** Files under the user's home that hold a CLI's login: the self-test proves each unreadable inside. */
export function cliCredentialFiles(cliHomes: readonly RuntimeHome[]): string[] {
  return cliHomes.flatMap((home) => home.credentialFiles ?? []);
}

/** The variables naming a CLI's config home that point into the agent's private home inside, with their folders. */
function privateHomeVariables(cliHomes: readonly RuntimeHome[]): Array<{ variable: string; folder: string }> {
  return cliHomes.flatMap((home) => (home.variables ?? []).flatMap(({ variable, folder }) => (folder === undefined ? [] : [{ variable, folder }])));
}

/**
 * The kernel's settings and triggers, bound read-only over themselves after the sandbox's /proc
 * is mounted (as container runtimes do): with the daemon running as root the sandbox's root is
 * the host's (`uid_map` is `0 0 1`) and could otherwise write `/proc/sys/kernel/core_pattern`
 * (a program run as host root on the next crash) or `/proc/sysrq-trigger`. `/sys` needs no bind
 * of its own: `--ro-bind / /` makes every mount under `/` read-only, `/sys`'s among them (the
 * self-test's KERNEL_WRITE_PROBES try it).
 */
export const KERNEL_PATHS = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus', '/proc/fs'] as const;

/** System paths replaced by an empty tmpfs: host sockets and shared temp files. */
const PRIVATE_SYSTEM_DIRS = ['/tmp', '/var/tmp', '/run', '/dev/shm'];

/** Where an agent's sandbox is: what `hiddenPaths` and `hiddenInSandbox` read. */
export interface HiddenPathsInput {
  /** The daemon's environment: its HOME and the CLI homes it names. */
  env: Readonly<Record<string, string | undefined>>;
  tinyHome: string;
  workspaceRoot: string;
  /** The runtimes' CLI homes (a host's `cliHomes()`). */
  cliHomes: readonly RuntimeHome[];
}

/**
 * Every path hidden in an agent's sandbox that exists on this machine (real paths): the user's
 * credentials and CLI homes under each home the daemon knows (HOME, the daemon's own HOME and
 * the account's home in the password database, which HOME need not name), the CLI homes the
 * daemon's environment names, the TinyAGI home and the workspace root.
 */
export function hiddenPaths(opts: HiddenPathsInput): string[] {
  const homes = new Set([opts.env.HOME, homedir(), accountHome()].filter((h): h is string => h !== undefined && isAbsolute(h)));
  const candidates: string[] = [];
  const inHome = hiddenInHome(opts.cliHomes);
  for (const home of homes) for (const rel of inHome) candidates.push(join(home, rel));
  const clis = opts.cliHomes;
  for (const { variable } of clis.flatMap((home) => home.variables ?? [])) {
    const value = opts.env[variable];
    if (value && isAbsolute(value)) candidates.push(value);
  }
  for (const { variable, folder } of [{ variable: 'XDG_CONFIG_HOME', folder: 'gh' }, ...clis.flatMap((home) => home.xdg ?? [])]) {
    const value = opts.env[variable];
    if (value && isAbsolute(value)) candidates.push(join(value, folder));
  }
  candidates.push(opts.tinyHome, opts.workspaceRoot);
  const out = new Set<string>();
  for (const path of candidates) {
    const real = realOrUndefined(path);
    if (real !== undefined && real !== '/') out.add(real);
  }
  return [...out];
}

/**
 * The folder that hides `path` (a real path) in an agent's sandbox, or undefined when the sandbox
 * sees it: one of hiddenPaths, or a private system folder (/tmp, /var/tmp, /run, /dev/shm), which
 * is empty inside.
 */
export function hiddenInSandbox(path: string, opts: HiddenPathsInput): string | undefined {
  const real = realOrUndefined(path) ?? resolve(path);
  const privateDirs = PRIVATE_SYSTEM_DIRS.map((d) => realOrUndefined(d)).filter((d): d is string => d !== undefined);
  return [...hiddenPaths(opts), ...privateDirs].find((dir) => isInside(real, dir));
}

/** The daemon's account's home as the password database has it (`os.homedir()` is `$HOME` when that is set). */
export function accountHome(): string | undefined {
  try {
    return userInfo().homedir || undefined;
  } catch {
    // No entry for this uid (a container's arbitrary user): HOME is all there is.
    return undefined;
  }
}

/**
 * The real path, by libc's realpath (node's own walks each component in JavaScript); most
 * candidates do not exist, and a stat that says so costs less than a thrown error.
 */
function realOrUndefined(path: string): string | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) === undefined ? undefined : realpathSync.native(path);
  } catch {
    return undefined;
  }
}

/** `child` is `parent` or below it; both absolute and normalized (real paths, or made by join and dirname). */
function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : `${parent}${sep}`);
}

type MountOp = { kind: 'tmpfs' | 'scratch'; path: string } | { kind: 'hide-file'; path: string } | { kind: 'bind' | 'ro-bind' | 'ro-bind-try'; path: string };

export interface BwrapArgsInput {
  /** The agent's workspace (the CLI's cwd): read-write. */
  cwd: string;
  /** Paths to hide (hiddenPaths). */
  hidden: readonly string[];
  /** Read-write at the same path (the private home). */
  writable: readonly string[];
  /** Read-only at the same path, over whatever hides them (the sockets, the shim, the run's private files). */
  readable: readonly string[];
  /** As `readable`, skipped when gone by the time bwrap starts (another task's ref, deleted by its merge meanwhile). */
  readableIfPresent?: readonly string[];
  /** An empty, writable folder of the sandbox's own in their place, what is bound under them on top (a repository's git dir: its lock files land there and vanish with the sandbox). */
  scratch?: readonly string[];
  /** The command line after bwrap's `--`: sandbox-init's, or the command's where the start joins the agent's network. */
  inner: readonly string[];
  /** Join the network namespace the caller entered (the agent's network, agent-net.ts) instead of a new one. */
  shareNet?: boolean;
}

/**
 * bwrap's arguments. Mounts are applied from the shortest path to the longest, so a deeper one
 * wins: a workspace inside the hidden workspace root is bound again, `~/.ssh` inside a workspace
 * that is the home is still hidden; at the same path, hiding comes first.
 */
export function bwrapArgs(input: BwrapArgsInput): string[] {
  const ops: MountOp[] = [];
  for (const path of input.hidden) {
    let directory = false;
    try {
      directory = statSync(path).isDirectory();
    } catch {
      continue;
    }
    ops.push(directory ? { kind: 'tmpfs', path } : { kind: 'hide-file', path });
  }
  ops.push({ kind: 'bind', path: input.cwd });
  for (const path of input.scratch ?? []) ops.push({ kind: 'scratch', path });
  for (const path of input.writable) ops.push({ kind: 'bind', path });
  for (const path of input.readable) ops.push({ kind: 'ro-bind', path });
  for (const path of input.readableIfPresent ?? []) ops.push({ kind: 'ro-bind-try', path });
  const depth = (p: string): number => p.split('/').filter(Boolean).length;
  const rank = (op: MountOp): number => (op.kind === 'tmpfs' || op.kind === 'hide-file' || op.kind === 'scratch' ? 0 : 1);
  const ordered = ops.map((op, i) => ({ op, i })).sort((a, b) => depth(a.op.path) - depth(b.op.path) || rank(a.op) - rank(b.op) || a.i - b.i);

  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc'];
  // The kernel's settings read-only over the sandbox's own /proc (a root daemon's sandbox is uid 0 inside and out).
  for (const path of KERNEL_PATHS) args.push('--ro-bind-try', path, path);
  for (const dir of PRIVATE_SYSTEM_DIRS) if (dir !== '/dev/shm' && existsSync(dir)) args.push('--tmpfs', dir);
  const seen = new Set<string>();
  const remountReadOnly: string[] = [];
  for (const { op } of ordered) {
    const key = `${op.kind}:${op.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (op.kind === 'tmpfs') {
      args.push('--perms', '0555', '--tmpfs', op.path);
      remountReadOnly.push(op.path);
    } else if (op.kind === 'scratch') args.push('--tmpfs', op.path);
    else if (op.kind === 'hide-file') args.push('--ro-bind', '/dev/null', op.path);
    else args.push(`--${op.kind}`, op.path, op.path);
  }
  // The hidden directories stay empty: nothing written there outlives or leaves the sandbox, and nothing is written at all.
  for (const path of remountReadOnly) args.push('--remount-ro', path);
  // No nested user namespace either: one would give the sandbox's processes capabilities over mounts of their own.
  args.push('--chdir', input.cwd, '--unshare-all', ...(input.shareNet ? ['--share-net'] : []), '--unshare-user', '--disable-userns', '--cap-drop', 'ALL', '--die-with-parent', '--', ...input.inner);
  return args;
}

/** What a wrapped spawn runs instead of the CLI. */
export interface WrappedSpawn {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** The pipe the spawn gives as fd 3 (every wrapped spawn has one: sandbox-init's control pipe where the start bridges its own network). */
  controlFd: typeof CONTROL_FD;
  /** Sends `signal` to the command alone (not its group, not the launcher): a cancel's SIGINT to the CLI. */
  interrupt(child: ChildProcess, signal: string): void;
  /** Closes what the daemon opened for this process (the inbound ports' listeners): call when it has exited. */
  release(): void;
}

export interface WrapRequest {
  command: string;
  args: readonly string[];
  /** The CLI's environment, already through `Boundary.env`. */
  env: Record<string, string>;
  /** The invoker's private temp directory: its files that the arguments or environment name are bound in read-only. */
  privateDir?: string | undefined;
  /**
   * Ports the CLI serves on its own loopback that the daemon reads (OpenCode's HTTP API): the
   * daemon listens on the same port of the host's loopback and reaches the CLI's through a socket
   * sandbox-init serves (`<run dir>/in/<port>.sock`).
   */
  inboundPorts?: readonly number[] | undefined;
}

/** The result of `boundaryFor`: the boundary to use, or why the agent runs unconfined. */
export type BoundaryDecision = { boundary: Boundary; degraded?: undefined } | { boundary?: undefined; degraded: BoundaryProblem };

/**
 * The boundary of one agent's CLI start on `host`, as its sandbox setting and the machine decide:
 * none (`sandbox` off), the boundary, or, for `on` on a machine that cannot enforce it, the problem
 * (the caller says so; the agent runs unconfined). `required` on such a machine throws a
 * SandboxRefusal naming the reason and the fix (the invoker fails the message once, not retried).
 * Callers use their host's `boundaryFor` (host.ts).
 */
export function decideBoundary(host: BoundaryHost, agentId: string, sandbox: SandboxSpec | undefined, cwd: string, env: NodeJS.ProcessEnv): BoundaryDecision | undefined {
  if (!sandbox) return undefined;
  const machine = host.machineCheck(env);
  if (machine.ok && machine.bwrap) return { boundary: new Boundary(host, agentId, sandbox, cwd, machine, env) };
  const problem = machine.problem ?? { reason: 'the boundary is not available', fix: 'run `tinyagi doctor`' };
  if (sandbox.mode === 'required') throw requiredRefusal(agentId, problem);
  return { degraded: problem };
}

/** The error of a `required` agent on a machine without the boundary. */
export function requiredRefusal(agentId: string, problem: BoundaryProblem): SandboxRefusal {
  return new SandboxRefusal(`Agent ${agentId} is set to sandbox "required" and the boundary is not enforced on this machine: ${problem.reason}.`, {
    hint: `${problem.fix}; or set agents.${agentId}.sandbox to "on" to let it run unconfined (docs/sandbox.md).`,
  });
}

/** True when a CLI of this agent starts inside the boundary on a machine so checked (the CLIs' own sandboxes are then switched off). */
export function boundaryEnforced(sandbox: SandboxSpec | undefined, machine: MachineCheck): boolean {
  if (!sandbox) return false;
  return machine.ok && machine.bwrap !== undefined;
}

export class Boundary {
  /** The node's sandbox host: what this boundary's starts share with the node's other sandboxes. */
  readonly host: BoundaryHost;
  readonly agentId: string;
  readonly spec: SandboxSpec;
  readonly cwd: string;
  readonly machine: MachineCheck;
  readonly home: string;
  readonly runDir: string;
  /** The daemon's environment: its HOME and CLI homes are what is hidden. */
  readonly daemonEnv: Readonly<Record<string, string | undefined>>;

  constructor(host: BoundaryHost, agentId: string, spec: SandboxSpec, cwd: string, machine: MachineCheck, daemonEnv: Readonly<Record<string, string | undefined>> = process.env) {
    this.host = host;
    this.agentId = agentId;
    this.daemonEnv = daemonEnv;
    this.spec = spec;
    this.cwd = cwd;
    this.machine = machine;
    this.home = sandboxHomeDir(spec.tinyHome, agentId);
    this.runDir = sandboxRunDir(spec.tinyHome, agentId);
  }

  /**
   * The CLI's environment inside: HOME, the CLIs' config homes and the XDG directories in the
   * private home, TMPDIR the private /tmp, HTTP(S)_PROXY the egress proxy's port, the API's URL
   * on the sandbox's loopback. The daemon-side readers of a CLI's files (transcripts, rollouts)
   * take the same environment and find them at the same paths.
   */
  env(env: Record<string, string>): Record<string, string> {
    const home = this.home;
    const proxy = `http://127.0.0.1:${EGRESS_PORT}`;
    const out: Record<string, string> = {
      ...env,
      HOME: home,
      ...Object.fromEntries(privateHomeVariables(this.host.cliHomes()).map(({ variable, folder }) => [variable, join(home, folder)])),
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_DATA_HOME: join(home, '.local', 'share'),
      XDG_CACHE_HOME: join(home, '.cache'),
      XDG_STATE_HOME: join(home, '.local', 'state'),
      TMPDIR: '/tmp',
      HTTP_PROXY: proxy,
      HTTPS_PROXY: proxy,
      ALL_PROXY: proxy,
      http_proxy: proxy,
      https_proxy: proxy,
      all_proxy: proxy,
      NO_PROXY: LOOPBACK_HOSTS.join(','),
      no_proxy: LOOPBACK_HOSTS.join(','),
    };
    const api = loopbackUrl(env.TINYAGI_API_URL);
    if (api) out.TINYAGI_API_URL = `http://127.0.0.1:${api.port}${api.rest}`;
    return out;
  }

  /**
   * The spawn that starts `request.command` inside the boundary: the private home, the socket
   * directory and the API bridge made, the agent's cgroup joined (where there is one).
   * A command that is not found on PATH throws an ENOENT error (as spawn would). The host counts
   * the spawn until its `release`.
   */
  async wrap(request: WrapRequest): Promise<WrappedSpawn> {
    const released = this.host.spawnStarted();
    try {
      return await this.#wrap(request, released);
    } catch (err) {
      released();
      throw err;
    }
  }

  async #wrap(request: WrapRequest, released: () => void): Promise<WrappedSpawn> {
    const bwrap = this.machine.bwrap;
    if (!bwrap) throw new SandboxRefusal(`Agent ${this.agentId}: the boundary has no bwrap.`);
    const command = resolveCommand(request.command, request.env.PATH);
    for (const dir of [
      this.home,
      ...privateHomeVariables(this.host.cliHomes()).map(({ folder }) => join(this.home, folder)),
      join(this.home, '.config'),
      join(this.home, '.local', 'share'),
      join(this.home, '.cache'),
      join(this.home, '.local', 'state'),
    ]) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    try {
      makeRunDir(this.runDir);
    } catch (err) {
      throw new SandboxRefusal(`Agent ${this.agentId}: ${(err as Error).message}`);
    }
    const api = loopbackUrl(request.env.TINYAGI_API_URL);
    const hostPorts = [...new Set([...(api ? [api.port] : []), ...extraLoopbackPorts(this.daemonEnv)])];
    const sockets: Array<[number, string]> = [
      [MODEL_PORT, join(this.runDir, 'model.sock')],
      [EGRESS_PORT, join(this.runDir, 'egress.sock')],
      ...hostPorts.map((port): [number, string] => [port, join(this.runDir, `tcp-${port}.sock`)]),
    ];
    const inboundDir = join(this.runDir, 'in');
    const inbound = (request.inboundPorts ?? []).map((port): [number, string] => [port, join(inboundDir, `${port}.sock`)]);
    if (inbound.length > 0) mkdirSync(inboundDir, { recursive: true, mode: 0o700 });
    const tooLong = [...sockets, ...inbound].find(([, path]) => Buffer.byteLength(path) > MAX_SOCKET_PATH);
    if (tooLong) {
      throw new SandboxRefusal(`Agent ${this.agentId}: the sandbox's socket ${tooLong[1]} is longer than a Unix socket path may be (${MAX_SOCKET_PATH} bytes).`, {
        hint: 'Use a shorter TINYAGI_HOME (or agent id) for sandboxed agents.',
      });
    }
    for (const [port, socket] of sockets) if (hostPorts.includes(port)) await this.host.bridges.open(socket, port);
    const bridges = sockets.map(([port, path]) => `${port}=${path}`);
    const workspace = realOrUndefined(this.cwd) ?? this.cwd;
    const cliHomes = this.host.cliHomes();
    const hidden = hiddenPaths({ env: this.daemonEnv, tinyHome: this.spec.tinyHome, workspaceRoot: this.spec.workspaceRoot, cliHomes });
    // A task's worktree (a linked worktree): what a commit needs of its repository (git-worktree.ts).
    const git = gitWorktreeMounts(workspace, [this.home, this.runDir], this.host.worktrees);
    const given = privateFiles(request);
    // The last check: no provider key the daemon withholds enters, whatever composed the start (withheld.ts).
    const withheld = withheldValues(this.spec.withheld);
    assertNothingWithheld(this.agentId, request.args, given, withheld);
    const env = scrubEnv(request.env, withheld);
    const needed = neededUnderHidden({ command, path: request.env.PATH, hidden, tinyHome: this.spec.tinyHome, cliHomes, cliEntry: this.host.cliEntry });
    const readable = [this.runDir, ...given, ...needed, ...(git?.readable ?? [])];
    const readableIfPresent = git?.readableIfPresent ?? [];
    const cgroup = this.host.cgroups.forAgent(this.agentId, this.spec.memoryMb);
    const procs = cgroup.ok ? cgroup.procs : '';
    // The agent's network when this machine can join one (agent-net.ts; TINYAGI_SANDBOX_SHARED_NET=0 turns it off); else sandbox-init bridges for this start alone.
    const net = this.daemonEnv.TINYAGI_SANDBOX_SHARED_NET === '0' ? undefined : await this.host.nets.open({ key: this.runDir, bwrap, runDir: this.runDir, init: SANDBOX_INIT, bridges });
    const enter = net?.enter();
    const tools = this.host.nets.tools();
    const joined = enter !== undefined && tools !== undefined;
    const inner = joined
      ? // The launcher's ignored signals back to their defaults for the command, as an unconfined CLI starts.
        [tools.env, '--default-signal=INT,TERM,HUP', command, ...request.args]
      : [
          process.execPath,
          SANDBOX_INIT,
          ...bridges.flatMap((b) => ['--bridge', b]),
          ...inbound.flatMap(([port, path]) => ['--inbound', `${port}=${path}`]),
          '--control',
          String(CONTROL_FD),
          '--',
          command,
          ...request.args,
        ];
    const args = bwrapArgs({
      cwd: workspace,
      hidden,
      writable: [this.home, ...(inbound.length > 0 ? [inboundDir] : []), ...(git?.writable ?? [])],
      readable,
      readableIfPresent,
      scratch: git?.scratch ?? [],
      inner,
      shareNet: joined,
    });
    let listeners: Server[];
    try {
      if (joined) for (const [port, path] of inbound) await net!.inbound(port, path);
      listeners = await Promise.all(inbound.map(([port, path]) => listenInbound(port, path)));
    } catch (err) {
      if (joined) for (const [port] of inbound) net!.closeInbound(port);
      git?.release();
      throw err;
    }
    return {
      command: '/bin/sh',
      args: joined ? ['-c', JOINED_LAUNCHER, procs, ...enter, bwrap, ...args] : ['-c', LAUNCHER, procs, bwrap, ...args],
      env,
      controlFd: CONTROL_FD,
      interrupt: (child, signal) => {
        if (child.pid === undefined) return;
        if (!joined) {
          (child.stdio[CONTROL_FD] as NodeJS.WritableStream | null)?.write(`${signal}\n`);
          return;
        }
        const pid = joinedCommandPid(child.pid);
        if (pid === undefined) return;
        try {
          process.kill(pid, signal as NodeJS.Signals);
        } catch {
          // Gone already: its exit ends the run.
        }
      },
      release: () => {
        for (const server of listeners) server.close();
        if (joined) for (const [port] of inbound) net!.closeInbound(port);
        // The worktree's lock and the markers' stand-ins, once no sandbox of that worktree runs (git-worktree.ts).
        git?.release();
        released();
      },
    };
  }
}

/**
 * The launcher of a start with its own bridges: $0 is the cgroup's procs file (or empty); the shell
 * joins it, ignores the signals sandbox-init passes on, then becomes bwrap.
 */
const LAUNCHER = 'trap "" INT TERM HUP; if [ -n "$0" ]; then echo $$ > "$0" || exit 125; fi; exec "$@"';

/**
 * The launcher of a start in the agent's network: as LAUNCHER, then nsenter's exec of bwrap (both
 * ignore a signal to the group), without the control pipe; the command, its signals back to their
 * defaults, gets a signal to the group as an unconfined CLI does. bwrap says a death by signal N
 * as exit 128+N, as sandbox-init's start does.
 */
const JOINED_LAUNCHER = 'trap "" INT TERM HUP; if [ -n "$0" ]; then echo $$ > "$0" || exit 125; fi; exec "$@" 3>&-';

/** `http://127.0.0.1:<port>/…`, `localhost` or `[::1]`: the port and the rest; undefined for anything else. */
function loopbackUrl(url: string | undefined): { port: number; rest: string } | undefined {
  if (!url || !URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)) return undefined;
  const port = Number(parsed.port || 80);
  const rest = `${parsed.pathname === '/' ? '' : parsed.pathname}${parsed.search}`;
  return { port, rest };
}

/**
 * Host loopback ports every sandbox reaches at the same port on its own loopback, besides the
 * API: TINYAGI_SANDBOX_LOOPBACK_PORTS (comma-separated), for a model server on the host's
 * loopback (the test suite's stand-in) until the model proxy serves it.
 */
function extraLoopbackPorts(env: Readonly<Record<string, string | undefined>>): number[] {
  return (env.TINYAGI_SANDBOX_LOOPBACK_PORTS ?? '')
    .split(',')
    .map((p) => Number(p.trim()))
    .filter((p) => Number.isInteger(p) && p > 0 && p < 65536 && p !== MODEL_PORT && p !== EGRESS_PORT);
}

/** The host's side of an inbound port: 127.0.0.1:`port` here, each connection piped to the sandbox's socket. */
function listenInbound(port: number, socket: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((outside) => joinSockets(outside, createConnection(socket)));
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.unref();
      resolve(server);
    });
  });
}

/** `command` as spawn would find it on `path` (absolute), or an ENOENT error. */
function resolveCommand(command: string, path: string | undefined): string {
  if (command.includes('/')) return command;
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {}
  }
  throw Object.assign(new Error(`spawn ${command} ENOENT`), { code: 'ENOENT' });
}

/**
 * The invoker's private files a CLI is given (system prompt, MCP config, OpenCode's config, a
 * warm process's run file): every path under `privateDir` its arguments or environment name,
 * the file itself, or for a file in a folder of its own (rewritten by rename) that folder.
 */
function privateFiles(request: WrapRequest): string[] {
  const dir = request.privateDir;
  if (!dir) return [];
  const real = realOrUndefined(dir);
  const out = new Set<string>();
  const prefixes = new Set([dir, real].filter((d): d is string => d !== undefined));
  for (const value of [...request.args, ...Object.values(request.env)]) {
    for (const prefix of prefixes) {
      let at = value.indexOf(`${prefix}/`);
      while (at >= 0) {
        const rest = value.slice(at + prefix.length + 1);
        const first = rest.split(/[/\s"',;:=]/)[0];
        if (first) {
          const path = join(real ?? prefix, first);
          if (existsSync(path)) out.add(path);
        }
        at = value.indexOf(`${prefix}/`, at + 1);
      }
    }
  }
  return [...out];
}

/** The topmost folder above `entry` (inside `within`) that holds a node_modules folder, else the entry's folder. */
function installationOf(entry: string, within: string): string {
  let found = dirname(entry);
  for (let dir = dirname(entry); isInside(dir, within) && dir !== within; dir = dirname(dir)) if (existsSync(join(dir, 'node_modules'))) found = dir;
  return found;
}

/**
 * What the sandbox needs that lies under a hidden path or a private system folder (/tmp, /var/tmp,
 * /run): the command's directory (Claude Code's `~/.claude/local`, a wrapper in /tmp), the
 * daemon's PATH entries there and under the TinyAGI home (the `tinyagi` shim), node, sandbox-init
 * and the installation of the CLI the shim runs. Read-only; a hidden credential directory itself
 * never is.
 */
function neededUnderHidden(input: {
  command: string;
  path: string | undefined;
  hidden: readonly string[];
  tinyHome: string;
  cliHomes: readonly RuntimeHome[];
  cliEntry: string | undefined;
}): string[] {
  const { command, path, hidden, tinyHome, cliHomes, cliEntry } = input;
  const privateDirs = PRIVATE_SYSTEM_DIRS.map((d) => realOrUndefined(d)).filter((d): d is string => d !== undefined);
  const under = (p: string): boolean => hidden.some((h) => isInside(p, h)) || privateDirs.some((d) => isInside(p, d) && p !== d);
  const out: string[] = [];
  const realCommand = realOrUndefined(command) ?? command;
  // A Node CLI (the agent's, or TinyAGI's own behind the shim) loads its packages from beside it: its whole installation.
  const installation = (file: string | undefined): string[] => {
    const real = file === undefined ? undefined : realOrUndefined(file);
    if (real === undefined) return [];
    const within = [...privateDirs, ...hidden].find((d) => isInside(real, d));
    return within === undefined ? [] : [installationOf(real, within)];
  };
  for (const candidate of [dirname(command), dirname(realCommand), dirname(dirname(process.execPath)), dirname(SANDBOX_INIT), ...installation(command), ...installation(cliEntry)]) {
    const real = realOrUndefined(candidate);
    if (real && under(real) && !isCredentialDir(real, cliHomes)) out.push(real);
  }
  const realHome = realOrUndefined(tinyHome) ?? tinyHome;
  for (const entry of (path ?? '').split(delimiter)) {
    const real = entry === '' ? undefined : realOrUndefined(entry);
    if (!real || isCredentialDir(real, cliHomes)) continue;
    if ((isInside(real, realHome) && real !== realHome) || privateDirs.some((d) => isInside(real, d) && real !== d)) out.push(real);
  }
  return out;
}

/** A hidden directory itself (`~/.claude`), never bound again whole; only deeper folders are. */
function isCredentialDir(path: string, cliHomes: readonly RuntimeHome[]): boolean {
  return hiddenInHome(cliHomes).some((rel) => basename(path) === basename(rel) && path.endsWith(rel));
}

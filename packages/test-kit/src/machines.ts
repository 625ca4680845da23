/**
 * Separate machines on one host, for tests of several nodes (docs/postgresql.md, "Several
 * nodes"): each machine is a mount and UTS namespace of its own, so a node in it sees only its own
 * files and its own host name, while PostgreSQL and loopback stay shared (one network namespace).
 *
 * Contract:
 * - A machine's `/tmp` is a folder of its own (`<lab>/disks/<name>` on the host) and its
 *   `/dev/shm` a tmpfs of its own. The lab's `dir` (`<lab>/machine`, under /tmp) is the SAME path
 *   on every machine, each with its own content behind it: a path one node records (its home, a
 *   repository, a worktree) means another folder, or nothing, on the next machine, as on two real
 *   machines with the same layout. No machine sees another's disk, nor the lab's folder on the host.
 * - The test process reaches a machine's files through `disk(path)` (the host path behind a path
 *   as the machine sees it), or runs a command inside with `sh`, `cli` or `spawnCli` (`nsenter`
 *   into the machine; the process and everything it starts, a detached daemon too, stay there).
 * - `bwrap: false` makes a machine without bubblewrap: every `bwrap` the host has on the usual
 *   paths (sandbox's findBwrap) is covered by /dev/null there, so it is neither found nor runs.
 * - `killAll()` SIGKILLs every process in a machine (found by its mount namespace) and what they
 *   started; `cleanup()` does so for every machine, ends them and removes the lab's folder.
 * - Needs root (mount namespaces and bind mounts) and util-linux (`unshare`, `nsenter`, `setpriv`,
 *   `mount`), as a fresh Debian machine has; anything missing fails `addMachine` with what to do,
 *   never a skip. A machine's namespace is held by a `sleep` that dies with the test process
 *   (`setpriv --pdeathsig`), so a crashed test leaves no machine behind (a detached daemon in it
 *   lives on until killed, as with any test).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { runCli, runCliOk, spawnCli, type CliResult, type RunCliOptions, type SpawnedCli } from './cli.ts';
import { descendants, exitOf, isGone, killTree } from './process.ts';
import { REPO_ROOT } from './test-times.ts';
import { waitFor } from './wait.ts';

/** Where machines keep their disks: /tmp, which each machine replaces with its own. */
const MACHINE_TMP = '/tmp';
/** Where a distribution installs bwrap (sandbox's findBwrap looks there after PATH). */
const BWRAP_DIRS = ['/usr/bin', '/usr/local/bin', '/bin', '/usr/sbin', '/sbin'];
const SYSTEM_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];

/** `vars` (default: the system folders alone on PATH) as a child's environment, typed for every program's ProcessEnv (Next.js's adds NODE_ENV). */
function childEnv(vars: Record<string, string> = { PATH: SYSTEM_DIRS.join(':') }): NodeJS.ProcessEnv {
  const env: Partial<NodeJS.ProcessEnv> = vars;
  return env as NodeJS.ProcessEnv;
}

export interface MachineOptions {
  /** Its host name (default its name): what `os.hostname()` says there, a node's default name. */
  hostname?: string;
  /** false: no bubblewrap on this machine. */
  bwrap?: boolean;
}

export interface MachineShOptions {
  /** The working directory, as the machine sees it (default the lab's `dir`). */
  cwd?: string;
  /** The environment, exactly (default: PATH with the system folders only). */
  env?: Record<string, string>;
  input?: string;
}

export interface Machine {
  readonly name: string;
  readonly hostname: string;
  readonly bwrap: boolean;
  /** The pid holding its namespaces (what `nsenter` enters). */
  readonly pid: number;
  /** The host's path of `path` as this machine sees it (a path under /tmp); what the test reads and writes. */
  disk(path: string): string;
  /** The command prefix that runs a program inside (`nsenter …`; a `launcher` for runCli and spawnCli). */
  launcher(cwd?: string): string[];
  /** Runs `argv` inside, synchronously; its trimmed stdout (throws with stderr on a non-zero exit). */
  sh(argv: string[], options?: MachineShOptions): string;
  /** `tinyagi <args>` inside (the built CLI unless `build` says otherwise), exactly `env`. */
  cli(args: string[], env: Record<string, string>, options?: RunCliOptions & { cwd?: string }): Promise<CliResult>;
  cliOk(args: string[], env: Record<string, string>, options?: RunCliOptions & { cwd?: string }): Promise<string>;
  /** A long-running `tinyagi <args>` inside; its pid is the CLI's own (nsenter execs it). */
  spawnCli(args: string[], env: Record<string, string>, options?: { cwd?: string; nodeOptions?: string[] }): SpawnedCli;
  /** Every process in this machine but its holder (a detached daemon too). */
  processes(): number[];
  /** SIGKILL of every process in it and of their descendants (a sandbox's too); resolves once all are gone. */
  killAll(): Promise<void>;
}

export interface Machines {
  /** The lab's folder on the host (disks live under it). */
  readonly root: string;
  /** The path every machine sees its own files under: the same on each, different folders behind it. */
  readonly dir: string;
  addMachine(name: string, options?: MachineOptions): Promise<Machine>;
  /** Kills every machine's processes, ends the machines and removes the lab's folder. */
  cleanup(): Promise<void>;
}

/** A lab of machines; `addMachine` makes each. Call `cleanup()` when done (afterAll), whatever happened. */
export function machines(prefix = 'tinyagi-machines-'): Machines {
  const root = mkdtempSync(join(MACHINE_TMP, prefix));
  const dir = join(root, 'machine');
  const made: Array<{ machine: Machine; holder: ChildProcess }> = [];
  return {
    root,
    dir,
    async addMachine(name, options = {}) {
      if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`a machine's name is lower-case letters, digits and '-': ${JSON.stringify(name)}`);
      if (made.some((m) => m.machine.name === name)) throw new Error(`machine ${name} exists already`);
      const { machine, holder } = await startMachine(root, dir, name, options);
      made.push({ machine, holder });
      return machine;
    },
    async cleanup() {
      for (const { machine, holder } of made.splice(0)) {
        await machine.killAll();
        const gone = exitOf(holder);
        holder.kill('SIGKILL');
        await gone;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** What a machine needs of this host, else an error that says what to do (never a skip). */
function requirements(): { nsenter: string; unshare: string; setpriv: string } {
  if (process.platform !== 'linux') throw new Error('machines (test-kit) need Linux: mount namespaces');
  if (process.getuid?.() !== 0)
    throw new Error('machines (test-kit) need root: each machine is a mount namespace with bind mounts (unshare --mount, mount --bind). Run this test as root, as CI does.');
  const tool = (name: string): string => {
    const found = SYSTEM_DIRS.map((d) => join(d, name)).find((p) => existsSync(p));
    if (!found) throw new Error(`machines (test-kit) need util-linux's ${name} (not found in ${SYSTEM_DIRS.join(', ')}): apt-get install util-linux`);
    return found;
  };
  return { nsenter: tool('nsenter'), unshare: tool('unshare'), setpriv: tool('setpriv') };
}

/** Every bwrap the host has where findBwrap looks, by its real path (a merged /usr counts once). */
function hostBwraps(): string[] {
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), ...BWRAP_DIRS];
  return [
    ...new Set(
      dirs
        .map((d) => join(d, 'bwrap'))
        .filter((p) => existsSync(p))
        .map((p) => realpathSync(p)),
    ),
  ];
}

/**
 * Host folders under /tmp a machine still sees at their own paths: the checkout whose built
 * bundle its nodes run (a CI clone may live in /tmp) and Node's own folder. Everything else of
 * the host's /tmp is hidden by the machine's.
 */
function hostFoldersKept(): string[] {
  const folders = [REPO_ROOT, dirname(dirname(process.execPath))].map((p) => realpathSync(p));
  return [...new Set(folders.filter((p) => p.startsWith(`${MACHINE_TMP}/`)))];
}

const quote = (s: string): string => {
  if (s.includes("'")) throw new Error(`machines: a path with a quote: ${s}`);
  return `'${s}'`;
};

async function startMachine(root: string, dir: string, name: string, options: MachineOptions): Promise<{ machine: Machine; holder: ChildProcess }> {
  const tools = requirements();
  const hostname = options.hostname ?? name;
  const bwrap = options.bwrap !== false;
  const disk = join(root, 'disks', name);
  // The machine's /tmp: sticky and writable by all, as /tmp is; the lab's dir made on it.
  mkdirSync(join(disk, relative(MACHINE_TMP, dir)), { recursive: true });
  chmodSync(disk, 0o1777);
  const kept = hostFoldersKept();
  for (const folder of kept) mkdirSync(join(disk, relative(MACHINE_TMP, folder)), { recursive: true });
  const script = [
    'set -e',
    ...kept.map((folder) => `mount --bind ${quote(folder)} ${quote(join(disk, relative(MACHINE_TMP, folder)))}`),
    `mount --rbind ${quote(disk)} ${MACHINE_TMP}`,
    'mount -t tmpfs -o mode=1777 tmpfs /dev/shm',
    ...(bwrap ? [] : hostBwraps().map((p) => `mount --bind /dev/null ${quote(p)}`)),
    `hostname ${quote(hostname)}`,
    'echo ready',
    'exec sleep infinity',
  ].join('\n');
  const holder = spawn(tools.setpriv, ['--pdeathsig', 'KILL', '--', tools.unshare, '--mount', '--uts', '--propagation', 'private', '--', '/bin/sh', '-c', script], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  holder.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  holder.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let failed: string | undefined;
  holder.once('error', (err) => (failed = err.message));
  holder.once('exit', (code, signal) => (failed ??= `exited (code ${code}, signal ${signal})`));
  await waitFor(
    () => {
      if (failed) throw new Error(`machine ${name} could not start: ${failed}\n${out}(unshare --mount needs CAP_SYS_ADMIN: run as root on the host, or in a privileged container)`);
      return out.includes('ready\n');
    },
    20_000,
    `machine ${name} to start`,
  );
  const pid = holder.pid!;
  const namespace = readlinkSync(`/proc/${pid}/ns/mnt`);
  // nsenter's --wd opens its folder before entering (on the host): a shell inside changes to it, then becomes the program.
  const launcher = (cwd = dir): string[] => [tools.nsenter, `--target=${pid}`, '--mount', '--uts', '--', '/bin/sh', '-c', 'cd "$0" && exec "$@"', cwd];
  const inside = (options: { cwd?: string }) => ({ launcher: launcher(options.cwd) });
  const processes = (): number[] =>
    readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number)
      .filter((p) => p !== pid && inNamespace(p, namespace));

  const machine: Machine = {
    name,
    hostname,
    bwrap,
    pid,
    disk(path) {
      if (!path.startsWith(`${MACHINE_TMP}/`)) throw new Error(`machine ${name}: ${path} is not on its disk (a path under ${MACHINE_TMP})`);
      return join(disk, path.slice(MACHINE_TMP.length + 1));
    },
    launcher,
    sh(argv, o = {}) {
      const [file, ...args] = [...launcher(o.cwd), ...argv] as [string, ...string[]];
      try {
        return execFileSync(file, args, { env: childEnv(o.env), encoding: 'utf8', input: o.input ?? '', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
      } catch (err) {
        const e = err as { status?: number; stderr?: string; stdout?: string };
        throw new Error(`on machine ${name}: ${argv.join(' ')} exited ${e.status}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
      }
    },
    cli: (args, env, o = {}) => runCli(args, env, { build: 'built', ...o, ...inside(o) }),
    cliOk: (args, env, o = {}) => runCliOk(args, env, { build: 'built', ...o, ...inside(o) }),
    spawnCli: (args, env, o = {}) => spawnCli(args, env, { build: 'built', ...(o.nodeOptions ? { nodeOptions: o.nodeOptions } : {}), ...inside(o) }),
    processes,
    async killAll() {
      const targets = new Set<number>();
      for (const p of processes()) for (const q of [p, ...descendants(p)]) targets.add(q);
      for (const p of targets) killTree(p, 'SIGKILL');
      await waitFor(() => [...targets].every(isGone), 20_000, `the processes of machine ${name} to die`);
    },
  };
  return { machine, holder };
}

function inNamespace(pid: number, namespace: string): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`) === namespace;
  } catch {
    return false; // gone, or a kernel thread
  }
}

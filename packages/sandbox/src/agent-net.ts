/**
 * An agent's network (docs/sandbox-design.md, "The agent's network"): one network namespace per
 * sandboxed agent, held for the life of the node's sandbox host (host.ts) by a resident sandbox-init (`--hold`) that serves the
 * bridges (the model proxy, the egress proxy, the API) on its loopback. Each CLI start, check and
 * setup command of the agent enters it with `nsenter` before bwrap (`--share-net`), so a start
 * costs what bubblewrap costs instead of a Node start of its own. The runs of one agent share that
 * loopback as unconfined processes share the host's; agents never share one with each other or
 * with the host.
 *
 * The holder is bwrap with its own user, network and PID namespaces, the whole file system
 * read-only but the agent's run folder (where inbound sockets go), `--die-with-parent` (bwrap's
 * monitor, its PID 1 and sandbox-init each die with their parent, so a killed daemon leaves none:
 * it is not in the journal of agents' process groups, which counts agents and checks); it leads a
 * process group of its own and ends when its stdin does. It stays out of the
 * agent's memory cgroup (what it forwards is collected as it goes: sandbox-init.mjs, "Memory"), so
 * the cgroup holds the agent's own processes only. A holder that exits is forgotten and the next
 * start makes another; one that cannot start at all leaves the agent on the per-start bridges
 * (sandbox-init before each CLI).
 *
 * Joining: root enters the network namespace alone (it holds every capability over the holder's
 * user namespace); another account enters the holder's user namespace first (`--user
 * --preserve-credentials`, its own uid there), where bwrap makes the sandbox's own user
 * namespace as it does outside. The namespace is checked by its inode before each start, so a
 * reused pid never sends a CLI into a stranger's network.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, readlinkSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** How long a holder may take to listen before the agent falls back to per-start bridges. */
const READY_TIMEOUT_MS = 15_000;

/** An agent's network, ready for starts to enter. */
export interface AgentNet {
  /** nsenter's arguments up to and including `--`: `nsenter --target <pid> --net [--user --preserve-credentials] --`. */
  enter(): string[] | undefined;
  /** Adds the bridges (`<port>=<socket>`) the holder does not serve yet (a start whose environment names another host port). */
  bridge(bridges: readonly string[]): Promise<void>;
  /** Listens on `socket` inside the holder, forwarding to 127.0.0.1:`port` of the agent's loopback. */
  inbound(port: number, socket: string): Promise<void>;
  /** Stops an inbound port's socket. */
  closeInbound(port: number): void;
}

export interface AgentNetRequest {
  /** One holder per key (the agent's run folder). */
  key: string;
  bwrap: string;
  /** The agent's run folder: bound read-write into the holder (inbound sockets). */
  runDir: string;
  /** sandbox-init's path and its `--bridge` values. */
  init: string;
  bridges: readonly string[];
}

/**
 * The agents' networks of one sandbox host (host.ts): a holder per key (an agent's run folder),
 * started on first use and stopped by `close`/`closeAll`; the join tools found once.
 */
export class AgentNets {
  readonly #nets = new Map<string, Promise<Holder | undefined>>();
  #tools: JoinTools | null | undefined;

  /** nsenter and an env with --default-signal (`joinTools`), looked for once. */
  tools(): JoinTools | undefined {
    if (this.#tools === undefined) this.#tools = joinTools() ?? null;
    return this.#tools ?? undefined;
  }

  /** The agent's network, started on first use; undefined where this machine cannot join one (the caller bridges per start). */
  async open(request: AgentNetRequest): Promise<AgentNet | undefined> {
    const tools = this.tools();
    if (tools === undefined) return undefined;
    let made = this.#nets.get(request.key);
    if (made === undefined) {
      made = startHolder(request, tools.nsenter).catch(() => undefined);
      this.#nets.set(request.key, made);
    }
    const holder = await made;
    if (holder === undefined) return undefined;
    if (!holder.alive()) {
      if (this.#nets.get(request.key) === made) this.#nets.delete(request.key);
      return this.open(request);
    }
    await holder.bridge(request.bridges);
    return holder;
  }

  /** The holders running now: their key and the pid of their sandbox-init. */
  async holders(): Promise<Array<{ key: string; pid: number }>> {
    const out: Array<{ key: string; pid: number }> = [];
    for (const [key, made] of this.#nets) {
      const holder = await made;
      if (holder?.alive()) out.push({ key, pid: holder.pid });
    }
    return out;
  }

  /** Stops the holder of `key` (the self-test's, once it has run). */
  async close(key: string): Promise<void> {
    const made = this.#nets.get(key);
    this.#nets.delete(key);
    (await made)?.stop();
  }

  /** Stops every holder. */
  async closeAll(): Promise<void> {
    const all = await Promise.all([...this.#nets.values()]);
    this.#nets.clear();
    for (const holder of all) holder?.stop();
  }
}

/** `/usr/bin/env` that takes `--default-signal` (coreutils 8.31+), which the CLI's start needs, and nsenter. */
export interface JoinTools {
  nsenter: string;
  env: string;
}

/** nsenter and an env with --default-signal, looked for now (a host keeps the answer); undefined (bridges per start) without either. */
export function joinTools(): JoinTools | undefined {
  const nsenter = findExecutable('nsenter');
  const env = findExecutable('env');
  // The probe runs env by its path under itself: no PATH is needed (a daemon's may be node's folder alone).
  if (nsenter && env && spawnSync(env, ['--default-signal=INT,TERM,HUP', env, '--version'], { timeout: 5_000, stdio: 'ignore', env: {} }).status === 0) return { nsenter, env };
  return undefined;
}

function findExecutable(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {}
  }
  return undefined;
}

class Holder implements AgentNet {
  readonly #child: ChildProcess;
  readonly #nsenter: string;
  /** sandbox-init's pid (PID 1 of the holder's namespaces, seen from the host). */
  readonly pid: number;
  readonly #netNs: string;
  readonly #joinUser: boolean;
  #exited = false;
  #lines = '';
  /** By `<verb> <port>`: the request waiting for the holder's answer. */
  readonly #waiting = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();
  /** The bridges served (`<port>=<socket>`), or being added. */
  readonly #bridges = new Map<string, Promise<void>>();

  constructor(child: ChildProcess, nsenter: string, pid: number, netNs: string, joinUser: boolean, bridges: readonly string[]) {
    for (const bridge of bridges) this.#bridges.set(bridge, Promise.resolve());
    this.#child = child;
    this.#nsenter = nsenter;
    this.pid = pid;
    this.#netNs = netNs;
    this.#joinUser = joinUser;
    child.once('exit', () => {
      this.#exited = true;
      for (const { reject } of this.#waiting.values()) reject(new Error('the agent network holder exited'));
      this.#waiting.clear();
    });
    child.stdout?.on('data', (chunk: Buffer) => this.#answer(chunk.toString('utf8')));
  }

  /**
   * Its network is there and sandbox-init still serves it (PID 1 outlives its one child for a
   * moment). A killed holder is not alive from the moment it is killed: a SIGKILLed sandbox-init
   * leaves `ps` (its command line goes with its memory) while the kernel still shows it running
   * for a while (closing its files, before it is a zombie), and a start sent into its network then
   * found PID 1 gone (nsenter: cannot open /proc/<pid>/ns/net) or no bridges.
   */
  alive(): boolean {
    if (this.#exited || !running(this.pid)) return false;
    try {
      return readlinkSync(`/proc/${this.pid}/ns/net`) === this.#netNs && childrenOf(this.pid).some(running);
    } catch {
      return false;
    }
  }

  enter(): string[] | undefined {
    if (!this.alive()) return undefined;
    return [this.#nsenter, '--target', String(this.pid), '--net', ...(this.#joinUser ? ['--user', '--preserve-credentials'] : []), '--'];
  }

  async bridge(bridges: readonly string[]): Promise<void> {
    for (const bridge of bridges) {
      let made = this.#bridges.get(bridge);
      if (made === undefined) {
        const eq = bridge.indexOf('=');
        made = this.#ask('bridge', Number(bridge.slice(0, eq)), bridge.slice(eq + 1));
        made.catch(() => this.#bridges.delete(bridge));
        this.#bridges.set(bridge, made);
      }
      await made;
    }
  }

  inbound(port: number, socket: string): Promise<void> {
    return this.#ask('inbound', port, socket);
  }

  #ask(verb: 'bridge' | 'inbound', port: number, socket: string): Promise<void> {
    if (this.#exited) return Promise.reject(new Error('the agent network holder exited'));
    return new Promise((resolve, reject) => {
      this.#waiting.set(`${verb} ${port}`, { resolve, reject });
      this.#child.stdin?.write(`${verb} ${port} ${socket}\n`);
    });
  }

  closeInbound(port: number): void {
    if (!this.#exited) this.#child.stdin?.write(`close ${port}\n`);
  }

  stop(): void {
    if (this.#child.pid !== undefined && !this.#exited) {
      try {
        process.kill(-this.#child.pid, 'SIGKILL');
      } catch {}
    }
  }

  #answer(text: string): void {
    this.#lines += text;
    for (let nl = this.#lines.indexOf('\n'); nl >= 0; nl = this.#lines.indexOf('\n')) {
      const [verb, port, status, ...message] = this.#lines.slice(0, nl).split(' ');
      this.#lines = this.#lines.slice(nl + 1);
      const key = `${verb} ${port}`;
      const waiting = this.#waiting.get(key);
      if (waiting === undefined) continue;
      this.#waiting.delete(key);
      if (status === 'ok') waiting.resolve();
      else waiting.reject(new Error(`the sandbox cannot serve ${verb === 'inbound' ? 'inbound ' : ''}port ${port}: ${message.join(' ')}`));
    }
  }
}

/**
 * The holder's bwrap: its own user, network and PID namespaces, read-only but the run folder. No
 * `--dev`: bwrap mounts a devpts as uid 0 of a first user namespace and drops to the account's uid
 * in a second one nested in it, and a start could not join the network the first one owns.
 */
function holderArgs(request: AgentNetRequest): string[] {
  return [
    '--ro-bind',
    '/',
    '/',
    '--proc',
    '/proc',
    '--bind',
    request.runDir,
    request.runDir,
    '--unshare-all',
    '--unshare-user',
    '--die-with-parent',
    '--info-fd',
    '3',
    '--',
    process.execPath,
    request.init,
    '--hold',
    ...request.bridges.flatMap((b) => ['--bridge', b]),
  ];
}

function startHolder(request: AgentNetRequest, nsenter: string): Promise<Holder> {
  const child = spawn(request.bwrap, holderArgs(request), {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  const pid = child.pid;
  // Once ready it keeps nothing alive: the daemon's own work does (until then, the start waiting on it must).
  const letGo = (): void => {
    child.unref();
    for (const stream of child.stdio) (stream as { unref?: () => void } | null)?.unref?.();
  };
  child.on('error', () => {});
  child.stdin?.on('error', () => {});
  return new Promise((resolve, reject) => {
    let info = '';
    let out = '';
    let err = '';
    let innerPid: number | undefined;
    const timer = setTimeout(() => fail(`not ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      if (pid !== undefined) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {}
      }
      reject(new Error(`the agent network holder did not start: ${why}${err ? ` (${err.trim().slice(0, 500)})` : ''}`));
    };
    const settle = (): void => {
      if (innerPid === undefined || !out.startsWith('ready\n')) return;
      clearTimeout(timer);
      child.stdout?.removeListener('data', onOut);
      let netNs: string;
      let joinUser: boolean;
      try {
        netNs = readlinkSync(`/proc/${innerPid}/ns/net`);
        joinUser = process.getuid?.() !== 0 && readlinkSync(`/proc/${innerPid}/ns/user`) !== readlinkSync('/proc/self/ns/user');
      } catch (e) {
        fail(String(e));
        return;
      }
      letGo();
      const holder = new Holder(child, nsenter, innerPid, netNs, joinUser, request.bridges);
      const rest = out.slice('ready\n'.length);
      if (rest) child.stdout?.emit('data', Buffer.from(rest));
      resolve(holder);
    };
    const onOut = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      settle();
    };
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString('utf8')).slice(-2_000);
    });
    (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', (chunk: Buffer) => {
      info += chunk.toString('utf8');
      const found = /"child-pid":\s*(\d+)/.exec(info);
      if (found && innerPid === undefined) {
        innerPid = Number(found[1]);
        settle();
      }
    });
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code})`));
  });
}

/**
 * The process a joined start runs (bwrap's command): the launcher's shell execs nsenter, which
 * execs bwrap (one pid), whose child is the sandbox's PID 1, whose first child is the command.
 * Undefined while it has not started or has gone.
 */
export function joinedCommandPid(launcherPid: number): number | undefined {
  const init = childrenOf(launcherPid)[0];
  const children = init === undefined ? [] : childrenOf(init);
  return children.length === 0 ? undefined : earliest(children);
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The kernel's PF_EXITING: the task is in exit (set before its memory, files and namespaces go; long before it is a zombie). */
const PF_EXITING = 0x4;
/** SIGKILL's bit in /proc/<pid>/status's pending masks. */
const SIGKILL_BIT = 1n << 8n;

/**
 * Not gone, not a zombie waiting to be reaped, not exiting (PF_EXITING) and not about to (a
 * SIGKILL pending that it has not acted on yet, as on a busy machine).
 */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command's ")": state, ppid, pgrp, session, tty_nr, tpgid, flags.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X' || (Number(fields[6]) & PF_EXITING) !== 0) return false;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const pending = Array.from(status.matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$/gm));
    return !pending.some((m) => (BigInt(`0x${m[1]}`) & SIGKILL_BIT) !== 0n);
  } catch {
    return false;
  }
}

/** The first started of `pids` (bwrap's PID 1 also adopts the command's orphans). */
function earliest(pids: number[]): number {
  let best = pids[0]!;
  let bestStart = Number.POSITIVE_INFINITY;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
      if (start < bestStart) {
        bestStart = start;
        best = pid;
      }
    } catch {}
  }
  return best;
}

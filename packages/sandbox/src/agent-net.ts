/**
 * An agent's network (docs/sandbox-design.md, "The agent's network"): one network namespace per
 * sandboxed agent, held for the life of the node's sandbox host (host.ts) by a resident `cat`
 * (reading the daemon's pipe; no Node process stays). Its bridges (the model proxy, the egress
 * proxy, the API) listen on its loopback in the daemon's own process: a short-lived sandbox-init
 * (`--hand-over`), entered with nsenter, opens each listener inside the namespace and sends it to the daemon over its IPC
 * channel, and the daemon forwards each connection to the bridge's Unix socket. Each CLI start, check and
 * setup command of the agent enters it with `nsenter` before bwrap (`--share-net`), so a start
 * costs what bubblewrap costs instead of a Node start of its own. The runs of one agent share that
 * loopback as unconfined processes share the host's; agents never share one with each other or
 * with the host.
 *
 * The holder is bwrap with its own user, network and PID namespaces, the whole file system
 * read-only but the agent's run folder (where inbound sockets go), `--die-with-parent` (bwrap's
 * monitor, its PID 1 and the `cat` each die with their parent, so a killed daemon leaves none:
 * it is not in the journal of agents' process groups, which counts agents and checks); it leads a
 * process group of its own and ends when its stdin does. It stays out of the agent's memory
 * cgroup, so the cgroup holds the agent's own processes only. A bridge a start asks for later is
 * handed over the same way; an inbound port (OpenCode's API)
 * needs a process inside that connects to it, so the first one starts a resident sandbox-init
 * (`--hold`, nsenter'ed) that serves the inbound ports. A holder that exits is forgotten and the next
 * start makes another (why it ended is kept: `ended`); one that cannot start at all leaves the agent on the per-start bridges
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
import { createConnection, type Server } from 'node:net';
import { delimiter, join } from 'node:path';
import { joinSockets } from './bridges.ts';

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
  /** By key: why its last holder ended or did not start (what a start that found it gone reports). */
  readonly #ended = new Map<string, string>();
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
      made = startHolder(request, tools.nsenter, (why) => this.#ended.set(request.key, `the agent network holder ${why}`)).catch((err: unknown) => {
        this.#ended.set(request.key, err instanceof Error ? err.message : String(err));
        return undefined;
      });
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

  /** The holders running now: their key and their PID 1's pid. */
  async holders(): Promise<Array<{ key: string; pid: number }>> {
    const out: Array<{ key: string; pid: number }> = [];
    for (const [key, made] of this.#nets) {
      const holder = await made;
      if (holder?.alive()) out.push({ key, pid: holder.pid });
    }
    return out;
  }

  /** Why the last holder of `key` ended or did not start; undefined while none has. */
  ended(key: string): string | undefined {
    return this.#ended.get(key);
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
  readonly #init: string;
  /** The holder's PID 1 (bwrap's, seen from the host): its child, the `cat`, holds the network. */
  readonly pid: number;
  readonly #netNs: string;
  readonly #enter: string[];
  #exited = false;
  /** The bridges served (`<port>=<socket>`), or being added. */
  readonly #bridges = new Map<string, Promise<void>>();
  /** The listeners handed over, served in this process. */
  readonly #servers: Server[] = [];
  /** The resident sandbox-init serving inbound ports, started at the first. */
  #inbound: InboundServer | undefined;

  constructor(child: ChildProcess, init: string, pid: number, netNs: string, enter: string[], onEnd: (why: string) => void) {
    this.#child = child;
    this.#init = init;
    this.pid = pid;
    this.#netNs = netNs;
    this.#enter = enter;
    let err = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString('utf8')).slice(-500);
    });
    child.once('exit', (code, signal) => {
      this.#exited = true;
      this.#closeServers();
      this.#inbound?.stop();
      onEnd(`exited (${signal ?? code})${err.trim() ? `: ${err.trim()}` : ''}`);
    });
  }

  /**
   * Its network is there and its `cat` still holds it (PID 1 outlives its one child for a moment).
   * A killed holder is not alive from the moment it is killed: the kernel still shows a SIGKILLed
   * process running for a while (closing its files, before it is a zombie), and a start sent into
   * its network then found PID 1 gone (nsenter: cannot open /proc/<pid>/ns/net).
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
    return this.alive() ? [...this.#enter] : undefined;
  }

  /** The bridges its start handed over, served by `servers`. */
  adopt(bridges: readonly string[], servers: Server[]): void {
    for (const bridge of bridges) this.#bridges.set(bridge, Promise.resolve());
    this.#servers.push(...servers);
  }

  async bridge(bridges: readonly string[]): Promise<void> {
    const missing = bridges.filter((bridge) => !this.#bridges.has(bridge));
    if (missing.length > 0) {
      const made = this.#handOver(missing);
      for (const bridge of missing) {
        const one = made.then(() => undefined);
        one.catch(() => this.#bridges.delete(bridge));
        this.#bridges.set(bridge, one);
      }
    }
    for (const bridge of bridges) await this.#bridges.get(bridge);
  }

  /** Bridges this holder does not serve yet: a sandbox-init entered into the network hands their listeners over. */
  async #handOver(bridges: readonly string[]): Promise<void> {
    const enter = this.enter();
    if (enter === undefined) throw new Error('the agent network holder exited');
    const servers = await handOver(enter, this.#init, bridges);
    if (this.#exited) {
      for (const server of servers) server.close();
      throw new Error('the agent network holder exited');
    }
    this.#servers.push(...servers);
  }

  inbound(port: number, socket: string): Promise<void> {
    if (this.#exited) return Promise.reject(new Error('the agent network holder exited'));
    if (this.#inbound === undefined || !this.#inbound.running()) {
      const enter = this.enter();
      if (enter === undefined) return Promise.reject(new Error('the agent network holder exited'));
      this.#inbound = new InboundServer(enter, this.#init);
    }
    return this.#inbound.ask('inbound', port, socket);
  }

  closeInbound(port: number): void {
    this.#inbound?.close(port);
  }

  stop(): void {
    this.#closeServers();
    this.#inbound?.stop();
    if (this.#child.pid !== undefined && !this.#exited) {
      try {
        process.kill(-this.#child.pid, 'SIGKILL');
      } catch {}
    }
  }

  #closeServers(): void {
    for (const server of this.#servers.splice(0)) server.close();
  }
}

/**
 * Listeners for `bridges` (`<port>=<socket>`) in an agent's network, served here: a sandbox-init
 * `--hand-over` entered with `enter` (nsenter's arguments) listens on each port of the network's
 * loopback and sends the listener over its IPC channel; every connection is piped to the bridge's
 * Unix socket. Rejects (closing what came) when one cannot listen or sandbox-init ends first.
 */
function handOver(enter: readonly string[], init: string, bridges: readonly string[]): Promise<Server[]> {
  const child = spawn(enter[0]!, [...enter.slice(1), process.execPath, init, '--hand-over', ...bridges.flatMap((b) => ['--bridge', b])], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  const socketOf = new Map(
    bridges.map((b) => {
      const eq = b.indexOf('=');
      return [Number(b.slice(0, eq)), b.slice(eq + 1)];
    }),
  );
  const servers: Server[] = [];
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err = (err + chunk.toString('utf8')).slice(-2_000);
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const failed = (why: string): void => {
      if (settled) return;
      settled = true;
      for (const server of servers) server.close();
      reject(new Error(`${why}${err ? ` (${err.trim().slice(0, 500)})` : ''}`));
    };
    child.on('error', (e) => failed(`sandbox-init did not start: ${e.message}`));
    child.on('message', (message: { port?: number; error?: string }, handle: unknown) => {
      const socket = socketOf.get(Number(message.port));
      if (socket === undefined || settled) {
        // Never left listening (a listener keeps the daemon from exiting).
        if (isServer(handle)) handle.close();
        return;
      }
      if (message.error !== undefined || !isServer(handle)) {
        failed(`the sandbox cannot serve port ${message.port}: ${message.error ?? 'no listener came'}`);
        return;
      }
      handle.on('connection', (inside) => joinSockets(inside, createConnection(socket)));
      handle.on('error', () => {});
      handle.unref();
      servers.push(handle);
      if (servers.length === socketOf.size) {
        settled = true;
        resolve(servers);
      }
    });
    // 'close', not 'exit': a child's exit can come before the messages it sent (its listeners) are read.
    child.once('close', (code, signal) => failed(`the sandbox's bridges were not handed over (sandbox-init exited: ${signal ?? code})`));
  });
}

function isServer(handle: unknown): handle is Server {
  return typeof handle === 'object' && handle !== null && typeof (handle as Server).listen === 'function' && typeof (handle as Server).address === 'function';
}

/**
 * A resident sandbox-init `--hold` entered into an agent's network: it listens on each inbound
 * port's socket and forwards to the port inside (`inbound <port> <socket>`, `close <port>` on its
 * stdin, each answered `<verb> <port> ok|error …`). Started at the first inbound port only.
 */
class InboundServer {
  readonly #child: ChildProcess;
  #exited = false;
  #lines = '';
  readonly #waiting = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();

  constructor(enter: string[], init: string) {
    this.#child = spawn(enter[0]!, [...enter.slice(1), process.execPath, init, '--hold'], {
      detached: true,
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    this.#child.on('error', () => {});
    this.#child.stdin?.on('error', () => {});
    this.#child.once('exit', () => {
      this.#exited = true;
      for (const { reject } of this.#waiting.values()) reject(new Error('the inbound server of the agent network exited'));
      this.#waiting.clear();
    });
    this.#child.stdout?.on('data', (chunk: Buffer) => this.#answer(chunk.toString('utf8')));
    this.#child.unref();
    for (const stream of this.#child.stdio) (stream as { unref?: () => void } | null)?.unref?.();
  }

  running(): boolean {
    return !this.#exited;
  }

  ask(verb: 'inbound', port: number, socket: string): Promise<void> {
    if (this.#exited) return Promise.reject(new Error('the inbound server of the agent network exited'));
    return new Promise((resolve, reject) => {
      this.#waiting.set(`${verb} ${port}`, { resolve, reject });
      this.#child.stdin?.write(`${verb} ${port} ${socket}\n`);
    });
  }

  close(port: number): void {
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
      const waiting = this.#waiting.get(`${verb} ${port}`);
      if (waiting === undefined) continue;
      this.#waiting.delete(`${verb} ${port}`);
      if (status === 'ok') waiting.resolve();
      else waiting.reject(new Error(`the sandbox cannot serve inbound port ${port}: ${message.join(' ')}`));
    }
  }
}

/**
 * The holder's bwrap: its own user, network and PID namespaces, read-only but the run folder. No
 * `--dev`: bwrap mounts a devpts as uid 0 of a first user namespace and drops to the account's uid
 * in a second one nested in it, and a start could not join the network the first one owns. Its
 * command says `ready` once the sandbox is set up (its loopback up) and becomes `cat`, which holds
 * the network until the daemon's pipe ends; no Node process and no IPC channel is ever inside.
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
    '/bin/sh',
    '-c',
    'echo ready && exec cat',
  ];
}

/**
 * Starts a holder: its bwrap says its PID 1 on the info fd, its shell says `ready`, then a
 * sandbox-init entered into the network hands the bridges' listeners over (`handOver`). Until the
 * holder is made, any failure kills its process group; after, its end is the Holder's to tell.
 */
function startHolder(request: AgentNetRequest, nsenter: string, onEnd: (why: string) => void): Promise<Holder> {
  const child = spawn(request.bwrap, holderArgs(request), {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  const pid = child.pid;
  child.on('error', () => {});
  child.stdin?.on('error', () => {});
  return new Promise((resolve, reject) => {
    let info = '';
    let out = '';
    let err = '';
    let innerPid: number | undefined;
    let handing = false;
    const timer = setTimeout(() => fail(`not ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    const onErr = (chunk: Buffer): void => {
      err = (err + chunk.toString('utf8')).slice(-2_000);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`exited (${signal ?? code})`);
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
      if (innerPid === undefined || out !== 'ready\n' || handing) return;
      handing = true;
      let netNs: string;
      let enter: string[];
      try {
        netNs = readlinkSync(`/proc/${innerPid}/ns/net`);
        const joinUser = process.getuid?.() !== 0 && readlinkSync(`/proc/${innerPid}/ns/user`) !== readlinkSync('/proc/self/ns/user');
        enter = [nsenter, '--target', String(innerPid), '--net', ...(joinUser ? ['--user', '--preserve-credentials'] : []), '--'];
      } catch (e) {
        fail(String(e));
        return;
      }
      handOver(enter, request.init, request.bridges).then(
        (servers) => {
          clearTimeout(timer);
          child.removeListener('exit', onExit);
          child.stderr?.removeListener('data', onErr);
          const holder = new Holder(child, request.init, innerPid!, netNs, enter, onEnd);
          holder.adopt(request.bridges, servers);
          // Once made it keeps nothing alive: the daemon's own work does (until then, the start waiting on it must).
          child.unref();
          for (const stream of child.stdio) (stream as { unref?: () => void } | null)?.unref?.();
          resolve(holder);
        },
        (e: Error) => fail(e.message),
      );
    };
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      settle();
    });
    child.stderr?.on('data', onErr);
    (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', (chunk: Buffer) => {
      info += chunk.toString('utf8');
      const found = /"child-pid":\s*(\d+)/.exec(info);
      if (found && innerPid === undefined) {
        innerPid = Number(found[1]);
        settle();
      }
    });
    child.once('exit', onExit);
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

/**
 * A node's sandbox host (docs/sandbox-design.md, "The sandbox host"): what the boundaries of one
 * node's agents share while the node runs, each part made on first use:
 * - the bridges to the node's loopback, per agent's run folder (bridges.ts);
 * - the agents' networks, a holder per sandboxed agent (agent-net.ts);
 * - the memory cgroups, `tinyagi-<pid>-<host id>/agent-<id>` under the process's own (cgroup.ts);
 * - a task worktree's holds: its lock and the markers' stand-ins while its sandboxes run
 *   (git-worktree.ts);
 * and what its boundaries hide and bind in: the runtimes' CLI homes, the `tinyagi` CLI entry the
 * node's shim runs; and the machine check its boundaries follow (machine.ts): the node's self-test's
 * once recorded (`recordCheck`), until then one quick check made on first need and kept. No module of this package keeps sandbox state of its own: two hosts in one
 * process (two nodes of a test) share nothing but what lies on disk under their TinyAGI homes.
 *
 * Contract:
 * - Constructing a host makes nothing; a host that confines nothing costs nothing.
 * - `close()` closes the bridges and removes their sockets, stops the holders, lets go of the
 *   worktree holds and removes the cgroups (empty ones only: call it once the host's agents'
 *   processes are gone, as a node does after its orchestrator stopped). A host used after
 *   `close()` makes them again, for the next `close()`.
 * - A process that exits without `close()` still removes the sockets and the cgroups (an exit hook
 *   while a spawn was wrapped); the holders die with it (`--die-with-parent`).
 * - A host without a recorded check (a caller without a node, a test) pays one `quickCheck` (an
 *   empty sandbox, some milliseconds) the first time it is asked; a `oneStart` host once per start.
 * - `oneStart`: the host of a caller without a node (a library's `invokeAgent`, a task's command
 *   outside a node, the self-test of `tinyagi doctor`): it closes itself once every spawn it
 *   wrapped is released, so such a start pays for its own bridges, network holder and cgroup.
 */
import { randomBytes } from 'node:crypto';
import type { RuntimeHome } from '@tinyagi/client/contract';
import { AgentNets } from './agent-net.ts';
import { type BoundaryDecision, type BoundaryHost, decideBoundary } from './boundary.ts';
import { HostBridges } from './bridges.ts';
import { AgentCgroups } from './cgroup.ts';
import { WorktreeHolds } from './git-worktree.ts';
import { type MachineCheck, quickCheck } from './machine.ts';
import type { SandboxSpec } from './spec.ts';

export interface SandboxHostOptions {
  /** The runtimes' CLI homes hidden in every sandbox: core's runtime registry's descriptors, plugins' included (docs/kinds.md). */
  runtimeHomes: () => readonly RuntimeHome[];
  /**
   * The `tinyagi` CLI entry the node's agent shim runs: a CLI installed under a private or hidden
   * folder (a checkout in /tmp) is bound in read-only, its whole installation, so `tinyagi call`
   * works inside the boundary.
   */
  cliEntry?: string | undefined;
  /** A host made for one start (see the module's comment): closed once every spawn it wrapped is released. */
  oneStart?: boolean;
}

/** What a host has made and not released yet. */
export interface SandboxHostResources {
  /** The bridges' socket paths. */
  bridges: string[];
  /** The agents' networks: their key (the agent's run folder) and their holder's pid. */
  nets: Array<{ key: string; pid: number }>;
  /** The agents' cgroup folders. */
  cgroups: string[];
  /** The worktree admin folders held. */
  worktrees: string[];
}

export class SandboxHost implements BoundaryHost {
  /** Names the host's cgroup folder (random: hosts of one process never share one). */
  readonly id = randomBytes(4).toString('hex');
  readonly cliEntry: string | undefined;
  readonly bridges = new HostBridges();
  readonly nets = new AgentNets();
  readonly cgroups: AgentCgroups;
  readonly worktrees = new WorktreeHolds();
  readonly #runtimeHomes: () => readonly RuntimeHome[];
  readonly #oneStart: boolean;
  #check: MachineCheck | undefined;
  #spawns = 0;
  #exitHook: (() => void) | undefined;

  constructor(options: SandboxHostOptions) {
    this.#runtimeHomes = options.runtimeHomes;
    this.cliEntry = options.cliEntry;
    this.#oneStart = options.oneStart ?? false;
    this.cgroups = new AgentCgroups(`tinyagi-${process.pid}-${this.id}`);
  }

  cliHomes(): readonly RuntimeHome[] {
    return this.#runtimeHomes();
  }

  /** The check its boundaries follow: the recorded one, else a quick check of the machine (made once, kept). */
  machineCheck(env: NodeJS.ProcessEnv = process.env): MachineCheck {
    this.#check ??= quickCheck(env);
    return this.#check;
  }

  /** The check known so far (undefined before the self-test ended or a quick check was made): what the status surfaces show. */
  get check(): MachineCheck | undefined {
    return this.#check;
  }

  /** Records the node's self-test's result: every boundary of this host follows it from now on. */
  recordCheck(check: MachineCheck): void {
    this.#check = check;
  }

  /**
   * The boundary of one agent's CLI start on this host, as its sandbox setting and the machine
   * decide: none (`sandbox` off), the boundary, or, for `on` on a machine that cannot enforce it,
   * the problem (the agent runs unconfined). `required` on such a machine throws a SandboxRefusal
   * naming the reason and the fix.
   */
  boundaryFor(agentId: string, sandbox: SandboxSpec | undefined, cwd: string, env: NodeJS.ProcessEnv = process.env): BoundaryDecision | undefined {
    return decideBoundary(this, agentId, sandbox, cwd, env);
  }

  spawnStarted(): () => void {
    this.#spawns += 1;
    this.#watchExit();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#spawns -= 1;
      if (this.#oneStart && this.#spawns === 0) void this.close();
    };
  }

  /** Releases what the host made for one agent: its network's holder, its bridges, its cgroup (the self-test's, once it has run). */
  async releaseAgent(agentId: string, runDir: string): Promise<void> {
    await this.nets.close(runDir);
    await this.bridges.close(runDir);
    this.cgroups.remove(agentId);
  }

  async resources(): Promise<SandboxHostResources> {
    return { bridges: this.bridges.paths(), nets: await this.nets.holders(), cgroups: this.cgroups.dirs(), worktrees: this.worktrees.folders() };
  }

  /** Releases everything the host made (see the module's comment). */
  async close(): Promise<void> {
    await this.nets.closeAll();
    await this.bridges.close();
    this.worktrees.releaseAll();
    this.cgroups.remove();
    if (this.cgroups.dirs().length > 0) {
      await this.cgroups.emptied();
      this.cgroups.remove();
    }
    // A cgroup still busy (a process that outlived the wait) stays for the exit hook.
    if (this.#exitHook !== undefined && this.cgroups.dirs().length === 0) {
      process.removeListener('exit', this.#exitHook);
      this.#exitHook = undefined;
    }
  }

  #watchExit(): void {
    if (this.#exitHook !== undefined) return;
    this.#exitHook = () => {
      this.bridges.unlinkAll();
      this.cgroups.remove();
    };
    process.once('exit', this.#exitHook);
  }
}

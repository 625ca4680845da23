/**
 * A memory cap per sandboxed agent (docs/sandbox.md, "The boundary"): one cgroup per agent under
 * the daemon's own (in a folder of the node's sandbox host, host.ts), with the agent's limit, that each of its sandboxed processes joins before
 * bwrap starts (the launcher writes its pid into `cgroup.procs`, then execs bwrap, so everything
 * the agent starts is counted). cgroup v1's memory controller (`memory.limit_in_bytes`) or
 * cgroup v2 (`memory.max`), whichever holds the daemon's own memory cgroup; when the daemon
 * cannot make one (no controller, no permission: a cgroup not delegated to the user), the reason
 * says so and the agents run without a cap.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type CgroupCheck = { ok: true; version: 1 | 2; base: string } | { ok: false; reason: string };

/** Where the daemon's memory cgroup is, from /proc/self/cgroup and the mounts. */
export function memoryCgroupBase(): CgroupCheck {
  if (process.platform !== 'linux') return { ok: false, reason: 'cgroups are Linux only' };
  let lines: string[];
  try {
    lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  } catch {
    return { ok: false, reason: '/proc/self/cgroup cannot be read' };
  }
  // v1: "4:memory:/path" (the memory controller mounted at /sys/fs/cgroup/memory).
  const v1 = lines.map((l) => l.split(':')).find((parts) => parts.length >= 3 && parts[1]!.split(',').includes('memory'));
  if (v1) {
    const mount = '/sys/fs/cgroup/memory';
    const base = join(mount, v1.slice(2).join(':'));
    if (existsSync(join(base, 'memory.limit_in_bytes'))) return { ok: true, version: 1, base };
    return { ok: false, reason: `the memory cgroup ${base} is not mounted where expected (${mount})` };
  }
  // v2: "0::/path" on the unified hierarchy at /sys/fs/cgroup.
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (v2 !== undefined) {
    const base = join('/sys/fs/cgroup', v2.slice(3));
    let controllers = '';
    try {
      controllers = readFileSync(join(base, 'cgroup.controllers'), 'utf8');
    } catch {
      return { ok: false, reason: `the cgroup v2 hierarchy is not at /sys/fs/cgroup` };
    }
    if (!controllers.split(/\s+/).includes('memory')) return { ok: false, reason: `the memory controller is not available in the daemon's cgroup ${base} (not delegated)` };
    return { ok: true, version: 2, base };
  }
  return { ok: false, reason: 'no memory cgroup in /proc/self/cgroup' };
}

export type AgentCgroup = { ok: true; procs: string; dir: string } | { ok: false; reason: string };

/**
 * The cgroups of one sandbox host (host.ts): `<the process's memory cgroup>/<parent>/agent-<id>`,
 * one per agent, made on first use with the agent's limit (updated when the setting changed).
 * `parent` names the host (`tinyagi-<pid>-<host id>`), so two hosts in one process never share one.
 */
export class AgentCgroups {
  readonly #parent: string;
  readonly #made = new Map<string, { dir: string; limit: number }>();
  #base: CgroupCheck | undefined;

  constructor(parent: string) {
    this.#parent = parent;
  }

  /** Where the process's memory cgroup is (read once). */
  base(): CgroupCheck {
    this.#base ??= memoryCgroupBase();
    return this.#base;
  }

  /** The agent's cgroup with `memoryMb` as its limit: the file a process writes its pid into to join it. */
  forAgent(agentId: string, memoryMb: number): AgentCgroup {
    const check = this.base();
    if (!check.ok) return check;
    const limit = Math.round(memoryMb * 1024 * 1024);
    const known = this.#made.get(agentId);
    if (known && known.limit === limit) return { ok: true, dir: known.dir, procs: join(known.dir, 'cgroup.procs') };
    const parent = join(check.base, this.#parent);
    const dir = join(parent, `agent-${agentId}`);
    try {
      if (check.version === 2) {
        mkdirSync(parent, { recursive: true });
        // The agents' cgroups need the memory controller passed down to them.
        enableMemoryController(check.base);
        enableMemoryController(parent);
      }
      mkdirSync(dir, { recursive: true });
      if (check.version === 1) writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limit));
      else {
        writeFileSync(join(dir, 'memory.max'), String(limit));
        // No swap beyond the cap, where the file exists (swap accounting on).
        if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
      }
    } catch (err) {
      return { ok: false, reason: `cannot make the cgroup ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
    }
    this.#made.set(agentId, { dir, limit });
    return { ok: true, dir, procs: join(dir, 'cgroup.procs') };
  }

  /** The cgroups made and not removed yet. */
  dirs(): string[] {
    return [...this.#made.values()].map(({ dir }) => dir);
  }

  /**
   * Waits, up to `timeoutMs`, until the cgroups left hold no process: a start's processes (its
   * sandbox's PID namespace) end a moment after its launcher has exited.
   */
  async emptied(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.dirs().some(holdsProcesses)) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /**
   * Removes the cgroup of `agentId`, or every one, and the host's folder once none is left: only
   * empty ones can go, so call it once the agents' processes are gone; one still busy stays known
   * (the next removal tries it again).
   */
  remove(agentId?: string): void {
    const any = this.#made.size > 0;
    for (const [id, { dir }] of this.#made) {
      if (agentId !== undefined && id !== agentId) continue;
      try {
        rmdirSync(dir);
        this.#made.delete(id);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.#made.delete(id);
      }
    }
    const base = this.#base;
    if (!any || this.#made.size > 0 || base?.ok !== true) return;
    try {
      rmdirSync(join(base.base, this.#parent));
    } catch {}
  }
}

function holdsProcesses(dir: string): boolean {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() !== '';
  } catch {
    return false;
  }
}

function enableMemoryController(dir: string): void {
  const control = join(dir, 'cgroup.subtree_control');
  if (readFileSync(control, 'utf8').split(/\s+/).includes('memory')) return;
  writeFileSync(control, '+memory');
}

/** The memory limit the agent's cgroup has now, in bytes (what a test checks). */
export function cgroupLimitBytes(dir: string): number | undefined {
  for (const file of ['memory.limit_in_bytes', 'memory.max']) {
    try {
      const text = readFileSync(join(dir, file), 'utf8').trim();
      return text === 'max' ? Number.POSITIVE_INFINITY : Number(text);
    } catch {}
  }
  return undefined;
}

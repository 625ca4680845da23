/**
 * A memory cap per sandboxed agent (docs/sandbox.md, "The boundary"): one cgroup per agent under
 * the daemon's own, with the agent's limit, that each of its sandboxed processes joins before
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

const made = new Map<string, { dir: string; limit: number }>();
let exitHook = false;

/** Directory names under the daemon's cgroup: one per daemon process, one per agent in it. */
function daemonDirName(): string {
  return `tinyagi-${process.pid}`;
}

/**
 * The agent's cgroup with `memoryMb` as its limit (made on first use, its limit updated when the
 * setting changed): the file a process writes its pid into to join it.
 */
export function agentCgroup(agentId: string, memoryMb: number, check: CgroupCheck = memoryCgroupBase()): AgentCgroup {
  if (!check.ok) return check;
  const limit = Math.round(memoryMb * 1024 * 1024);
  const known = made.get(agentId);
  if (known && known.limit === limit) return { ok: true, dir: known.dir, procs: join(known.dir, 'cgroup.procs') };
  const parent = join(check.base, daemonDirName());
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
  made.set(agentId, { dir, limit });
  if (!exitHook) {
    exitHook = true;
    process.once('exit', removeCgroups);
  }
  return { ok: true, dir, procs: join(dir, 'cgroup.procs') };
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

/** Removes the cgroups this process made (only empty ones can go: the agents' processes are gone by then). */
export function removeCgroups(): void {
  const parents = new Set<string>();
  for (const { dir } of made.values()) {
    try {
      rmdirSync(dir);
    } catch {}
    parents.add(join(dir, '..'));
  }
  for (const parent of parents) {
    try {
      rmdirSync(parent);
    } catch {}
  }
  made.clear();
}

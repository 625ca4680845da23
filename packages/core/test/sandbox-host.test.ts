/**
 * Each node's sandbox its own (@tinyagi/sandbox `SandboxHost`; docs/sandbox-design.md, "The
 * sandbox host"), with real bwrap: two nodes in one process, each with its host and its TinyAGI
 * home as on two machines, run a sandboxed agent of the same id through the invoker (the host on
 * the request, as the node's agent call puts it). Each host holds its own agent network, bridge
 * and cgroup; a second start reuses its host's network; `close()` of one releases all of its own
 * (holder gone, socket removed, cgroup removed) and leaves the other's working. Each host keeps its
 * own machine check (one node's self-test failed, the other's passed): a confined start and the
 * launch facts on each follow its own. A call without a node's host gets a host of its own that
 * leaves nothing behind once the call ends.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGone, pidAlive, waitFor } from '@tinyagi/test-kit';
import { joinTools, type MachineCheck, memoryCgroupBase, quickCheck, type SandboxHost, sandboxRunDir } from '@tinyagi/sandbox';
import { invokeAgent } from '../src/invoker/index.ts';
import type { InvokeRequest } from '../src/invoker/types.ts';
import { readLaunchFacts } from '../src/invoker/launch-facts.ts';
import { runSelfTest, sandboxHost } from '../src/sandbox/host.ts';

/** Under ~/.cache: on the read-only root inside the sandbox (its /tmp is its own); short enough for socket paths. */
const SCRATCH = join(homedir(), '.cache');
const AGENT = 'coder';

let root: string;
let api: Server;
let apiUrl: string;
const enforced = quickCheck(process.env).ok;
/** Where this machine joins an agent's network (nsenter, env --default-signal); elsewhere each start bridges its own. */
const shared = joinTools() !== undefined;

/** One node's machine: its TinyAGI home, its workspace root, its agent's workspace. */
function machine(name: string) {
  const tinyHome = join(root, name, 'home');
  const workspaceRoot = join(root, name, 'ws');
  const cwd = join(workspaceRoot, AGENT);
  mkdirSync(tinyHome, { recursive: true });
  mkdirSync(cwd, { recursive: true });
  return { tinyHome, workspaceRoot, cwd, runDir: sandboxRunDir(tinyHome, AGENT) };
}

/** The agent's run on `host` (undefined: no node's host): a command inside asks the API through its bridge and writes the answer in its workspace. */
async function runOn(host: SandboxHost | undefined, m: ReturnType<typeof machine>): Promise<string> {
  const fetchApi = "fetch(process.env.TINYAGI_API_URL).then((r) => r.text()).then((t) => require('fs').writeFileSync('api.txt', t))";
  const req: InvokeRequest = {
    agentId: AGENT,
    target: {
      runtime: 'mock',
      provider: 'mock',
      mock: { replies: [{ match: 'go', reply: 'done', actions: [{ run: [process.execPath, '-e', fetchApi] }] }] },
      sandbox: { mode: 'required', tinyHome: m.tinyHome, workspaceRoot: m.workspaceRoot, memoryMb: 256 },
    },
    prompt: 'go',
    systemPrompt: '',
    cwd: m.cwd,
    env: { TINYAGI_API_URL: apiUrl },
    ...(host ? { sandboxHost: host } : {}),
  };
  rmSync(join(m.cwd, 'api.txt'), { force: true });
  await invokeAgent(req);
  return readFileSync(join(m.cwd, 'api.txt'), 'utf8');
}

/** Holders of an agent network (its bwrap, whose command is `sh -c 'echo ready && exec cat'`) serving a run folder under `dir`, by pid. */
function holdersUnder(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return argv[0]?.endsWith('bwrap') === true && argv.includes('echo ready && exec cat') && argv.some((a) => a.includes(dir)) && pidAlive(Number(p));
      } catch {
        return false;
      }
    })
    .map(Number);
}

beforeAll(async () => {
  mkdirSync(SCRATCH, { recursive: true });
  root = mkdtempSync(join(SCRATCH, 'tinyagi-hosts-'));
  api = createServer((_req, res) => res.end('the node answers'));
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});

afterAll(() => {
  api?.close();
  rmSync(root, { recursive: true, force: true });
});

describe.runIf(enforced)('two nodes in one process', () => {
  it("each host's bridges, agent network and cgroup are its own; close() releases them and leaves the other's working", async () => {
    const a = { host: sandboxHost(), ...machine('a') };
    const b = { host: sandboxHost(), ...machine('b') };
    try {
      expect(await a.host.resources()).toEqual({ bridges: [], nets: [], cgroups: [], worktrees: [] });
      expect(await runOn(a.host, a)).toBe('the node answers');
      const aHas = await a.host.resources();
      const apiPort = new URL(apiUrl).port;
      expect(aHas.bridges).toEqual([join(a.runDir, `tcp-${apiPort}.sock`)]);
      // Nothing of A's is B's: B has made nothing yet.
      expect(await b.host.resources()).toEqual({ bridges: [], nets: [], cgroups: [], worktrees: [] });

      expect(await runOn(b.host, b)).toBe('the node answers');
      const bHas = await b.host.resources();
      expect(bHas.bridges).toEqual([join(b.runDir, `tcp-${apiPort}.sock`)]);
      const cgroups = a.host.cgroups.base().ok;
      if (cgroups) {
        expect(aHas.cgroups).toEqual([expect.stringMatching(new RegExp(`/tinyagi-${process.pid}-${a.host.id}/agent-${AGENT}$`))]);
        expect(bHas.cgroups).toEqual([expect.stringMatching(new RegExp(`/tinyagi-${process.pid}-${b.host.id}/agent-${AGENT}$`))]);
      }
      if (shared) {
        expect(aHas.nets).toEqual([{ key: a.runDir, pid: expect.any(Number) }]);
        expect(bHas.nets).toEqual([{ key: b.runDir, pid: expect.any(Number) }]);
        expect(bHas.nets[0]!.pid).not.toBe(aHas.nets[0]!.pid);
        // The agent's network is the host's: the next start on A enters the same holder.
        await runOn(a.host, a);
        expect((await a.host.resources()).nets).toEqual(aHas.nets);
      }

      await a.host.close();
      expect(await a.host.resources()).toEqual({ bridges: [], nets: [], cgroups: [], worktrees: [] });
      expect(existsSync(aHas.bridges[0]!)).toBe(false);
      for (const dir of aHas.cgroups) expect(existsSync(dir)).toBe(false);
      for (const { pid } of aHas.nets) await waitFor(() => isGone(pid), 20_000, "A's network holder to end");

      // B's are untouched, and B's agent still runs on them.
      expect(existsSync(bHas.bridges[0]!)).toBe(true);
      for (const dir of bHas.cgroups) expect(existsSync(dir)).toBe(true);
      for (const { pid } of bHas.nets) expect(pidAlive(pid)).toBe(true);
      expect(await runOn(b.host, b)).toBe('the node answers');
      expect((await b.host.resources()).nets).toEqual(bHas.nets);
    } finally {
      await a.host.close();
      await b.host.close();
    }
    expect(await b.host.resources()).toEqual({ bridges: [], nets: [], cgroups: [], worktrees: [] });
  }, 60_000);

  it("each host's machine check is its own: a confined start on the host whose self-test failed is refused, on the other it runs confined", async () => {
    const failed: MachineCheck = {
      ok: false,
      problem: { reason: 'bwrap cannot start a sandbox: setting up uid map: Permission denied', fix: 'allow user namespaces' },
      memory: { ok: false, reason: 'no sandbox' },
      checks: [],
      source: 'self-test',
      checkedAt: Date.now(),
    };
    const a = { host: sandboxHost(), ...machine('check-a') };
    const b = { host: sandboxHost(), ...machine('check-b') };
    try {
      expect(a.host.check).toBeUndefined();
      a.host.recordCheck(failed);
      // B's self-test runs on B's host, as a node's start runs it, and is recorded there.
      const passed = await runSelfTest({ host: b.host, tinyHome: b.tinyHome, workspaceRoot: b.workspaceRoot, env: process.env });
      expect(passed).toMatchObject({ ok: true, source: 'self-test' });
      b.host.recordCheck(passed);
      expect(a.host.check).toBe(failed);
      expect(b.host.check).toBe(passed);

      await expect(runOn(a.host, a)).rejects.toThrow(/sandbox "required".*setting up uid map: Permission denied/);
      expect(await runOn(b.host, b)).toBe('the node answers');
      // The launch plans read the same check: A does not enforce the boundary, B does.
      expect(readLaunchFacts(process.env, a.cwd, a.host).boundary).toBe(false);
      expect(readLaunchFacts(process.env, b.cwd, b.host).boundary).toBe(true);
      // The refused start made nothing on A; B's start made its bridge.
      expect(await a.host.resources()).toEqual({ bridges: [], nets: [], cgroups: [], worktrees: [] });
      expect((await b.host.resources()).bridges).toEqual([join(b.runDir, `tcp-${new URL(apiUrl).port}.sock`)]);
    } finally {
      await a.host.close();
      await b.host.close();
    }
  });

  it("a call without a node's host runs on a host of its own, which leaves no holder, socket or cgroup once the call ends", async () => {
    const c = machine('c');
    const seen: number[] = [];
    const watching = setInterval(() => seen.push(...holdersUnder(c.tinyHome)), 20);
    try {
      expect(await runOn(undefined, c)).toBe('the node answers');
    } finally {
      clearInterval(watching);
    }
    // The call had a holder of its own (seen while it ran), and it ends with the call.
    expect(seen.length, 'a holder while the call ran').toBeGreaterThan(0);
    await waitFor(() => holdersUnder(c.tinyHome).length === 0, 20_000, 'the call-made holder to end');
    await waitFor(() => !existsSync(join(c.runDir, `tcp-${new URL(apiUrl).port}.sock`)), 20_000, "the call-made bridge's socket to go");
    // No cgroup folder of a host of this process is left (the hosts of the test above are closed too).
    const base = memoryCgroupBase();
    if (base.ok) await waitFor(() => !readdirSync(base.base).some((name) => name.startsWith(`tinyagi-${process.pid}-`)), 20_000, 'the call-made cgroup to go');
  }, 60_000);
});

/**
 * B26: fifty agents at once on one machine (issue 87). The built daemon, started as `tinyagi start`
 * starts it (test-kit's createDaemon: the start-up snapshot, `daemonNodeArgs` and `daemonEnv`),
 * with the project's fake `claude` first on PATH. Agents are made by `POST /api/agents` with only
 * an id, a name and the runtime, so they get what `tinyagi agent add` gives (core's newAgent):
 * warm, sandboxed where the boundary holds (the bench refuses to measure otherwise), `ask` with the
 * starter rules. `sessions.max_total` is raised to the agent count (its default, 16, would close
 * the least recently used warm process to start the 17th).
 *
 * - Floor: the same daemon with 0 agents, idle: memory and CPU.
 * - Tasks: one project bound to a one-commit repository; N tasks, each assigned to its own agent,
 *   moved to In progress at once (N concurrent PATCHes). Each agent's stand-in (FAKE:bash, one Bash
 *   call) writes a file, commits it and says done (its run's task route, as the MCP tool does); the
 *   commit is not in the starter rules, so each asks: the bench answers every request `allow_once`
 *   as it arrives (an `approval.requested` event), as a person would. Every task must reach Review
 *   (the daemon's Checking proves the commit). Timed from the first PATCH to each task's Review.
 * - Events: every frame of the API's SSE stream (`/api/events`, no filter) while the tasks run.
 * - Then N warm idle agents: memory and CPU again.
 *
 * What is counted. The daemon's tree is the daemon process and all its descendants
 * (/proc/<pid>/task/<tid>/children). The CLI's own processes are the fake claude's node processes
 * (the command line names test-kit's bin/claude) and their descendants; everything else is the
 * daemon's side: the daemon, each agent's network-namespace holder, and each warm process's launch
 * chain (sh, nsenter, the two bwrap processes). Memory: RSS summed, and PSS summed
 * (/proc/<pid>/smaps_rollup: shared pages split between the processes that map them, so a binary
 * shared by 50 processes is not counted 50 times). Per warm agent: (the daemon's side with N agents
 * − the floor) ÷ N. CPU: utime + stime (/proc/<pid>/stat) of every process of the tree at the
 * window's start and end, over `idleSeconds`, as a share of one core.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp, createDaemon, descendants, FAKE_BIN_DIR, gitRepos, type TestDaemon, waitFor } from '@tinyagi/test-kit';
import { followSse } from './main-job-targets.ts';
import { percentile } from './machine.ts';

export interface B26Options {
  agents: number;
  /** The idle window over which CPU is read (default 60). */
  idleSeconds: number;
}

const CLK_TCK = 100;
const PAGE_KB = 4;

interface ProcSample {
  pid: number;
  cli: boolean;
  rssKb: number;
  pssKb: number;
  ticks: number;
  name: string;
}

function readProc(pid: number): Omit<ProcSample, 'cli'> | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // After the name: state(0) … utime(11) stime(12) … rss(21) in pages.
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssKb = Number(fields[21]) * PAGE_KB;
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const pssKb = Number(/^Pss:\s+(\d+) kB$/m.exec(rollup)?.[1] ?? 0);
    return { pid, rssKb, pssKb, ticks, name };
  } catch {
    return undefined; // gone
  }
}

function argv(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** The stand-in CLI: node running test-kit's bin/claude (a bwrap launching it names it too, further on its command line). */
function isCliProcess(pid: number): boolean {
  const [exe, script] = argv(pid);
  return exe !== undefined && /(^|\/)node$/.test(exe) && script === join(FAKE_BIN_DIR, 'claude');
}

/** What a process of the daemon's side is, for the breakdown. */
function kindOf(pid: number): string {
  const args = argv(pid);
  // An agent's network holder: bwrap whose shell says ready and becomes `cat` (agent-net.ts); an older build's, a resident `sandbox-init --hold`.
  const bwrap = /(^|\/)bwrap$/.test(args[0] ?? '');
  if (bwrap && args.includes('echo ready && exec cat')) return 'network holder: bwrap';
  if (args.some((a) => a.endsWith('sandbox-init.mjs')) && args.includes('--hold')) return bwrap ? 'network holder: bwrap' : 'network holder: node sandbox-init';
  if (args[0] === 'cat') return 'network holder: cat';
  if (bwrap) return 'launch: bwrap';
  return `other: ${(args[0] ?? '?').split('/').at(-1)}`;
}

/** Every process of the daemon's tree, each marked CLI (a fake claude or below one) or the daemon's side. */
function sampleTree(root: number): ProcSample[] {
  const cli = new Set<number>();
  for (const pid of descendants(root)) {
    if (!cli.has(pid) && isCliProcess(pid)) for (const p of [pid, ...descendants(pid)]) cli.add(p);
  }
  return [root, ...descendants(root)].flatMap((pid) => {
    const p = readProc(pid);
    return p ? [{ ...p, cli: cli.has(pid) }] : [];
  });
}

export interface Footprint {
  processes: number;
  cliProcesses: number;
  daemonRssMb: number;
  sideRssMb: number;
  sidePssMb: number;
  cliRssMb: number;
  cliPssMb: number;
  /** The side's helper processes by kind: how many, their RSS and PSS. */
  names: Record<string, { count: number; rssKb: number; pssKb: number }>;
}

function footprint(root: number): Footprint {
  const tree = sampleTree(root);
  const side = tree.filter((p) => !p.cli);
  const cli = tree.filter((p) => p.cli);
  const mb = (list: ProcSample[], key: 'rssKb' | 'pssKb') => list.reduce((s, p) => s + p[key], 0) / 1024;
  const names: Record<string, { count: number; rssKb: number; pssKb: number }> = {};
  for (const p of side.slice(1)) {
    const kind = kindOf(p.pid);
    const k = names[kind] ?? { count: 0, rssKb: 0, pssKb: 0 };
    names[kind] = { count: k.count + 1, rssKb: k.rssKb + p.rssKb, pssKb: k.pssKb + p.pssKb };
  }
  return {
    processes: tree.length,
    cliProcesses: cli.length,
    daemonRssMb: tree[0]!.rssKb / 1024,
    sideRssMb: mb(side, 'rssKb'),
    sidePssMb: mb(side, 'pssKb'),
    cliRssMb: mb(cli, 'rssKb'),
    cliPssMb: mb(cli, 'pssKb'),
    names,
  };
}

export interface CpuWindow {
  seconds: number;
  /** Share of one core, in %: the daemon process, its helpers, the CLIs. */
  daemonPct: number;
  helpersPct: number;
  cliPct: number;
}

/** CPU over an idle window: ticks of the processes present at both ends (a process born or gone inside is left out; none should be). */
async function idleCpu(root: number, seconds: number): Promise<CpuWindow> {
  const before = new Map(sampleTree(root).map((p) => [p.pid, p]));
  const started = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000)); // the window itself: nothing to wait for
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const after = sampleTree(root);
  const delta = { daemon: 0, helpers: 0, cli: 0 };
  for (const p of after) {
    const b = before.get(p.pid);
    if (!b) continue;
    const d = p.ticks - b.ticks;
    if (p.pid === root) delta.daemon += d;
    else if (p.cli) delta.cli += d;
    else delta.helpers += d;
  }
  const pct = (ticks: number) => (ticks / CLK_TCK / wall) * 100;
  return { seconds: wall, daemonPct: pct(delta.daemon), helpersPct: pct(delta.helpers), cliPct: pct(delta.cli) };
}

/**
 * The stand-in's work in its task's worktree: a file, a commit, then "done" through its run's task
 * route with the run's token. A warm process outlives its runs, so the run's variables are read from
 * the file TINYAGI_RUN_FILE names (as `tinyagi call` reads them).
 */
function standInCommand(n: number): string {
  const readRun = `eval "$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.env.TINYAGI_RUN_FILE,"utf8"));for(const k in r)console.log("export "+k+"="+JSON.stringify(r[k]))')"`;
  const done = `curl -q -fsS --noproxy "*" -X PATCH -H "authorization: Bearer $TINYAGI_RUN_TOKEN" -H 'content-type: application/json' -d '{"status":"review"}' "$TINYAGI_API_URL/api/runs/$TINYAGI_RUN_ID/task" > /dev/null`;
  return `printf 'task ${n}\\n' > work-${n}.txt && git add work-${n}.txt && git commit -q -m 'task ${n}' && ${readRun} && ${done} && echo done`;
}

export interface TaskPhase {
  wallS: number;
  /** The PATCH to In progress answered (the worktree made, the message queued). */
  startedP50S: number;
  startedP99S: number;
  reviewP50S: number;
  reviewP99S: number;
  approvals: number;
  events: number;
  eventsPerS: number;
  peakEventsPerS: number;
  warmSessions: number;
}

function progress(line: string): void {
  process.stderr.write(`B26 ${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

async function makeAgents(daemon: TestDaemon, n: number): Promise<string[]> {
  const api = daemon.api;
  const ids = Array.from({ length: n }, (_, i) => `a${String(i + 1).padStart(2, '0')}`);
  for (const id of ids) {
    const made = await api.createAgent({ body: { id, name: id.toUpperCase(), provider: 'anthropic' } });
    const a = made.agent as unknown as Record<string, unknown>;
    if (a['process'] !== 'warm' || a['sandbox'] !== 'on' || a['permission_mode'] !== 'ask') {
      throw new Error(`B26: agent ${id} was made ${JSON.stringify({ process: a['process'], sandbox: a['sandbox'], permission_mode: a['permission_mode'] })}, not warm, sandboxed and asking`);
    }
  }
  return ids;
}

/** Answers every pending permission request `allow_once` (the first answer wins: a 409 from a second look is fine). */
function approver(daemon: TestDaemon): { count: () => number; stop: () => void } {
  const decided = new Set<string>();
  let pending: Promise<void> = Promise.resolve();
  const sweep = async () => {
    for (const a of await daemon.api.listApprovals({ query: { status: 'pending' } })) {
      if (decided.has(a.id)) continue;
      decided.add(a.id);
      await daemon.api.decideApproval({ params: { id: a.id }, body: { decision: 'allow_once' } });
    }
  };
  const stop = followSse(daemon.port, '/api/events?types=approval.requested', daemon.token(), () => {
    pending = pending.then(sweep, sweep);
  });
  return { count: () => decided.size, stop };
}

async function runTasks(daemon: TestDaemon, agents: string[]): Promise<TaskPhase> {
  const api = daemon.api;
  const fx = gitRepos();
  const project = await api.createProject({ body: { name: 'Fifty', repo: { path: fx.repoDir } } });
  const tasks = [];
  for (const [i, agent] of agents.entries()) {
    tasks.push(await api.createTask({ body: { title: `Task ${i + 1}`, description: `FAKE:bash=${standInCommand(i + 1)}`, projectId: project.id, assigneeAgent: agent, status: 'todo' } }));
  }
  const perSecond = new Map<number, number>();
  let events = 0;
  const stopEvents = followSse(daemon.port, '/api/events', daemon.token(), () => {
    events++;
    const s = Math.floor(Date.now() / 1000);
    perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
  });
  const approvals = approver(daemon);
  const reviewedAt = new Map<string, number>();
  const startedAt: number[] = [];
  const t0 = performance.now();
  let lastLine = '';
  let lastAt = 0;
  try {
    // The PATCHes answer once each task's worktree is made; the tasks are watched meanwhile.
    const patched = Promise.all(
      tasks.map(async (t) => {
        await api.patchTask({ params: { id: t.id }, body: { status: 'in_progress' } });
        startedAt.push(performance.now() - t0);
      }),
    );
    patched.catch(() => {});
    await waitFor(
      async () => {
        const list = await api.listTasks({ query: { projectId: project.id } });
        const by = new Map<string, number>();
        for (const t of list) by.set(`${t.status}/${t.git?.state ?? '-'}`, (by.get(`${t.status}/${t.git?.state ?? '-'}`) ?? 0) + 1);
        const line = JSON.stringify([...by]);
        if (line !== lastLine && performance.now() - lastAt > 5_000) {
          progress(`${((performance.now() - t0) / 1000).toFixed(1)} s: ${line}, ${approvals.count()} approvals`);
          lastLine = line;
          lastAt = performance.now();
        }
        for (const t of list) {
          if (t.status === 'review' && !reviewedAt.has(t.id)) reviewedAt.set(t.id, performance.now() - t0);
          if (t.git?.state === 'failed') throw new Error(`B26: task ${t.identifier}'s worktree failed: ${t.git.error?.code}: ${t.git.error?.message}`);
        }
        return reviewedAt.size === tasks.length;
      },
      10 * 60_000,
      `all ${tasks.length} tasks to reach review`,
      500,
    );
    await patched;
  } finally {
    approvals.stop();
    stopEvents();
  }
  const wallS = (performance.now() - t0) / 1000;
  const times = [...reviewedAt.values()].sort((a, b) => a - b);
  startedAt.sort((a, b) => a - b);
  const sessions = await api.listSessions();
  return {
    wallS,
    startedP50S: percentile(startedAt, 50) / 1000,
    startedP99S: percentile(startedAt, 99) / 1000,
    reviewP50S: percentile(times, 50) / 1000,
    reviewP99S: percentile(times, 99) / 1000,
    approvals: approvals.count(),
    events,
    eventsPerS: events / wallS,
    peakEventsPerS: Math.max(0, ...perSecond.values()),
    warmSessions: sessions.sessions.length,
  };
}

export interface B26Result {
  floor: Footprint;
  floorCpu: CpuWindow;
  tasks: TaskPhase;
  warm: Footprint;
  warmCpu: CpuWindow;
}

export async function measureB26(opts: B26Options): Promise<B26Result> {
  const daemon = await createDaemon({
    prefix: 'tinyagi-b26-',
    // The fake claude, then git, sh and curl for the stand-in's command; bwrap and nsenter for the boundary.
    path: [FAKE_BIN_DIR, '/usr/bin', '/bin'],
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'anthropic' },
      agents: {},
      teams: {},
      channels: { enabled: [] },
      sessions: { max_total: opts.agents },
    }),
  });
  try {
    await daemon.start();
    await waitFor(async () => (await daemon.api.status()).sandbox?.source === 'self-test', 60_000, "the daemon's sandbox self-test", 100);
    if (!(await daemon.api.status()).sandbox?.ok) throw new Error('B26: the boundary does not hold on this machine (tinyagi doctor says why)');
    progress(`daemon up (pid ${daemon.pid}, ${daemon.root}); floor window`);
    const floorCpu = await idleCpu(daemon.pid, opts.idleSeconds);
    const floor = footprint(daemon.pid);
    const agents = await makeAgents(daemon, opts.agents);
    progress(`${agents.length} agents made; tasks`);
    const tasks = await runTasks(daemon, agents);
    progress(`tasks done in ${tasks.wallS.toFixed(1)} s; warm window`);
    if (tasks.warmSessions !== opts.agents) throw new Error(`B26: ${tasks.warmSessions} warm sessions after the tasks, not ${opts.agents}`);
    const warmCpu = await idleCpu(daemon.pid, opts.idleSeconds);
    const warm = footprint(daemon.pid);
    if (warm.cliProcesses < opts.agents) throw new Error(`B26: ${warm.cliProcesses} CLI processes in the daemon's tree, not ${opts.agents}`);
    return { floor, floorCpu, tasks, warm, warmCpu };
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${daemon.logs()}`);
  } finally {
    await daemon.cleanup();
    // The repository gitRepos made (its task worktrees lived in the daemon's home).
    cleanupTemp();
  }
}

export async function benchB26(opts: B26Options): Promise<string> {
  const r = await measureB26(opts);
  process.stderr.write(`B26: ${JSON.stringify(r)}\n`);
  return formatB26(r, opts);
}

export function formatB26(r: B26Result, opts: B26Options): string {
  const n = opts.agents;
  const f1 = (v: number) => v.toFixed(1);
  const f2 = (v: number) => v.toFixed(2);
  const perAgent = (key: 'sideRssMb' | 'sidePssMb') => (r.warm[key] - r.floor[key]) / n;
  const names = Object.entries(r.warm.names)
    .sort((a, b) => b[1].pssKb - a[1].pssKb)
    .map(([kind, k]) => `${kind} ×${k.count} (PSS ${f1(k.pssKb / 1024 / k.count)} MB each, RSS ${f1(k.rssKb / 1024 / k.count)} MB)`)
    .join('; ');
  return [
    `| the daemon's tree, idle | 0 agents (floor) | ${n} warm sandboxed agents | per warm agent |`,
    '| --- | --- | --- | --- |',
    `| processes (of which the CLI's) | ${r.floor.processes} (${r.floor.cliProcesses}) | ${r.warm.processes} (${r.warm.cliProcesses}) | ${f1((r.warm.processes - r.warm.cliProcesses - r.floor.processes) / n)} of the daemon's side |`,
    `| the daemon process, RSS | ${f1(r.floor.daemonRssMb)} MB | ${f1(r.warm.daemonRssMb)} MB | ${f2((r.warm.daemonRssMb - r.floor.daemonRssMb) / n)} MB |`,
    `| the daemon's side (daemon + helpers), RSS | ${f1(r.floor.sideRssMb)} MB | ${f1(r.warm.sideRssMb)} MB | **${f2(perAgent('sideRssMb'))} MB** |`,
    `| the daemon's side, PSS | ${f1(r.floor.sidePssMb)} MB | ${f1(r.warm.sidePssMb)} MB | **${f2(perAgent('sidePssMb'))} MB** |`,
    `| the stand-in CLIs, RSS / PSS (excluded above) | — | ${f1(r.warm.cliRssMb)} / ${f1(r.warm.cliPssMb)} MB | ${f1(r.warm.cliRssMb / n)} / ${f1(r.warm.cliPssMb / n)} MB |`,
    `| CPU over ${Math.round(r.warmCpu.seconds)} s idle: the daemon process | ${f2(r.floorCpu.daemonPct)} % | ${f2(r.warmCpu.daemonPct)} % | |`,
    `| CPU: its helpers | ${f2(r.floorCpu.helpersPct)} % | ${f2(r.warmCpu.helpersPct)} % | |`,
    `| CPU: the daemon's side in all (aim ≤ 1 % of a core) | ${f2(r.floorCpu.daemonPct + r.floorCpu.helpersPct)} % | **${f2(r.warmCpu.daemonPct + r.warmCpu.helpersPct)} %** | |`,
    `| CPU: the stand-in CLIs | — | ${f2(r.warmCpu.cliPct)} % | |`,
    '',
    `The daemon's helpers with ${n} warm agents: ${names}.`,
    '',
    `| ${n} git tasks started at once, one per agent | |`,
    '| --- | --- |',
    `| all in Review | ${f1(r.tasks.wallS)} s (${n} of ${n}) |`,
    `| the move to In progress answered (worktree made), p50 / p99 | ${f1(r.tasks.startedP50S)} / ${f1(r.tasks.startedP99S)} s |`,
    `| a task's time to Review, p50 / p99 | ${f1(r.tasks.reviewP50S)} / ${f1(r.tasks.reviewP99S)} s |`,
    `| permission requests answered (the commit asks) | ${r.tasks.approvals} |`,
    `| events through the API's SSE stream | ${r.tasks.events} (${f1(r.tasks.eventsPerS)}/s on average, ${r.tasks.peakEventsPerS} in the busiest second) |`,
    `| warm sessions afterwards | ${r.tasks.warmSessions} |`,
  ].join('\n');
}

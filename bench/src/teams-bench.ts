/**
 * B3 (orchestration overhead), B4 (sub-agent admission and a recursive tree) and B5
 * (concurrency): the real orchestrator, real SQLite file (synchronous FULL), mock provider.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Observer, Settings } from '@tinyagi/core';
import { openStores, type StoreTransaction, type SqliteStores } from '@tinyagi/core/internal';
import { ConversationControl, Orchestrator } from '@tinyagi/teams';
import { admitSpawn, type AdmissionSnapshot } from '@tinyagi/teams/internal';
import { percentile } from './machine.ts';
import { addCounts, backendCpu, cpuSince, roundTrips } from './pg-statements.ts';
import type { B5NodeConfig } from './b5-node.ts';

interface Harness {
  stores: SqliteStores;
  orchestrator: Orchestrator;
  dir: string;
  completed(conversationId: string): Promise<void>;
  close(): Promise<void>;
}

function harness(settings: Settings, concurrency = 8, observers: Observer[] = []): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-bench-orch-'));
  const stores = openStores({ dbPath: join(dir, 'tinyagi.db'), durability: 'full' });
  const waiting = new Map<string, () => void>();
  const done = new Set<string>();
  stores.events.subscribe((e) => {
    if (e.type !== 'conversation.completed' || !e.conversationId) return;
    done.add(e.conversationId);
    waiting.get(e.conversationId)?.();
  });
  const orchestrator = new Orchestrator({ stores, getSettings: () => settings, concurrency, sweepMs: 1000, observers: observers as Observer<StoreTransaction>[] });
  orchestrator.start();
  return {
    stores,
    orchestrator,
    dir,
    completed: (id) => (done.has(id) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(id, resolve))),
    async close() {
      await orchestrator.stop(1000);
      stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const workspace = () => ({ path: mkdtempSync(join(tmpdir(), 'tinyagi-bench-ws-')) });
const bigLimits = {
  max_hops: 1000,
  max_messages: 100_000,
  max_fanout: 1000,
  max_children_per_run: 10,
  max_concurrent_children: 10,
  max_spawns_per_conversation: 100_000,
  conversation_timeout_s: 36_000,
  ping_pong_max: 1000,
};

/** What a profiled pass of the "on" side spent (b3-side.ts): CPU, samples in the export's code, in the garbage collector. */
export interface ExportShare {
  cpuMs: number;
  exportMs: number;
  gcMs: number;
}

/** Passes profiled after the measured ones, on the "on" side alone. */
const PROFILED_PASSES = 3;

/** One B3 scenario run once: wall ms per run of each conversation, and the process's CPU for all of it. */
interface B3Pass {
  perRun: number[];
  wallMs: number;
  cpuMs: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * An OTLP/HTTP endpoint on loopback that takes every export and throws it away (200, empty
 * body): the export's own work (building spans and metrics, serialising, sending) counts in
 * this process, decoding it does not.
 */
async function discardingCollector(): Promise<{ endpoint: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, requests: () => requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * The daemon's export with traces and metrics on (@tinyagi/otel), sending to `endpoint`;
 * `flushTraces` sends the spans queued now; `stop` flushes and shuts it down.
 */
export async function otelExport(endpoint: string, settings: Settings): Promise<{ observers: Observer[]; flushTraces(): Promise<void>; stop(): Promise<void> }> {
  const otel = await import('@tinyagi/otel');
  const describeAgent = otel.agentsFromSettings(() => settings);
  const traces = await otel.createTraceObserver({ url: `${endpoint}/v1/traces`, describeAgent });
  const metrics = await otel.createMetricsObserver({ url: `${endpoint}/v1/metrics`, describeAgent });
  return {
    observers: [traces.observer, metrics.observer],
    flushTraces: () => traces.flush(),
    async stop() {
      await traces.shutdown();
      await metrics.shutdown();
    },
  };
}

/**
 * `conversations` conversations of `team`, one after another, each of `runs` runs: wall ms per run
 * of each, and the CPU of them all (`beforeEnd`, e.g. sending the spans, inside that window).
 */
export async function b3Pass(scenario: B3Scenario, observers: Observer[], beforeEnd?: () => Promise<void>): Promise<B3Pass> {
  const { settings, team, conversations, runs } = scenario;
  const h = harness(settings, 8, observers);
  const perRun: number[] = [];
  const c0 = cpuMs();
  const t0 = performance.now();
  for (let i = 0; i < conversations; i++) {
    const start = performance.now();
    const { conversationId } = await h.orchestrator.submit({ message: `go ${i}`, team, senderId: 'bench' });
    await h.completed(conversationId);
    perRun.push((performance.now() - start) / runs);
  }
  await beforeEnd?.();
  const pass = { perRun, wallMs: performance.now() - t0, cpuMs: cpuMs() - c0 };
  await h.close();
  return pass;
}

const B3_SIDE = new URL('./b3-side.ts', import.meta.url);

/**
 * Runs a scenario with the export off and on side by side: two processes (b3-side.ts) at once,
 * each running the same passes in step (each pass starts in both when both are ready), one
 * uncounted pass first (the JIT's warm-up); the export goes to a discarding collector in this
 * process, so receiving it counts in neither side.
 */
async function offAndOn(scenario: B3ScenarioName, reps: number): Promise<{ off: B3Pass[]; on: B3Pass[]; profiled: ExportShare; exports: number }> {
  const collector = await discardingCollector();
  const sides = [undefined, collector.endpoint].map((endpoint) =>
    fork(B3_SIDE, [JSON.stringify({ scenario, endpoint })], { execArgv: ['--conditions=tinyagi-source'], stdio: ['inherit', 'inherit', 'inherit', 'ipc'] }),
  );
  const next = <T>(child: ChildProcess) =>
    new Promise<T>((resolve, reject) => {
      child.once('message', (m) => resolve(m as T));
      child.once('exit', (code) => reject(new Error(`a B3 side exited with ${code}`)));
    });
  try {
    await Promise.all(sides.map((child) => next(child)));
    const passes: Array<[B3Pass, B3Pass]> = [];
    for (let i = 0; i <= reps; i++) {
      const results = sides.map((child) => next<B3Pass>(child));
      for (const child of i % 2 === 0 ? sides : [...sides].reverse()) child.send('pass');
      const [off, on] = await Promise.all(results);
      if (i > 0) passes.push([off!, on!]);
    }
    const profiled: ExportShare = { cpuMs: 0, exportMs: 0, gcMs: 0 };
    for (let i = 0; i < PROFILED_PASSES; i++) {
      const share = next<ExportShare>(sides[1]!);
      sides[1]!.send('profile');
      const { cpuMs, exportMs, gcMs } = await share;
      profiled.cpuMs += cpuMs;
      profiled.exportMs += exportMs;
      profiled.gcMs += gcMs;
    }
    for (const child of sides) child.send('stop');
    await Promise.all(sides.map((child) => new Promise((resolve) => child.once('exit', resolve))));
    return { off: passes.map(([off]) => off), on: passes.map(([, on]) => on), profiled, exports: collector.requests() };
  } finally {
    for (const child of sides) if (child.exitCode === null) child.kill();
    await collector.close();
  }
}

const median = (xs: number[]): number =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

/** B3's two workloads: a 10-hop chain (a0 -> a1 -> … -> a10), 30 conversations a pass; a 100-way fan-out (lead -> w0..w99), 5 conversations a pass. */
const B3_SHAPES = {
  chain: { team: 'chain', conversations: 30, runs: 11 },
  fan: { team: 'fan', conversations: 5, runs: 101 },
} as const;

export type B3ScenarioName = keyof typeof B3_SHAPES;

export interface B3Scenario {
  settings: Settings;
  team: string;
  /** Conversations one after another per pass. */
  conversations: number;
  /** Runs per conversation. */
  runs: number;
}

/** A B3 workload with its settings (a fresh workspace). */
export function b3Scenario(name: B3ScenarioName): B3Scenario {
  const shape = B3_SHAPES[name];
  const agents: Record<string, unknown> = {};
  if (name === 'chain') {
    for (let i = 0; i <= 10; i++) agents[`a${i}`] = { name: `a${i}`, provider: 'mock', mock: { reply: i < 10 ? `[@a${i + 1}: continue]` : 'done' } };
  } else {
    agents['lead'] = { name: 'lead', provider: 'mock', mock: { replies: [{ match: 'go', reply: `[@${Array.from({ length: 100 }, (_, i) => `w${i}`).join(',')}: work]` }], reply: 'ok' } };
    for (let i = 0; i < 100; i++) agents[`w${i}`] = { name: `w${i}`, provider: 'mock', mock: { reply: 'ok' } };
  }
  const settings = {
    workspace: workspace(),
    agents,
    teams: { [shape.team]: { name: shape.team, agents: Object.keys(agents), leader_agent: Object.keys(agents)[0] } },
    limits: bigLimits,
    ...(name === 'fan' ? { queue: { concurrency: 8 } } : {}),
  } as unknown as Settings;
  return { ...shape, settings };
}

export async function benchB3(): Promise<string> {
  const reps = Number(process.env['B3_REPS'] ?? 5);
  const { conversations: chains, runs: chainLength } = B3_SHAPES.chain;
  const { conversations: fanRounds, runs: fanSize } = B3_SHAPES.fan;
  const chain = await offAndOn('chain', reps);
  const fan = await offAndOn('fan', reps);

  const latency = (passes: B3Pass[]) => {
    const all = passes.flatMap((p) => p.perRun).sort((a, b) => a - b);
    return `${percentile(all, 50).toFixed(2)} | ${percentile(all, 95).toFixed(2)}`;
  };
  const cpuPerRun = (passes: B3Pass[], runs: number) => passes.map((p) => p.cpuMs / runs);
  const row = (name: string, runs: number, result: { off: B3Pass[]; on: B3Pass[] }, throughput: (p: B3Pass[]) => string) => {
    const off = cpuPerRun(result.off, runs);
    const on = cpuPerRun(result.on, runs);
    const pairs = on.map((x, i) => `${(((x - off[i]!) / off[i]!) * 100).toFixed(0)} %`).join(' / ');
    // Over all the passes: a single pass is short, and which side the scheduler favours in it varies.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const total = `${(((sum(on) - sum(off)) / sum(off)) * 100).toFixed(1)} % more over all ${on.length} passes`;
    return [
      `| ${name} | ${latency(result.off)} | ${throughput(result.off)} | ${median(off).toFixed(3)} (${off.map((x) => x.toFixed(3)).join(' / ')}) |`,
      `| the same, OTLP export on (traces + metrics) | ${latency(result.on)} | ${throughput(result.on)} | ${median(on).toFixed(3)} (${on.map((x) => x.toFixed(3)).join(' / ')}); **${total}**; medians ${(((median(on) - median(off)) / median(off)) * 100).toFixed(1)} % (pairs ${pairs}) |`,
    ];
  };
  const chainRuns = chains * chainLength;
  const fanRuns = fanRounds * fanSize;
  const rows = [
    ...row(`10-hop chain (${chainLength} runs), ${chains} conversations one after another`, chainRuns, chain, (p) => {
      const wall = median(p.map((x) => x.wallMs));
      return `${((chainRuns * 1000) / wall).toFixed(0)} runs/s, ${((chains * 1000) / wall).toFixed(1)} conversations/s`;
    }),
    ...row(`100-way fan-out (${fanSize} runs), ${fanRounds} conversations, concurrency 8`, fanRuns, fan, (p) => {
      const wall = median(p.map((x) => x.wallMs));
      return `${((fanRuns * 1000) / wall).toFixed(0)} runs/s, median conversation ${median(p.flatMap((x) => x.perRun.map((r) => r * fanSize))).toFixed(0)} ms`;
    }),
  ];
  return [
    '| scenario | ms per run p50 | ms per run p95 | throughput | CPU ms per run |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    "| scenario | the export's code | garbage collector (all code) | CPU profiled |",
    '|---|---|---|---|',
    ...(
      [
        ['10-hop chain', chain.profiled],
        ['100-way fan-out', fan.profiled],
      ] as const
    ).map(([name, p]) => `| ${name} | **${((p.exportMs / p.cpuMs) * 100).toFixed(1)} %** | ${((p.gcMs / p.cpuMs) * 100).toFixed(1)} % | ${p.cpuMs.toFixed(0)} ms |`),
  ].join('\n');
}

export async function benchB4(): Promise<string> {
  const snapshot: AdmissionSnapshot = {
    parentDepth: 2,
    parentMaxDepth: 5,
    childMaxDepth: 5,
    parentChildren: 1,
    parentRunningChildren: 1,
    conversationSpawns: 10,
    treeCostUsd: 0.5,
    treeTokens: 1000,
    treeStartedAt: Date.now(),
    limitScale: 1,
    now: Date.now(),
    limits: { max_children_per_run: 8, max_concurrent_children: 4, max_spawns_per_conversation: 50, conversation_timeout_s: 3600 },
    budgets: { conversation_usd: 10 },
  };
  const n = 1_000_000;
  let admitted = 0;
  for (let i = 0; i < 10_000; i++) if (admitSpawn(snapshot).ok) admitted++;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (admitSpawn(snapshot).ok) admitted++;
  const pureUs = Number(process.hrtime.bigint() - t0) / 1000 / n;

  // Depth-5, fan-out-4 tree: d0 spawns 4 × d1, … d4 spawns 4 × d5 (1 + 4 + … + 4^5 = 1365 runs).
  const agents: Record<string, unknown> = {};
  for (let d = 0; d <= 5; d++) {
    agents[`d${d}`] = {
      name: `d${d}`,
      provider: 'mock',
      mock: {
        reply: `d${d} done`,
        ...(d < 5 ? { replies: [{ match: '', spawn: Array.from({ length: 4 }, (_, i) => ({ agent: `d${d + 1}`, task: `part ${i}` })), reply: `d${d} merged {{spawn_results}}` }] } : {}),
      },
    };
  }
  const settings = { workspace: workspace(), agents, limits: { ...bigLimits, max_depth: 5 } } as unknown as Settings;
  const h = harness(settings);
  const start = performance.now();
  const { conversationId } = await h.orchestrator.submit({ message: 'build the tree', agent: 'd0', senderId: 'bench' });
  await h.completed(conversationId);
  const treeMs = performance.now() - start;
  const runs = h.stores.runs.listRuns(conversationId);
  const maxDepth = Math.max(...runs.map((r) => r.depth));

  // A spawn refused at the depth cap, end to end through the orchestrator, from a live parent
  // run (a mock that hangs until cancelled): snapshot from SQLite + rejected run + event.
  const capped = {
    ...settings,
    agents: { ...agents, holder: { name: 'holder', provider: 'mock', mock: { replies: [{ match: '', fail: 'hang' }] } } },
    limits: { ...bigLimits, max_depth: 0 },
  } as unknown as Settings;
  const root = runs.find((r) => r.depth === 0)!;
  const refusals: number[] = [];
  const hc = harness(capped);
  const started = new Promise<string>((resolve) =>
    hc.stores.events.subscribe((e) => {
      if (e.type === 'run.started' && e.agentId === 'holder' && e.runId) resolve(e.runId);
    }),
  );
  await hc.orchestrator.submit({ message: 'hold', agent: 'holder', senderId: 'bench' });
  const liveRunId = await started;
  for (let i = 0; i < 200; i++) {
    const s = process.hrtime.bigint();
    const r = await hc.orchestrator.spawn(liveRunId, { agent: 'd5', task: 'too deep' });
    refusals.push(Number(process.hrtime.bigint() - s) / 1000);
    if (r.ok || r.code !== 'DEPTH_LIMIT') throw new Error(`expected a depth refusal, got ${JSON.stringify(r)}`);
  }
  await new ConversationControl(hc.orchestrator).cancelRun(liveRunId);
  refusals.sort((a, b) => a - b);
  await hc.close();
  await h.close();
  return [
    '| measurement | result |',
    '|---|---|',
    `| \`admitSpawn\` decision (pure, in-process), mean of 1,000,000 | ${(pureUs * 1000).toFixed(0)} ns (${admitted > 0 ? 'admitted' : 'refused'}) |`,
    `| refused spawn through \`Orchestrator.spawn\` (snapshot from SQLite + rejected run + event, FULL), p50 / p99 of 200 | ${percentile(refusals, 50).toFixed(0)} µs / ${percentile(refusals, 99).toFixed(0)} µs |`,
    `| depth-5, fan-out-4 tree end to end (${runs.length} runs, max depth ${maxDepth}, root ${root.status}) | ${treeMs.toFixed(0)} ms (${((runs.length * 1000) / treeMs).toFixed(0)} runs/s) |`,
  ].join('\n');
}

/** The B5 settings: N mock agents, 1 s latency each, workspaces under `dir`. */
export function b5Settings(n: number, dir?: string): Settings {
  const agents: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) agents[`m${i}`] = { name: `m${i}`, provider: 'mock', mock: { latency_ms: 1000, reply: 'ok' } };
  return { workspace: dir ? { path: dir } : workspace(), agents, limits: bigLimits } as unknown as Settings;
}

/**
 * Submits the N runs (one per agent) as a burst of API requests: 50 per event-loop task, through
 * the API's path (`submitGrouped`: a burst shares one durable commit). One synchronous loop of
 * 10,000 submits would block the loop for seconds and be measured as the system's lag.
 * `onAccepted` gets each conversation and the time its submit was made.
 */
export async function submitBurst(orchestrator: Orchestrator, n: number, onAccepted: (conversationId: string, submittedAt: number) => void): Promise<void> {
  const accepted: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    const at = performance.now();
    accepted.push(orchestrator.submitGrouped({ message: 'work', agent: `m${i}`, senderId: `s${i}` }).then((r) => onAccepted(r.conversationId, at)));
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(accepted);
}

/**
 * Latency of each of N runs from its submit to its `conversation.completed` event (which may
 * arrive before the submit's promise resolves). `all()` resolves once all N completed.
 */
export function trackCompletions(
  events: { subscribe(listener: (e: { type: string; conversationId?: string | null }) => void): () => void },
  n: number,
): { submitted: (conversationId: string, at: number) => void; all: () => Promise<number[]> } {
  const submittedAt = new Map<string, number>();
  const early = new Map<string, number>();
  const latencies: number[] = [];
  let finish: () => void = () => {};
  const allDone = new Promise<void>((resolve) => (finish = resolve));
  const add = (ms: number) => {
    latencies.push(ms);
    if (latencies.length === n) finish();
  };
  events.subscribe((e) => {
    if (e.type !== 'conversation.completed' || !e.conversationId) return;
    const at = submittedAt.get(e.conversationId);
    if (at === undefined) early.set(e.conversationId, performance.now());
    else add(performance.now() - at);
  });
  return {
    submitted(conversationId, at) {
      submittedAt.set(conversationId, at);
      const done = early.get(conversationId);
      if (done !== undefined) add(done - at);
    },
    all: async () => {
      if (latencies.length < n) await allDone;
      return latencies;
    },
  };
}

/** What one B5 node process reports when it stops (b5-node.ts). */
export interface B5NodeReport {
  /** Runs this node invoked. */
  runs: number;
  /** user+sys since `go`. */
  cpuMs: number;
  /** Peak RSS minus RSS at `go`. */
  rssGrowth: number;
  lagP99Ms: number;
  /** Statements sent to PostgreSQL since `go`, by kind (pg-statements.ts); empty on SQLite. */
  statements?: Record<string, number>;
}

interface B5Result extends Omit<B5NodeReport, 'runs'> {
  /** Runs per node (PostgreSQL). */
  split?: number[];
  ms: number;
  /** submit -> conversation.completed, sorted. */
  latencies: number[];
  /** The CPU of the PostgreSQL backends serving the nodes over the run; undefined when their processes cannot be read. */
  serverCpuMs?: number | undefined;
}

/** B5 in this process on SQLite (synchronous FULL), its agents' workspaces under `dir`. */
async function b5Sqlite(n: number, dir: string): Promise<B5Result> {
  const h = harness(b5Settings(n, dir), n);
  const completions = trackCompletions(h.stores.events, n);
  const probe = processProbe();
  const start = performance.now();
  await submitBurst(h.orchestrator, n, completions.submitted);
  const latencies = await completions.all();
  const ms = performance.now() - start;
  const figures = probe.stop();
  await h.close();
  return { ms, latencies: latencies.sort((a, b) => a - b), ...figures };
}

/** This process's CPU (user+sys), peak RSS growth and event-loop lag p99 from now until `stop()`. */
export function processProbe(): { stop(): Omit<B5NodeReport, 'runs'> } {
  globalThis.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const cpu0 = process.cpuUsage();
  return {
    stop() {
      const cpu = process.cpuUsage(cpu0);
      clearInterval(sampler);
      lag.disable();
      return { cpuMs: (cpu.user + cpu.system) / 1000, rssGrowth: Math.max(0, peakRss - rssBefore), lagP99Ms: lag.percentile(99) / 1e6 };
    },
  };
}

const B5_NODE = new URL('./b5-node.ts', import.meta.url).pathname;

/**
 * B5 on PostgreSQL with `nodeCount` nodes: processes (b5-node.ts), each its own `openPgStores` and
 * `Orchestrator` on one fresh schema (migrated here first, dropped after). The first is the API
 * node: it takes the submits and runs agents; the others run agents only, like `tinyagi worker`.
 * Figures: wall time and latencies from the API node; CPU, RSS growth and statements summed over
 * the nodes; lag the worst; the server's CPU from the backends serving them (pg-statements.ts).
 */
export async function b5PgNodes(n: number, url: string, nodeCount: number, workspaceRoot?: string): Promise<B5Result> {
  // Without a root of the caller's (B5's, for all its rows), the nodes' workspaces are this call's own.
  const root = workspaceRoot ?? b5WorkspaceRoot();
  const { default: pg } = await import('pg');
  const { migratePg } = await import('@tinyagi/core/pg');
  const schema = `bench_b5_${process.pid}_${n}_${nodeCount}`;
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  const nodes: ChildProcess[] = [];
  try {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await migratePg(admin, schema);
    for (let k = 0; k < nodeCount; k++) {
      // The nodes' connections carry the schema's name, so the server's CPU is theirs alone (others may share the server).
      const config: B5NodeConfig = {
        url: `${url}${url.includes('?') ? '&' : '?'}application_name=${schema}`,
        schema,
        n,
        name: `b5-node-${k}`,
        role: k === 0 ? 'api' : 'worker',
        workspace: join(root, `pg-${n}-${nodeCount}-${k}`),
      };
      // B5_PROF_DIR: each node writes a V8 CPU profile there (`--cpu-prof`), to see where a run's CPU goes.
      const prof = process.env['B5_PROF_DIR'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['B5_PROF_DIR']}`] : [];
      nodes.push(fork(B5_NODE, [JSON.stringify(config)], { execArgv: ['--conditions=tinyagi-source', '--expose-gc', ...prof], stdio: ['inherit', 'inherit', 'inherit', 'ipc'] }));
    }
    const exited = Promise.all(
      nodes.map((child, k) => new Promise<void>((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`B5 node ${k} exited with ${code}`)))))),
    );
    exited.catch(() => {});
    const message = <T>(child: ChildProcess) =>
      Promise.race([new Promise<T>((resolve) => child.once('message', (m) => resolve(m as T))), exited.then(() => Promise.reject(new Error('a B5 node exited early')))]);
    await Promise.all(nodes.map((child) => message(child)));
    const done = message<{ ms: number; latencies: number[] }>(nodes[0]!);
    const server0 = await backendCpu(admin, schema);
    for (const child of nodes) child.send('go');
    const { ms, latencies } = await done;
    const server1 = await backendCpu(admin, schema);
    const reports = await Promise.all(
      nodes.map((child) => {
        const report = message<B5NodeReport>(child);
        child.send('stop');
        return report;
      }),
    );
    await exited;
    return {
      ms,
      latencies: latencies.sort((a, b) => a - b),
      cpuMs: reports.reduce((sum, r) => sum + r.cpuMs, 0),
      rssGrowth: reports.reduce((sum, r) => sum + r.rssGrowth, 0),
      lagP99Ms: Math.max(...reports.map((r) => r.lagP99Ms)),
      split: reports.map((r) => r.runs),
      statements: addCounts(reports.map((r) => r.statements ?? {})),
      serverCpuMs: cpuSince(server0, server1),
    };
  } finally {
    for (const child of nodes) if (child.exitCode === null) child.kill('SIGKILL');
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await admin.end();
    if (workspaceRoot === undefined) rmSync(root, { recursive: true, force: true });
  }
}

/**
 * A directory for B5's agents' workspaces, on tmpfs where there is one; B5 keeps one for all its
 * rows and removes it at the end. Each run's agent is new, so each run creates ~20 files and
 * directories; on this VM's ext4 a new inode cost 70-400 µs of kernel CPU, more the more recently
 * files were removed (12 µs on tmpfs), which made B5 measure the disk and the previous row.
 */
export function b5WorkspaceRoot(): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tinyagi-bench-b5-'));
}

const ms1 = (v: number) => v.toFixed(2);

/**
 * B5: per size, the single process on SQLite, then (given `pgUrl`) two nodes on PostgreSQL, side
 * by side; then, at the largest size, PostgreSQL with each of `scaleNodes` nodes, with what a
 * run costs (the nodes' CPU, the server's CPU, statements; by kind: pg-run-statements.ts).
 */
export async function benchB5({ sizes, pgUrl, scaleNodes }: B5Options): Promise<string> {
  const rows = [
    '| in-flight runs | setup | wall time | runs/s | latency p50 / p95 (submit → completed) | CPU (user+sys) | RSS per in-flight run | event-loop lag p99 | round trips per run |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const perRun = (r: B5Result, n: number) => (r.statements ? (roundTrips(r.statements) / n).toFixed(1) : '–');
  const row = (n: number, setup: string, r: B5Result) =>
    `| ${n.toLocaleString('en')} | ${setup}${r.split ? ` (runs per node: ${r.split.join(' / ')})` : ''} | ${(r.ms / 1000).toFixed(2)} s | ${((n * 1000) / r.ms).toFixed(0)} | ${(percentile(r.latencies, 50) / 1000).toFixed(2)} / ${(percentile(r.latencies, 95) / 1000).toFixed(2)} s | ${(r.cpuMs / 1000).toFixed(2)} s | ${r.rssGrowth > 0 ? `${(r.rssGrowth / n / 1024).toFixed(1)} KiB` : 'not measurable (RSS did not grow)'} | ${r.lagP99Ms.toFixed(1)} ms | ${perRun(r, n)} |`;
  const ratios: string[] = [];
  const pgRuns = new Map<number, B5Result>();
  const largest = Math.max(...sizes);
  const root = b5WorkspaceRoot();
  const pgRow = (n: number, nodeCount: number) => b5PgNodes(n, pgUrl!, nodeCount, root);
  try {
    for (const n of sizes) {
      const sqlite = await b5Sqlite(n, join(root, `sqlite-${n}`));
      rows.push(row(n, 'SQLite, 1 process', sqlite));
      console.error(rows.at(-1));
      if (pgUrl) {
        const two = await pgRow(n, 2);
        if (n === largest) pgRuns.set(2, two);
        rows.push(row(n, 'PostgreSQL, 2 nodes', two));
        ratios.push(`${n.toLocaleString('en')}: ${(sqlite.ms / two.ms).toFixed(2)}×`);
        console.error(rows.at(-1));
      }
    }
    const out = [rows.join('\n')];
    if (pgUrl) out.push(`PostgreSQL (2 nodes) runs/s over SQLite's, same run: ${ratios.join(', ')}.`);
    if (pgUrl && scaleNodes.length > 0) {
      const scale = [
        `| nodes (${largest.toLocaleString('en')} in flight) | runs/s | wall time | runs per node | nodes' CPU per run | server's CPU per run | round trips per run |`,
        '|---|---|---|---|---|---|---|',
      ];
      for (const k of scaleNodes) {
        const r = pgRuns.get(k) ?? (await pgRow(largest, k));
        pgRuns.set(k, r);
        scale.push(
          `| ${k} | ${((largest * 1000) / r.ms).toFixed(0)} | ${(r.ms / 1000).toFixed(2)} s | ${r.split!.join(' / ')} | ${ms1(r.cpuMs / largest)} ms | ${r.serverCpuMs !== undefined ? `${ms1(r.serverCpuMs / largest)} ms` : 'not readable'} | ${perRun(r, largest)} |`,
        );
        console.error(scale.at(-1));
      }
      out.push(scale.join('\n'));
    }
    return out.join('\n\n');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

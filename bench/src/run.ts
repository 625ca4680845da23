/**
 * `pnpm bench`: runs the benchmarks and writes docs/benchmarks.md. Select with
 * BENCH=B0,B1,… (default: all); the sections of benchmarks not selected are kept from the
 * current file, each with the line saying when and on what it was measured. B1_TOTAL sets the
 * job count (default 32000), B5_SIZES the in-flight run counts (default 100,1000,10000) and B5_NODES=0 skips its two-node PostgreSQL run;
 * B0_MESSAGES (200), B0_RUNS (3), B0_RECOVERY (1; 0 skips the crash phase), B0_STEADY_MESSAGES (100) and B0_STEADY_RATE
 * (20 per second; either 0 skips the steady phase) shape B0, and
 * B9_SECONDS sets the dashboard run (default 30); B13_TOTAL the PostgreSQL job count (default 20000; B13_RUNS runs per cell, default 3, medians; B13_BASELINE a checkout of another commit with this bench copied in, whose queue runs in extra columns, labelled B13_BASELINE_LABEL;
 * database TINYAGI_BENCH_DATABASE_URL, default the local one); B0_DAEMON_NODE_OPTIONS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") is passed to the daemon's node;
 * B0_REFERENCE_DIR, a built checkout of the reference TinyAGI 0.0.20, runs it beside ours in B0 (B0_REFERENCE_NODE_OPTIONS: its node's options).
 * B15_ASKS (200) and B15_CLAUDE_MESSAGES (40) size B15 (approvals); B16_CALLS (50) the sub-agent calls of each way in B16 (MCP call_agent vs tinyagi call);
 * B17_RUNS (8) and B17_MESSAGES (200) the pairs and messages of B17 (B0's daemon with the OTLP export on vs off).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { BENCH_DATABASE_URL, loadLine, machineLine } from './machine.ts';
import { benchB0 } from './main-job-bench.ts';
import { benchB1, benchB2 } from './queue-bench.ts';
import { type B13Options, benchB13Latency, benchB13Throughput, SERIAL_TOTAL } from './pg-queue-bench.ts';
import { benchB3, benchB4, benchB5 } from './teams-bench.ts';
import { benchB6, benchB7 } from './server-bench.ts';
import { benchB8 } from './client-bench.ts';
import { benchB9 } from './visualizer-bench.ts';
import { benchB10, benchB14 } from './channel-bench.ts';
import { benchB15 } from './approval-bench.ts';
import { benchB16 } from './mcp-bench.ts';
import { benchB17 } from './otel-export-bench.ts';

const ALL = ['B0', 'B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10', 'B11', 'B12', 'B13', 'B14', 'B15', 'B16', 'B17'];
// B11 and B12 (TinyOffice's first-load JS and rendering) are measured by hand (docs/benchmarks.md) and kept as they are.
const RUNNABLE = new Set(['B0', 'B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10', 'B13', 'B14', 'B15', 'B16', 'B17']);
const selected = new Set((process.env.BENCH ?? [...RUNNABLE].join(',')).split(',').map((s) => s.trim().toUpperCase()));
const b5Sizes = (process.env.B5_SIZES ?? '100,1000,10000').split(',').map(Number);
const total = Number(process.env.B1_TOTAL ?? 32_000);
const pgTotal = Number(process.env.B13_TOTAL ?? 20_000);
const sections: string[] = [];
const started = new Date().toISOString();
const measured = `_Measured ${started} with \`${process.env.BENCH ? `BENCH=${process.env.BENCH} ` : ''}pnpm bench\` on ${machineLine()}._`;
const section = (title: string, body: string): void => {
  sections.push(`${title}\n\n${measured}\n\n${body}`);
};

if (selected.has('B0')) {
  const opts = {
    messages: Number(process.env.B0_MESSAGES ?? 200),
    runs: Number(process.env.B0_RUNS ?? 3),
    recovery: process.env.B0_RECOVERY !== '0',
    pacedMessages: Number(process.env.B0_STEADY_MESSAGES ?? 100),
    pacedRate: Number(process.env.B0_STEADY_RATE ?? 20),
    conversationAgents: Number(process.env.B0_CONVERSATION_AGENTS ?? 20),
    conversationTurns: Number(process.env.B0_CONVERSATION_TURNS ?? 10),
    daemonNodeOptions: (process.env.B0_DAEMON_NODE_OPTIONS ?? '').split(' ').filter(Boolean),
    ...(process.env.B0_REFERENCE_DIR ? { referenceDir: process.env.B0_REFERENCE_DIR } : {}),
    referenceNodeOptions: (process.env.B0_REFERENCE_NODE_OPTIONS ?? '').split(' ').filter(Boolean),
  };
  section(
    `## B0 — the main job: ${opts.messages} messages to 4 Claude Code agents through the REST API, beside the floor${opts.referenceDir ? ' and the reference' : ''}`,
    `A real daemon (\`tinyagi run\` from packages/cli/dist, built first, started as \`tinyagi start\` and \`pnpm start\` start it: node with the daemon's V8 flags and environment, from its start-up snapshot) on a free port with a temp TINYAGI_HOME; 4 agents on the Claude Code adapter; the agent CLI is the project's fake \`claude\` (@tinyagi/test-kit's bin/: answers at once in real stream-json). One script posts the ${opts.messages} messages one after another (round-robin over the agents, waiting out any 429 as its Retry-After says) and watches \`outbox.enqueued\` on \`/api/events\`. The floor is the same ${opts.messages} fake-CLI invocations (same flags, prompt on stdin) spawned directly by the bench, 4 at a time. Daemon CPU is utime+stime of the daemon process from /proc/<pid>/stat (the fake CLIs are its children and not in it); peak RSS is VmHWM. The crash phase posts 40 more messages, SIGKILLs the daemon when the first of them is answered, starts it again on the same home, and times the kill until the last of the 40 is answered.\n\n${await benchB0(opts)}`,
  );
}

if (selected.has('B1')) {
  section(
    `## B1 — queue throughput, ${total.toLocaleString('en')} no-op jobs`,
    `Durable enqueue + claim + complete, all workers in separate OS processes on one SQLite file, jobs spread over 64 agents (lanes), each worker process running 8 batches at a time. plainjob is polled every 10 ms here (its default is 1 s) so its throughput is not limited by idle sleeps; its own \`synchronous=NORMAL\` is overridden to the mode under test. "collect" is our default busy policy (all pending messages of an agent claimed in one transaction); "sequential" claims one message per agent per transaction. At FULL our store commits at SQLite's NORMAL and fsyncs the WAL off the event loop (group commit of whatever committed meanwhile; core/src/storage/durable-commit.ts), plainjob fsyncs inside each COMMIT; the clock stops when every worker and producer process has exited, and each closes its database with a final fsync, so every job counted is on disk.\n\n${await benchB1(total)}`,
  );
}
if (selected.has('B2')) {
  section(
    `## B2 — enqueue → handler start latency (synchronous FULL, 1 worker process, separate producer process)`,
    `Our worker is woken by its sweep in this cross-process setup (sweep_ms = 5); inside the daemon, API enqueues wake the worker directly.\n\n${await benchB2()}`,
  );
}

if (selected.has('B3')) {
  section(
    `## B3 — orchestration overhead per run (mock provider at zero latency, synchronous FULL)`,
    `The full orchestrator: claim, compose the system prompt, invoke, parse tags, guards, enqueue follow-ups + replies + run records in the completion transaction. No peer runs this workload (the reference has no conversation tracking to compare with).\n\n${await benchB3()}`,
  );
}
if (selected.has('B4')) {
  section(`## B4 — sub-agent admission and a recursive tree`, `${await benchB4()}`);
}
if (selected.has('B5')) {
  const pgNodes = process.env.B5_NODES !== '0';
  const load = loadLine();
  const table = await benchB5(b5Sizes, pgNodes ? BENCH_DATABASE_URL : undefined);
  section(
    `## B5 — concurrency (mock provider with 1 s latency, one agent per run, concurrency = N)`,
    `TinyAgents (Rust) publishes 10,000 concurrent agents at 8,500 tasks/s on 16 vCPUs; this machine has 2 cores and every run here is durable (queue row, run record, events, outbox row). Ideal wall time is 1 s (the mock latency). Submits arrive 50 per event-loop task, like a burst of API requests; every run is a distinct agent, so the wall time includes provisioning N new workspaces. Latency is from a run's submit to its \`conversation.completed\` event; CPU is user+sys of the processes running the orchestrators from the first submit to the last completion; RSS per in-flight run is their peak RSS growth over the run divided by N.\n\n"SQLite, 1 process": one orchestrator in the bench's process on a SQLite file (synchronous FULL). "PostgreSQL, 2 nodes"${pgNodes ? '' : ' (not run: B5_NODES=0)'}: the same workload on PostgreSQL (${BENCH_DATABASE_URL.replace(/\/\/[^@/]*@/, '//')}, default settings, a fresh schema) run by two node processes, each its own \`openPgStores\` (pool of 10) and \`Orchestrator\` (concurrency N) as \`tinyagi worker\` runs one, with its own workspace directory; the first node also takes the submits (the API node). The queue hands each agent's run to whichever node claims it first; CPU and RSS are the sum over both nodes, lag the worse of the two; what limits the two-node figure: docs/storage.md, "Measured". Load average (1 min) of the machine before / after: ${load} / ${loadLine()}.\n\n${table}`,
  );
}
if (selected.has('B6')) {
  section(`## B6 — SSE fan-out (1,000 subscribers in a separate client process, 50 events 20 ms apart)`, `${await benchB6(1000, 50)}`);
}
if (selected.has('B7')) {
  section(`## B7 — REST throughput vs a bare Fastify route (same process, same run; load generator in a separate process)`, `${await benchB7(5, 32)}`);
}
if (selected.has('B8')) {
  section(
    '## B8 — browser bundle of the client (esbuild, platform=browser, minified; gzip -9)',
    `The client entry loads no zod at run time (the contract's types are erased; a zod-free route table checked against the contract by the compiler remains), so a page that only talks to the daemon pays for the client alone. The contract entry is for pages that validate forms with the same schemas.\n\n${await benchB8()}`,
  );
}
if (selected.has('B9')) {
  section(
    '## B9 — the terminal dashboard under 1,000 events/s (`tinyagi visualize`)',
    `A real server (SQLite event log, SSE) publishes a team's run lifecycle (started, progress, handoff, completed over 8 agents, a new conversation every 12 events) at 1,000 events/s for ${process.env.B9_SECONDS ?? 30} s. The dashboard runs in its own process as \`runVisualizer\` composes it (the client's resumable subscription, the reducer, the 10 fps store, Ink) on an 80x24 terminal stream. Every event is applied; the frame rate stays at its cap however fast events arrive.\n\n${await benchB9()}`,
  );
}
if (selected.has('B10')) {
  section('## B10 — channel delivery: outbox row → Telegram and Slack (local fake Bot API and Web API, real server, real channel host, grammY and the Slack SDK)', await benchB10());
}
if (selected.has('B14')) {
  section('## B14 — channel delivery under faults: one chat meets 429s, 5xx, HTML 502 pages and resets while nine others flow', await benchB14());
}
if (selected.has('B15')) {
  const load = loadLine();
  const body = await benchB15({ asks: Number(process.env.B15_ASKS ?? 200), claudeMessages: Number(process.env.B15_CLAUDE_MESSAGES ?? 40) });
  section(
    "## B15 — approvals: a request's round trip through the API, and what the daemon spends per approval",
    `A real daemon (the built \`tinyagi\`, as the e2e tests start it; SQLite, default durability) and a "person" in the bench's process that watches \`approval.requested\` on \`/api/events\` and answers each at once with \`POST /api/approvals/:id/decision\` (allow once): every figure is the system's own time, nobody waits. First, the approval runtime of the CLI's tests (packages/cli/test/fixtures/approval-runtime, a plugin runtime in the daemon's process) asks ${process.env.B15_ASKS ?? 200} times in one run, which isolates the daemon's part; then per-message Claude Code with \`permission_mode: "ask"\` and the project's fake \`claude\`, which, as the real CLI does, starts \`tinyagi mcp\` from \`--mcp-config\` and calls \`approval_prompt\`, which asks through \`POST /api/runs/:id/approval\` (one CLI start and one MCP server start per message). Daemon CPU is utime+stime of the daemon process from /proc (the CLIs and MCP servers are other processes). Load average (1 min) before / after: ${load} / ${loadLine()}.\n\n${body}`,
  );
}
if (selected.has('B16')) {
  const calls = Number(process.env.B16_CALLS ?? 50);
  const load = loadLine();
  const body = await benchB16(calls);
  section(
    '## B16 — a sub-agent call from inside a run: MCP `call_agent` against `tinyagi call` through the shell',
    `A real daemon (the built \`tinyagi\`, as the e2e tests start it; SQLite, default durability). One run of an agent on the bench's runtime (bench/fixtures/mcp-call-runtime.mjs, a plugin runtime) calls the same sub-agent (\`@helper\`, the mock runtime with no latency) ${calls} times each way, interleaved: with the official MCP SDK client through TinyAGI's MCP server (\`tinyagi mcp\` through the agent shim, as every CLI agent gets it), once with the server kept for the turn as a CLI keeps it and once started for the call; and as \`tinyagi call helper "…"\` run through /bin/sh, as an agent's shell tool runs it (one CLI process per call). A round trip is the caller's wall time until the reply is back; the sub-agent's run is the same in each. Load average (1 min) before / after: ${load} / ${loadLine()} (the machine is shared: other work ran meanwhile).\n\n${body}`,
  );
}
if (selected.has('B17')) {
  const runs = Number(process.env.B17_RUNS ?? 8);
  const messages = Number(process.env.B17_MESSAGES ?? 200);
  const load = loadLine();
  const body = benchB17(runs, messages);
  section(
    "## B17 — B0's daemon with the OTLP export on vs off, side by side",
    `Issue 38's aim: the OTLP export on costs at most 5 % more daemon CPU. Two real daemons at once (the built \`tinyagi\`, from its start-up snapshot, as \`tinyagi start\` runs it), each with B0's 4 agents on the fake \`claude\` CLI; one with export off, one with traces and metrics on through the standard variables only (\`OTEL_TRACES_EXPORTER=otlp\`, \`OTEL_METRICS_EXPORTER=otlp\`, \`OTEL_EXPORTER_OTLP_ENDPOINT\`: OTLP/protobuf over HTTP, spans every 5 s, metrics every 60 s) to a collector on loopback. After 50 messages of warm-up to each (code compiled on first use, the first export), ${messages} messages are posted through the REST API, each to both daemons in turn (which first alternates), and both are measured over the same window, so whatever else the machine does then weighs on both; which daemon starts first alternates from pair to pair. Daemon CPU is utime+stime from /proc/<pid>/stat (the fake CLIs are other processes). The collector holds what it gets during the window and hands it to a real OTLP receiver (packages/otel/test/receiver.ts) to decode after it, so decoding in the bench's process stays out of the window; "spans received" checks every run's span arrived. The same measurement one daemon after the other: \`SEQUENTIAL=1 node --conditions=tinyagi-source packages/otel/bench/export-cpu.ts\` (docs/telemetry.md, "What it costs"). Load average (1 min) before / after: ${load} / ${loadLine()}.\n\n${body}`,
  );
}
if (selected.has('B13')) {
  const b13Runs = Number(process.env.B13_RUNS ?? 3);
  const baselineDir = process.env.B13_BASELINE;
  const b13: B13Options = {
    runs: b13Runs,
    ...(baselineDir ? { baseline: { dir: baselineDir, label: `tinyagi at ${process.env.B13_BASELINE_LABEL ?? baselineDir}` } } : {}),
  };
  const load = loadLine();
  const throughput = await benchB13Throughput(pgTotal, undefined, b13);
  const latency = await benchB13Latency(undefined, b13);
  section(
    `## B13 — B1 and B2 on PostgreSQL: our queue beside graphile-worker and pg-boss (${pgTotal.toLocaleString('en')} no-op jobs)`,
    `PostgreSQL ${await pgVersion()} on the same machine (${BENCH_DATABASE_URL.replace(/\/\/[^@/]*@/, '//')}, default settings: synchronous_commit on, so every acknowledged enqueue and completion is flushed to the WAL). Every run gets a fresh schema of the same database; workers and the producer are separate OS processes; jobs spread over 64 agents (lanes). Ours: \`PgQueueStore\` + \`QueueWorker\` (8 batches at a time per process, LISTEN/NOTIFY wake-ups, per-agent FIFO and one batch per agent at a time, which graphile-worker and pg-boss as configured do not enforce; "sequential" is compared with graphile-worker given one named queue per lane, its way of running a lane's jobs one at a time in order, measured on ${SERIAL_TOTAL.toLocaleString('en')} jobs, once per row, because it is slow). graphile-worker 0.18: concurrency 8, its batching (\`localQueue.size\` 50, \`completeJobBatchDelay\` 0), LISTEN/NOTIFY. pg-boss 12: \`batchSize\` 50, \`localConcurrency\` 8, \`burstWhenBatchFull\`, \`useListenNotify\` with a \`notify\` queue, polling every 0.5 s as its backstop. Workers report their handled count to the bench over IPC; the time runs from "go" until every process has stopped gracefully (its last completions committed) and exited. ${b13Runs > 1 ? `Each cell is the median of ${b13Runs} runs (each run's figure in brackets); ${baselineDir ? 'ours and the baseline alternate run by run, then each peer makes its runs' : 'ours, then each peer, makes its runs'}` : 'One run per cell'}${baselineDir ? `; the baseline columns run the queue of another checkout (${process.env.B13_BASELINE_LABEL ?? baselineDir}) with the same bench code, alternating with ours` : ''}; what the figures say and where the time goes: docs/storage.md, "Measured". Load average (1 min) of the machine before / after: ${load} / ${loadLine()}.\n\n### Throughput\n\n${throughput}\n\n### Pickup latency (enqueue → handler start; 1 worker process, producer in another process)\n\n${latency}`,
  );
}

// Sections not run this time are kept from the current file (a section runs from its `## ` heading to the next).
// Hand-written sections whose heading is not `## Bn …` (a before/after comparison, a decision) are kept too, after the Bn sections.
const docFile = new URL('../../docs/benchmarks.md', import.meta.url);
const previous = existsSync(docFile) ? readFileSync(docFile, 'utf8') : '';
const previousSections = new Map<string, string>();
const otherSections: string[] = [];
for (const part of previous.split(/\n(?=## )/).slice(1)) {
  const id = /^## (B\d+) /.exec(part)?.[1];
  if (id) previousSections.set(id, part.trimEnd());
  else otherSections.push(part.trimEnd());
}
const current = new Map(sections.map((text) => [/^## (B\d+)/.exec(text)![1]!, text]));
// Every section of the file is kept (also hand-written ones whose id is not in ALL), in id order.
const ids = [...new Set([...ALL, ...previousSections.keys(), ...current.keys()])].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
const ordered = ids.map((id) => current.get(id) ?? previousSections.get(id)).filter((text): text is string => text !== undefined);

const doc = `# Benchmarks

Command: \`pnpm bench\` (all), or \`BENCH=B0 pnpm bench\` for some (\`pnpm --filter @tinyagi/bench run b0\` runs B0 alone); each section says when, how and on what machine it was measured.
Benchmarks measure; no test asserts a time. Peers run in the same process tree, same run, same settings.
A peer that fails is retried up to 3 times and then reported in its cell with its error; the run goes on. A failure of ours ends the run.
Run it on an otherwise idle machine: on 2 cores, anything else running (a test suite, a build) halves some figures.
How to profile these benchmarks, where the time goes now, and how to compare two commits side by side (\`bench/scripts/compare-refs.ts\`): [profiling.md](profiling.md).

${[...ordered, ...otherSections].join('\n\n')}
`;
writeFileSync(docFile, doc);

async function pgVersion(): Promise<string> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  try {
    return String((await client.query('SHOW server_version')).rows[0]?.server_version ?? '?').split(' ')[0]!;
  } finally {
    await client.end();
  }
}
console.log(doc);

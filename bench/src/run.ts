/**
 * `pnpm bench`: runs the benchmarks and writes their figures into docs/benchmarks.md. Select with
 * BENCH=B0,B1,… (default: all that run here; B11, B12 and the start-up bench are run by hand).
 * The doc is hand-written except for two blocks per benchmark, between markers (bench/src/doc-blocks.ts):
 * the line saying when, with which command and on what machine (with the load average before and
 * after), and the benchmark's tables. After each benchmark the run replaces its two blocks and
 * leaves every other byte of the file as it is; a benchmark whose blocks the doc lacks stops the
 * run before anything is measured. BENCH_DOC names another file to write (a copy, in the tests).
 *
 * Sizes: B1_TOTAL sets the job count (default 32000), B5_SIZES the in-flight run counts (default 100,1000,10000), B5_NODES=0 skips its PostgreSQL runs and B5_SCALE_NODES the node counts of its scaling table at the largest size (default 1,2,4; empty skips it);
 * B0_MESSAGES (200), B0_RUNS (3), B0_RECOVERY (1; 0 skips the crash phase), B0_SANDBOX (1 where bwrap is: a sandboxed column), B0_STEADY_MESSAGES (100) and B0_STEADY_RATE
 * (20 per second; either 0 skips the steady phase), B0_CONVERSATION_AGENTS (20) and B0_CONVERSATION_TURNS (10) shape B0, and
 * B9_SECONDS sets the dashboard run (default 30); B13_TOTAL the PostgreSQL job count (default 20000; B13_RUNS runs per cell, default 3, medians; B13_BASELINE a checkout of another commit with this bench copied in, whose queue runs in extra columns, labelled B13_BASELINE_LABEL;
 * database TINYAGI_BENCH_DATABASE_URL, default the local one); B0_DAEMON_NODE_OPTIONS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") is passed to the daemon's node;
 * B0_DAEMON_BIN runs another build's bin.js (no build first); B0_REFERENCE_DIR, a built checkout of the reference TinyAGI 0.0.20, runs it beside ours in B0 (B0_REFERENCE_NODE_OPTIONS: its node's options).
 * B15_ASKS (200) and B15_CLAUDE_MESSAGES (40) size B15 (approvals); B16_CALLS (50) the sub-agent calls of each way in B16 (MCP call_agent vs tinyagi call);
 * B17_RUNS (8) and B17_MESSAGES (200) the pairs and messages of B17 (B0's daemon with the OTLP export on vs off).
 * B18_RUNS (20) the runs of each command in B18 (the CLI's commands as whole processes); B18_BIN another build's bin.js to
 * measure (no build first), B18_BASELINE a build measured beside it (labelled B18_BASELINE_LABEL).
 * B19_REQUESTS (200) the ~2 KB model requests of each API on each path in B19 (the sandbox's costs), B19_LARGE_MB (4) and
 * B19_LARGE_RUNS (5) its large stream, B19_STARTS (50) the starts of each command directly and inside the boundary.
 * B20_MESSAGES (10) the measured messages of each CLI in each mode in B20 (the real CLIs' overhead), B20_SESSIONS (8) its
 * warm sessions for the memory slope, B20_CLIS (claude,codex,opencode) the CLIs it runs.
 * B21_FILES (10000) the tracked files of B21's repository (a task's worktree against a clone), B21_ROUNDS (3) its rounds (15–20 s each on the 2-core VM, after one unmeasured; about 80 s in all).
 * B23_ENTRIES (10000) the memory entries in the agent's scopes, B23_TURNS (200) the turns of each kind and B23_RECALLS (500) the recalls alone of B23 (recall's cost; B23_PG=0 skips PostgreSQL); B24 (recall's quality) has no size.
 * B25_ENTRIES (10000) the entries in the agent's scopes and B25_TURNS (100) the recalls of each kind of B25 (recall by meaning, SQLite, a child under the daemon's node flags).
 * B27_RUNS (50) the live runs of B27 (TinyOffice and the dashboard with 50 live runs), B27_ASKING (10) those of them waiting on approvals, B27_WINDOW_S (15) the seconds measured per page, B27_SHOTS its screenshots' folder (<tmp>/tinyagi-b27-shots).
 * B26_AGENTS (50) the warm sandboxed agents and git tasks of B26 (fifty agents at once), B26_IDLE_S (60) its idle windows.
 * B29_STEPS (1000) the agent steps of B29's workflow (and the floor's messages), B29_WIDTH (20) how many at once, B29_AGENTS (10) the mock agents, B29_CHAIN (100) its sequential chain.
 * B28_TASKS (5; 20 is the issue's figure, ~30 GB of disk for the full ways) the tasks started at once and B28_ROUNDS (3) the single tasks of B28 (a worktree on a large repository), B28_FILES (50000) and B28_BYTES (1150000000) its repository (cached in ~/.cache/tinyagi-bench),
 *   B28_CHECKOUT (unset: the binding without `checkout`; else a comma list of modes, one TinyAGI run each) for B28_BIN (the build to run, default this checkout's, named by B28_BIN_LABEL), B28_BASELINE_BIN another build run first (labelled B28_BASELINE_LABEL), B28_GIT_WAYS (floor,naive) the git ways run beside them.
 * The variables of a benchmark (those named Bn_…) that are set appear in its command in the doc.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkBlocks, fillBlocks } from './doc-blocks.ts';
import { BENCH_DATABASE_URL, buildWorkspace, loadLine, machineLine, pgConnectionLine } from './machine.ts';
import { benchB0 } from './main-job-bench.ts';
import { benchB1, benchB2 } from './queue-bench.ts';
import { type B13Options, benchB13Latency, benchB13Throughput } from './pg-queue-bench.ts';
import { benchB3, benchB4, benchB5 } from './teams-bench.ts';
import { benchB6, benchB7 } from './server-bench.ts';
import { benchB8 } from './client-bench.ts';
import { benchB9 } from './visualizer-bench.ts';
import { benchB10, benchB14 } from './channel-bench.ts';
import { benchB15 } from './approval-bench.ts';
import { benchB16 } from './mcp-bench.ts';
import { benchB17 } from './otel-export-bench.ts';
import { benchB18 } from './cli-startup-bench.ts';
import { benchB19 } from './sandbox-bench.ts';
import { type B20Cli, benchB20 } from './real-cli-bench.ts';
import { benchB21 } from './worktree-bench.ts';
import { benchB23 } from './memory-recall-bench.ts';
import { benchB24 } from './memory-quality-bench.ts';
import { benchB25 } from './memory-semantic-bench.ts';
import { benchB27 } from './fifty-ui-bench.ts';
import { b28Runs, benchB28 } from './large-worktree-bench.ts';
import { benchB26 } from './fifty-agents-bench.ts';
import { benchB29 } from './workflow-bench.ts';
import { CLI_BUILT } from '@tinyagi/test-kit';

const env = process.env;
interface Benchmark {
  id: string;
  /** It starts the built daemon from packages/cli/dist: the workspace is built first (once per run). */
  needsBuild?: boolean;
  /** The benchmark's results block: its tables, and any short line it generates. */
  run: () => Promise<string> | string;
  /** What else its figures depend on, for the measured line (a peer's or a tool's version). */
  about?: () => Promise<string> | string;
}

/** In the order they run (B13, the longest, last). */
const BENCHMARKS: Benchmark[] = [
  {
    id: 'B0',
    needsBuild: !env.B0_DAEMON_BIN,
    run: () =>
      benchB0({
        messages: Number(env.B0_MESSAGES ?? 200),
        runs: Number(env.B0_RUNS ?? 3),
        recovery: env.B0_RECOVERY !== '0',
        pacedMessages: Number(env.B0_STEADY_MESSAGES ?? 100),
        pacedRate: Number(env.B0_STEADY_RATE ?? 20),
        sandbox: env.B0_SANDBOX !== undefined ? env.B0_SANDBOX !== '0' : bwrapVersion() !== '',
        conversationAgents: Number(env.B0_CONVERSATION_AGENTS ?? 20),
        conversationTurns: Number(env.B0_CONVERSATION_TURNS ?? 10),
        daemonNodeOptions: (env.B0_DAEMON_NODE_OPTIONS ?? '').split(' ').filter(Boolean),
        ...(env.B0_REFERENCE_DIR ? { referenceDir: env.B0_REFERENCE_DIR } : {}),
        referenceNodeOptions: (env.B0_REFERENCE_NODE_OPTIONS ?? '').split(' ').filter(Boolean),
      }),
  },
  { id: 'B1', run: () => benchB1(Number(env.B1_TOTAL ?? 32_000)) },
  { id: 'B2', run: () => benchB2() },
  { id: 'B3', run: () => benchB3() },
  { id: 'B4', run: () => benchB4() },
  {
    id: 'B5',
    about: () => (env.B5_NODES !== '0' ? pgVersion() : ''),
    run: () =>
      benchB5({
        sizes: (env.B5_SIZES ?? '100,1000,10000').split(',').map(Number),
        pgUrl: env.B5_NODES !== '0' ? BENCH_DATABASE_URL : undefined,
        scaleNodes: (env.B5_SCALE_NODES ?? '1,2,4').split(',').filter(Boolean).map(Number),
      }),
  },
  { id: 'B6', run: () => benchB6(1000, 50) },
  { id: 'B7', run: () => benchB7(5, 32) },
  { id: 'B8', about: b8Versions, run: () => benchB8() },
  { id: 'B9', run: () => benchB9() },
  { id: 'B10', run: () => benchB10() },
  { id: 'B14', run: () => benchB14() },
  { id: 'B15', run: () => benchB15({ asks: Number(env.B15_ASKS ?? 200), claudeMessages: Number(env.B15_CLAUDE_MESSAGES ?? 40) }) },
  { id: 'B16', run: () => benchB16(Number(env.B16_CALLS ?? 50)) },
  { id: 'B17', needsBuild: true, run: () => benchB17(Number(env.B17_RUNS ?? 8), Number(env.B17_MESSAGES ?? 200)) },
  {
    id: 'B18',
    needsBuild: !env.B18_BIN,
    run: () =>
      benchB18({
        runs: Number(env.B18_RUNS ?? 20),
        bin: env.B18_BIN ?? CLI_BUILT,
        ...(env.B18_BASELINE ? { baseline: { bin: env.B18_BASELINE, label: env.B18_BASELINE_LABEL ?? 'baseline' } } : {}),
      }),
  },
  {
    id: 'B19',
    about: bwrapVersion,
    run: () =>
      benchB19({
        requests: Number(env.B19_REQUESTS ?? 200),
        largeMb: Number(env.B19_LARGE_MB ?? 4),
        largeRuns: Number(env.B19_LARGE_RUNS ?? 5),
        starts: Number(env.B19_STARTS ?? 50),
      }),
  },
  {
    id: 'B20',
    needsBuild: true,
    run: () =>
      benchB20({
        messages: Number(env.B20_MESSAGES ?? 10),
        sessions: Number(env.B20_SESSIONS ?? 8),
        clis: (env.B20_CLIS ?? 'claude,codex,opencode').split(',').map((s) => s.trim()) as B20Cli[],
      }),
  },
  {
    id: 'B21',
    about: gitVersion,
    run: () => benchB21({ files: Number(env.B21_FILES ?? 10_000), rounds: Number(env.B21_ROUNDS ?? 3) }),
  },
  {
    id: 'B23',
    about: () => (env.B23_PG !== '0' ? pgVersion() : ''),
    run: () =>
      benchB23({
        entries: Number(env.B23_ENTRIES ?? 10_000),
        turns: Number(env.B23_TURNS ?? 200),
        recalls: Number(env.B23_RECALLS ?? 500),
        pgUrl: env.B23_PG !== '0' ? BENCH_DATABASE_URL : undefined,
      }),
  },
  { id: 'B24', run: () => benchB24() },
  { id: 'B25', run: () => benchB25({ entries: Number(env.B25_ENTRIES ?? 10_000), turns: Number(env.B25_TURNS ?? 100) }) },
  {
    id: 'B27',
    needsBuild: true,
    about: chromiumVersion,
    run: () =>
      benchB27({
        runs: Number(env.B27_RUNS ?? 50),
        asking: Number(env.B27_ASKING ?? 10),
        windowS: Number(env.B27_WINDOW_S ?? 15),
        shotsDir: env.B27_SHOTS ?? join(tmpdir(), 'tinyagi-b27-shots'),
      }),
  },
  {
    id: 'B28',
    needsBuild: !env.B28_BIN,
    about: gitVersion,
    run: () =>
      benchB28({
        files: Number(env.B28_FILES ?? 50_000),
        bytes: Number(env.B28_BYTES ?? 1_150_000_000),
        deps: 'npm',
        tasks: Number(env.B28_TASKS ?? 5),
        rounds: Number(env.B28_ROUNDS ?? 3),
        tinyagi: b28Runs(env),
        gitWays: (env.B28_GIT_WAYS ?? 'floor,naive').split(',').filter(Boolean) as Array<'floor' | 'naive'>,
      }),
  },
  {
    id: 'B26',
    needsBuild: true,
    about: bwrapVersion,
    run: () => benchB26({ agents: Number(env.B26_AGENTS ?? 50), idleSeconds: Number(env.B26_IDLE_S ?? 60) }),
  },
  {
    id: 'B29',
    needsBuild: true,
    run: () => benchB29({ steps: Number(env.B29_STEPS ?? 1000), width: Number(env.B29_WIDTH ?? 20), agents: Number(env.B29_AGENTS ?? 10), chain: Number(env.B29_CHAIN ?? 100) }),
  },
  {
    id: 'B13',
    about: pgVersion,
    run: async () => {
      const baselineDir = env.B13_BASELINE;
      const options: B13Options = {
        runs: Number(env.B13_RUNS ?? 3),
        ...(baselineDir ? { baseline: { dir: baselineDir, label: `tinyagi at ${env.B13_BASELINE_LABEL ?? baselineDir}` } } : {}),
      };
      const throughput = await benchB13Throughput(Number(env.B13_TOTAL ?? 20_000), undefined, options);
      const latency = await benchB13Latency(undefined, options);
      return `### Throughput\n\n${throughput}\n\n### Pickup latency (enqueue → handler start; 1 worker process, producer in another process)\n\n${latency}`;
    },
  },
];

const known = new Set(BENCHMARKS.map((b) => b.id));
const selected = new Set((env.BENCH ?? [...known].join(',')).split(',').map((s) => s.trim().toUpperCase()));
for (const id of selected) {
  if (!known.has(id)) throw new Error(`BENCH=${env.BENCH}: ${id} is not run by pnpm bench (it runs ${[...known].join(', ')}; B11, B12 and the start-up bench are run by hand, docs/benchmarks.md)`);
}
const docFile = env.BENCH_DOC ? resolve(env.BENCH_DOC) : fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));
try {
  checkBlocks(readFileSync(docFile, 'utf8'), selected);
} catch (error) {
  throw new Error(`${docFile}: ${(error as Error).message}`);
}

/** The command as it was typed: BENCH and the benchmark's own variables that are set (the database's URL without its credentials). */
function command(id: string): string {
  const value = (name: string) => (name === 'TINYAGI_BENCH_DATABASE_URL' ? env[name]!.replace(/\/\/[^@/]*@/, '//') : env[name]!);
  const vars = Object.keys(env)
    .filter((name) => name.startsWith(`${id}_`) || (name === 'TINYAGI_BENCH_DATABASE_URL' && (id === 'B5' || id === 'B13' || id === 'B23')))
    .sort()
    .map((name) => `${name}=${/^[\w./,:@=-]*$/.test(value(name)) ? value(name) : JSON.stringify(value(name))}`);
  return [...(env.BENCH ? [`BENCH=${env.BENCH}`] : []), ...vars, 'pnpm bench'].join(' ');
}

let built = false;
for (const bench of BENCHMARKS.filter((b) => selected.has(b.id))) {
  if (bench.needsBuild && !built) {
    buildWorkspace();
    built = true;
  }
  const started = new Date().toISOString();
  const loadBefore = loadLine();
  const results = await bench.run();
  const loadAfter = loadLine();
  const about = (await bench.about?.()) || '';
  const measured = `_Measured ${started} with \`${command(bench.id)}\` on ${machineLine()}${about ? ` (${about})` : ''}; load average (1 min) ${loadBefore} before, ${loadAfter} after._`;
  // Read again: the file may have been edited while the benchmark ran.
  writeFileSync(
    docFile,
    fillBlocks(readFileSync(docFile, 'utf8'), [
      { id: bench.id, kind: 'measured', text: measured },
      { id: bench.id, kind: 'results', text: results },
    ]),
  );
  console.log(`${bench.id}\n\n${measured}\n\n${results}\n`);
}

async function pgVersion(): Promise<string> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  try {
    return `PostgreSQL ${String((await client.query('SHOW server_version')).rows[0]?.server_version ?? '?').split(' ')[0]}, reached ${pgConnectionLine()}`;
  } finally {
    await client.end();
  }
}

/** The bundler's version and the client's zod, which most of the contract entry is. */
async function b8Versions(): Promise<string> {
  const { version } = await import('esbuild');
  const zod = JSON.parse(readFileSync(new URL('../../packages/client/node_modules/zod/package.json', import.meta.url), 'utf8')) as { version: string };
  return `esbuild ${version}, zod ${zod.version}`;
}

/** git's version (B21 is git's worktrees and clones). */
function gitVersion(): string {
  const run = spawnSync('git', ['--version'], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : '';
}

/** Chromium's version (B27 drives TinyOffice in it). */
function chromiumVersion(): string {
  const run = spawnSync(env.TINYOFFICE_CHROMIUM ?? '/usr/bin/chromium', ['--version'], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : '';
}

/** bwrap's version (B19's boundary starts run through it). */
function bwrapVersion(): string {
  const run = spawnSync('bwrap', ['--version'], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : '';
}

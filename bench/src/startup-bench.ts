/**
 * Start-up figures of the daemon, for deciding what the start-up path may cost (docs/benchmarks.md,
 * "Start-up snapshot decision"). For each variant, in turn within each repetition (so the
 * variants share the machine's state):
 * - start until healthy: from spawning the daemon as `tinyagi start` spawns it (the build's own
 *   `daemonNodeArgs` and `daemonEnv`, any snapshot blob built before the clock starts) until
 *   GET /api/health answers 200 (probed every 5 ms);
 * - daemon CPU until then: its user + system time at that moment (/proc/<pid>/stat; unlike the
 *   wall time, hardly moved by other load on the machine);
 * - idle RSS: VmRSS of the daemon one second after that;
 * - `tinyagi start`: the whole command a user runs (the CLI loads, checks the settings, spawns
 *   the daemon detached and waits for its health, probing every 100 ms) until it exits 0.
 *
 * Variants: STARTUP_VARIANTS="label=/path/to/dist/bin.js[:ENV=VALUE…];…" (default: this
 * checkout's packages/cli/dist, as built). STARTUP_RUNS (default 7) repetitions; medians printed
 * as a markdown table on stdout, each run's figures on stderr.
 *
 * Run: `node --conditions=tinyagi-source bench/src/startup-bench.ts` after `pnpm build`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI_BUILT, createDaemon, FAKE_BIN_DIR, runCli, tempHome } from '@tinyagi/test-kit';

interface Variant {
  label: string;
  bin: string;
  env: Record<string, string>;
}

interface Launch {
  daemonNodeArgs(options: { execArgv: readonly string[]; args: readonly string[]; bin?: string; build: boolean; env?: Record<string, string | undefined> }): string[];
}

function variants(): Variant[] {
  const spec = process.env['STARTUP_VARIANTS'];
  if (!spec) return [{ label: 'this build', bin: CLI_BUILT, env: {} }];
  return spec.split(';').map((part) => {
    const at = part.indexOf('=');
    const [bin, ...envs] = part.slice(at + 1).split(':');
    const pair = (e: string): [string, string] => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)];
    return { label: part.slice(0, at), bin: bin!, env: Object.fromEntries(envs.map(pair)) };
  });
}

const settings = ({ root }: { root: string }) => ({
  workspace: { path: join(root, 'workspace') },
  models: { provider: 'anthropic' },
  agents: Object.fromEntries(['a1', 'a2', 'a3', 'a4'].map((id) => [id, { name: id.toUpperCase(), provider: 'anthropic' }])),
  teams: {},
  channels: { enabled: [] },
});

/** CPU time (user + system) the process used so far, in ms: unlike wall time, not stretched by other load on the machine. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? Number.NaN) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function daemonStart(v: Variant): Promise<{ startMs: number; cpuMs: number; idleRssMb: number; snapshot: boolean }> {
  const dist = join(v.bin, '..', 'daemon');
  const launch = (await import(pathToFileURL(join(dist, 'launch.js')).href)) as Launch;
  const flags = (await import(pathToFileURL(join(dist, 'node-flags.js')).href)) as { daemonEnv(env: Record<string, string>): Record<string, string> };
  const env = { ...flags.daemonEnv({ ...v.env }) };
  const nodeArgs = launch.daemonNodeArgs({ execArgv: [], args: ['run'], bin: v.bin, build: true, env: { ...process.env, ...v.env } });
  const daemon = await createDaemon({ build: { entry: v.bin }, prefix: 'tinyagi-startup-', path: [FAKE_BIN_DIR], settings, nodeArgs, env, healthPollMs: 5 });
  try {
    const t0 = performance.now();
    await daemon.start();
    const startMs = performance.now() - t0;
    const cpu = cpuMs(daemon.pid);
    await sleep(1000);
    const idleRssMb = rssMb(daemon.pid);
    return { startMs, cpuMs: cpu, idleRssMb, snapshot: nodeArgs.includes('--snapshot-blob') };
  } finally {
    await daemon.cleanup();
  }
}

async function startCommand(v: Variant): Promise<number> {
  const temp = tempHome({ prefix: 'tinyagi-startup-cmd-', path: [FAKE_BIN_DIR] });
  try {
    const env = { ...temp.env, TINYAGI_API_PORT: '0', ...v.env };
    const t0 = performance.now();
    const started = spawnSync(process.execPath, [v.bin, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const ms = performance.now() - t0;
    if (started.status !== 0) throw new Error(`tinyagi start failed: ${started.stderr.toString()}`);
    await runCli(['stop', '--timeout', '10'], env, { build: { entry: v.bin } });
    return ms;
  } finally {
    temp.cleanup();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function main(): Promise<void> {
  const runs = Number(process.env['STARTUP_RUNS'] ?? 7);
  const list = variants();
  const figures = new Map(list.map((v) => [v.label, { start: [] as number[], cpu: [] as number[], rss: [] as number[], cmd: [] as number[], snapshot: false }]));
  const loadBefore = loadavg()[1]!;
  // One unmeasured start per variant: blobs built, files in the page cache.
  for (const v of list) await daemonStart(v);
  for (let i = 0; i < runs; i++) {
    for (const v of list) {
      const f = figures.get(v.label)!;
      const d = await daemonStart(v);
      f.start.push(d.startMs);
      f.cpu.push(d.cpuMs);
      f.rss.push(d.idleRssMb);
      f.snapshot = d.snapshot;
      f.cmd.push(await startCommand(v));
      process.stderr.write(
        `run ${i + 1}/${runs} ${v.label}: start ${d.startMs.toFixed(0)} ms (CPU ${d.cpuMs} ms), idle RSS ${d.idleRssMb.toFixed(1)} MB, tinyagi start ${f.cmd.at(-1)!.toFixed(0)} ms\n`,
      );
    }
  }
  const cell = (xs: number[], digits: number) => `${median(xs).toFixed(digits)} (${xs.map((x) => x.toFixed(digits)).join(' / ')})`;
  const out = [
    `_Measured ${new Date().toISOString()} on ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}; load average (5 min) before / after: ${loadBefore.toFixed(1)} / ${loadavg()[1]!.toFixed(1)}._`,
    '',
    `Medians of ${runs} runs (each run's figure in brackets).`,
    '',
    '| variant | from snapshot | start until /api/health 200 (ms) | daemon CPU until then (ms) | idle RSS 1 s later (MB) | `tinyagi start` until it exits (ms) |',
    '|---|---|---|---|---|---|',
    ...list.map((v) => {
      const f = figures.get(v.label)!;
      return `| ${v.label} | ${f.snapshot ? 'yes' : 'no'} | ${cell(f.start, 0)} | ${cell(f.cpu, 0)} | ${cell(f.rss, 1)} | ${cell(f.cmd, 0)} |`;
    }),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();

/**
 * Before/after figures for B0–B5 of two checkouts, side by side in one run:
 *
 *   node bench/scripts/compare-refs.ts --base /tmp/base --head /work/main [--reps 5] [--bench B0,B1,B2,B3,B4,B5] [--out /tmp/compare.md] [--lock /tmp/tinyagi-build.lock]
 *
 * Both checkouts must be installed and built (B0 runs each one's packages/cli/dist/bin.js; B1–B5
 * run each one's sources, as `pnpm bench` does). For every repetition and every benchmark, one side
 * runs, then the other (base first in odd repetitions, head first in even ones), each in a fresh
 * node process that loads that checkout's own bench code (bench/src) — so load from other work on
 * the machine hits both alike. Nothing is written into either checkout: this runs the bench
 * functions, not `pnpm bench` (which rewrites docs/benchmarks.md).
 *
 * Output: per benchmark a table of every figure, base and head (median of the repetitions and their
 * min–max), head ÷ base of the medians, and the min–max of the per-repetition ratios (each head run
 * over the base run beside it). Rows that no change of ours can move (the B0 floor, plainjob in B1)
 * show the noise of the machine. `--out` also gets the raw figures as JSON (`<out>.json`).
 * `--lock FILE` holds that flock while a B0 runs (the build lock: no rebuild swaps a dist under a
 * running daemon).
 *
 * Shape (environment): COMPARE_B0_MESSAGES (200), COMPARE_B0_RECOVERY (1; 0 skips the crash phase),
 * COMPARE_B1_JOBS (32000), COMPARE_PLAINJOB (0 leaves B1's plainjob row out), COMPARE_B5 (`100:pg,1000:pg,10000`: in-flight sizes, `:pg` adds the
 * two-node PostgreSQL run of that size), TINYAGI_BENCH_DATABASE_URL as for `pnpm bench`.
 *
 * Internally the same file, run with `--one Bn --checkout DIR`, measures one benchmark on one
 * checkout and prints `@@RESULT {json}`.
 */
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface Metric {
  key: string;
  value: number;
}
interface OneResult {
  ok: boolean;
  metrics: Metric[];
  error?: string;
  seconds: number;
}

const ALL = ['B0', 'B1', 'B2', 'B3', 'B4', 'B5'];
const SELF = fileURLToPath(import.meta.url);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The first number of a markdown cell (before any bracketed list of runs), commas dropped. */
function numbers(cell: string): number[] {
  const head = cell.replace(/\s*\(.*$/, '');
  return [...head.replaceAll(/(\d),(\d{3})/g, '$1$2').matchAll(/-?\d+(?:\.\d+)?|NaN/g)].map((m) => Number(m[0]));
}

/**
 * The figures of a markdown table as returned by a bench function: `keyCells` leading cells name
 * the row (bracketed parts dropped), every other cell (of `columns`, when given) gives one figure
 * per number in it, named by its column header (and, for a cell of several, each one's unit).
 */
function tableMetrics(markdown: string, keyCells: number, columns?: number[]): Metric[] {
  const lines = markdown.split('\n').filter((l) => l.startsWith('|'));
  const cells = (l: string) =>
    l
      .slice(1, -1)
      .split(' | ')
      .map((c) => c.trim().replaceAll('`', ''));
  const separator = (l: string | undefined) => l !== undefined && /^\|[-| ]+\|$/.test(l);
  const out: Metric[] = [];
  let header: string[] = [];
  lines.forEach((line, i) => {
    if (separator(line)) return;
    if (separator(lines[i + 1])) {
      header = cells(line);
      return;
    }
    const row = cells(line);
    const key = row
      .slice(0, keyCells)
      .map((c) => c.replaceAll(/\s*\(.*?\)/g, ''))
      .join(', ');
    for (let c = keyCells; c < row.length; c++) {
      if (columns && !columns.includes(c)) continue;
      const values = numbers(row[c]!);
      const title = (header[c] ?? `column ${c + 1}`).replaceAll(/\s*\(.*?\)/g, '');
      const parts = title.split(' / ');
      const fragments = row[c]!.replace(/\s*\(.*$/, '').split(/, | \/ /);
      // Each figure's unit is its text without the number ("3.62 s", "537 runs/s"); "1.15 / 1.15 s" shares the last one.
      const units = fragments.map((f) =>
        f
          .replace(/-?[\d,]+(?:\.\d+)?/, '')
          .replaceAll(/\s+/g, ' ')
          .trim(),
      );
      values.forEach((value, k) => {
        const unit = fragments.length === values.length ? units[k] || units.at(-1)! : values.length === 1 ? units[0]! : '';
        const label = values.length === 1 ? title : parts.length === values.length ? parts[k]! : `${title} [${k + 1}]`;
        const name = unit && !/^\d/.test(unit) ? `${label} (${unit})` : label;
        out.push({ key: `${key} — ${name}`, value });
      });
    }
  });
  return out;
}

/**
 * CPU seconds of this process and its reaped children: utime + stime + cutime + cstime of
 * /proc/self/stat at 100 ticks per second. On a shared machine CPU time varies far less than
 * wall time, so B1–B4 report it beside their wall-clock figures (B0 and B5 report their own).
 */
function cpuSeconds(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
}

/** One benchmark on one checkout, in this process (the `--one` mode). */
async function measureOne(bench: string, checkout: string): Promise<Metric[]> {
  const src = (file: string) => import(pathToFileURL(join(checkout, 'bench/src', file)).href);
  const metrics: Metric[] = [];
  let cpuMark = cpuSeconds();
  /** CPU seconds of this process and its reaped children (B1's and B2's worker processes) since the last call. */
  const cpu = (key: string) => {
    const now = cpuSeconds();
    metrics.push({ key: `${key} — CPU, process + children (s)`, value: Number((now - cpuMark).toFixed(2)) });
    cpuMark = now;
  };
  if (bench === 'B0') {
    // The built daemon of this checkout (never `pnpm run build`, which benchB0 runs without it).
    process.env.B0_DAEMON_BIN ??= join(checkout, 'packages/cli/dist/bin.js');
    const { benchB0 } = await src('main-job-bench.ts');
    const table: string = await benchB0({
      messages: Number(process.env.COMPARE_B0_MESSAGES ?? 200),
      runs: 1,
      recovery: process.env.COMPARE_B0_RECOVERY !== '0',
      pacedMessages: 100,
      pacedRate: 20,
      daemonNodeOptions: (process.env.B0_DAEMON_NODE_OPTIONS ?? '').split(' ').filter(Boolean),
      referenceNodeOptions: [],
    });
    // Columns: ours at durability full, ours at normal, the floor (no daemon: the machine's noise).
    const rows = table.split('\n').filter((l) => !/429s|burst messages answered/.test(l));
    const header = rows.find((l) => l.startsWith('| ') && l.includes('floor'))!;
    const named = rows.map((l) => (l === header ? '| B0 | full | normal | floor | reference |' : l)).join('\n');
    metrics.push(...tableMetrics(named, 1, [1, 2, 3]));
  } else if (bench === 'B1' || bench === 'B2') {
    const { runQueueConfig } = await src('queue-bench.ts');
    const { percentile } = await src('machine.ts');
    if (bench === 'B1') {
      const total = Number(process.env.COMPARE_B1_JOBS ?? 32_000);
      const configs: Array<[string, 'pre' | 'concurrent', number]> = [
        ['collect', 'pre', 1],
        ['collect', 'pre', 2],
        ['collect', 'concurrent', 1],
        ['collect', 'concurrent', 2],
        ['sequential', 'pre', 1],
        ['sequential', 'concurrent', 1],
        ['plainjob', 'pre', 1],
      ];
      // COMPARE_PLAINJOB=0 leaves the peer out: its fsync in every commit makes it the slowest row on a busy machine.
      for (const [impl, mode, workers] of configs.filter(([impl]) => impl !== 'plainjob' || process.env.COMPARE_PLAINJOB !== '0')) {
        const r = await runQueueConfig({
          impl: impl === 'plainjob' ? 'plainjob' : 'tinyagi',
          ...(impl === 'plainjob' ? { pollMs: 10 } : { policy: impl }),
          sync: 'full',
          mode,
          workers,
          total,
          lanes: 64,
        });
        const label = impl === 'plainjob' ? 'plainjob (peer, unchanged: noise)' : impl;
        metrics.push({
          key: `FULL, ${mode === 'pre' ? 'pre-enqueued' : 'enqueued concurrently'}, ${workers} worker${workers > 1 ? 's' : ''} — ${label} jobs/s`,
          value: Math.round((total * 1000) / r.ms),
        });
        cpu(`FULL, ${mode === 'pre' ? 'pre-enqueued' : 'enqueued concurrently'}, ${workers} worker${workers > 1 ? 's' : ''}, ${label}`);
      }
    } else {
      for (const c of [
        { label: 'idle (20 jobs/s)', total: 200, producerRate: 20 },
        { label: 'loaded (1,000 jobs/s)', total: 5000, producerRate: 1000 },
      ]) {
        const r = await runQueueConfig({ impl: 'tinyagi', sync: 'full', workers: 1, total: c.total, mode: 'concurrent', lanes: 64, policy: 'collect', producerRate: c.producerRate, latency: true });
        metrics.push({ key: `${c.label} — p50 ms`, value: percentile(r.latencies, 50) }, { key: `${c.label} — p99 ms`, value: percentile(r.latencies, 99) });
        cpu(c.label);
      }
    }
  } else if (bench === 'B3') {
    const { benchB3 } = await src('teams-bench.ts');
    metrics.push(...tableMetrics(await benchB3(), 1));
    cpu('B3, both scenarios');
  } else if (bench === 'B4') {
    const { benchB4 } = await src('teams-bench.ts');
    metrics.push(...tableMetrics(await benchB4(), 1));
    cpu('B4, all three');
  } else if (bench === 'B5') {
    const { benchB5 } = await src('teams-bench.ts');
    const { BENCH_DATABASE_URL } = await src('machine.ts');
    const sizes = (process.env.COMPARE_B5 ?? '100:pg,1000:pg,10000').split(',').map((s) => ({ n: Number(s.split(':')[0]), pg: s.endsWith(':pg') }));
    for (const { n, pg } of sizes) {
      const table: string = await benchB5([n], pg ? BENCH_DATABASE_URL : undefined);
      metrics.push(...tableMetrics(table.split('\n\n')[0]!, 2));
    }
  } else {
    throw new Error(`unknown benchmark ${bench} (this script runs ${ALL.join(', ')})`);
  }
  return metrics;
}

/** Runs `--one bench` for a checkout in a fresh node process; its stderr goes to `log`. */
function runSide(bench: string, checkout: string, log: string, lock: string | undefined): Promise<OneResult> {
  const started = performance.now();
  const node = ['--conditions=tinyagi-source', SELF, '--one', bench, '--checkout', checkout];
  const [cmd, args] = lock && bench === 'B0' ? ['flock', [lock, process.execPath, ...node]] : [process.execPath, node];
  return new Promise((done) => {
    const child = spawn(cmd, args as string[], {
      cwd: join(checkout, 'bench'),
      env: { ...process.env, B0_DAEMON_BIN: join(checkout, 'packages/cli/dist/bin.js'), TURBO_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      err = (err + c).slice(-4000);
      writeFileSync(log, c, { flag: 'a' });
    });
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const line = out.split('\n').find((l) => l.startsWith('@@RESULT '));
      if (code === 0 && line) done({ ok: true, metrics: JSON.parse(line.slice(9)) as Metric[], seconds });
      else {
        const lines = err.split('\n').filter((l) => l.trim());
        done({ ok: false, metrics: [], error: `exit ${code}: ${lines.find((l) => /Error\b/.test(l)) ?? lines.at(-1) ?? 'no output'}`, seconds });
      }
    });
  });
}

const median = (values: number[]): number => {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};
const fmt = (v: number): string => (!Number.isFinite(v) ? '—' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
/** Throughputs are better higher; everything else here (times, latencies, CPU, memory, faults) lower. */
const higherIsBetter = (key: string): boolean => /\/s\b/.test(key.split(' — ').at(-1)!);

function describe(dir: string): string {
  const git = (...a: string[]) => execFileSync('git', ['-C', dir, ...a], { encoding: 'utf8' }).trim();
  const dirty = git('status', '--porcelain', '--untracked-files=no').split('\n').filter(Boolean).length;
  return `\`${git('log', '-1', '--format=%h %s').slice(0, 100)}\`${dirty ? ` + ${dirty} uncommitted tracked file${dirty > 1 ? 's' : ''}` : ''} (${dir})`;
}

function machine(): string {
  const model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? '?';
  return `${execFileSync('nproc', { encoding: 'utf8' }).trim()} × ${model.trim()}, Node ${process.version}`;
}

async function compare(): Promise<void> {
  const base = resolve(arg('base') ?? '');
  const head = resolve(arg('head') ?? '');
  if (!arg('base') || !arg('head')) throw new Error('usage: compare-refs.ts --base DIR --head DIR [--reps N] [--bench B0,B1,…] [--out FILE] [--lock FILE]');
  const reps = Number(arg('reps') ?? 5);
  const benches = (arg('bench') ?? ALL.join(',')).split(',').map((b) => b.trim().toUpperCase());
  for (const b of benches) if (!ALL.includes(b)) throw new Error(`unknown benchmark ${b} (this script runs ${ALL.join(', ')})`);
  const out = arg('out');
  const log = `${out ?? '/tmp/compare-refs'}.log`;
  const lock = arg('lock');
  writeFileSync(log, '');
  const sides = { base, head } as const;
  type Side = keyof typeof sides;
  /** results[bench][side][rep] */
  const results: Record<string, Record<Side, OneResult[]>> = {};
  const loads: number[] = [loadavg()[0]!];
  const t0 = new Date();
  const described = { base: describe(base), head: describe(head) };
  // --deadline HH:MM (UTC, today) or an ISO time: no repetition starts that the last one's length says would end after it.
  const deadlineArg = arg('deadline');
  const deadline = deadlineArg ? (/^\d\d:\d\d$/.test(deadlineArg) ? new Date(`${t0.toISOString().slice(0, 10)}T${deadlineArg}:00Z`) : new Date(deadlineArg)).getTime() : Number.POSITIVE_INFINITY;
  let done = 0;
  for (let rep = 0; rep < reps; rep++) {
    const repStart = Date.now();
    for (const bench of benches) {
      results[bench] ??= { base: [], head: [] };
      const order: Side[] = rep % 2 === 0 ? ['base', 'head'] : ['head', 'base'];
      for (const side of order) {
        writeFileSync(log, `\n==== ${bench} ${side} rep ${rep + 1} ====\n`, { flag: 'a' });
        const r = await runSide(bench, sides[side], log, lock);
        results[bench][side][rep] = r;
        loads.push(loadavg()[0]!);
        console.error(`${bench} ${side} rep ${rep + 1}/${reps}: ${r.ok ? `${r.metrics.length} figures` : r.error} (${r.seconds.toFixed(0)} s, load ${loadavg()[0]!.toFixed(2)})`);
      }
    }
    done = rep + 1;
    const text = report();
    if (out) {
      writeFileSync(out, text);
      writeFileSync(`${out}.json`, JSON.stringify({ base, head, reps: done, benches, results }, null, 1));
    }
    const repMs = Date.now() - repStart;
    if (rep + 1 < reps && Date.now() + repMs > deadline) {
      console.error(`stopping after ${done} repetitions: another would end after ${new Date(deadline).toISOString()}`);
      break;
    }
  }
  console.log(report());

  function report(): string {
    const endHead = describe(head);
    const lines: string[] = [
      `Base: ${described.base}. Head: ${described.head}${endHead !== described.head ? ` at the start, ${endHead} at the end` : ''}.`,
      `Machine: ${machine()}. Started ${t0.toISOString()}, ${done} repetition${done > 1 ? 's' : ''} per side, base and head alternating (base first in odd repetitions); load average (1 min) ${loads[0]!.toFixed(2)} before, ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} after the runs.`,
      `Command: \`node bench/scripts/compare-refs.ts ${process.argv.slice(2).join(' ')}\`${['COMPARE_B0_MESSAGES', 'COMPARE_B0_RECOVERY', 'COMPARE_B1_JOBS', 'COMPARE_PLAINJOB', 'COMPARE_B5'].flatMap((k) => (process.env[k] ? [` ${k}=${process.env[k]}`] : [])).join('')}.`,
      '',
    ];
    for (const bench of benches) {
      const r = results[bench]!;
      lines.push(`### ${bench}`, '');
      const failures = (['base', 'head'] as const).flatMap((side) => r[side].flatMap((x, i) => (x.ok ? [] : [`${side} rep ${i + 1}: ${x.error}`])));
      if (failures.length) lines.push(`Failed runs: ${failures.join('; ')}.`, '');
      const keys = [...new Set([...r.base, ...r.head].flatMap((x) => x.metrics.map((m) => m.key)))];
      if (keys.length === 0) {
        lines.push('No figures (every run failed).', '');
        continue;
      }
      lines.push('| figure | better | base: median (min–max) | head: median (min–max) | head ÷ base | per-repetition head ÷ base, min–max | reading |', '|---|---|---|---|---|---|---|');
      for (const key of keys) {
        const values = (side: Side) => r[side].map((x) => x.metrics.find((m) => m.key === key)?.value ?? Number.NaN);
        const b = values('base');
        const h = values('head');
        const range = (v: number[]) => {
          const f = v.filter(Number.isFinite);
          return f.length ? `${fmt(median(f))} (${fmt(Math.min(...f))}–${fmt(Math.max(...f))})` : '—';
        };
        const paired = b.map((x, i) => h[i]! / x).filter(Number.isFinite);
        const ratio = median(h) / median(b);
        // Head's change as a cost: above 1 is worse whichever way the figure is better.
        const cost = (x: number) => (higherIsBetter(key) ? 1 / x : x);
        const costs = paired.map(cost);
        const reading = !Number.isFinite(ratio)
          ? '—'
          : costs.length > 1 && costs.every((c) => c > 1.05)
            ? '**worse > 5 %** in every pair'
            : costs.length > 1 && costs.every((c) => c < 0.95)
              ? 'better > 5 % in every pair'
              : Math.abs(cost(ratio) - 1) <= 0.05
                ? 'within 5 %'
                : `${cost(ratio) > 1 ? 'worse' : 'better'} median, ${costs.length > 1 ? 'pairs disagree' : 'one pair'}`;
        lines.push(
          `| ${key} | ${higherIsBetter(key) ? 'higher' : 'lower'} | ${range(b)} | ${range(h)} | ${Number.isFinite(ratio) ? `${ratio.toFixed(3)}` : '—'} | ${paired.length ? `${Math.min(...paired).toFixed(2)}–${Math.max(...paired).toFixed(2)}` : '—'} | ${reading} |`,
        );
      }
      lines.push('');
    }
    return lines.join('\n');
  }
}

const one = arg('one');
if (one) {
  const started = performance.now();
  const metrics = await measureOne(one, resolve(arg('checkout') ?? process.cwd()));
  console.log(`@@RESULT ${JSON.stringify(metrics)}`);
  console.error(`${one}: ${metrics.length} figures in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  // Bench code may leave handles (keep-alive agents, pools) open: the figures are out, so end here.
  process.exit(0);
} else {
  await compare();
}

/**
 * B13: B1 (throughput) and B2 (pickup latency) on PostgreSQL: our PgQueueStore beside
 * graphile-worker and pg-boss, same database (TINYAGI_BENCH_DATABASE_URL, default the local
 * one), same run, each run in a fresh schema dropped after it; workers and producers in separate
 * OS processes (b1-pg-worker.ts).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as currentCore from '@tinyagi/core/pg';
import { makeWorkerUtils, runMigrations } from 'graphile-worker';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import type { PgConfig, PgImpl } from './b1-pg-worker.ts';
import { BENCH_DATABASE_URL, percentile } from './machine.ts';
import { failedCell, measurePeer } from './peer-cell.ts';
import { allSucceed, readLatencies, watchProcess } from './queue-bench.ts';

const WORKER = new URL('./b1-pg-worker.ts', import.meta.url).pathname;

export interface PgRunSpec {
  impl: PgImpl;
  /**
   * tinyagi only: a checkout of another commit (B13_BASELINE) whose core runs instead of this
   * one's, with this bench's code copied into it (its bench/src/b1-pg-worker.ts is forked), for
   * before/after figures in one run.
   */
  baseline?: string;
  workers: number;
  total: number;
  mode: 'pre' | 'concurrent';
  lanes: number;
  policy?: 'collect' | 'sequential';
  producerRate?: number;
  latency?: boolean;
}

let runNo = 0;
/** Jobs of the serial graphile-worker runs (named queues; see benchB13Throughput). */
export const SERIAL_TOTAL = 2000;

type CorePg = typeof currentCore;
/** The core (`@tinyagi/core/pg`) of this checkout or of a baseline one. */
async function coreOf(baseline: string | undefined): Promise<CorePg> {
  if (!baseline) return currentCore;
  return (await import(pathToFileURL(join(baseline, 'packages/core/src/pg.ts')).href)) as CorePg;
}

async function setup(impl: PgImpl, url: string, schema: string, baseline?: string): Promise<void> {
  if (impl === 'tinyagi') {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    await (await coreOf(baseline)).migratePg(pool, schema);
    await pool.end();
  } else if (impl === 'graphile' || impl === 'graphile-lanes') {
    await runMigrations({ connectionString: url, schema });
  } else {
    const boss = new PgBoss({ connectionString: url, schema, supervise: false });
    boss.on('error', () => {});
    await boss.start();
    await boss.createQueue('bench', { notify: true });
    await boss.stop({ graceful: false, close: true });
  }
}

async function prefill(impl: PgImpl, url: string, schema: string, total: number, lanes: number, baseline?: string): Promise<void> {
  const chunk = (i: number) => Array.from({ length: Math.min(1000, total - i) }, (_, k) => i + k);
  if (impl === 'tinyagi') {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const store = new (await coreOf(baseline)).PgQueueStore(pool, { schema });
    for (let i = 0; i < total; i += 1000) {
      await store.enqueueMany(
        chunk(i).map((n) => ({ kind: 'job' as const, agentId: `lane-${n % lanes}`, conversationId: 'bench', channel: 'bench', content: JSON.stringify({ i: n, t: Date.now() }) })),
      );
    }
    await pool.end();
  } else if (impl === 'graphile' || impl === 'graphile-lanes') {
    const utils = await makeWorkerUtils({ connectionString: url, schema });
    const queue = (n: number) => (impl === 'graphile-lanes' ? { queueName: `lane-${n % lanes}` } : {});
    for (let i = 0; i < total; i += 1000) await utils.addJobs(chunk(i).map((n) => ({ identifier: 'bench', payload: { i: n, t: Date.now() }, ...queue(n) })));
    await utils.release();
  } else {
    const boss = new PgBoss({ connectionString: url, schema, supervise: false, migrate: false });
    boss.on('error', () => {});
    await boss.start();
    for (let i = 0; i < total; i += 1000)
      await boss.insert(
        'bench',
        chunk(i).map((n) => ({ data: { i: n, t: Date.now() } })),
      );
    await boss.stop({ graceful: false, close: true });
  }
}

/** Runs one configuration in a fresh schema; returns elapsed ms and (with latency) the sorted latencies. */
export async function runPgQueueConfig(spec: PgRunSpec, url = BENCH_DATABASE_URL): Promise<{ ms: number; latencies: number[] }> {
  const schema = `bench_${spec.impl}_${process.pid}_${runNo++}`;
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-pgbench-'));
  const latencyLog = spec.latency ? join(dir, 'lat.txt') : undefined;
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await setup(spec.impl, url, schema, spec.baseline);
    if (spec.mode === 'pre') await prefill(spec.impl, url, schema, spec.total, spec.lanes, spec.baseline);
    const worker = spec.baseline ? join(spec.baseline, 'bench/src/b1-pg-worker.ts') : WORKER;
    const base: Omit<PgConfig, 'role'> = { impl: spec.impl, url, schema, total: spec.total, lanes: spec.lanes, policy: spec.policy, latencyLog, producerRate: spec.producerRate };
    const fork1 = (role: PgConfig['role']) =>
      watchProcess(fork(worker, [JSON.stringify({ ...base, role })], { execArgv: ['--conditions=tinyagi-source'], stdio: ['inherit', 'inherit', 'pipe', 'ipc'] }));
    const workers = Array.from({ length: spec.workers }, () => fork1('worker'));
    const procs = [...workers, ...(spec.mode === 'concurrent' ? [fork1('producer')] : [])];
    const finished = allSucceed(spec.impl, procs);
    const ready = Promise.all(procs.map((p) => new Promise<void>((resolve) => p.child.once('message', () => resolve()))));
    await Promise.race([ready, finished.then(() => Promise.reject(new Error(`the ${spec.impl} bench processes exited before starting`)))]);
    // Every worker reports its handled count; once they add up to the total, all are told to stop.
    const counts = new Map<number, number>();
    const allHandled = new Promise<void>((resolve) => {
      for (const [k, w] of workers.entries()) {
        w.child.on('message', (m: unknown) => {
          if (typeof m !== 'object' || m === null || !('handled' in m)) return;
          counts.set(k, (m as { handled: number }).handled);
          if ([...counts.values()].reduce((a, b) => a + b, 0) >= spec.total) resolve();
        });
      }
    });
    const start = performance.now();
    for (const p of procs) p.child.send('go');
    await Promise.race([allHandled, finished]);
    for (const w of workers) if (w.child.connected) w.child.send('stop');
    await finished;
    const ms = performance.now() - start;
    const latencies = readLatencies(latencyLog);
    return { ms, latencies };
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

type PgRunner = (spec: PgRunSpec) => Promise<{ ms: number; latencies: number[] }>;

/** B13_RUNS (how many times each configuration runs; cells are medians) and B13_BASELINE (see PgRunSpec.baseline) with its label. */
export interface B13Options {
  runs?: number;
  baseline?: { dir: string; label: string };
}

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
/** A median cell with every run's figure in brackets (one run: the figure alone). */
const medianCell = (xs: number[], digits = 0) => (xs.length === 1 ? xs[0]!.toFixed(digits) : `${median(xs).toFixed(digits)} (${xs.map((x) => x.toFixed(digits)).join(' / ')})`);

/** A peer measured `runs` times: the figures, or the first failure's outcome. */
async function peerRuns<T>(name: string, runs: number, run: () => Promise<T>): Promise<{ ok: true; values: T[] } | { ok: false; error: string; attempts: number }> {
  const values: T[] = [];
  for (let k = 0; k < runs; k++) {
    const outcome = await measurePeer(name, run);
    if (!outcome.ok) return outcome;
    values.push(outcome.value);
  }
  return { ok: true, values };
}

export async function benchB13Throughput(total: number, run: PgRunner = runPgQueueConfig, options: B13Options = {}): Promise<string> {
  const runs = options.runs ?? 1;
  const base = options.baseline;
  const rows: string[] = [
    `| mode | workers | tinyagi jobs/s (collect) |${base ? ` ${base.label} (collect) |` : ''} tinyagi jobs/s (sequential) |${base ? ` ${base.label} (sequential) |` : ''} graphile-worker jobs/s | pg-boss jobs/s | graphile-worker, a queue per lane (serial) jobs/s | collect / best peer | sequential / serial graphile-worker |`,
    `|---|---|---|---|---|---|---|---|---|${base ? '---|---|' : ''}`,
  ];
  const rate = (ms: number) => Math.round((total * 1000) / ms);
  for (const mode of ['pre', 'concurrent'] as const) {
    for (const workers of [1, 2, 4]) {
      const common = { mode, workers, total, lanes: 64 };
      const figures = { ours: [] as number[], seq: [] as number[], baseOurs: [] as number[], baseSeq: [] as number[] };
      // Ours and the baseline alternate run by run; the peers follow.
      for (let k = 0; k < runs; k++) {
        figures.ours.push(rate((await run({ ...common, impl: 'tinyagi', policy: 'collect' })).ms));
        if (base) figures.baseOurs.push(rate((await run({ ...common, impl: 'tinyagi', policy: 'collect', baseline: base.dir })).ms));
        figures.seq.push(rate((await run({ ...common, impl: 'tinyagi', policy: 'sequential' })).ms));
        if (base) figures.baseSeq.push(rate((await run({ ...common, impl: 'tinyagi', policy: 'sequential', baseline: base.dir })).ms));
      }
      const graphile = await peerRuns(`graphile-worker B13 ${mode} ${workers}w`, runs, () => run({ ...common, impl: 'graphile' }));
      const boss = await peerRuns(`pg-boss B13 ${mode} ${workers}w`, runs, () => run({ ...common, impl: 'pgboss' }));
      // Named queues make graphile-worker slow (about 150 jobs/s here): a smaller run, once, same rate measure.
      const serialTotal = Math.min(total, SERIAL_TOTAL);
      const serial = await measurePeer(`graphile-worker (queue per lane) B13 ${mode} ${workers}w`, () => run({ ...common, total: serialTotal, impl: 'graphile-lanes' }));
      const serialRate = serial.ok ? Math.round((serialTotal * 1000) / serial.value.ms) : undefined;
      const peerRates = [graphile, boss].map((p) => (p.ok ? p.values.map((v) => rate(v.ms)) : undefined));
      const best = Math.max(0, ...peerRates.filter((r): r is number[] => r !== undefined).map(median));
      const cell = (p: typeof graphile, r: number[] | undefined) => (p.ok && r ? medianCell(r) : failedCell(p as { error: string; attempts: number }));
      const ratio = (x: number) => (best > 0 ? `${(x / best).toFixed(2)}×` : '—');
      const serialRatio = serialRate ? `${(median(figures.seq) / serialRate).toFixed(2)}×` : '—';
      rows.push(
        `| ${mode === 'pre' ? 'pre-enqueued' : 'enqueued concurrently'} | ${workers} | ${medianCell(figures.ours)} |${base ? ` ${medianCell(figures.baseOurs)} |` : ''} ${medianCell(figures.seq)} |${base ? ` ${medianCell(figures.baseSeq)} |` : ''} ${cell(graphile, peerRates[0])} | ${cell(boss, peerRates[1])} | ${serial.ok ? String(serialRate) : failedCell(serial)} | ${ratio(median(figures.ours))} | ${serialRatio} |`,
      );
      console.error(rows.at(-1));
    }
  }
  return rows.join('\n');
}

export async function benchB13Latency(run: PgRunner = runPgQueueConfig, options: B13Options = {}): Promise<string> {
  const runs = options.runs ?? 1;
  const base = options.baseline;
  const rows: string[] = ['| load | impl | jobs | p50 ms | p99 ms |', '|---|---|---|---|---|'];
  const cases = [
    { label: 'idle (20 jobs/s)', total: 200, producerRate: 20 },
    { label: 'loaded (1,000 jobs/s)', total: 5000, producerRate: 1000 },
  ];
  const names: Record<PgImpl, string> = {
    tinyagi: 'tinyagi (LISTEN/NOTIFY)',
    graphile: 'graphile-worker (LISTEN/NOTIFY)',
    'graphile-lanes': 'graphile-worker, a queue per lane',
    pgboss: 'pg-boss (useListenNotify, queue notify)',
  };
  const impls: Array<{ impl: 'tinyagi' | 'graphile' | 'pgboss'; baseline?: string; name: string }> = [
    { impl: 'tinyagi', name: names.tinyagi },
    ...(base ? [{ impl: 'tinyagi' as const, baseline: base.dir, name: `${base.label} (LISTEN/NOTIFY)` }] : []),
    { impl: 'graphile', name: names.graphile },
    { impl: 'pgboss', name: names.pgboss },
  ];
  for (const c of cases) {
    // Every implementation once per round, `runs` rounds.
    const results = impls.map(() => ({ p50: [] as number[], p99: [] as number[], jobs: 0, error: undefined as string | undefined }));
    for (let k = 0; k < runs; k++) {
      for (const [i, { impl, baseline, name }] of impls.entries()) {
        const r = results[i]!;
        if (r.error) continue;
        const spec: PgRunSpec = { impl, baseline, workers: 1, total: c.total, mode: 'concurrent', lanes: 64, policy: 'collect', producerRate: c.producerRate, latency: true };
        const outcome = impl === 'tinyagi' ? { ok: true as const, value: await run(spec), attempts: 1 } : await measurePeer(`${name} B13 latency ${c.label}`, () => run(spec));
        if (!outcome.ok) {
          r.error = failedCell(outcome);
          continue;
        }
        r.jobs = outcome.value.latencies.length;
        r.p50.push(percentile(outcome.value.latencies, 50));
        r.p99.push(percentile(outcome.value.latencies, 99));
      }
    }
    for (const [i, { name }] of impls.entries()) {
      const r = results[i]!;
      rows.push(r.error ? `| ${c.label} | ${name} | ${r.error} | — | — |` : `| ${c.label} | ${name} | ${r.jobs} | ${medianCell(r.p50, 2)} | ${medianCell(r.p99, 2)} |`);
      console.error(rows.at(-1));
    }
  }
  return rows.join('\n');
}

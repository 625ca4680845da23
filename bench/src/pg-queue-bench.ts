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
import { readFileSync } from 'node:fs';
import type { CostReport, PgConfig, PgImpl } from './b1-pg-worker.ts';
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
  if (impl === 'tinyagi' || impl === 'floor-record' || impl === 'floor-lock') {
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

/**
 * What a run cost, in totals over the run (B13's cost table, per 1,000 jobs): CPU of the
 * PostgreSQL server (every process of it: the postmaster's own time, its live children's and the
 * reaped ones'; undefined when the server's files cannot be read, e.g. a remote server), of the
 * worker processes and of the producer; the WAL written (bytes and records, `pg_stat_wal`, the
 * whole server) and the database's commits (`pg_stat_database`); handler calls.
 */
export interface RunCost {
  pgCpuMs: number | undefined;
  workerCpuMs: number;
  producerCpuMs: number;
  walBytes: number;
  walRecords: number;
  commits: number;
  calls: number;
}

interface ServerReading {
  cpuMs: number | undefined;
  walBytes: number;
  walRecords: number;
  commits: number;
  backends: number;
}

/** /proc/PID/stat's times in ms: utime, stime and (with children) cutime, cstime. */
function procCpuMs(pid: number, withReaped: boolean): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + (withReaped ? Number(fields[13]) + Number(fields[14]) : 0);
  return ticks * 10; // USER_HZ is 100 on Linux
}

async function readServer(admin: pg.Pool): Promise<ServerReading> {
  const { rows } = await admin.query<{ dir: string; wal_bytes: string; wal_records: string; commits: string; backends: string }>(
    `SELECT current_setting('data_directory') AS dir, w.wal_bytes::bigint AS wal_bytes, w.wal_records::bigint AS wal_records,
      (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) AS commits,
      (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()) AS backends
     FROM pg_stat_wal w`,
  );
  const r = rows[0]!;
  let cpuMs: number | undefined;
  try {
    const postmaster = Number(readFileSync(join(r.dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    cpuMs = procCpuMs(postmaster, true);
    for (const child of readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
      try {
        cpuMs += procCpuMs(Number(child), false);
      } catch {
        // exited meanwhile: counted in the postmaster's reaped time
      }
    }
  } catch {
    cpuMs = undefined;
  }
  return { cpuMs, walBytes: Number(r.wal_bytes), walRecords: Number(r.wal_records), commits: Number(r.commits), backends: Number(r.backends) };
}

/** Runs one configuration in a fresh schema; returns elapsed ms, (with latency) the sorted latencies and what it cost. */
export async function runPgQueueConfig(spec: PgRunSpec, url = BENCH_DATABASE_URL): Promise<{ ms: number; latencies: number[]; cost?: RunCost }> {
  const schema = `bench_${spec.impl.replaceAll('-', '_')}_${process.pid}_${runNo++}`;
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-pgbench-'));
  const latencyLog = spec.latency ? join(dir, 'lat.txt') : undefined;
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await setup(spec.impl, url, schema, spec.baseline);
    if (spec.mode === 'pre') await prefill(spec.impl, url, schema, spec.total, spec.lanes, spec.baseline);
    const idleBackends = (await readServer(admin)).backends;
    const worker = spec.baseline ? join(spec.baseline, 'bench/src/b1-pg-worker.ts') : WORKER;
    const base: Omit<PgConfig, 'role'> = {
      impl: spec.impl,
      url,
      schema,
      total: spec.total,
      lanes: spec.lanes,
      policy: spec.policy,
      latencyLog,
      producerRate: spec.producerRate,
      startAtGo: spec.mode === 'pre',
    };
    const fork1 = (role: PgConfig['role']) =>
      watchProcess(fork(worker, [JSON.stringify({ ...base, role })], { execArgv: ['--conditions=tinyagi-source'], stdio: ['inherit', 'inherit', 'pipe', 'ipc'] }));
    const workers = Array.from({ length: spec.workers }, () => fork1('worker'));
    const procs = [...workers, ...(spec.mode === 'concurrent' ? [fork1('producer')] : [])];
    const reports: CostReport['cost'][] = [];
    for (const p of procs) p.child.on('message', (m: unknown) => typeof m === 'object' && m !== null && 'cost' in m && reports.push((m as CostReport).cost));
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
    const before = await readServer(admin);
    const start = performance.now();
    for (const p of procs) p.child.send('go');
    await Promise.race([allHandled, finished]);
    for (const w of workers) if (w.child.connected) w.child.send('stop');
    await finished;
    const ms = performance.now() - start;
    const latencies = readLatencies(latencyLog);
    // The processes closed their connections; their backends end a moment later (their CPU is
    // then in the postmaster's reaped time). Up to 2 s for the count to fall back.
    let after = await readServer(admin);
    for (let k = 0; k < 100 && after.backends > idleBackends; k++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = await readServer(admin);
    }
    const sum = (role: PgConfig['role']) => reports.filter((r) => r.role === role).reduce((x, r) => x + r.cpuMs, 0);
    const cost: RunCost = {
      pgCpuMs: before.cpuMs === undefined || after.cpuMs === undefined ? undefined : after.cpuMs - before.cpuMs,
      workerCpuMs: sum('worker'),
      producerCpuMs: sum('producer'),
      walBytes: after.walBytes - before.walBytes,
      walRecords: after.walRecords - before.walRecords,
      commits: after.commits - before.commits,
      calls: reports.reduce((x, r) => x + r.calls, 0),
    };
    return { ms, latencies, cost };
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

type PgRunner = (spec: PgRunSpec) => Promise<{ ms: number; latencies: number[]; cost?: RunCost }>;

/** B13_RUNS (how many times each configuration runs; cells are medians) and B13_BASELINE (see PgRunSpec.baseline) with its label. */
export interface B13Options {
  runs?: number;
  /** Only these throughput rows (`pre:1` … `concurrent:4`; B13_ROWS, comma-separated); default all. */
  rows?: string[];
  baseline?: { dir: string; label: string };
}

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
/** A median cell with every run's figure in brackets (one run: the figure alone). */
const medianCell = (xs: number[], digits = 0) => (xs.length === 1 ? xs[0]!.toFixed(digits) : `${median(xs).toFixed(digits)} (${xs.map((x) => x.toFixed(digits)).join(' / ')})`);
const FLOOR_LABELS = { 'floor-record': 'floor (3 writes)', 'floor-lock': 'floor (2 writes, locks held)' } as const;
/** A median alone (the secondary columns: the ratio compares ours with the better peer, whose runs are shown). */
const medianOnly = (xs: number[], digits = 0) => median(xs).toFixed(digits);

export async function benchB13Throughput(total: number, run: PgRunner = runPgQueueConfig, options: B13Options = {}): Promise<string> {
  const runs = options.runs ?? 1;
  // B13_ROWS read here (run.ts's options carry runs and the baseline): a shorter run of the rows that matter on a busy machine.
  options = { ...options, ...(process.env.B13_ROWS ? { rows: process.env.B13_ROWS.split(',').map((r) => r.trim()) } : {}) };
  const base = options.baseline;
  const rows: string[] = [
    `| mode | workers | tinyagi jobs/s (collect) |${base ? ` ${base.label} (collect) |` : ''} tinyagi jobs/s (sequential) |${base ? ` ${base.label} (sequential) |` : ''} graphile-worker jobs/s | pg-boss jobs/s | graphile-worker, a queue per lane (serial) jobs/s | collect / best peer | sequential / serial graphile-worker |`,
    `|---|---|---|---|---|---|---|---|---|${base ? '---|---|' : ''}`,
  ];
  const rate = (ms: number) => Math.round((total * 1000) / ms);
  const costRows: string[] = [];
  for (const mode of ['pre', 'concurrent'] as const) {
    for (const workers of [1, 2, 4]) {
      if (options.rows && !options.rows.includes(`${mode}:${workers}`)) continue;
      const common = { mode, workers, total, lanes: 64 };
      const figures = { ours: [] as number[], seq: [] as number[], baseOurs: [] as number[], baseSeq: [] as number[] };
      const ourCosts: RunCost[] = [];
      const baseCosts: RunCost[] = [];
      // Every implementation once per round, `runs` rounds: this machine's speed drifts by a third
      // over minutes, and a peer's runs after all of ours would meet another speed.
      const floorImpls = mode === 'concurrent' && workers > 1 ? (['floor-record', 'floor-lock'] as const) : [];
      // The floors (b1-pg-worker.ts runFloorWorker): the simplest claims over our own tables, no lanes.
      const floors: Array<Array<{ ms: number; cost?: RunCost }>> = floorImpls.map(() => []);
      const peers = (['graphile', 'pgboss'] as const).map((impl) => ({
        impl,
        values: [] as Array<{ ms: number; cost?: RunCost }>,
        failed: undefined as { error: string; attempts: number } | undefined,
      }));
      for (let k = 0; k < runs; k++) {
        const ours = await run({ ...common, impl: 'tinyagi', policy: 'collect' });
        figures.ours.push(rate(ours.ms));
        if (ours.cost) ourCosts.push(ours.cost);
        if (base) {
          const before = await run({ ...common, impl: 'tinyagi', policy: 'collect', baseline: base.dir });
          figures.baseOurs.push(rate(before.ms));
          if (before.cost) baseCosts.push(before.cost);
        }
        figures.seq.push(rate((await run({ ...common, impl: 'tinyagi', policy: 'sequential' })).ms));
        if (base) figures.baseSeq.push(rate((await run({ ...common, impl: 'tinyagi', policy: 'sequential', baseline: base.dir })).ms));
        for (const [i, impl] of floorImpls.entries()) floors[i]!.push(await run({ ...common, impl }));
        for (const peer of peers) {
          if (peer.failed) continue;
          const outcome = await measurePeer(`${peer.impl} B13 ${mode} ${workers}w`, () => run({ ...common, impl: peer.impl }));
          if (outcome.ok) peer.values.push(outcome.value);
          else peer.failed = outcome;
        }
      }
      const [graphile, boss] = peers.map((p) => (p.failed ? { ok: false as const, ...p.failed } : { ok: true as const, values: p.values }));
      // Named queues make graphile-worker slow (about 150 jobs/s here): a smaller run, once, same rate measure.
      const serialTotal = Math.min(total, SERIAL_TOTAL);
      const serial = await measurePeer(`graphile-worker (queue per lane) B13 ${mode} ${workers}w`, () => run({ ...common, total: serialTotal, impl: 'graphile-lanes' }));
      const serialRate = serial.ok ? Math.round((serialTotal * 1000) / serial.value.ms) : undefined;
      const peerRates = [graphile, boss].map((p) => (p.ok ? p.values.map((v) => rate(v.ms)) : undefined));
      const best = Math.max(0, ...peerRates.filter((r): r is number[] => r !== undefined).map(median));
      const cell = (p: typeof graphile, r: number[] | undefined, format = medianCell) => (p.ok && r ? format(r) : failedCell(p as { error: string; attempts: number }));
      const ratio = (x: number) => (best > 0 ? `${(x / best).toFixed(2)}×` : '—');
      const serialRatio = serialRate ? `${(median(figures.seq) / serialRate).toFixed(2)}×` : '—';
      rows.push(
        `| ${mode === 'pre' ? 'pre-enqueued' : 'enqueued concurrently'} | ${workers} | ${medianCell(figures.ours)} |${base ? ` ${medianCell(figures.baseOurs)} |` : ''} ${medianOnly(figures.seq)} |${base ? ` ${medianOnly(figures.baseSeq)} |` : ''} ${cell(graphile, peerRates[0])} | ${cell(boss, peerRates[1], medianOnly)} | ${serial.ok ? String(serialRate) : failedCell(serial)} | ${ratio(median(figures.ours))} | ${serialRatio} |`,
      );
      console.error(rows.at(-1));
      if (mode === 'concurrent') {
        const costsOf = (p: typeof graphile) => (p.ok ? p.values.flatMap((v) => (v.cost ? [v.cost] : [])) : []);
        const ratesOf = (values: Array<{ ms: number }>) => values.map((v) => rate(v.ms));
        for (const [name, costs, rates] of [
          ['tinyagi (collect)', ourCosts, figures.ours],
          ...(base ? ([[`${base.label} (collect)`, baseCosts, figures.baseOurs]] as const) : []),
          ['graphile-worker', costsOf(graphile), peerRates[0] ?? []],
          ['pg-boss', costsOf(boss), peerRates[1] ?? []],
          ...floors.map((values, i) => [FLOOR_LABELS[floorImpls[i]!], values.flatMap((v) => (v.cost ? [v.cost] : [])), ratesOf(values)] as const),
        ] as const) {
          if (costs.length > 0) costRows.push(costRow(`${workers} | ${name}`, costs, total, rates));
        }
      }
    }
  }
  return `${rows.join('\n')}\n\n${COST_HEADING}\n\n${COST_HEADER}\n${costRows.join('\n')}`;
}

const COST_HEADING = '### What a job costs (enqueued concurrently; jobs/s, then per 1,000 jobs; medians of the runs)';
const COST_HEADER = [
  '| workers | impl | jobs/s | PostgreSQL CPU ms | worker processes CPU ms | producer CPU ms | WAL kB | WAL records | commits | handler calls |',
  '|---|---|---|---|---|---|---|---|---|---|',
].join('\n');

/** One row of the cost table: jobs/s, then each measure per 1,000 jobs, the median over the runs. */
function costRow(label: string, costs: RunCost[], total: number, rates: readonly number[]): string {
  const per = (f: (c: RunCost) => number | undefined, digits = 0) => {
    const xs = costs.map(f).filter((x): x is number => x !== undefined);
    return xs.length === 0 ? '—' : ((median(xs) * 1000) / total).toFixed(digits);
  };
  return `| ${label} | ${rates.length > 0 ? median([...rates]).toFixed(0) : '—'} | ${per((c) => c.pgCpuMs)} | ${per((c) => c.workerCpuMs)} | ${per((c) => c.producerCpuMs)} | ${per((c) => c.walBytes / 1000)} | ${per((c) => c.walRecords)} | ${per((c) => c.commits)} | ${per((c) => c.calls)} |`;
}

export async function benchB13Latency(run: PgRunner = runPgQueueConfig, options: B13Options = {}): Promise<string> {
  const runs = options.runs ?? 1;
  const base = options.baseline;
  const rows: string[] = ['| load | impl | jobs | p50 ms | p99 ms |', '|---|---|---|---|---|'];
  const cases = [
    // 1,000 jobs: p99 is then the tenth-worst pickup, not the second (200 gave p99s a third apart
    // from one run to the next). A job every 20 ms still meets an idle worker (pickup is a few ms).
    { label: 'idle (50 jobs/s)', total: 1000, producerRate: 50 },
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
    for (const [i, { name, impl }] of impls.entries()) {
      const r = results[i]!;
      const format = impl === 'pgboss' ? medianOnly : medianCell;
      rows.push(r.error ? `| ${c.label} | ${name} | ${r.error} | — | — |` : `| ${c.label} | ${name} | ${r.jobs} | ${format(r.p50, 2)} | ${format(r.p99, 2)} |`);
      console.error(rows.at(-1));
    }
  }
  return rows.join('\n');
}

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
import { migratePg, PgQueueStore } from '@tinyagi/core/pg';
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

async function setup(impl: PgImpl, url: string, schema: string): Promise<void> {
  if (impl === 'tinyagi') {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    await migratePg(pool, schema);
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

async function prefill(impl: PgImpl, url: string, schema: string, total: number, lanes: number): Promise<void> {
  const chunk = (i: number) => Array.from({ length: Math.min(1000, total - i) }, (_, k) => i + k);
  if (impl === 'tinyagi') {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const store = new PgQueueStore(pool, { schema });
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
    await setup(spec.impl, url, schema);
    if (spec.mode === 'pre') await prefill(spec.impl, url, schema, spec.total, spec.lanes);
    const base: Omit<PgConfig, 'role'> = { impl: spec.impl, url, schema, total: spec.total, lanes: spec.lanes, policy: spec.policy, latencyLog, producerRate: spec.producerRate };
    const fork1 = (role: PgConfig['role']) =>
      watchProcess(fork(WORKER, [JSON.stringify({ ...base, role })], { execArgv: ['--conditions=tinyagi-source'], stdio: ['inherit', 'inherit', 'pipe', 'ipc'] }));
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

export async function benchB13Throughput(total: number, run: PgRunner = runPgQueueConfig): Promise<string> {
  const rows: string[] = [
    '| mode | workers | tinyagi jobs/s (collect) | tinyagi jobs/s (sequential) | graphile-worker jobs/s | pg-boss jobs/s | graphile-worker, a queue per lane (serial) jobs/s | collect / best peer | sequential / serial graphile-worker |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const rate = (ms: number) => Math.round((total * 1000) / ms);
  for (const mode of ['pre', 'concurrent'] as const) {
    for (const workers of [1, 2, 4]) {
      const common = { mode, workers, total, lanes: 64 };
      const ours = rate((await run({ ...common, impl: 'tinyagi', policy: 'collect' })).ms);
      const seq = rate((await run({ ...common, impl: 'tinyagi', policy: 'sequential' })).ms);
      const graphile = await measurePeer(`graphile-worker B13 ${mode} ${workers}w`, () => run({ ...common, impl: 'graphile' }));
      const boss = await measurePeer(`pg-boss B13 ${mode} ${workers}w`, () => run({ ...common, impl: 'pgboss' }));
      // Named queues make graphile-worker slow (about 150 jobs/s here): a smaller run, same rate measure.
      const serialTotal = Math.min(total, SERIAL_TOTAL);
      const serial = await measurePeer(`graphile-worker (queue per lane) B13 ${mode} ${workers}w`, () => run({ ...common, total: serialTotal, impl: 'graphile-lanes' }));
      const serialRate = serial.ok ? Math.round((serialTotal * 1000) / serial.value.ms) : undefined;
      const peerRates = [graphile, boss].map((p) => (p.ok ? rate(p.value.ms) : undefined));
      const best = Math.max(0, ...peerRates.filter((r): r is number => r !== undefined));
      const cell = (p: typeof graphile, r: number | undefined) => (p.ok ? String(r) : failedCell(p));
      const ratio = (x: number) => (best > 0 ? `${(x / best).toFixed(2)}×` : '—');
      const serialRatio = serialRate ? `${(seq / serialRate).toFixed(2)}×` : '—';
      rows.push(
        `| ${mode === 'pre' ? 'pre-enqueued' : 'enqueued concurrently'} | ${workers} | ${ours} | ${seq} | ${cell(graphile, peerRates[0])} | ${cell(boss, peerRates[1])} | ${cell(serial, serialRate)} | ${ratio(ours)} | ${serialRatio} |`,
      );
      console.error(rows.at(-1));
    }
  }
  return rows.join('\n');
}

export async function benchB13Latency(run: PgRunner = runPgQueueConfig): Promise<string> {
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
  for (const c of cases) {
    for (const impl of ['tinyagi', 'graphile', 'pgboss'] as const) {
      const spec: PgRunSpec = { impl, workers: 1, total: c.total, mode: 'concurrent', lanes: 64, policy: 'collect', producerRate: c.producerRate, latency: true };
      const outcome = impl === 'tinyagi' ? { ok: true as const, value: await run(spec), attempts: 1 } : await measurePeer(`${impl} B13 latency ${c.label}`, () => run(spec));
      const label = `| ${c.label} | ${names[impl]} |`;
      rows.push(
        outcome.ok
          ? `${label} ${outcome.value.latencies.length} | ${percentile(outcome.value.latencies, 50).toFixed(2)} | ${percentile(outcome.value.latencies, 99).toFixed(2)} |`
          : `${label} ${failedCell(outcome)} | — | — |`,
      );
      console.error(rows.at(-1));
    }
  }
  return rows.join('\n');
}

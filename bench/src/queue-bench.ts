/**
 * B1 (throughput) and B2 (pickup latency): our queue and plainjob, same machine, same run,
 * same synchronous setting, workers in separate OS processes on one SQLite file.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { better, defineQueue } from 'plainjob';
import { openDatabase, SqliteQueueStore } from '@tinyagi/core';
import { percentile } from './machine.ts';

const WORKER = new URL('./b1-worker.ts', import.meta.url).pathname;
type Impl = 'tinyagi' | 'plainjob';

interface RunSpec {
  impl: Impl;
  sync: 'full' | 'normal';
  workers: number;
  total: number;
  mode: 'pre' | 'concurrent';
  lanes: number;
  policy?: 'collect' | 'sequential';
  pollMs?: number;
  producerRate?: number;
  latency?: boolean;
}

function prefill(impl: Impl, db: string, sync: 'full' | 'normal', total: number, lanes: number): void {
  if (impl === 'tinyagi') {
    const d = openDatabase({ path: db, durability: sync });
    const store = new SqliteQueueStore(d);
    for (let i = 0; i < total; i += 1000) {
      store.enqueueMany(Array.from({ length: Math.min(1000, total - i) }, (_, k) => ({ kind: 'job' as const, agentId: `lane-${(i + k) % lanes}`, conversationId: 'bench', channel: 'bench', content: JSON.stringify({ i: i + k, t: Date.now() }) })));
    }
    d.close();
  } else {
    const sqlite = new Database(db);
    const q = defineQueue({ connection: better(sqlite), logger: { error() {}, warn() {}, info() {}, debug() {} } });
    for (let i = 0; i < total; i += 1000) q.addMany('bench', Array.from({ length: Math.min(1000, total - i) }, (_, k) => ({ i: i + k, t: Date.now() })));
    q.close();
  }
}

/** Runs one configuration; returns elapsed ms and (with latency) the sorted latencies. */
export async function runQueueConfig(spec: RunSpec): Promise<{ ms: number; latencies: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-bench-'));
  const db = join(dir, 'bench.db');
  const latencyLog = spec.latency ? join(dir, 'lat.txt') : undefined;
  try {
    if (spec.impl === 'tinyagi') openDatabase({ path: db, durability: spec.sync }).close();
    else prefill(spec.impl, db, spec.sync, 0, 1);
    if (spec.mode === 'pre') prefill(spec.impl, db, spec.sync, spec.total, spec.lanes);
    const base = { impl: spec.impl, db, sync: spec.sync, total: spec.total, lanes: spec.lanes, policy: spec.policy, pollMs: spec.pollMs, latencyLog, producerRate: spec.producerRate };
    const procs = [
      ...Array.from({ length: spec.workers }, () => fork(WORKER, [JSON.stringify({ ...base, role: 'worker' })], { execArgv: ['--conditions=tinyagi-source'] })),
      ...(spec.mode === 'concurrent' ? [fork(WORKER, [JSON.stringify({ ...base, role: 'producer' })], { execArgv: ['--conditions=tinyagi-source'] })] : []),
    ];
    await Promise.all(procs.map((p) => new Promise<void>((resolve) => p.once('message', () => resolve()))));
    const exits = procs.map((p) => new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code))));
    const start = performance.now();
    for (const p of procs) p.send('go');
    const codes = await Promise.all(exits);
    const ms = performance.now() - start;
    if (codes.some((c) => c !== 0)) throw new Error(`a ${spec.impl} bench process failed: ${codes.join(',')}`);
    const latencies = latencyLog && existsSync(latencyLog)
      ? readFileSync(latencyLog, 'utf8').trim().split('\n').map(Number).sort((a, b) => a - b)
      : [];
    return { ms, latencies };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchB1(total: number): Promise<string> {
  const rows: string[] = [];
  rows.push('| sync | mode | workers | tinyagi jobs/s (collect) | tinyagi jobs/s (sequential) | plainjob jobs/s | collect / plainjob | sequential / plainjob |');
  rows.push('|---|---|---|---|---|---|---|---|');
  for (const sync of ['full', 'normal'] as const) {
    for (const mode of ['pre', 'concurrent'] as const) {
      for (const workers of [1, 2, 4]) {
        const common = { sync, mode, workers, total, lanes: 64 };
        const ours = await runQueueConfig({ ...common, impl: 'tinyagi', policy: 'collect' });
        const seq = await runQueueConfig({ ...common, impl: 'tinyagi', policy: 'sequential' });
        const peer = await runQueueConfig({ ...common, impl: 'plainjob', pollMs: 10 });
        const rate = (ms: number) => Math.round((total * 1000) / ms);
        rows.push(`| ${sync.toUpperCase()} | ${mode === 'pre' ? 'pre-enqueued' : 'enqueued concurrently'} | ${workers} | ${rate(ours.ms)} | ${rate(seq.ms)} | ${rate(peer.ms)} | ${(rate(ours.ms) / rate(peer.ms)).toFixed(2)}× | ${(rate(seq.ms) / rate(peer.ms)).toFixed(2)}× |`);
        console.error(rows[rows.length - 1]);
      }
    }
  }
  return rows.join('\n');
}

export async function benchB2(): Promise<string> {
  const rows: string[] = ['| load | impl | jobs | p50 ms | p99 ms |', '|---|---|---|---|---|'];
  const cases = [
    { label: 'idle (20 jobs/s)', total: 200, producerRate: 20 },
    { label: 'loaded (1,000 jobs/s)', total: 5000, producerRate: 1000 },
  ];
  for (const c of cases) {
    for (const impl of ['tinyagi', 'plainjob'] as const) {
      const r = await runQueueConfig({ impl, sync: 'full', workers: 1, total: c.total, mode: 'concurrent', lanes: 64, policy: 'collect', producerRate: c.producerRate, latency: true });
      rows.push(`| ${c.label} | ${impl}${impl === 'plainjob' ? ' (default 1 s poll)' : ''} | ${r.latencies.length} | ${percentile(r.latencies, 50).toFixed(2)} | ${percentile(r.latencies, 99).toFixed(2)} |`);
      console.error(rows[rows.length - 1]);
    }
  }
  return rows.join('\n');
}

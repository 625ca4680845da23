/**
 * B1 (throughput) and B2 (pickup latency): our queue and plainjob, same machine, same run,
 * same synchronous setting, workers in separate OS processes on one SQLite file.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { better, defineQueue } from 'plainjob';
import { openDatabase, SqliteQueueStore } from '@tinyagi/core/internal';
import { percentile } from './machine.ts';
import { failedCell, measurePeer } from './peer-cell.ts';

const WORKER = new URL('./b1-worker.ts', import.meta.url).pathname;
type Impl = 'tinyagi' | 'plainjob';

export interface RunSpec {
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
      store.enqueueMany(
        Array.from({ length: Math.min(1000, total - i) }, (_, k) => ({
          kind: 'job' as const,
          agentId: `lane-${(i + k) % lanes}`,
          conversationId: 'bench',
          channel: 'bench',
          content: JSON.stringify({ i: i + k, t: Date.now() }),
        })),
      );
    }
    d.close();
  } else {
    const sqlite = new Database(db);
    const q = defineQueue({ connection: better(sqlite), logger: { error() {}, warn() {}, info() {}, debug() {} } });
    for (let i = 0; i < total; i += 1000)
      q.addMany(
        'bench',
        Array.from({ length: Math.min(1000, total - i) }, (_, k) => ({ i: i + k, t: Date.now() })),
      );
    q.close();
  }
}

export interface BenchProcess {
  child: ChildProcess;
  /** The end of its stderr (a crash's error line is there). */
  stderr(): string;
}

function forkWorker(config: object): BenchProcess {
  return watchProcess(fork(WORKER, [JSON.stringify(config)], { execArgv: ['--conditions=tinyagi-source'], stdio: ['inherit', 'inherit', 'pipe', 'ipc'] }));
}

/** Passes a child's stderr through and keeps its end. */
export function watchProcess(child: ChildProcess): BenchProcess {
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  });
  return { child, stderr: () => tail };
}

/** The error line of a crashed process's stderr (e.g. `SqliteError: database is locked`). */
function crashLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /^\w*Error\b/.test(l)) ?? lines.at(-1) ?? 'no output';
}

/**
 * Resolves when every process exited 0. The first failure kills the others (a dead worker's
 * claimed jobs would keep the rest waiting forever) and rejects with its error line.
 */
/** The latencies (ms) the bench processes appended to `file`, sorted; none without a file. */
export function readLatencies(file: string | undefined): number[] {
  return file && existsSync(file)
    ? readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map(Number)
        .sort((a, b) => a - b)
    : [];
}

export function allSucceed(impl: string, procs: BenchProcess[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let running = procs.length;
    let failed = false;
    for (const p of procs) {
      p.child.once('exit', (code, signal) => {
        running--;
        if (!failed && code !== 0) {
          failed = true;
          for (const other of procs) if (other !== p) other.child.kill('SIGKILL');
          reject(new Error(`a ${impl} bench process failed (${code !== null ? `exit code ${code}` : `signal ${signal}`}): ${crashLine(p.stderr())}`));
        }
        if (running === 0 && !failed) resolve();
      });
    }
  });
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
    const procs = [...Array.from({ length: spec.workers }, () => forkWorker({ ...base, role: 'worker' })), ...(spec.mode === 'concurrent' ? [forkWorker({ ...base, role: 'producer' })] : [])];
    const finished = allSucceed(spec.impl, procs);
    const ready = Promise.all(procs.map((p) => new Promise<void>((resolve) => p.child.once('message', () => resolve()))));
    // A process that dies while starting up must not leave us waiting for its "ready".
    await Promise.race([ready, finished.then(() => Promise.reject(new Error(`the ${spec.impl} bench processes exited before starting`)))]);
    const start = performance.now();
    for (const p of procs) p.child.send('go');
    await finished;
    const ms = performance.now() - start;
    const latencies = readLatencies(latencyLog);
    return { ms, latencies };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type QueueRunner = (spec: RunSpec) => Promise<{ ms: number; latencies: number[] }>;

export async function benchB1(total: number, run: QueueRunner = runQueueConfig): Promise<string> {
  const rows: string[] = [];
  rows.push('| sync | mode | workers | tinyagi jobs/s (collect) | tinyagi jobs/s (sequential) | plainjob jobs/s | collect / plainjob | sequential / plainjob |');
  rows.push('|---|---|---|---|---|---|---|---|');
  for (const sync of ['full', 'normal'] as const) {
    for (const mode of ['pre', 'concurrent'] as const) {
      for (const workers of [1, 2, 4]) {
        const common = { sync, mode, workers, total, lanes: 64 };
        const ours = await run({ ...common, impl: 'tinyagi', policy: 'collect' });
        const seq = await run({ ...common, impl: 'tinyagi', policy: 'sequential' });
        const peer = await measurePeer(`plainjob B1 ${sync} ${mode} ${workers}w`, () => run({ ...common, impl: 'plainjob', pollMs: 10 }));
        const rate = (ms: number) => Math.round((total * 1000) / ms);
        const peerCells = peer.ok ? [rate(peer.value.ms), `${(rate(ours.ms) / rate(peer.value.ms)).toFixed(2)}×`, `${(rate(seq.ms) / rate(peer.value.ms)).toFixed(2)}×`] : [failedCell(peer), '—', '—'];
        rows.push(`| ${sync.toUpperCase()} | ${mode === 'pre' ? 'pre-enqueued' : 'enqueued concurrently'} | ${workers} | ${rate(ours.ms)} | ${rate(seq.ms)} | ${peerCells.join(' | ')} |`);
        console.error(rows[rows.length - 1]);
      }
    }
  }
  return rows.join('\n');
}

export async function benchB2(run: QueueRunner = runQueueConfig): Promise<string> {
  const rows: string[] = ['| load | impl | jobs | p50 ms | p99 ms |', '|---|---|---|---|---|'];
  const cases = [
    { label: 'idle (20 jobs/s)', total: 200, producerRate: 20 },
    { label: 'loaded (1,000 jobs/s)', total: 5000, producerRate: 1000 },
  ];
  for (const c of cases) {
    for (const impl of ['tinyagi', 'plainjob'] as const) {
      const spec: RunSpec = { impl, sync: 'full', workers: 1, total: c.total, mode: 'concurrent', lanes: 64, policy: 'collect', producerRate: c.producerRate, latency: true };
      const label = `| ${c.label} | ${impl}${impl === 'plainjob' ? ' (default 1 s poll)' : ''} |`;
      const outcome = impl === 'tinyagi' ? { ok: true as const, value: await run(spec), attempts: 1 } : await measurePeer(`plainjob B2 ${c.label}`, () => run(spec));
      rows.push(
        outcome.ok
          ? `${label} ${outcome.value.latencies.length} | ${percentile(outcome.value.latencies, 50).toFixed(2)} | ${percentile(outcome.value.latencies, 99).toFixed(2)} |`
          : `${label} ${failedCell(outcome)} | — | — |`,
      );
      console.error(rows[rows.length - 1]);
    }
  }
  return rows.join('\n');
}

/**
 * One B1/B2 worker or producer process. argv[2] is JSON:
 * { impl: 'tinyagi'|'plainjob', role: 'worker'|'producer', db, sync: 'full'|'normal',
 *   total, lanes, policy?, pollMs?, latencyLog? }
 * Workers exit when `total` jobs are done. With `latencyLog`, the handler records
 * (now - enqueuedAt) for each job, the enqueue time being in the job payload.
 */
import { appendFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { better, defineQueue, defineWorker, JobStatus } from 'plainjob';
import { QueueWorker } from '@tinyagi/core';
import { openDatabase, SqliteQueueStore } from '@tinyagi/core/internal';

interface Config {
  impl: 'tinyagi' | 'plainjob';
  role: 'worker' | 'producer';
  db: string;
  sync: 'full' | 'normal';
  total: number;
  lanes: number;
  policy?: 'collect' | 'sequential';
  pollMs?: number;
  latencyLog?: string;
  producerRate?: number;
}

const cfg = JSON.parse(process.argv[2]!) as Config;
const latencies: number[] = [];
const record = (enqueuedAt: number) => {
  if (cfg.latencyLog) latencies.push(performance.timeOrigin + performance.now() - enqueuedAt);
};
const flushLatencies = () => {
  if (cfg.latencyLog && latencies.length) appendFileSync(cfg.latencyLog, latencies.map((l) => l.toFixed(3)).join('\n') + '\n');
};
const now = () => performance.timeOrigin + performance.now();

async function waitGo(): Promise<void> {
  process.send?.('ready');
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
}

async function produce(add: (batch: number[]) => void): Promise<void> {
  // Small batches, yielding in between, like many channels writing at once.
  const rate = cfg.producerRate;
  const start = now();
  for (let i = 0; i < cfg.total; i += rate ? 1 : 100) {
    const n = rate ? 1 : Math.min(100, cfg.total - i);
    add(Array.from({ length: n }, (_, k) => i + k));
    if (rate) {
      const due = start + ((i + 1) * 1000) / rate;
      const wait = due - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    } else await new Promise((r) => setImmediate(r));
  }
}

if (cfg.impl === 'tinyagi') {
  const db = openDatabase({ path: cfg.db, durability: cfg.sync });
  const store = new SqliteQueueStore(db);
  if (cfg.role === 'producer') {
    await waitGo();
    await produce((ids) =>
      store.enqueueMany(ids.map((i) => ({ kind: 'job' as const, agentId: `lane-${i % cfg.lanes}`, conversationId: 'bench', channel: 'bench', content: JSON.stringify({ i, t: now() }) }))),
    );
    db.close();
    process.exit(0);
  }
  const worker = new QueueWorker({
    store,
    concurrency: 8,
    sweepMs: 5,
    leaseMs: 60_000,
    policy: () => cfg.policy ?? 'collect',
    handler: async (batch) => {
      if (cfg.latencyLog) for (const m of batch.messages) record((JSON.parse(m.content) as { t: number }).t);
    },
  });
  await waitGo();
  worker.start();
  const done = db.sqlite.prepare("SELECT COUNT(*) FROM messages WHERE status = 'completed'").pluck();
  await new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if ((done.get() as number) >= cfg.total) {
        clearInterval(t);
        resolve();
      }
    }, 20);
  });
  await worker.stop();
  flushLatencies();
  db.close();
  process.exit(0);
} else {
  const sqlite = new Database(cfg.db);
  const queue = defineQueue({ connection: better(sqlite), logger: silentLogger() });
  // plainjob forces synchronous=NORMAL in defineQueue; set the mode under test afterwards.
  sqlite.pragma(`synchronous = ${cfg.sync === 'full' ? 'FULL' : 'NORMAL'}`);
  if (cfg.role === 'producer') {
    await waitGo();
    await produce((ids) => {
      if (ids.length === 1) queue.add('bench', { i: ids[0], t: now() });
      else
        queue.addMany(
          'bench',
          ids.map((i) => ({ i, t: now() })),
        );
    });
    queue.close();
    process.exit(0);
  }
  const worker = defineWorker(
    'bench',
    async (job) => {
      if (cfg.latencyLog) record((JSON.parse(job.data) as { t: number }).t);
    },
    { queue, logger: silentLogger(), ...(cfg.pollMs !== undefined ? { pollIntervall: cfg.pollMs } : {}) },
  );
  await waitGo();
  void worker.start();
  await new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (queue.countJobs({ status: JobStatus.Done }) >= cfg.total) {
        clearInterval(t);
        resolve();
      }
    }, 20);
  });
  await worker.stop();
  flushLatencies();
  queue.close();
  process.exit(0);
}

function silentLogger() {
  const noop = () => {};
  return { error: noop, warn: noop, info: noop, debug: noop };
}

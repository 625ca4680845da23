/**
 * One B1/B2-on-PostgreSQL worker or producer process (B13). argv[2] is JSON (PgConfig).
 * Implementations: our PgQueueStore + QueueWorker, graphile-worker, pg-boss; each in its own
 * schema of the same database. Workers report how many jobs they handled to the parent over IPC;
 * the parent says `stop` once all jobs were handled, and each worker stops gracefully (its
 * in-flight completions commit) and exits. Producers exit when they have enqueued `total`.
 */
import { appendFileSync } from 'node:fs';
import { QueueWorker } from '@tinyagi/core';
import { PgQueueStore } from '@tinyagi/core/pg';
import { Logger as GraphileLogger, makeWorkerUtils, run as runGraphile } from 'graphile-worker';
import pg from 'pg';
import { PgBoss } from 'pg-boss';

/**
 * `graphile-lanes`: graphile-worker with one named queue per lane (jobs of a lane run one at a time, in order).
 * `floor-record` and `floor-lock`: the simplest claims over our own tables, no lanes (B13's floors): see `runFloorWorker`.
 */
export type PgImpl = 'tinyagi' | 'graphile' | 'graphile-lanes' | 'pgboss' | 'floor-record' | 'floor-lock';

export interface PgConfig {
  impl: PgImpl;
  role: 'worker' | 'producer';
  url: string;
  schema: string;
  total: number;
  lanes: number;
  policy?: 'collect' | 'sequential';
  latencyLog?: string;
  producerRate?: number;
  /**
   * Workers start at `go` (jobs wait already: none is handled before the clock starts) rather
   * than before `ready` (warm, listening, when the producer starts at `go`). The same for every
   * implementation.
   */
  startAtGo?: boolean;
}

const cfg = JSON.parse(process.argv[2]!) as PgConfig;
const now = () => performance.timeOrigin + performance.now();
const latencies: number[] = [];
let handled = 0;
/** Handler calls (ours: a batch each; pg-boss: a fetched batch each; graphile-worker: a job each). */
let calls = 0;
/** CPU time at "go": the cost table counts from there (not the process's start and imports). */
let cpuAtGo: NodeJS.CpuUsage | undefined;

export interface CostReport {
  cost: { role: PgConfig['role']; cpuMs: number; calls: number };
}

/** Tells the parent this process's CPU time and handler calls (B13's cost table), then exits. */
async function exitReporting(): Promise<never> {
  const cpu = process.cpuUsage(cpuAtGo);
  const report: CostReport = { cost: { role: cfg.role, cpuMs: (cpu.user + cpu.system) / 1000, calls } };
  await new Promise<void>((resolve) => (process.send ? process.send(report, () => resolve()) : resolve()));
  process.exit(0);
}
const handle = (payload: { t: number }) => {
  handled++;
  if (cfg.latencyLog) latencies.push(now() - payload.t);
};
const flushLatencies = () => {
  if (cfg.latencyLog && latencies.length) appendFileSync(cfg.latencyLog, `${latencies.map((l) => l.toFixed(3)).join('\n')}\n`);
};

async function waitGo(): Promise<void> {
  process.send?.('ready');
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  cpuAtGo = process.cpuUsage();
}

/** Reports the handled count every 10 ms until the parent says stop; resolves then. */
function untilStop(): Promise<void> {
  const report = setInterval(() => process.send?.({ handled }), 10);
  return new Promise<void>((resolve) =>
    process.on('message', (m) => {
      if (m === 'stop') {
        clearInterval(report);
        resolve();
      }
    }),
  );
}

async function produce(add: (batch: number[]) => Promise<unknown>): Promise<void> {
  const rate = cfg.producerRate;
  const start = now();
  for (let i = 0; i < cfg.total; i += rate ? 1 : 100) {
    const n = rate ? 1 : Math.min(100, cfg.total - i);
    await add(Array.from({ length: n }, (_, k) => i + k));
    if (rate) {
      const wait = start + ((i + 1) * 1000) / rate - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
}

const job = (i: number) => ({ i, t: now() });

if (cfg.impl === 'tinyagi' || cfg.impl === 'floor-record' || cfg.impl === 'floor-lock') {
  const pool = new pg.Pool({ connectionString: cfg.url, max: 10 });
  const store = new PgQueueStore(pool, { schema: cfg.schema });
  if (process.env.B13_TRACE) traceStore(pool, store);
  const toInput = (i: number) => ({ kind: 'job' as const, agentId: `lane-${i % cfg.lanes}`, conversationId: 'bench', channel: 'bench', content: JSON.stringify(job(i)) });
  if (cfg.role === 'producer') {
    // Connected before go, as graphile-worker's producer (makeWorkerUtils) and pg-boss's (start) are.
    await pool.query('SELECT 1');
    await waitGo();
    await produce((ids) => store.enqueueMany(ids.map(toInput)));
  } else if (cfg.impl !== 'tinyagi') {
    await runFloorWorker(pool, store.hub.channel, cfg.impl === 'floor-lock');
  } else {
    const worker = new QueueWorker({
      store,
      concurrency: 8,
      leaseMs: 60_000,
      policy: () => cfg.policy ?? 'collect',
      handler: async (batch) => {
        calls++;
        for (const m of batch.messages) handle(JSON.parse(m.content) as { t: number });
      },
    });
    // Ready: listening, its connections readied, its first claim made (as graphile-worker's `run` resolves once started).
    if (!cfg.startAtGo) await worker.start();
    await waitGo();
    if (cfg.startAtGo) void worker.start();
    await untilStop();
    await worker.stop();
    flushLatencies();
  }
  await store.close();
  await pool.end();
  await exitReporting();
} else if (cfg.impl === 'graphile' || cfg.impl === 'graphile-lanes') {
  const queueName = (i: number) => (cfg.impl === 'graphile-lanes' ? { queueName: `lane-${i % cfg.lanes}` } : {});
  if (cfg.role === 'producer') {
    const utils = await makeWorkerUtils({ connectionString: cfg.url, schema: cfg.schema });
    await waitGo();
    await produce((ids) => (ids.length === 1 ? utils.addJob('bench', job(ids[0]!), queueName(ids[0]!)) : utils.addJobs(ids.map((i) => ({ identifier: 'bench', payload: job(i), ...queueName(i) })))));
    await utils.release();
  } else {
    if (cfg.startAtGo) await waitGo();
    const runner = await runGraphile({
      connectionString: cfg.url,
      schema: cfg.schema,
      concurrency: 8,
      noHandleSignals: true,
      pollInterval: 2000,
      logger: silentGraphileLogger(),
      // Its documented batching for throughput: a local queue of locked jobs, completions batched per tick.
      preset: { worker: { localQueue: { size: 50 }, completeJobBatchDelay: 0 } },
      taskList: {
        bench: async (payload) => {
          calls++;
          handle(payload as { t: number });
        },
      },
    });
    if (!cfg.startAtGo) await waitGo();
    await untilStop();
    await runner.stop();
    flushLatencies();
  }
  await exitReporting();
} else {
  const boss = new PgBoss({ connectionString: cfg.url, schema: cfg.schema, useListenNotify: true, supervise: false, migrate: false, createSchema: false, max: 10 });
  boss.on('error', () => {});
  boss.on('warning', () => {});
  await boss.start();
  if (cfg.role === 'producer') {
    await waitGo();
    await produce((ids) =>
      ids.length === 1
        ? boss.send('bench', job(ids[0]!))
        : boss.insert(
            'bench',
            ids.map((i) => ({ data: job(i) })),
          ),
    );
  } else {
    if (cfg.startAtGo) await waitGo();
    await boss.work<{ t: number }>('bench', { batchSize: 50, localConcurrency: 8, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true }, async (jobs) => {
      calls++;
      for (const j of jobs) handle(j.data);
    });
    if (!cfg.startAtGo) await waitGo();
    await untilStop();
    flushLatencies();
  }
  await boss.stop({ graceful: true, close: true });
  await exitReporting();
}

/**
 * A floor of what a job costs on our tables: the messages our producer wrote, claimed 50 at a
 * time by one loop per process in seq order (`FOR UPDATE SKIP LOCKED`; as graphile-worker's local
 * queue fetches for its 8 slots, and the handler here is a no-op), with no lanes (no per-agent
 * order, no busy check), no leases renewed, no failures handled; woken by the queue's NOTIFY.
 * `floor-record` writes a message three times as ours does (processing, then completed, each
 * its own commit); `floor-lock` twice, holding the row locks of its claim in an open transaction
 * while it handles them and completing in that transaction (a lease that is the connection).
 */
async function runFloorWorker(pool: pg.Pool, channel: string, holdLocks: boolean): Promise<void> {
  const t = `${JSON.stringify(cfg.schema)}.messages`;
  const listener = await pool.connect();
  // An idle loop waits for a notification (or 2 s, graphile-worker's poll here).
  const idlers = new Set<() => void>();
  const wakeAll = () => {
    for (const resolve of idlers) resolve();
    idlers.clear();
  };
  listener.on('notification', wakeAll);
  await listener.query(`LISTEN ${JSON.stringify(channel)}`);
  let stopping = false;
  const idle = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      idlers.add(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  const handleRows = (rows: Array<{ content: string }>) => {
    calls++;
    for (const r of rows) handle(JSON.parse(r.content) as { t: number });
  };
  const owner = `floor-${process.pid}`;
  const loop = async () => {
    while (!stopping) {
      if (holdLocks) {
        const c = await pool.connect();
        try {
          await c.query('BEGIN');
          const { rows } = await c.query<{ id: string; content: string }>(`SELECT id, content FROM ${t} WHERE status = 'pending' ORDER BY seq LIMIT 50 FOR UPDATE SKIP LOCKED`);
          if (rows.length > 0) {
            handleRows(rows);
            await c.query(`UPDATE ${t} SET status = 'completed', attempts = attempts + 1, finished_at = $2, updated_at = $2 WHERE id = ANY($1::text[])`, [rows.map((r) => r.id), Date.now()]);
          }
          await c.query('COMMIT');
          if (rows.length === 0) await idle();
        } finally {
          c.release();
        }
        continue;
      }
      const now = Date.now();
      const { rows } = await pool.query<{ id: string; content: string }>(
        `UPDATE ${t} m SET status = 'processing', lease_owner = $1, lease_expires_at = $2, attempts = m.attempts + 1, updated_at = $3
         WHERE m.id IN (SELECT x.id FROM ${t} x WHERE x.status = 'pending' ORDER BY x.seq LIMIT 50 FOR UPDATE SKIP LOCKED) RETURNING m.id, m.content`,
        [owner, now + 60_000, now],
      );
      if (rows.length === 0) {
        await idle();
        continue;
      }
      handleRows(rows);
      await pool.query(
        `UPDATE ${t} SET status = 'completed', lease_owner = NULL, lease_expires_at = NULL, finished_at = $2, updated_at = $2 WHERE id = ANY($1::text[]) AND status = 'processing' AND lease_owner = $3`,
        [rows.map((r) => r.id), Date.now(), owner],
      );
    }
  };
  await waitGo();
  const loops = loop();
  await untilStop();
  stopping = true;
  wakeAll();
  await loops;
  listener.release();
  flushLatencies();
}

function silentGraphileLogger() {
  // graphile-worker's Logger: a factory of scoped log functions.
  return new GraphileLogger(() => () => {});
}

/** B13_TRACE=1: each of our worker processes prints, at exit, its statements by kind and its claims' and completions' sizes (stderr). */
function traceStore(pool: pg.Pool, store: PgQueueStore): void {
  const statements = new Map<string, number>();
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const first = args[0] as string | { text: string };
    const text = (typeof first === 'string' ? first : first.text).replace(/\s+/g, ' ').slice(0, 60);
    statements.set(text, (statements.get(text) ?? 0) + 1);
    return query(...args);
  };
  const stats = { claims: 0, empty: 0, batches: 0, messages: 0, commits: 0, completed: 0 };
  const claim = store.claim.bind(store);
  store.claim = async (options) => {
    const batches = await claim(options);
    stats.claims++;
    if (batches.length === 0) stats.empty++;
    stats.batches += batches.length;
    stats.messages += batches.reduce((n, b) => n + b.messages.length, 0);
    return batches;
  };
  const completeMany = store.completeMany.bind(store);
  store.completeMany = (items) => {
    stats.commits++;
    stats.completed += items.length;
    return completeMany(items);
  };
  process.on('exit', () => process.stderr.write(`trace ${cfg.role} ${JSON.stringify(stats)} ${JSON.stringify([...statements])}\n`));
}

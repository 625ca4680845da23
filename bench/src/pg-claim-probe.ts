/**
 * In-process timing of the PostgreSQL queue's claim and completion (docs/storage.md, "Measured"):
 * one claimer takes 20,000 pre-enqueued jobs over 64 agents, 8 agents per claim, and completes
 * each claim's batches in one call; prints the median claim and completion times and, when the
 * server tracks PL/pgSQL functions (run with PGOPTIONS='-c track_functions=pl'), each claim
 * function's calls and time.
 *
 *   node --conditions=tinyagi-source bench/src/pg-claim-probe.ts [checkout dir] [collect|sequential]
 *
 * The checkout (default this one) is where the queue comes from: give another commit's checkout
 * to compare before/after on the same database, alternating.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as CorePg from '@tinyagi/core/pg';
import pg from 'pg';
import { BENCH_DATABASE_URL, percentile } from './machine.ts';

const root = process.argv[2] ?? join(import.meta.dirname, '../..');
const policy = (process.argv[3] ?? 'sequential') as 'collect' | 'sequential';
const core = (await import(pathToFileURL(join(root, 'packages/core/src/pg.ts')).href)) as typeof CorePg;
const pool = new pg.Pool({ connectionString: BENCH_DATABASE_URL, max: 4 });
const schema = `bench_probe_${process.pid}`;
await core.migratePg(pool, schema);
const store = new core.PgQueueStore(pool, { schema });
const total = 20_000;
for (let i = 0; i < total; i += 1000) {
  await store.enqueueMany(Array.from({ length: 1000 }, (_, k) => ({ kind: 'job' as const, agentId: `lane-${(i + k) % 64}`, conversationId: 'bench', channel: 'bench', content: 'x' })));
}
const claims: number[] = [];
const completes: number[] = [];
let done = 0;
const t0 = performance.now();
while (done < total) {
  let t = performance.now();
  const batches = await store.claim({ owner: 'probe', leaseMs: 60_000, maxAgents: 8, policy: () => policy });
  claims.push(performance.now() - t);
  t = performance.now();
  await store.completeMany(batches.map((b) => ({ owner: 'probe', ids: b.messages.map((m) => m.id) })));
  completes.push(performance.now() - t);
  done += batches.reduce((n, b) => n + b.messages.length, 0);
}
const wall = performance.now() - t0;
const med = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  ).toFixed(2);
console.log(`${root} ${policy}: ${claims.length} claims, claim median ${med(claims)} ms, completion median ${med(completes)} ms, ${Math.round((total * 1000) / wall)} jobs/s`);
// Function statistics reach the view when the backends report them (within a second when idle).
await new Promise((resolve) => setTimeout(resolve, 1500));
const fns = await pool.query('SELECT funcname, calls, total_time, self_time FROM pg_stat_user_functions WHERE schemaname = $1 ORDER BY funcname', [schema]);
for (const f of fns.rows) console.log(`  ${f.funcname}: ${f.calls} calls, ${(f.total_time / f.calls).toFixed(2)} ms per call (${(f.self_time / f.calls).toFixed(2)} ms its own)`);
await store.close();
await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
await pool.end();

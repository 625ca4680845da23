/**
 * `pnpm --filter @tinyagi/bench run compare`: a shorter run of the same benchmark code (B1 with
 * COMPARE_JOBS jobs at synchronous FULL, B2 pickup latency, B3, B4, B5 at 1,000 and 10,000) printed to stdout, for
 * before/after comparisons of a change. Copy this file into a worktree of the older commit and
 * run it there too, on the same idle machine (docs/profiling.md). Writes no docs.
 */
import { readFileSync } from 'node:fs';
import { percentile } from './machine.ts';
import { runQueueConfig } from './queue-bench.ts';
import { benchB3, benchB4, benchB5 } from './teams-bench.ts';

/**
 * CPU seconds of this process and its reaped children (the B1 worker and producer processes):
 * utime + stime + cutime + cstime of /proc/self/stat at 100 ticks per second. On a machine other
 * work shares, CPU time varies far less than wall time, so each section prints both.
 */
function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
}
let cpuMark = cpuSeconds();
function cpuSince(label: string): void {
  const now = cpuSeconds();
  console.log(`  cpu ${label}: ${(now - cpuMark).toFixed(2)} s`);
  cpuMark = now;
}

const jobs = Number(process.env.COMPARE_JOBS ?? 8000);
// COMPARE_ONLY=B1 stops after B1 (the section a storage change touches first; the rest takes minutes).
const only = process.env.COMPARE_ONLY;
const workers = (process.env.COMPARE_WORKERS ?? '1,2').split(',').map(Number);
console.log(`B1, FULL, ${jobs} pre-enqueued jobs over 64 lanes (jobs/s)`);
// COMPARE_PLAINJOB=0 leaves the peer out (its code does not change between commits; on a loaded
// machine its two-process run can die of SQLITE_BUSY, which ended the whole comparison).
const impls = process.env.COMPARE_PLAINJOB === '0' ? (['sequential', 'collect'] as const) : (['sequential', 'collect', 'plainjob'] as const);
for (const impl of impls) {
  for (const w of workers) {
    const r = await runQueueConfig({
      impl: impl === 'plainjob' ? 'plainjob' : 'tinyagi',
      ...(impl === 'plainjob' ? { pollMs: 10 } : { policy: impl }),
      sync: 'full',
      mode: 'pre',
      workers: w,
      total: jobs,
      lanes: 64,
    });
    console.log(`  ${impl}, ${w} worker process${w === 1 ? '' : 'es'}: ${Math.round((jobs * 1000) / r.ms)}`);
    cpuSince(`B1 ${impl} ${w}w`);
  }
}
if (only === 'B1') process.exit(0);
console.log('B2, FULL, enqueue -> handler start, 1 worker process, separate producer (ms p50 / p99)');
for (const c of [
  { label: 'idle (20 jobs/s)', total: 200, producerRate: 20 },
  { label: 'loaded (1,000 jobs/s)', total: 5000, producerRate: 1000 },
]) {
  const r = await runQueueConfig({ impl: 'tinyagi', sync: 'full', workers: 1, total: c.total, mode: 'concurrent', lanes: 64, policy: 'collect', producerRate: c.producerRate, latency: true });
  console.log(`  ${c.label}: ${percentile(r.latencies, 50).toFixed(2)} / ${percentile(r.latencies, 99).toFixed(2)}`);
  cpuSince(`B2 ${c.label.split(' ')[0]}`);
}
console.log(await benchB3());
cpuSince('B3');
console.log(await benchB4());
cpuSince('B4');
console.log(await benchB5([1000, 10000]));
cpuSince('B5');

/**
 * `pnpm bench`: runs the benchmarks and rewrites docs/benchmarks.md. Select with
 * BENCH=B1,B2,… (default: all); B1_TOTAL sets the job count (default 32000), B5_SIZES the
 * in-flight run counts (default 100,1000,10000).
 */
import { writeFileSync } from 'node:fs';
import { machineLine } from './machine.ts';
import { benchB1, benchB2 } from './queue-bench.ts';
import { benchB3, benchB4, benchB5 } from './teams-bench.ts';
import { benchB6, benchB7 } from './server-bench.ts';
import { benchB8 } from './client-bench.ts';
import { benchB9 } from './channel-bench.ts';

const selected = new Set((process.env.BENCH ?? 'B1,B2,B3,B4,B5,B6,B7,B8,B9').split(',').map((s) => s.trim().toUpperCase()));
const b5Sizes = (process.env.B5_SIZES ?? '100,1000,10000').split(',').map(Number);
const total = Number(process.env.B1_TOTAL ?? 32_000);
const sections: string[] = [];
const started = new Date().toISOString();

if (selected.has('B1')) {
  sections.push(`## B1 — queue throughput, ${total.toLocaleString('en')} no-op jobs\n\nDurable enqueue + claim + complete, all workers in separate OS processes on one SQLite file, jobs spread over 64 agents (lanes), each worker process running 8 batches at a time. plainjob is polled every 10 ms here (its default is 1 s) so its throughput is not limited by idle sleeps; its own \`synchronous=NORMAL\` is overridden to the mode under test. "collect" is our default busy policy (all pending messages of an agent claimed in one transaction); "sequential" claims one message per agent per transaction.\n\n${await benchB1(total)}`);
}
if (selected.has('B2')) {
  sections.push(`## B2 — enqueue → handler start latency (synchronous FULL, 1 worker process, separate producer process)\n\nOur worker is woken by its sweep in this cross-process setup (sweep_ms = 5); inside the daemon, API enqueues wake the worker directly.\n\n${await benchB2()}`);
}

if (selected.has('B3')) {
  sections.push(`## B3 — orchestration overhead per run (mock provider at zero latency, synchronous FULL)\n\nThe full orchestrator: claim, compose the system prompt, invoke, parse tags, guards, enqueue follow-ups + replies + run records in the completion transaction. No peer runs this workload (the reference has no conversation tracking to compare with).\n\n${await benchB3()}`);
}
if (selected.has('B4')) {
  sections.push(`## B4 — sub-agent admission and a recursive tree\n\n${await benchB4()}`);
}
if (selected.has('B5')) {
  sections.push(`## B5 — concurrency (mock provider with 1 s latency, one agent per run, concurrency = N)\n\nTinyAgents (Rust) publishes 10,000 concurrent agents at 8,500 tasks/s on 16 vCPUs; this machine has 2 cores and every run here is durable (queue row, run record, events, outbox row, synchronous FULL). Ideal wall time is 1 s (the mock latency). Submits arrive 50 per event-loop task, like a burst of API requests; every run is a distinct agent, so the wall time includes provisioning N new workspaces.\n\n${await benchB5(b5Sizes)}`);
}
if (selected.has('B6')) {
  sections.push(`## B6 — SSE fan-out (1,000 subscribers in a separate client process, 50 events 20 ms apart)\n\n${await benchB6(1000, 50)}`);
}
if (selected.has('B7')) {
  sections.push(`## B7 — REST throughput vs a bare Fastify route (same process, same run; load generator in a separate process)\n\n${await benchB7(5, 32)}`);
}
if (selected.has('B8')) {
  sections.push(`## B8 — browser bundle of the client (esbuild, platform=browser, minified; gzip -9)\n\nThe client entry loads no zod at run time (the contract's types are erased; a zod-free route table checked against the contract by the compiler remains), so a page that only talks to the daemon pays for the client alone. The contract entry is for pages that validate forms with the same schemas.\n\n${await benchB8()}`);
}
if (selected.has('B9')) {
  sections.push(`## B9 — channel delivery: outbox row → Telegram (local fake Bot API, real server, real channel host, grammY)\n\n${await benchB9()}`);
}

const doc = `# Benchmarks

Command: \`${process.env.BENCH ? `BENCH=${process.env.BENCH} ` : ''}pnpm bench\` — started ${started}.
Machine: ${machineLine()}.
Benchmarks measure; no test asserts a time. Peers run in the same process tree, same run, same settings.
A peer that fails is retried up to 3 times and then reported in its cell with its error; the run goes on. A failure of ours ends the run.
Run it on an otherwise idle machine: on 2 cores, anything else running (a test suite, a build) halves some figures.
Hot paths found by profiling these benchmarks, and the figures before and after each fix: [profiling.md](profiling.md).

${sections.join('\n\n')}
`;
writeFileSync(new URL('../../docs/benchmarks.md', import.meta.url), doc);
console.log(doc);

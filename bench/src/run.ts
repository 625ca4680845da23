/**
 * `pnpm bench`: runs the benchmarks and rewrites docs/benchmarks.md. Select with
 * BENCH=B1,B2 (default: all available); B1_TOTAL sets the job count (default 32000).
 */
import { writeFileSync } from 'node:fs';
import { machineLine } from './machine.ts';
import { benchB1, benchB2 } from './queue-bench.ts';

const selected = new Set((process.env.BENCH ?? 'B1,B2').split(',').map((s) => s.trim().toUpperCase()));
const total = Number(process.env.B1_TOTAL ?? 32_000);
const sections: string[] = [];
const started = new Date().toISOString();

if (selected.has('B1')) {
  sections.push(`## B1 — queue throughput, ${total.toLocaleString('en')} no-op jobs\n\nDurable enqueue + claim + complete, all workers in separate OS processes on one SQLite file, jobs spread over 64 agents (lanes). plainjob is polled every 10 ms here (its default is 1 s) so its throughput is not limited by idle sleeps; its own \`synchronous=NORMAL\` is overridden to the mode under test. "collect" is our default busy policy (all pending messages of an agent claimed in one transaction); "sequential" claims one message per agent per transaction.\n\n${await benchB1(total)}`);
}
if (selected.has('B2')) {
  sections.push(`## B2 — enqueue → handler start latency (synchronous FULL, 1 worker process, separate producer process)\n\nOur worker is woken by its sweep in this cross-process setup (sweep_ms = 5); inside the daemon, API enqueues wake the worker directly.\n\n${await benchB2()}`);
}

const doc = `# Benchmarks

Command: \`${process.env.BENCH ? `BENCH=${process.env.BENCH} ` : ''}pnpm bench\` — started ${started}.
Machine: ${machineLine()}.
Benchmarks measure; no test asserts a time. Peers run in the same process tree, same run, same settings.

${sections.join('\n\n')}
`;
writeFileSync(new URL('../../docs/benchmarks.md', import.meta.url), doc);
console.log(doc);

/**
 * The statements a run sends to PostgreSQL, by kind (docs/storage.md's list per run): B5's nodes
 * (b5-node.ts) with `PG_RUNS` runs in flight (default 1,000) on `PG_NODES` nodes (default 1),
 * counted by pg-statements.ts from the `go` to the stop, divided by the runs.
 *
 *   node --conditions=tinyagi-source bench/src/pg-run-statements.ts
 */
import { BENCH_DATABASE_URL } from './machine.ts';
import { roundTrips, statementTable, totalStatements } from './pg-statements.ts';
import { b5PgNodes } from './teams-bench.ts';

const runs = Number(process.env.PG_RUNS ?? 1000);
const nodes = Number(process.env.PG_NODES ?? 1);
const r = await b5PgNodes(runs, BENCH_DATABASE_URL, nodes);
const statements = r.statements ?? {};
console.log(statementTable(statements, runs, Number(process.env.PG_MIN_PER_RUN ?? 0.05)));
console.log(
  `\n${runs} runs on ${nodes} node(s): ${(totalStatements(statements) / runs).toFixed(2)} statements and ${(roundTrips(statements) / runs).toFixed(2)} round trips per run, ${((runs * 1000) / r.ms).toFixed(0)} runs/s, nodes' CPU ${(r.cpuMs / runs).toFixed(2)} ms per run, server's ${r.serverCpuMs === undefined ? '?' : (r.serverCpuMs / runs).toFixed(2)} ms per run`,
);

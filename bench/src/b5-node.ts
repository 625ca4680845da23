/**
 * One node of B5 on PostgreSQL (teams-bench.ts, `benchB5`): its own `openPgStores` and
 * `Orchestrator` on the shared schema, as `tinyagi worker` runs one (packages/cli/src/daemon/worker.ts),
 * with its own workspace directory. argv[2] is JSON (B5NodeConfig).
 *
 * Protocol over IPC: the node says `ready` once its orchestrator runs; on `go` the API node (role
 * `api`) submits the N runs, 50 per event-loop task like a burst of API requests, and watches
 * `conversation.completed` on the event log (every node's events reach it); when all N completed
 * it reports `{ done, ms, latencies }`. On `stop` every node reports its CPU (user+sys since
 * `go`), peak RSS growth, event-loop lag p99 and the statements it sent to PostgreSQL since `go`
 * (pg-statements.ts), then stops its orchestrator and exits. The node is named like a
 * `tinyagi worker` (`node`), so sessions and steering take the several-nodes paths.
 */
import { invokeAgent, type Settings } from '@tinyagi/core';
import { openPgStores } from '@tinyagi/core/pg';
import { Orchestrator } from '@tinyagi/teams';
import { countStatements, takeStatementCounts } from './pg-statements.ts';
import { b5Settings, type B5NodeReport, processProbe, submitBurst, trackCompletions } from './teams-bench.ts';

export interface B5NodeConfig {
  url: string;
  schema: string;
  n: number;
  name: string;
  role: 'api' | 'worker';
  /** Its agents' workspaces (created here, removed by the bench: teams-bench.ts `b5WorkspaceRoot`). */
  workspace: string;
}

const cfg = JSON.parse(process.argv[2]!) as B5NodeConfig;
countStatements();
const settings: Settings = b5Settings(cfg.n, cfg.workspace);
const stores = await openPgStores({ url: cfg.url, schema: cfg.schema, migrate: false });
let runs = 0;
const orchestrator = new Orchestrator({
  stores,
  owner: cfg.name,
  node: cfg.name,
  getSettings: () => settings,
  concurrency: cfg.n,
  sweepMs: 1000,
  invoke: (req) => {
    runs++;
    return invokeAgent(req);
  },
});
await orchestrator.start();

const nextMessage = () => new Promise<unknown>((resolve) => process.once('message', resolve));
process.send!('ready');
await nextMessage();

const probe = processProbe();
takeStatementCounts();

if (cfg.role === 'api') {
  const completions = trackCompletions(stores.events, cfg.n);
  const start = performance.now();
  await submitBurst(orchestrator, cfg.n, completions.submitted);
  const latencies = await completions.all();
  process.send!({ done: true, ms: performance.now() - start, latencies });
}

await nextMessage();
const figures = probe.stop();
const statements = takeStatementCounts();
await orchestrator.stop(1000);
await stores.close();
const report: B5NodeReport = { runs, statements, ...figures };
process.send!(report, () => process.exit(0));

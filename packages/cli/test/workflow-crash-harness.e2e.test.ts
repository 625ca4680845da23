/**
 * The workflow crash harness (docs/workflows.md, "Replay" and "Several nodes"): the built daemon,
 * as `tinyagi start` runs it, drives one workflow of agent steps (a map five wide, then a chain,
 * then a step of its own) on mock agents, and nodes are killed with SIGKILL at seeded moments:
 * each kill comes once the journal holds its planned number of finished steps (a state, not a
 * clock), and the node is started again at once.
 *
 * On SQLite the daemon is the only node. On PostgreSQL (TINYAGI_TEST_BACKEND=postgres) two worker
 * nodes join it, each `tinyagi worker --name` on a machine of its own (test-kit's `machines()`:
 * its own disk and home, as docs/postgresql.md starts one), and each kill picks the daemon or a
 * worker (seeded; a worker is killed once it has registered). The module is at one path on the daemon's disk and on w1's; w2 lacks it, so it
 * runs agent steps but leaves the run to a node that has it. Some kills (TINYAGI_WORKFLOW_MOVES,
 * default one per ten kills, at least one) hit the node driving the run and keep it down until
 * another node drives it (its lease, 30 s, over), then start it again: the run moves between nodes.
 *
 * At the end:
 * - the run completed, with every step in its journal completed: no step lost;
 * - the conversations the run made are exactly its journal's, one per agent step, each completed:
 *   no step sent twice (a kill during an agent's turn retries that turn inside its conversation,
 *   as the queue does for any message; it is not a second step);
 * - its result equals an undisturbed run's of the same module in the same daemon.
 * Sizes: TINYAGI_WORKFLOW_STEPS (40) agent steps and TINYAGI_WORKFLOW_KILLS (5) kills; 200 and 30
 * check the durability claim at full size (about 1 min on SQLite, 3 on PostgreSQL). `test` runs it
 * on SQLite, `test:pg` on PostgreSQL (machines need root, as CI has). The seed is printed;
 * TINYAGI_CRASH_SEED=<seed> replays the plan (timings still vary).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkflowRunDetail } from '@tinyagi/client';
import { createDaemon, machines, type TestDaemon, waitFor, workerNode } from '@tinyagi/test-kit';
import { testBackend } from '@tinyagi/test-kit/stores';
import { type SeededRandom, seededRandom, seedFromEnv } from './helpers/seeded-random.ts';

const STEPS = Number(process.env['TINYAGI_WORKFLOW_STEPS'] ?? 40);
const KILLS = Number(process.env['TINYAGI_WORKFLOW_KILLS'] ?? 5);
const ON_PG = testBackend() === 'postgres';
/** Kills that keep the run's driver down until it moves: each waits out a lease (up to 35 s). */
const MOVES = ON_PG ? Number(process.env['TINYAGI_WORKFLOW_MOVES'] ?? Math.max(1, Math.round(KILLS / 10))) : 0;
const TOKEN = `tk_${randomBytes(24).toString('hex')}`;

const MODULE = `export default async (wf, input) => {
  const half = Math.floor(input.steps / 2);
  const wide = await wf.map(Array.from({ length: half }, (_, i) => i), (i) => wf.agent('a' + (i % 3), 'wide ' + i), { concurrency: 5 });
  const chain = [];
  for (let i = half; i < input.steps; i++) chain.push(await wf.agent('a' + (i % 3), 'chain ' + i + ' after ' + (chain.at(-1) ?? wide.at(-1))));
  const count = await wf.step('count', () => wide.length + chain.length);
  return { wide, chain, count };
};
`;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
});

/** A node the harness kills and starts again. */
interface CrashNode {
  /** Its node name (what a run's `node` says while it drives it). */
  name: string;
  /** SIGKILL, once it is up (a kill hits a running node, not a starting one). */
  kill(): Promise<void>;
  /** Starts it: the daemon returns once its API answers, a worker at once (the run goes on meanwhile). */
  start(): Promise<void>;
  /** Resolves once it is up (a worker registered). */
  ready(): Promise<void>;
  /** Its output's tail, for a failure. */
  tail(): string;
}

/** A kill: once `at` steps finished, SIGKILL `node` (a move: the node driving the run, kept down until another drives it). */
interface Kill {
  at: number;
  node: string;
  move: boolean;
}

function plan(rand: SeededRandom, nodes: readonly string[]): Kill[] {
  // Kill points: distinct numbers of finished steps, in order.
  const points = [...new Set(Array.from({ length: KILLS * 3 }, () => rand.int(1, STEPS - 1)))].slice(0, KILLS).sort((a, b) => a - b);
  const moves = new Set<number>();
  while (moves.size < Math.min(MOVES, points.length)) moves.add(rand.int(0, points.length - 1));
  return points.map((at, i) => ({ at, node: moves.has(i) ? 'driver' : rand.pick(nodes), move: moves.has(i) }));
}

async function finished(d: TestDaemon, id: string): Promise<WorkflowRunDetail> {
  return waitFor(
    async () => {
      const detail = await d.api.getWorkflowRun({ params: { id } }).catch(() => undefined);
      return detail && detail.run.status !== 'running' ? detail : undefined;
    },
    300_000,
    `workflow run ${id} to end`,
  );
}

/** The daemon as a node (named by its host, on SQLite `local`). */
function daemonNode(d: TestDaemon): CrashNode {
  return { name: ON_PG ? hostname() : 'local', kill: () => d.kill(), start: () => d.start(), ready: async () => {}, tail: () => d.logs() };
}

/**
 * Two workers, each on a machine of its own, joining the daemon's database as docs/postgresql.md
 * says; the module is written at `file` on w1's disk only. Returns the nodes and a pool on the
 * database (the run's row is read there while the daemon is down).
 */
async function joinWorkers(d: TestDaemon, file: string): Promise<{ workers: CrashNode[]; db: pg.Pool }> {
  const url = d.env['TINYAGI_DATABASE_URL'];
  if (!url) throw new Error('the PostgreSQL run gives the daemon TINYAGI_DATABASE_URL (createDaemon storesOnTestBackend)');
  const db = new pg.Pool({ connectionString: url, max: 2 });
  cleanups.push(() => db.end());
  const lab = machines('tinyagi-wf-crash-lab-');
  cleanups.push(() => lab.cleanup());
  const workers: CrashNode[] = [];
  for (const name of ['w1', 'w2']) {
    const box = await lab.addMachine(name);
    if (name === 'w1') {
      mkdirSync(dirname(box.disk(file)), { recursive: true });
      writeFileSync(box.disk(file), MODULE);
    }
    const worker = workerNode({ name, storage: { url }, token: TOKEN, apiUrl: d.url, machine: box, root: join(dirname(file), 'node') });
    cleanups.push(() => worker.kill());
    const registered = () =>
      waitFor(
        async () => (await db.query('SELECT 1 FROM tinyagi.nodes WHERE name = $1 AND pid = $2 AND stopped_at IS NULL', [name, worker.pid])).rows.length > 0 || undefined,
        60_000,
        `worker ${name} to register\n${worker.output().slice(-3000)}`,
      );
    let up: Promise<unknown> = Promise.resolve();
    const node: CrashNode = {
      name,
      kill: async () => {
        await up;
        await worker.kill();
      },
      start: async () => {
        worker.start();
        up = registered();
        // Awaited by the next kill, ready() or the end; not left unhandled meanwhile.
        up.catch(() => {});
      },
      ready: async () => void (await up),
      tail: () => `--- worker ${name} ---\n${worker.output().slice(-3000)}`,
    };
    await node.start();
    await node.ready();
    workers.push(node);
  }
  return { workers, db };
}

/** The node driving `runId` now (its lease's holder), or 'ended'; undefined while nobody holds it. */
async function driverOf(db: pg.Pool, runId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ status: string; owner: string | null }>('SELECT status, owner FROM tinyagi.workflow_runs WHERE id = $1', [runId]);
  if (rows[0]?.status !== 'running') return 'ended';
  return rows[0].owner?.split('/')[0];
}

describe('workflow crash harness', () => {
  it(`${STEPS} agent steps, ${KILLS} SIGKILLs of ${ON_PG ? `the daemon and worker nodes (${MOVES} moving the run)` : 'the daemon'}: no step lost, none sent twice, the undisturbed result`, async () => {
    const started = Date.now();
    const seed = seedFromEnv('TINYAGI_CRASH_SEED');
    const agents = Object.fromEntries([0, 1, 2].map((i) => [`a${i}`, { provider: 'mock', mock: { latency_ms: 30, reply: 'r({{message}})' } }]));
    const d = await createDaemon({
      prefix: 'tinyagi-wf-crash-',
      apiToken: TOKEN,
      storesOnTestBackend: true,
      settings: ({ root }) => ({ workspace: { path: join(root, 'workspace') }, agents, teams: {}, channels: { enabled: [] } }),
    });
    cleanups.push(() => d.cleanup());
    // On PostgreSQL the same path (under /tmp, which each machine has of its own) on the daemon's disk and on w1's.
    const file = join(ON_PG ? join(d.root, 'lab') : d.root, 'crash.mjs');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, MODULE);
    await d.start();
    const { workers, db } = ON_PG ? await joinWorkers(d, file) : { workers: [], db: undefined };
    const nodes = [daemonNode(d), ...workers];
    const kills = plan(
      seededRandom(seed),
      nodes.map((n) => n.name),
    );
    const tag = `seed ${seed} (TINYAGI_CRASH_SEED=${seed}), kills ${kills.map((k) => `${k.node}@${k.at}`).join(', ')}`;
    const tails = () => nodes.map((n) => n.tail()).join('\n');
    const { run } = await d.api.startWorkflow({ body: { file, input: { steps: STEPS } } });

    const killed: Record<string, number> = {};
    const moved: string[] = [];
    const drivers = new Set<string>();
    for (const k of kills) {
      const reached = await waitFor(
        async () => {
          const detail = await d.api.getWorkflowRun({ params: { id: run.id } });
          if (detail.run.node) drivers.add(detail.run.node);
          if (detail.run.status !== 'running') return 'ended';
          return detail.steps.filter((s) => s.status === 'completed').length >= k.at ? 'reached' : undefined;
        },
        120_000,
        `${k.at} finished steps (${tag})`,
        10,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${tails()}`);
      });
      if (reached === 'ended') break;
      if (!k.move) {
        const node = nodes.find((n) => n.name === k.node)!;
        await node.kill();
        await node.start();
        killed[node.name] = (killed[node.name] ?? 0) + 1;
        continue;
      }
      // A move: the driver dies and stays down until another node drives the run (its lease over).
      const from = await waitFor(() => driverOf(db!, run.id), 60_000, `a node to drive ${run.id} (${tag})`);
      if (from === 'ended') break;
      const node = nodes.find((n) => n.name === from)!;
      await node.kill();
      const to = await waitFor(
        async () => {
          const now = await driverOf(db!, run.id);
          return now !== undefined && now !== from ? now : undefined;
        },
        120_000,
        `another node than ${from} to drive ${run.id} (${tag})`,
        50,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${tails()}`);
      });
      await node.start();
      killed[node.name] = (killed[node.name] ?? 0) + 1;
      if (to === 'ended') break;
      moved.push(`${from}→${to}`);
      drivers.add(to);
    }
    const crashed = await finished(d, run.id);
    for (const n of nodes) await n.ready();
    expect(crashed.run.status, `${tag}: ${crashed.run.reason}\n${tails()}`).toBe('completed');
    expect(
      Object.values(killed).reduce((a, b) => a + b, 0),
      tag,
    ).toBe(kills.length);

    const agentSteps = crashed.steps.filter((s) => s.kind === 'agent');
    expect(agentSteps, tag).toHaveLength(STEPS);
    expect(crashed.steps.every((s) => s.status === 'completed')).toBe(true);
    // Every conversation the run's steps made, in the daemon: exactly the journal's, each completed.
    const made = (await d.api.listConversations({ query: { limit: 1000 } })).filter((c) => c.senderId === `workflow:${run.id}`);
    expect(made.map((c) => c.id).sort(), tag).toEqual(agentSteps.map((s) => s.conversationId).sort());
    expect(
      made.filter((c) => c.status !== 'completed').map((c) => `${c.id} ${c.status}`),
      tag,
    ).toEqual([]);

    // The same module undisturbed, in the same daemon.
    const { run: calm } = await d.api.startWorkflow({ body: { file, input: { steps: STEPS } } });
    const undisturbed = await finished(d, calm.id);
    expect(undisturbed.run.status).toBe('completed');
    expect(crashed.run.result, tag).toEqual(undisturbed.run.result);
    process.stderr.write(
      `workflow crash harness: ${tag}: kills ${JSON.stringify(killed)}, moves ${moved.join(', ') || 'none'}, driven by ${[...drivers].join(', ')}, ` +
        `${STEPS} agent steps, all completed once, ${Math.round((Date.now() - started) / 1000)} s\n`,
    );
  }, 1_800_000);
});

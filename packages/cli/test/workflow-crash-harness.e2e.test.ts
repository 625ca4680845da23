/**
 * The workflow crash harness (docs/workflows.md, "Replay"): the built daemon, as `tinyagi start`
 * runs it, drives one workflow of agent steps (a map five wide, then a chain, then a step of its
 * own) on mock agents, and is killed with SIGKILL at seeded moments: each kill comes once the
 * journal holds its planned number of finished steps (a state, not a clock), and the daemon is
 * started again at once. At the end:
 * - the run completed, with every step in its journal completed: no step lost;
 * - the conversations the run made are exactly its journal's, one per agent step, each completed:
 *   no step sent twice (a kill during an agent's turn retries that turn inside its conversation,
 *   as the queue does for any message; it is not a second step);
 * - its result equals an undisturbed run's of the same module in the same daemon.
 * Sizes: TINYAGI_WORKFLOW_STEPS (40) agent steps and TINYAGI_WORKFLOW_KILLS (5) kills; 200 and 30
 * are the figures of docs/benchmarks.md's claim. On PostgreSQL with TINYAGI_TEST_BACKEND=postgres.
 * The seed is printed; TINYAGI_CRASH_SEED=<seed> replays the plan.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkflowRunDetail } from '@tinyagi/client';
import { createDaemon, type TestDaemon, waitFor } from '@tinyagi/test-kit';
import { seededRandom, seedFromEnv } from './helpers/seeded-random.ts';

const STEPS = Number(process.env['TINYAGI_WORKFLOW_STEPS'] ?? 40);
const KILLS = Number(process.env['TINYAGI_WORKFLOW_KILLS'] ?? 5);

const MODULE = `export default async (wf, input) => {
  const half = Math.floor(input.steps / 2);
  const wide = await wf.map(Array.from({ length: half }, (_, i) => i), (i) => wf.agent('a' + (i % 3), 'wide ' + i), { concurrency: 5 });
  const chain = [];
  for (let i = half; i < input.steps; i++) chain.push(await wf.agent('a' + (i % 3), 'chain ' + i + ' after ' + (chain.at(-1) ?? wide.at(-1))));
  const count = await wf.step('count', () => wide.length + chain.length);
  return { wide, chain, count };
};
`;

let daemon: TestDaemon | undefined;
afterEach(async () => {
  await daemon?.cleanup();
  daemon = undefined;
});

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

describe('workflow crash harness', () => {
  it(`${STEPS} agent steps, ${KILLS} SIGKILLs of the daemon: no step lost, none sent twice, the undisturbed result`, async () => {
    const seed = seedFromEnv('TINYAGI_CRASH_SEED');
    const rand = seededRandom(seed);
    // Kill points: distinct numbers of finished steps, in order.
    const points = [...new Set(Array.from({ length: KILLS * 3 }, () => rand.int(1, STEPS - 1)))].slice(0, KILLS).sort((a, b) => a - b);
    const agents = Object.fromEntries([0, 1, 2].map((i) => [`a${i}`, { provider: 'mock', mock: { latency_ms: 30, reply: 'r({{message}})' } }]));
    daemon = await createDaemon({
      prefix: 'tinyagi-wf-crash-',
      storesOnTestBackend: true,
      settings: ({ root }) => ({ workspace: { path: join(root, 'workspace') }, agents, teams: {}, channels: { enabled: [] } }),
    });
    const d = daemon;
    const file = join(d.root, 'crash.mjs');
    writeFileSync(file, MODULE);
    await d.start();
    const tag = `seed ${seed} (TINYAGI_CRASH_SEED=${seed}), kills at ${points.join(', ')} finished steps`;
    const { run } = await d.api.startWorkflow({ body: { file, input: { steps: STEPS } } });
    let kills = 0;
    for (const point of points) {
      const reached = await waitFor(
        async () => {
          const detail = await d.api.getWorkflowRun({ params: { id: run.id } });
          if (detail.run.status !== 'running') return 'ended';
          return detail.steps.filter((s) => s.status === 'completed').length >= point ? 'reached' : undefined;
        },
        120_000,
        `${point} finished steps (${tag})`,
        10,
      );
      if (reached === 'ended') break;
      await d.kill();
      kills++;
      await d.start();
    }
    const crashed = await finished(d, run.id);
    expect(crashed.run.status, `${tag}: ${crashed.run.reason}`).toBe('completed');
    expect(kills, tag).toBe(points.length);

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
    process.stderr.write(`workflow crash harness: ${tag}: ${kills} kills, ${STEPS} agent steps, all completed once\n`);
  }, 900_000);
});

/**
 * Best of N on a project whose binding has auto-merge (docs/workflows.md, "Tasks and best of N"):
 * each candidate is made with its auto-merge withheld, so none merges when its Checking passes;
 * the one picked is merged by the bestOf's own `merge` step, through the auto-merge's path; the
 * other passing one goes to the Backlog unmerged, the failing one waits for a person unmerged.
 * The engine is stopped mid-way (its node dies) and another takes the run over: no second task,
 * and a merge step replayed after the merge (a crash before its journal write) merges nothing
 * again. A winner whose branch conflicts with the base stays in Review, and the result says why.
 * Real git, the routes on loopback, mock agents whose actions write, commit and say done
 * through their run's own token; the run's backend (SQLite, or PostgreSQL with
 * TINYAGI_TEST_BACKEND=postgres).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import type { BestOfResult } from '@tinyagi/client';
import { invokeAgent, type InvokeRequest, type Settings } from '@tinyagi/core';
import { Workflows } from '@tinyagi/teams';
import { commitFile, gitRepos, sh, waitFor } from '@tinyagi/test-kit';
import { baseSettings, eventsOf, type ServerHarness, startHarness } from './harness.ts';

const says = (file: string, content: string) => [{ write: { path: file, content } }, { commit: file }, { update_task: { status: 'review' } }];
const agent = (reply: Record<string, unknown>, gateDir?: string) => ({
  name: 'Coder',
  provider: 'mock',
  mock: { ...(gateDir === undefined ? {} : { gate_dir: gateDir }), replies: [{ match: 'hello', reply: 'Done.', ...reply }] },
});

/** A harness whose mock agents reach its routes (their `update_task`): `small` and `big` pass (`big` once its gate opens), `wrong` never does. */
async function start(): Promise<ServerHarness> {
  let apiUrl = '';
  const settings = (home: string): Settings => ({
    ...baseSettings(home),
    agents: {
      small: agent({ actions: says('greet/small.txt', 'hello\n') }),
      big: agent({ gate: 'big', actions: says('greet/big.txt', `hello\n${'and more\n'.repeat(20)}`) }, join(home, 'gates')),
      // Never greets: its Checking fails each round (the file differs each time, so the commit has something).
      wrong: agent({ actions: says('greet/wrong.txt', 'bye {{message}}\n') }),
    },
    teams: {},
  });
  const invoke = (req: InvokeRequest) => invokeAgent({ ...req, env: { ...req.env, TINYAGI_API_URL: apiUrl } });
  const h = await startHarness({ settings, invoke });
  onTestFinished(() => h.close());
  apiUrl = h.url;
  return h;
}

/** Another engine on the same stores and task flow: the node started again, taking its runs back. */
function engine(h: ServerHarness): Workflows {
  const w = new Workflows({
    stores: h.stores,
    orchestrator: h.orchestrator,
    cancelConversation: (id, reason) => h.app.tiny.facets.conversations.cancelConversation(id, reason),
    settings: h.settings,
    taskFlow: h.app.tiny.taskFlow,
    log: { info: () => {}, warn: (m) => process.stderr.write(`WARN  [workflows] ${m}\n`) },
    sweepMs: 100,
  });
  onTestFinished(() => w.stop());
  return w;
}

async function ended(w: Workflows, id: string): Promise<{ result: BestOfResult; steps: Array<{ stepId: string; status: string }> }> {
  const d = await waitFor(
    async () => {
      const run = await w.getRun(id);
      return run.run.status === 'running' ? undefined : run;
    },
    60_000,
    `workflow ${id}`,
  );
  expect(d.run.status, d.run.reason ?? '').toBe('completed');
  return { result: d.run.result as BestOfResult, steps: d.steps };
}

const inBase = (repoDir: string, commit: string): boolean => {
  try {
    sh(repoDir, 'merge-base', '--is-ancestor', commit, 'main');
    return true;
  } catch {
    return false;
  }
};

it('auto-merge on: no candidate merges when its checks pass; the winner is merged by the bestOf once, also across a restart and a replayed merge step', async () => {
  const fx = gitRepos();
  const h = await start();
  const check = { name: 'greets', argv: ['sh', '-c', 'cat greet/*.txt | grep -qx hello'], timeoutMs: 30_000 };
  const project = await h.client.createProject({
    body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees'), checks: [check], maxRounds: 1, autoMerge: { when: 'checked' } } },
  });
  const file = join(h.home, 'best.mjs');
  writeFileSync(file, "export default (wf) => wf.bestOf({ project: 'Web', title: 'Say hello', agents: ['small', 'big', 'wrong'] });\n");
  const { run } = await h.client.startWorkflow({ body: { file } });

  const task = async (agentId: string) => (await h.client.listTasks({ query: { projectId: project.id } })).find((t) => t.assigneeAgent === agentId);
  // `small` passed and `wrong` waits for a person; `big` works (at its gate).
  const small = await waitFor(async () => ((await task('small'))?.status === 'review' ? task('small') : undefined), 60_000, 'small in Review');
  await waitFor(async () => (await task('wrong'))?.git?.roundsApproval, 60_000, 'wrong waits for a person');
  expect(small?.git?.check?.state).toBe('passed');
  expect(small?.git?.autoMergeWithheld?.why).toContain(`workflow run ${run.id}`);
  // The auto-merge leaves it alone, at its Checking and at a start's sweep alike.
  await h.app.tiny.taskFlow.sweep(true);
  expect((await task('small'))?.git?.merge).toBeUndefined();

  // The node stops driving the run (`big` still at its gate); `big` passes meanwhile, merged by nobody.
  await h.app.tiny.workflows.stop();
  mkdirSync(join(h.home, 'gates'), { recursive: true });
  writeFileSync(join(h.home, 'gates', 'big'), '');
  const big = await waitFor(async () => ((await task('big'))?.status === 'review' ? task('big') : undefined), 60_000, 'big in Review');
  await h.app.tiny.taskFlow.sweep(true);
  expect(await eventsOf(h.stores, { types: ['task.merged'] })).toEqual([]);

  const second = engine(h);
  await second.start();
  const { result, steps } = await ended(second, run.id);
  expect(result.candidates.map((c) => [c.agent, c.outcome])).toEqual([
    ['small', 'passed'],
    ['big', 'passed'],
    ['wrong', 'failed'],
  ]);
  expect(result).toMatchObject({ winner: { agent: 'small', taskId: small!.id }, merged: true, mergeError: null });
  expect(steps.map((s) => [s.stepId, s.status])).toEqual(
    expect.arrayContaining([
      ['1:bestOf/set-aside', 'completed'],
      ['1:bestOf/merge', 'completed'],
    ]),
  );

  const merged = async () => (await eventsOf(h.stores, { types: ['task.merged'] })).map((e) => [e.data.taskId, e.data.by]);
  const after = await h.client.getTask({ params: { id: small!.id } });
  expect([after.status, after.git?.merge?.by, after.git?.autoMergeWithheld]).toEqual(['done', 'auto_merge', undefined]);
  expect(await merged()).toEqual([[small!.id, 'auto_merge']]);
  expect(inBase(fx.repoDir, after.git!.merge!.tip)).toBe(true);
  // The others: not merged, still withheld (a person may merge one by hand).
  const [bigAfter, wrongAfter] = [await h.client.getTask({ params: { id: big!.id } }), await task('wrong')];
  expect([bigAfter.status, bigAfter.git?.merge, bigAfter.git?.autoMergeWithheld?.why]).toEqual(['backlog', undefined, expect.stringContaining('best of 3')]);
  expect(inBase(fx.repoDir, bigAfter.git!.check!.headSha!)).toBe(false);
  expect(wrongAfter?.git?.merge).toBeUndefined();
  // Made once each, across the restart.
  expect((await h.client.listTasks({ query: { projectId: project.id } })).length).toBe(3);

  // The daemon died after the merge and before its step was journaled: the replay's merge step finds it merged.
  const base = sh(fx.repoDir, 'rev-parse', 'main');
  await h.stores.workflows.updateStep(run.id, '1:bestOf/merge', { status: 'running', output: null, endedAt: null });
  await h.stores.workflows.updateRun(run.id, { status: 'running', result: null, endedAt: null, owner: null, leaseUntil: null });
  const replayed = await ended(second, run.id);
  expect(replayed.result).toMatchObject({ winner: { agent: 'small' }, merged: true, mergeError: null });
  expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(base);
  expect(await merged()).toEqual([[small!.id, 'auto_merge']]);
}, 240_000);

it('auto-merge on: a winner whose branch conflicts with the base is not merged; it stays in Review with the refusal, and the result says why', async () => {
  const fx = gitRepos();
  const h = await start();
  const check = { name: 'greets', argv: ['sh', '-c', 'cat greet/*.txt | grep -qx hello'], timeoutMs: 30_000 };
  const project = await h.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees'), checks: [check], autoMerge: { when: 'checked' } } } });
  const file = join(h.home, 'best.mjs');
  writeFileSync(file, "export default (wf) => wf.bestOf({ project: 'Web', title: 'Say hello', agents: ['big'] });\n");
  const { run } = await h.client.startWorkflow({ body: { file } });
  // Its branch is made; then the base gets the same file, another way.
  const made = await waitFor(async () => (await h.client.listTasks({ query: { projectId: project.id } })).find((t) => t.git?.state === 'ready'), 60_000, 'big has its worktree');
  commitFile(fx.repoDir, 'greet/big.txt', 'hello from main\n');
  mkdirSync(join(h.home, 'gates'), { recursive: true });
  writeFileSync(join(h.home, 'gates', 'big'), '');

  const { result } = await ended(h.app.tiny.workflows, run.id);
  expect(result).toMatchObject({ winner: { taskId: made.id }, merged: false, mergeError: expect.stringContaining('conflicts with main') });
  const after = await h.client.getTask({ params: { id: made.id } });
  expect([after.status, after.git?.merge, after.git?.autoMergeWithheld, after.git?.autoMergeRefused?.code]).toEqual(['review', undefined, undefined, 'MERGE_CONFLICT']);
  expect(await eventsOf(h.stores, { types: ['task.merged'] })).toEqual([]);
}, 240_000);

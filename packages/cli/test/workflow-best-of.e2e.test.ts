/**
 * Best of N by the project's checks (docs/workflows.md, "Tasks and best of N"), against the built
 * daemon as users run it: a project bound to a real git repository with a check; three mock agents
 * given the same task through `wf.bestOf`, each in its own worktree: one makes the smallest change
 * that passes, one a larger change that passes, one a change the check refuses (it still fails
 * after its round and waits for a person). The smallest passing change wins and stays in Review;
 * the other passing one is set aside in the Backlog; the failed one is reported with its reason.
 * Then a judge agent picks instead of the rule. Then on a project with auto-merge: the winner is
 * merged into the base by the run, the other passing one is not.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import type { BestOfResult } from '@tinyagi/client';
import { createDaemon, gitRepos, sh, type TestDaemon, waitFor } from '@tinyagi/test-kit';

let daemon: TestDaemon;
let repoDir: string;

const check = { name: 'greets', argv: ['grep', '-qx', 'hello', 'hello.txt'], timeoutMs: 30_000 };
const says = (content: string) => [{ write: { path: 'hello.txt', content } }, { commit: 'hello.txt' }, { update_task: { status: 'review' } }];
const agent = (actions: unknown[]) => ({ provider: 'mock', mock: { replies: [{ match: 'hello', reply: 'Done.', actions }] } });

beforeAll(async () => {
  repoDir = gitRepos().repoDir;
  daemon = await createDaemon({
    prefix: 'tinyagi-best-of-',
    path: ['/usr/bin', '/bin'],
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      agents: {
        small: agent(says('hello\n')),
        big: agent(says(`hello\n${'and more\n'.repeat(20)}`)),
        // Its change never greets: the check fails each round (the file differs each time, so the commit has something).
        wrong: agent([{ write: { path: 'hello.txt', content: 'bye {{message}}\n' } }, { commit: 'bye' }, { update_task: { status: 'review' } }]),
        judge: { provider: 'mock', mock: { reply: '{"pick": 1}' } },
        // Another file than `small`'s: both could merge, nothing conflicts.
        wide: agent([{ write: { path: 'greet.txt', content: `hello\n${'and more\n'.repeat(5)}` } }, { commit: 'greet.txt' }, { update_task: { status: 'review' } }]),
      },
      channels: { enabled: [] },
    }),
  });
  await daemon.start();
  await daemon.api.createProject({ body: { name: 'Web', repo: { path: repoDir, worktreeRoot: join(daemon.root, 'worktrees'), checks: [check], maxRounds: 1 } } });
}, 120_000);

afterAll(async () => {
  await daemon?.cleanup();
});

async function run(source: string): Promise<{ result: BestOfResult; steps: Array<{ stepId: string; kind: string; status: string }> }> {
  const file = join(daemon.root, `best-${Date.now()}.mjs`);
  writeFileSync(file, source);
  const { run } = await daemon.api.startWorkflow({ body: { file } });
  const detail = await waitFor(
    async () => {
      const d = await daemon.api.getWorkflowRun({ params: { id: run.id } });
      return d.run.status === 'running' ? undefined : d;
    },
    40_000,
    `workflow ${run.id}`,
  ).catch(async (err: Error) => {
    const tasks = await daemon.api.listTasks({ query: {} });
    const d = await daemon.api.getWorkflowRun({ params: { id: run.id } });
    throw new Error(
      `${err.message}\nsteps: ${JSON.stringify(d.steps)}\ntasks: ${JSON.stringify(tasks.map((t) => [t.identifier, t.status, t.git?.state, t.git?.check?.state, t.git?.rounds, t.git?.roundsApproval]))}\n${daemon.logs()}`,
    );
  });
  expect(detail.run.status, detail.run.reason ?? '').toBe('completed');
  return { result: detail.run.result as BestOfResult, steps: detail.steps };
}

it('three agents, one task each in its own worktree: the smallest passing change wins and stays in Review, the other passing one goes to the Backlog, the failing one says why', async () => {
  const { result, steps } = await run("export default (wf) => wf.bestOf({ project: 'Web', title: 'Say hello', description: 'Write hello.txt.', agents: ['small', 'big', 'wrong'] });\n");
  expect(result.candidates.map((c) => [c.agent, c.outcome])).toEqual([
    ['small', 'passed'],
    ['big', 'passed'],
    ['wrong', 'failed'],
  ]);
  expect(result.candidates[2]!.reason).toMatch(/checks still fail after \d+ rounds?;/);
  expect(result.winner).toMatchObject({ agent: 'small', additions: 1, deletions: 0 });
  expect(result.candidates[1]).toMatchObject({ additions: 21 });
  expect(steps.map((s) => [s.stepId, s.kind, s.status])).toEqual(
    expect.arrayContaining([
      ['1:bestOf/1:parallel[0]/1:task', 'task', 'completed'],
      ['1:bestOf/1:parallel[1]/1:task', 'task', 'completed'],
      ['1:bestOf/1:parallel[2]/1:task', 'task', 'completed'],
      ['1:bestOf/set-aside', 'step', 'completed'],
    ]),
  );
  const [small, big, wrong] = await Promise.all(result.candidates.map((c) => daemon.api.getTask({ params: { id: c.taskId } })));
  expect([small!.status, small!.git?.check?.state, small!.title]).toEqual(['review', 'passed', 'Say hello (small)']);
  expect(big!.status).toBe('backlog');
  expect(wrong!.git?.roundsApproval?.decision).toBeUndefined();
  // Each in a worktree of its own.
  expect(new Set([small!.git?.worktreePath, big!.git?.worktreePath, wrong!.git?.worktreePath]).size).toBe(3);
}, 240_000);

it('a judge agent picks among the passing ones, from their diffs', async () => {
  const { result, steps } = await run("export default (wf) => wf.bestOf({ project: 'Web', title: 'Say hello again', agents: ['small', 'big'], judge: { agent: 'judge' } });\n");
  expect(result.winner).toMatchObject({ agent: 'big' });
  expect(steps.map((s) => s.stepId)).toEqual(expect.arrayContaining(['1:bestOf/diffs', '1:bestOf/judge', '1:bestOf/set-aside']));
  const small = await daemon.api.getTask({ params: { id: result.candidates[0]!.taskId } });
  expect(small.status).toBe('backlog');
}, 240_000);

it('on a project with auto-merge: only the winner is merged into the base, by the run; the other passing one is not', async () => {
  const { repoDir: autoRepo } = gitRepos();
  const greets = { name: 'greets', argv: ['sh', '-c', 'cat hello.txt greet.txt 2>/dev/null | grep -qx hello'], timeoutMs: 30_000 };
  await daemon.api.createProject({
    body: { name: 'Auto', repo: { path: autoRepo, worktreeRoot: join(daemon.root, 'worktrees-auto'), checks: [greets], autoMerge: { when: 'checked' } } },
  });
  const { result, steps } = await run("export default (wf) => wf.bestOf({ project: 'Auto', title: 'Say hello', agents: ['small', 'wide'] });\n");
  expect(result).toMatchObject({ winner: { agent: 'small' }, merged: true, mergeError: null });
  expect(result.candidates[1]).toMatchObject({ outcome: 'passed', additions: 6 });
  expect(steps.map((s) => s.stepId)).toEqual(expect.arrayContaining(['1:bestOf/set-aside', '1:bestOf/merge']));
  const [small, wide] = await Promise.all(result.candidates.map((c) => daemon.api.getTask({ params: { id: c.taskId } })));
  expect([small!.status, small!.git?.merge?.by]).toEqual(['done', 'auto_merge']);
  expect([wide!.status, wide!.git?.merge]).toEqual(['backlog', undefined]);
  expect(sh(autoRepo, 'show', 'main:hello.txt')).toBe('hello');
  expect(sh(autoRepo, 'ls-tree', '--name-only', 'main')).not.toContain('greet.txt');
}, 240_000);

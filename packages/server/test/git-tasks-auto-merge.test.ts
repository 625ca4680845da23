/**
 * Auto-merge (docs/git-tasks.md): a project whose binding has `autoMerge: { when: 'checked' }`
 * has a task merged by the daemon as soon as its Checking passes (recorded and announced as
 * `by: 'auto_merge'`), also when a stop came between the pass and the merge (a start merges it); a
 * failed Checking merges nothing; `approved` without a forge is refused. A refused auto-merge is
 * recorded on the task with its reason, logged once, and tried again when the base moves. A merge an older version
 * recorded as `by: 'rule'` (and a Checking's `rulePathsCommitted`) reads in today's names. Real git, the routes on
 * loopback, the real orchestrator with the fake claude; waits on states.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { commitFile, gitRepos, sh, waitFor } from '@tinyagi/test-kit';
import type { TaskGit } from '@tinyagi/client/contract';
import type { EventInput } from '@tinyagi/core/internal';
import { eventsOf, raw, type ServerHarness } from './harness.ts';
import { startCoderHarness } from './git-harness.ts';

/** A started task with `file` committed on its branch, moved to checking as an agent's "done" is, its Checking run as a start runs it. */
async function checkedTask(h: ServerHarness, projectId: string, title: string, file: string, content: string) {
  const task = await h.client.createTask({ body: { title, projectId, assigneeAgent: 'coder', status: 'in_progress' } });
  await waitFor(async () => (await eventsOf(h.stores, { conversationId: task.conversationId!, types: ['conversation.completed'] })).length > 0, 30_000, `${title}: its run completed`);
  const tip = commitFile(task.git!.worktreePath!, file, content, title);
  const git = (await h.client.getTask({ params: { id: task.id } })).git!;
  await h.stores.tasks.updateTask(task.id, { status: 'checking' });
  await h.stores.tasks.setTaskGit(task.id, {
    ...git,
    check: { state: 'running', headSha: null, startedAt: Date.now(), finishedAt: null, commits: 0, uncommitted: [], pushed: null, checks: [], missing: [], error: null },
  });
  expect(await h.app.tiny.taskFlow.sweep(true)).toBe(1);
  return { task, tip, worktree: task.git!.worktreePath! };
}

it('autoMerge checked: a passed Checking is auto-merged (recorded and announced as such), a failed one is not; a pass a stop interrupted is merged at start; approved needs a forge', async () => {
  const fx = gitRepos();
  const h = await startCoderHarness();
  const check = { name: 'has-notes', argv: ['sh', '-c', 'test -f notes.txt && ! grep -qx bad notes.txt || { echo "notes.txt is missing or bad"; exit 1; }'], timeoutMs: 10_000 };
  const project = await h.client.createProject({
    body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees'), checks: [check], autoMerge: { when: 'checked' } } },
  });
  expect(project.repo?.autoMerge).toEqual({ when: 'checked', method: 'merge', approvals: 1 });

  const one = await checkedTask(h, project.id, 'Write the notes', 'notes.txt', 'notes\n');
  const done = await waitFor(
    async () => {
      const t = await h.client.getTask({ params: { id: one.task.id } });
      return t.status === 'done' ? t : undefined;
    },
    30_000,
    'WEB-1 auto-merged',
  );
  expect(done.git?.merge).toMatchObject({ method: 'merge', tip: one.tip, by: 'auto_merge' });
  expect(sh(fx.repoDir, 'log', '-1', '--format=%P', 'main').split(' ')).toContain(one.tip);
  const merged = await eventsOf(h.stores, { types: ['task.merged'] });
  expect(merged.map((e) => [e.data.identifier, e.data.by])).toEqual([['WEB-1', 'auto_merge']]);

  // A Checking that fails: back to in progress, nothing merged.
  const two = await checkedTask(h, project.id, 'Spoil the notes', 'notes.txt', 'bad\n');
  await waitFor(async () => ((await h.client.getTask({ params: { id: two.task.id } })).status === 'in_progress' ? true : undefined), 30_000, 'WEB-2 back in progress');
  expect((await eventsOf(h.stores, { types: ['task.merged'] })).length).toBe(1);

  // Passed and moved to review, then a stop before auto-merge merged it: a start does.
  const three = await checkedTask(h, project.id, 'Write more notes', 'notes.txt', 'more notes\n');
  await waitFor(async () => ((await h.client.getTask({ params: { id: three.task.id } })).status === 'done' ? true : undefined), 30_000, 'WEB-3 merged');
  const four = await h.client.createTask({ body: { title: 'Write the menu', projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
  await waitFor(async () => (await eventsOf(h.stores, { conversationId: four.conversationId!, types: ['conversation.completed'] })).length > 0, 30_000, 'WEB-4 run completed');
  const tip = commitFile(four.git!.worktreePath!, 'notes.txt', 'the menu\n', 'Write the menu');
  const git = (await h.client.getTask({ params: { id: four.id } })).git!;
  const passed = { state: 'passed' as const, headSha: tip, startedAt: Date.now(), finishedAt: Date.now(), commits: 1, uncommitted: [], pushed: null, checks: [], missing: [], error: null };
  await h.stores.tasks.setTaskGit(four.id, { ...git, check: passed });
  await h.stores.tasks.updateTask(four.id, { status: 'review' });
  expect(await h.app.tiny.taskFlow.sweep(true)).toBe(1);
  expect((await h.client.getTask({ params: { id: four.id } })).git?.merge).toMatchObject({ tip, by: 'auto_merge' });
  expect(await h.app.tiny.taskFlow.sweep(true)).toBe(0);

  const refused = await raw(h, 'PATCH', `/api/projects/${project.id}`, { body: JSON.stringify({ repo: { path: fx.repoDir, autoMerge: { when: 'approved' } } }) });
  expect(refused.status).toBe(400);
  expect(JSON.stringify(refused.body)).toContain('needs a forge');
});

it('a refused auto-merge (the person’s untracked file in the way) is recorded on the task with its reason, logged and announced once, and tried again when the base moves', async () => {
  const fx = gitRepos();
  const warnings: string[] = [];
  const h = await startCoderHarness({ log: { warn: (m) => warnings.push(m), error: (m) => warnings.push(m) } });
  const project = await h.client.createProject({
    body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees'), checks: [{ name: 'ok', argv: ['true'], timeoutMs: 10_000 }], autoMerge: { when: 'checked' } } },
  });
  writeFileSync(join(fx.repoDir, 'notes.txt'), 'mine\n');
  const one = await checkedTask(h, project.id, 'Write the notes', 'notes.txt', 'notes\n');
  const refusedOf = async () => (await h.client.getTask({ params: { id: one.task.id } })).git?.autoMergeRefused;
  const first = await waitFor(refusedOf, 30_000, 'WEB-1 auto-merge refused');
  expect(first).toMatchObject({ code: 'INVALID_STATE', attempts: 1, message: expect.stringContaining('notes.txt') });
  expect((await h.client.getTask({ params: { id: one.task.id } })).status).toBe('review');
  const logged = () => warnings.filter((w) => w.includes('auto-merge refused'));
  expect(logged()).toEqual([expect.stringContaining('WEB-1')]);

  // Sweeps with nothing moved do not try again, nor log.
  await h.app.tiny.taskFlow.sweep(false);
  await h.app.tiny.taskFlow.sweep(false);
  expect(await refusedOf()).toEqual(first);
  // The base moved: tried again, refused for the same reason, logged no more.
  commitFile(fx.repoDir, 'README.md', '# demo, edited\n', 'the person’s edit');
  await h.app.tiny.taskFlow.sweep(false);
  expect(await refusedOf()).toMatchObject({ attempts: 2, message: first!.message });
  expect(logged()).toHaveLength(1);
  expect((await eventsOf(h.stores, { types: ['task.auto_merge_refused'] })).map((e) => [e.data.identifier, e.data.code])).toEqual([['WEB-1', 'INVALID_STATE']]);
  expect(readFileSync(join(fx.repoDir, 'notes.txt'), 'utf8')).toBe('mine\n');

  // The person moves the file away and commits again: merged, the refusal gone.
  rmSync(join(fx.repoDir, 'notes.txt'));
  commitFile(fx.repoDir, 'README.md', '# demo, edited twice\n', 'the person’s second edit');
  await h.app.tiny.taskFlow.sweep(false);
  const done = await h.client.getTask({ params: { id: one.task.id } });
  expect(done.status).toBe('done');
  expect(done.git?.merge).toMatchObject({ tip: one.tip, by: 'auto_merge' });
  expect(done.git?.autoMergeRefused).toBeUndefined();
});

it('a merge and a Checking stored by an older version (by: rule, rulePathsCommitted) read in today’s names, through the stores and the API, and so does its task.merged event', async () => {
  const fx = gitRepos();
  const h = await startCoderHarness();
  const project = await h.client.createProject({ body: { name: 'Old', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
  const task = await h.client.createTask({ body: { title: 'Merged long ago', projectId: project.id } });
  const check = {
    state: 'failed',
    headSha: 'a'.repeat(40),
    startedAt: 1,
    finishedAt: 2,
    commits: 1,
    uncommitted: [],
    rulePathsCommitted: ['.env'],
    pushed: null,
    checks: [],
    missing: ['.env is committed'],
    error: null,
  };
  const merge = { method: 'merge', branch: 'tinyagi/OLD-1', baseRef: 'main', tip: 'b'.repeat(40), commit: 'c'.repeat(40), mergedAt: 3, by: 'rule' };
  // As an older version wrote them: the store writes what it is given, the old names included.
  const stored = { state: 'ready', branch: 'tinyagi/OLD-1', worktreePath: null, headSha: null, error: null, updatedAt: 4, check, merge } as unknown as TaskGit;
  await h.stores.tasks.setTaskGit(task.id, stored);
  await h.stores.events.append({
    type: 'task.merged',
    data: { taskId: task.id, identifier: 'OLD-1', projectId: project.id, method: 'merge', branch: 'tinyagi/OLD-1', baseRef: 'main', tip: merge.tip, commit: merge.commit, created: true, by: 'rule' },
  } as unknown as EventInput);

  const read = (await h.client.getTask({ params: { id: task.id } })).git!;
  expect(read.merge?.by).toBe('auto_merge');
  expect(read.check?.worktreeFilesCommitted).toEqual(['.env']);
  expect(read.check).not.toHaveProperty('rulePathsCommitted');
  expect((await h.stores.tasks.mustGetTask(task.id)).git?.merge?.by).toBe('auto_merge');
  // The event log as every reader gets it (the SSE stream's replay, observers' catch-up).
  expect((await eventsOf(h.stores, { types: ['task.merged'] })).map((e) => e.data.by)).toEqual(['auto_merge']);
});

/**
 * A task worktree's life cycle (docs/git-tasks.md, "Worktrees"): listed by task identifier with its
 * state; a task's deletion asks what to do with its worktree and loses nothing unasked; a removal
 * refused with what it would lose unless forced; a worktree deleted by hand made again from its
 * branch by the task flow. Real git, the routes on loopback, the fake claude as the agent.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { commitFile, gitRepos, sh, waitFor } from '@tinyagi/test-kit';
import { eventsOf, raw, type ServerHarness } from './harness.ts';
import { startCoderHarness } from './git-harness.ts';

async function startedTask(h: ServerHarness, projectId: string, title: string) {
  const task = await h.client.createTask({ body: { title, projectId, assigneeAgent: 'coder', status: 'in_progress' } });
  const conversationId = task.conversationId!;
  await waitFor(async () => (await eventsOf(h.stores, { conversationId, types: ['conversation.completed'] })).length > 0, 30_000, `${title}: its run completed`);
  return { task, worktree: task.git!.worktreePath!, branch: task.git!.branch! };
}

it('worktrees are listed by identifier and state; deleting a task asks about its worktree; a removal with unpushed work is refused naming it, and forced says what it lost', async () => {
  const fx = gitRepos();
  const h = await startCoderHarness();
  const project = await h.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
  const one = await startedTask(h, project.id, 'Add a footer');
  const two = await startedTask(h, project.id, 'Add a header');
  commitFile(two.worktree, 'header.txt', 'header\n', 'header');

  const listed = await h.client.listProjectWorktrees({ params: { id: project.id } });
  expect(listed.map((w) => [w.identifier, w.state, w.branch]).sort()).toEqual([
    ['WEB-1', 'ready', one.branch],
    ['WEB-2', 'ready', two.branch],
  ]);

  // No choice: refused, nothing deleted.
  const asked = await raw(h, 'DELETE', `/api/tasks/${two.task.id}`);
  expect(asked.status).toBe(409);
  expect(asked.text).toContain(`has a worktree at ${two.worktree}`);
  expect((await h.client.getTask({ params: { id: two.task.id } })).id).toBe(two.task.id);

  // Remove it with the task: its commit is merged nowhere and pushed nowhere, so the deletion is refused and names it.
  const unsafe = await raw(h, 'DELETE', `/api/tasks/${two.task.id}?worktree=remove`);
  expect(unsafe.status).toBe(409);
  expect(unsafe.body).toMatchObject({ error: { code: 'WORKTREE_UNSAFE' } });
  expect(unsafe.text).toContain('1 commit(s)');
  expect(unsafe.text).toContain('header');
  expect(existsSync(two.worktree)).toBe(true);
  expect((await h.client.getTask({ params: { id: two.task.id } })).id).toBe(two.task.id);

  // Kept: the task goes, its worktree stays, listed as orphaned with whether it could be removed.
  expect(await h.client.deleteTask({ params: { id: two.task.id }, query: { worktree: 'keep' } })).toEqual({ ok: true });
  const orphan = (await h.client.listProjectWorktrees({ params: { id: project.id } })).find((w) => w.path === two.worktree)!;
  expect(orphan).toMatchObject({ state: 'orphaned', identifier: null, removal: { safe: false } });

  // Removed by its path: refused while it holds work; forced, the uncommitted file is lost and the branch keeps its commit.
  writeFileSync(join(two.worktree, 'draft.txt'), 'draft\n');
  const refused = await raw(h, 'POST', `/api/projects/${project.id}/worktrees/remove`, { body: JSON.stringify({ path: two.worktree }) });
  expect(refused.status).toBe(409);
  expect(refused.text).toContain('draft.txt');
  const forced = await h.client.removeProjectWorktree({ params: { id: project.id }, body: { path: two.worktree, force: true } });
  expect(forced).toEqual({ removed: true, branchDeleted: false, lost: ['draft.txt'] });
  expect(existsSync(two.worktree)).toBe(false);
  expect(sh(fx.repoDir, 'log', '-1', '--format=%s', two.branch)).toBe('header');

  // A clean task with nothing beyond the base is removed with it, its branch too.
  const removed = await h.client.deleteTask({ params: { id: one.task.id }, query: { worktree: 'remove' } });
  expect(removed).toEqual({ ok: true, worktree: { removed: true, branchDeleted: true, lost: [] } });
  expect(existsSync(one.worktree)).toBe(false);
  expect(await h.client.listProjectWorktrees({ params: { id: project.id } })).toEqual([]);
});

it('a worktree deleted by hand is listed as missing and made again from its branch by the task flow, with its commits', async () => {
  const fx = gitRepos();
  const h = await startCoderHarness();
  const project = await h.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
  const one = await startedTask(h, project.id, 'Add a footer');
  const tip = commitFile(one.worktree, 'footer.txt', 'footer\n', 'footer');
  rmSync(one.worktree, { recursive: true, force: true });

  expect((await h.client.listProjectWorktrees({ params: { id: project.id } })).map((w) => [w.identifier, w.state])).toEqual([['WEB-1', 'missing']]);
  expect(await h.app.tiny.taskFlow.sweep(false)).toBe(1);
  expect(existsSync(join(one.worktree, 'footer.txt'))).toBe(true);
  expect(sh(one.worktree, 'rev-parse', 'HEAD')).toBe(tip);
  expect((await h.client.listProjectWorktrees({ params: { id: project.id } })).map((w) => [w.identifier, w.state])).toEqual([['WEB-1', 'ready']]);
  expect(await h.app.tiny.taskFlow.sweep(false)).toBe(0);
});

/**
 * Git-native tasks, merge and removal (docs/git-tasks.md): `POST /api/tasks/:id/merge` merges a
 * task in review into its project's base, removes its worktree and moves it to done; refusals
 * (not in review, uncommitted work, a conflict, unknown task, a bad body, an unbound project)
 * change nothing. `GET /api/projects/:id/worktrees` lists the worktrees, the abandoned ones
 * marked, and removes nothing. Real git (test-kit's `gitRepos`), the routes on loopback, the real
 * orchestrator with the fake claude as the agent; waits on states, no sleeps.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitFile, gitRepos, sh, waitFor } from '@tinyagi/test-kit';
import { eventsOf, raw, type ServerHarness } from './harness.ts';
import { startCoderHarness } from './git-harness.ts';

/** A task of the project started (its worktree made, its run finished), with `file` committed on its branch and moved to review by a person. */
async function taskInReview(h: ServerHarness, projectId: string, title: string, file: string, content: string) {
  const started = await h.client.createTask({ body: { title, projectId, assigneeAgent: 'coder', status: 'in_progress' } });
  expect(started.git?.state).toBe('ready');
  const conversationId = started.conversationId!;
  await waitFor(async () => (await eventsOf(h.stores, { conversationId, types: ['conversation.completed'] })).length > 0, 30_000, `conversation ${conversationId} completed`);
  const worktree = started.git!.worktreePath!;
  const tip = commitFile(worktree, file, content, `${title}`);
  const review = await h.client.patchTask({ params: { id: started.id }, body: { status: 'review' } });
  return { task: review, worktree, branch: started.git!.branch!, tip };
}

describe('POST /api/tasks/:id/merge', () => {
  it('merges a task in review (a merge commit by default, or a fast-forward), removes its worktree and branch, moves it to done, with events; again is 409', async () => {
    const fx = gitRepos();
    const h = await startCoderHarness();
    const project = await h.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
    const one = await taskInReview(h, project.id, 'Add a footer', 'footer.txt', 'footer\n');
    const before = sh(fx.repoDir, 'rev-parse', 'main');

    const merged = await h.client.mergeTask({ params: { id: one.task.identifier! }, body: {} });
    expect(merged.task).toMatchObject({ id: one.task.id, status: 'done', git: { merge: { method: 'merge', branch: one.branch, baseRef: 'main', tip: one.tip, commit: merged.merge.commit } } });
    expect(merged.merge).toMatchObject({ method: 'merge', tip: one.tip, created: true });
    expect(merged.worktree).toEqual({ removed: true, branchDeleted: true });
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(merged.merge.commit);
    expect(sh(fx.repoDir, 'log', '-1', '--format=%P', 'main')).toBe(`${before} ${one.tip}`);
    expect(sh(fx.repoDir, 'log', '-1', '--format=%s', 'main')).toBe('Merge task WEB-1: Add a footer');
    // The repository's own checkout of main moved with its files.
    expect(readFileSync(join(fx.repoDir, 'footer.txt'), 'utf8')).toBe('footer\n');
    expect(sh(fx.repoDir, 'status', '--porcelain')).toBe('');
    expect(existsSync(one.worktree)).toBe(false);
    expect(sh(fx.repoDir, 'branch', '--list', one.branch)).toBe('');
    expect((await h.client.getTask({ params: { id: one.task.id } })).status).toBe('done');

    const two = await taskInReview(h, project.id, 'Add a header', 'header.txt', 'header\n');
    const ff = await h.client.mergeTask({ params: { id: two.task.id }, body: { method: 'ff' } });
    expect(ff.merge).toMatchObject({ method: 'ff', tip: two.tip, commit: two.tip, created: true });
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(two.tip);

    const mergedEvents = await eventsOf(h.stores, { types: ['task.merged'] });
    expect(mergedEvents.map((e) => [e.data.identifier, e.data.method, e.data.commit, e.data.created])).toEqual([
      ['WEB-1', 'merge', merged.merge.commit, true],
      ['WEB-2', 'ff', two.tip, true],
    ]);
    const removedEvents = await eventsOf(h.stores, { types: ['task.worktree_removed'] });
    expect(removedEvents.map((e) => [e.data.identifier, e.data.worktreePath, e.data.removed, e.data.branchDeleted])).toEqual([
      ['WEB-1', one.worktree, true, true],
      ['WEB-2', two.worktree, true, true],
    ]);

    const again = await raw(h, 'POST', `/api/tasks/${one.task.id}/merge`, { body: '{}' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'INVALID_STATE', message: expect.stringContaining('is in done, not review') } });
  });

  it('what the agent planted in its worktree (a lock, a .git pointed at a repository of its own) does not keep the merged task in review: the worktree goes, the task is done', async () => {
    const fx = gitRepos();
    const h = await startCoderHarness();
    const project = await h.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
    const locked = await taskInReview(h, project.id, 'Locked', 'locked.txt', 'locked\n');
    sh(locked.worktree, 'worktree', 'lock', '--reason', 'mine now', locked.worktree);
    const pointed = await taskInReview(h, project.id, 'Pointed', 'pointed.txt', 'pointed\n');
    const own = join(fx.root, 'agents-own');
    sh(fx.root, 'init', '--quiet', own);
    writeFileSync(join(pointed.worktree, '.git'), `gitdir: ${join(own, '.git')}\n`);

    for (const one of [locked, pointed]) {
      const merged = await h.client.mergeTask({ params: { id: one.task.id }, body: {} });
      expect(merged.task.status).toBe('done');
      expect(merged.worktree).toEqual({ removed: true, branchDeleted: true });
      expect(existsSync(one.worktree)).toBe(false);
      expect(sh(fx.repoDir, 'show', `main:${one === locked ? 'locked.txt' : 'pointed.txt'}`)).toBe(one === locked ? 'locked' : 'pointed');
    }
    expect(existsSync(join(own, '.git', 'HEAD'))).toBe(true);
  });

  it('a branch a person already merged by hand is reported merged without a new commit, and the task finishes; a recorded merge is finished, not made again, by the request or by a start', async () => {
    const fx = gitRepos();
    const h = await startCoderHarness();
    const project = await h.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
    const one = await taskInReview(h, project.id, 'Fix the title', 'title.txt', 'title\n');
    sh(fx.repoDir, 'merge', '--quiet', '--ff-only', one.branch);

    const merged = await h.client.mergeTask({ params: { id: one.task.id }, body: { method: 'merge' } });
    expect(merged.merge).toMatchObject({ tip: one.tip, commit: one.tip, created: false });
    expect(merged.task.status).toBe('done');
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(one.tip);
    expect(existsSync(one.worktree)).toBe(false);

    // A run a crash stopped after recording its merge (the task still in review, the worktree there): finished without merging or announcing it again.
    const two = await taskInReview(h, project.id, 'Fix the footer', 'footer.txt', 'footer\n');
    sh(fx.repoDir, 'merge', '--quiet', '--ff-only', two.branch);
    const record = { method: 'ff' as const, branch: two.branch, baseRef: 'main', tip: two.tip, commit: two.tip, mergedAt: Date.now() };
    await h.stores.tasks.setTaskGit(two.task.id, { ...two.task.git!, merge: record });
    const resumed = await h.client.mergeTask({ params: { id: two.task.id }, body: {} });
    expect(resumed.merge).toEqual({ ...record, created: false });
    expect(resumed.task.status).toBe('done');
    expect(existsSync(two.worktree)).toBe(false);
    expect((await eventsOf(h.stores, { types: ['task.merged'] })).map((e) => e.data.identifier)).toEqual(['WEB-1']);
    expect((await eventsOf(h.stores, { types: ['task.worktree_removed'] })).map((e) => e.data.identifier)).toEqual(['WEB-1', 'WEB-2']);

    // The same crash, with nobody asking again: a start finishes it (once), and leaves a task in review without a recorded merge alone.
    const three = await taskInReview(h, project.id, 'Fix the header', 'header.txt', 'header\n');
    const four = await taskInReview(h, project.id, 'Fix the menu', 'menu.txt', 'menu\n');
    sh(fx.repoDir, 'merge', '--quiet', '--ff-only', three.branch);
    await h.stores.tasks.setTaskGit(three.task.id, { ...three.task.git!, merge: { method: 'ff', branch: three.branch, baseRef: 'main', tip: three.tip, commit: three.tip, mergedAt: Date.now() } });
    expect(await h.app.tiny.taskFlow.sweep(true)).toBe(1);
    expect((await h.client.getTask({ params: { id: three.task.id } })).status).toBe('done');
    expect(existsSync(three.worktree)).toBe(false);
    expect(sh(fx.repoDir, 'branch', '--list', three.branch)).toBe('');
    expect((await h.client.getTask({ params: { id: four.task.id } })).status).toBe('review');
    expect(existsSync(four.worktree)).toBe(true);
    expect(await h.app.tiny.taskFlow.sweep(true)).toBe(0);
    expect((await eventsOf(h.stores, { types: ['task.merged'] })).map((e) => e.data.identifier)).toEqual(['WEB-1']);
    expect((await eventsOf(h.stores, { types: ['task.worktree_removed'] })).map((e) => e.data.identifier)).toEqual(['WEB-1', 'WEB-2', 'WEB-3']);
  });

  it('refusals change nothing: unknown task 404, bad method 400, not in review or unbound 409, uncommitted work and a conflict 409 with the task left in review and its worktree kept', async () => {
    const fx = gitRepos();
    const h = await startCoderHarness();
    const project = await h.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
    const plain = await h.client.createProject({ body: { name: 'Plain' } });

    const missing = await raw(h, 'POST', '/api/tasks/WEB-99/merge', { body: '{}' });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'TASK_NOT_FOUND' } });

    const one = await taskInReview(h, project.id, 'Edit the readme', 'README.md', '# from the task\n');
    const squash = await raw(h, 'POST', `/api/tasks/${one.task.id}/merge`, { body: JSON.stringify({ method: 'squash' }) });
    expect(squash.status).toBe(400);
    expect(squash.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });

    const unbound = await h.client.createTask({ body: { title: 'Not bound', projectId: plain.id, status: 'review' } });
    const notBound = await raw(h, 'POST', `/api/tasks/${unbound.id}/merge`, { body: '{}' });
    expect(notBound.status).toBe(409);
    expect(notBound.body).toMatchObject({ error: { code: 'INVALID_STATE', message: expect.stringContaining('not in a project bound to a git repository') } });

    const todo = await h.client.createTask({ body: { title: 'Not started', projectId: project.id, status: 'todo' } });
    const notReview = await raw(h, 'POST', `/api/tasks/${todo.id}/merge`, { body: '{}' });
    expect(notReview.status).toBe(409);
    expect(notReview.body).toMatchObject({ error: { code: 'INVALID_STATE', message: expect.stringContaining('is in todo, not review') } });

    const main = sh(fx.repoDir, 'rev-parse', 'main');
    // Uncommitted work in the task's worktree: nothing merged, nothing removed.
    writeFileSync(join(one.worktree, 'draft.txt'), 'not committed\n');
    const dirty = await raw(h, 'POST', `/api/tasks/${one.task.id}/merge`, { body: '{}' });
    expect(dirty.status).toBe(409);
    expect(dirty.body).toMatchObject({ error: { code: 'WORKTREE_UNSAFE', message: expect.stringContaining('has uncommitted changes (draft.txt); nothing was merged') } });
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(main);
    expect(existsSync(join(one.worktree, 'draft.txt'))).toBe(true);
    expect((await h.client.getTask({ params: { id: one.task.id } })).status).toBe('review');
    sh(one.worktree, 'clean', '--quiet', '-f');

    // main changed the same file meanwhile: a conflict, nothing written anywhere.
    const moved = commitFile(fx.repoDir, 'README.md', '# from main\n');
    const conflict = await raw(h, 'POST', `/api/tasks/${one.task.id}/merge`, { body: JSON.stringify({ method: 'merge' }) });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ error: { code: 'MERGE_CONFLICT', message: expect.stringContaining('conflicts with main in README.md'), details: { conflicts: ['README.md'] } } });
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(moved);
    expect(sh(fx.repoDir, 'status', '--porcelain')).toBe('');
    expect(existsSync(one.worktree)).toBe(true);
    const after = await h.client.getTask({ params: { id: one.task.id } });
    expect(after.status).toBe('review');
    expect(after.git?.merge).toBeUndefined();

    // Moving it to done by hand would claim a merge: a PATCH and a reorder are refused, the task left in review.
    const patched = await raw(h, 'PATCH', `/api/tasks/${one.task.id}`, { body: JSON.stringify({ status: 'done' }) });
    expect(patched.status).toBe(409);
    expect(patched.body).toMatchObject({ error: { code: 'INVALID_STATE', message: expect.stringContaining(`is done once its branch ${one.branch} is merged`) } });
    expect(patched.body).toMatchObject({ error: { message: expect.stringContaining('tinyagi task merge WEB-1') } });
    const reordered = await raw(h, 'POST', '/api/tasks/reorder', { body: JSON.stringify({ columns: { done: [one.task.id] } }) });
    expect(reordered.status).toBe(409);
    expect((await h.client.getTask({ params: { id: one.task.id } })).status).toBe('review');
    // A task of the project never started (no branch) may still be closed by hand.
    expect((await h.client.patchTask({ params: { id: todo.id }, body: { status: 'done' } })).status).toBe('done');
    expect(await eventsOf(h.stores, { types: ['task.merged', 'task.worktree_removed'] })).toEqual([]);
  });

  it('merges what the passed Checking checked: a commit added since is refused (409, nothing merged); checked again, it merges', async () => {
    const fx = gitRepos();
    const h = await startCoderHarness();
    const project = await h.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
    const one = await taskInReview(h, project.id, 'Add a footer', 'footer.txt', 'footer\n');
    // The Checking that passed, as the daemon records it (server git-tasks.test.ts proves the step itself).
    const passed = (headSha: string) => ({
      state: 'passed' as const,
      headSha,
      startedAt: Date.now(),
      finishedAt: Date.now(),
      commits: 1,
      uncommitted: [],
      pushed: null,
      checks: [],
      missing: [],
      error: null,
    });
    await h.stores.tasks.setTaskGit(one.task.id, { ...one.task.git!, check: passed(one.tip) });
    const later = commitFile(one.worktree, 'extra.txt', 'unchecked\n', 'after review');
    const main = sh(fx.repoDir, 'rev-parse', 'main');

    const moved = await raw(h, 'POST', `/api/tasks/${one.task.id}/merge`, { body: '{}' });
    expect(moved.status).toBe(409);
    expect(moved.body).toMatchObject({
      error: {
        code: 'INVALID_STATE',
        message: expect.stringContaining(`moved since its checks passed (they checked ${one.tip.slice(0, 12)}, the branch is at ${later.slice(0, 12)})`),
        details: { checked: one.tip, tip: later },
      },
    });
    expect(moved.text).toContain('Check the new commits (tinyagi task check WEB-1');
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(main);
    expect(existsSync(one.worktree)).toBe(true);
    expect((await h.client.getTask({ params: { id: one.task.id } })).status).toBe('review');

    // The command the hint names: the daemon checks the branch as it is now, and the task is back in Review.
    expect((await h.client.checkTask({ params: { id: 'WEB-1' } })).status).toBe('checking');
    const rechecked = await waitFor(
      async () => {
        const t = await h.client.getTask({ params: { id: one.task.id } });
        return t.status === 'review' && t.git?.check?.headSha === later ? t : undefined;
      },
      30_000,
      'review after the checks again',
    );
    // The task's head is the one its last Checking found, not the one its worktree was made at.
    expect(rechecked.git?.headSha).toBe(later);
    const merged = await h.client.mergeTask({ params: { id: one.task.id }, body: { method: 'ff' } });
    expect(merged.merge).toMatchObject({ tip: later, commit: later, created: true });
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(later);
  });
});

describe('GET /api/projects/:id/worktrees', () => {
  it('lists the project’s worktrees with the abandoned ones marked and whether they could go; removes nothing; unknown 404, unbound 409', async () => {
    const fx = gitRepos();
    const h = await startCoderHarness();
    const repo = { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') };
    const project = await h.client.createProject({ body: { name: 'Web', repo } });
    const one = await taskInReview(h, project.id, 'Add a footer', 'footer.txt', 'footer\n');

    const listed = await h.client.listProjectWorktrees({ params: { id: project.id } });
    expect(listed).toEqual([
      {
        path: one.worktree,
        branch: one.branch,
        head: one.tip,
        taskId: one.task.id,
        identifier: 'WEB-1',
        state: 'ready',
        missing: false,
        lastActivityAt: expect.any(Number),
        idleMs: expect.any(Number),
        abandoned: false,
        removal: null,
      },
    ]);

    // Kept for a tiny fraction of a day: every worktree is abandoned at once, and still kept.
    await h.client.patchProject({ params: { id: project.id }, body: { repo: { ...repo, keepAbandonedDays: 1e-9 } } });
    const abandoned = await h.client.listProjectWorktrees({ params: { id: project.id } });
    expect(abandoned).toMatchObject([
      { taskId: one.task.id, state: 'abandoned', abandoned: true, removal: { safe: false, merged: false, pushed: false, uncommitted: [], reason: expect.stringContaining('not merged into main') } },
    ]);
    expect(existsSync(one.worktree)).toBe(true);

    const unknown = await raw(h, 'GET', '/api/projects/nope/worktrees');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'PROJECT_NOT_FOUND' } });
    const plain = await h.client.createProject({ body: { name: 'Plain' } });
    const unbound = await raw(h, 'GET', `/api/projects/${plain.id}/worktrees`);
    expect(unbound.status).toBe(409);
    expect(unbound.body).toMatchObject({ error: { code: 'INVALID_STATE' } });
  });
});

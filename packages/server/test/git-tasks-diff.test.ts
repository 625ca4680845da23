/**
 * Git-native tasks, the diff (docs/git-tasks.md, "The diff"): `GET /api/tasks/:id/diff` answers a
 * started task's commits and per-file diff against the base, a merged task's from its merge
 * commit or the base recorded before a fast-forward; a task with no branch yet, a fast-forward
 * recorded without that base, and an unbound project's are 409,
 * an unknown task 404. Real git (test-kit's `gitRepos`), the routes on loopback, the real
 * orchestrator with the fake claude as the agent; waits on states, no sleeps.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitFile, gitRepos, sh, waitFor } from '@tinyagi/test-kit';
import { eventsOf, raw } from './harness.ts';
import { startCoderHarness } from './git-harness.ts';

describe('GET /api/tasks/:id/diff', () => {
  it('answers the commits and the diff of a started task, then of the merged task from its merge commit; a fast-forward from the base before it; no branch, an old fast-forward record, unbound and unknown are refused', async () => {
    const fx = gitRepos();
    const h = await startCoderHarness();
    const project = await h.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });

    const todo = await h.client.createTask({ body: { title: 'Not started', projectId: project.id, assigneeAgent: 'coder', status: 'todo' } });
    const notYet = await raw(h, 'GET', `/api/tasks/${todo.id}/diff`);
    expect(notYet.status).toBe(409);
    expect(notYet.body).toMatchObject({ error: { code: 'INVALID_STATE', message: expect.stringContaining('has no branch yet') } });

    const started = await h.client.createTask({ body: { title: 'Add a footer', projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    const conversationId = started.conversationId!;
    await waitFor(async () => (await eventsOf(h.stores, { conversationId, types: ['conversation.completed'] })).length > 0, 30_000, 'the task conversation completed');
    const worktree = started.git!.worktreePath!;
    commitFile(worktree, 'footer.txt', 'footer\n', 'Add the footer');
    writeFileSync(join(worktree, 'README.md'), '# demo\nwith a footer\n');
    const tip = commitFile(worktree, 'footer.txt', 'footer, final\n', 'Polish the footer');
    sh(worktree, 'commit', '--quiet', '-am', 'Mention it');
    const head = sh(worktree, 'rev-parse', 'HEAD');

    const diff = await h.client.getTaskDiff({ params: { id: started.identifier! } });
    expect(diff).toMatchObject({ branch: started.git!.branch, baseRef: 'main', tip: head, merged: false, truncated: false });
    expect(diff.commits.map((c) => c.subject)).toEqual(['Mention it', 'Polish the footer', 'Add the footer']);
    expect(diff.files.map((f) => [f.path, f.status, f.additions, f.deletions])).toEqual([
      ['README.md', 'modified', 1, 0],
      ['footer.txt', 'added', 1, 0],
    ]);
    expect(diff.files[1]!.patch).toContain('+footer, final\n');
    expect(tip).not.toBe(head);

    // Merged with a merge commit: the diff is read from it, the branch and worktree gone.
    await h.client.patchTask({ params: { id: started.id }, body: { status: 'review' } });
    await h.client.mergeTask({ params: { id: started.id }, body: { method: 'merge' } });
    const after = await h.client.getTaskDiff({ params: { id: started.id } });
    expect(after).toMatchObject({ merged: true, tip: head });
    expect(after.files.map((f) => f.path)).toEqual(['README.md', 'footer.txt']);
    expect(after.commits).toHaveLength(3);

    // A fast-forward: read from the base recorded before it.
    const two = await h.client.createTask({ body: { title: 'Add a header', projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
    await waitFor(async () => (await eventsOf(h.stores, { conversationId: two.conversationId!, types: ['conversation.completed'] })).length > 0, 30_000, 'the second conversation completed');
    commitFile(two.git!.worktreePath!, 'header.txt', 'header\n');
    await h.client.patchTask({ params: { id: two.id }, body: { status: 'review' } });
    const mainBefore = sh(fx.repoDir, 'rev-parse', 'main');
    const ffMerged = await h.client.mergeTask({ params: { id: two.id }, body: { method: 'ff' } });
    expect(ffMerged.task.git?.merge).toMatchObject({ method: 'ff', baseBefore: mainBefore });
    const ff = await h.client.getTaskDiff({ params: { id: two.id } });
    expect(ff).toMatchObject({ merged: true, tip: ffMerged.merge.tip });
    expect(ff.files.map((f) => f.path)).toEqual(['header.txt']);

    // A fast-forward recorded without it (before slice 5): refused, saying why.
    const { baseBefore: _dropped, ...oldRecord } = ffMerged.task.git!.merge!;
    await h.stores.tasks.setTaskGit(two.id, { ...ffMerged.task.git!, merge: oldRecord });
    const old = await raw(h, 'GET', `/api/tasks/${two.id}/diff`);
    expect(old.status).toBe(409);
    expect(old.body).toMatchObject({ error: { code: 'INVALID_STATE', message: expect.stringContaining('a fast-forward') } });

    const unbound = await h.client.createTask({ body: { title: 'Loose', status: 'todo' } });
    expect((await raw(h, 'GET', `/api/tasks/${unbound.id}/diff`)).status).toBe(409);
    const unknown = await raw(h, 'GET', '/api/tasks/task_nope/diff');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'TASK_NOT_FOUND' } });
  });
});

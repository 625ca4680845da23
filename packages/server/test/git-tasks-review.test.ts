/**
 * Git-native tasks, review comments (docs/git-tasks.md, "Review comments"): a comment anchored on
 * a file and line of a task's diff (`POST /api/tasks/:id/comments` with `anchor`), and a person's
 * request for changes (`POST /api/tasks/:id/request-changes`): the review comments not sent before
 * and the summary go to the task's owner as one message, the task goes back to in_progress with
 * the round counted, each comment once. Real git (test-kit's `gitRepos`), the routes on loopback,
 * the real orchestrator with the fake claude as the agent (it logs each run's working directory and
 * prompt); waits on events and states, no sleeps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTaskReview } from '@tinyagi/git-tasks';
import { commitFile, gitRepos, tempDir, waitFor } from '@tinyagi/test-kit';
import { eventsOf, raw, type ServerHarness } from './harness.ts';
import { startCoderHarness } from './git-harness.ts';

function promptsLogged(logFile: string): Array<{ cwd: string; prompt: string }> {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { cwd: string; prompt: string });
}

async function completed(h: ServerHarness, conversationId: string): Promise<void> {
  await waitFor(async () => (await eventsOf(h.stores, { conversationId, types: ['conversation.completed'] })).length > 0, 30_000, `conversation ${conversationId} completed`);
}

/** A bound project, and a task of it started (its run finished) with a commit changing README.md and adding login.ts. */
async function startedTask(h: ServerHarness) {
  const fx = gitRepos();
  const project = await h.client.createProject({ body: { name: 'Web', repo: { path: fx.repoDir, worktreeRoot: join(fx.root, 'worktrees') } } });
  const task = await h.client.createTask({ body: { title: 'Fix login', projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });
  await completed(h, task.conversationId!);
  const worktree = task.git!.worktreePath!;
  commitFile(worktree, 'README.md', '# the demo\n', 'retitle');
  const tip = commitFile(worktree, 'login.ts', 'import { check } from "./check";\nexport const fixed = true;\n', 'fix login');
  return { fx, project, task, worktree, tip };
}

/** A refusal as `[status, code, message]` (the message carries the hint after it). */
const error = (res: { status: number; body: unknown }): [number, string, string] => {
  const { code, message } = (res.body as { error: { code: string; message: string } }).error;
  return [res.status, code, message];
};

describe('review comments', () => {
  it("anchors a comment on a file and line of the task's diff, with the branch's tip; refuses an unbound project's task, a task with no branch and a path not in the diff", async () => {
    const h = await startCoderHarness();
    const { project, task, tip } = await startedTask(h);

    const onLine = await h.client.addComment({ params: { id: task.identifier! }, body: { content: 'Keep it false for now.', anchor: { path: 'login.ts', line: 2 } } });
    expect(onLine).toMatchObject({ taskId: task.id, author: 'user', anchor: { path: 'login.ts', line: 2, side: 'new', commitSha: tip }, sentRound: null });
    const onBase = await h.client.addComment({ params: { id: task.id }, body: { content: 'The old title was fine.', author: 'ann', anchor: { path: 'README.md', line: 1, side: 'old' } } });
    expect(onBase.anchor).toEqual({ path: 'README.md', line: 1, side: 'old', commitSha: tip });
    // A plain comment is as before.
    expect(await h.client.addComment({ params: { id: task.id }, body: { content: 'Looks close.' } })).toMatchObject({ anchor: null, sentRound: null });

    const post = (id: string, body: object) => raw(h, 'POST', `/api/tasks/${id}/comments`, { body: JSON.stringify(body) });
    const unboundTask = await h.client.createTask({ body: { title: 'Loose', status: 'review' } });
    const notStarted = await h.client.createTask({ body: { title: 'Later', projectId: project.id, assigneeAgent: 'coder', status: 'todo' } });
    const refusals = [
      await post(unboundTask.id, { content: 'x', anchor: { path: 'login.ts', line: 1 } }),
      await post(notStarted.id, { content: 'x', anchor: { path: 'login.ts', line: 1 } }),
      await post(task.id, { content: 'x', anchor: { path: 'src/nope.ts', line: 1 } }),
      // Added by the task: the base has no lines of it.
      await post(task.id, { content: 'x', anchor: { path: 'login.ts', line: 1, side: 'old' } }),
      await post(task.id, { content: 'x', anchor: { path: 'login.ts', line: 0 } }),
    ];
    expect(refusals.map(error)).toEqual([
      [409, 'INVALID_STATE', expect.stringContaining('Task T-1 is not in a project bound to a git repository. A comment on a line of a diff needs one; comment without an anchor')],
      [409, 'INVALID_STATE', expect.stringContaining('Task WEB-2 has no branch yet, so it has no diff to comment on.')],
      [400, 'INVALID_PATH', expect.stringContaining(`"src/nope.ts" is not a file of task WEB-1's diff (at ${tip.slice(0, 12)}); its files: README.md, login.ts.`)],
      [400, 'INVALID_PATH', expect.stringContaining('"login.ts" is added by task WEB-1: the base has no lines of it.')],
      [400, 'VALIDATION_FAILED', expect.stringContaining('line')],
    ]);
    // Nothing stored for a refusal; a plain comment on the unbound task is fine.
    expect((await h.client.listComments({ params: { id: task.id } })).map((c) => c.id)).toHaveLength(3);
    expect(await h.client.listComments({ params: { id: notStarted.id } })).toEqual([]);
    expect((await post(unboundTask.id, { content: 'fine' })).status).toBe(201);
  });

  it('request changes sends the unsent review comments and the summary to the owner as one message in the worktree; the task is in progress with the round counted; each comment goes once, a later one alone', async () => {
    const logFile = join(tempDir('tinyagi-review-log-'), 'fake.log');
    const h = await startCoderHarness({ fakeLog: logFile });
    const { project, task, worktree } = await startedTask(h);
    const ask = (body: object = {}) => raw(h, 'POST', `/api/tasks/${task.id}/request-changes`, { body: JSON.stringify(body) });

    // Not in review (in progress), an unbound project's task, and nothing to send.
    const unbound = await h.client.createTask({ body: { title: 'Loose', status: 'review' } });
    const early = await ask({ summary: 'x' });
    expect(error(early)).toEqual([409, 'INVALID_STATE', expect.stringContaining('Task WEB-1 is in in_progress, not review: changes are asked of a task in review.')]);
    expect(error(await raw(h, 'POST', `/api/tasks/${unbound.id}/request-changes`, { body: '{}' }))).toEqual([
      409,
      'INVALID_STATE',
      expect.stringContaining('Task T-1 is not in a project bound to a git repository.'),
    ]);
    await h.client.patchTask({ params: { id: task.id }, body: { status: 'review' } });
    const nothing = await ask();
    expect(error(nothing)).toEqual([409, 'INVALID_STATE', expect.stringContaining('Nothing to send: task WEB-1 has no review comment that was not sent before, and no summary was given.')]);
    expect(error(nothing)[2]).toContain('tinyagi task comment --file --line');

    const onLine = await h.client.addComment({ params: { id: task.id }, body: { content: 'Keep it false until the flag ships.', anchor: { path: 'login.ts', line: 2 } } });
    const onBase = await h.client.addComment({ params: { id: task.id }, body: { content: 'The old title was fine.', author: 'ann', anchor: { path: 'README.md', line: 1, side: 'old' } } });
    const plain = await h.client.addComment({ params: { id: task.id }, body: { content: 'Not a review comment.' } });

    const first = await h.client.requestChanges({ params: { id: task.id }, body: { summary: 'Close, but not yet.' } });
    const comments = await h.client.listComments({ params: { id: task.id } });
    const summary = comments.at(-1)!;
    expect(summary).toMatchObject({ author: 'user', content: 'Close, but not yet.', anchor: null, sentRound: 1 });
    expect(first.sent).toEqual({ round: 1, commentIds: [onLine.id, onBase.id, summary.id], conversationId: expect.stringMatching(/^conv_/), messageId: expect.any(String) });
    expect(first.task).toMatchObject({ status: 'in_progress', conversationId: first.sent.conversationId, git: { rounds: 1, branch: task.git!.branch } });
    expect(comments.map((c) => [c.id, c.sentRound])).toEqual([
      [onLine.id, 1],
      [onBase.id, 1],
      [plain.id, null],
      [summary.id, 1],
    ]);
    const sentEvents = await eventsOf(h.stores, { types: ['task.review_sent'] });
    expect(sentEvents.map((e) => e.data)).toEqual([
      {
        taskId: task.id,
        identifier: 'WEB-1',
        projectId: project.id,
        round: 1,
        commentIds: [onLine.id, onBase.id, summary.id],
        conversationId: first.sent.conversationId,
        messageId: first.sent.messageId,
      },
    ]);

    // The owner's run: in the worktree, the message carrying each comment's file, line, the line's text and the comment.
    await completed(h, first.sent.conversationId);
    const run = promptsLogged(logFile).at(-1)!;
    expect(run.cwd).toBe(worktree);
    expect(run.prompt).toContain(`[task:${task.id}] WEB-1: Fix login`);
    expect(run.prompt).toContain("A person reviewed the task's diff and asks for changes (round 1): 2 comments on its lines.");
    expect(run.prompt).toContain('1. login.ts:2, from user, on the line:\n> export const fixed = true;\nKeep it false until the flag ships.');
    expect(run.prompt).toContain("2. README.md:1 (the base's line), from ann, on the line:\n> # demo\nThe old title was fine.");
    expect(run.prompt).toContain('In summary, from user:\nClose, but not yet.');
    expect(run.prompt).toContain(`Fix it in the worktree ${worktree}, commit, and say the task is done again.`);
    expect(run.prompt).not.toContain('Not a review comment.');

    // Moved back to review by hand: the same comments are not sent again.
    await h.client.patchTask({ params: { id: task.id }, body: { status: 'review' } });
    expect(error(await ask())[2]).toMatch(/^Nothing to send/);
    // A new comment later goes alone, in the next round.
    const later = await h.client.addComment({ params: { id: task.id }, body: { content: 'And log the failure.', anchor: { path: 'login.ts', line: 1 } } });
    // The branch moves on before the request: the comments follow their lines to the new tip (the stored anchor as written).
    const moved = commitFile(worktree, 'login.ts', '// checked first\nimport { check } from "./check";\nexport const fixed = false;\n', 'fixed false');
    const followed = (await h.client.listComments({ params: { id: task.id } })).filter((c) => c.anchor?.side === 'new');
    expect(followed.map((c) => [c.anchor!.line, c.anchor!.current])).toEqual([
      [2, { path: 'login.ts', line: null, commitSha: moved }],
      [1, { path: 'login.ts', line: 2, commitSha: moved }],
    ]);
    const second = await h.client.requestChanges({ params: { id: task.id }, body: {} });
    expect(second.sent).toMatchObject({ round: 2, commentIds: [later.id] });
    expect(second.task).toMatchObject({ status: 'in_progress', git: { rounds: 2 } });
    expect(second.sent.conversationId).not.toBe(first.sent.conversationId);
    await completed(h, second.sent.conversationId);
    const secondRun = promptsLogged(logFile).at(-1)!.prompt;
    expect(secondRun).toContain('(round 2): one comment on its lines.');
    expect(secondRun).toContain('1. login.ts:2 (written on line 1), from user, on the line:\n> import { check } from "./check";\nAnd log the failure.');
    expect(secondRun).not.toContain('Keep it false');
    expect(secondRun).not.toContain('In summary');
    expect((await eventsOf(h.stores, { types: ['task.review_sent'] })).map((e) => [e.data.round, e.data.commentIds])).toEqual([
      [1, [onLine.id, onBase.id, summary.id]],
      [2, [later.id]],
    ]);
  });

  it('run again after a crash (killed after the send, or after the comments were marked), it finds the message it sent: one message, one event, the round counted once', async () => {
    const logFile = join(tempDir('tinyagi-review-log-'), 'fake.log');
    const h = await startCoderHarness({ fakeLog: logFile });
    const { project, task } = await startedTask(h);
    await h.client.patchTask({ params: { id: task.id }, body: { status: 'review' } });
    const comment = await h.client.addComment({ params: { id: task.id }, body: { content: 'Rename it.', anchor: { path: 'login.ts', line: 1 } } });
    const ctx = h.app.tiny;
    const repo = (await h.client.getProject({ params: { id: project.id } })).repo!;
    const stores = h.stores.tasks;
    /** The step as the route runs it, the daemon killed at `killedAt` (that store call never happens). */
    const crashAt = async (killedAt: 'markCommentsSent' | 'setTaskGit') => {
      const current = await stores.mustGetTask(task.id);
      const tasks: Parameters<typeof runTaskReview>[0]['tasks'] = {
        listComments: (id) => stores.listComments(id),
        addComment: (id, input) => stores.addComment(id, input),
        deleteComment: (id) => stores.deleteComment(id),
        markCommentsSent: (id, ids, round) => stores.markCommentsSent(id, ids, round),
        setTaskGit: (id, git) => stores.setTaskGit(id, git),
        updateTask: (id, patch) => stores.updateTask(id, patch),
      };
      tasks[killedAt] = () => {
        throw new Error('killed');
      };
      const summary = { author: 'user', content: 'Also the tests.' };
      await expect(
        runTaskReview({ ...ctx.taskFlow.stepBase(project.id, repo, current), tasks, summary, send: (message, key, workdir) => ctx.taskFlow.sendToOwner(current, message, key, workdir) }),
      ).rejects.toThrow('killed');
    };

    await crashAt('markCommentsSent');
    expect((await eventsOf(h.stores, { types: ['task.review_sent'] })).map((e) => e.data.round)).toEqual([1]);
    const [sent] = await eventsOf(h.stores, { types: ['task.review_sent'] });
    await crashAt('setTaskGit');
    // Marked, not counted: the comments are this round's still.
    expect((await h.client.listComments({ params: { id: task.id } })).map((c) => c.sentRound)).toEqual([1, 1]);
    expect((await h.client.getTask({ params: { id: task.id } })).status).toBe('review');

    const again = await h.client.requestChanges({ params: { id: task.id }, body: { summary: 'Also the tests.' } });
    expect(again.sent).toMatchObject({ round: 1, conversationId: sent!.data.conversationId, messageId: sent!.data.messageId });
    expect(again.sent.commentIds).toEqual(sent!.data.commentIds);
    expect(again.task).toMatchObject({ status: 'in_progress', conversationId: sent!.data.conversationId, git: { rounds: 1 } });
    // The summary stored once, one event, one run of the owner.
    const comments = await h.client.listComments({ params: { id: task.id } });
    expect(comments.map((c) => [c.id === comment.id ? 'comment' : c.content, c.sentRound])).toEqual([
      ['comment', 1],
      ['Also the tests.', 1],
    ]);
    expect(await eventsOf(h.stores, { types: ['task.review_sent'] })).toHaveLength(1);
    await completed(h, again.sent.conversationId);
    expect(promptsLogged(logFile).filter((r) => r.prompt.includes('asks for changes'))).toHaveLength(1);
  });
});

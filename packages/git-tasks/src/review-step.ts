/**
 * A person's request for changes on a repository-bound task in Review (docs/git-tasks.md, "Review
 * comments"): the review comments not sent before go to the task's owner as one message, and the
 * task goes back to In progress. Contract:
 * - Only a task in `review` with a branch is sent back (INVALID_STATE otherwise); with no unsent
 *   review comment (a comment with an anchor and no `sentRound`) and no summary there is nothing to
 *   send (INVALID_STATE "Nothing to send").
 * - The message carries each comment as `path:line` (the base's line for side `old`), its line
 *   followed to the branch's tip (review-position.ts: moved, or outdated), its author, the line's
 *   text when the task's diff shows the followed line, and the comment; then the summary. It goes to
 *   the task's owner in the task's conversation, in the worktree.
 * - Once: the message's idempotency key is the round's and the sorted ids of the comments it
 *   carries. The summary is stored (as a comment without an anchor) before the send, marked with
 *   the round; a failed send removes it. Comments marked with the round the task has not counted
 *   yet are a run a crash interrupted, so they are this run's again: the step run again after a
 *   crash at any point finds the same comments, the same key and the message it sent (`created`
 *   false: no second `task.review_sent`).
 * - A round is counted (`task.git.rounds` + 1; a person asked, so `maxRounds` does not stop it),
 *   the comments are marked sent in it, and the task moves to `in_progress` with the message's
 *   conversation. The agent then says done again and the Checking runs as for any round.
 * The message itself is sent by the caller (`send`: the daemon's orchestrator), so core loads
 * nothing of teams.
 */
import { createHash } from 'node:crypto';
import { patchLineText, reviewPlaceText, type TaskDiff, type TaskGit } from '@tinyagi/client/contract';
import { type CommentRecord, type TaskRecord, type TaskStoreApi, TinyError } from './core.ts';
import { taskDiff } from './diff.ts';
import { resolveProjectRepo, taskWorktreePath } from './project-repo.ts';
import { anchoredFile } from './review-anchor.ts';
import { followComments } from './review-position.ts';
import type { TaskOwnerSend, TaskStepBase } from './task-step.ts';

export interface TaskReviewInput extends TaskStepBase {
  tasks: Pick<TaskStoreApi, 'listComments' | 'addComment' | 'deleteComment' | 'markCommentsSent' | 'setTaskGit' | 'updateTask'>;
  /** The person's summary, stored as a plain comment by `author` and sent with the review comments. */
  summary?: { author: string; content: string } | undefined;
  send: TaskOwnerSend;
  /** Who asks, when not a person (the forge's pull request): the message's first sentence for the round. */
  intro?: ((round: number) => string) | undefined;
}

export interface TaskReviewResult {
  task: TaskRecord;
  sent: { round: number; commentIds: number[]; conversationId: string; messageId: string; created: boolean };
}

/** A review comment as the message shows it: the comment, and its line's text when the diff shows it. */
export interface ReviewItem {
  comment: Pick<CommentRecord, 'author' | 'content' | 'anchor'>;
  lineText?: string | undefined;
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);

function place(comment: ReviewItem['comment']): string {
  return comment.anchor === null ? 'On the task as a whole' : reviewPlaceText(comment.anchor);
}

/** The owner's message (the module's contract): the header, each comment, the summary, what to do. */
export function reviewMessage(
  task: Pick<TaskRecord, 'id' | 'identifier' | 'title'>,
  items: ReviewItem[],
  summary: { author: string; content: string } | undefined,
  round: number,
  worktreePath: string,
  who?: string,
): string {
  const title = task.identifier ? `${task.identifier}: ${task.title}` : task.title;
  const count = items.length;
  const intro =
    who !== undefined
      ? who
      : count === 0
        ? `A person reviewed the task's diff and asks for changes (round ${round}).`
        : `A person reviewed the task's diff and asks for changes (round ${round}): ${count === 1 ? 'one comment' : `${count} comments`} on its lines.`;
  const comments = items.map((item, i) => {
    const head = `${i + 1}. ${place(item.comment)}, from ${item.comment.author}${item.lineText === undefined ? ':' : ', on the line:'}`;
    const quoted = item.lineText === undefined ? [] : [`> ${item.lineText}`];
    return [head, ...quoted, item.comment.content].join('\n');
  });
  return [
    `[task:${task.id}] ${title}`,
    intro,
    ...comments,
    ...(summary === undefined ? [] : [`In summary, from ${summary.author}:\n${summary.content}`]),
    `Fix it in the worktree ${worktreePath}, commit, and say the task is done again.`,
  ].join('\n\n');
}

/** The comments followed to the diff's tip, with their line's text read from the diff where it shows the followed line. */
async function withLineTexts(repoDir: string, comments: CommentRecord[], diff: TaskDiff | undefined, identifier: string): Promise<ReviewItem[]> {
  if (diff === undefined) return comments.map((comment) => ({ comment }));
  const followed = await followComments(repoDir, diff.tip, comments).catch(() => comments);
  return followed.map((comment) => {
    const anchor = comment.anchor;
    const line = anchor?.side === 'old' ? anchor.line : anchor?.current?.line;
    if (anchor === null || line == null) return { comment };
    try {
      const file = anchoredFile(diff, { path: anchor.current?.path ?? anchor.path, line, side: anchor.side }, identifier);
      return { comment, lineText: patchLineText(file.patch, anchor.side, line) };
    } catch {
      return { comment };
    }
  });
}

/** Runs the step for a task in review (the module's contract). */
export async function runTaskReview(input: TaskReviewInput): Promise<TaskReviewResult> {
  const { tasks, events, task } = input;
  const identifier = task.identifier ?? task.id;
  if (task.status !== 'review') {
    throw new TinyError('INVALID_STATE', `Task ${identifier} is in ${task.status}, not review: changes are asked of a task in review.`, {
      hint: task.status === 'in_progress' ? 'It is being worked on: comment on it, and ask for changes once it is back in review.' : 'Ask for changes once its checks have passed and it is in review.',
    });
  }
  const git: TaskGit | null = task.git;
  if (!git?.branch) {
    throw new TinyError('INVALID_STATE', `Task ${identifier} has no branch, so there is nothing of its to change.`, { hint: 'Move it to In progress: its worktree and branch are made then.' });
  }
  const round = (git.rounds ?? 0) + 1;
  // Marked with this round, not yet counted: a run of this step a crash interrupted, whose comments are this run's again.
  const ofThisRound = (c: CommentRecord): boolean => c.sentRound === null || c.sentRound === round;
  const comments = await tasks.listComments(task.id);
  const pending = comments.filter((c) => c.anchor !== null && ofThisRound(c));
  const summary = input.summary;
  if (pending.length === 0 && summary === undefined) {
    throw new TinyError('INVALID_STATE', `Nothing to send: task ${identifier} has no review comment that was not sent before, and no summary was given.`, {
      hint: 'Comment on a line of its diff first (POST /api/tasks/:id/comments with an anchor; tinyagi task comment --file --line), or give a summary.',
    });
  }

  const ctx = resolveProjectRepo(input.repo, { projectId: input.projectId, home: input.home });
  const worktreePath = git.worktreePath ?? taskWorktreePath(ctx, { id: task.id, identifier, title: task.title });
  // The line texts help the owner; they are not a condition: a diff git cannot give leaves them out.
  const diff = await taskDiff(ctx, { identifier, git }).catch(() => undefined);
  // The summary is kept as a comment, stored as sent in this round so a run again finds it (and a failed send removes it).
  const found = summary === undefined ? undefined : comments.find((c) => c.anchor === null && c.sentRound === round && c.author === summary.author && c.content === summary.content);
  const summaryComment = summary === undefined ? undefined : (found ?? (await tasks.addComment(task.id, { author: summary.author, content: summary.content, sentRound: round })));
  const commentIds = [...pending.map((c) => c.id), ...(summaryComment === undefined ? [] : [summaryComment.id])].sort((a, b) => a - b);
  const key = `task:${task.id}:review:${round}:${sha(commentIds.join(','))}`;
  let sent: Awaited<ReturnType<TaskOwnerSend>>;
  try {
    sent = await input.send(reviewMessage(task, await withLineTexts(ctx.repoDir, pending, diff, identifier), summary, round, worktreePath, input.intro?.(round)), key, worktreePath);
  } catch (err) {
    if (summaryComment !== undefined && found === undefined) await tasks.deleteComment(summaryComment.id);
    throw err;
  }
  const { created, ...message } = sent;
  // A duplicate (the step run again after a crash) was announced when it was sent.
  if (created) await events.append({ type: 'task.review_sent', data: { taskId: task.id, identifier, projectId: input.projectId, round, commentIds, ...message } });
  await tasks.markCommentsSent(task.id, commentIds, round);
  await tasks.setTaskGit(task.id, { ...git, rounds: round, updatedAt: Date.now() });
  const after = (await tasks.updateTask(task.id, { status: 'in_progress', conversationId: message.conversationId })).after;
  return { task: after, sent: { round, commentIds, ...message, created } };
}

/**
 * The merge step of a repository-bound task (docs/git-tasks.md, "Merge, and worktree removal"):
 * what the daemon runs when a person (or the binding's auto-merge) merges a task in Review. Contract:
 * - Only a task in `review` is merged (INVALID_STATE otherwise), only a worktree without
 *   uncommitted changes (WORKTREE_UNSAFE: what is merged is what was committed and reviewed), and,
 *   when a Checking passed, only the commit it checked (INVALID_STATE when the branch moved since:
 *   commits nobody checked are not merged); a refusal changes nothing: no ref, no file, no status.
 * - The branch goes into the base (`mergeTaskBranch`: fast-forward or a merge commit, never in a
 *   working tree; a conflict is MERGE_CONFLICT with nothing written). The merge, confirmed by
 *   ancestry, is recorded on `task.git.merge` and announced (`task.merged`) before anything is
 *   removed.
 * - Then the worktree is removed (`removeTaskWorktree`, which checks again and refuses unsafe
 *   removal whatever this step believes) and the local branch deleted (`task.worktree_removed`),
 *   and the task moves to `done`.
 * - Restartable: run again after a crash at any point, a recorded merge whose tip is in the base
 *   is not merged again nor announced again; the removal is idempotent; the move is the last step.
 */
import type { MergedBy, MergeMethod, TaskGit, TaskMerge } from '@tinyagi/client/contract';
import { type TaskRecord, type TaskStoreApi, TinyError } from './core.ts';
import { baseCommit, refuseUncommitted } from './branch-state.ts';
import { isAncestor, resolveCommit } from './git.ts';
import type { MergeHeads } from './auto-merge.ts';
import { mergeTaskBranch } from './merge.ts';
import { ensureRepository, type ProjectRepoContext, resolveProjectRepo, taskBranchName, taskWorktreePath } from './project-repo.ts';
import type { TaskStepBase } from './task-step.ts';
import { removeTaskWorktree } from './worktrees.ts';

export interface TaskMergeInput extends TaskStepBase {
  tasks: Pick<TaskStoreApi, 'setTaskGit' | 'updateTask'>;
  method: MergeMethod;
  /** Who merges: a person (default) or the binding's auto-merge (`autoMerge`; recorded and announced). */
  by?: MergedBy;
}

export interface TaskMergeStepResult {
  task: TaskRecord;
  /** `created`: false when nothing was written (the base held the tip already, or a run before this one merged it). */
  merge: TaskMerge & { created: boolean };
  worktree: { removed: boolean; branchDeleted: boolean };
}

export async function runTaskMerge(input: TaskMergeInput): Promise<TaskMergeStepResult> {
  const { tasks, events, task } = input;
  const identifier = task.identifier ?? task.id;
  if (task.status !== 'review') {
    throw new TinyError('INVALID_STATE', `Task ${identifier} is in ${task.status}, not review: only a task in review is merged.`, {
      hint: 'Merge it once its checks have passed and it is in review.',
    });
  }
  const ctx = resolveProjectRepo(input.repo, { projectId: input.projectId, home: input.home });
  const ref = { id: task.id, identifier, title: task.title, branch: task.git?.branch ?? null };
  await ensureRepository(ctx);
  const worktreePath = task.git?.worktreePath ?? taskWorktreePath(ctx, ref);

  const recorded = task.git?.merge;
  let merge: TaskMergeStepResult['merge'];
  if (recorded !== undefined && (await isAncestor(ctx.repoDir, recorded.tip, await baseCommit(ctx)))) {
    // Merged by a run a crash (or a refused removal) interrupted: finish it.
    merge = { ...recorded, created: false };
  } else {
    await refuseUncommitted(ctx, worktreePath, identifier);
    const checked = task.git?.check;
    if (checked?.state === 'passed' && checked.headSha !== null) {
      const branch = await taskBranchName(ctx, ref);
      const tip = await resolveCommit(ctx.repoDir, `refs/heads/${branch}`);
      if (tip !== undefined && tip !== checked.headSha) {
        throw new TinyError(
          'INVALID_STATE',
          `Task ${identifier}'s branch ${branch} moved since its checks passed (they checked ${checked.headSha.slice(0, 12)}, the branch is at ${tip.slice(0, 12)}); nothing was merged.`,
          { details: { checked: checked.headSha, tip }, hint: `Check the new commits (tinyagi task check ${identifier}, or Check again in TinyOffice), then merge.` },
        );
      }
    }
    const merged = await mergeTaskBranch(ctx, ref, { method: input.method });
    merge = {
      method: merged.method,
      branch: merged.branch,
      baseRef: ctx.repo.baseRef,
      tip: merged.tip,
      commit: merged.commit,
      // Where the task's diff starts once its branch is gone (diff.ts).
      ...(merged.baseBefore === undefined ? {} : { baseBefore: merged.baseBefore }),
      mergedAt: Date.now(),
      by: input.by ?? 'person',
      created: merged.created,
    };
    const { created: _created, ...record } = merge;
    // Merged: an auto-merge refused before is over.
    const { autoMergeRefused: _refused, ...git }: TaskGit = task.git ?? { state: 'ready', branch: merged.branch, worktreePath: null, headSha: merged.tip, error: null, updatedAt: Date.now() };
    await tasks.setTaskGit(task.id, { ...git, merge: record, updatedAt: Date.now() });
    await events.append({
      type: 'task.merged',
      data: {
        taskId: task.id,
        identifier,
        projectId: input.projectId,
        method: merge.method,
        branch: merge.branch,
        baseRef: merge.baseRef,
        tip: merge.tip,
        commit: merge.commit,
        created: merge.created,
        by: input.by ?? 'person',
      },
    });
  }

  return finishTaskMerge(input, ctx, ref, worktreePath, merge);
}

/** The task's branch tip and the base's commit now (null when unreadable): a refused auto-merge is tried again when either moves. */
export async function mergeHeads(input: TaskStepBase): Promise<MergeHeads> {
  const ctx = resolveProjectRepo(input.repo, { projectId: input.projectId, home: input.home });
  const { task } = input;
  const ref = { id: task.id, identifier: task.identifier ?? task.id, title: task.title, branch: task.git?.branch ?? null };
  const read = (work: () => Promise<string | undefined>) =>
    work().then(
      (sha) => sha ?? null,
      () => null,
    );
  return {
    tip: await read(async () => resolveCommit(ctx.repoDir, `refs/heads/${await taskBranchName(ctx, ref)}`)),
    base: await read(() => baseCommit(ctx)),
  };
}

/**
 * A confirmed merge's end, for the local merge and the forge's: the worktree removed (which
 * refuses unsafe removal whatever the caller believes) with its event, then the move to `done`,
 * last, so a crash before it leaves the task in Review for the step run again.
 */
export async function finishTaskMerge(
  input: Pick<TaskStepBase, 'task' | 'events' | 'projectId'> & { tasks: Pick<TaskStoreApi, 'updateTask'> },
  ctx: ProjectRepoContext,
  ref: { id: string; identifier: string; title: string },
  worktreePath: string,
  merge: TaskMergeStepResult['merge'],
): Promise<TaskMergeStepResult> {
  const removed = await removeTaskWorktree(ctx, ref, worktreePath);
  await input.events.append({
    type: 'task.worktree_removed',
    data: { taskId: input.task.id, identifier: ref.identifier, projectId: input.projectId, worktreePath, branch: merge.branch, removed: removed.removed, branchDeleted: removed.branchDeleted },
  });
  const after = (await input.tasks.updateTask(input.task.id, { status: 'done' })).after;
  return { task: after, merge, worktree: { removed: removed.removed, branchDeleted: removed.branchDeleted } };
}

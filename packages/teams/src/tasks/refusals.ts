/**
 * The moves a task's workflow refuses (docs/git-tasks.md): who may move a repository-bound task
 * where. Each throws a TinyError (409 INVALID_STATE) naming the way that works, and reads no more
 * than the task and its project.
 */
import type { TaskStatus } from '@tinyagi/client/contract';
import { TinyError } from '@tinyagi/core';
import type { TaskRecord, TaskStoreApi } from '../core-internal.ts';

type Projects = Pick<TaskStoreApi, 'getProject'>;

async function isBound(tasks: Projects, projectId: string | null): Promise<boolean> {
  return projectId !== null && (await tasks.getProject(projectId))?.repo != null;
}

/**
 * `checking` is the daemon's status: a task is moved into it by the daemon proving "done", never
 * by a request. A task already there may stay (a reorder within the column).
 */
export function refuseMoveToChecking(before: TaskRecord | undefined, status: TaskStatus | undefined): void {
  if (status !== 'checking' || before?.status === 'checking') return;
  throw new TinyError('INVALID_STATE', `Task ${before?.identifier ?? 'new'} cannot be moved to checking: only the daemon moves a task there, while it proves a repository-bound task's "done".`, {
    hint: 'Move it to review or done; for a repository-bound project the agent saying done will move it to checking (docs/git-tasks.md).',
  });
}

/**
 * In a repository-bound project a task with a branch is done once its branch is merged: moving it
 * to `done` by hand (a PATCH, a reorder, the agent's own update) would claim a merge that did not
 * happen and keep its worktree, so it is refused with the way to merge. A task with no branch
 * (never started) may be closed by hand; one already merged is moved by the merge itself.
 */
export async function refuseDoneWithoutMerge(tasks: Projects, before: TaskRecord, status: TaskStatus | undefined, projectId = before.projectId): Promise<void> {
  if (status !== 'done' || before.status === 'done' || !before.git?.branch || before.git.merge !== undefined) return;
  if (!(await isBound(tasks, projectId))) return;
  const identifier = before.identifier ?? before.id;
  throw new TinyError('INVALID_STATE', `Task ${identifier} is done once its branch ${before.git.branch} is merged: moving it to done would not merge it.`, {
    hint: `Merge it from Review: tinyagi task merge ${identifier} (POST /api/tasks/${before.id}/merge, or Merge in TinyOffice), which moves it to done.`,
  });
}

/** True when the agent's status change is its "done" for a task the daemon must prove. */
export async function saysDoneOnBoundTask(tasks: Projects, task: TaskRecord, status: string | undefined): Promise<boolean> {
  if ((status !== 'review' && status !== 'done') || task.status !== 'in_progress') return false;
  return isBound(tasks, task.projectId);
}

/**
 * A bound task reaches review only through its Checking, from in progress: the agent's "done" on a
 * task a person moved away (to To do, say; a run the daemon's restart carried on says done late)
 * would put unproven work in Review over the person's decision, and keep its worktree in use.
 */
export async function refuseAgentReviewOutOfWork(tasks: Projects, task: TaskRecord, status: string | undefined): Promise<void> {
  if (status !== 'review' || task.status === 'in_progress' || task.status === 'review' || task.status === 'checking') return;
  if (!(await isBound(tasks, task.projectId))) return;
  throw new TinyError('INVALID_STATE', `Task ${task.identifier ?? task.id} is in ${task.status}, not in progress: a person moved it, so your move to review was not taken.`, {
    hint: 'Stop working on it; a person moves it back to In progress if the work should go on.',
  });
}

/**
 * While the daemon proves a bound task's "done", the agent cannot move it (to review, past the
 * proof, or anywhere else): the step moves it when it finishes. A person still may.
 */
export async function refuseAgentMoveWhileChecking(tasks: Projects, task: TaskRecord, status: string | undefined): Promise<void> {
  if (task.status !== 'checking' || status === undefined || status === 'checking') return;
  if (!(await isBound(tasks, task.projectId))) return;
  throw new TinyError('INVALID_STATE', `Task ${task.identifier ?? task.id} is being checked: the daemon moves it to review when its facts hold, or back to in_progress with what failed.`, {
    hint: 'Wait for the result (a message comes back if something fails); a person can move the task by hand.',
  });
}

/**
 * A task a person took over (`take_over`: no assignee since) is the person's: an agent's run of its
 * older conversations may still call its `update_task`, and moving the task (its "done" would
 * start a Checking whose feedback has nobody to go to) is refused. Assigning it again ends this.
 */
export function refuseAgentMoveOfTakenOverTask(task: TaskRecord, status: string | undefined): void {
  if (status === undefined || status === task.status || task.assigneeAgent !== null || task.assigneeTeam !== null) return;
  if (task.git?.roundsApproval?.decision !== 'take_over') return;
  throw new TinyError('INVALID_STATE', `Task ${task.identifier ?? task.id} was taken over by ${task.git.roundsApproval.decidedBy ?? 'a person'}: an agent no longer moves it.`, {
    hint: 'Leave the task to the person; they assign it again to hand it back.',
  });
}

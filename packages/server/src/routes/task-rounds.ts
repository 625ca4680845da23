/**
 * A task's rounds ran out (docs/git-tasks.md, "Built (slice 7)"): the `task_rounds` approval a
 * person answers at the desk, and its answer carried out on the task (core's rounds-step.ts): more
 * rounds (the round's feedback to the owner), take over, or stop. At start, a request recorded on
 * a task but not made (a crash between the two) is made, and an answer not carried out yet (a crash
 * after the desk recorded it) is carried out; a pending one waits, never expired.
 */
import { TinyError } from '@tinyagi/core';
import { carryOutRoundsAnswer, requestRoundsApproval, roundsApprovalId, type ApprovalRecord, type TaskRecord } from '@tinyagi/core/internal';
import type { ServerContext } from '../context.ts';
import { hasForge, syncForge } from './task-forge.ts';
import { sendToTaskOwner, taskStepBase } from './tasks.ts';

/** Carries out an answered `task_rounds` request on its task; the task after, or undefined when there was nothing to do. */
export async function carryOutTaskRoundsAnswer(ctx: ServerContext, approval: ApprovalRecord): Promise<TaskRecord | undefined> {
  if (approval.kind !== 'task_rounds' || approval.taskId === undefined || approval.status !== 'answered') return undefined;
  const task = await ctx.tasks.getTask(approval.taskId);
  const project = task?.projectId ? await ctx.tasks.getProject(task.projectId) : undefined;
  if (!task || !project?.repo) return undefined;
  const base = taskStepBase(ctx, project.id, project.repo, task);
  const { task: after, acted } = await carryOutRoundsAnswer({
    tasks: ctx.tasks,
    events: base.events,
    home: base.home,
    projectId: project.id,
    repo: project.repo,
    approval,
    send: (message, idempotencyKey, workdir) => sendToTaskOwner(ctx, task, message, idempotencyKey, workdir),
  });
  if (!acted) return undefined;
  // More rounds for a task waiting in Review: its pull request is read now, so the held-back failed check runs go to the owner (the poll sends them otherwise).
  if (approval.decision === 'more_rounds' && after.status === 'review' && hasForge(project)) {
    try {
      return (await syncForge(ctx, project, after, taskStepBase(ctx, project.id, project.repo, after), sendToTaskOwner)).task;
    } catch (err) {
      ctx.log.warn(
        `Task ${after.identifier ?? after.id}: reading its pull request after more rounds failed (the poll and tinyagi task sync try again): ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return after;
}

/**
 * At start, for a task left in `checking` as `needs_person` (or in `review`, its pull request's
 * failed check runs waiting for an answer not carried out): its request is made if it is not
 * (also for a task a daemon before this slice left waiting: it records one now), and an answer
 * not carried out is carried out. True when it did something.
 */
export async function resumeTaskRounds(ctx: ServerContext, task: TaskRecord): Promise<boolean> {
  const project = task.projectId ? await ctx.tasks.getProject(task.projectId) : undefined;
  if (!project?.repo || task.git == null) return false;
  let current = task;
  if (current.git?.roundsApproval === undefined) {
    current = await ctx.tasks.setTaskGit(task.id, { ...task.git, roundsApproval: { id: roundsApprovalId(task.id, task.git.rounds ?? 0, undefined), requestedAt: Date.now() }, updatedAt: Date.now() });
  }
  const made = await requestRoundsApproval({ approvals: ctx.stores.approvals, events: ctx.stores.events, projectId: project.id, repo: project.repo }, current);
  if (made === undefined) return false;
  if (made.approval.status === 'pending') return made.created;
  return (await carryOutTaskRoundsAnswer(ctx, made.approval)) !== undefined;
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

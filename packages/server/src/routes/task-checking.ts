/**
 * "Done" → Checking (docs/git-tasks.md): the agent that works on a repository-bound task saying it
 * is done (its `update_task` tool with `review` or `done`) moves the task to `checking`, and the
 * daemon proves it in the background (core's `runTaskChecking`): Review when every fact holds,
 * else back to In progress with the failures sent once to the owner. At start, a Checking a stop
 * interrupted is run again (`running`) or finished (`passed`/`failed` recorded, not yet moved).
 */
import { finishTaskChecking, runTaskChecking, TinyError, type TaskRecord } from '@tinyagi/core/internal';
import type { ServerContext } from '../context.ts';
import { carryOutTaskRoundsAnswer, resumeTaskRounds } from './task-rounds.ts';
import { openPullRequestAfterChecking } from './task-forge.ts';
import { mergeByRule, sendToTaskOwner, taskStepBase } from './tasks.ts';

/** The Checkings in flight, per server: closing the server waits for them. */
const inFlight = new WeakMap<ServerContext, Set<Promise<unknown>>>();

export function checkingsInFlight(ctx: ServerContext): Promise<unknown> {
  return Promise.allSettled([...(inFlight.get(ctx) ?? [])]);
}

/** True when the agent's status change is its "done" for a task the daemon must prove. */
export async function saysDoneOnBoundTask(ctx: ServerContext, task: TaskRecord, status: string | undefined): Promise<boolean> {
  if ((status !== 'review' && status !== 'done') || task.status !== 'in_progress' || task.projectId === null) return false;
  return (await ctx.tasks.getProject(task.projectId))?.repo != null;
}

/**
 * While the daemon proves a bound task's "done", the agent cannot move it (to review, past the
 * proof, or anywhere else): the step moves it when it finishes. A person still may.
 */
export async function refuseAgentMoveWhileChecking(ctx: ServerContext, task: TaskRecord, status: string | undefined): Promise<void> {
  if (task.status !== 'checking' || status === undefined || status === 'checking' || task.projectId === null) return;
  if ((await ctx.tasks.getProject(task.projectId))?.repo == null) return;
  throw new TinyError('INVALID_STATE', `Task ${task.identifier ?? task.id} is being checked: the daemon moves it to review when its facts hold, or back to in_progress with what failed.`, {
    hint: 'Wait for the result (a message comes back if something fails); a person can move the task by hand.',
  });
}

/** Moves the task to `checking` (the daemon's move) and starts proving it in the background. */
export async function startChecking(ctx: ServerContext, task: TaskRecord, saidBy?: { runId: string; conversationId: string }): Promise<TaskRecord> {
  const after = (await ctx.tasks.updateTask(task.id, { status: 'checking' })).after;
  await ctx.stores.events.append({
    type: 'task.checking',
    data: { taskId: task.id, identifier: task.identifier ?? task.id, projectId: task.projectId ?? '', round: task.git?.rounds ?? 0 },
  });
  track(ctx, after, saidBy);
  return after;
}

function track(ctx: ServerContext, task: TaskRecord, saidBy?: { runId: string; conversationId: string }): void {
  const set = inFlight.get(ctx) ?? new Set<Promise<unknown>>();
  inFlight.set(ctx, set);
  const work = proveDone(ctx, task, saidBy).catch((err: unknown) => {
    ctx.log.warn(`Task ${task.identifier ?? task.id}: checking failed: ${err instanceof Error ? err.message : String(err)}`);
  });
  set.add(work);
  void work.finally(() => set.delete(work));
}

async function proveDone(ctx: ServerContext, task: TaskRecord, saidBy?: { runId: string; conversationId: string }): Promise<void> {
  const project = task.projectId ? await ctx.tasks.getProject(task.projectId) : undefined;
  if (!project?.repo) return;
  await runTaskChecking({
    ...taskStepBase(ctx, project.id, project.repo, task),
    tasks: ctx.tasks,
    approvals: ctx.stores.approvals,
    // The orchestrator's observers hear the Checking (its spans in the trace export: docs/telemetry.md).
    ...(saidBy === undefined ? {} : { saidBy }),
    onChecked: (event) => ctx.orchestrator.notifyTaskChecked?.(event),
    send: (message, idempotencyKey, workdir) => sendToTaskOwner(ctx, task, message, idempotencyKey, workdir),
  });
  await openPullRequestAfterChecking(ctx, task.id, taskStepBase);
  // The binding's merge rule, if any, may merge it now (with a forge, once its check runs and reviews allow).
  await mergeByRule(ctx, task.id);
}

/**
 * At start: tasks in `checking` whose step a stop interrupted. A `running` (or never recorded)
 * check is run again whole; a `passed` or `failed` one whose move did not happen is finished;
 * `needs_person` waits for a person (its `task_rounds` request made or its answer carried out
 * when a crash left either undone: task-rounds.ts). Returns how many it started or finished.
 */
export async function resumeCheckings(ctx: ServerContext): Promise<number> {
  let n = 0;
  for (const task of await ctx.tasks.listTasks({ status: 'checking' })) {
    const state = task.git?.check?.state;
    if (state === 'needs_person') {
      // A person is asked (task_rounds): the request made if a crash left it unmade, an answer carried out if a crash left it undone.
      if (await resumeTaskRounds(ctx, task)) n++;
      continue;
    }
    n++;
    if (state === 'passed' || state === 'failed') await finishTaskChecking(ctx.tasks, task.id);
    else track(ctx, task);
  }
  // A task in review whose pull request's failed check runs wait for a person (forge-step.ts): an answer a crash left undone is carried
  // out (a request a crash left unmade is made by the next read of the pull request, which knows what fails).
  for (const task of await ctx.tasks.listTasks({ status: 'review' })) {
    const asked = task.git?.roundsApproval;
    if (task.git?.pullRequest === undefined || asked === undefined || asked.decision !== undefined) continue;
    const approval = await ctx.stores.approvals.get(asked.id);
    if (approval?.status === 'answered' && (await carryOutTaskRoundsAnswer(ctx, approval)) !== undefined) n++;
  }
  return n;
}

/**
 * A task step (docs/workflows.md, "Tasks and best of N"): a git task of a bound project, made for
 * one agent and started through the task flow (its worktree, its checks, its rounds:
 * docs/git-tasks.md), followed until it is in Review with its checks passed or cannot pass.
 * - Made once: the task's id is journaled on the step as soon as it exists, and its description
 *   carries the step's mark, so a replay after a crash between the two finds it instead of making
 *   a second one. A best of N's task is made with its auto-merge withheld (found in the Backlog not
 *   started yet, a replay withholds it and starts it).
 * - It ends `passed` in Review with a passed Checking, or once merged; `failed` when its checks
 *   still fail after its rounds (it waits for a person), its worktree could not be made, a person
 *   stopped it, or it was deleted.
 */
import type { TaskOutcome, TaskStepSpec } from '@tinyagi/client';
import { TinyError } from '@tinyagi/core';
import type { StoreSet, TaskRecord, WorkflowRunRecord, WorkflowStepRecord } from '../core-internal.ts';
import type { TaskFlow } from '../tasks/flow.ts';
import type { AgentStepResult } from './program-context.ts';

export interface TaskStepDeps {
  flow: Pick<TaskFlow, 'create' | 'diff' | 'patch' | 'withholdAutoMerge'>;
  stores: Pick<StoreSet, 'events' | 'tasks' | 'workflows'>;
  agentIds(): readonly string[];
}

export interface TaskStepOptions {
  /** The task's auto-merge is withheld, saying why (a best of N's candidate: its workflow merges the winner). */
  autoMergeWithheld?: string | undefined;
}

/** The line in a task's description that says which step made it. */
function mark(run: Pick<WorkflowRunRecord, 'id'>, step: Pick<WorkflowStepRecord, 'stepId' | 'attempt'>): string {
  return `(workflow run ${run.id}, step ${step.stepId}, attempt ${step.attempt})`;
}

export async function runTaskStep(
  deps: TaskStepDeps,
  run: Pick<WorkflowRunRecord, 'id' | 'name'>,
  step: WorkflowStepRecord,
  spec: TaskStepSpec,
  signal: AbortSignal,
  onMade: (taskId: string) => void,
  options: TaskStepOptions = {},
): Promise<AgentStepResult> {
  const task = await madeTask(deps, run, step, spec, onMade, options);
  const ended = await taskEnded(deps.stores, task.id, signal);
  return { output: await outcomeOf(deps, ended, spec.agent), costUsd: 0, tokens: 0 };
}

async function madeTask(
  deps: TaskStepDeps,
  run: Pick<WorkflowRunRecord, 'id'>,
  step: WorkflowStepRecord,
  spec: TaskStepSpec,
  onMade: (taskId: string) => void,
  options: TaskStepOptions,
): Promise<TaskRecord> {
  const tasks = deps.stores.tasks;
  if (step.taskId) {
    const known = await tasks.getTask(step.taskId);
    if (!known) throw new Error(`its task ${step.taskId} was deleted`);
    return known;
  }
  if (!deps.agentIds().includes(spec.agent)) throw new TinyError('AGENT_NOT_FOUND', `No agent "${spec.agent}" in the settings.`);
  const project = (await tasks.getProject(spec.project)) ?? (await tasks.listProjects()).find((p) => p.name === spec.project);
  if (!project) throw new TinyError('PROJECT_NOT_FOUND', `No project "${spec.project}".`);
  if (!project.repo) throw new TinyError('INVALID_STATE', `Project ${project.name} is not bound to a git repository: a task step needs one (docs/git-tasks.md).`);
  const stamp = mark(run, step);
  const withheld = options.autoMergeWithheld;
  let task =
    (await tasks.listTasks({ projectId: project.id })).find((t) => t.description.endsWith(stamp)) ??
    (await deps.flow.create({
      title: spec.title,
      description: `${spec.description ?? ''}\n\n${stamp}`.trimStart(),
      // Withheld: made in the Backlog, withheld, then started, so its auto-merge is withheld before any Checking.
      status: withheld === undefined ? 'in_progress' : 'backlog',
      projectId: project.id,
      assigneeAgent: spec.agent,
    }));
  if (withheld !== undefined && task.status === 'backlog' && task.conversationId === null && task.git?.worktreePath == null) {
    await deps.flow.withholdAutoMerge(task.id, withheld);
    task = await deps.flow.patch(task.id, { status: 'in_progress' });
  }
  await deps.stores.workflows.updateStep(step.runId, step.stepId, { taskId: task.id });
  onMade(task.id);
  return task;
}

/** Passed, failed, or still under way (undefined). */
function verdict(task: TaskRecord | undefined): { passed: boolean; reason: string | null } | undefined {
  if (!task) return { passed: false, reason: 'the task was deleted' };
  const git = task.git;
  if (task.status === 'done') return git?.merge ? { passed: true, reason: null } : { passed: false, reason: 'moved to Done without a merge' };
  if (task.status === 'review' && git?.check?.state === 'passed') return { passed: true, reason: null };
  if (git?.state === 'failed') return { passed: false, reason: `its worktree could not be made: ${git.error?.message ?? 'failed'}` };
  const asked = git?.roundsApproval;
  if (asked && asked.decision === undefined) return { passed: false, reason: `its checks still fail after ${git?.rounds ?? 0} round${git?.rounds === 1 ? '' : 's'}; it waits for a person` };
  if (asked?.decision === 'stop' || asked?.decision === 'take_over') return { passed: false, reason: `a person chose ${asked.decision} after its rounds` };
  return undefined;
}

/** Resolves once the task has passed or cannot pass (rechecked on each task event). */
function taskEnded(stores: Pick<StoreSet, 'events' | 'tasks'>, taskId: string, signal: AbortSignal): Promise<TaskRecord | undefined> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let checking = false;
    let again = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      unsubscribe();
      signal.removeEventListener('abort', abort);
      fn();
    };
    const check = (): void => {
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      Promise.resolve(stores.tasks.getTask(taskId))
        .then(
          (task) => {
            if (verdict(task) !== undefined) finish(() => resolve(task));
          },
          (err: unknown) => finish(() => reject(err)),
        )
        .finally(() => {
          checking = false;
          if (again && !settled) {
            again = false;
            check();
          }
        });
    };
    const unsubscribe = stores.events.subscribe((event) => {
      if (!event.type.startsWith('task.')) return;
      const data = event.data as { taskId?: unknown; taskIds?: unknown };
      if (data.taskId === taskId || (Array.isArray(data.taskIds) && data.taskIds.includes(taskId))) check();
    });
    const abort = (): void => finish(() => reject(signal.reason));
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    check();
  });
}

async function outcomeOf(deps: TaskStepDeps, task: TaskRecord | undefined, agent: string): Promise<TaskOutcome> {
  const v = verdict(task)!;
  const base = { taskId: task?.id ?? '', identifier: task?.identifier ?? task?.id ?? '', agent, branch: task?.git?.branch ?? null, reason: v.reason };
  if (!task || !v.passed) return { ...base, outcome: 'failed', headSha: null, additions: 0, deletions: 0 };
  const diff = await deps.flow.diff(task);
  return {
    ...base,
    outcome: 'passed',
    headSha: task.git?.check?.headSha ?? task.git?.merge?.tip ?? null,
    additions: diff.files.reduce((n, f) => n + f.additions, 0),
    deletions: diff.files.reduce((n, f) => n + f.deletions, 0),
  };
}

/**
 * The worktree step of a repository-bound task (docs/git-tasks.md): what the daemon runs when the
 * task enters in_progress, before the task's message is sent. Contract:
 * - The task's `git` records `creating` before any git work, then `ready` (branch, worktree,
 *   head) or `failed` (the error's code and message); each outcome is an event
 *   (`task.worktree_created`, `task.worktree_failed`).
 * - It is idempotent and restartable: `createTaskWorktree` finds a worktree and branch made
 *   before (a crash mid-step, a second start) and reuses them, and a setup that passed once does
 *   not run again. A step that finds the task already `ready` on an existing folder still asks
 *   git (cheap), so a worktree a person deleted is made again.
 * - A failure never loses the task: it stays in its column with the error on `task.git`, is not
 *   sent, and starting it again (out of in_progress and back) runs the step again.
 */
import type { ProjectRepo, TaskGit } from '@tinyagi/client/contract';
import { errorMessage, type EventLogApi, isTinyError, type TaskRecord, type TaskStoreApi } from './core.ts';
import type { CheckWrap } from './checks.ts';
import { resolveProjectRepo } from './project-repo.ts';
import { createTaskWorktree, type TaskWorktree } from './worktrees.ts';

/** What every step of a repository-bound task is given (the worktree step, the Checking step). */
export interface TaskStepBase {
  events: Pick<EventLogApi, 'append'>;
  /** TINYAGI_HOME: where a cloned repository and the default worktree folder live. */
  home: string;
  projectId: string;
  repo: ProjectRepo;
  task: TaskRecord;
  /** The environment of the project's commands (setup, checks): the daemon passes the base an agent CLI gets (`baseChildEnv`), never its own secrets. */
  env: NodeJS.ProcessEnv;
  /** Confines the project's commands like the task's owner when it is sandboxed (sandbox/task-commands.ts `taskCommandWrap`); absent: they run as the daemon's children. */
  wrap?: CheckWrap | undefined;
  /** With several nodes: this node's name, recorded on the task (`git.node`) when its worktree is made here. */
  node?: string | undefined;
}

/**
 * Sends a message to the task's owner (its assignee agent, or its team) in the task's conversation,
 * working in the worktree; idempotent on the key (the queue's), `created` false when a message with
 * that key was sent before. The daemon's orchestrator does it, so core loads nothing of teams.
 */
export type TaskOwnerSend = (message: string, idempotencyKey: string, worktreePath: string) => Promise<{ conversationId: string; messageId: string; created: boolean }>;

export interface TaskWorktreeStepInput extends TaskStepBase {
  tasks: Pick<TaskStoreApi, 'setTaskGit'>;
}

export type TaskWorktreeStepResult = { ok: true; task: TaskRecord; worktree: TaskWorktree } | { ok: false; task: TaskRecord; code: string; message: string };

export async function runTaskWorktreeStep(input: TaskWorktreeStepInput): Promise<TaskWorktreeStepResult> {
  const { tasks, events, task } = input;
  const identifier = task.identifier ?? task.id;
  const previous = task.git;
  // The Checking's record (rounds, feedback sent, the last check) and a withheld auto-merge outlive a new start of the task.
  const kept = {
    ...(previous?.rounds === undefined ? {} : { rounds: previous.rounds }),
    ...(previous?.feedbackSent === undefined ? {} : { feedbackSent: previous.feedbackSent }),
    ...(previous?.check === undefined ? {} : { check: previous.check }),
    ...(previous?.roundsLimit === undefined ? {} : { roundsLimit: previous.roundsLimit }),
    ...(previous?.roundsApproval === undefined ? {} : { roundsApproval: previous.roundsApproval }),
    ...(previous?.autoMergeWithheld === undefined ? {} : { autoMergeWithheld: previous.autoMergeWithheld }),
    ...(input.node === undefined ? {} : { node: input.node }),
  };
  const record = (git: Omit<TaskGit, 'updatedAt'>): Promise<TaskRecord> => Promise.resolve(tasks.setTaskGit(task.id, { ...kept, ...git, updatedAt: Date.now() }));
  const startedAt = Date.now();
  await record({ state: 'creating', branch: previous?.branch ?? null, worktreePath: previous?.worktreePath ?? null, headSha: previous?.headSha ?? null, error: null });
  try {
    const ctx = resolveProjectRepo(input.repo, { projectId: input.projectId, home: input.home });
    const worktree = await createTaskWorktree(
      ctx,
      { id: task.id, identifier, title: task.title },
      {
        env: input.env,
        ...(input.wrap === undefined ? {} : { wrap: input.wrap }),
        recordedBranch: previous?.branch ?? null,
      },
    );
    const checkout = { kind: worktree.checkout.kind, ...(worktree.checkout.why === undefined ? {} : { why: worktree.checkout.why }) };
    const after = await record({ state: 'ready', branch: worktree.branch, worktreePath: worktree.path, headSha: worktree.head, error: null, checkout });
    await events.append({
      type: 'task.worktree_created',
      data: {
        taskId: task.id,
        identifier,
        projectId: input.projectId,
        branch: worktree.branch,
        worktreePath: worktree.path,
        headSha: worktree.head,
        created: worktree.created,
        ...(worktree.setup === undefined ? {} : { setupMs: worktree.setup.durationMs }),
        checkout: checkout.kind,
        readyMs: Date.now() - startedAt,
      },
    });
    return { ok: true, task: after, worktree };
  } catch (err) {
    const code = isTinyError(err) ? err.code : 'INTERNAL';
    const message = isTinyError(err) && err.hint ? `${err.message} ${err.hint}` : errorMessage(err);
    const after = await record({ state: 'failed', branch: previous?.branch ?? null, worktreePath: previous?.worktreePath ?? null, headSha: previous?.headSha ?? null, error: { code, message } });
    await events.append({ type: 'task.worktree_failed', data: { taskId: task.id, identifier, projectId: input.projectId, code, message } });
    return { ok: false, task: after, code, message };
  }
}

/**
 * A repository-bound task on a project with a forge (docs/git-tasks.md, "Built (slice 7): the
 * forge"): the pull request opened when its Checking passes, the forge's feedback read on request
 * (`POST /api/tasks/:id/forge/sync`, `tinyagi task sync`), and the person's merge made on the forge.
 * The forge's package (`@tinyagi/forge-github`, Octokit) is imported here on first use, only for a
 * project whose binding has a forge; the token is read from the daemon's environment variable the
 * binding names and given to that package only, never logged or answered.
 */
import { openTaskPullRequest, runTaskForgeMerge, syncTaskForge, TinyError, type Forge, type TaskRecord, type TaskStepBase } from '@tinyagi/core/internal';
import type { ProjectRepo } from '@tinyagi/client/contract';
import type { ServerContext } from '../context.ts';

/** routes/tasks.ts's `taskStepBase` and `sendToTaskOwner`, passed in (that module calls this one). */
type StepBase = (ctx: ServerContext, projectId: string, repo: ProjectRepo, task: TaskRecord) => TaskStepBase;
type SendToOwner = (ctx: ServerContext, task: TaskRecord, message: string, key: string, workdir?: string) => Promise<{ conversationId: string; messageId: string; created: boolean }>;

type BoundProject = { id: string; repo: ProjectRepo };
type ForgeProject = { id: string; repo: ProjectRepo & { forge: NonNullable<ProjectRepo['forge']> } };

export function hasForge(project: { id: string; repo: ProjectRepo | null } | undefined): project is ForgeProject {
  return project?.repo?.forge !== undefined;
}

/** The project's forge client, its package loaded on first use. */
export async function forgeOf(ctx: ServerContext, project: ForgeProject): Promise<Forge> {
  const binding = project.repo.forge;
  const token = ctx.env[binding.tokenEnv];
  if (token === undefined || token === '') {
    throw new TinyError('INVALID_STATE', `Project ${project.id} has a GitHub forge, but the daemon's environment has no ${binding.tokenEnv}.`, {
      hint: `Set ${binding.tokenEnv} to a token that may read and write pull requests of ${binding.owner}/${binding.repo} where the daemon starts, then start it again.`,
    });
  }
  const { createGitHubForge } = await import('@tinyagi/forge-github');
  return createGitHubForge({ owner: binding.owner, repo: binding.repo, token, ...(binding.apiUrl === undefined ? {} : { apiUrl: binding.apiUrl }) });
}

/**
 * After a Checking: a task that reached Review on a project with a forge gets its pull request.
 * A failure is logged and left for `forge/sync`, which opens it too; the task stays in Review.
 */
export async function openPullRequestAfterChecking(ctx: ServerContext, taskId: string, taskStepBase: StepBase): Promise<void> {
  const task = await ctx.tasks.getTask(taskId);
  if (task?.status !== 'review' || task.git?.check?.state !== 'passed' || task.git.pullRequest !== undefined || task.projectId === null) return;
  const project = await ctx.tasks.getProject(task.projectId);
  if (!hasForge(project)) return;
  try {
    await openTaskPullRequest({ ...taskStepBase(ctx, project.id, project.repo, task), forge: await forgeOf(ctx, project), tasks: ctx.tasks });
  } catch (err) {
    ctx.log.warn(`Task ${task.identifier ?? task.id}: opening its pull request failed (tinyagi task sync tries again): ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The person's merge of a task with a pull request, made on the forge; undefined when the task has none (merged locally). */
export async function mergeThroughForge(
  ctx: ServerContext,
  project: BoundProject,
  task: TaskRecord,
  base: TaskStepBase,
  method?: 'merge' | 'ff',
): Promise<Awaited<ReturnType<typeof runTaskForgeMerge>> | undefined> {
  if (!hasForge(project) || task.git?.pullRequest === undefined) return undefined;
  if (method === 'ff') {
    throw new TinyError('INVALID_STATE', `Task ${task.identifier ?? task.id} has pull request #${task.git.pullRequest.number}: it is merged on GitHub with a merge commit, not fast-forwarded.`, {
      hint: 'Merge it without --method (or with merge).',
    });
  }
  return runTaskForgeMerge({ ...base, forge: await forgeOf(ctx, project), tasks: ctx.tasks });
}

/** `POST /api/tasks/:id/forge/sync`: the pull request opened if missing, then the forge's feedback read and sent (core's `syncTaskForge`). */
export async function syncForge(ctx: ServerContext, project: BoundProject, task: TaskRecord, base: TaskStepBase, sendToTaskOwner: SendToOwner) {
  const identifier = task.identifier ?? task.id;
  if (!hasForge(project)) {
    throw new TinyError('INVALID_STATE', `Task ${identifier}'s project ${project.id} has no forge.`, {
      hint: 'Add forge: { kind: "github", owner, repo } to the project\'s binding (it needs a remote).',
    });
  }
  const forge = await forgeOf(ctx, project);
  let current = task;
  if (current.git?.pullRequest === undefined) {
    if (current.git?.check?.state !== 'passed') {
      throw new TinyError('INVALID_STATE', `Task ${identifier} has no pull request: it is opened when the task's checks pass.`, {
        hint: 'Wait until the agent says it is done and its Checking passes.',
      });
    }
    current = (await openTaskPullRequest({ ...base, forge, tasks: ctx.tasks })).task;
  }
  const pullRequest = current.git?.pullRequest;
  if (pullRequest === undefined) throw new TinyError('INTERNAL', `Task ${identifier}'s pull request was not recorded.`);
  const synced = await syncTaskForge({ ...base, task: current, forge, tasks: ctx.tasks, send: (message, key, workdir) => sendToTaskOwner(ctx, current, message, key, workdir) });
  const { task: after, sent, ...rest } = synced;
  return {
    task: after,
    pullRequest,
    ...rest,
    sent: sent === null ? null : { round: sent.round, commentIds: sent.commentIds, conversationId: sent.conversationId, messageId: sent.messageId },
  };
}

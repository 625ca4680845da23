/**
 * Kanban routes. Moving an assigned task into in_progress (by PATCH, reorder, or creating it
 * there) dispatches it to its agent or team through the orchestrator, tagged `[task:<id>]`, and
 * records the conversation on the task. In a project bound to a repository the task's worktree
 * and branch are made first (core's `runTaskWorktreeStep`): the message names the worktree and
 * the runs of its conversation work there; a failed step leaves the task unsent, with the error
 * on `task.git` (docs/git-tasks.md). A task in review is merged by a person (`mergeTask`: the
 * branch into the base, the worktree removed, the task done); a project's worktrees are listed
 * with the abandoned ones marked, and nothing is removed for its age. A task's diff (`getTaskDiff`)
 * is its branch against the base, bounded (core's `taskDiff`).
 */
import { existsSync } from 'node:fs';
import type { ProjectRepo, TaskStatus } from '@tinyagi/client/contract';
import {
  baseChildEnv,
  listProjectWorktrees,
  requireAgent,
  requireTeam,
  resolveFileRules,
  resolveProjectRepo,
  runTaskMerge,
  runTaskWorktreeStep,
  taskDiff,
  TinyError,
  type TaskRecord,
  type TaskStepBase,
} from '@tinyagi/core/internal';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { tasksContract } from '@tinyagi/client/contract';

function isAssigned(task: TaskRecord): boolean {
  return task.assigneeAgent !== null || task.assigneeTeam !== null;
}

/** True when this change should send the task to its assignee. */
function entersWork(before: TaskRecord | undefined, after: TaskRecord): boolean {
  if (after.status !== 'in_progress' || !isAssigned(after)) return false;
  return before === undefined || before.status !== 'in_progress' || !isAssigned(before);
}

export function taskMessage(task: TaskRecord, worktree?: { path: string; branch: string }): string {
  const title = task.identifier ? `${task.identifier}: ${task.title}` : task.title;
  const where = worktree ? `\n\nWork in the git worktree ${worktree.path} (branch ${worktree.branch}), your working directory for this task; commit your changes on that branch.` : '';
  return `[task:${task.id}] ${title}${task.description ? `\n\n${task.description}` : ''}${where}`;
}

/**
 * `checking` is the daemon's status (docs/git-tasks.md): a task is moved into it by the daemon
 * proving "done", never by a request. A task already there may stay (a reorder within the column).
 */
export function refuseMoveToChecking(before: TaskRecord | undefined, status: TaskStatus | undefined): void {
  if (status !== 'checking' || before?.status === 'checking') return;
  throw new TinyError('INVALID_STATE', `Task ${before?.identifier ?? 'new'} cannot be moved to checking: only the daemon moves a task there, while it proves a repository-bound task's "done".`, {
    hint: 'Move it to review or done; for a repository-bound project the agent saying done will move it to checking (docs/git-tasks.md).',
  });
}

/**
 * A binding's copy/link rules checked against the repository as it is on disk (a rule whose text
 * is fine but that resolves through a symlink out of the repository: INVALID_PATH). A URL not
 * cloned yet, or a path that is not there, is checked when the first worktree is made.
 */
function checkBindingOnDisk(projectId: string | undefined, repo: ProjectRepo | null | undefined, home: string): void {
  // A new project's URL binding has no clone yet.
  if (!repo || (projectId === undefined && repo.url !== undefined)) return;
  const ctx = resolveProjectRepo(repo, { projectId: projectId ?? 'new', home });
  if (existsSync(ctx.repoDir)) resolveFileRules(ctx.repoDir, ctx.repoDir, ctx.repo.files);
}

/**
 * What each step of a repository-bound task gets from the daemon (core's `TaskStepBase`). The
 * setup and the checks are the project's commands, not the daemon's: they run with an agent
 * CLI's base environment, without the daemon's secrets.
 */
export function taskStepBase(ctx: ServerContext, projectId: string, repo: ProjectRepo, task: TaskRecord): TaskStepBase {
  return { events: ctx.stores.events, home: ctx.home, projectId, repo, task, env: baseChildEnv(ctx.env) };
}

/**
 * Sends an assigned task in_progress to its agent or team. In a repository-bound project the
 * worktree step runs first and a failed step returns the task unsent (its error on `task.git`).
 * Idempotent: the message's key is the task's `updatedAt` when it entered in_progress (the
 * worktree step leaves it alone), so a dispatch run again after a crash finds the message it
 * sent and records that conversation.
 */
async function dispatch(ctx: ServerContext, task: TaskRecord): Promise<TaskRecord> {
  const project = task.projectId ? await ctx.tasks.getProject(task.projectId) : undefined;
  let worktree: { path: string; branch: string } | undefined;
  if (project?.repo) {
    const step = await runTaskWorktreeStep({ ...taskStepBase(ctx, project.id, project.repo, task), tasks: ctx.tasks });
    if (!step.ok) return step.task;
    worktree = { path: step.worktree.path, branch: step.worktree.branch };
    task = step.task;
  }
  const result = await ctx.orchestrator.submitGrouped({
    message: taskMessage(task, worktree),
    ...(task.assigneeAgent ? { agent: task.assigneeAgent } : { team: task.assigneeTeam! }),
    channel: 'tasks',
    sender: 'Tasks',
    senderId: `task:${task.id}`,
    idempotencyKey: `task:${task.id}:${task.updatedAt}`,
    ...(worktree ? { workdir: worktree.path } : {}),
  });
  return (await ctx.tasks.updateTask(task.id, { conversationId: result.conversationId })).after;
}

/**
 * At start: the dispatches of repository-bound tasks a stop (or a crash) interrupted — an assigned
 * task in_progress with no conversation yet whose worktree step did not fail — are run again in
 * the background (the worktree step resumes, the message is sent once). Returns what it started.
 */
export async function resumeTaskDispatches(ctx: ServerContext): Promise<Array<Promise<TaskRecord | undefined>>> {
  const bound = new Set((await ctx.tasks.listProjects()).filter((p) => p.repo !== null).map((p) => p.id));
  if (bound.size === 0) return [];
  const interrupted = (await ctx.tasks.listTasks({ status: 'in_progress' })).filter(
    (t) => t.projectId !== null && bound.has(t.projectId) && isAssigned(t) && t.conversationId === null && t.git?.state !== 'failed',
  );
  return interrupted.map((task) =>
    dispatch(ctx, task).catch((err: unknown) => {
      ctx.log.warn(`Task ${task.identifier ?? task.id}: resuming its dispatch failed: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }),
  );
}

/** The tasks being merged, per server: a second merge of one task while the first runs is refused, not run beside it. */
const merging = new WeakMap<ServerContext, Set<string>>();

async function boundProject(ctx: ServerContext, projectId: string | null, what: string): Promise<{ id: string; repo: ProjectRepo }> {
  const project = projectId ? await ctx.tasks.getProject(projectId) : undefined;
  if (!project?.repo) {
    throw new TinyError('INVALID_STATE', `${what} is not in a project bound to a git repository.`, { hint: 'Bind the project to a repository (PATCH /api/projects/:id with repo) first.' });
  }
  return { id: project.id, repo: project.repo };
}

export function taskRoutes(ctx: ServerContext): RouteHandlers<keyof typeof tasksContract> {
  const checkAssignees = (agent: string | null | undefined, team: string | null | undefined): void => {
    const settings = ctx.settings();
    if (agent) requireAgent(settings, agent);
    if (team) requireTeam(settings, team);
  };

  return {
    listTasks: ({ query }) => ctx.tasks.listTasks(query),

    getTask: async ({ params }) => {
      const task = await ctx.tasks.mustGetTask(params.id);
      return { ...task, commentCount: await ctx.tasks.commentCount(task.id) };
    },

    createTask: async ({ body }) => {
      checkAssignees(body.assigneeAgent, body.assigneeTeam);
      refuseMoveToChecking(undefined, body.status);
      const task = await ctx.tasks.createTask(body);
      return entersWork(undefined, task) ? dispatch(ctx, task) : task;
    },

    patchTask: async ({ params, body }) => {
      checkAssignees(body.assigneeAgent, body.assigneeTeam);
      if (body.status === 'checking') refuseMoveToChecking(await ctx.tasks.mustGetTask(params.id), body.status);
      const { before, after } = await ctx.tasks.updateTask(params.id, body);
      return entersWork(before, after) ? dispatch(ctx, after) : after;
    },

    deleteTask: async ({ params }) => {
      await ctx.tasks.deleteTask(params.id);
      return { ok: true as const };
    },

    reorderTasks: async ({ body }) => {
      for (const ref of body.columns.checking ?? []) refuseMoveToChecking(await ctx.tasks.mustGetTask(ref), 'checking');
      const { tasks: reordered, statusChanged } = await ctx.tasks.reorder(body.columns);
      const dispatched = new Map<string, TaskRecord>();
      for (const { before, after } of statusChanged) {
        if (entersWork(before, after)) dispatched.set(after.id, await dispatch(ctx, after));
      }
      return reordered.map((t) => dispatched.get(t.id) ?? t);
    },

    mergeTask: async ({ params, body }) => {
      const task = await ctx.tasks.mustGetTask(params.id);
      const identifier = task.identifier ?? task.id;
      const project = await boundProject(ctx, task.projectId, `Task ${identifier}`);
      const inFlight = merging.get(ctx) ?? new Set<string>();
      merging.set(ctx, inFlight);
      if (inFlight.has(task.id)) throw new TinyError('INVALID_STATE', `Task ${identifier} is being merged.`, { hint: 'Wait for that merge to answer.' });
      inFlight.add(task.id);
      try {
        return await runTaskMerge({ ...taskStepBase(ctx, project.id, project.repo, task), tasks: ctx.tasks, method: body.method ?? 'merge' });
      } finally {
        inFlight.delete(task.id);
      }
    },

    getTaskDiff: async ({ params }) => {
      const task = await ctx.tasks.mustGetTask(params.id);
      const identifier = task.identifier ?? task.id;
      const project = await boundProject(ctx, task.projectId, `Task ${identifier}`);
      const repo = resolveProjectRepo(project.repo, { projectId: project.id, home: ctx.home });
      if (!existsSync(repo.repoDir))
        throw new TinyError('INVALID_STATE', `Task ${identifier}'s repository is not cloned yet, so it has no diff.`, { hint: 'Move it to In progress: the repository is cloned then.' });
      return taskDiff(repo, { identifier, git: task.git });
    },

    listComments: ({ params }) => ctx.tasks.listComments(params.id),

    addComment: ({ params, body }) => ctx.tasks.addComment(params.id, { author: body.author ?? 'user', content: body.content }),

    deleteComment: async ({ params }) => {
      await ctx.tasks.deleteComment(params.id);
      return { ok: true as const };
    },

    listProjects: () => ctx.tasks.listProjects(),
    getProject: ({ params }) => ctx.tasks.mustGetProject(params.id),
    listProjectWorktrees: async ({ params }) => {
      const found = await ctx.tasks.mustGetProject(params.id);
      const project = await boundProject(ctx, found.id, `Project ${found.name}`);
      const repo = resolveProjectRepo(project.repo, { projectId: project.id, home: ctx.home });
      // A URL not cloned yet has no worktrees.
      if (!existsSync(repo.repoDir)) return [];
      return (await listProjectWorktrees(repo)).map((w) => ({
        path: w.path,
        branch: w.branch ?? null,
        head: w.head ?? null,
        taskId: w.taskId ?? null,
        missing: w.missing,
        lastActivityAt: w.lastActivityAt,
        idleMs: w.idleMs,
        abandoned: w.abandoned,
        removal: w.removal ?? null,
      }));
    },
    createProject: async ({ body }) => {
      checkBindingOnDisk(undefined, body.repo, ctx.home);
      return ctx.tasks.createProject(body);
    },
    patchProject: async ({ params, body }) => {
      checkBindingOnDisk((await ctx.tasks.mustGetProject(params.id)).id, body.repo, ctx.home);
      return ctx.tasks.updateProject(params.id, body);
    },
    deleteProject: async ({ params }) => {
      await ctx.tasks.deleteProject(params.id);
      return { ok: true as const };
    },
  };
}

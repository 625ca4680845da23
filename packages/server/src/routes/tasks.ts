/**
 * Kanban routes: each asks the task flow (@tinyagi/teams' `TaskFlow`, a daemon service on every
 * node) for a transition — a task created, changed, reordered or deleted, merged, its changes asked
 * for, its forge read — and answers what it did. What the routes keep is reading: a task's diff
 * (core's `taskDiff`), its comments with each review comment followed to the branch's tip, a
 * project's worktrees, and a binding checked against the disk before it is stored
 * (docs/git-tasks.md).
 */
import { existsSync } from 'node:fs';
import type { Comment, ProjectRepo, ReviewAnchor } from '@tinyagi/client/contract';
import { TinyError } from '@tinyagi/core';
import { requireAgent, requireTeam, type TaskRecord } from '../core-internal.ts';
import { anchoredFile, followComments, resolveProjectRepo, taskTip } from '@tinyagi/git-tasks';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { tasksContract } from '@tinyagi/client/contract';

/**
 * A binding checked against the disk before it is stored, on the node it names (the task flow's `checkBinding`: a git
 * repository, a base branch that exists or the repository's default one, copy and link rules
 * naming what exists, link targets the sandboxed agents' boundaries show): the binding to store.
 */
async function checkedBinding<R extends ProjectRepo | null | undefined>(ctx: ServerContext, projectId: string | undefined, repo: R): Promise<R> {
  if (!repo) return repo;
  return (await ctx.taskFlow.checkBinding(projectId, repo)) as R;
}

/**
 * A review comment's anchor checked against the task's diff as it is now (core's `anchoredFile`):
 * the task must be in a bound project and have a branch, the path must be a file of its diff. The
 * stored anchor names the branch's commit it was written against.
 */
async function reviewAnchor(ctx: ServerContext, task: TaskRecord, input: { path: string; line: number; side: 'new' | 'old' }): Promise<ReviewAnchor> {
  const identifier = task.identifier ?? task.id;
  await ctx.taskFlow.boundProject(task.projectId, `Task ${identifier}`, 'A comment on a line of a diff needs one; comment without an anchor on the task as a whole.');
  if (!task.git?.branch) {
    throw new TinyError('INVALID_STATE', `Task ${identifier} has no branch yet, so it has no diff to comment on.`, {
      hint: 'Move it to In progress (its worktree and branch are made then), or comment without an anchor.',
    });
  }
  const diff = await ctx.taskFlow.diff(task);
  anchoredFile(diff, input, identifier);
  return { path: input.path, line: input.line, side: input.side, commitSha: diff.tip };
}

/**
 * A task's comments, each review comment with `anchor.current`: its line followed to the branch's
 * tip (core's `followComments`). A task with no branch, or whose repository git cannot read, has its
 * comments as stored: where they are now is not known, and listing them must not fail for it.
 */
export async function listFollowedComments(ctx: ServerContext, ref: string): Promise<Comment[]> {
  const task = await ctx.tasks.mustGetTask(ref);
  const comments = await ctx.tasks.listComments(task.id);
  if (!comments.some((c) => c.anchor !== null) || !task.projectId) return comments;
  const project = await ctx.tasks.getProject(task.projectId);
  // On another node's disk, or not bound: where the lines are now is read there, not here.
  if (!project?.repo || !(await ctx.taskFlow.holdsDisk(task, { id: project.id, repo: project.repo }))) return comments;
  const repo = resolveProjectRepo(project.repo, { projectId: project.id, home: ctx.home });
  try {
    const tip = existsSync(repo.repoDir) ? await taskTip(repo.repoDir, task.git) : undefined;
    return tip === undefined ? comments : await followComments(repo.repoDir, tip, comments);
  } catch {
    return comments;
  }
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
      return ctx.taskFlow.create(body);
    },

    patchTask: async ({ params, body }) => {
      checkAssignees(body.assigneeAgent, body.assigneeTeam);
      return ctx.taskFlow.patch(params.id, body);
    },

    deleteTask: async ({ params, query }) => {
      const worktree = await ctx.taskFlow.delete(params.id, { ...(query.worktree === undefined ? {} : { worktree: query.worktree }), force: query.force === true });
      return { ok: true as const, ...(worktree === null ? {} : { worktree }) };
    },

    reorderTasks: ({ body }) => ctx.taskFlow.reorder(body.columns),

    checkTask: ({ params }) => ctx.taskFlow.check(params.id),
    mergeTask: ({ params, body }) => ctx.taskFlow.merge(params.id, body.method),

    syncTaskForge: ({ params }) => ctx.taskFlow.syncForge(params.id),

    requestChanges: async ({ params, body }) => {
      const summary = body.summary === undefined ? undefined : { author: body.author ?? 'user', content: body.summary };
      const { task, sent } = await ctx.taskFlow.requestChanges(params.id, summary);
      return { task, sent: { round: sent.round, commentIds: sent.commentIds, conversationId: sent.conversationId, messageId: sent.messageId } };
    },

    getTaskDiff: async ({ params }) => ctx.taskFlow.diff(await ctx.tasks.mustGetTask(params.id)),

    listComments: async ({ params }) => listFollowedComments(ctx, params.id),

    addComment: async ({ params, body }) => {
      const author = body.author ?? 'user';
      if (body.anchor === undefined) return ctx.tasks.addComment(params.id, { author, content: body.content });
      const task = await ctx.tasks.mustGetTask(params.id);
      return ctx.tasks.addComment(task.id, { author, content: body.content, anchor: await reviewAnchor(ctx, task, body.anchor) });
    },

    deleteComment: async ({ params }) => {
      await ctx.tasks.deleteComment(params.id);
      return { ok: true as const };
    },

    listProjects: () => ctx.tasks.listProjects(),
    getProject: ({ params }) => ctx.tasks.mustGetProject(params.id),
    listProjectWorktrees: ({ params }) => ctx.taskFlow.listWorktrees(params.id),
    removeProjectWorktree: ({ params, body }) => ctx.taskFlow.removeWorktree(params.id, body.path, body.force === true),
    getProjectRetention: ({ params }) => ctx.taskFlow.retentionReport(params.id),
    sweepProjectRetention: async ({ params }) => (await ctx.taskFlow.retentionReport(params.id, true))!,
    createProject: async ({ body }) => ctx.tasks.createProject(body.repo === undefined ? body : { ...body, repo: await checkedBinding(ctx, undefined, body.repo) }),
    patchProject: async ({ params, body }) => {
      const id = (await ctx.tasks.mustGetProject(params.id)).id;
      return ctx.tasks.updateProject(params.id, body.repo === undefined ? body : { ...body, repo: await checkedBinding(ctx, id, body.repo) });
    },
    deleteProject: async ({ params }) => {
      await ctx.tasks.deleteProject(params.id);
      return { ok: true as const };
    },
  };
}

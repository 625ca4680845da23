/**
 * Kanban routes. Moving an assigned task into in_progress (by PATCH, reorder, or creating it
 * there) dispatches it to its agent or team through the orchestrator, tagged `[task:<id>]`, and
 * records the conversation on the task.
 */
import { requireAgent, requireTeam, type TaskRecord } from '@tinyagi/core/internal';
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

export function taskMessage(task: TaskRecord): string {
  const title = task.identifier ? `${task.identifier}: ${task.title}` : task.title;
  return `[task:${task.id}] ${title}${task.description ? `\n\n${task.description}` : ''}`;
}

export function taskRoutes(ctx: ServerContext): RouteHandlers<keyof typeof tasksContract> {
  const checkAssignees = (agent: string | null | undefined, team: string | null | undefined): void => {
    const settings = ctx.settings();
    if (agent) requireAgent(settings, agent);
    if (team) requireTeam(settings, team);
  };

  const dispatch = async (task: TaskRecord): Promise<TaskRecord> => {
    const result = await ctx.orchestrator.submitGrouped({
      message: taskMessage(task),
      ...(task.assigneeAgent ? { agent: task.assigneeAgent } : { team: task.assigneeTeam! }),
      channel: 'tasks',
      sender: 'Tasks',
      senderId: `task:${task.id}`,
      idempotencyKey: `task:${task.id}:${task.updatedAt}`,
    });
    return (await ctx.tasks.updateTask(task.id, { conversationId: result.conversationId })).after;
  };

  return {
    listTasks: ({ query }) => ctx.tasks.listTasks(query),

    getTask: async ({ params }) => {
      const task = await ctx.tasks.mustGetTask(params.id);
      return { ...task, commentCount: await ctx.tasks.commentCount(task.id) };
    },

    createTask: async ({ body }) => {
      checkAssignees(body.assigneeAgent, body.assigneeTeam);
      const task = await ctx.tasks.createTask(body);
      return entersWork(undefined, task) ? dispatch(task) : task;
    },

    patchTask: async ({ params, body }) => {
      checkAssignees(body.assigneeAgent, body.assigneeTeam);
      const { before, after } = await ctx.tasks.updateTask(params.id, body);
      return entersWork(before, after) ? dispatch(after) : after;
    },

    deleteTask: async ({ params }) => {
      await ctx.tasks.deleteTask(params.id);
      return { ok: true as const };
    },

    reorderTasks: async ({ body }) => {
      const { tasks: reordered, statusChanged } = await ctx.tasks.reorder(body.columns);
      const dispatched = new Map<string, TaskRecord>();
      for (const { before, after } of statusChanged) {
        if (entersWork(before, after)) dispatched.set(after.id, await dispatch(after));
      }
      return reordered.map((t) => dispatched.get(t.id) ?? t);
    },

    listComments: ({ params }) => ctx.tasks.listComments(params.id),

    addComment: ({ params, body }) => ctx.tasks.addComment(params.id, { author: body.author ?? 'user', content: body.content }),

    deleteComment: async ({ params }) => {
      await ctx.tasks.deleteComment(params.id);
      return { ok: true as const };
    },

    listProjects: () => ctx.tasks.listProjects(),
    getProject: ({ params }) => ctx.tasks.mustGetProject(params.id),
    createProject: ({ body }) => ctx.tasks.createProject(body),
    patchProject: ({ params, body }) => ctx.tasks.updateProject(params.id, body),
    deleteProject: async ({ params }) => {
      await ctx.tasks.deleteProject(params.id);
      return { ok: true as const };
    },
  };
}

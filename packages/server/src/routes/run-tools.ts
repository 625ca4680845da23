/**
 * What a running agent's own tools ask of its run (docs/mcp.md): `ask_human` (the run's approval
 * desk asks the person and waits) and the task its conversation works on (`get_task`,
 * `update_task`). Each route acts for the run named in the path, and only its own run-scoped token
 * may call it.
 *
 * "The task the conversation works on": the task that started the conversation (a task moved to
 * in_progress is sent as a message from `task:<id>`), else the task whose `conversationId` is this
 * conversation (most recently updated first).
 */
import type { RunTask, runToolsContract } from '@tinyagi/client/contract';
import { TinyError } from '@tinyagi/core';
import type { TaskRecord } from '../core-internal.ts';
import type { ServerContext } from '../context.ts';
import { RequestError } from '../errors.ts';
import { refuseAgentMoveOfTakenOverTask, refuseAgentMoveWhileChecking, refuseAgentReviewOutOfWork, refuseDoneWithoutMerge, refuseMoveToChecking, saysDoneOnBoundTask } from '@tinyagi/teams/internal';
import { listFollowedComments } from './tasks.ts';
import type { RouteHandlers } from '../routing.ts';
import type { AuthInfo } from '../security/guard.ts';

const COMMENTS_SHOWN = 50;

function ownRunOnly(auth: AuthInfo, runId: string, what: string): void {
  // A tool acts for its own run only: neither a token of another run of its conversation nor a person's token may.
  if (auth.kind !== 'run' || auth.runId !== runId) throw new RequestError('SCOPE_FORBIDDEN', `Only the run itself (its run-scoped token) may ${what}.`);
}

export function runToolRoutes(ctx: ServerContext): RouteHandlers<keyof typeof runToolsContract> {
  const taskOf = async (runId: string): Promise<{ task: TaskRecord | undefined; agentId: string; conversationId: string }> => {
    const run = await ctx.stores.runs.mustGetRun(runId);
    const conversation = await ctx.stores.runs.getConversation(run.conversationId);
    const started = conversation?.senderId.startsWith('task:') ? await ctx.tasks.getTask(conversation.senderId.slice('task:'.length)) : undefined;
    const linked = started ?? (await ctx.tasks.listTasks()).filter((t) => t.conversationId === run.conversationId).sort((a, b) => b.updatedAt - a.updatedAt)[0];
    return { task: linked, agentId: run.agentId, conversationId: run.conversationId };
  };
  const withComments = async (task: TaskRecord | undefined): Promise<RunTask> => {
    if (!task) return { task: null, comments: [] };
    const comments = await listFollowedComments(ctx, task.id);
    return { task: { ...task, commentCount: comments.length }, comments: comments.slice(-COMMENTS_SHOWN) };
  };

  return {
    askRunHuman: async ({ params, body, auth, reply }) => {
      ownRunOnly(auth, params.id, 'ask a person for it');
      // The asker hanging up (its tool call cancelled) cancels the question: it leaves no inbox waiting for nobody.
      const gone = new AbortController();
      const onClose = (): void => {
        if (!reply.raw.writableFinished) gone.abort('denied: the agent stopped waiting for the answer');
      };
      reply.raw.once('close', onClose);
      const answer = await ctx.facets.approvals
        .askHuman(params.id, { question: body.question, ...(body.choices?.length ? { choices: body.choices } : {}) }, gone.signal)
        .finally(() => reply.raw.off('close', onClose));
      return answer.answered ? { answered: true as const, answer: answer.answer, decidedBy: answer.decidedBy } : { answered: false as const, reason: answer.reason };
    },

    getRunTask: async ({ params, auth }) => {
      // Reading is the run's, or a person's (the API token).
      if (auth.kind !== 'token' && auth.kind !== 'login') ownRunOnly(auth, params.id, "read its conversation's task");
      return withComments((await taskOf(params.id)).task);
    },

    updateRunTask: async ({ params, body, auth }) => {
      ownRunOnly(auth, params.id, "update its conversation's task");
      const { task, agentId, conversationId } = await taskOf(params.id);
      if (!task)
        throw new TinyError('TASK_NOT_FOUND', 'This conversation works on no task: there is nothing to update.', {
          hint: 'Tasks come from the board (tinyagi task, TinyOffice): a task moved to in_progress starts a conversation with its assignee.',
        });
      refuseMoveToChecking(task, body.status);
      await refuseAgentMoveWhileChecking(ctx.tasks, task, body.status);
      await refuseAgentReviewOutOfWork(ctx.tasks, task, body.status);
      refuseAgentMoveOfTakenOverTask(task, body.status);
      // "done" from in_progress is the agent's claim, proven below; from review it would claim the merge.
      if (task.status !== 'in_progress') await refuseDoneWithoutMerge(ctx.tasks, task, body.status);
      // The agent's own move never dispatches the task again: the agent is the one working on it.
      // Its "done" on a repository-bound task is a claim the daemon proves: the task goes to checking (docs/git-tasks.md).
      const after = (await saysDoneOnBoundTask(ctx.tasks, task, body.status))
        ? await ctx.taskFlow.startChecking(task, { runId: params.id, conversationId })
        : body.status !== undefined && body.status !== task.status
          ? await ctx.taskFlow.agentMove(task, body.status)
          : task;
      if (body.comment !== undefined) await ctx.tasks.addComment(task.id, { author: `@${agentId}`, content: body.comment });
      return withComments(after);
    },
  };
}

/**
 * What a running agent's own tools ask of its run (docs/mcp.md): ask the person and wait
 * (`ask_human`), read and update the task its conversation works on (`get_task`, `update_task`).
 * Only the run's own token may ask or update: a token of another run, even one of the same
 * conversation, is refused (SCOPE_FORBIDDEN), and so is a person's token (these act as the agent);
 * a person may read the run's task too.
 */
import * as z from 'zod';
import { route } from './route.ts';
import { IdParamsSchema, Int, Str } from './common.ts';
import { CommentSchema, TASK_STATUSES, TaskSchema } from './tasks.ts';

export const RunAskBodySchema = z.strictObject({
  /** What the agent asks the person. */
  question: z.string().trim().min(1).max(20_000),
  /** Suggested answers a surface may offer as buttons; the person may still answer in their own words. */
  choices: z.array(z.string().trim().min(1).max(200)).max(10).optional(),
});
export type RunAskBody = z.infer<typeof RunAskBodySchema>;

export const RunAskAnswerSchema = z.discriminatedUnion('answered', [
  z.object({ answered: z.literal(true), answer: Str, decidedBy: Str }),
  /** Declined, nobody answered in time, or the run was cancelled: `reason` says which. */
  z.object({ answered: z.literal(false), reason: Str }),
]);
export type RunAskAnswer = z.infer<typeof RunAskAnswerSchema>;

export const RunTaskSchema = z.object({
  /** The task this run's conversation works on, or null when it works on none. */
  task: TaskSchema.extend({ commentCount: Int }).nullable(),
  /** Its comments, oldest first (the latest 50). */
  comments: z.array(CommentSchema),
});
export type RunTask = z.infer<typeof RunTaskSchema>;

export const RunTaskPatchSchema = z
  .strictObject({
    status: z.enum(TASK_STATUSES).optional(),
    /** Added as a comment by the agent (`@<agent>`). */
    comment: z.string().trim().min(1).max(100_000).optional(),
  })
  .refine((b) => b.status !== undefined || b.comment !== undefined, { message: 'Give a status, a comment, or both.' });
export type RunTaskPatch = z.infer<typeof RunTaskPatchSchema>;

export const runToolsContract = {
  askRunHuman: route({
    method: 'POST',
    path: '/api/runs/:id/ask',
    summary:
      "A running agent asks the person a question and waits (the MCP tool `ask_human`): a request of kind `question`, answered from any surface (POST /api/approvals/:id/decision `answer`), declined (`deny`), or expiring after the agent's permissions.expires_s. Only the run's own token may; 409 INVALID_STATE when the run is not running here",
    tag: 'runs',
    auth: 'run',
    params: IdParamsSchema,
    body: RunAskBodySchema,
    response: RunAskAnswerSchema,
  }),
  getRunTask: route({
    method: 'GET',
    path: '/api/runs/:id/task',
    summary: "The task the run's conversation works on (the task that started it, else the task linked to it) with its latest comments; task null when none. The run's own token, or a person's",
    tag: 'runs',
    auth: 'run',
    params: IdParamsSchema,
    response: RunTaskSchema,
  }),
  updateRunTask: route({
    method: 'PATCH',
    path: '/api/runs/:id/task',
    summary:
      "The agent moves the task its conversation works on (status) and/or comments on it, as `@<agent>`; never dispatches it again. 404 TASK_NOT_FOUND when the conversation works on no task. Only the run's own token may",
    tag: 'runs',
    auth: 'run',
    params: IdParamsSchema,
    body: RunTaskPatchSchema,
    response: RunTaskSchema,
  }),
} as const;

/** Kanban: projects (prefix identifiers such as SYS-3), tasks, comments. */
import * as z from 'zod';
import { route } from './route.ts';
import {
  MERGE_METHODS,
  ProjectRepoSchema,
  RetentionReportSchema,
  ReviewAnchorInputSchema,
  ReviewAnchorSchema,
  ProjectWorktreeSchema,
  WorktreeRemovedSchema,
  TaskDiffSchema,
  TaskGitSchema,
  TaskMergeSchema,
  TaskPullRequestSchema,
} from './git-tasks.ts';
import {
  BoolQuery,
  IdParamsSchema,
  IdText,
  Int,
  IntParam,
  NullableStr,
  NullableTimestamp,
  Num,
  OkSchema,
  OptionalBool,
  OptionalIdText,
  OptionalLongText,
  ShortText,
  Str,
  TimestampSchema,
} from './common.ts';

/** `checking`: the daemon is proving a repository-bound task's "done" (docs/git-tasks.md); unbound projects do not use it. */
export const TASK_STATUSES = ['backlog', 'todo', 'in_progress', 'checking', 'review', 'done'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TaskSchema = z
  .object({
    id: Str,
    projectId: NullableStr,
    identifier: NullableStr,
    title: Str,
    description: Str,
    status: z.enum(TASK_STATUSES),
    position: Num,
    assigneeAgent: NullableStr,
    assigneeTeam: NullableStr,
    conversationId: NullableStr,
    /** The task's worktree in a repository-bound project, or null (never started, or no binding). */
    git: TaskGitSchema.nullable(),
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
  })
  .meta({ id: 'Task' });
export type Task = z.infer<typeof TaskSchema>;

export const ProjectSchema = z
  .object({
    id: Str,
    name: Str,
    prefix: Str,
    description: Str,
    /** When it was archived (its tasks stay), or null while active. */
    archivedAt: NullableTimestamp,
    /** The project's repository binding (docs/git-tasks.md), or null. */
    repo: ProjectRepoSchema.nullable(),
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
  })
  .meta({ id: 'Project' });
export type Project = z.infer<typeof ProjectSchema>;

export const CommentSchema = z
  .object({
    id: Int,
    taskId: Str,
    author: Str,
    content: Str,
    /** A review comment's place in the task's diff (docs/git-tasks.md, "Review comments"); null for a comment on the task as a whole. */
    anchor: ReviewAnchorSchema.nullable(),
    /** The round in which the comment went to the task's owner (`POST /api/tasks/:id/request-changes`): a review comment, or a request's summary (stored as a comment without an anchor); null while not sent, and for any other comment. */
    sentRound: Int.nullable(),
    createdAt: TimestampSchema,
  })
  .meta({ id: 'Comment' });
export type Comment = z.infer<typeof CommentSchema>;

const assignee = ShortText;
const PrefixSchema = z.string().regex(/^[A-Z][A-Z0-9]{0,9}$/, 'Use 1-10 upper-case letters or digits, starting with a letter (e.g. SYS)');

export const CreateTaskBodySchema = z.object({
  title: z.string().min(1).max(500),
  description: OptionalLongText,
  status: z.enum(TASK_STATUSES).optional(),
  projectId: OptionalIdText,
  assigneeAgent: assignee.optional(),
  assigneeTeam: assignee.optional(),
});

export const PatchTaskBodySchema = z.object({
  title: z.string().min(1).max(500).optional(),
  description: OptionalLongText,
  status: z.enum(TASK_STATUSES).optional(),
  projectId: IdText.nullable().optional(),
  assigneeAgent: assignee.nullable().optional(),
  assigneeTeam: assignee.nullable().optional(),
  position: z.number().finite().optional(),
});

export const tasksContract = {
  listTasks: route({
    method: 'GET',
    path: '/api/tasks',
    summary: 'Tasks by status and position (filter by project, status, assignee)',
    tag: 'tasks',
    query: z.object({ projectId: OptionalIdText, status: z.enum(TASK_STATUSES).optional(), assignee: assignee.optional() }),
    response: z.array(TaskSchema),
  }),
  getTask: route({
    method: 'GET',
    path: '/api/tasks/:id',
    summary: 'One task (by id or identifier such as SYS-3) with its comment count',
    tag: 'tasks',
    params: IdParamsSchema,
    response: TaskSchema.extend({ commentCount: Int }),
  }),
  createTask: route({
    method: 'POST',
    path: '/api/tasks',
    summary: 'Create a task (an assigned task created in_progress is dispatched at once)',
    tag: 'tasks',
    status: 201,
    body: CreateTaskBodySchema,
    response: TaskSchema,
  }),
  patchTask: route({
    method: 'PATCH',
    path: '/api/tasks/:id',
    summary: 'Change a task; moving an assigned task to in_progress dispatches it with a [task:ID] tag',
    tag: 'tasks',
    params: IdParamsSchema,
    body: PatchTaskBodySchema,
    response: TaskSchema,
  }),
  deleteTask: route({
    method: 'DELETE',
    path: '/api/tasks/:id',
    summary:
      'Delete a task and its comments. A task whose worktree is on disk needs `worktree`: `keep` (listed as orphaned until removed) or `remove` (refused while it holds work that is nowhere else, unless `force`); without it the answer is 409 and nothing is deleted',
    tag: 'tasks',
    params: IdParamsSchema,
    query: z.object({ worktree: z.enum(['keep', 'remove']).optional(), force: BoolQuery }),
    response: OkSchema.extend({ worktree: WorktreeRemovedSchema.optional() }),
  }),
  reorderTasks: route({
    method: 'POST',
    path: '/api/tasks/reorder',
    summary: 'Set the order (and status) of tasks per column in one transaction',
    tag: 'tasks',
    body: z.object({ columns: z.partialRecord(z.enum(TASK_STATUSES), z.array(IdText).max(5000)) }),
    response: z.array(TaskSchema),
  }),
  checkTask: route({
    method: 'POST',
    path: '/api/tasks/:id/check',
    summary:
      'A person\'s request to prove a repository-bound task\'s "done" again (its branch moved since its checks, or a Checking that could not start was fixed): the task moves to checking and the daemon runs its checks on the branch as it is now',
    tag: 'tasks',
    params: IdParamsSchema,
    response: TaskSchema,
  }),
  mergeTask: route({
    method: 'POST',
    path: '/api/tasks/:id/merge',
    summary: "Merge a repository-bound task in review into its project's base (fast-forward or a merge commit), then remove its worktree and move it to done",
    tag: 'tasks',
    params: IdParamsSchema,
    body: z.object({ method: z.enum(MERGE_METHODS).optional() }),
    response: z.object({
      task: TaskSchema,
      /** `created`: false when the base already held the branch's tip (nothing written). */
      merge: TaskMergeSchema.extend({ created: z.boolean() }),
      /** `removed`: false when the worktree was gone already; `branchDeleted`: the local branch was deleted. */
      worktree: z.object({ removed: z.boolean(), branchDeleted: z.boolean() }),
    }),
  }),
  getTaskDiff: route({
    method: 'GET',
    path: '/api/tasks/:id/diff',
    summary: "A repository-bound task's commits beyond its base and the diff base...branch per file (bounded); a merged task's from its recorded merge commit",
    tag: 'tasks',
    params: IdParamsSchema,
    response: TaskDiffSchema,
  }),
  listComments: route({ method: 'GET', path: '/api/tasks/:id/comments', summary: 'Comments, oldest first', tag: 'tasks', params: IdParamsSchema, response: z.array(CommentSchema) }),
  addComment: route({
    method: 'POST',
    path: '/api/tasks/:id/comments',
    summary: 'Comment on a task',
    tag: 'tasks',
    status: 201,
    params: IdParamsSchema,
    body: z.object({
      content: z.string().min(1).max(100_000),
      author: OptionalIdText,
      /** A review comment on a line of the task's diff (a repository-bound task with a branch; the file must be in its diff). */
      anchor: ReviewAnchorInputSchema.optional(),
    }),
    response: CommentSchema,
  }),
  syncTaskForge: route({
    method: 'POST',
    path: '/api/tasks/:id/forge/sync',
    summary:
      "Read a repository-bound task's pull request on its project's forge (GitHub): opened first when a passed Checking left none; in review, its failed check runs and review comments not sent before go to the owner as one request for changes (a round), each once",
    tag: 'tasks',
    params: IdParamsSchema,
    response: z.object({
      task: TaskSchema,
      pullRequest: TaskPullRequestSchema,
      /** The pull request's head on the forge now. */
      headSha: Str,
      /** The latest run of each check on that head. */
      checkRuns: z.array(z.object({ id: Int, name: Str, status: Str, conclusion: NullableStr, url: NullableStr })),
      newComments: Int,
      /** Reviews with a body that ask for changes or comment. */
      newReviews: Int,
      newFailedChecks: Int,
      /** The request for changes this sync made (null: nothing new, or the task not in review). */
      sent: z.object({ round: Int, commentIds: z.array(Int), conversationId: Str, messageId: Str }).nullable(),
      /** Why something new was not sent yet. */
      waiting: z.string().optional(),
      /** The `task_rounds` request the failed check runs wait on: they came after the task's last round. */
      roundsApprovalId: Str.optional(),
    }),
  }),

  requestChanges: route({
    method: 'POST',
    path: '/api/tasks/:id/request-changes',
    summary:
      "A person's review of a repository-bound task in review: its review comments not sent before (and the summary, kept as a comment) go to the task's owner as one message, and the task goes back to in_progress (a round)",
    tag: 'tasks',
    params: IdParamsSchema,
    body: z.object({ summary: z.string().trim().min(1).max(100_000).optional(), author: OptionalIdText }),
    response: z.object({
      task: TaskSchema,
      /** The message to the owner: the round it counted, and the review comments it carried (the summary's comment among them when given). */
      sent: z.object({ round: Int, commentIds: z.array(Int), conversationId: Str, messageId: Str }),
    }),
  }),
  deleteComment: route({
    method: 'DELETE',
    path: '/api/comments/:id',
    summary: 'Delete a comment',
    tag: 'tasks',
    params: z.object({ id: IntParam(1) }),
    response: OkSchema,
  }),
  listProjects: route({ method: 'GET', path: '/api/projects', summary: 'Projects, newest first', tag: 'projects', response: z.array(ProjectSchema) }),
  getProject: route({ method: 'GET', path: '/api/projects/:id', summary: 'One project', tag: 'projects', params: IdParamsSchema, response: ProjectSchema }),
  listProjectWorktrees: route({
    method: 'GET',
    path: '/api/projects/:id/worktrees',
    summary: "A repository-bound project's task worktrees, with those idle past keepAbandonedDays marked abandoned (nothing is removed)",
    tag: 'projects',
    params: IdParamsSchema,
    response: z.array(ProjectWorktreeSchema),
  }),
  getProjectRetention: route({
    method: 'GET',
    path: '/api/projects/:id/retention',
    summary:
      'The retention sweep\'s last run for a repository-bound project (docs/git-tasks.md, "Retention"): what it removed, what it kept and why (null until the node that holds the project\'s disk has swept once since it started)',
    tag: 'projects',
    params: IdParamsSchema,
    response: RetentionReportSchema.nullable(),
  }),
  sweepProjectRetention: route({
    method: 'POST',
    path: '/api/projects/:id/retention/sweep',
    summary:
      "Apply the project's retention policy now (on the node that holds its disk) and return the report: what was removed, what was kept and why; nothing with uncommitted or unmerged-and-unpushed work is removed",
    tag: 'projects',
    params: IdParamsSchema,
    response: RetentionReportSchema,
  }),
  removeProjectWorktree: route({
    method: 'POST',
    path: '/api/projects/:id/worktrees/remove',
    summary:
      "Remove one of the project's worktrees by its path: refused (409 WORKTREE_UNSAFE, naming what would be lost) while it has uncommitted changes or commits merged and pushed nowhere, unless `force` (which loses the uncommitted files; the branch keeps its commits)",
    tag: 'projects',
    params: IdParamsSchema,
    body: z.object({ path: Str, force: z.boolean().optional() }),
    response: WorktreeRemovedSchema,
  }),
  createProject: route({
    method: 'POST',
    path: '/api/projects',
    summary: 'Create a project (prefix derived from the name unless given)',
    tag: 'projects',
    status: 201,
    body: z.object({ name: IdText, prefix: PrefixSchema.optional(), description: OptionalLongText, repo: ProjectRepoSchema.optional() }),
    response: ProjectSchema,
  }),
  patchProject: route({
    method: 'PATCH',
    path: '/api/projects/:id',
    summary: 'Change, archive (`archived: true`) or restore a project (a new prefix applies to tasks created afterwards)',
    tag: 'projects',
    params: IdParamsSchema,
    body: z.object({
      name: OptionalIdText,
      prefix: PrefixSchema.optional(),
      description: OptionalLongText,
      archived: OptionalBool,
      /** A repository binding (replaces the whole binding), or null to unbind. */
      repo: ProjectRepoSchema.nullable().optional(),
    }),
    response: ProjectSchema,
  }),
  deleteProject: route({
    method: 'DELETE',
    path: '/api/projects/:id',
    summary: 'Delete a project (its tasks are kept, without a project)',
    tag: 'projects',
    params: IdParamsSchema,
    response: OkSchema,
  }),
} as const;

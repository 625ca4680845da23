/**
 * Kanban routes. Moving an assigned task into in_progress (by PATCH, reorder, or creating it
 * there) dispatches it to its agent or team through the orchestrator, tagged `[task:<id>]`, and
 * records the conversation on the task. In a project bound to a repository the task's worktree
 * and branch are made first (core's `runTaskWorktreeStep`): the message names the worktree and
 * the runs of its conversation work there; a failed step leaves the task unsent, with the error
 * on `task.git` (docs/git-tasks.md). A task in review is merged by a person (`mergeTask`: the
 * branch into the base, the worktree removed, the task done); a project's worktrees are listed
 * with the abandoned ones marked, and nothing is removed for its age. A task's diff (`getTaskDiff`)
 * is its branch against the base, bounded (core's `taskDiff`). A review comment is a comment
 * anchored on a file and line of that diff; a person's request for changes (`requestChanges`) sends
 * the unsent ones to the task's owner and the task back to in_progress (core's `runTaskReview`).
 */
import { existsSync } from 'node:fs';
import { type Comment, type MergeMethod, type ProjectRepo, type ReviewAnchor, TASK_STATUSES, type TaskStatus } from '@tinyagi/client/contract';
import {
  anchoredFile,
  baseChildEnv,
  followComments,
  listProjectWorktrees,
  requireAgent,
  requireTeam,
  resolveFileRules,
  resolveProjectRepo,
  mergeRuleDecision,
  runTaskMerge,
  runTaskReview,
  runTaskWorktreeStep,
  taskCommandWrap,
  taskDiff,
  taskTip,
  TinyError,
  type TaskRecord,
  type TaskStepBase,
} from '@tinyagi/core/internal';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import { forgeOf, hasForge, mergeThroughForge, syncForge } from './task-forge.ts';
import { withdrawRoundsRequest } from './task-rounds-withdraw.ts';
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
 * In a repository-bound project a task with a branch is done once its branch is merged
 * (docs/git-tasks.md, "Merge, and worktree removal"): moving it to `done` by hand (a PATCH, a
 * reorder, the agent's own update) would claim a merge that did not happen and keep its worktree,
 * so it is refused with the way to merge. A task with no branch (never started) may be closed by
 * hand; one already merged is moved by the merge itself.
 */
export async function refuseDoneWithoutMerge(ctx: ServerContext, before: TaskRecord, status: TaskStatus | undefined, projectId = before.projectId): Promise<void> {
  if (status !== 'done' || before.status === 'done' || !before.git?.branch || before.git.merge !== undefined || projectId === null) return;
  if ((await ctx.tasks.getProject(projectId))?.repo == null) return;
  const identifier = before.identifier ?? before.id;
  throw new TinyError('INVALID_STATE', `Task ${identifier} is done once its branch ${before.git.branch} is merged: moving it to done would not merge it.`, {
    hint: `Merge it from Review: POST /api/tasks/${before.id}/merge (tinyagi task merge ${identifier}, or Merge in TinyOffice), which moves it to done.`,
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
  // A sandboxed owner's setup and checks run confined like it (docs/sandbox.md); otherwise `wrap` is undefined.
  return { events: ctx.stores.events, home: ctx.home, projectId, repo, task, env: baseChildEnv(ctx.env), wrap: taskCommandWrap(ctx.settings(), task, ctx.env) };
}

/**
 * Sends a message to the task's owner (its assignee agent, or its team) from `task:<id>` on the
 * tasks channel, so the run tools find the task of the conversation; in the worktree when given.
 * The one way every step of a task speaks to its owner: the dispatch, the Checking's feedback, a
 * person's review. Idempotent on the key (the queue's): `created` false when it was sent before.
 */
export async function sendToTaskOwner(
  ctx: ServerContext,
  task: TaskRecord,
  message: string,
  idempotencyKey: string,
  workdir?: string,
): Promise<{ conversationId: string; messageId: string; created: boolean }> {
  const result = await ctx.orchestrator.submitGrouped({
    message,
    ...(task.assigneeAgent ? { agent: task.assigneeAgent } : { team: task.assigneeTeam! }),
    channel: 'tasks',
    sender: 'Tasks',
    senderId: `task:${task.id}`,
    idempotencyKey,
    ...(workdir === undefined ? {} : { workdir }),
  });
  return { conversationId: result.conversationId, messageId: result.messageId, created: result.created };
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
  const result = await sendToTaskOwner(ctx, task, taskMessage(task, worktree), `task:${task.id}:${task.updatedAt}`, worktree?.path);
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

/**
 * Merges a crash interrupted (docs/git-tasks.md, "Crash safety"): a task still in review whose
 * merge is recorded (the branch went into the base, or GitHub merged its pull request) but whose
 * worktree removal or move to done did not happen. The merge step run again finishes it without
 * merging or announcing it again; a person's request for the merge need not come again. Returns
 * how many it finished.
 */
export async function resumeTaskMerges(ctx: ServerContext): Promise<number> {
  let finished = 0;
  for (const task of await ctx.tasks.listTasks({ status: 'review' })) {
    if (task.projectId === null) continue;
    try {
      if (task.git?.merge !== undefined) {
        await mergeOne(ctx, task, task.git.merge.method, task.git.merge.by ?? 'person');
        finished++;
      } else if (await mergeByRule(ctx, task.id)) {
        // A rule's merge a stop came between (the task reached Review, the merge never began).
        finished++;
      }
    } catch (err) {
      ctx.log.warn(`Task ${task.identifier ?? task.id}: finishing its merge failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return finished;
}

/** The merge of a task in review, one at a time per task: on its forge when it has a pull request (task-forge.ts), otherwise locally. */
async function mergeOne(ctx: ServerContext, task: TaskRecord, method: MergeMethod | undefined, by: 'person' | 'rule') {
  const identifier = task.identifier ?? task.id;
  const project = await boundProject(ctx, task.projectId, `Task ${identifier}`);
  const merged = await oneAtATime(
    ctx,
    merging,
    task,
    'is being merged',
    async () =>
      (await mergeThroughForge(ctx, project, task, taskStepBase(ctx, project.id, project.repo, task), method, by)) ??
      runTaskMerge({ ...taskStepBase(ctx, project.id, project.repo, task), tasks: ctx.tasks, method: method ?? 'merge', by }),
  );
  // A task whose pull request's failed check runs waited for a person: merged, nothing is left to decide.
  await withdrawRoundsRequest(ctx, task, merged.task, 'the task was merged');
  return merged;
}

/**
 * A rule's merge (docs/git-tasks.md): the task, if it is in Review in a project whose binding has
 * `autoMerge`, merged now when the rule holds (core's `mergeRuleDecision`; with a forge, on its
 * pull request's check runs and reviews). Called when a Checking passes, after each read of a
 * forge, and at start. True when it merged; a rule still waiting leaves the task as it is.
 */
export async function mergeByRule(ctx: ServerContext, taskId: string): Promise<boolean> {
  const task = await ctx.tasks.getTask(taskId);
  if (task?.status !== 'review' || task.projectId === null) return false;
  const project = await ctx.tasks.getProject(task.projectId);
  const rule = project?.repo?.autoMerge;
  if (!project?.repo || rule === undefined) return false;
  let forge: Parameters<typeof mergeRuleDecision>[0]['forge'];
  if (hasForge(project)) {
    const pr = task.git?.pullRequest;
    if (pr === undefined) return false;
    const remote = await forgeOf(ctx, project);
    const head = await remote.getPullRequest(pr.number);
    forge = {
      headSha: head.headSha,
      checkRuns: await remote.listCheckRuns(head.headSha),
      reviews: rule.when === 'approved' ? await remote.listReviews(pr.number) : [],
      // No check runs right after the pull request opened: its CI gets one poll's time to register them.
      openedAt: pr.openedAt,
      quietMs: project.repo.forge.pollSeconds * 1000,
      now: Date.now(),
    };
  }
  if (!mergeRuleDecision({ rule, status: task.status, git: task.git, forge }).merge) return false;
  await mergeOne(ctx, task, rule.method, 'rule');
  return true;
}

/** The tasks being merged, and those whose review is being sent, per server: a second request for one task while the first runs is refused, not run beside it. */
const merging = new WeakMap<ServerContext, Set<string>>();
const reviewing = new WeakMap<ServerContext, Set<string>>();

/** Runs `work` holding the task's review (a request for changes, a read of its forge): refused while another holds it. */
export function withTaskReview<T>(ctx: ServerContext, task: TaskRecord, work: () => Promise<T>): Promise<T> {
  return oneAtATime(ctx, reviewing, task, 'has a review being sent', work);
}

async function oneAtATime<T>(ctx: ServerContext, running: WeakMap<ServerContext, Set<string>>, task: TaskRecord, busy: string, work: () => Promise<T>): Promise<T> {
  const inFlight = running.get(ctx) ?? new Set<string>();
  running.set(ctx, inFlight);
  if (inFlight.has(task.id)) throw new TinyError('INVALID_STATE', `Task ${task.identifier ?? task.id} ${busy}.`, { hint: 'Wait for that request to answer.' });
  inFlight.add(task.id);
  try {
    return await work();
  } finally {
    inFlight.delete(task.id);
  }
}

/**
 * A review comment's anchor checked against the task's diff as it is now (core's `anchoredFile`):
 * the task must be in a bound project and have a branch, the path must be a file of its diff. The
 * stored anchor names the branch's commit it was written against.
 */
async function reviewAnchor(ctx: ServerContext, task: TaskRecord, input: { path: string; line: number; side: 'new' | 'old' }): Promise<ReviewAnchor> {
  const identifier = task.identifier ?? task.id;
  const project = await boundProject(ctx, task.projectId, `Task ${identifier}`, 'A comment on a line of a diff needs one; comment without an anchor on the task as a whole.');
  if (!task.git?.branch) {
    throw new TinyError('INVALID_STATE', `Task ${identifier} has no branch yet, so it has no diff to comment on.`, {
      hint: 'Move it to In progress (its worktree and branch are made then), or comment without an anchor.',
    });
  }
  const repo = resolveProjectRepo(project.repo, { projectId: project.id, home: ctx.home });
  const diff = await taskDiff(repo, { identifier, git: task.git });
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
  if (!project?.repo) return comments;
  const repo = resolveProjectRepo(project.repo, { projectId: project.id, home: ctx.home });
  try {
    const tip = existsSync(repo.repoDir) ? await taskTip(repo.repoDir, task.git) : undefined;
    return tip === undefined ? comments : await followComments(repo.repoDir, tip, comments);
  } catch {
    return comments;
  }
}

async function boundProject(ctx: ServerContext, projectId: string | null, what: string, why = ''): Promise<{ id: string; repo: ProjectRepo }> {
  const project = projectId ? await ctx.tasks.getProject(projectId) : undefined;
  if (!project?.repo) {
    throw new TinyError('INVALID_STATE', `${what} is not in a project bound to a git repository.`, {
      hint: `${why ? `${why} ` : ''}Bind the project to a repository (PATCH /api/projects/:id with repo) first.`,
    });
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
      if (body.status === 'done') await refuseDoneWithoutMerge(ctx, await ctx.tasks.mustGetTask(params.id), body.status, body.projectId);
      const { before, after } = await ctx.tasks.updateTask(params.id, body);
      await withdrawRoundsRequest(ctx, before, after);
      return entersWork(before, after) ? dispatch(ctx, after) : after;
    },

    deleteTask: async ({ params }) => {
      const gone = await ctx.tasks.getTask(params.id);
      await ctx.tasks.deleteTask(params.id);
      if (gone) await withdrawRoundsRequest(ctx, gone, undefined);
      return { ok: true as const };
    },

    reorderTasks: async ({ body }) => {
      for (const ref of body.columns.checking ?? []) refuseMoveToChecking(await ctx.tasks.mustGetTask(ref), 'checking');
      const toDone = new Set(body.columns.done ?? []);
      if (toDone.size > 0) {
        // Only a task entering done can claim a merge: read the tasks not done yet, a query per status,
        // not one per card of the Done column (the whole column is sent, and it is the longest).
        for (const status of TASK_STATUSES.filter((s) => s !== 'done')) {
          for (const task of await ctx.tasks.listTasks({ status })) {
            if (toDone.has(task.id) || (task.identifier !== null && toDone.has(task.identifier))) await refuseDoneWithoutMerge(ctx, task, 'done');
          }
        }
      }
      const { tasks: reordered, statusChanged } = await ctx.tasks.reorder(body.columns);
      const dispatched = new Map<string, TaskRecord>();
      for (const { before, after } of statusChanged) {
        await withdrawRoundsRequest(ctx, before, after);
        if (entersWork(before, after)) dispatched.set(after.id, await dispatch(ctx, after));
      }
      return reordered.map((t) => dispatched.get(t.id) ?? t);
    },

    mergeTask: async ({ params, body }) => mergeOne(ctx, await ctx.tasks.mustGetTask(params.id), body.method, 'person'),

    syncTaskForge: async ({ params }) => {
      const task = await ctx.tasks.mustGetTask(params.id);
      const project = await boundProject(ctx, task.projectId, `Task ${task.identifier ?? task.id}`, 'A forge belongs to a repository binding.');
      const synced = await withTaskReview(ctx, task, () => syncForge(ctx, project, task, taskStepBase(ctx, project.id, project.repo, task), sendToTaskOwner));
      // The merge rule may hold now (its check runs passed, its approvals came): the answer says so.
      return (await mergeByRule(ctx, task.id)) ? { ...synced, task: await ctx.tasks.mustGetTask(task.id) } : synced;
    },

    requestChanges: async ({ params, body }) => {
      const task = await ctx.tasks.mustGetTask(params.id);
      const project = await boundProject(ctx, task.projectId, `Task ${task.identifier ?? task.id}`, 'Changes are asked of a repository-bound task in review; comment on this one instead.');
      const summary = body.summary === undefined ? undefined : { author: body.author ?? 'user', content: body.summary };
      // One review of a task at a time, in this process and across the nodes of one database (a forge's read holds it too); the task read again inside.
      const held = await ctx.tasks.holdTask(task.id, 'review', () =>
        oneAtATime(ctx, reviewing, task, 'has a review being sent', async () => {
          const current = await ctx.tasks.mustGetTask(task.id);
          const reviewed = await runTaskReview({
            ...taskStepBase(ctx, project.id, project.repo, current),
            tasks: ctx.tasks,
            summary,
            send: (message, key, workdir) => sendToTaskOwner(ctx, current, message, key, workdir),
          });
          return { ...reviewed, before: current };
        }),
      );
      if (!held.held) throw new TinyError('INVALID_STATE', `Task ${task.identifier ?? task.id} has a review being sent.`, { hint: 'Wait for that request to answer.' });
      const { task: after, sent, before } = held.value;
      // A task whose pull request's failed check runs waited for a person: this person decided.
      await withdrawRoundsRequest(ctx, before, after, 'a person asked for changes');
      return { task: after, sent: { round: sent.round, commentIds: sent.commentIds, conversationId: sent.conversationId, messageId: sent.messageId } };
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

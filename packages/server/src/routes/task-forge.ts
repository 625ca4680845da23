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
/** What the poll takes of routes/tasks.ts: the step's base, the owner's message, and the task's review lock (a person's request for changes holds it too). */
export interface PollHelpers {
  taskStepBase: StepBase;
  sendToTaskOwner: SendToOwner;
  withTaskReview: <T>(ctx: ServerContext, task: TaskRecord, work: () => Promise<T>) => Promise<T>;
  /** The binding's merge rule, tried after each read (tasks.ts). */
  mergeByRule: (ctx: ServerContext, taskId: string) => Promise<boolean>;
}

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
    ctx.log.warn(`Task ${task.identifier ?? task.id}: opening its pull request failed (the poll and tinyagi task sync try again): ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    // A task entered Review on a forge: the poll reads it (or opens its pull request) now, not at its idle pace.
    nudgeForgePoll(ctx);
  }
}

/** The person's merge of a task with a pull request, made on the forge; undefined when the task has none (merged locally). */
export async function mergeThroughForge(
  ctx: ServerContext,
  project: BoundProject,
  task: TaskRecord,
  base: TaskStepBase,
  method?: 'merge' | 'ff',
  by: 'person' | 'rule' = 'person',
): Promise<Awaited<ReturnType<typeof runTaskForgeMerge>> | undefined> {
  if (!hasForge(project) || task.git?.pullRequest === undefined) return undefined;
  if (method === 'ff') {
    throw new TinyError('INVALID_STATE', `Task ${task.identifier ?? task.id} has pull request #${task.git.pullRequest.number}: it is merged on GitHub with a merge commit, not fast-forwarded.`, {
      hint: 'Merge it without --method (or with merge).',
    });
  }
  return runTaskForgeMerge({ ...base, forge: await forgeOf(ctx, project), tasks: ctx.tasks, by });
}

/** `POST /api/tasks/:id/forge/sync`: the pull request opened if missing, then the forge's feedback read and sent (core's `syncTaskForge`). */
export async function syncForge(ctx: ServerContext, project: BoundProject, task: TaskRecord, base: TaskStepBase, sendToTaskOwner: SendToOwner) {
  const identifier = task.identifier ?? task.id;
  // One read of a task's forge at a time (a person's sync and the poll), in this process and across
  // the nodes of one database (the store's hold: PostgreSQL's advisory lock), so GitHub's comments are
  // stored once and its feedback sent once.
  const busy = syncing.get(ctx) ?? new Set<string>();
  syncing.set(ctx, busy);
  const refused = (): TinyError => new TinyError('INVALID_STATE', `Task ${identifier}'s pull request is being read.`, { hint: 'Wait for that read to answer.' });
  if (busy.has(task.id)) throw refused();
  busy.add(task.id);
  try {
    // The task's review hold: a person's request for changes on any node takes it too.
    const held = await ctx.tasks.holdTask(task.id, 'review', () => syncOnce(ctx, project, task, base, sendToTaskOwner));
    if (!held.held) throw refused();
    return held.value;
  } finally {
    busy.delete(task.id);
  }
}

const syncing = new WeakMap<ServerContext, Set<string>>();

async function syncOnce(ctx: ServerContext, project: BoundProject, task: TaskRecord, base: TaskStepBase, sendToTaskOwner: SendToOwner) {
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
  const synced = await syncTaskForge({
    ...base,
    task: current,
    forge,
    tasks: ctx.tasks,
    approvals: ctx.stores.approvals,
    send: (message, key, workdir) => sendToTaskOwner(ctx, current, message, key, workdir),
  });
  const { task: after, sent, ...rest } = synced;
  return {
    task: after,
    pullRequest,
    ...rest,
    sent: sent === null ? null : { round: sent.round, commentIds: sent.commentIds, conversationId: sent.conversationId, messageId: sent.messageId },
  };
}

/**
 * The daemon's poll (docs/git-tasks.md, "Built (slice 7): the forge"): each task in Review with a
 * pull request (or with a passed Checking and none yet: it is opened), on a project whose forge has
 * `pollSeconds` > 0, is synced every `pollSeconds` (as `forge/sync` does), so a failed check run or
 * a review comment on GitHub reaches the owner without anyone asking. One pass at a time; the next is due after the smallest `pollSeconds` of the
 * projects (at least 1 s, at most 15 s when none polls). A failing read is logged once until it
 * succeeds again.
 */
export function startForgePoll(ctx: ServerContext, helpers: PollHelpers): void {
  if (polls.has(ctx)) return;
  const state: PollState = { timer: undefined, pass: undefined, stopped: false, again: false, schedule: () => {}, lastRead: new Map(), failing: new Map() };
  polls.set(ctx, state);
  state.schedule = (ms: number): void => {
    if (state.stopped) return;
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      state.again = false;
      state.pass = pollOnce(ctx, state, helpers)
        .catch((err: unknown) => {
          ctx.log.warn(`Reading the forges' pull requests failed: ${err instanceof Error ? err.message : String(err)}`);
          return IDLE_MS;
        })
        .then((next) => {
          state.pass = undefined;
          state.schedule(state.again ? 0 : next);
        });
    }, ms);
    state.timer.unref?.();
  };
  state.schedule(0);
}

/** A task just entered Review on a forge: the poll's next pass is now (when it polls at all), not at its idle pace. */
function nudgeForgePoll(ctx: ServerContext): void {
  const state = polls.get(ctx);
  if (state === undefined || state.stopped) return;
  if (state.pass !== undefined) state.again = true;
  else state.schedule(0);
}

/** Stops the poll and waits for a pass in flight (before the stores close). */
export async function stopForgePoll(ctx: ServerContext): Promise<void> {
  const state = polls.get(ctx);
  if (state === undefined) return;
  state.stopped = true;
  clearTimeout(state.timer);
  await state.pass?.catch(() => {});
  polls.delete(ctx);
}

interface PollState {
  timer: ReturnType<typeof setTimeout> | undefined;
  pass: Promise<unknown> | undefined;
  stopped: boolean;
  /** Nudged while a pass ran: the next pass is at once. */
  again: boolean;
  schedule: (ms: number) => void;
  /** When each task's pull request was last read. */
  lastRead: Map<string, number>;
  /** The last failure logged for a task, so a GitHub that is down is not logged every pass. */
  failing: Map<string, string>;
}

const polls = new WeakMap<ServerContext, PollState>();
const IDLE_MS = 15_000;

async function pollOnce(ctx: ServerContext, state: PollState, { taskStepBase, sendToTaskOwner, withTaskReview, mergeByRule }: PollHelpers): Promise<number> {
  const projects = (await ctx.tasks.listProjects()).filter((p): p is typeof p & ForgeProject => hasForge(p) && p.repo.forge.pollSeconds > 0);
  if (projects.length === 0) return IDLE_MS;
  const now = Date.now();
  for (const project of projects) {
    const everyMs = project.repo.forge.pollSeconds * 1000;
    for (const task of await ctx.tasks.listTasks({ projectId: project.id, status: 'review' })) {
      if (state.stopped) return IDLE_MS;
      // A task whose pull request could not be opened when its Checking passed (GitHub down, no token yet) gets it here.
      const due = task.git?.pullRequest !== undefined || task.git?.check?.state === 'passed';
      if (!due || now - (state.lastRead.get(task.id) ?? 0) < everyMs) continue;
      state.lastRead.set(task.id, now);
      try {
        await withTaskReview(ctx, task, () => syncForge(ctx, project, task, taskStepBase(ctx, project.id, project.repo, task), sendToTaskOwner));
        await mergeByRule(ctx, task.id);
        state.failing.delete(task.id);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (state.failing.get(task.id) !== message) ctx.log.warn(`Task ${task.identifier ?? task.id}: reading its pull request failed: ${message}`);
        state.failing.set(task.id, message);
      }
    }
  }
  return Math.min(IDLE_MS, Math.max(1000, Math.min(...projects.map((p) => p.repo.forge.pollSeconds * 1000))));
}

/**
 * The task flow's forge (docs/git-tasks.md, "With a GitHub forge"): the pull request opened when a
 * task's Checking passes, the forge's feedback read on request (`tinyagi task sync`) and by a poll
 * on every node, the person's merge made on the forge, and what auto-merge reads of it. The
 * forge's client comes from its kind in core's forge registry (`openBindingForge`: GitHub's loads
 * `@tinyagi/forge-github` on first use, only for a project whose binding has a forge); the token is
 * read from the daemon's environment variable the binding (or its kind) names and given to that
 * client only, never logged or answered.
 */
import type { MergedBy, MergeMethod, ProjectRepo } from '@tinyagi/client/contract';
import { errorMessage, TinyError } from '@tinyagi/core';
import type { StoreSet, TaskRecord } from '../core-internal.ts';
import { type Forge, openBindingForge, openTaskPullRequest, runTaskForgeMerge, syncTaskForge, type TaskStepBase } from '@tinyagi/git-tasks';

/** What the forge asks of the task flow (flow.ts), which owns it. */
export interface ForgeLoopHost {
  readonly tasks: StoreSet['tasks'];
  stepBase(projectId: string, repo: ProjectRepo, task: TaskRecord): TaskStepBase;
  sendToOwner(task: TaskRecord, message: string, idempotencyKey: string, workdir?: string): Promise<{ conversationId: string; messageId: string; created: boolean }>;
  holdReview<T>(task: TaskRecord, work: () => Promise<T>): Promise<T>;
  autoMerge(taskId: string): Promise<boolean>;
  /** Whether this node holds the task's disk: only that node reads its pull request in the poll. */
  holdsDisk(task: TaskRecord, project?: { id: string; repo: ProjectRepo }): Promise<boolean>;
}

/** The flow's options the forge reads. */
export interface ForgeLoopOptions {
  stores: Pick<StoreSet, 'approvals'>;
  env: Readonly<Record<string, string | undefined>>;
  log: { warn(message: string): void };
}

type BoundProject = { id: string; repo: ProjectRepo };
type ForgeProject = { id: string; repo: ProjectRepo & { forge: NonNullable<ProjectRepo['forge']> } };

export function hasForge(project: { id: string; repo: ProjectRepo | null } | undefined): project is ForgeProject {
  return project?.repo?.forge !== undefined;
}

const IDLE_MS = 15_000;

export class ForgeLoop {
  readonly #flow: ForgeLoopHost;
  readonly #o: ForgeLoopOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pass: Promise<unknown> | undefined;
  #polling = false;
  /** Nudged while a pass ran: the next pass is at once. */
  #again = false;
  /** When each task's pull request was last read. */
  readonly #lastRead = new Map<string, number>();
  /** The last failure logged for a task, so a GitHub that is down is not logged every pass. */
  readonly #failing = new Map<string, string>();

  constructor(flow: ForgeLoopHost, options: ForgeLoopOptions) {
    this.#flow = flow;
    this.#o = options;
  }

  /** The project's forge client, from its kind (core's forge registry). */
  async open(project: ForgeProject): Promise<Forge> {
    return openBindingForge(project.id, project.repo.forge, this.#o.env);
  }

  /** After a Checking: a task that reached Review on a project with a forge gets its pull request; a failure is logged and left for the poll. */
  async openPullRequestAfterChecking(taskId: string): Promise<void> {
    const tasks = this.#flow.tasks;
    const task = await tasks.getTask(taskId);
    if (task?.status !== 'review' || task.git?.check?.state !== 'passed' || task.git.pullRequest !== undefined || task.projectId === null) return;
    const project = await tasks.getProject(task.projectId);
    if (!hasForge(project)) return;
    try {
      await openTaskPullRequest({ ...this.#flow.stepBase(project.id, project.repo, task), forge: await this.open(project), tasks });
    } catch (err) {
      this.#o.log.warn(`Task ${task.identifier ?? task.id}: opening its pull request failed (the poll and tinyagi task sync try again): ${errorMessage(err)}`);
    } finally {
      // A task entered Review on a forge: the poll reads it (or opens its pull request) now, not at its idle pace.
      this.#nudge();
    }
  }

  /** The merge of a task with a pull request, made on the forge; undefined when the task has none (merged locally). */
  async mergeThroughForge(project: BoundProject, task: TaskRecord, base: TaskStepBase, method: MergeMethod | undefined, by: MergedBy) {
    if (!hasForge(project) || task.git?.pullRequest === undefined) return undefined;
    if (method === 'ff') {
      throw new TinyError('INVALID_STATE', `Task ${task.identifier ?? task.id} has pull request #${task.git.pullRequest.number}: it is merged on GitHub with a merge commit, not fast-forwarded.`, {
        hint: 'Merge it without --method (or with merge).',
      });
    }
    return runTaskForgeMerge({ ...base, forge: await this.open(project), tasks: this.#flow.tasks, by });
  }

  /** What auto-merge reads of the forge for a task in review: null when the task has no pull request yet. */
  async autoMergeFacts(project: ForgeProject, task: TaskRecord, when: string) {
    const pr = task.git?.pullRequest;
    if (pr === undefined) return null;
    const remote = await this.open(project);
    const head = await remote.getPullRequest(pr.number);
    return {
      headSha: head.headSha,
      checkRuns: await remote.listCheckRuns(head.headSha),
      reviews: when === 'approved' ? await remote.listReviews(pr.number) : [],
      // No check runs right after the pull request opened: its CI gets one poll's time to register them.
      openedAt: pr.openedAt,
      quietMs: project.repo.forge.pollSeconds * 1000,
      now: Date.now(),
    };
  }

  /**
   * The pull request opened if missing, then the forge's feedback read and sent (core's
   * `syncTaskForge`). One read of a task's forge at a time, on every node (the task's review hold),
   * so GitHub's comments are stored once and its feedback sent once.
   */
  async sync(project: BoundProject, task: TaskRecord) {
    return this.#flow.holdReview(task, () => this.#syncOnce(project, task));
  }

  async #syncOnce(project: BoundProject, task: TaskRecord) {
    const identifier = task.identifier ?? task.id;
    if (!hasForge(project)) {
      throw new TinyError('INVALID_STATE', `Task ${identifier}'s project ${project.id} has no forge.`, {
        hint: 'Add forge: { kind: "github", owner, repo } to the project\'s binding (it needs a remote).',
      });
    }
    const tasks = this.#flow.tasks;
    const forge = await this.open(project);
    let current = await tasks.mustGetTask(task.id);
    const base = this.#flow.stepBase(project.id, project.repo, current);
    if (current.git?.pullRequest === undefined) {
      if (current.git?.check?.state !== 'passed') {
        throw new TinyError('INVALID_STATE', `Task ${identifier} has no pull request: it is opened when the task's checks pass.`, {
          hint: 'Wait until the agent says it is done and its Checking passes.',
        });
      }
      current = (await openTaskPullRequest({ ...base, forge, tasks })).task;
    }
    const pullRequest = current.git?.pullRequest;
    if (pullRequest === undefined) throw new TinyError('INTERNAL', `Task ${identifier}'s pull request was not recorded.`);
    const owner = current;
    const synced = await syncTaskForge({
      ...base,
      task: current,
      forge,
      tasks,
      approvals: this.#o.stores.approvals,
      send: (message, key, workdir) => this.#flow.sendToOwner(owner, message, key, workdir),
    });
    const { task: after, sent, ...rest } = synced;
    return {
      task: after,
      pullRequest,
      ...rest,
      sent: sent === null ? null : { round: sent.round, commentIds: sent.commentIds, conversationId: sent.conversationId, messageId: sent.messageId },
    };
  }

  // ---- The poll ----

  /**
   * Each task in Review with a pull request (or with a passed Checking and none yet: it is opened),
   * on a project whose forge has `pollSeconds` > 0, is synced every `pollSeconds`, so a failed check
   * run or a review comment on GitHub reaches the owner without anyone asking. One pass at a time;
   * the next is due after the smallest `pollSeconds` of the projects (at least 1 s, at most 15 s
   * when none polls). A failing read is logged once until it succeeds again.
   */
  startPoll(): void {
    if (this.#polling) return;
    this.#polling = true;
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (!this.#polling) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#again = false;
      this.#pass = this.#pollOnce()
        .catch((err: unknown) => {
          this.#o.log.warn(`Reading the forges' pull requests failed: ${errorMessage(err)}`);
          return IDLE_MS;
        })
        .then((next) => {
          this.#pass = undefined;
          this.#schedule(this.#again ? 0 : next);
        });
    }, ms);
    this.#timer.unref?.();
  }

  #nudge(): void {
    if (!this.#polling) return;
    if (this.#pass !== undefined) this.#again = true;
    else this.#schedule(0);
  }

  /** Stops the poll and waits for a pass in flight (before the stores close). */
  async stopPoll(): Promise<void> {
    this.#polling = false;
    clearTimeout(this.#timer);
    await this.#pass?.catch(() => {});
  }

  async #pollOnce(): Promise<number> {
    const tasks = this.#flow.tasks;
    const projects = (await tasks.listProjects()).filter((p): p is typeof p & ForgeProject => hasForge(p) && p.repo.forge.pollSeconds > 0);
    if (projects.length === 0) return IDLE_MS;
    const now = Date.now();
    for (const project of projects) {
      const everyMs = project.repo.forge.pollSeconds * 1000;
      for (const task of await tasks.listTasks({ projectId: project.id, status: 'review' })) {
        if (!this.#polling) return IDLE_MS;
        // A task whose pull request could not be opened when its Checking passed (GitHub down, no token yet) gets it here.
        const due = task.git?.pullRequest !== undefined || task.git?.check?.state === 'passed';
        if (!due || now - (this.#lastRead.get(task.id) ?? 0) < everyMs || !(await this.#flow.holdsDisk(task, project))) continue;
        this.#lastRead.set(task.id, now);
        try {
          await this.sync(project, task);
          await this.#flow.autoMerge(task.id);
          this.#failing.delete(task.id);
        } catch (err) {
          const message = errorMessage(err);
          if (this.#failing.get(task.id) !== message) this.#o.log.warn(`Task ${task.identifier ?? task.id}: reading its pull request failed: ${message}`);
          this.#failing.set(task.id, message);
        }
      }
    }
    return Math.min(IDLE_MS, Math.max(1000, Math.min(...projects.map((p) => p.repo.forge.pollSeconds * 1000))));
  }
}

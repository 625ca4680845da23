/**
 * The task flow (docs/git-tasks.md; design in docs/git-tasks-design.md): the daemon service that
 * owns every transition of a task in a project bound to a git repository — the dispatch with its
 * worktree, the Checking that proves "done", the feedback and its rounds, a person's review, the
 * merge by a person or by auto-merge, the forge's pull request — on every node (the daemon and `tinyagi
 * worker`). The API's routes, the CLI, the MCP tools and TinyOffice only ask it.
 *
 * Contract:
 * - Exactly one node drives a task's step: each step runs under the task's hold (the store's
 *   `holdTask`: PostgreSQL's advisory lock, held by the node's connection, so a node that dies
 *   lets go at once; one process on SQLite) and reads the task again inside it.
 * - `start()` runs `nextStep` (next-step.ts) on every task of a bound project and then again every
 *   `sweepMs`: a step a stop, a crash or a killed node left half done is finished by whichever
 *   node takes the hold next, once (each step is idempotent on what it recorded).
 * - `stop()` ends the sweeps and the forge poll and waits for the steps in flight (a check is
 *   bounded by its timeout).
 */
import { existsSync } from 'node:fs';
import type { MergedBy, MergeMethod, ProjectRepo, RetentionReport, TaskCheck, TaskStatus, TaskStepRequest, TaskStepRequestKind } from '@tinyagi/client/contract';
import { errorMessage, newId, type Settings, TinyError, type TaskCheckedEvent } from '@tinyagi/core';
import type { ApprovalRecord } from '@tinyagi/core';
import { baseChildEnv, type SandboxHost, taskCommandWrap, type StoreSet, type TaskRecord } from '../core-internal.ts';
import {
  carryOutRoundsAnswer,
  finishTaskChecking,
  autoMergeDecision,
  autoMergeRefusal,
  autoMergeRetryDue,
  checkProjectBinding,
  mergeHeads,
  projectWorktrees,
  removeWorktreeAt,
  requestRoundsApproval,
  resolveProjectRepo,
  roundsApprovalId,
  runTaskChecking,
  runTaskMerge,
  runTaskReview,
  runTaskWorktreeStep,
  seesTaskWorktree,
  taskDiff,
  type TaskStepBase,
  type WorktreeRemoval,
  ensureLayerMounted,
} from '@tinyagi/git-tasks';
import type { SubmitInput, SubmitResult } from '../orchestrator/submit.ts';
import { diskNode, refuseAgentElsewhere } from './disk.ts';
import { ForgeLoop, hasForge } from './forge-loop.ts';
import { ASK_WAIT_MS, type NodeInfoSource, NodeAsks } from './node-asks.ts';
import { nextStep } from './next-step.ts';
import { refuseDoneWithoutMerge, refuseMoveToChecking } from './refusals.ts';
import { RetentionSweep } from './retention-sweep.ts';

export interface TaskFlowOptions {
  stores: Pick<StoreSet, 'tasks' | 'events' | 'approvals'>;
  /** Sends a task's messages to its owner (the orchestrator's `submitGrouped`); tells the observers of a Checking. */
  orchestrator: { submitGrouped(input: SubmitInput): Promise<SubmitResult>; notifyTaskChecked?(event: TaskCheckedEvent): void };
  /** TINYAGI_HOME: where a URL binding's clone and the default worktree folder live. */
  home: string;
  env: Readonly<Record<string, string | undefined>>;
  settings: () => Settings;
  log: { warn(message: string): void };
  /** The node's sandbox host: a sandboxed owner's setup and checks start on it (without one, each command on a host of its own). */
  sandboxHost?: SandboxHost;
  /** How often this node looks for a step nobody drives (a killed node's): default 5 s. */
  sweepMs?: number;
  /** With several nodes (PostgreSQL): this node, and which nodes are live; each step then runs on the node that holds its disk (disk.ts). */
  node?: NodeInfoSource;
  /** How often this node applies the retention policy of the projects whose disk it holds (retention-sweep.ts): default 10 minutes. */
  retentionSweepMs?: number;
}

export type OwnerSent = { conversationId: string; messageId: string; created: boolean };
type BoundProject = { id: string; repo: ProjectRepo };

/** What a best of N's winner's merge came to (docs/workflows.md). */
export interface WinnerMerge {
  merged: boolean;
  /** Why it was not merged (null when it was, or when its project has no auto-merge). */
  error: string | null;
}

const DEFAULT_SWEEP_MS = 5_000;

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

export class TaskFlow {
  readonly #o: TaskFlowOptions;
  readonly forge: ForgeLoop;
  /** The retention policy applied on this node (retention-sweep.ts). */
  readonly retention: RetentionSweep;
  /** Steps this process is running, by `<hold>:<task id>`: a second one for the same task here is refused or skipped, not run beside it. */
  readonly #running = new Set<string>();
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Tasks to drive again when the step running here ends. */
  readonly #again = new Set<string>();
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  #sweeping: Promise<unknown> | undefined;
  #stopped = false;
  /** Asking the node that holds a disk (several nodes only). */
  readonly #asks: NodeAsks | undefined;

  constructor(options: TaskFlowOptions) {
    this.#o = options;
    this.forge = new ForgeLoop(this, options);
    this.#asks = options.node ? new NodeAsks(options.stores.events, options.node, options.log) : undefined;
    this.#asks?.serve('drive', async (_args, taskId) => this.#driveNow(taskId!));
    this.#asks?.serve('task-step', async (args, taskId) => this.#carryOutRequest(taskId!, String(args['requestId'])));
    this.#asks?.serve('binding', async (args) => this.checkBinding(args['projectId'] as string | undefined, args['repo'] as ProjectRepo));
    this.#asks?.serve('diff', async (_args, taskId) => this.diff(await this.tasks.mustGetTask(taskId!)));
    this.#asks?.serve('worktrees', async (args) => this.listWorktrees(String(args['project'])));
    this.#asks?.serve('remove-worktree', async (args) => this.removeWorktree(String(args['project']), String(args['path']), args['force'] === true));
    this.retention = new RetentionSweep({
      stores: options.stores,
      home: options.home,
      log: options.log,
      here: this.#asks?.here,
      elsewhere: async (task, project) => {
        // One node: every disk it sees is its own.
        const node = this.#asks ? await this.#elsewhere(task, project) : undefined;
        return node === undefined ? undefined : `its disk is node ${node}'s`;
      },
      held: (taskId, work) => this.#held(taskId, 'flow', work),
      ...(options.retentionSweepMs === undefined ? {} : { everyMs: options.retentionSweepMs }),
    });
    this.#asks?.serve('retention', async (args) => this.retentionReport(String(args['project']), args['sweep'] === true));
  }

  get tasks(): TaskFlowOptions['stores']['tasks'] {
    return this.#o.stores.tasks;
  }

  // ---- Life cycle ----

  /** Finishes what stops left half done (every bound task's next step), then sweeps every `sweepMs` and starts the forge poll. */
  async start(): Promise<void> {
    this.#stopped = false;
    this.#asks?.start();
    await this.sweep(true);
    this.forge.startPoll();
    this.#scheduleSweep();
    this.retention.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#sweepTimer);
    await this.retention.stop();
    await this.#sweeping?.catch(() => {});
    await this.forge.stopPoll();
    await this.#asks?.stop();
    await Promise.allSettled([...this.#inFlight]);
  }

  #scheduleSweep(): void {
    if (this.#stopped) return;
    this.#sweepTimer = setTimeout(() => {
      this.#sweeping = this.sweep(false)
        .catch((err: unknown) => this.#o.log.warn(`Looking for task steps to finish failed: ${errorMessage(err)}`))
        .finally(() => {
          this.#sweeping = undefined;
          this.#scheduleSweep();
        });
    }, this.#o.sweepMs ?? DEFAULT_SWEEP_MS);
    this.#sweepTimer.unref?.();
  }

  /**
   * Every task of a bound project whose next step is the daemon's, taken by this node when its hold
   * is free. At start (`atStart`) auto-merge is tried on every task in review (a stop may have
   * come between its Review and its merge); later sweeps leave it on a forge to the poll.
   * Returns how many steps it finished or started.
   */
  async sweep(atStart: boolean): Promise<number> {
    const bound = new Map((await this.tasks.listProjects()).filter((p) => p.repo !== null).map((p) => [p.id, p.repo!] as const));
    if (bound.size === 0) return 0;
    let n = 0;
    for (const status of ['in_progress', 'checking', 'review'] as const) {
      for (const task of await this.tasks.listTasks({ status })) {
        if (this.#stopped) return n;
        const repo = task.projectId === null ? undefined : bound.get(task.projectId);
        if (repo === undefined) continue;
        try {
          if (await this.#drive(task, { id: task.projectId!, repo }, atStart)) n++;
        } catch (err) {
          this.#o.log.warn(`Task ${task.identifier ?? task.id}: ${errorMessage(err)}`);
        }
      }
    }
    return n;
  }

  /** Runs the task's next step when it is the daemon's; true when it did something. */
  async #drive(task: TaskRecord, project: BoundProject, atStart: boolean): Promise<boolean> {
    if (!(await this.#drivesHere(task, project))) return false;
    const worktree = task.git?.worktreePath;
    const next = nextStep(task, project.repo, worktree != null && !existsSync(worktree));
    switch (next.step) {
      case 'carry-out-request':
        // Asked while this node was down, or its answer was lost: carried out now (a live ask is answered at once).
        if (!atStart && Date.now() - next.requestedAt < ASK_WAIT_MS) return false;
        await this.#carryOutRequest(task.id, task.git!.request!.id).catch((err: unknown) =>
          this.#o.log.warn(`Task ${task.identifier ?? task.id}: its ${task.git?.request?.step} asked by another node failed: ${errorMessage(err)}`),
        );
        return true;
      case 'restore-worktree':
        return (await this.#held(task.id, 'flow', () => this.#restoreWorktree(task.id))) !== undefined;
      case 'dispatch':
        return (await this.#held(task.id, 'flow', () => this.#dispatchHeld(task.id, false))) !== undefined;
      case 'check':
        return this.#track(task.id, () => this.#proveDone(task.id));
      case 'finish-check':
        return (await this.#held(task.id, 'flow', async () => (await finishTaskChecking(this.tasks, task.id)).status !== 'checking')) === true;
      case 'ask-rounds':
        return (await this.#held(task.id, 'flow', () => this.#resumeRounds(task.id))) === true;
      case 'finish-merge': {
        const merge = task.git!.merge!;
        return (await this.#held(task.id, 'merge', () => this.#mergeHeld(task.id, merge.method, merge.by ?? 'person'))) !== undefined;
      }
      case 'carry-out-answer': {
        const approval = await this.#o.stores.approvals.get(next.approvalId);
        return approval?.status === 'answered' && (await this.carryOutRoundsAnswer(approval)) !== undefined;
      }
      case 'auto-merge':
        return (atStart || !hasForge(project)) && (await this.autoMerge(task.id));
      case 'wait':
        return false;
    }
  }

  /**
   * Whether this node drives the task: it holds the task's disk (disk.ts), or that node is down
   * and this one sees the task's very worktree (a disk both share) and takes the step over; when
   * no node is named, it sees the repository the worktree is made from or the task's worktree (a
   * URL binding's clone lives in one node's home).
   */
  async #drivesHere(task: TaskRecord, project: BoundProject): Promise<boolean> {
    const named = this.#asks ? diskNode(this.#o.settings(), task, project.repo) : undefined;
    if (named !== undefined) return named === this.#asks!.here || (await this.#takesOver(task, project, named));
    const worktree = task.git?.worktreePath;
    return existsSync(this.#repoDir(project)) || (worktree != null && existsSync(worktree));
  }

  #repoDir(project: BoundProject): string {
    return resolveProjectRepo(project.repo, { projectId: project.id, home: this.#o.home }).repoDir;
  }

  /** A step of a task whose node is down is this node's when it sees the task's own worktree (a shared disk): never a worktree of the same path on another disk. */
  async #takesOver(task: TaskRecord, project: BoundProject, holder: string): Promise<boolean> {
    const worktree = task.git?.worktreePath;
    if (worktree == null || !(await seesTaskWorktree(this.#repoDir(project), worktree, task.id))) return false;
    return !(await this.#asks!.isLive(holder));
  }

  /** The node that holds the task's disk when it is another one (and not taken over here); undefined when this node does (or there is one node). */
  async #elsewhere(task: TaskRecord, known?: BoundProject): Promise<string | undefined> {
    const project = known ?? (task.projectId && this.#asks ? await this.tasks.getProject(task.projectId) : undefined);
    const node = project?.repo ? diskNode(this.#o.settings(), task, project.repo) : undefined;
    if (node === undefined || node === this.#asks?.here) return undefined;
    return (await this.#takesOver(task, { id: project!.id, repo: project!.repo! }, node)) ? undefined : node;
  }

  /** The node that holds a bound project's repository when the binding names another one. */
  #projectElsewhere(repo: ProjectRepo): string | undefined {
    return this.#asks && repo.node !== undefined && repo.node !== this.#asks.here ? repo.node : undefined;
  }

  /** Whether this node holds the task's disk (a read of its repository here means something). */
  async holdsDisk(task: TaskRecord, project?: BoundProject): Promise<boolean> {
    return (await this.#elsewhere(task, project)) === undefined;
  }

  /** The task driven now on this node (asked by another node that has no disk for it): the task after. */
  async #driveNow(taskId: string): Promise<TaskRecord> {
    const task = await this.tasks.mustGetTask(taskId);
    const project = task.projectId ? await this.tasks.getProject(task.projectId) : undefined;
    if (project?.repo) await this.#drive(task, { id: project.id, repo: project.repo }, false);
    return this.tasks.mustGetTask(taskId);
  }

  /**
   * Runs `work` holding the task's `hold` in this process and in the database; undefined when
   * another step (here or on another node) holds it.
   */
  async #held<T>(taskId: string, hold: string, work: () => Promise<T>): Promise<T | undefined> {
    const key = `${hold}:${taskId}`;
    if (this.#running.has(key)) return undefined;
    this.#running.add(key);
    try {
      const held = await this.tasks.holdTask(taskId, hold, work);
      return held.held ? held.value : undefined;
    } finally {
      this.#running.delete(key);
      // An agent said done while this step (its dispatch, the Checking before) still ran: the Checking now.
      if (hold === 'flow' && this.#again.delete(taskId) && !this.#stopped) this.#track(taskId, () => this.#driveAgain(taskId));
    }
  }

  /** Like `#held`, refusing (409) instead of skipping: a person's request while another step holds the task. */
  async #heldOrRefused<T>(task: TaskRecord, hold: string, busy: string, work: () => Promise<T>): Promise<T> {
    const key = `${hold}:${task.id}`;
    const refused = (): TinyError => new TinyError('INVALID_STATE', `Task ${task.identifier ?? task.id}${busy}.`, { hint: 'Wait for that request to answer.' });
    if (this.#running.has(key)) throw refused();
    const value = await this.#held(task.id, hold, async () => ({ value: await work() }));
    if (value === undefined) throw refused();
    return value.value;
  }

  /**
   * Runs a step in the background under the task's hold (closing waits for it). While a step of the
   * task runs here (its dispatch, or a Checking still finishing after its feedback, whose agent
   * already said done), the task is driven again once it ends (`#held`): its next step read anew.
   * False when it did not start now.
   */
  #track(taskId: string, work: () => Promise<unknown>): boolean {
    const key = `flow:${taskId}`;
    if (this.#running.has(key)) {
      this.#again.add(taskId);
      return false;
    }
    const step = this.#held(taskId, 'flow', work).catch((err: unknown) => this.#o.log.warn(`Task ${taskId}: ${errorMessage(err)}`));
    this.#inFlight.add(step);
    void step.finally(() => this.#inFlight.delete(step));
    return true;
  }

  /** The task's next step, read anew, when it is a Checking (the one step an agent's run starts while another may be finishing). */
  async #driveAgain(taskId: string): Promise<void> {
    const task = await this.tasks.getTask(taskId);
    const project = task?.projectId ? await this.tasks.getProject(task.projectId) : undefined;
    if (task && project?.repo && nextStep(task, project.repo).step === 'check') await this.#proveDone(taskId);
  }

  /** The Checkings and other steps running in the background here (tests wait on it). */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.#inFlight]);
  }

  // ---- What every step gets ----

  /**
   * What each step of a repository-bound task gets from the daemon (core's `TaskStepBase`). The
   * setup and the checks are the project's commands, not the daemon's: they run with an agent
   * CLI's base environment, without the daemon's secrets, confined like a sandboxed owner.
   */
  stepBase(projectId: string, repo: ProjectRepo, task: TaskRecord): TaskStepBase {
    const env = this.#o.env;
    return {
      events: this.#o.stores.events,
      home: this.#o.home,
      projectId,
      repo,
      task,
      env: baseChildEnv(env),
      wrap: taskCommandWrap(this.#o.settings(), task, env, this.#o.sandboxHost),
      node: this.#asks?.here,
    };
  }

  /**
   * Sends a message to the task's owner (its assignee agent, or its team) from `task:<id>` on the
   * tasks channel, so the run tools find the task of the conversation; in the worktree when given.
   * The one way every step speaks to its owner. Idempotent on the key.
   */
  async sendToOwner(task: TaskRecord, message: string, idempotencyKey: string, workdir?: string): Promise<OwnerSent> {
    // A worktree deleted by hand is made again from its branch first: a run must never start in a folder that is gone.
    if (workdir !== undefined && !existsSync(workdir)) workdir = (await this.#restoreWorktree(task.id)) ?? workdir;
    // A layered worktree not mounted (after a reboot) is an empty folder: mounted again first.
    if (workdir !== undefined) await ensureLayerMounted(workdir);
    const result = await this.#o.orchestrator.submitGrouped({
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

  async boundProject(projectId: string | null, what: string, why = ''): Promise<BoundProject> {
    const project = projectId ? await this.tasks.getProject(projectId) : undefined;
    if (!project?.repo) {
      throw new TinyError('INVALID_STATE', `${what} is not in a project bound to a git repository.`, {
        hint: `${why ? `${why} ` : ''}Bind the project to a repository (tinyagi project bind, or PATCH /api/projects/:id with repo) first.`,
      });
    }
    return { id: project.id, repo: project.repo };
  }

  // ---- A person's and an agent's moves ----

  /** A new task; one created in progress with an assignee is sent to it. */
  async create(input: Parameters<TaskFlowOptions['stores']['tasks']['createTask']>[0]): Promise<TaskRecord> {
    refuseMoveToChecking(undefined, input.status);
    const task = await this.tasks.createTask(input);
    await this.#changed('created', [task.id]);
    return entersWork(undefined, task) ? this.#dispatch(task) : task;
  }

  /** A person's change of a task (title, assignee, status…): a move into work sends it; a move away from a rounds request withdraws it. */
  async patch(ref: string, body: Parameters<TaskFlowOptions['stores']['tasks']['updateTask']>[1]): Promise<TaskRecord> {
    if (body.status === 'checking') refuseMoveToChecking(await this.tasks.mustGetTask(ref), body.status);
    if (body.status === 'done') await refuseDoneWithoutMerge(this.tasks, await this.tasks.mustGetTask(ref), body.status, body.projectId);
    const { before, after } = await this.tasks.updateTask(ref, body);
    await this.#changed('updated', [after.id]);
    await this.withdrawRoundsRequest(before, after);
    return entersWork(before, after) ? this.#dispatch(after) : after;
  }

  /** The agent's own move of its task (its "done" on a bound task is `startChecking`): never sent again; a move away from a rounds request withdraws it. */
  async agentMove(task: TaskRecord, status: TaskStatus): Promise<TaskRecord> {
    const { before, after } = await this.tasks.updateTask(task.id, { status });
    await this.#changed('updated', [after.id]);
    await this.withdrawRoundsRequest(before, after, `the agent moved the task to ${status}`);
    return after;
  }

  async reorder(columns: Partial<Record<TaskStatus, readonly string[]>>): Promise<TaskRecord[]> {
    for (const ref of columns.checking ?? []) refuseMoveToChecking(await this.tasks.mustGetTask(ref), 'checking');
    const toDone = new Set(columns.done ?? []);
    if (toDone.size > 0) {
      // Only a task entering done can claim a merge: read the tasks not done yet, a query per status,
      // not one per card of the Done column (the whole column is sent, and it is the longest).
      for (const status of ['backlog', 'todo', 'in_progress', 'checking', 'review'] as const) {
        for (const task of await this.tasks.listTasks({ status })) {
          if (toDone.has(task.id) || (task.identifier !== null && toDone.has(task.identifier))) await refuseDoneWithoutMerge(this.tasks, task, 'done');
        }
      }
    }
    const { tasks: reordered, statusChanged } = await this.tasks.reorder(columns);
    await this.#changed(
      'reordered',
      statusChanged.map(({ after }) => after.id),
    );
    const dispatched = new Map<string, TaskRecord>();
    for (const { before, after } of statusChanged) {
      await this.withdrawRoundsRequest(before, after);
      if (entersWork(before, after)) dispatched.set(after.id, await this.#dispatch(after));
    }
    return reordered.map((t) => dispatched.get(t.id) ?? t);
  }

  /**
   * Deletes a task. One whose worktree is on disk needs a choice (`worktree`): `keep` (listed as
   * orphaned until removed) or `remove` (refused while it holds work that is nowhere else, unless
   * `force`); without it nothing is deleted and the refusal says what is there.
   */
  async delete(ref: string, choice: { worktree?: 'keep' | 'remove'; force?: boolean } = {}): Promise<WorktreeRemoval | null> {
    const task = await this.tasks.mustGetTask(ref);
    // Without a worktree there is nothing on a disk: deleted here.
    return task.git?.worktreePath == null ? this.#deleteHere(task, choice) : this.#onDisk(task, 'delete', { ...choice });
  }

  async #deleteHere(task: TaskRecord, choice: { worktree?: 'keep' | 'remove'; force?: boolean }): Promise<WorktreeRemoval | null> {
    const path = task.git?.worktreePath;
    let removed: WorktreeRemoval | null = null;
    if (path != null && existsSync(path)) {
      const identifier = task.identifier ?? task.id;
      if (choice.worktree === undefined) {
        throw new TinyError('INVALID_STATE', `Task ${identifier} has a worktree at ${path} (branch ${task.git?.branch ?? 'unknown'}): say whether to keep or remove it; nothing was deleted.`, {
          hint: `tinyagi task delete ${identifier} --keep-worktree (it stays, listed as orphaned) or --remove-worktree (refused while it holds work that is nowhere else, unless --force); API: ?worktree=keep|remove`,
        });
      }
      if (choice.worktree === 'remove') {
        const project = await this.boundProject(task.projectId, `Task ${identifier}`);
        removed = await removeWorktreeAt(resolveProjectRepo(project.repo, { projectId: project.id, home: this.#o.home }), path, { force: choice.force === true });
      }
    }
    await this.tasks.deleteTask(task.id);
    await this.#changed('deleted', [task.id]);
    await this.withdrawRoundsRequest(task, undefined);
    return removed;
  }

  /** Says a person's or an agent's edit of tasks (`task.changed`), so a board shown elsewhere reads them again. */
  async #changed(change: 'created' | 'updated' | 'deleted' | 'reordered', taskIds: string[]): Promise<void> {
    await this.#o.stores.events.append({ type: 'task.changed', data: { change, taskIds } });
  }

  /** A bound project's worktrees by task identifier, each with its state (core's `projectWorktrees`); none while a URL binding is not cloned. */
  async listWorktrees(projectRef: string): Promise<Awaited<ReturnType<typeof projectWorktrees>>> {
    const found = await this.tasks.mustGetProject(projectRef);
    const project = await this.boundProject(found.id, `Project ${found.name}`);
    const node = this.#projectElsewhere(project.repo);
    if (node !== undefined) return this.#asks!.ask<Awaited<ReturnType<typeof projectWorktrees>>>(node, 'worktrees', { project: project.id }, `Listing project ${found.name}'s worktrees`);
    const repo = resolveProjectRepo(project.repo, { projectId: project.id, home: this.#o.home });
    if (!existsSync(repo.repoDir)) return [];
    return projectWorktrees(repo, await this.tasks.listTasks({ projectId: project.id }));
  }

  /** Removes one of a bound project's worktrees by its path (core's `removeWorktreeAt`): refused with what would be lost unless `force`. */
  async removeWorktree(projectRef: string, path: string, force: boolean): Promise<WorktreeRemoval> {
    const found = await this.tasks.mustGetProject(projectRef);
    const project = await this.boundProject(found.id, `Project ${found.name}`);
    const node = this.#projectElsewhere(project.repo);
    if (node !== undefined) return this.#asks!.ask(node, 'remove-worktree', { project: project.id, path, force }, `Removing the worktree ${path}`);
    const repo = resolveProjectRepo(project.repo, { projectId: project.id, home: this.#o.home });
    return removeWorktreeAt(repo, path, { force });
  }

  /** A bound project's last retention report (`sweep`: the policy applied now), from the node that holds its disk; null until it swept once since its start. */
  async retentionReport(projectRef: string, sweep = false): Promise<RetentionReport | null> {
    const found = await this.tasks.mustGetProject(projectRef);
    const project = await this.boundProject(found.id, `Project ${found.name}`);
    const node = this.#projectElsewhere(project.repo);
    if (node !== undefined) return this.#asks!.ask(node, 'retention', { project: project.id, sweep }, `The retention of project ${found.name}`);
    if (!sweep) return this.retention.report(project.id) ?? null;
    if (!this.retention.sweepsHere(project)) throw new TinyError('INVALID_STATE', `This node does not see project ${found.name}'s repository.`, { hint: 'Sweep it on the node that holds it.' });
    return this.retention.sweepProject(project);
  }

  /**
   * A binding checked against the disk before it is stored (git-tasks' `checkProjectBinding`): on
   * the node it names when that is another one. The binding to store.
   */
  async checkBinding(projectId: string | undefined, repo: ProjectRepo): Promise<ProjectRepo> {
    const node = this.#projectElsewhere(repo);
    if (node !== undefined) return this.#asks!.ask(node, 'binding', { repo, ...(projectId === undefined ? {} : { projectId }) }, `Checking the repository ${repo.path ?? repo.url}`);
    return checkProjectBinding(repo, { ...(projectId === undefined ? {} : { projectId }), home: this.#o.home, settings: this.#o.settings(), env: this.#o.env, sandboxHost: this.#o.sandboxHost });
  }

  /** The task's diff against its base (git-tasks' `taskDiff`), read on the node that holds its disk. */
  async diff(task: TaskRecord): Promise<Awaited<ReturnType<typeof taskDiff>>> {
    const identifier = task.identifier ?? task.id;
    const node = await this.#elsewhere(task);
    if (node !== undefined) return this.#asks!.ask(node, 'diff', {}, `Task ${identifier}'s diff`, { taskId: task.id });
    const project = await this.boundProject(task.projectId, `Task ${identifier}`);
    const repo = resolveProjectRepo(project.repo, { projectId: project.id, home: this.#o.home });
    if (!existsSync(repo.repoDir))
      throw new TinyError('INVALID_STATE', `Task ${identifier}'s repository is not cloned yet, so it has no diff.`, { hint: 'Move it to In progress: the repository is cloned then.' });
    return taskDiff(repo, { identifier, git: task.git });
  }

  /**
   * The agent's "done" on a bound task: moved to `checking` (the daemon's move) and proven in the
   * background under the task's hold.
   */
  async startChecking(task: TaskRecord, saidBy?: { runId: string; conversationId: string }): Promise<TaskRecord> {
    // The Checking is owed from now on (`running`, whatever an earlier round recorded), then the task moves: a crash
    // between the two leaves it in progress, and a crash after it leaves a Checking any node runs again.
    if (task.git) {
      const owed: TaskCheck = { state: 'running', headSha: null, startedAt: Date.now(), finishedAt: null, commits: 0, uncommitted: [], pushed: null, checks: [], missing: [], error: null };
      // Checked again: an auto-merge refused before is decided anew once it passes.
      const { autoMergeRefused: _refused, ...git } = task.git;
      await this.tasks.setTaskGit(task.id, { ...git, check: owed, updatedAt: Date.now() });
    }
    const after = (await this.tasks.updateTask(task.id, { status: 'checking' })).after;
    await this.#o.stores.events.append({
      type: 'task.checking',
      data: { taskId: task.id, identifier: task.identifier ?? task.id, projectId: task.projectId ?? '', round: task.git?.rounds ?? 0 },
    });
    const node = await this.#elsewhere(task);
    // On the node that holds the worktree (its sweep would find it too: this only makes it prompt).
    if (node !== undefined) void this.#asks!.ask(node, 'drive', {}, `Task ${task.identifier ?? task.id}'s Checking`, { taskId: task.id }).catch((err: unknown) => this.#o.log.warn(errorMessage(err)));
    else this.#track(task.id, () => this.#proveDone(task.id, saidBy));
    return after;
  }

  /**
   * A person's request to check a bound task again (its branch moved since its checks passed, a
   * co-worker pushed to it, a check that could not start was fixed): from in progress, review or
   * a Checking waiting for a person, it moves to checking and is proven as the agent's "done" is.
   */
  async check(ref: string): Promise<TaskRecord> {
    const task = await this.tasks.mustGetTask(ref);
    const identifier = task.identifier ?? task.id;
    await this.boundProject(task.projectId, `Task ${identifier}`, 'Only a repository-bound task has checks.');
    const waiting = task.status === 'checking' && task.git?.check?.state === 'needs_person';
    if (!task.git?.branch || !(task.status === 'in_progress' || task.status === 'review' || waiting)) {
      throw new TinyError(
        'INVALID_STATE',
        `Task ${identifier} is ${task.status}${task.git?.branch ? '' : ' with no branch'}: only a started task in progress or in review (or one waiting for a person after its checks) is checked again.`,
        {
          hint: task.status === 'checking' ? 'It is being checked now: wait for the result.' : 'Move it to In progress first.',
        },
      );
    }
    const before = task.status === 'in_progress' ? task : (await this.tasks.updateTask(task.id, { status: 'in_progress' })).after;
    await this.withdrawRoundsRequest(task, before, 'a person asked for the checks again');
    return this.startChecking(before);
  }

  // ---- A person's steps on the node that holds the task's disk ----

  /**
   * Runs a person's step here when this node holds the task's disk; otherwise records it on the
   * task (`git.request`, one at a time) and asks that node, which carries it out once and answers.
   * A node that is down or does not answer: refused with NODE_UNAVAILABLE, the step still recorded,
   * and carried out when the node is back (its sweep at start).
   */
  async #onDisk<T>(task: TaskRecord, step: TaskStepRequestKind, args: Record<string, unknown>): Promise<T> {
    const node = await this.#elsewhere(task);
    // A task with no git record has nothing on a disk yet: the step refuses here with its own reason.
    if (node === undefined || task.git == null) return (await this.#stepHere(step, task, args)) as T;
    const identifier = task.identifier ?? task.id;
    const pending = task.git?.request;
    if (pending !== undefined) {
      throw new TinyError('INVALID_STATE', `Task ${identifier} has a ${pending.step} waiting for node ${pending.node} (asked ${new Date(pending.requestedAt).toISOString()}).`, {
        hint: `It runs when node ${pending.node} is back; start it, or wait for it.`,
      });
    }
    const request: TaskStepRequest = { id: newId('step'), step, node, args, requestedAt: Date.now() };
    await this.tasks.setTaskGit(task.id, { ...task.git, request, updatedAt: Date.now() });
    try {
      return await this.#asks!.ask<T>(node, 'task-step', { requestId: request.id }, `Task ${identifier}'s ${step}`, { taskId: task.id });
    } catch (err) {
      if (err instanceof TinyError && err.code === 'NODE_UNAVAILABLE')
        throw new TinyError('NODE_UNAVAILABLE', `${err.message} The ${step} is recorded on the task and runs when node ${node} is back.`, err.hint ? { hint: err.hint } : {});
      throw err;
    }
  }

  #stepHere(step: TaskStepRequestKind, task: TaskRecord, args: Record<string, unknown>): Promise<unknown> {
    switch (step) {
      case 'merge':
        return args['winner'] === true ? this.#mergeWinnerHere(task) : this.#mergeHere(task, args['method'] as MergeMethod | undefined);
      case 'review':
        return this.#reviewHere(task, args['summary'] as { author: string; content: string } | undefined);
      case 'delete':
        return this.#deleteHere(task, args as { worktree?: 'keep' | 'remove'; force?: boolean });
      case 'sync':
        return this.#syncHere(task);
    }
  }

  /** Carries out the step another node recorded on the task for this one (`git.request`), once: the request is gone after, whatever its outcome. */
  async #carryOutRequest(taskId: string, requestId: string): Promise<unknown> {
    const task = await this.tasks.mustGetTask(taskId);
    const request = task.git?.request;
    if (request?.id !== requestId) throw new TinyError('INVALID_STATE', `Task ${task.identifier ?? task.id}'s step was carried out already.`, { hint: 'Read the task for its outcome.' });
    let value: unknown;
    try {
      value = await this.#stepHere(request.step, task, request.args);
    } finally {
      const after = await this.tasks.getTask(taskId);
      if (after?.git?.request?.id === requestId) {
        const { request: _done, ...git } = after.git;
        await this.tasks.setTaskGit(taskId, { ...git, updatedAt: Date.now() });
      }
    }
    // The step's answer names the task as it is now (without the request), as a step run here does.
    const now = await this.tasks.getTask(taskId);
    return now !== undefined && typeof value === 'object' && value !== null && 'task' in value ? { ...value, task: now } : value;
  }

  // ---- The steps ----

  /**
   * Sends an assigned task in_progress to its agent or team: the worktree step first, a failed step
   * returns the task unsent (its error on `task.git`). Idempotent: the message's key is the task's
   * `updatedAt` when it entered in_progress (the worktree step leaves it alone).
   */
  async #dispatch(task: TaskRecord): Promise<TaskRecord> {
    if (task.projectId !== null && (await this.tasks.getProject(task.projectId))?.repo) {
      const node = await this.#elsewhere(task);
      if (node !== undefined) return this.#dispatchElsewhere(task, node);
      return (await this.#held(task.id, 'flow', () => this.#dispatchHeld(task.id, true))) ?? (await this.tasks.mustGetTask(task.id));
    }
    const result = await this.sendToOwner(task, taskMessage(task), `task:${task.id}:${task.updatedAt}`);
    return (await this.tasks.updateTask(task.id, { conversationId: result.conversationId })).after;
  }

  /**
   * The dispatch asked of the node that holds the task's disk: the task records that node (its
   * worktree is being made there), then that node makes the worktree and sends the message. While
   * it is down the task waits in that state and the node does it when it is back (its sweep).
   */
  async #dispatchElsewhere(task: TaskRecord, node: string): Promise<TaskRecord> {
    const git = task.git ?? { state: 'creating' as const, branch: null, worktreePath: null, headSha: null, error: null };
    await this.tasks.setTaskGit(task.id, { ...git, state: 'creating', error: null, node, updatedAt: Date.now() });
    try {
      return await this.#asks!.ask<TaskRecord>(node, 'drive', {}, `Starting task ${task.identifier ?? task.id}`, { taskId: task.id });
    } catch (err) {
      this.#o.log.warn(`${errorMessage(err)} The task waits for it.`);
      return this.tasks.mustGetTask(task.id);
    }
  }

  /** `moved`: a person's move into work (sent whatever was sent before); otherwise a dispatch a stop interrupted, run only when it is still owed. */
  async #dispatchHeld(taskId: string, moved: boolean): Promise<TaskRecord | undefined> {
    let task = await this.tasks.mustGetTask(taskId);
    const project = task.projectId ? await this.tasks.getProject(task.projectId) : undefined;
    if (!project?.repo || (moved ? !entersWork(undefined, task) : nextStep(task, project.repo).step !== 'dispatch')) return task;
    if (this.#asks) {
      try {
        refuseAgentElsewhere(this.#o.settings(), task, project.repo, this.#asks.here);
      } catch (err) {
        return this.#worktreeRefused(task, project.id, err as TinyError);
      }
    }
    const step = await runTaskWorktreeStep({ ...this.stepBase(project.id, project.repo, task), tasks: this.tasks });
    if (!step.ok) return step.task;
    task = step.task;
    const worktree = { path: step.worktree.path, branch: step.worktree.branch };
    const result = await this.sendToOwner(task, taskMessage(task, worktree), `task:${task.id}:${task.updatedAt}`, worktree.path);
    return (await this.tasks.updateTask(task.id, { conversationId: result.conversationId })).after;
  }

  /** A worktree step refused before it began (the agent runs on another node): recorded as a failed step, for a person. */
  async #worktreeRefused(task: TaskRecord, projectId: string, err: TinyError): Promise<TaskRecord> {
    const message = err.hint ? `${err.message} ${err.hint}` : err.message;
    const git = task.git ?? { state: 'failed' as const, branch: null, worktreePath: null, headSha: null, error: null };
    const after = await this.tasks.setTaskGit(task.id, { ...git, state: 'failed', error: { code: err.code, message }, updatedAt: Date.now() });
    await this.#o.stores.events.append({ type: 'task.worktree_failed', data: { taskId: task.id, identifier: task.identifier ?? task.id, projectId, code: err.code, message } });
    return after;
  }

  /** Makes the task's worktree again from its branch (core's worktree step, which finds the branch and prunes git's stale entry); its path, or undefined when it could not. */
  async #restoreWorktree(taskId: string): Promise<string | undefined> {
    const task = await this.tasks.mustGetTask(taskId);
    const project = task.projectId ? await this.tasks.getProject(task.projectId) : undefined;
    if (!project?.repo || task.git?.branch == null) return undefined;
    const step = await runTaskWorktreeStep({ ...this.stepBase(project.id, project.repo, task), tasks: this.tasks });
    if (!step.ok) {
      this.#o.log.warn(`Task ${task.identifier ?? task.id}: its worktree was gone and could not be made again: ${step.message}`);
      return undefined;
    }
    this.#o.log.warn(`Task ${task.identifier ?? task.id}: its worktree ${step.worktree.path} was gone; made again from branch ${step.worktree.branch}`);
    return step.worktree.path;
  }

  async #proveDone(taskId: string, saidBy?: { runId: string; conversationId: string }): Promise<void> {
    const gone = (await this.tasks.mustGetTask(taskId)).git?.worktreePath;
    if (gone != null && !existsSync(gone)) await this.#restoreWorktree(taskId);
    const task = await this.tasks.mustGetTask(taskId);
    const project = task.projectId ? await this.tasks.getProject(task.projectId) : undefined;
    if (!project?.repo || nextStep(task, project.repo).step !== 'check') return;
    await runTaskChecking({
      ...this.stepBase(project.id, project.repo, task),
      tasks: this.tasks,
      approvals: this.#o.stores.approvals,
      ...(saidBy === undefined ? {} : { saidBy }),
      // The orchestrator's observers hear the Checking (its spans in the trace export: docs/telemetry.md).
      onChecked: (event) => this.#o.orchestrator.notifyTaskChecked?.(event),
      send: (message, idempotencyKey, workdir) => this.sendToOwner(task, message, idempotencyKey, workdir),
    });
    // The branch's head as the Checking found it: what every surface shows as the task's head from now on.
    const checked = await this.tasks.mustGetTask(task.id);
    const head = checked.git?.check?.headSha;
    if (checked.git && head && checked.git.headSha !== head) await this.tasks.setTaskGit(task.id, { ...checked.git, headSha: head, updatedAt: Date.now() });
    // Its move out of checking (to Review, or back to In progress) is said, as every move of a task is: task.checked came before it.
    if (checked.status !== 'checking') await this.#changed('updated', [task.id]);
    await this.forge.openPullRequestAfterChecking(task.id);
    // The binding's auto-merge, if any, may merge it now (with a forge, once its check runs and reviews allow).
    await this.autoMerge(task.id);
  }

  /** A task waiting in checking for a person after its rounds: its request made if a crash left it unmade, an answer carried out if a crash left it undone. */
  async #resumeRounds(taskId: string): Promise<boolean> {
    const task = await this.tasks.mustGetTask(taskId);
    const project = task.projectId ? await this.tasks.getProject(task.projectId) : undefined;
    if (!project?.repo || task.git == null || nextStep(task, project.repo).step !== 'ask-rounds') return false;
    let current = task;
    if (current.git?.roundsApproval === undefined) {
      current = await this.tasks.setTaskGit(task.id, {
        ...task.git,
        roundsApproval: { id: roundsApprovalId(task.id, task.git.rounds ?? 0, undefined), requestedAt: Date.now() },
        updatedAt: Date.now(),
      });
    }
    const made = await requestRoundsApproval({ approvals: this.#o.stores.approvals, events: this.#o.stores.events, projectId: project.id, repo: project.repo }, current);
    if (made === undefined) return false;
    if (made.approval.status === 'pending') return made.created;
    return (await this.carryOutRoundsAnswer(made.approval)) !== undefined;
  }

  /** Carries out an answered `task_rounds` request on its task; the task after, or undefined when there was nothing to do. */
  async carryOutRoundsAnswer(approval: ApprovalRecord): Promise<TaskRecord | undefined> {
    if (approval.kind !== 'task_rounds' || approval.taskId === undefined || approval.status !== 'answered') return undefined;
    const task = await this.tasks.getTask(approval.taskId);
    const project = task?.projectId ? await this.tasks.getProject(task.projectId) : undefined;
    if (!task || !project?.repo) return undefined;
    const node = await this.#elsewhere(task);
    // The node that holds the task's disk carries the answer out (its next step reads it).
    if (node !== undefined) return this.#asks!.ask<TaskRecord>(node, 'drive', {}, `Task ${task.identifier ?? task.id}'s answer`, { taskId: task.id });
    const { task: after, acted } = await carryOutRoundsAnswer({
      tasks: this.tasks,
      events: this.#o.stores.events,
      home: this.#o.home,
      projectId: project.id,
      repo: project.repo,
      approval,
      send: (message, idempotencyKey, workdir) => this.sendToOwner(task, message, idempotencyKey, workdir),
    });
    if (!acted) return undefined;
    // More rounds for a task waiting in Review: its pull request is read now, so the held-back failed check runs go to the owner (the poll sends them otherwise).
    if (approval.decision === 'more_rounds' && after.status === 'review' && hasForge(project)) {
      try {
        return (await this.forge.sync(project, after)).task;
      } catch (err) {
        this.#o.log.warn(`Task ${after.identifier ?? after.id}: reading its pull request after more rounds failed (the poll and tinyagi task sync try again): ${errorMessage(err)}`);
      }
    }
    return after;
  }

  /**
   * A person moved (or deleted) a task that waited for them after its rounds: its pending request
   * has nothing left to decide, so it is cancelled ("the task was moved to todo by hand"), and every
   * surface settles it (`approval.decided`). Also after a person's request for changes or a merge
   * of a task waiting in Review (`why`).
   */
  async withdrawRoundsRequest(before: TaskRecord, after: TaskRecord | undefined, why?: string): Promise<void> {
    const asked = before.git?.roundsApproval;
    // Waiting in Checking, or in Review (its pull request's failed check runs: forge-step.ts).
    const waiting = before.status === 'checking' || (before.status === 'review' && before.git?.pullRequest !== undefined);
    if (!waiting || asked === undefined || asked.decision !== undefined || (after !== undefined && after.status === before.status)) return;
    const reason = why ?? (after === undefined ? 'the task was deleted' : `the task was moved to ${after.status} by hand`);
    const done = await this.#o.stores.approvals.decide(asked.id, { status: 'cancelled', decision: null, decidedBy: 'tasks', reason, decidedAt: Date.now() });
    if (done) await this.#o.stores.events.append({ type: 'approval.decided', conversationId: done.conversationId, agentId: done.agentId, data: { approval: done } });
  }

  /** A person's merge of a task in review: on its forge when it has a pull request, otherwise locally; one at a time per task, on every node. */
  async merge(ref: string, method: MergeMethod | undefined): Promise<Awaited<ReturnType<typeof runTaskMerge>>> {
    return this.#onDisk(await this.tasks.mustGetTask(ref), 'merge', method === undefined ? {} : { method });
  }

  async #mergeHere(task: TaskRecord, method: MergeMethod | undefined): Promise<Awaited<ReturnType<typeof runTaskMerge>>> {
    return this.#heldOrRefused(task, 'merge', ' is being merged', async () => (await this.#mergeHeld(task.id, method, 'person'))!);
  }

  async #mergeHeld(taskId: string, method: MergeMethod | undefined, by: MergedBy): Promise<Awaited<ReturnType<typeof runTaskMerge>> | undefined> {
    const task = await this.tasks.mustGetTask(taskId);
    const project = await this.boundProject(task.projectId, `Task ${task.identifier ?? task.id}`);
    const base = this.stepBase(project.id, project.repo, task);
    const merged = (await this.forge.mergeThroughForge(project, task, base, method, by)) ?? (await runTaskMerge({ ...base, tasks: this.tasks, method: method ?? 'merge', by }));
    // A task whose pull request's failed check runs waited for a person: merged, nothing is left to decide.
    await this.withdrawRoundsRequest(task, merged.task, 'the task was merged');
    return merged;
  }

  /**
   * Auto-merge: the task, if it is in Review in a project whose binding has `autoMerge`, merged
   * now when that holds (git-tasks' `autoMergeDecision`; with a forge, on its pull request's check
   * runs and reviews). True when it merged; an auto-merge still waiting leaves the task as it is.
   * A refused merge is recorded on the task (`git.autoMergeRefused`) and logged once per reason;
   * it is tried again when the branch or the base moves, or after a backoff (`autoMergeRetryDue`).
   */
  async autoMerge(taskId: string): Promise<boolean> {
    const task = await this.tasks.getTask(taskId);
    if (task?.status !== 'review' || task.projectId === null) return false;
    const project = await this.tasks.getProject(task.projectId);
    const autoMerge = project?.repo?.autoMerge;
    if (!project?.repo || autoMerge === undefined) return false;
    const forge = hasForge(project) ? await this.forge.autoMergeFacts(project, task, autoMerge.when) : undefined;
    if (forge === null) return false;
    if (!autoMergeDecision({ autoMerge, status: task.status, git: task.git, forge }).merge) return false;
    const heads = await mergeHeads(this.stepBase(project.id, project.repo, task));
    if (!autoMergeRetryDue(task.git?.autoMergeRefused, heads, Date.now())) return false;
    try {
      return (await this.#held(task.id, 'merge', () => this.#mergeHeld(task.id, autoMerge.method, 'auto_merge'))) !== undefined;
    } catch (err) {
      await this.#recordAutoMergeRefusal(task.id, err, heads);
      return false;
    }
  }

  /** A refused auto-merge on the task, for every surface; one log line and one `task.auto_merge_refused` per new reason, not per try. */
  async #recordAutoMergeRefusal(taskId: string, err: unknown, heads: { tip: string | null; base: string | null }): Promise<void> {
    const task = await this.tasks.mustGetTask(taskId);
    if (task.git == null || task.git.merge !== undefined) return;
    const previous = task.git.autoMergeRefused;
    const reason = err instanceof TinyError ? { code: err.code, message: err.message, hint: err.hint } : { code: 'INTERNAL', message: errorMessage(err) };
    const refused = autoMergeRefusal(previous, reason, heads, Date.now());
    await this.tasks.setTaskGit(task.id, { ...task.git, autoMergeRefused: refused, updatedAt: Date.now() });
    if (refused.attempts > 1) return;
    const identifier = task.identifier ?? task.id;
    this.#o.log.warn(`Task ${identifier}: auto-merge refused (tried again when its branch or base moves, or later): ${reason.message}`);
    await this.#o.stores.events.append({
      type: 'task.auto_merge_refused',
      data: { taskId: task.id, identifier, projectId: task.projectId ?? '', code: refused.code, message: refused.message, retryAt: refused.retryAt },
    });
  }

  /**
   * A best of N's candidate (docs/workflows.md, "Tasks and best of N"): the binding's auto-merge
   * leaves it alone (`git.autoMergeWithheld`) until its workflow picks it. Set before the task first
   * enters work, so no Checking passes before it; one set before is kept.
   */
  async withholdAutoMerge(taskId: string, why: string): Promise<TaskRecord> {
    const task = await this.tasks.mustGetTask(taskId);
    if (task.git?.autoMergeWithheld !== undefined) return task;
    // No worktree yet: the record a worktree step about to run starts from (as a dispatch to another node's).
    const git = task.git ?? { state: 'creating' as const, branch: null, worktreePath: null, headSha: null, error: null };
    return this.tasks.setTaskGit(task.id, { ...git, autoMergeWithheld: { why, at: Date.now() }, updatedAt: Date.now() });
  }

  /**
   * A best of N's winner: its auto-merge no longer withheld, then merged now when the project's
   * auto-merge would merge it (`autoMergeDecision`, the same merge step), on the node that holds its
   * disk. `merged` is true also when it was merged before (a replay); `error` says why it was not
   * (null when the project has no auto-merge: it waits in Review for a person).
   */
  async mergeWinner(ref: string): Promise<WinnerMerge> {
    try {
      return await this.#onDisk<WinnerMerge>(await this.tasks.mustGetTask(ref), 'merge', { winner: true });
    } catch (err) {
      return { merged: false, error: errorMessage(err) };
    }
  }

  async #mergeWinnerHere(task: TaskRecord): Promise<WinnerMerge> {
    // Under the merge hold from the lift on: the auto-merge of a sweep or a poll cannot come between.
    const outcome = await this.#held(task.id, 'merge', async () => {
      const current = await this.#liftWithheld(task.id);
      if (current.git?.merge !== undefined) return { merged: true, error: null };
      const project = await this.boundProject(current.projectId, `Task ${current.identifier ?? current.id}`);
      const autoMerge = project.repo.autoMerge;
      if (autoMerge === undefined) return { merged: false, error: null };
      const forge = hasForge(project) ? await this.forge.autoMergeFacts(project, current, autoMerge.when) : undefined;
      const decision = forge === null ? { merge: false as const, waiting: 'its pull request is not open yet' } : autoMergeDecision({ autoMerge, status: current.status, git: current.git, forge });
      if (!decision.merge) return { merged: false, error: `its auto-merge waits: ${decision.waiting}` };
      const heads = await mergeHeads(this.stepBase(project.id, project.repo, current));
      try {
        await this.#mergeHeld(current.id, autoMerge.method, 'auto_merge');
        return { merged: true, error: null };
      } catch (err) {
        // Refused as an auto-merge is: recorded on the task, tried again when its branch or the base moves.
        await this.#recordAutoMergeRefusal(current.id, err, heads);
        return { merged: false, error: errorMessage(err) };
      }
    });
    if (outcome !== undefined) return outcome;
    const now = await this.tasks.mustGetTask(task.id);
    return now.git?.merge !== undefined ? { merged: true, error: null } : { merged: false, error: `Task ${task.identifier ?? task.id} was being merged by another step (a person's merge).` };
  }

  /** The task with its withheld auto-merge lifted (said to every surface). */
  async #liftWithheld(taskId: string): Promise<TaskRecord> {
    const task = await this.tasks.mustGetTask(taskId);
    if (task.git?.autoMergeWithheld === undefined) return task;
    const { autoMergeWithheld: _lifted, ...git } = task.git;
    const after = await this.tasks.setTaskGit(task.id, { ...git, updatedAt: Date.now() });
    await this.#changed('updated', [task.id]);
    return after;
  }

  /** A person's request for changes on a task in review: the unsent review comments and the summary sent to the owner, the task back in progress. */
  async requestChanges(ref: string, summary: { author: string; content: string } | undefined): Promise<Awaited<ReturnType<typeof runTaskReview>>> {
    return this.#onDisk(await this.tasks.mustGetTask(ref), 'review', summary === undefined ? {} : { summary });
  }

  async #reviewHere(task: TaskRecord, summary: { author: string; content: string } | undefined): Promise<Awaited<ReturnType<typeof runTaskReview>>> {
    const project = await this.boundProject(task.projectId, `Task ${task.identifier ?? task.id}`, 'Changes are asked of a repository-bound task in review; comment on this one instead.');
    // One review of a task at a time, on every node (a forge's read holds it too); the task read again inside.
    const { before, reviewed } = await this.#heldOrRefused(task, 'review', ' has a review being sent', async () => {
      const current = await this.tasks.mustGetTask(task.id);
      const done = await runTaskReview({
        ...this.stepBase(project.id, project.repo, current),
        tasks: this.tasks,
        summary,
        send: (message, key, workdir) => this.sendToOwner(current, message, key, workdir),
      });
      return { before: current, reviewed: done };
    });
    // A task whose pull request's failed check runs waited for a person: this person decided.
    await this.withdrawRoundsRequest(before, reviewed.task, 'a person asked for changes');
    return reviewed;
  }

  /** `tinyagi task sync`: the pull request opened if missing, then the forge's feedback read and sent; an auto-merge that now holds merges. */
  async syncForge(ref: string): Promise<Awaited<ReturnType<ForgeLoop['sync']>>> {
    return this.#onDisk(await this.tasks.mustGetTask(ref), 'sync', {});
  }

  async #syncHere(task: TaskRecord): Promise<Awaited<ReturnType<ForgeLoop['sync']>>> {
    const project = await this.boundProject(task.projectId, `Task ${task.identifier ?? task.id}`, 'A forge belongs to a repository binding.');
    const synced = await this.forge.sync(project, task);
    // Auto-merge may hold now (its check runs passed, its approvals came): the answer says so.
    return (await this.autoMerge(task.id)) ? { ...synced, task: await this.tasks.mustGetTask(task.id) } : synced;
  }

  /** Runs `work` holding the task's review (a forge read): refused (409) while another holds it. */
  holdReview<T>(task: TaskRecord, work: () => Promise<T>): Promise<T> {
    return this.#heldOrRefused(task, 'review', "'s pull request is being read", work);
  }
}

/**
 * The retention sweep (docs/git-tasks.md, "Retention"): the task flow applies each bound
 * project's retention policy (git-tasks' `applyRetention`) at its start and then every
 * `everyMs`, on the node that holds the project's disk — the binding's node when it names one;
 * otherwise each node that sees the repository, judging only the worktrees of tasks whose disk is
 * its own. A removal runs under the task's hold with the task read again. The last report per
 * project is kept here (`GET /api/projects/:id/retention`); a sweep that removed something
 * appends `project.retention_swept`. Sweeps run one at a time in a process.
 */
import { existsSync } from 'node:fs';
import type { ProjectRepo, RetentionReport } from '@tinyagi/client/contract';
import { errorMessage } from '@tinyagi/core';
import { applyRetention, resolveProjectRepo } from '@tinyagi/git-tasks';
import type { StoreSet, TaskRecord } from '../core-internal.ts';

type BoundProject = { id: string; repo: ProjectRepo };

export interface RetentionSweepOptions {
  stores: Pick<StoreSet, 'tasks' | 'events'>;
  home: string;
  log: { warn(message: string): void };
  /** This node's name with several nodes; undefined with one. */
  here: string | undefined;
  /** Why a task's disk is not this node's (another node holds it); undefined when it is. */
  elsewhere(task: TaskRecord, project: BoundProject): Promise<string | undefined>;
  /** Runs `work` under the task's flow hold (undefined when another step holds it). */
  held<T>(taskId: string, work: () => Promise<T>): Promise<T | undefined>;
  /** Default 10 minutes. */
  everyMs?: number;
}

const DEFAULT_EVERY_MS = 10 * 60_000;

export class RetentionSweep {
  readonly #o: RetentionSweepOptions;
  readonly #reports = new Map<string, RetentionReport>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(options: RetentionSweepOptions) {
    this.#o = options;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running.catch(() => {});
  }

  /** The last report of the project swept on this node (undefined: not swept here since the start). */
  report(projectId: string): RetentionReport | undefined {
    return this.#reports.get(projectId);
  }

  /** Whether this node sweeps the project: the binding's node, or (none named) a node that sees the repository. */
  sweepsHere(project: BoundProject): boolean {
    if (project.repo.node !== undefined && this.#o.here !== undefined) return project.repo.node === this.#o.here;
    return existsSync(resolveProjectRepo(project.repo, { projectId: project.id, home: this.#o.home }).repoDir);
  }

  /** Sweeps one project now (after the sweep in flight): its report. */
  sweepProject(project: BoundProject): Promise<RetentionReport> {
    const run = this.#running.catch(() => {}).then(() => this.#sweepOne(project));
    this.#running = run;
    return run;
  }

  /** Every bound project this node sweeps; a project's failure is logged and the others go on. */
  async sweepAll(): Promise<number> {
    let removed = 0;
    for (const p of await this.#o.stores.tasks.listProjects()) {
      if (this.#stopped) break;
      if (p.repo === null) continue;
      const project = { id: p.id, repo: p.repo };
      if (!this.sweepsHere(project)) continue;
      try {
        removed += (await this.sweepProject(project)).removed.length;
      } catch (err) {
        this.#o.log.warn(`Retention of project ${p.name}: ${errorMessage(err)}`);
      }
    }
    return removed;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.sweepAll()
        .catch((err: unknown) => this.#o.log.warn(`The retention sweep failed: ${errorMessage(err)}`))
        .finally(() => this.#schedule(this.#o.everyMs ?? DEFAULT_EVERY_MS));
    }, ms);
    this.#timer.unref?.();
  }

  async #sweepOne(project: BoundProject): Promise<RetentionReport> {
    const ctx = resolveProjectRepo(project.repo, { projectId: project.id, home: this.#o.home });
    const tasks = this.#o.stores.tasks;
    const report = await applyRetention(ctx, async () => tasks.listTasks({ projectId: project.id }), {
      node: this.#o.here ?? null,
      elsewhere: (task) => this.#o.elsewhere(task as TaskRecord, project),
      underTask: (taskId, work) => this.#o.held(taskId, async () => work(await tasks.getTask(taskId))),
    });
    this.#reports.set(project.id, report);
    for (const e of report.errors) this.#o.log.warn(`Retention of project ${project.id}: ${e}`);
    if (report.removed.length > 0) {
      await this.#o.stores.events.append({
        type: 'project.retention_swept',
        data: {
          projectId: project.id,
          removed: report.removed.map((r) => ({ kind: r.kind, path: r.path, branch: r.branch, identifier: r.identifier, reason: r.reason, bytes: r.bytes })),
          kept: report.kept.length,
          bytesAfter: report.bytesAfter,
        },
      });
    }
    return report;
  }
}

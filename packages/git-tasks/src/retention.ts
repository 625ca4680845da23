/**
 * The retention policy of a project's task worktrees (docs/git-tasks.md, "Retention"): what the
 * task flow's sweep removes and what it keeps, and why. Contract:
 * - Nothing with work that is nowhere else is removed: every removal goes through
 *   `removeWorktreeAt` without force (its `removalCheck` refuses uncommitted changes and commits
 *   merged nowhere and pushed nowhere, and a locked worktree); a refusal is reported as kept, with
 *   its reason, never forced. A branch is deleted only when merged into the base.
 * - A worktree whose task is in progress, checking or in review is in use: never removed here.
 * - A merged (done) task's worktree goes at once; one whose task is deleted, in Backlog or To do goes
 *   once idle past `keepAbandonedDays` (unless `retention.abandoned` is `keep`); past the disk
 *   budget, the least recently used of the rest that are not in use go first.
 * - git's admin folders of worktrees whose folder is gone are pruned; a branch of the project's
 *   template that no worktree has checked out and no unfinished task records is deleted when
 *   merged, else kept and named; an empty folder under the worktree root that git does not list
 *   is removed, any other such folder kept and named.
 * - Before a removal the caller may re-read the task under its hold (`underTask`): a task moved
 *   into work meanwhile keeps its worktree.
 */
import { readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type RetentionEntry, type RetentionReport, retentionPolicy } from '@tinyagi/client/contract';
import { errorMessage, isTinyError } from './core.ts';
import { mergedIntoBase } from './branch-state.ts';
import { git, isAncestor, resolveCommit } from './git.ts';
import type { ProjectRepoContext } from './project-repo.ts';
import { removeWorktreeAt, type WorktreeTask } from './worktree-life.ts';
import { pruneLayers } from './layers.ts';
import { dropHalfAddedWorktrees, listGitWorktrees, listTaskWorktrees, type RemovalCheck, samePath, type TaskWorktreeInfo, worktreeList, worktreeOwnBytes } from './worktrees.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const MB = 1024 * 1024;
const IN_USE = new Set(['in_progress', 'checking', 'review']);

export interface RetentionOptions {
  now?: number;
  /** The node running the sweep (recorded in the report). */
  node?: string | null;
  /** Why a task's worktree is not this node's to judge (its disk is another node's); undefined when it is. */
  elsewhere?: (task: WorktreeTask) => Promise<string | undefined>;
  /**
   * Runs a removal under the task's hold with the task read again (undefined: deleted meanwhile);
   * resolves undefined when another step holds the task. Absent: the listed task, no hold.
   */
  underTask?: <T>(taskId: string, work: (task: WorktreeTask | undefined) => Promise<T>) => Promise<T | undefined>;
  /** A worktree's own disk (default: `worktreeOwnBytes`, its own blocks: a layered worktree's folder of changes). */
  ownBytes?: (ctx: ProjectRepoContext, path: string) => Promise<number>;
}

/** What the policy says of one worktree before its removal is tried. */
interface Judged {
  info: TaskWorktreeInfo;
  task: WorktreeTask | undefined;
  entry: RetentionEntry;
  /** Remove it (`reason` says why), or keep it (`reason` says why); `budget`: may go when over the budget. */
  verdict: 'remove' | 'keep' | 'budget';
}

type Policy = ReturnType<typeof retentionPolicy>;

function entryOf(info: TaskWorktreeInfo, task: WorktreeTask | undefined, reason: string, bytes: number | null): RetentionEntry {
  return {
    kind: 'worktree',
    path: info.path,
    branch: info.branch ?? null,
    taskId: task?.id ?? info.taskId ?? null,
    identifier: task?.identifier ?? null,
    bytes,
    lastActivityAt: info.lastActivityAt || null,
    reason,
    atRisk: false,
  };
}

function days(ms: number): string {
  const d = ms / DAY_MS;
  return d >= 1 ? `${Math.round(d * 10) / 10} days` : `${Math.round(ms / 3_600_000)} h`;
}

/** The policy's verdict on a worktree whose task is `task` (undefined: deleted). */
export function retentionVerdict(policy: Policy, task: WorktreeTask | undefined, idleMs: number, locked: string | undefined): { verdict: 'remove' | 'keep' | 'budget'; reason: string } {
  const who = task === undefined ? 'its task was deleted' : `task ${task.identifier ?? task.id} is ${task.status.replace('_', ' ')}`;
  if (locked !== undefined) return { verdict: 'keep', reason: `it is locked${locked ? ` (${locked})` : ''}` };
  // A merge recorded while its task is still in review is being finished by its own step (which removes the worktree).
  if (task !== undefined && IN_USE.has(task.status)) return { verdict: 'keep', reason: `in use: ${who}` };
  if (task?.status === 'done') return { verdict: 'remove', reason: 'merged' };
  if (policy.abandoned === 'keep') return { verdict: 'budget', reason: `${who}; the policy keeps abandoned worktrees` };
  const limit = policy.abandonedDays * DAY_MS;
  if (idleMs >= limit) return { verdict: 'remove', reason: task === undefined ? 'orphaned: its task was deleted' : `abandoned: ${who}, idle ${days(idleMs)}` };
  return { verdict: 'budget', reason: `${who}; idle ${days(idleMs)} of the ${days(limit)} after which it is removed` };
}

/**
 * Prunes git's entries (admin folders) of worktrees whose folder is gone, what a killed `git
 * worktree add` left, and layers and bases nothing stands on; the entries it pruned.
 */
async function pruneGone(ctx: ProjectRepoContext): Promise<RetentionEntry[]> {
  return worktreeList.run(ctx.repoDir, async () => {
    const halves = await dropHalfAddedWorktrees(ctx.repoDir);
    const layers = await pruneLayers(ctx);
    const engine = [...halves.map((name) => `a worktree add cut off (${name})`), ...layers].map((what) => ({
      kind: 'folder' as const,
      path: null,
      branch: null,
      taskId: null,
      identifier: null,
      bytes: null,
      lastActivityAt: null,
      reason: `${what}: nothing stood on it`,
      atRisk: false,
    }));
    const gone = (await listGitWorktrees(ctx.repoDir)).filter((e) => e.prunable && e.locked === undefined);
    if (gone.length === 0) return engine;
    await git(['worktree', 'prune'], { cwd: ctx.repoDir });
    const left = await listGitWorktrees(ctx.repoDir);
    return [
      ...engine,
      ...gone
        .filter((g) => !left.some((e) => samePath(e.path, g.path)))
        .map((g) => ({
          kind: 'worktree' as const,
          path: g.path,
          branch: g.branch?.replace(/^refs\/heads\//, '') ?? null,
          taskId: null,
          identifier: null,
          bytes: null,
          lastActivityAt: null,
          reason: "its folder was gone: git's entry pruned",
          atRisk: false,
        })),
    ];
  });
}

/** Each worktree with the policy's verdict; the tasks are read after the worktrees are listed (a worktree made meanwhile is left for the next sweep). */
async function judge(
  ctx: ProjectRepoContext,
  readTasks: () => Promise<readonly WorktreeTask[]>,
  policy: Policy,
  options: RetentionOptions,
): Promise<{ judged: Judged[]; tasks: readonly WorktreeTask[] }> {
  const now = options.now ?? Date.now();
  const locks = new Map((await listGitWorktrees(ctx.repoDir)).map((e) => [e.path, e.locked]));
  const infos = await listTaskWorktrees(ctx);
  const tasks = await readTasks();
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const judged: Judged[] = [];
  for (const info of infos) {
    if (info.missing) continue;
    const task = (info.taskId === undefined ? undefined : byId.get(info.taskId)) ?? tasks.find((t) => t.git?.worktreePath != null && samePath(t.git.worktreePath, info.path));
    const elsewhere = task === undefined ? undefined : await options.elsewhere?.(task);
    const bytes = policy.diskBudgetMb === null ? null : await (options.ownBytes ?? worktreeOwnBytes)(ctx, info.path).catch(() => null);
    const { verdict, reason } = elsewhere !== undefined ? { verdict: 'keep' as const, reason: elsewhere } : retentionVerdict(policy, task, now - info.lastActivityAt, locks.get(info.path));
    judged.push({ info, task, verdict, entry: entryOf(info, task, reason, bytes) });
  }
  return { judged, tasks };
}

/** Removes a judged worktree unless its task moved into work meanwhile or the removal check refuses; the entry as removed or kept. */
async function tryRemove(ctx: ProjectRepoContext, j: Judged, policy: Policy, why: string, options: RetentionOptions, errors: string[]): Promise<'removed' | 'kept'> {
  const work = async (fresh: WorktreeTask | undefined): Promise<'removed' | 'kept'> => {
    if (j.task !== undefined && fresh !== undefined) {
      const again = retentionVerdict(policy, fresh, 0, undefined);
      if (again.verdict === 'keep') {
        j.entry.reason = again.reason;
        return 'kept';
      }
    }
    try {
      // Never forced: its own removal check refuses what holds work that is nowhere else.
      const done = await removeWorktreeAt(ctx, j.info.path);
      j.entry.reason = done.branchDeleted ? `${why} (its branch deleted)` : why;
      return 'removed';
    } catch (err) {
      if (!isTinyError(err, 'WORKTREE_UNSAFE')) throw err;
      j.entry.reason = `${j.entry.reason}; kept: ${(err.details as RemovalCheck | undefined)?.reason ?? 'it holds work that is nowhere else'}`;
      j.entry.atRisk = true;
      return 'kept';
    }
  };
  try {
    if (j.task === undefined || options.underTask === undefined) return await work(j.task);
    const done = await options.underTask(j.task.id, work);
    if (done === undefined) j.entry.reason = `${j.entry.reason}; its task was busy (tried again at the next sweep)`;
    return done ?? 'kept';
  } catch (err) {
    errors.push(`${j.info.path}: ${errorMessage(err)}`);
    j.entry.reason = `${j.entry.reason}; kept: ${errorMessage(err)}`;
    return 'kept';
  }
}

/** The branch template as a pattern of the branches it makes (`{identifier}`: `WEB-3`, `{slug}`: a slug). */
function templatePattern(template: string): RegExp {
  const parts = template.split(/(\{identifier\}|\{slug\})/).map((p) => (p === '{identifier}' ? '[A-Za-z0-9]+-[0-9]+' : p === '{slug}' ? '[a-z0-9-]*' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${parts.join('')}$`);
}

/** Whether the remote's branch, as last fetched, contains `tip`. */
async function pushedAsFetched(ctx: ProjectRepoContext, branch: string, tip: string): Promise<boolean> {
  if (ctx.repo.remote === undefined) return false;
  const remoteTip = await resolveCommit(ctx.repoDir, `refs/remotes/${ctx.repo.remote}/${branch}`);
  return remoteTip !== undefined && (await isAncestor(ctx.repoDir, tip, remoteTip));
}

/** The project's branches that no worktree has checked out and no unfinished task records: merged ones deleted, the rest kept and named. */
async function sweepBranches(ctx: ProjectRepoContext, tasks: readonly WorktreeTask[]): Promise<{ removed: RetentionEntry[]; kept: RetentionEntry[] }> {
  const pattern = templatePattern(ctx.repo.branchTemplate);
  const recorded = new Set(tasks.filter((t) => t.status !== 'done' && t.git?.merge === undefined && t.git?.branch != null).map((t) => t.git!.branch!));
  const out = { removed: [] as RetentionEntry[], kept: [] as RetentionEntry[] };
  await worktreeList.run(ctx.repoDir, async () => {
    const checkedOut = new Set((await listGitWorktrees(ctx.repoDir)).map((e) => e.branch?.replace(/^refs\/heads\//, '')));
    const refs = (await git(['for-each-ref', '--format=%(refname:short) %(objectname)', 'refs/heads/'], { cwd: ctx.repoDir })).split('\n').filter(Boolean);
    for (const line of refs) {
      const [branch, tip] = line.split(' ') as [string, string];
      if (!pattern.test(branch) || checkedOut.has(branch) || recorded.has(branch)) continue;
      const owner = tasks.find((t) => t.git?.branch === branch);
      const base = { kind: 'branch' as const, path: null, branch, taskId: owner?.id ?? null, identifier: owner?.identifier ?? null, bytes: null, lastActivityAt: null };
      if (await mergedIntoBase(ctx, tip)) {
        await git(['branch', '-D', '--quiet', branch], { cwd: ctx.repoDir });
        out.removed.push({ ...base, reason: `merged into ${ctx.repo.baseRef}`, atRisk: false });
        continue;
      }
      // Kept whatever the remote says: the remote's branch as last fetched (no fetch per kept branch per sweep) only names why.
      const pushed = await pushedAsFetched(ctx, branch, tip);
      const why = pushed
        ? `pushed to ${ctx.repo.remote}, not merged into ${ctx.repo.baseRef}`
        : `its commits are not merged into ${ctx.repo.baseRef}${ctx.repo.remote === undefined ? '' : ` nor pushed to ${ctx.repo.remote} (as last fetched)`}`;
      out.kept.push({ ...base, reason: `a branch without a worktree${owner === undefined ? ' whose task was deleted' : ''}: ${why}`, atRisk: !pushed });
    }
  });
  return out;
}

/** Folders under the worktree root that git does not list: an empty one removed (a creation cut short), any other kept and named. */
async function sweepStrayFolders(ctx: ProjectRepoContext): Promise<{ removed: RetentionEntry[]; kept: RetentionEntry[] }> {
  const out = { removed: [] as RetentionEntry[], kept: [] as RetentionEntry[] };
  let names: string[];
  try {
    names = readdirSync(ctx.worktreeRoot);
  } catch {
    return out;
  }
  const listed = (await listGitWorktrees(ctx.repoDir)).map((e) => e.path);
  // Dot-folders are the engine's own (a layered checkout's shared layers).
  for (const name of names.filter((n) => !n.startsWith('.'))) {
    const path = join(ctx.worktreeRoot, name);
    if (listed.some((p) => samePath(p, path))) continue;
    const base = { kind: 'folder' as const, path, branch: null, taskId: null, identifier: null, bytes: null, lastActivityAt: null, atRisk: false };
    try {
      if (statSync(path).isDirectory() && readdirSync(path).length === 0) {
        rmdirSync(path);
        out.removed.push({ ...base, reason: 'an empty folder git does not list (a worktree never made)' });
        continue;
      }
    } catch {
      continue; // made or removed right now
    }
    out.kept.push({ ...base, reason: 'not a worktree of the repository: left as it is' });
  }
  return out;
}

/** Past the budget: the least recently used worktrees the policy would keep but that are not in use, removed while over it. */
async function enforceBudget(ctx: ProjectRepoContext, rest: Judged[], policy: Policy, options: RetentionOptions, errors: string[], bytes: { now: number }): Promise<Judged[]> {
  const removed: Judged[] = [];
  if (policy.diskBudgetMb === null) return removed;
  const budget = policy.diskBudgetMb * MB;
  const candidates = rest.filter((j) => j.verdict === 'budget').sort((a, b) => a.info.lastActivityAt - b.info.lastActivityAt);
  for (const j of candidates) {
    if (bytes.now <= budget) break;
    const reason = `over the disk budget of ${policy.diskBudgetMb} MB (least recently used first)`;
    if ((await tryRemove(ctx, j, policy, reason, options, errors)) === 'removed') {
      bytes.now -= j.entry.bytes ?? 0;
      removed.push(j);
    }
  }
  if (bytes.now > budget) errors.push(`the task worktrees take ${Math.round(bytes.now / MB)} MB, over the budget of ${policy.diskBudgetMb} MB: what is left is in use or holds work (see kept)`);
  return removed;
}

/**
 * Applies the project's retention policy once: prunes gone worktrees' entries, removes what the
 * policy says when nothing would be lost, enforces the disk budget, deletes merged leftover
 * branches and empty stray folders. `tasks`: the project's tasks, read after this call starts (a
 * worktree made meanwhile is not listed yet). The report names every removal and every keep.
 */
export async function applyRetention(ctx: ProjectRepoContext, readTasks: () => Promise<readonly WorktreeTask[]>, options: RetentionOptions = {}): Promise<RetentionReport> {
  const started = Date.now();
  const policy = retentionPolicy(ctx.repo);
  const errors: string[] = [];
  const removed: RetentionEntry[] = await pruneGone(ctx).catch((err: unknown) => {
    errors.push(`prune: ${errorMessage(err)}`);
    return [];
  });
  const { judged, tasks } = await judge(ctx, readTasks, policy, options);
  const bytes = { now: judged.reduce((sum, j) => sum + (j.entry.bytes ?? 0), 0) };
  const bytesBefore = bytes.now;
  const gone = new Set<Judged>();
  for (const j of judged.filter((x) => x.verdict === 'remove')) {
    if ((await tryRemove(ctx, j, policy, j.entry.reason, options, errors)) === 'removed') {
      gone.add(j);
      bytes.now -= j.entry.bytes ?? 0;
    }
  }
  for (const j of await enforceBudget(
    ctx,
    judged.filter((x) => !gone.has(x)),
    policy,
    options,
    errors,
    bytes,
  ))
    gone.add(j);
  const branches = await sweepBranches(ctx, tasks).catch((err: unknown) => {
    errors.push(`branches: ${errorMessage(err)}`);
    return { removed: [], kept: [] };
  });
  const folders = await sweepStrayFolders(ctx);
  return {
    projectId: ctx.projectId,
    node: options.node ?? null,
    at: started,
    durationMs: Date.now() - started,
    policy,
    bytesBefore,
    bytesAfter: bytes.now,
    removed: [...removed, ...judged.filter((j) => gone.has(j)).map((j) => j.entry), ...branches.removed, ...folders.removed],
    kept: [...judged.filter((j) => !gone.has(j)).map((j) => j.entry), ...branches.kept, ...folders.kept],
    errors,
  };
}

/**
 * A task worktree's life after its task (docs/git-tasks.md, "Worktrees"): each of a project's
 * worktrees named by its task's identifier with its state, and the removal of one by its path —
 * refused while it holds work that is nowhere else unless forced, and then saying what was lost.
 *
 * States:
 * - `ready`: on disk, its task exists;
 * - `missing`: its task records it, its folder is gone (deleted by hand): the next step of the task
 *   makes it again from its branch;
 * - `abandoned`: idle for longer than the binding's `keepAbandonedDays`;
 * - `orphaned`: its task was deleted (or never existed here): nothing will use it again.
 */
import { existsSync } from 'node:fs';
import type { ProjectWorktree, WorktreeState } from '@tinyagi/client/contract';
import { TinyError } from './core.ts';
import { baseCommit, commitsBeyondBase } from './branch-state.ts';
import { git, resolveCommit } from './git.ts';
import { dropLayer } from './layer-mount.ts';
import { pruneLayers } from './layers.ts';
import type { ProjectRepoContext } from './project-repo.ts';
import { dropHalfAddedWorktrees, listGitWorktrees, listProjectWorktrees, type RemovalCheck, removalCheck, samePath, worktreeList } from './worktrees.ts';

/** What the listing needs of a task. */
export interface WorktreeTask {
  id: string;
  identifier: string | null;
  status: string;
  git: { worktreePath: string | null; branch: string | null; merge?: unknown } | null;
}

/** The project's worktrees with their task's identifier and state; an unmerged task whose worktree git no longer lists (deleted and pruned) is listed as missing. */
export async function projectWorktrees(ctx: ProjectRepoContext, tasks: readonly WorktreeTask[], options: { now?: number } = {}): Promise<ProjectWorktree[]> {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const rows: ProjectWorktree[] = [];
  for (const w of await listProjectWorktrees(ctx, options)) {
    const owner = (w.taskId === undefined ? undefined : byId.get(w.taskId)) ?? tasks.find((t) => t.git?.worktreePath != null && samePath(t.git.worktreePath, w.path));
    const state: WorktreeState = w.missing ? 'missing' : owner === undefined ? 'orphaned' : w.abandoned ? 'abandoned' : 'ready';
    const removal = state === 'orphaned' && w.removal === undefined && w.branch !== undefined ? await removalCheck(ctx, w.branch, w.path) : w.removal;
    rows.push({
      path: w.path,
      branch: w.branch ?? null,
      head: w.head ?? null,
      taskId: owner?.id ?? w.taskId ?? null,
      identifier: owner?.identifier ?? null,
      state,
      missing: w.missing,
      lastActivityAt: w.lastActivityAt,
      idleMs: w.idleMs,
      abandoned: w.abandoned,
      removal: removal ?? null,
    });
  }
  for (const t of tasks) {
    const path = t.git?.worktreePath;
    // A merged (done) task's worktree was removed on purpose.
    if (path == null || t.status === 'done' || t.git?.merge !== undefined || existsSync(path) || rows.some((r) => samePath(r.path, path))) continue;
    rows.push({
      path,
      branch: t.git?.branch ?? null,
      head: null,
      taskId: t.id,
      identifier: t.identifier,
      state: 'missing',
      missing: true,
      lastActivityAt: 0,
      idleMs: 0,
      abandoned: false,
      removal: null,
    });
  }
  return rows;
}

export interface WorktreeRemoval {
  /** False when there was no worktree there any more. */
  removed: boolean;
  /** The local branch was deleted (only when merged into the base). */
  branchDeleted: boolean;
  /** What a forced removal lost: the uncommitted files (the branch and its commits are kept). */
  lost: string[];
}

/** What removing the worktree at `path` would lose: its uncommitted files, and the branch's commits that are neither merged nor pushed. */
async function atRisk(ctx: ProjectRepoContext, branch: string | undefined, path: string, present: boolean): Promise<{ check: RemovalCheck; commits: string[] }> {
  if (branch === undefined) return { check: { safe: false, merged: false, pushed: false, uncommitted: [], reason: 'it is not on a branch' }, commits: [] };
  const check = await removalCheck(ctx, branch, present ? path : undefined);
  if (check.merged || check.pushed) return { check, commits: [] };
  const tip = await resolveCommit(ctx.repoDir, `refs/heads/${branch}`);
  const commits = tip === undefined ? [] : (await commitsBeyondBase(ctx.repoDir, await baseCommit(ctx), tip)).map((c) => `${c.sha.slice(0, 8)} ${c.subject}`);
  return { check, commits };
}

/**
 * Removes the worktree at `path` (one of the project's): refused (`WORKTREE_UNSAFE`, naming what
 * would be lost) while it has uncommitted changes or commits merged nowhere and pushed nowhere,
 * unless `force`. A forced removal loses only the uncommitted files: the branch keeps its commits
 * (it is deleted only when merged, as after a merge). A locked worktree is unlocked only when forced.
 */
export async function removeWorktreeAt(ctx: ProjectRepoContext, path: string, options: { force?: boolean } = {}): Promise<WorktreeRemoval> {
  return worktreeList.run(ctx.repoDir, async () => {
    await dropHalfAddedWorktrees(ctx.repoDir);
    const entry = (await listGitWorktrees(ctx.repoDir)).find((e) => samePath(e.path, path));
    if (entry === undefined) {
      if (existsSync(path))
        throw new TinyError('INVALID_STATE', `${path} is not a worktree of ${ctx.repoDir}; it was left as it is.`, { hint: 'Remove the folder yourself if it is yours to remove.' });
      return { removed: false, branchDeleted: false, lost: [] };
    }
    const branch = entry.branch?.replace(/^refs\/heads\//, '');
    const present = !entry.prunable;
    const { check, commits } = await atRisk(ctx, branch, path, present);
    const force = options.force === true;
    if (!check.safe && !force) {
      const atStake = [
        ...(check.uncommitted.length > 0
          ? [`${check.uncommitted.length} uncommitted file(s), which --force loses: ${check.uncommitted.slice(0, 10).join(', ')}${check.uncommitted.length > 10 ? ', …' : ''}`]
          : []),
        ...(commits.length > 0
          ? [`${commits.length} commit(s) on ${branch} merged into ${ctx.repo.baseRef} nowhere and pushed nowhere, which the branch keeps: ${commits.slice(0, 5).join('; ')}`]
          : []),
      ];
      throw new TinyError('WORKTREE_UNSAFE', `The worktree ${path} was not removed: ${check.reason ?? 'it holds work that is nowhere else'}.`, {
        details: { ...check, commits },
        hint: `${atStake.length > 0 ? `It holds ${atStake.join('; and ')}. ` : ''}Commit and push (or merge) first, or remove it with --force (force: true).`,
      });
    }
    if (entry.locked !== undefined && !force) {
      throw new TinyError('INVALID_STATE', `The worktree ${path} is locked${entry.locked ? ` (${entry.locked})` : ''}; it was not removed.`, {
        hint: 'Remove it with --force (force: true) to unlock and remove it.',
      });
    }
    // --force: the worktree files' copies and links are untracked on purpose; twice unlocks a locked worktree.
    // A layered worktree is unmounted and its own folder removed first (layer-mount.ts).
    if (present) await dropLayer(path);
    if (present) await git(['worktree', 'remove', '--force', ...(entry.locked !== undefined ? ['--force'] : []), path], { cwd: ctx.repoDir });
    await git(['worktree', 'prune'], { cwd: ctx.repoDir });
    let branchDeleted = false;
    if (branch !== undefined && check.merged) {
      await git(['branch', '-D', '--quiet', branch], { cwd: ctx.repoDir });
      branchDeleted = true;
    }
    await pruneLayers(ctx);
    return { removed: present, branchDeleted, lost: force ? check.uncommitted : [] };
  });
}

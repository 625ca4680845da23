/**
 * Merging a task's branch into the binding's base (docs/git-tasks.md, "Merge, and worktree
 * removal"). Contract:
 * - The base must be a local branch (`main`, `refs/heads/main`); a remote-tracking base
 *   (`origin/main`) is merged by the remote's owner (a forge, a push), not here: INVALID_STATE.
 * - `ff`: only when the base is an ancestor of the branch's tip; `merge`: always a merge commit
 *   (`--no-ff`), its message naming the task's identifier.
 * - No working tree is used to merge. A merge commit is made from objects alone
 *   (`git merge-tree --write-tree`, then `git commit-tree`): a conflict writes no ref and no file,
 *   so nothing is ever left half-merged (MERGE_CONFLICT, with the conflicted paths).
 * - The base branch then moves to the new commit: with `git update-ref <new> <old>` (refused if
 *   the base moved meanwhile) when no working tree has it checked out; when one has (a person's
 *   checkout of `main`), with `git merge --ff-only` in that checkout, which updates its files and
 *   refuses, changing nothing, if a local change (staged, unstaged or untracked) would be
 *   overwritten. A person's uncommitted work is never lost, and their checkout never ends up with
 *   a branch that moved under an index that did not.
 * - Nothing the person's checkout does not track is replaced: a merge adding a path the binding
 *   copies or links into each worktree is refused whatever is checked out, and one adding a path
 *   that is on disk in the checkout of the base, untracked or ignored (git's `--ff-only` overwrites
 *   an ignored path silently), is refused naming it. Both before anything moves.
 * - Merges into one repository's base run one at a time (in this process): two tasks merged
 *   together (a person's request beside an auto-merge, or beside a start finishing a recorded merge)
 *   would each read the base, and the second's move would fail as if the base had moved.
 * - Idempotent: a tip already in the base (an ancestor of it) is reported merged, `created: false`,
 *   without a new commit. A branch with no commits of its own (its tip is still the commit it was
 *   created at, read from its reflog) is INVALID_STATE: there is nothing to merge.
 * - The base is never pushed: with a `remote`, what reaches it is the person's (or a forge's) job.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { MergeMethod } from '@tinyagi/client/contract';
import { TinyError } from './core.ts';
import { baseCommit } from './branch-state.ts';
import { git, gitFailed, gitStatus, isAncestor, resolveCommit } from './git.ts';
import { type ProjectRepoContext, type TaskRef, taskBranchName } from './project-repo.ts';
import { PerRepositoryQueue } from './one-at-a-time.ts';
import { listGitWorktrees } from './worktrees.ts';

const merges = new PerRepositoryQueue();

export interface TaskMergeResult {
  method: MergeMethod;
  /** The task's branch. */
  branch: string;
  /** The base branch that received it (`refs/heads/…`). */
  baseBranch: string;
  /** The branch's tip, now an ancestor of (or equal to) the base. */
  tip: string;
  /** The base's commit after the merge: the tip (ff), the merge commit, or the base as found (already merged). */
  commit: string;
  /** False when the tip was already in the base and nothing was written. */
  created: boolean;
  /** The base's commit before this merge moved it (only when `created`). */
  baseBefore?: string;
}

/** The base ref as a local branch (`refs/heads/…`), or INVALID_STATE. */
async function baseBranchRef(ctx: ProjectRepoContext): Promise<string> {
  const full = (await gitStatus(['rev-parse', '--symbolic-full-name', ctx.repo.baseRef], { cwd: ctx.repoDir })).stdout.trim();
  if (!full.startsWith('refs/heads/')) {
    throw new TinyError('INVALID_STATE', `Project ${ctx.projectId}'s base ref "${ctx.repo.baseRef}" is not a local branch (${full || 'not a branch name'}); TinyAGI merges only into a local branch.`, {
      hint: "Merge through the remote's owner (a forge, a push), or bind the project with a local branch as baseRef (e.g. main).",
    });
  }
  return full;
}

/** The commit the branch was created at: the oldest entry of its reflog (undefined without one). */
async function branchCreatedAt(cwd: string, branchRef: string): Promise<string | undefined> {
  const log = await gitStatus(['reflog', 'show', '--format=%H', branchRef, '--'], { cwd });
  if (log.exitCode !== 0) return undefined;
  return log.stdout.trim().split('\n').filter(Boolean).at(-1);
}

function mergeMessage(task: TaskRef, branch: string, baseBranch: string): string {
  return `Merge task ${task.identifier}: ${task.title}\n\nBranch ${branch} into ${baseBranch.replace(/^refs\/heads\//, '')}, merged by TinyAGI.\n`;
}

/** Merges the task's branch into the binding's base branch (the module's contract). */
export function mergeTaskBranch(ctx: ProjectRepoContext, task: TaskRef, options: { method: MergeMethod }): Promise<TaskMergeResult> {
  return merges.run(ctx.repoDir, () => mergeNow(ctx, task, options));
}

async function mergeNow(ctx: ProjectRepoContext, task: TaskRef, options: { method: MergeMethod }): Promise<TaskMergeResult> {
  const { method } = options;
  const baseBranch = await baseBranchRef(ctx);
  const branch = await taskBranchName(ctx, task);
  const branchRef = `refs/heads/${branch}`;
  const tip = await resolveCommit(ctx.repoDir, branchRef);
  if (tip === undefined) {
    throw new TinyError('INVALID_STATE', `Task ${task.identifier} has no branch ${branch} in ${ctx.repoDir}; there is nothing to merge.`, { hint: 'Start the task to create its branch.' });
  }
  const base = await baseCommit(ctx);
  const result = (commit: string, created: boolean): TaskMergeResult => ({ method, branch, baseBranch, tip, commit, created, ...(created ? { baseBefore: base } : {}) });

  if (await isAncestor(ctx.repoDir, tip, base)) {
    if ((await branchCreatedAt(ctx.repoDir, branchRef)) === tip) {
      throw new TinyError('INVALID_STATE', `Task ${task.identifier}'s branch ${branch} has no commits of its own beyond ${ctx.repo.baseRef}; there is nothing to merge.`, {
        hint: 'Commit the work on the branch first.',
      });
    }
    return result(base, false);
  }

  let commit: string;
  if (method === 'ff') {
    if (!(await isAncestor(ctx.repoDir, base, tip))) {
      throw new TinyError('INVALID_STATE', `Task ${task.identifier}'s branch ${branch} cannot be fast-forwarded into ${ctx.repo.baseRef}: ${ctx.repo.baseRef} has commits the branch lacks.`, {
        hint: 'Merge with a merge commit (method "merge"), or rebase the branch on the base first.',
      });
    }
    commit = tip;
  } else {
    const args = ['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', base, tip];
    const tree = await gitStatus(args, { cwd: ctx.repoDir });
    if (tree.exitCode === 1) {
      const conflicts = tree.stdout.split('\0').slice(1).filter(Boolean);
      throw new TinyError('MERGE_CONFLICT', `Task ${task.identifier}'s branch ${branch} conflicts with ${ctx.repo.baseRef} in ${conflicts.join(', ') || 'some paths'}; nothing was merged.`, {
        details: { branch, baseRef: ctx.repo.baseRef, base, tip, conflicts },
        hint: `Merge ${ctx.repo.baseRef} into the branch (or rebase it) in the task's worktree, resolve the conflicts and commit; then merge again.`,
      });
    }
    if (tree.exitCode !== 0) {
      const failed = gitFailed(args, ctx.repoDir, tree);
      // `merge-tree --write-tree` is git 2.38's; an older git answers 129 (usage).
      throw new TinyError('GIT_FAILED', failed.message, { details: failed.details, hint: 'A merge commit needs git 2.38 or newer on the daemon’s machine; a fast-forward (method "ff") does not.' });
    }
    const treeId = tree.stdout.split('\0')[0]!.trim();
    const env = await mergeIdentity(ctx.repoDir);
    commit = (await git(['commit-tree', treeId, '-p', base, '-p', tip, '-m', mergeMessage(task, branch, baseBranch)], { cwd: ctx.repoDir, env })).trim();
  }

  const added = await pathsAdded(ctx.repoDir, base, commit);
  // A path the binding copies or links into each worktree never reaches the base: checked out, it would replace the person's own.
  const committed = ctx.repo.files.map((file) => file.path).filter((file) => added.some((path) => path === file || path.startsWith(`${file}/`)));
  if (committed.length > 0) {
    throw new TinyError('INVALID_STATE', `Task ${task.identifier}'s branch ${branch} adds ${committed.join(', ')}, which the binding copies or links into each worktree; nothing was merged.`, {
      details: { paths: committed },
      hint: `Remove ${committed.length === 1 ? 'it' : 'them'} from the branch (git rm -r --cached -- ${committed.join(' ')}, then commit; ask for changes), check it again, then merge.`,
    });
  }
  const checkout = (await listGitWorktrees(ctx.repoDir)).find((e) => e.branch === baseBranch && !e.prunable);
  if (checkout !== undefined) {
    // git replaces an ignored path (a node_modules folder) without a word: those are refused here first, naming them.
    const overwritten = await untrackedInTheWay(checkout.path, added);
    if (overwritten.length > 0) {
      const named = `${overwritten.slice(0, 10).join(', ')}${overwritten.length > 10 ? `, and ${overwritten.length - 10} more` : ''}`;
      throw new TinyError('INVALID_STATE', `Merging task ${task.identifier} would replace what git does not track in ${checkout.path} (untracked or ignored): ${named}. Nothing was merged.`, {
        details: { checkout: checkout.path, paths: overwritten },
        hint: `Nothing of yours is overwritten. If the branch should not add ${overwritten.length === 1 ? 'it' : 'them'}, ask for changes (git rm -r --cached -- <path> on the branch); else move ${overwritten.length === 1 ? 'it' : 'them'} away in your checkout, then merge again.`,
      });
    }
    // A person's checkout of the base: git moves it and its files together, or refuses and changes nothing.
    const args = ['merge', '--ff-only', '--quiet', commit];
    const moved = await gitStatus(args, { cwd: checkout.path });
    if (moved.exitCode !== 0) {
      if ((await baseCommit(ctx)) !== base) throw baseMoved(ctx, task, moved.stderr);
      // git lists the files in the way on tab-indented lines after its first one.
      const inTheWay = moved.stderr.split('\n').flatMap((line) => (line.startsWith('\t') ? [line.trim()] : []));
      const files = inTheWay.length === 0 ? '' : ` (${inTheWay.slice(0, 20).join(', ')}${inTheWay.length > 20 ? ', …' : ''})`;
      throw new TinyError(
        'INVALID_STATE',
        `${ctx.repo.baseRef} is checked out in ${checkout.path} and git would not move it to the merge: ${moved.stderr.trim().split('\n')[0] ?? ''}${files}. Nothing was merged.`,
        {
          details: { checkout: checkout.path, stderr: moved.stderr, exitCode: moved.exitCode, files: inTheWay },
          hint: `Commit or stash the local changes in ${checkout.path} (or finish what is in progress there), then merge again.`,
        },
      );
    }
  } else {
    const args = ['update-ref', '-m', `tinyagi: merge task ${task.identifier}`, baseBranch, commit, base];
    const updated = await gitStatus(args, { cwd: ctx.repoDir });
    if (updated.exitCode !== 0) throw baseMoved(ctx, task, updated.stderr);
  }
  // The merge is confirmed by ancestry, not by what the commands said.
  if (!(await isAncestor(ctx.repoDir, tip, await baseCommit(ctx)))) {
    throw new TinyError('INVALID_STATE', `${ctx.repo.baseRef} does not contain task ${task.identifier}'s tip ${tip.slice(0, 12)} after the merge (it moved meanwhile).`, { hint: 'Merge again.' });
  }
  return result(commit, true);
}

/** The paths the move from `base` to `commit` adds (not in `base`). */
async function pathsAdded(cwd: string, base: string, commit: string): Promise<string[]> {
  return (await git(['diff', '--name-only', '--no-renames', '--diff-filter=A', '-z', base, commit], { cwd })).split('\0').filter(Boolean);
}

/**
 * What moving the checkout at `checkoutDir` from `base` to `commit` would replace that git does
 * not track there (untracked or ignored: git overwrites an ignored path, a folder included,
 * without asking): each path the merge adds that is on disk, and each folder of such a path that
 * is on disk as a file or a symlink. Paths the checkout's index tracks are git's own to guard.
 */
async function untrackedInTheWay(checkoutDir: string, added: readonly string[]): Promise<string[]> {
  const onDisk = (path: string): ReturnType<typeof lstatSync> | undefined => {
    try {
      return lstatSync(join(checkoutDir, path));
    } catch {
      return undefined;
    }
  };
  const candidates = new Set<string>();
  for (const path of added) {
    if (onDisk(path) !== undefined) candidates.add(path);
    const parts = path.split('/');
    for (let n = 1; n < parts.length; n++) {
      const folder = parts.slice(0, n).join('/');
      const found = onDisk(folder);
      if (found !== undefined && !found.isDirectory()) candidates.add(folder);
    }
  }
  if (candidates.size === 0) return [];
  const tracked = (await git(['ls-files', '-z', '--', ...[...candidates].map((p) => `:(literal)${p}`)], { cwd: checkoutDir })).split('\0').filter(Boolean);
  // A tracked path, or a folder holding tracked files (the merge replaces a tracked folder by a file), is git's to guard.
  return [...candidates].filter((path) => !tracked.some((t) => t === path || t.startsWith(`${path}/`))).sort();
}

/** The base moved between this merge's read of it and its move (a commit in the person's checkout, a push into the repository). */
function baseMoved(ctx: ProjectRepoContext, task: TaskRef, stderr: string): TinyError {
  return new TinyError('INVALID_STATE', `${ctx.repo.baseRef} moved while task ${task.identifier} was being merged; nothing was merged.`, {
    details: { stderr },
    hint: 'Merge again.',
  });
}

/** Who a merge commit is by when git knows nobody (no user.name/user.email, none guessable): TinyAGI, so a machine without a git identity still merges. */
export const FALLBACK_MERGE_IDENTITY = { name: 'TinyAGI', email: 'tinyagi@localhost' } as const;

/** The merge commit's identity: the one git has for the repository (the user's own), else `FALLBACK_MERGE_IDENTITY`. */
async function mergeIdentity(cwd: string): Promise<Record<string, string>> {
  if ((await gitStatus(['var', 'GIT_COMMITTER_IDENT'], { cwd })).exitCode === 0 && (await gitStatus(['var', 'GIT_AUTHOR_IDENT'], { cwd })).exitCode === 0) return {};
  const { name, email } = FALLBACK_MERGE_IDENTITY;
  return { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email };
}

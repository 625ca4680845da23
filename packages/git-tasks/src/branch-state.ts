/**
 * What git says about a task's branch, read by removal (worktrees.ts) and by "done"
 * (facts.ts): its commits beyond the base, whether it is merged into the base, whether it is
 * pushed, and the worktree's uncommitted changes.
 *
 * Merged and pushed are ancestry (`merge-base --is-ancestor`), never tip equality: the remote's
 * branch may be ahead of the local one and still hold all of its work. Pushed is read from the
 * remote-tracking ref right after fetching it; a fetch that fails (no such branch on the remote,
 * no network) counts as not pushed, so a stale tracking ref never vouches for work the remote no
 * longer has.
 */
import { existsSync } from 'node:fs';
import { TinyError } from './core.ts';
import { git, gitStatus, isAncestor, resolveCommit, worktreeGitOptions } from './git.ts';
import { readLayer } from './layer-mount.ts';
import type { ProjectRepoContext } from './project-repo.ts';

export interface BranchCommit {
  sha: string;
  subject: string;
  /** Committer time, epoch ms. */
  committedAt: number;
}

/** The commits on `tip` that `base` does not have, newest first. */
export async function commitsBeyondBase(cwd: string, base: string, tip: string): Promise<BranchCommit[]> {
  const out = await git(['log', '--format=%H%x1f%ct%x1f%s', `${base}..${tip}`, '--'], { cwd });
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [sha, time, subject] = line.split('\x1f');
      return { sha: sha!, subject: subject ?? '', committedAt: Number(time) * 1000 };
    });
}

/** The base ref's commit; INVALID_STATE when the repository has no such ref. */
export async function baseCommit(ctx: ProjectRepoContext): Promise<string> {
  const sha = await resolveCommit(ctx.repoDir, ctx.repo.baseRef);
  if (sha === undefined) {
    throw new TinyError('INVALID_STATE', `Project ${ctx.projectId}'s base ref "${ctx.repo.baseRef}" names no commit in ${ctx.repoDir}.`, {
      hint: "Fetch it, or change the binding's baseRef (e.g. main or origin/main).",
    });
  }
  return sha;
}

export interface PushState {
  pushed: boolean;
  /** The remote's branch tip after the fetch, when it has the branch. */
  remoteTip?: string;
  /** Why it is not pushed (the fetch's error, or the remote's tip lacks the commit). */
  reason?: string;
}

/**
 * Fetches the branch from the binding's remote and says whether `tip` is reachable from it.
 * When the remote's branch is gone, its stale tracking ref is deleted too.
 */
export async function pushState(ctx: ProjectRepoContext, branch: string, tip: string): Promise<PushState> {
  const remote = ctx.repo.remote;
  if (remote === undefined) return { pushed: false, reason: 'the project has no remote' };
  const tracking = `refs/remotes/${remote}/${branch}`;
  const fetch = await gitStatus(['fetch', '--no-tags', '--quiet', remote, `+refs/heads/${branch}:${tracking}`], { cwd: ctx.repoDir, timeoutMs: 5 * 60_000 });
  if (fetch.exitCode !== 0) {
    if (/couldn't find remote ref/i.test(fetch.stderr)) {
      await gitStatus(['update-ref', '-d', tracking], { cwd: ctx.repoDir });
      return { pushed: false, reason: `${remote} has no branch ${branch}` };
    }
    return { pushed: false, reason: `fetching ${branch} from ${remote} failed: ${fetch.stderr.trim().split('\n')[0] ?? `exit ${fetch.exitCode}`}` };
  }
  const remoteTip = await resolveCommit(ctx.repoDir, tracking);
  if (remoteTip === undefined) return { pushed: false, reason: `${remote} has no branch ${branch}` };
  if (await isAncestor(ctx.repoDir, tip, remoteTip)) return { pushed: true, remoteTip };
  return { pushed: false, remoteTip, reason: `${remote}/${branch} does not contain ${tip.slice(0, 12)}` };
}

/** Whether `tip` is in the base ref (a fast-forward or a merge commit there). */
export async function mergedIntoBase(ctx: ProjectRepoContext, tip: string): Promise<boolean> {
  return isAncestor(ctx.repoDir, tip, await baseCommit(ctx));
}

/**
 * Refuses a merge while the task's worktree (if it is there) has uncommitted changes: what is
 * merged is what was committed and checked, and the removal after the merge would refuse them
 * anyway (`WORKTREE_UNSAFE`, naming the first paths). Nothing is changed.
 */
export async function refuseUncommitted(ctx: ProjectRepoContext, worktreeDir: string, identifier: string): Promise<void> {
  if (!existsSync(worktreeDir)) return;
  const uncommitted = await uncommittedPaths(ctx, worktreeDir);
  if (uncommitted.length === 0) return;
  throw new TinyError(
    'WORKTREE_UNSAFE',
    `Task ${identifier}'s worktree ${worktreeDir} has uncommitted changes (${uncommitted.slice(0, 5).join(', ')}${uncommitted.length > 5 ? ', …' : ''}); nothing was merged.`,
    { details: { uncommitted }, hint: 'Commit them (and have them checked) or discard them, then merge again.' },
  );
}

/**
 * The worktree's uncommitted changes (modified, staged, untracked and not ignored), by path,
 * leaving out the worktree files' own paths: those files are TinyAGI's, not the agent's work.
 */
export async function uncommittedPaths(ctx: ProjectRepoContext, worktreeDir: string): Promise<string[]> {
  // A layered worktree whose removal began (judged safe, then unmounted): what is left is no one's work.
  if (readLayer(worktreeDir)?.dropped) return [];
  // The git dir the repository records (not the worktree's own `.git`); a submodule's working tree is not
  // inspected, since that runs git in a folder whose `.git` the agent wrote (its commits still count).
  const out = await git(['status', '--porcelain=v1', '-z', '--untracked-files=all', '--ignore-submodules=dirty'], await worktreeGitOptions(ctx.repoDir, worktreeDir));
  const worktreeFiles = ctx.repo.files.map((file) => file.path);
  const paths: string[] = [];
  const entries = out.split('\0');
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry.length < 4) continue;
    // A rename or copy is followed by its source path as the next entry.
    if (entry[0] === 'R' || entry[0] === 'C') i++;
    const path = entry.slice(3).replace(/\/$/, '');
    if (worktreeFiles.some((file) => path === file || path.startsWith(`${file}/`))) continue;
    paths.push(path);
  }
  return paths;
}

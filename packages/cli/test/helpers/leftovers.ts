/**
 * What a repository holds of its task worktrees, read from git and the disk (never from the
 * daemon): `git worktree list --porcelain`, the local branches, the admin folders under
 * `.git/worktrees/`, and the folders of the worktree root. `orphansOf` names everything in it that
 * nothing accounts for: a worktree or branch that is neither the base nor one the caller accounts
 * for (a live task's, one the retention report keeps with a reason), an admin folder git would
 * prune, a folder of the worktree root that is not a worktree.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface Leftovers {
  /** Worktree paths git lists, the repository's own folder excepted. */
  worktrees: string[];
  branches: string[];
  /** `.git/worktrees/<name>` with the worktree path its `gitdir` names. */
  adminFolders: Array<{ name: string; worktree: string }>;
  /** Folders of the worktree root (dot-folders, the engine's own, excepted). */
  rootFolders: string[];
}

const real = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
};
const run = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export function readLeftovers(repoDir: string, worktreeRoot: string): Leftovers {
  const worktrees = run(repoDir, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length))
    .filter((p) => real(p) !== real(repoDir));
  const branches = run(repoDir, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/').split('\n').filter(Boolean);
  const adminRoot = join(repoDir, '.git', 'worktrees');
  const adminFolders = existsSync(adminRoot)
    ? readdirSync(adminRoot).map((name) => {
        let worktree = '';
        try {
          worktree = dirname(readFileSync(join(adminRoot, name, 'gitdir'), 'utf8').trim());
        } catch {
          // No gitdir: git prunes it.
        }
        return { name, worktree };
      })
    : [];
  const rootFolders = existsSync(worktreeRoot)
    ? readdirSync(worktreeRoot)
        .filter((n) => !n.startsWith('.'))
        .map((n) => join(worktreeRoot, n))
    : [];
  return { worktrees, branches, adminFolders, rootFolders };
}

/** Each leftover nothing accounts for, as `<kind> <name>`; empty when the repository is clean. */
export function orphansOf(left: Leftovers, accounted: { worktrees: ReadonlySet<string>; branches: ReadonlySet<string> }, baseBranch = 'main'): string[] {
  const accountedWorktrees = new Set([...accounted.worktrees].map(real));
  const listed = new Set(left.worktrees.map(real));
  return [
    ...left.worktrees.filter((p) => !accountedWorktrees.has(real(p))).map((p) => `worktree ${p}`),
    ...left.branches.filter((b) => b !== baseBranch && !accounted.branches.has(b)).map((b) => `branch ${b}`),
    ...left.adminFolders.filter((a) => a.worktree === '' || !existsSync(a.worktree) || !listed.has(real(a.worktree))).map((a) => `admin folder .git/worktrees/${a.name}`),
    ...left.rootFolders.filter((f) => !listed.has(real(f))).map((f) => `folder ${f}`),
  ];
}

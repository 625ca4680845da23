/**
 * Worktree removal (docs/git-tasks.md): only a clean worktree whose branch is merged into the
 * base or reachable from the remote's branch goes; anything else is WORKTREE_UNSAFE and stays.
 * Abandoned worktrees are listed, never removed.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp, tempDir } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { isTinyError } from '@tinyagi/core';
import { abandonedWorktrees, createTaskWorktree, removeTaskWorktree } from '../src/worktrees.ts';
import { commitFile, gitFixture, sh, task, rejection } from './fixture.ts';

afterEach(cleanupTemp);

const branchExists = (repoDir: string, branch: string): boolean => sh(repoDir, 'branch', '--list', branch) !== '';

describe('removeTaskWorktree', () => {
  it('refuses a worktree with unpushed commits, and removes it once they are pushed (keeping the unmerged branch)', async () => {
    const fx = gitFixture({ remote: true });
    const ctx = fx.project();
    const wt = await createTaskWorktree(ctx, task(1));
    commitFile(wt.path, 'feature.txt', 'one\n');
    const err = await rejection(removeTaskWorktree(ctx, task(1)));
    expect(isTinyError(err, 'WORKTREE_UNSAFE')).toBe(true);
    expect(err.message).toContain('neither merged into main nor pushed (origin has no branch tinyagi/P-1-task-number-1)');
    expect(existsSync(wt.path)).toBe(true);

    sh(wt.path, 'push', '--quiet', 'origin', wt.branch);
    // Another unpushed commit after the push: refused again.
    commitFile(wt.path, 'feature.txt', 'two\n');
    const again = await rejection(removeTaskWorktree(ctx, task(1)));
    expect(isTinyError(again, 'WORKTREE_UNSAFE')).toBe(true);
    expect(again.message).toContain('origin/tinyagi/P-1-task-number-1 does not contain');

    sh(wt.path, 'push', '--quiet', 'origin', wt.branch);
    const removed = await removeTaskWorktree(ctx, task(1));
    expect(removed).toMatchObject({ removed: true, branchDeleted: false, check: { safe: true, merged: false, pushed: true } });
    expect(existsSync(wt.path)).toBe(false);
    expect(branchExists(fx.repoDir, wt.branch)).toBe(true);
  });

  it('removes a merged worktree and its branch (no remote), and a repeated call is a no-op', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const wt = await createTaskWorktree(ctx, task(1));
    commitFile(wt.path, 'feature.txt', 'done\n');
    expect((await rejection(removeTaskWorktree(ctx, task(1)))).code).toBe('WORKTREE_UNSAFE');
    // A person merges it (a merge commit on main, so the tip is an ancestor, not the tip of main).
    commitFile(fx.repoDir, 'other.txt', 'meanwhile\n');
    sh(fx.repoDir, 'merge', '--quiet', '--no-ff', '-m', 'merge P-1', wt.branch);
    const removed = await removeTaskWorktree(ctx, task(1));
    expect(removed).toMatchObject({ removed: true, branchDeleted: true, check: { merged: true } });
    expect(existsSync(wt.path)).toBe(false);
    expect(branchExists(fx.repoDir, wt.branch)).toBe(false);
    expect(await removeTaskWorktree(ctx, task(1))).toMatchObject({ removed: false, branchDeleted: false });
  });

  it('refuses a merged worktree that has uncommitted changes, but not for the worktree files’ own copies', async () => {
    const fx = gitFixture();
    writeFileSync(join(fx.repoDir, '.env'), 'TOKEN=1\n');
    const ctx = fx.project({ files: [{ path: '.env', mode: 'copy' }] });
    const wt = await createTaskWorktree(ctx, task(1));
    writeFileSync(join(wt.path, 'draft.txt'), 'not committed\n');
    const err = await rejection(removeTaskWorktree(ctx, task(1)));
    expect(isTinyError(err, 'WORKTREE_UNSAFE')).toBe(true);
    expect(err.message).toContain('uncommitted changes (draft.txt)');
    expect((err.details as { uncommitted: string[] }).uncommitted).toEqual(['draft.txt']);
    sh(wt.path, 'add', 'draft.txt');
    sh(wt.path, 'commit', '--quiet', '-m', 'draft');
    sh(fx.repoDir, 'merge', '--quiet', '--ff-only', wt.branch);
    expect(await removeTaskWorktree(ctx, task(1))).toMatchObject({ removed: true, branchDeleted: true });
  });
});

describe('removeTaskWorktree after what an agent plants in it', () => {
  it("a lock in the worktree's admin folder (git worktree lock, as an unconfined agent may run it): the merged worktree is unlocked and removed", async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const wt = await createTaskWorktree(ctx, task(1));
    commitFile(wt.path, 'feature.txt', 'done\n');
    sh(wt.path, 'worktree', 'lock', '--reason', 'mine now', wt.path);
    sh(fx.repoDir, 'merge', '--quiet', '--ff-only', wt.branch);
    const removed = await removeTaskWorktree(ctx, task(1));
    expect(removed).toMatchObject({ removed: true, branchDeleted: true, check: { merged: true } });
    expect(existsSync(wt.path)).toBe(false);
    expect(sh(fx.repoDir, 'worktree', 'list', '--porcelain')).not.toContain(wt.path);
  });

  it("a .git pointed at a repository of the agent's making (outside the worktree), or replaced by one: the merged worktree is removed, that repository left alone", async () => {
    for (const [n, how] of [
      [1, 'pointed'],
      [2, 'replaced'],
    ] as const) {
      const fx = gitFixture();
      const ctx = fx.project();
      const wt = await createTaskWorktree(ctx, task(n));
      commitFile(wt.path, 'feature.txt', 'done\n');
      sh(fx.repoDir, 'merge', '--quiet', '--ff-only', wt.branch);
      const own = tempDir('tinyagi-agents-repo-');
      sh(own, 'init', '--quiet');
      if (how === 'pointed') writeFileSync(join(wt.path, '.git'), `gitdir: ${join(own, '.git')}\n`);
      else {
        // What `rm .git && git init` leaves: a repository of its own where git's pointer was.
        rmSync(join(wt.path, '.git'));
        sh(wt.path, 'init', '--quiet');
      }
      const removed = await removeTaskWorktree(ctx, task(n));
      expect(removed, how).toMatchObject({ removed: true, branchDeleted: true });
      expect(existsSync(wt.path), how).toBe(false);
      expect(existsSync(join(own, '.git', 'HEAD')), how).toBe(true);
    }
  });
});

describe('abandonedWorktrees', () => {
  it('lists worktrees idle past the threshold with whether they could go, and removes nothing', async () => {
    const fx = gitFixture({ remote: true });
    const ctx = fx.project();
    const idle = await createTaskWorktree(ctx, task(1));
    commitFile(idle.path, 'a.txt', 'unpushed\n');
    const pushed = await createTaskWorktree(ctx, task(2));
    commitFile(pushed.path, 'b.txt', 'pushed\n');
    sh(pushed.path, 'push', '--quiet', 'origin', pushed.branch);

    expect(await abandonedWorktrees(ctx, { olderThanMs: 60_000 })).toEqual([]);
    const later = Date.now() + 15 * 24 * 60 * 60 * 1000;
    const found = await abandonedWorktrees(ctx, { now: later });
    expect(found.map((w) => [w.taskId, w.removal.safe]).sort()).toEqual([
      ['task-1', false],
      ['task-2', true],
    ]);
    expect(found.every((w) => w.idleMs >= 14 * 24 * 60 * 60 * 1000)).toBe(true);
    expect(existsSync(idle.path) && existsSync(pushed.path)).toBe(true);
  });
});

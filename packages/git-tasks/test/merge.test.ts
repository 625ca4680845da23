/**
 * Merging a task's branch into the base (docs/git-tasks.md, "Merge, and worktree removal"):
 * fast-forward or a merge commit, never through a working tree; a conflict writes nothing; a
 * person's checkout of the base moves with its files or not at all, their uncommitted work kept;
 * a branch already in the base is reported merged without a new commit; then the worktree goes.
 * Real repositories in temp folders, nothing of ours mocked.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeTaskBranch } from '../src/merge.ts';
import { createTaskWorktree, listProjectWorktrees, removeTaskWorktree } from '../src/worktrees.ts';
import { commitFile, gitFixture, rejection, sh, task } from './fixture.ts';

afterEach(cleanupTemp);

const branchExists = (repoDir: string, branch: string): boolean => sh(repoDir, 'branch', '--list', branch) !== '';

describe('mergeTaskBranch', () => {
  it('fast-forwards the base checked out in the repository, keeping a person’s unrelated uncommitted change; then the worktree and branch go', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const wt = await createTaskWorktree(ctx, task(1));
    const tip = commitFile(wt.path, 'feature.txt', 'done\n');
    // A person is editing another file in their checkout of main.
    writeFileSync(join(fx.repoDir, 'README.md'), '# demo, being edited\n');

    const before = sh(fx.repoDir, 'rev-parse', 'main');
    const merged = await mergeTaskBranch(ctx, task(1), { method: 'ff' });
    expect(merged).toEqual({ method: 'ff', branch: wt.branch, baseBranch: 'refs/heads/main', tip, commit: tip, created: true, baseBefore: before });
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(tip);
    // The checkout moved with its files: the merged file is there, the person's edit is kept, nothing else is dirty.
    expect(readFileSync(join(fx.repoDir, 'feature.txt'), 'utf8')).toBe('done\n');
    expect(sh(fx.repoDir, 'status', '--porcelain')).toBe('M README.md');

    expect(await removeTaskWorktree(ctx, task(1))).toMatchObject({ removed: true, branchDeleted: true, check: { merged: true } });
    expect(existsSync(wt.path)).toBe(false);
    expect(branchExists(fx.repoDir, wt.branch)).toBe(false);
  });

  it('makes a merge commit naming the task when the base is not checked out (update-ref), and a second call is a no-op', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const wt = await createTaskWorktree(ctx, task(1, 'Add a footer'));
    const tip = commitFile(wt.path, 'footer.txt', 'footer\n');
    // The person works on another branch; main moves on meanwhile.
    sh(fx.repoDir, 'checkout', '--quiet', '-b', 'person');
    sh(fx.repoDir, 'branch', '--quiet', '-f', 'main', commitFile(fx.repoDir, 'other.txt', 'meanwhile\n'));
    const before = sh(fx.repoDir, 'rev-parse', 'main');

    expect((await rejection(mergeTaskBranch(ctx, task(1, 'Add a footer'), { method: 'ff' }))).message).toContain('cannot be fast-forwarded into main');
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(before);

    const merged = await mergeTaskBranch(ctx, task(1, 'Add a footer'), { method: 'merge' });
    expect(merged).toMatchObject({ method: 'merge', tip, created: true });
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(merged.commit);
    expect(sh(fx.repoDir, 'log', '-1', '--format=%P', 'main')).toBe(`${before} ${tip}`);
    expect(sh(fx.repoDir, 'log', '-1', '--format=%B', 'main')).toBe('Merge task P-1: Add a footer\n\nBranch tinyagi/P-1-add-a-footer into main, merged by TinyAGI.');
    expect(sh(fx.repoDir, 'show', 'main:footer.txt')).toBe('footer');
    // The person's checkout and branch are as they were.
    expect(sh(fx.repoDir, 'branch', '--show-current')).toBe('person');
    expect(sh(fx.repoDir, 'status', '--porcelain')).toBe('');

    const again = await mergeTaskBranch(ctx, task(1, 'Add a footer'), { method: 'merge' });
    expect(again).toMatchObject({ tip, commit: merged.commit, created: false });
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(merged.commit);
  });

  it('a merge commit is by the repository’s git identity, and by TinyAGI on a machine where git knows none', async () => {
    const fx = gitFixture({ identity: false });
    const ctx = fx.project();
    sh(fx.repoDir, 'checkout', '--quiet', '-b', 'person');
    const one = await createTaskWorktree(ctx, task(1));
    commitFile(one.path, 'one.txt', 'one\n');
    sh(fx.repoDir, 'branch', '--quiet', '-f', 'main', commitFile(fx.repoDir, 'other.txt', 'meanwhile\n'));
    const identity = ['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL'] as const;
    const saved = Object.fromEntries(identity.map((k) => [k, process.env[k]]));
    const count = process.env.GIT_CONFIG_COUNT;
    try {
      // No identity anywhere, and none guessed (user.useConfigOnly): as on a fresh machine.
      for (const k of identity) delete process.env[k];
      const n = Number(count ?? 0);
      Object.assign(process.env, { GIT_CONFIG_COUNT: String(n + 1), [`GIT_CONFIG_KEY_${n}`]: 'user.useConfigOnly', [`GIT_CONFIG_VALUE_${n}`]: 'true' });
      expect(() => sh(fx.repoDir, 'var', 'GIT_COMMITTER_IDENT')).toThrow(/GIT_COMMITTER_IDENT/);
      const merged = await mergeTaskBranch(ctx, task(1), { method: 'merge' });
      expect(sh(fx.repoDir, 'log', '-1', '--format=%an <%ae> / %cn <%ce>', merged.commit)).toBe('TinyAGI <tinyagi@localhost> / TinyAGI <tinyagi@localhost>');

      // The user's own identity (here the repository's config) is the one used.
      sh(fx.repoDir, 'config', 'user.name', 'Ann Person');
      sh(fx.repoDir, 'config', 'user.email', 'ann@example.com');
      const two = await createTaskWorktree(ctx, task(2));
      commitFile(two.path, 'two.txt', 'two\n');
      sh(fx.repoDir, 'branch', '--quiet', '-f', 'main', commitFile(fx.repoDir, 'more.txt', 'more\n'));
      const mergedTwo = await mergeTaskBranch(ctx, task(2), { method: 'merge' });
      expect(sh(fx.repoDir, 'log', '-1', '--format=%an <%ae>', mergedTwo.commit)).toBe('Ann Person <ann@example.com>');
    } finally {
      for (const k of identity) if (saved[k] !== undefined) process.env[k] = saved[k];
      const n = Number(count ?? 0);
      delete process.env[`GIT_CONFIG_KEY_${n}`];
      delete process.env[`GIT_CONFIG_VALUE_${n}`];
      if (count === undefined) delete process.env.GIT_CONFIG_COUNT;
      else process.env.GIT_CONFIG_COUNT = count;
    }
  });

  it('tasks merged at once into a checked-out base each land: merges into one repository take turns (the crash harness saw the second fail "Not possible to fast-forward")', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const tasks = [1, 2, 3, 4].map((n) => task(n));
    for (const t of tasks) commitFile((await createTaskWorktree(ctx, t)).path, `file-${t.identifier}.txt`, `${t.identifier}\n`);

    const merged = await Promise.all(tasks.map((t) => mergeTaskBranch(ctx, t, { method: 'merge' })));
    expect(merged.map((m) => m.created)).toEqual([true, true, true, true]);
    // Each merge commit stands on the one before: every task's file is in main and in the checkout.
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(merged[3]!.commit);
    for (const t of tasks) expect(readFileSync(join(fx.repoDir, `file-${t.identifier}.txt`), 'utf8')).toBe(`${t.identifier}\n`);
    expect(sh(fx.repoDir, 'status', '--porcelain')).toBe('');
  });

  it('reports a branch a person already merged as merged, without a new commit', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const wt = await createTaskWorktree(ctx, task(1));
    const tip = commitFile(wt.path, 'feature.txt', 'done\n');
    commitFile(fx.repoDir, 'other.txt', 'meanwhile\n');
    sh(fx.repoDir, 'merge', '--quiet', '--no-ff', '-m', 'merged by hand', wt.branch);
    const main = sh(fx.repoDir, 'rev-parse', 'main');
    expect(await mergeTaskBranch(ctx, task(1), { method: 'ff' })).toMatchObject({ tip, commit: main, created: false });
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(main);
  });

  it('refuses a conflict with MERGE_CONFLICT, writing nothing: the base, the checkout and the worktree stay as they were', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const wt = await createTaskWorktree(ctx, task(1));
    commitFile(wt.path, 'README.md', '# from the task\n');
    const main = commitFile(fx.repoDir, 'README.md', '# from main\n');

    const err = await rejection(mergeTaskBranch(ctx, task(1), { method: 'merge' }));
    expect(err.code).toBe('MERGE_CONFLICT');
    expect(err.message).toContain('conflicts with main in README.md; nothing was merged');
    expect((err.details as { conflicts: string[] }).conflicts).toEqual(['README.md']);
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(main);
    expect(sh(fx.repoDir, 'status', '--porcelain')).toBe('');
    expect(existsSync(join(fx.repoDir, '.git', 'MERGE_HEAD'))).toBe(false);
    expect(readFileSync(join(fx.repoDir, 'README.md'), 'utf8')).toBe('# from main\n');
    expect(sh(wt.path, 'status', '--porcelain')).toBe('');
    // Unmerged: the worktree is not removable.
    expect((await rejection(removeTaskWorktree(ctx, task(1)))).code).toBe('WORKTREE_UNSAFE');
    expect(existsSync(wt.path)).toBe(true);
  });

  it('refuses to move a checkout of the base whose uncommitted change the merge would overwrite; nothing is merged', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const wt = await createTaskWorktree(ctx, task(1));
    commitFile(wt.path, 'README.md', '# from the task\n');
    const main = sh(fx.repoDir, 'rev-parse', 'main');
    writeFileSync(join(fx.repoDir, 'README.md'), '# a person is editing this\n');

    const err = await rejection(mergeTaskBranch(ctx, task(1), { method: 'ff' }));
    expect(err.code).toBe('INVALID_STATE');
    expect(err.message).toContain(`main is checked out in ${fx.repoDir} and git would not move it`);
    // The files in the way are named, not only git's first line.
    expect(err.message).toContain('(README.md)');
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(main);
    expect(readFileSync(join(fx.repoDir, 'README.md'), 'utf8')).toBe('# a person is editing this\n');
    // A merge commit is refused the same way: it is made from objects, but the checkout must still move.
    expect((await rejection(mergeTaskBranch(ctx, task(1), { method: 'merge' }))).code).toBe('INVALID_STATE');
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(main);
  });

  it('refuses a branch with no commits of its own, and a base that is not a local branch', async () => {
    const fx = gitFixture({ remote: true });
    const ctx = fx.project();
    await createTaskWorktree(ctx, task(1));
    const empty = await rejection(mergeTaskBranch(ctx, task(1), { method: 'merge' }));
    expect(empty.code).toBe('INVALID_STATE');
    expect(empty.message).toContain('has no commits of its own beyond main');

    sh(fx.repoDir, 'fetch', '--quiet', 'origin');
    const tracking = fx.project({ baseRef: 'origin/main' });
    const err = await rejection(mergeTaskBranch(tracking, task(1), { method: 'ff' }));
    expect(err.code).toBe('INVALID_STATE');
    expect(err.message).toContain('"origin/main" is not a local branch (refs/remotes/origin/main)');
  });
});

describe('listProjectWorktrees', () => {
  it('lists every worktree with its idle time, marks the abandoned ones with whether they could go, and removes nothing', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const a = await createTaskWorktree(ctx, task(1));
    const b = await createTaskWorktree(ctx, task(2));
    commitFile(b.path, 'b.txt', 'work\n');
    const now = Date.now();
    const fresh = await listProjectWorktrees(ctx, { now });
    expect(fresh.map((w) => [w.taskId, w.abandoned, w.removal])).toEqual([
      ['task-1', false, undefined],
      ['task-2', false, undefined],
    ]);
    const later = await listProjectWorktrees(ctx, { now: now + 15 * 24 * 60 * 60 * 1000 });
    // Task 1's branch has nothing of its own (its tip is in main): it could go; task 2's commit is not merged.
    expect(later.map((w) => [w.taskId, w.abandoned, w.removal?.safe])).toEqual([
      ['task-1', true, true],
      ['task-2', true, false],
    ]);
    expect(later[1]?.removal?.reason).toContain('not merged into main');
    expect(existsSync(a.path) && existsSync(b.path)).toBe(true);
  });
});

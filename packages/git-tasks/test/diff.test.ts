/**
 * A task's diff for review (docs/git-tasks.md, "The diff"): the commits beyond the base and the
 * diff base...tip per file (added, modified, deleted, renamed, binary), bounded by a per-file and
 * a total cap; no branch yet is INVALID_STATE; a merged task's diff comes from the base recorded
 * before the merge (or its merge commit's first parent); a fast-forward recorded without it is refused. Real repositories in temp folders, nothing of ours mocked.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskGit } from '@tinyagi/client/contract';
import { cleanupTemp } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { taskDiff } from '../src/diff.ts';
import { mergeTaskBranch } from '../src/merge.ts';
import { createTaskWorktree } from '../src/worktrees.ts';
import { commitFile, gitFixture, rejection, sh, task } from './fixture.ts';

afterEach(cleanupTemp);

const gitOf = (branch: string | null, merge?: TaskGit['merge']): TaskGit => ({
  state: 'ready',
  branch,
  worktreePath: null,
  headSha: null,
  error: null,
  updatedAt: 0,
  ...(merge ? { merge } : {}),
});

describe('taskDiff', () => {
  it('lists the commits beyond the base and each file with its status, counts and patch; a commit that reached the base meanwhile is not the task’s', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    commitFile(fx.repoDir, 'old.txt', 'one\ntwo\nthree\n');
    commitFile(fx.repoDir, 'gone.txt', 'bye\n');
    const wt = await createTaskWorktree(ctx, task(1));
    writeFileSync(join(wt.path, 'old.txt'), 'one\nTWO\nthree\nfour\n');
    sh(wt.path, 'mv', 'README.md', 'READ.md');
    rmSync(join(wt.path, 'gone.txt'));
    writeFileSync(join(wt.path, 'logo.bin'), Buffer.from([0, 1, 2, 0, 255]));
    writeFileSync(join(wt.path, 'new.txt'), 'hello\n');
    sh(wt.path, 'add', '-A');
    sh(wt.path, 'commit', '--quiet', '-m', 'Change things');
    const tip = commitFile(wt.path, 'new.txt', 'hello\nworld\n');
    // main moves on with a file of its own: not in the task's diff.
    const base = sh(fx.repoDir, 'rev-parse', 'main');
    commitFile(fx.repoDir, 'main-only.txt', 'main\n');

    const diff = await taskDiff(ctx, { identifier: 'P-1', git: gitOf(wt.branch) });
    expect(diff).toMatchObject({ branch: wt.branch, baseRef: 'main', base, tip, merged: false, truncated: false, omitted: { files: 0, bytes: 0 } });
    expect(diff.commits.map((c) => [c.subject, c.author])).toEqual([
      ['change new.txt', expect.any(String)],
      ['Change things', expect.any(String)],
    ]);
    expect(diff.commits[0]!.sha).toBe(tip);
    expect(diff.commits[0]!.committedAt).toBeGreaterThan(1_600_000_000_000);
    const byPath = Object.fromEntries(diff.files.map((f) => [f.path, f]));
    expect(Object.keys(byPath).sort()).toEqual(['READ.md', 'gone.txt', 'logo.bin', 'new.txt', 'old.txt']);
    expect(byPath['old.txt']).toMatchObject({ status: 'modified', oldPath: null, additions: 2, deletions: 1, binary: false, truncated: false, omittedBytes: 0 });
    expect(byPath['old.txt']!.patch).toContain('diff --git a/old.txt b/old.txt');
    expect(byPath['old.txt']!.patch).toContain('\n-two\n+TWO\n three\n+four\n');
    expect(byPath['READ.md']).toMatchObject({ status: 'renamed', oldPath: 'README.md', additions: 0, deletions: 0 });
    expect(byPath['gone.txt']).toMatchObject({ status: 'deleted', additions: 0, deletions: 1 });
    expect(byPath['logo.bin']).toMatchObject({ status: 'added', binary: true, patch: '' });
    expect(byPath['new.txt']).toMatchObject({ status: 'added', additions: 2, deletions: 0 });
    expect(byPath['new.txt']!.patch).toMatch(/\+hello\n\+world\n$/);
    expect(diff.files.some((f) => f.path === 'main-only.txt')).toBe(false);
  });

  it('cuts a patch past the per-file cap at a line, and leaves out patches past the total cap and files past the file cap, saying so', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const wt = await createTaskWorktree(ctx, task(1));
    const line = (i: number) => `line ${String(i).padStart(4, '0')} ${'x'.repeat(40)}\n`;
    writeFileSync(join(wt.path, 'a-big.txt'), Array.from({ length: 200 }, (_, i) => line(i)).join(''));
    writeFileSync(join(wt.path, 'b-small.txt'), 'small\n');
    writeFileSync(join(wt.path, 'c-last.txt'), 'last\n');
    sh(wt.path, 'add', '-A');
    sh(wt.path, 'commit', '--quiet', '-m', 'Big');

    const whole = await taskDiff(ctx, { identifier: 'P-1', git: gitOf(wt.branch) });
    const bigSize = Buffer.byteLength(whole.files[0]!.patch);
    const cut = await taskDiff(ctx, { identifier: 'P-1', git: gitOf(wt.branch) }, { maxFiles: 2, maxFileBytes: 1000, maxTotalBytes: 1050 });
    expect(cut.files.map((f) => f.path)).toEqual(['a-big.txt', 'b-small.txt']);
    const [big, small] = cut.files;
    expect(big!.truncated).toBe(true);
    expect(Buffer.byteLength(big!.patch)).toBeLessThanOrEqual(1000);
    expect(big!.patch.endsWith('\n')).toBe(true);
    expect(big!.omittedBytes).toBe(bigSize - Buffer.byteLength(big!.patch));
    expect(big!.additions).toBe(200);
    // At most 100 bytes of room left: the small file's patch (its header alone is longer) is left out, its counts kept.
    expect(small).toMatchObject({ additions: 1, patch: '', truncated: true });
    expect(cut.truncated).toBe(true);
    expect(cut.omitted.files).toBe(1);
    expect(cut.omitted.bytes).toBe(whole.files.reduce((n, f) => n + Buffer.byteLength(f.patch), 0) - Buffer.byteLength(big!.patch));
  });

  it('refuses a task without a branch; reads a merged task from its merge commit, or from the base before a fast-forward; a fast-forward recorded without it is refused, saying why', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    expect((await rejection(taskDiff(ctx, { identifier: 'P-1', git: null }))).code).toBe('INVALID_STATE');
    const missing = await rejection(taskDiff(ctx, { identifier: 'P-1', git: gitOf('tinyagi/P-1-nothing') }));
    expect(missing).toMatchObject({ code: 'INVALID_STATE' });
    expect(missing.message).toContain('has no branch yet');

    const wt = await createTaskWorktree(ctx, task(1));
    const tip = commitFile(wt.path, 'feature.txt', 'feature\n');
    sh(fx.repoDir, 'checkout', '--quiet', '-b', 'person');
    const before = commitFile(fx.repoDir, 'other.txt', 'meanwhile\n');
    sh(fx.repoDir, 'branch', '--quiet', '-f', 'main', before);
    const merged = await mergeTaskBranch(ctx, task(1), { method: 'merge' });
    sh(fx.repoDir, 'worktree', 'remove', '--force', wt.path);
    sh(fx.repoDir, 'branch', '--quiet', '-D', wt.branch);
    const record = { method: 'merge' as const, branch: wt.branch, baseRef: 'main', tip, commit: merged.commit, mergedAt: 1 };
    const diff = await taskDiff(ctx, { identifier: 'P-1', git: gitOf(wt.branch, record) });
    expect(diff).toMatchObject({ merged: true, tip, branch: wt.branch });
    expect(diff.files.map((f) => f.path)).toEqual(['feature.txt']);
    expect(diff.commits.map((c) => c.sha)).toEqual([tip]);

    // A fast-forward recorded without the base before it (as merges were before slice 5): refused, saying why.
    const ff = await rejection(taskDiff(ctx, { identifier: 'P-1', git: gitOf(wt.branch, { ...record, method: 'ff', commit: tip }) }));
    expect(ff.code).toBe('INVALID_STATE');
    expect(ff.message).toContain('a fast-forward');

    // A fast-forward now carries the base before it: the diff starts there.
    const two = await createTaskWorktree(ctx, task(2));
    const tip2 = commitFile(two.path, 'second.txt', 'second\n');
    const ffMerged = await mergeTaskBranch(ctx, task(2), { method: 'ff' });
    expect(ffMerged).toMatchObject({ commit: tip2, baseBefore: merged.commit });
    sh(fx.repoDir, 'worktree', 'remove', '--force', two.path);
    sh(fx.repoDir, 'branch', '--quiet', '-D', two.branch);
    const ffRecord = { method: 'ff' as const, branch: two.branch, baseRef: 'main', tip: tip2, commit: tip2, baseBefore: ffMerged.baseBefore!, mergedAt: 1 };
    const ffDiff = await taskDiff(ctx, { identifier: 'P-2', git: gitOf(two.branch, ffRecord) });
    expect(ffDiff).toMatchObject({ merged: true, base: merged.commit, tip: tip2 });
    expect(ffDiff.files.map((f) => f.path)).toEqual(['second.txt']);
    expect(ffDiff.commits.map((c) => c.sha)).toEqual([tip2]);
  });
});

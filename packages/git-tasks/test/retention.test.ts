/**
 * The retention policy (docs/git-tasks.md, "Retention") on real repositories: a merged task's
 * worktree and branch go; an abandoned worktree goes only when nothing would be lost, else it is
 * kept with the reason; past the disk budget the least recently used safe worktrees go first and
 * the unsafe ones are kept and named; leftovers (a merged branch of a deleted task, an empty
 * stray folder, a gone worktree's admin folder) are cleaned, an unmerged unpushed branch is kept.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { applyRetention, retentionVerdict } from '../src/retention.ts';
import type { WorktreeTask } from '../src/worktree-life.ts';
import { createTaskWorktree } from '../src/worktrees.ts';
import { commitFile, gitFixture, sh, task } from './fixture.ts';

afterEach(() => {
  delete process.env['GIT_COMMITTER_DATE'];
  cleanupTemp();
});

const DAY = 24 * 60 * 60 * 1000;
const branchExists = (repoDir: string, branch: string): boolean => sh(repoDir, 'branch', '--list', branch) !== '';
const asTask = (n: number, status: string, wt: { path: string; branch: string }, merged = false): WorktreeTask => ({
  id: `task-${n}`,
  identifier: `P-${n}`,
  status,
  git: { worktreePath: wt.path, branch: wt.branch, ...(merged ? { merge: { tip: 'x' } } : {}) },
});

/** Makes the worktree's last activity `at` (its tip's commit, its index and its task marker), as an idle one has. */
function ageWorktree(repoDir: string, wt: { path: string }, at: number): void {
  process.env['GIT_COMMITTER_DATE'] = `${Math.floor(at / 1000)} +0000`;
  sh(wt.path, 'commit', '--quiet', '--allow-empty', '-m', 'last activity');
  delete process.env['GIT_COMMITTER_DATE'];
  const admin = join(repoDir, '.git', 'worktrees', wt.path.split('/').pop()!);
  for (const f of ['index', 'tinyagi-task']) if (existsSync(join(admin, f))) utimesSync(join(admin, f), at / 1000, at / 1000);
}

describe('retentionVerdict', () => {
  const policy = { abandoned: 'remove' as const, abandonedDays: 14, diskBudgetMb: null };
  const wt = { path: '/w/P-1', branch: 'tinyagi/P-1' };
  it('leaves a merge being finished (its task still in review) to its own step, removes a done task’s at once, an abandoned one once idle', () => {
    expect(retentionVerdict(policy, asTask(1, 'review', wt, true), 99 * DAY, undefined)).toEqual({ verdict: 'keep', reason: 'in use: task P-1 is review' });
    expect(retentionVerdict(policy, asTask(1, 'done', wt, true), 0, undefined)).toEqual({ verdict: 'remove', reason: 'merged' });
    expect(retentionVerdict(policy, asTask(1, 'done', wt, true), 0, 'initializing')).toEqual({ verdict: 'keep', reason: 'it is locked (initializing)' });
    expect(retentionVerdict(policy, asTask(1, 'todo', wt), 13 * DAY, undefined).verdict).toBe('budget');
    expect(retentionVerdict(policy, undefined, 15 * DAY, undefined)).toEqual({ verdict: 'remove', reason: 'orphaned: its task was deleted' });
    expect(retentionVerdict({ ...policy, abandoned: 'keep' }, undefined, 15 * DAY, undefined).verdict).toBe('budget');
  });
});

describe('applyRetention', () => {
  it('removes a merged task’s leftover worktree and its branch, and a deleted task’s merged branch, an empty stray folder and a gone worktree’s admin folder', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const wt = await createTaskWorktree(ctx, task(1));
    commitFile(wt.path, 'one.txt', 'one\n');
    sh(fx.repoDir, 'merge', '--quiet', '--no-ff', '-m', 'merge P-1', wt.branch);
    // A deleted task's branch, merged, without a worktree; a worktree whose folder was deleted by hand; a folder git never listed.
    sh(fx.repoDir, 'branch', 'tinyagi/P-7-gone');
    const gone = await createTaskWorktree(ctx, task(8));
    rmSync(gone.path, { recursive: true, force: true });
    mkdirSync(join(ctx.worktreeRoot, 'P-9'));

    const report = await applyRetention(ctx, async () => [asTask(1, 'done', wt, true)]);
    expect(report.errors).toEqual([]);
    expect(report.removed.map((r) => [r.kind, r.kind === 'branch' ? r.branch : (r.identifier ?? r.path), r.reason])).toEqual([
      ['worktree', gone.path, "its folder was gone: git's entry pruned"],
      ['worktree', 'P-1', 'merged (its branch deleted)'],
      ['branch', 'tinyagi/P-7-gone', 'merged into main'],
      ['branch', gone.branch, 'merged into main'],
      ['folder', join(ctx.worktreeRoot, 'P-9'), 'an empty folder git does not list (a worktree never made)'],
    ]);
    expect(report.kept).toEqual([]);
    expect(existsSync(wt.path)).toBe(false);
    expect(branchExists(fx.repoDir, wt.branch)).toBe(false);
    const admin = join(fx.repoDir, '.git', 'worktrees');
    expect(existsSync(admin) ? readdirSync(admin) : []).toEqual([]);
    expect(readdirSync(ctx.worktreeRoot).filter((n) => !n.startsWith('.'))).toEqual([]);
  });

  it('keeps an abandoned worktree with uncommitted work, and an in-use or unpushed one, each with the reason; removes the abandoned clean ones', async () => {
    const fx = gitFixture({ remote: true });
    const ctx = fx.project({ keepAbandonedDays: 3 });
    const old = Date.now() - 5 * DAY;
    const dirty = await createTaskWorktree(ctx, task(1));
    const clean = await createTaskWorktree(ctx, task(2));
    const busy = await createTaskWorktree(ctx, task(3));
    const orphan = await createTaskWorktree(ctx, task(4));
    const pushed = await createTaskWorktree(ctx, task(5));
    const fresh = await createTaskWorktree(ctx, task(6));
    commitFile(orphan.path, 'unpushed.txt', 'mine\n');
    commitFile(pushed.path, 'pushed.txt', 'pushed\n');
    sh(pushed.path, 'push', '--quiet', 'origin', pushed.branch);
    for (const wt of [dirty, clean, busy, orphan, pushed]) ageWorktree(fx.repoDir, wt, old);
    // The clean one's only commit (its aging) is in main: nothing of it is anywhere else.
    sh(fx.repoDir, 'merge', '--quiet', '--ff-only', clean.branch);
    sh(pushed.path, 'push', '--quiet', 'origin', pushed.branch);
    writeFileSync(join(dirty.path, 'draft.txt'), 'not committed\n');
    const tasks = [asTask(1, 'todo', dirty), asTask(2, 'backlog', clean), asTask(3, 'in_progress', busy), asTask(5, 'todo', pushed), asTask(6, 'todo', fresh)];

    const report = await applyRetention(ctx, async () => tasks);
    expect(report.errors).toEqual([]);
    const removed = report.removed.map((r) => [r.identifier ?? r.taskId, r.reason.replace(/idle [\d.]+ days/, 'idle N days')]);
    expect(removed).toEqual([
      ['P-2', 'abandoned: task P-2 is backlog, idle N days (its branch deleted)'],
      ['P-5', 'abandoned: task P-5 is todo, idle N days'],
    ]);
    const kept = Object.fromEntries(report.kept.map((k) => [k.identifier ?? k.taskId, { reason: k.reason.replace(/idle [\d.]+ (days|h)/g, 'idle T'), atRisk: k.atRisk }]));
    expect(kept).toEqual({
      'P-1': { reason: 'abandoned: task P-1 is todo, idle T; kept: it has uncommitted changes (draft.txt)', atRisk: true },
      'P-3': { reason: 'in use: task P-3 is in progress', atRisk: false },
      'task-4': { reason: expect.stringMatching(/^orphaned: its task was deleted; kept: its commits are neither merged into main nor pushed/), atRisk: true },
      'P-6': { reason: 'task P-6 is todo; idle T of the 3 days after which it is removed', atRisk: false },
    });
    for (const wt of [dirty, busy, orphan, fresh]) expect(existsSync(wt.path), wt.path).toBe(true);
    for (const wt of [clean, pushed]) expect(existsSync(wt.path), wt.path).toBe(false);
    // The pushed, unmerged branch is kept (its work is on the remote); the merged-at-base one is deleted.
    expect(branchExists(fx.repoDir, pushed.branch)).toBe(true);
    expect(branchExists(fx.repoDir, clean.branch)).toBe(false);
    // Once its task is deleted, that branch is named as kept, with why.
    const later = await applyRetention(ctx, async () => tasks.filter((t) => t.id !== 'task-5'));
    expect(later.kept.find((k) => k.branch === pushed.branch)).toMatchObject({
      kind: 'branch',
      atRisk: false,
      reason: 'a branch without a worktree whose task was deleted: pushed to origin, not merged into main',
    });

    // `abandoned: keep`: nothing idle goes.
    const keepAll = await applyRetention(fx.project({ keepAbandonedDays: 3, retention: { abandoned: 'keep' } }), async () => tasks);
    expect(keepAll.removed).toEqual([]);
  });

  it('past the disk budget removes the least recently used safe worktrees first and names the unsafe one it kept', async () => {
    const fx = gitFixture({ remote: true });
    const ctx = fx.project({ retention: { diskBudgetMb: 3 } });
    const made = [];
    for (const n of [1, 2, 3, 4]) {
      const wt = await createTaskWorktree(ctx, task(n));
      commitFile(wt.path, 'blob.bin', 'x'.repeat(1024 * 1024));
      sh(wt.path, 'push', '--quiet', 'origin', wt.branch);
      ageWorktree(fx.repoDir, wt, Date.now() - (10 - n) * 60 * 60 * 1000);
      sh(wt.path, 'push', '--quiet', 'origin', wt.branch);
      made.push(wt);
    }
    writeFileSync(join(made[1]!.path, 'scratch.txt'), 'unsaved\n');
    const tasks = made.map((wt, i) => asTask(i + 1, 'todo', wt));
    const report = await applyRetention(ctx, async () => tasks);
    expect(report.removed.map((r) => [r.identifier, r.reason])).toEqual([
      ['P-1', 'over the disk budget of 3 MB (least recently used first)'],
      ['P-3', 'over the disk budget of 3 MB (least recently used first)'],
    ]);
    expect(report.kept.filter((k) => k.kind === 'worktree').map((k) => [k.identifier, k.atRisk])).toEqual([
      ['P-2', true],
      ['P-4', false],
    ]);
    expect(report.kept.find((k) => k.identifier === 'P-2')!.reason).toContain('it has uncommitted changes (scratch.txt)');
    expect(report.bytesBefore).toBeGreaterThan(4 * 1024 * 1024);
    expect(report.bytesAfter).toBeLessThanOrEqual(3 * 1024 * 1024);
    expect(existsSync(made[0]!.path)).toBe(false);
    expect(existsSync(made[1]!.path)).toBe(true);
  });
});

/**
 * The branch is fixed when the task starts (docs/git-tasks.md, "Renaming a task"): the worktree
 * step, the facts, the merge and the removal use the branch the task recorded, never one
 * recomputed from a title changed since. Real repositories, nothing of ours mocked.
 */
import { existsSync } from 'node:fs';
import { cleanupTemp } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { collectDoneFacts } from '../src/facts.ts';
import { mergeTaskBranch } from '../src/merge.ts';
import { createTaskWorktree, removeTaskWorktree } from '../src/worktrees.ts';
import { commitFile, gitFixture, sh } from './fixture.ts';

afterEach(cleanupTemp);

describe('a renamed task keeps its branch', () => {
  it('worktree again, facts, merge and removal all use the recorded branch after the title changed', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const started = await createTaskWorktree(ctx, { id: 'task-1', identifier: 'P-1', title: 'Original title' }, { recordedBranch: null });
    expect(started.branch).toBe('tinyagi/P-1-original-title');
    const tip = commitFile(started.path, 'feature.txt', 'done\n');

    // The person renames the task; the record keeps the branch it started on.
    const renamed = { id: 'task-1', identifier: 'P-1', title: 'Renamed later', branch: started.branch };
    const again = await createTaskWorktree(ctx, renamed, { recordedBranch: started.branch });
    expect(again).toMatchObject({ branch: started.branch, path: started.path, created: false });

    const facts = await collectDoneFacts(ctx, renamed);
    expect(facts).toMatchObject({ branch: started.branch, headSha: tip, done: true });

    const merged = await mergeTaskBranch(ctx, renamed, { method: 'ff' });
    expect(merged).toMatchObject({ branch: started.branch, tip, created: true });
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(tip);

    expect(await removeTaskWorktree(ctx, renamed)).toMatchObject({ removed: true, branchDeleted: true });
    expect(existsSync(started.path)).toBe(false);
    // No branch of the new title was ever made.
    expect(sh(fx.repoDir, 'branch', '--list', 'tinyagi/P-1-renamed-later')).toBe('');
  });
});

/**
 * A worktree per task (docs/git-tasks.md): separate trees and branches, idempotent creation
 * after a crash, the setup run until it passes once, folders that are not ours left alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { isTinyError } from '@tinyagi/core';
import { uncommittedPaths } from '../src/branch-state.ts';
import { createTaskWorktree, listGitWorktrees, listTaskWorktrees } from '../src/worktrees.ts';
import { commitFile, gitFixture, sh, task, rejection } from './fixture.ts';

afterEach(cleanupTemp);

/** A setup that records each run in a file outside the worktree (so the tree stays clean). */
function countingSetup(counter: string, exitCode = 0) {
  return { argv: [process.execPath, '-e', `require('fs').appendFileSync(${JSON.stringify(counter)}, 'run\\n'); process.exit(${exitCode})`], timeoutMs: 10_000 };
}
const runsOf = (counter: string): number => (existsSync(counter) ? readFileSync(counter, 'utf8').split('\n').filter(Boolean).length : 0);

describe('createTaskWorktree', () => {
  it('gives two tasks on one repository their own worktree and branch, both from the base', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const base = sh(fx.repoDir, 'rev-parse', 'main');
    const [a, b] = await Promise.all([createTaskWorktree(ctx, task(1, 'Fix the login page!')), createTaskWorktree(ctx, task(2, 'Add dark mode'))]);
    expect(a.branch).toBe('tinyagi/P-1-fix-the-login-page');
    expect(b.branch).toBe('tinyagi/P-2-add-dark-mode');
    expect(a.path).not.toBe(b.path);
    expect([a.head, b.head]).toEqual([base, base]);
    expect(sh(a.path, 'symbolic-ref', 'HEAD')).toBe('refs/heads/tinyagi/P-1-fix-the-login-page');
    expect(sh(b.path, 'symbolic-ref', 'HEAD')).toBe('refs/heads/tinyagi/P-2-add-dark-mode');
    // Work in one tree is not seen in the other.
    commitFile(a.path, 'a.txt', 'a\n');
    expect(existsSync(join(b.path, 'a.txt'))).toBe(false);
    const listed = await listTaskWorktrees(ctx);
    expect(listed.map((w) => [w.taskId, w.branch]).sort()).toEqual([
      ['task-1', 'tinyagi/P-1-fix-the-login-page'],
      ['task-2', 'tinyagi/P-2-add-dark-mode'],
    ]);
  });

  it('gives eight tasks started at once each its worktree: git worktree add beside another can fail, so they are added one at a time', async () => {
    // Side by side, `git worktree add` reads the admin folder another add is writing and fails now
    // and then ("failed to read .git/worktrees/<name>/commondir"): found by git-tasks-crash.e2e.test.ts.
    const fx = gitFixture();
    const ctx = fx.project();
    const made = await Promise.all(Array.from({ length: 8 }, (_, i) => createTaskWorktree(ctx, task(i + 1, `Task ${i + 1}`))));
    expect(made.map((w) => w.created)).toEqual(Array.from({ length: 8 }, () => true));
    expect((await listGitWorktrees(fx.repoDir)).length).toBe(9);
  });

  it('a git worktree add killed while it wrote commondir (every git worktree list then fails): its admin folder and empty worktree folder are dropped, and the task starts', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    await createTaskWorktree(ctx, task(1));
    // What git 2.39 has written by then: the admin folder's lock and gitdir, the worktree's .git, commondir created but empty.
    const admin = join(fx.repoDir, '.git', 'worktrees', 'P-7');
    const folder = join(ctx.worktreeRoot, 'P-7');
    mkdirSync(admin, { recursive: true });
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(admin, 'locked'), 'initializing\n');
    writeFileSync(join(admin, 'gitdir'), `${join(folder, '.git')}\n`);
    writeFileSync(join(folder, '.git'), `gitdir: ${admin}\n`);
    writeFileSync(join(admin, 'commondir'), '');
    expect(() => sh(fx.repoDir, 'worktree', 'list')).toThrow(/commondir/);
    const made = await createTaskWorktree(ctx, task(7));
    expect(made.created).toBe(true);
    expect(sh(made.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('tinyagi/P-7-task-number-7');
    expect((await listGitWorktrees(fx.repoDir)).length).toBe(3);
  });

  it('reuses the worktree when called again, and runs the setup only until it has passed once', async () => {
    const fx = gitFixture();
    const counter = join(fx.root, 'setup-runs');
    const ctx = fx.project({ setup: countingSetup(counter) });
    const first = await createTaskWorktree(ctx, task(1));
    expect(first.created).toBe(true);
    expect(first.setup?.exitCode).toBe(0);
    commitFile(first.path, 'work.txt', 'in progress\n');
    const again = await createTaskWorktree(ctx, task(1));
    expect(again).toMatchObject({ created: false, path: first.path, branch: first.branch });
    expect(again.setup).toBeUndefined();
    expect(runsOf(counter)).toBe(1);
    expect(readFileSync(join(again.path, 'work.txt'), 'utf8')).toBe('in progress\n');
    expect((await listGitWorktrees(fx.repoDir)).length).toBe(2);
  });

  it('after a crash inside git worktree add (locked "initializing", half checked out) checks it out again and runs the setup', async () => {
    const fx = gitFixture();
    commitFile(fx.repoDir, 'src/app.ts', 'export {};\n');
    const counter = join(fx.root, 'setup-runs');
    const ctx = fx.project({ setup: countingSetup(counter) });
    // What a SIGKILL during `git worktree add` leaves: the branch, git's entry locked "initializing", part of the files.
    const path = join(ctx.worktreeRoot, 'P-1');
    sh(fx.repoDir, 'worktree', 'add', '--quiet', '-b', 'tinyagi/P-1-task-number-1', path, 'main');
    sh(fx.repoDir, 'worktree', 'lock', '--reason', 'initializing', path);
    rmSync(join(path, 'src'), { recursive: true });
    const made = await createTaskWorktree(ctx, task(1));
    expect(made).toMatchObject({ created: false, path, branch: 'tinyagi/P-1-task-number-1' });
    expect(readFileSync(join(path, 'src/app.ts'), 'utf8')).toBe('export {};\n');
    expect((await listGitWorktrees(fx.repoDir)).find((e) => e.path === path)?.locked).toBeUndefined();
    expect(runsOf(counter)).toBe(1);
  });

  it('after a crash during the setup runs it again, and a failed setup is WORKTREE_SETUP_FAILED with its log', async () => {
    const fx = gitFixture();
    const counter = join(fx.root, 'setup-runs');
    const failing = fx.project({ setup: countingSetup(counter, 3) });
    const err = await rejection(createTaskWorktree(failing, task(1)));
    expect(isTinyError(err, 'WORKTREE_SETUP_FAILED')).toBe(true);
    expect((err.details as { exitCode: number }).exitCode).toBe(3);
    // Started again with a setup that passes: the same worktree, the setup runs (the marker was never written).
    const made = await createTaskWorktree(fx.project({ setup: countingSetup(counter) }), task(1));
    expect(made.created).toBe(false);
    expect(made.setup?.ok).toBe(true);
    expect(runsOf(counter)).toBe(2);
  });

  it('gives a branch whose folder was deleted a new folder, keeping its commits', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const first = await createTaskWorktree(ctx, task(1));
    const sha = commitFile(first.path, 'kept.txt', 'kept\n');
    rmSync(first.path, { recursive: true, force: true });
    const again = await createTaskWorktree(ctx, task(1));
    expect(again.created).toBe(true);
    expect(again.head).toBe(sha);
    expect(readFileSync(join(again.path, 'kept.txt'), 'utf8')).toBe('kept\n');
  });

  it('refuses a folder that is not a worktree of the repository, a worktree recorded for another task, and the branch checked out elsewhere', async () => {
    const fx = gitFixture();
    const ctx = fx.project();
    const stranger = join(ctx.worktreeRoot, 'P-1');
    mkdirSync(stranger, { recursive: true });
    writeFileSync(join(stranger, 'notes.txt'), 'mine\n');
    const err = await rejection(createTaskWorktree(ctx, task(1)));
    expect(isTinyError(err, 'INVALID_STATE')).toBe(true);
    expect(readFileSync(join(stranger, 'notes.txt'), 'utf8')).toBe('mine\n');

    await createTaskWorktree(ctx, task(2));
    // Another task that would get the same identifier (and so the same tree) is refused it.
    const impostor = { ...task(2), id: 'task-other' };
    const taken = await rejection(createTaskWorktree(ctx, impostor));
    expect(isTinyError(taken, 'INVALID_STATE')).toBe(true);
    expect(taken.message).toContain('belongs to task task-2');

    // The task's branch checked out somewhere else (by a person): refused, not shared.
    const elsewhere = join(fx.root, 'elsewhere');
    sh(fx.repoDir, 'branch', 'tinyagi/P-3-task-number-3', 'main');
    sh(fx.repoDir, 'worktree', 'add', '--quiet', elsewhere, 'tinyagi/P-3-task-number-3');
    const shared = await rejection(createTaskWorktree(ctx, task(3)));
    expect(shared.code).toBe('INVALID_STATE');
    expect(shared.message).toContain(`is checked out in ${elsewhere}`);
  });
});

describe("reading a worktree's state", () => {
  it("never takes the worktree's index lock: an agent's commits beside a loop of reads all succeed", async () => {
    // `git status` refreshes the index and, with git's optional locks on, holds index.lock while it
    // does: an agent committing then failed ("Unable to create …/index.lock: File exists"; 42 of 60
    // commits beside a loop of reads, found by TinyOffice's worktree list reloading on each event).
    const fx = gitFixture();
    const ctx = fx.project();
    const wt = await createTaskWorktree(ctx, task(1));
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        await uncommittedPaths(ctx, wt.path);
        reads++;
      }
    })();
    const failures: string[] = [];
    try {
      for (let i = 0; i < 30; i++) {
        writeFileSync(join(wt.path, 'work.txt'), `step ${i}\n`);
        const env = { ...process.env, GIT_AUTHOR_NAME: 'Agent', GIT_AUTHOR_EMAIL: 'agent@example.com', GIT_COMMITTER_NAME: 'Agent', GIT_COMMITTER_EMAIL: 'agent@example.com' };
        const add = await run('git', ['add', 'work.txt'], wt.path, env);
        const commit = add.code === 0 ? await run('git', ['commit', '-q', '-m', `step ${i}`], wt.path, env) : add;
        if (commit.code !== 0) failures.push(commit.stderr.trim());
      }
    } finally {
      reading = false;
      await reader;
    }
    expect(reads).toBeGreaterThan(0);
    expect(failures).toEqual([]);
    expect(sh(wt.path, 'rev-list', '--count', `main..${wt.branch}`)).toBe('30');
  });
});

/** A process's exit code and stderr, without blocking the event loop (the reads go on beside it). */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

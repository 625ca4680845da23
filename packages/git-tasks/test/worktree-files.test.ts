/**
 * Worktree files, copied or linked (docs/git-tasks.md): applied into each worktree, and none may leave the
 * repository — `..` and absolute paths are refused by the schema (and again by the engine), a
 * symlink that leads out by the engine; each error names the file.
 */
import { existsSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorktreeFileSchema, ProjectRepoSchema } from '@tinyagi/client/contract';
import { cleanupTemp } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { isTinyError, type TinyError } from '@tinyagi/core';
import { resolveWorktreeFiles, resolveProjectRepo } from '../src/project-repo.ts';
import { createTaskWorktree } from '../src/worktrees.ts';
import { gitFixture, sh, task, rejection } from './fixture.ts';

afterEach(cleanupTemp);

describe('worktree files', () => {
  it('copies and links into the worktree, keeps what is there on a second call, and leaves the tree clean for git', async () => {
    const fx = gitFixture();
    writeFileSync(join(fx.repoDir, '.gitignore'), '.env\nnode_modules\ncache/\n');
    sh(fx.repoDir, 'add', '.gitignore');
    sh(fx.repoDir, 'commit', '--quiet', '-m', 'ignore');
    writeFileSync(join(fx.repoDir, '.env'), 'TOKEN=1\n');
    mkdirSync(join(fx.repoDir, 'node_modules/dep'), { recursive: true });
    mkdirSync(join(fx.repoDir, 'cache'), { recursive: true });
    writeFileSync(join(fx.repoDir, 'cache/blob'), 'cached\n');
    const ctx = fx.project({
      files: [
        { path: '.env', mode: 'copy' },
        { path: 'node_modules', mode: 'link' },
        { path: 'cache', mode: 'copy' },
        { path: 'config/local.json', mode: 'copy' },
      ],
    });
    const made = await createTaskWorktree(ctx, task(1));
    expect(made.files).toEqual([
      { path: '.env', outcome: 'copied' },
      { path: 'node_modules', outcome: 'linked' },
      { path: 'cache', outcome: 'copied' },
      { path: 'config/local.json', outcome: 'missing' },
    ]);
    expect(readFileSync(join(made.path, '.env'), 'utf8')).toBe('TOKEN=1\n');
    expect(readFileSync(join(made.path, 'cache/blob'), 'utf8')).toBe('cached\n');
    expect(readlinkSync(join(made.path, 'node_modules'))).toBe(join(fx.repoDir, 'node_modules'));
    // The agent's edit of its copy survives a second call.
    writeFileSync(join(made.path, '.env'), 'TOKEN=2\n');
    const again = await createTaskWorktree(ctx, task(1));
    expect(again.files.map((f) => f.outcome)).toEqual(['kept', 'kept', 'kept', 'missing']);
    expect(readFileSync(join(made.path, '.env'), 'utf8')).toBe('TOKEN=2\n');
    expect(sh(made.path, 'status', '--porcelain')).toBe('');
  });

  it('refuses a worktree file with "..", naming it (schema and engine)', () => {
    const parsed = ProjectRepoSchema.safeParse({ path: '/srv/repo', files: [{ path: '../secrets/.env', mode: 'copy' }] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe('The worktree file "../secrets/.env" (copy) contains "..": a worktree file may not leave the repository.');
    expect(WorktreeFileSchema.safeParse({ path: 'a/../../b', mode: 'link' }).success).toBe(false);
    // A caller that skipped the schema gets the same refusal from the engine.
    const fx = gitFixture();
    const err = captureSync(() => resolveWorktreeFiles(fx.repoDir, fx.repoDir, [{ path: 'x/../../outside', mode: 'copy' }]));
    expect(err.code).toBe('INVALID_PATH');
    expect(err.message).toContain('"x/../../outside"');
  });

  it('refuses an absolute path, naming it', () => {
    const parsed = ProjectRepoSchema.safeParse({
      path: '/srv/repo',
      files: [
        { path: '.env', mode: 'copy' },
        { path: '/etc/passwd', mode: 'copy' },
      ],
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['files.1.path', 'The worktree file "/etc/passwd" (copy) is absolute; write it relative to the repository.']]);
    expect(() => resolveProjectRepo({ path: '/srv/repo', files: [{ path: '/etc/passwd', mode: 'link' }] }, { projectId: 'p1', home: '/tmp/h' })).toThrow(
      /worktree file "\/etc\/passwd" \(link\) is absolute/,
    );
  });

  it('refuses a symlink in the repository that leads out of it, and a worktree destination that would', async () => {
    const fx = gitFixture();
    const outside = join(fx.root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'do not copy\n');
    symlinkSync(outside, join(fx.repoDir, 'escape'));
    const ctx = fx.project({ files: [{ path: 'escape/secret', mode: 'copy' }] });
    const err = await rejection(createTaskWorktree(ctx, task(1)));
    expect(isTinyError(err, 'INVALID_PATH')).toBe(true);
    expect(err.message).toContain('The worktree file "escape/secret" (copy) resolves to');
    expect(err.message).toContain('outside the repository');
    const worktree = join(ctx.worktreeRoot, 'P-1');
    expect(existsSync(join(worktree, 'escape/secret'))).toBe(false);

    // A symlink in the worktree (committed on the task's branch) would have the copy written outside it.
    const fx2 = gitFixture();
    mkdirSync(join(fx2.repoDir, 'config'));
    writeFileSync(join(fx2.repoDir, 'config/.env'), 'TOKEN=1\n');
    const tree = join(fx2.root, 'tree');
    mkdirSync(tree);
    symlinkSync(outside, join(tree, 'config'));
    const err2 = captureSync(() => resolveWorktreeFiles(fx2.repoDir, tree, [{ path: 'config/.env', mode: 'copy' }]));
    expect(err2.code).toBe('INVALID_PATH');
    expect(err2.message).toContain('The worktree file "config/.env" (copy) would be written at');
    expect(err2.message).toContain('outside the worktree');
  });
});

function captureSync(fn: () => unknown): TinyError {
  try {
    fn();
  } catch (err) {
    if (isTinyError(err)) return err;
    throw err;
  }
  throw new Error('expected a TinyError');
}

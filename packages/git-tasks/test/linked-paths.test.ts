/**
 * Nothing of the person's is overwritten (docs/git-tasks.md, "Copied and linked paths"): a path
 * the binding copies or links into each worktree never enters a commit (git is told to exclude it
 * in the worktree, whatever `.gitignore` says: `node_modules/` does not match a symlink); a branch
 * whose commits add one anyway is refused by the Checking's facts; and a merge that would replace
 * or delete an untracked or ignored path in the person's checkout refuses, naming it, with the
 * folder intact. Real repositories, a real folder, the agent's `git add -A`; nothing mocked.
 */
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { collectDoneFacts } from '../src/facts.ts';
import { mergeTaskBranch } from '../src/merge.ts';
import { createTaskWorktree } from '../src/worktrees.ts';
import { commitFile, gitFixture, rejection, sh, task } from './fixture.ts';

afterEach(cleanupTemp);

/** A repository whose `.gitignore` says `node_modules/` (a folder only), with a real node_modules of the person's. */
function withNodeModules() {
  const fx = gitFixture();
  commitFile(fx.repoDir, '.gitignore', 'node_modules/\n.env\n');
  mkdirSync(join(fx.repoDir, 'node_modules/dep'), { recursive: true });
  writeFileSync(join(fx.repoDir, 'node_modules/dep/index.js'), 'module.exports = 1;\n');
  writeFileSync(join(fx.repoDir, '.env'), 'TOKEN=1\n');
  const ctx = fx.project({
    files: [
      { path: 'node_modules', mode: 'link' },
      { path: '.env', mode: 'copy' },
    ],
  });
  return { fx, ctx };
}

const personsFolderIntact = (repoDir: string): void => {
  expect(lstatSync(join(repoDir, 'node_modules')).isDirectory()).toBe(true);
  expect(readFileSync(join(repoDir, 'node_modules/dep/index.js'), 'utf8')).toBe('module.exports = 1;\n');
};

describe('copied and linked paths never enter a commit', () => {
  it("the agent's `git add -A` in the worktree commits its work but not the linked node_modules; the merge keeps the person's folder", async () => {
    const { fx, ctx } = withNodeModules();
    const wt = await createTaskWorktree(ctx, task(1));
    expect(lstatSync(join(wt.path, 'node_modules')).isSymbolicLink()).toBe(true);
    writeFileSync(join(wt.path, 'feature.txt'), 'done\n');
    sh(wt.path, 'add', '-A');
    sh(wt.path, 'commit', '--quiet', '-m', 'the work');
    expect(sh(wt.path, 'show', '--name-only', '--format=', 'HEAD')).toBe('feature.txt');
    expect(sh(wt.path, 'status', '--porcelain')).toBe('');

    const facts = await collectDoneFacts(ctx, task(1));
    expect(facts.done).toBe(true);
    await mergeTaskBranch(ctx, task(1), { method: 'ff' });
    expect(readFileSync(join(fx.repoDir, 'feature.txt'), 'utf8')).toBe('done\n');
    personsFolderIntact(fx.repoDir);
  });

  it("a branch that adds a linked path anyway (git add -f) is refused by the facts, and its merge refuses naming the path, the person's folder intact", async () => {
    const { fx, ctx } = withNodeModules();
    const wt = await createTaskWorktree(ctx, task(1));
    writeFileSync(join(wt.path, 'feature.txt'), 'done\n');
    sh(wt.path, 'add', '-A');
    sh(wt.path, 'add', '-f', 'node_modules');
    sh(wt.path, 'commit', '--quiet', '-m', 'the work, and the link');
    expect(sh(wt.path, 'show', '--name-only', '--format=', 'HEAD').split('\n').sort()).toEqual(['feature.txt', 'node_modules']);

    const facts = await collectDoneFacts(ctx, task(1));
    expect(facts.done).toBe(false);
    expect(facts.missing.join('\n')).toContain('node_modules');

    const before = sh(fx.repoDir, 'rev-parse', 'main');
    const refused = await rejection(mergeTaskBranch(ctx, task(1), { method: 'ff' }));
    expect(refused.code).toBe('INVALID_STATE');
    expect(refused.message).toContain('node_modules');
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(before);
    personsFolderIntact(fx.repoDir);
  });

  it('with the base not checked out (the person on another branch), a branch adding a linked path is still refused by the merge, main unmoved', async () => {
    const { fx, ctx } = withNodeModules();
    sh(fx.repoDir, 'checkout', '--quiet', '-b', 'person');
    const wt = await createTaskWorktree(ctx, task(1));
    writeFileSync(join(wt.path, 'feature.txt'), 'done\n');
    sh(wt.path, 'add', '-A');
    sh(wt.path, 'add', '-f', 'node_modules');
    sh(wt.path, 'commit', '--quiet', '-m', 'the work, and the link');
    const before = sh(fx.repoDir, 'rev-parse', 'main');
    const refused = await rejection(mergeTaskBranch(ctx, task(1), { method: 'merge' }));
    expect(refused.message).toMatch(/adds node_modules, which the binding copies or links/);
    expect(refused.hint).toContain('git rm -r --cached -- node_modules');
    expect(sh(fx.repoDir, 'rev-parse', 'main')).toBe(before);
    personsFolderIntact(fx.repoDir);
  });

  it("the exclusion is one block of the project's own in info/exclude: the person's lines kept, written once, rewritten when the worktree files change, gone without them", async () => {
    const { fx, ctx } = withNodeModules();
    const exclude = join(fx.repoDir, '.git/info/exclude');
    writeFileSync(exclude, '# mine\n*.swp\n');
    await createTaskWorktree(ctx, task(1));
    await createTaskWorktree(ctx, task(2));
    const block = '# tinyagi: copied or linked into each task worktree of project p1, never committed\n/node_modules\n/.env\n# tinyagi: end of project p1\n';
    expect(readFileSync(exclude, 'utf8')).toBe(`# mine\n*.swp\n${block}`);
    await createTaskWorktree(fx.project({ files: [{ path: 'cache dir/*', mode: 'copy' }] }), task(3));
    expect(readFileSync(exclude, 'utf8')).toBe('# mine\n*.swp\n# tinyagi: copied or linked into each task worktree of project p1, never committed\n/cache dir/\\*\n# tinyagi: end of project p1\n');
    await createTaskWorktree(fx.project(), task(4));
    expect(readFileSync(exclude, 'utf8')).toBe('# mine\n*.swp\n');
  });

  it('a merge that would replace an ignored file of the person (no worktree file involved) refuses and names it', async () => {
    const fx = gitFixture();
    commitFile(fx.repoDir, '.gitignore', 'build.log\n');
    writeFileSync(join(fx.repoDir, 'build.log'), 'the person’s log\n');
    const ctx = fx.project();
    const wt = await createTaskWorktree(ctx, task(1));
    sh(wt.path, 'rm', '--quiet', '.gitignore');
    commitFile(wt.path, 'build.log', 'the agent’s\n');

    const refused = await rejection(mergeTaskBranch(ctx, task(1), { method: 'merge' }));
    expect(refused.message).toContain('build.log');
    expect(readFileSync(join(fx.repoDir, 'build.log'), 'utf8')).toBe('the person’s log\n');
  });
});

/**
 * A project's binding checked against the disk when it is made (binding-check.ts): a path that is
 * not a git repository, a base branch that does not exist, the repository's own default branch
 * when none is named (a `master` repository), worktree files naming nothing, and a link whose
 * target a sandboxed agent's boundary hides — each a clear error now, not a failure at the first task.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProjectRepoSchema, type ProjectRepoInput } from '@tinyagi/client/contract';
import { cleanupTemp, tempDir } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '@tinyagi/core';
import { hiddenInSandbox } from '@tinyagi/core/internal';
import { checkProjectBinding, defaultBranchOf } from '../src/binding-check.ts';
import { commitFile, gitFixture, rejection, sh } from './fixture.ts';

const visible: string[] = [];

/**
 * A folder the boundary shows (not under a private or hidden one): this checkout's, or the home's
 * when the checkout itself lies in the temp folder (a clean clone under /tmp).
 */
function shownFolder(): string {
  const parent = [process.cwd(), homedir()].find((d) => hiddenInSandbox(d, { env: process.env, tinyHome: join(d, 'no-tinyagi-home'), workspaceRoot: join(d, 'no-workspace') }) === undefined);
  if (parent === undefined) throw new Error(`neither ${process.cwd()} nor ${homedir()} is shown inside the sandbox: this test needs one of them`);
  const shown = mkdtempSync(join(parent, '.tinyagi-binding-'));
  visible.push(shown);
  return shown;
}
afterEach(() => {
  for (const dir of visible.splice(0)) rmSync(dir, { recursive: true, force: true });
  cleanupTemp();
});

/** The binding as the API stores it after its schema (defaults filled: base `main` when none is given). */
const parsed = (input: ProjectRepoInput) => ProjectRepoSchema.parse(input);

/** A repository with one commit on `branch` (git init -b). */
function repoOn(parent: string, branch: string): string {
  const dir = join(parent, 'repo');
  mkdirSync(dir, { recursive: true });
  sh(dir, 'init', '-q', '-b', branch);
  commitFile(dir, 'README.md', '# x\n');
  return dir;
}

describe('checkProjectBinding', () => {
  it('refuses a path that does not exist or is not a git repository', async () => {
    const root = tempDir('tinyagi-binding-');
    const home = join(root, 'home');
    const missing = await rejection(checkProjectBinding(parsed({ path: join(root, 'nope') }), { home }));
    expect(missing).toMatchObject({ code: 'INVALID_PATH', message: `The repository path ${join(root, 'nope')} does not exist (or is not a folder).` });
    mkdirSync(join(root, 'plain'));
    const plain = await rejection(checkProjectBinding(parsed({ path: join(root, 'plain') }), { home }));
    expect(plain.code).toBe('INVALID_PATH');
    expect(plain.message).toBe(`The repository path ${join(root, 'plain')} is not a git repository.`);
    expect(plain.hint).toContain('git init');
  });

  it('takes a master repository’s own default branch when no base is named, and refuses a base that does not exist, naming the branches', async () => {
    const root = tempDir('tinyagi-binding-');
    const dir = repoOn(root, 'master');
    expect(await defaultBranchOf(dir)).toBe('master');
    const stored = await checkProjectBinding(parsed({ path: dir }), { home: join(root, 'home') });
    expect(stored.baseRef).toBe('master');
    const wrong = await rejection(checkProjectBinding(parsed({ path: dir, baseRef: 'develop' }), { home: join(root, 'home') }));
    expect(wrong.code).toBe('INVALID_PATH');
    expect(wrong.message).toBe(`The base branch "develop" does not exist in ${dir} (its branches: master).`);
    expect(wrong.hint).toContain('--base master');
    // A base that exists is kept as given.
    sh(dir, 'branch', 'develop');
    expect((await checkProjectBinding(parsed({ path: dir, baseRef: 'develop' }), { home: join(root, 'home') })).baseRef).toBe('develop');
  });

  it('a clone follows origin/HEAD: its default branch, not the one checked out', async () => {
    const root = tempDir('tinyagi-binding-');
    const origin = repoOn(join(root, 'o'), 'trunk');
    const clone = join(root, 'clone');
    sh(root, 'clone', '-q', origin, clone);
    sh(clone, 'checkout', '-q', '-b', 'topic');
    expect((await checkProjectBinding(parsed({ path: clone }), { home: join(root, 'home') })).baseRef).toBe('trunk');
  });

  it('refuses worktree files that name nothing in the repository; takes them once they exist', async () => {
    const fx = gitFixture();
    const copy = await rejection(checkProjectBinding(parsed({ path: fx.repoDir, files: [{ path: '.env', mode: 'copy' }] }), { home: fx.home }));
    expect(copy).toMatchObject({ code: 'INVALID_PATH', message: `The worktree file ".env" (copy) names ${join(fx.repoDir, '.env')}, which does not exist in the repository.` });
    const link = await rejection(checkProjectBinding(parsed({ path: fx.repoDir, files: [{ path: 'node_modules', mode: 'link' }] }), { home: fx.home }));
    expect(link.message).toContain('The worktree file "node_modules" (link) names');
    writeFileSync(join(fx.repoDir, '.env'), 'A=1\n');
    mkdirSync(join(fx.repoDir, 'node_modules'));
    const ok = await checkProjectBinding(
      parsed({
        path: fx.repoDir,
        files: [
          { path: '.env', mode: 'copy' },
          { path: 'node_modules', mode: 'link' },
        ],
      }),
      { home: fx.home },
    );
    expect(ok).toMatchObject({ baseRef: 'main', files: [{ path: '.env' }, { path: 'node_modules' }] });
  });

  it('refuses a link whose target a sandboxed agent’s boundary hides (a repository under the temp folder), and takes it where the boundary shows it', async () => {
    const settings = { agents: { coder: { name: 'Coder', provider: 'anthropic', sandbox: 'on' }, plain: { name: 'Plain', provider: 'anthropic' } } } as unknown as Settings;
    const root = tempDir('tinyagi-binding-');
    expect(root.startsWith(tmpdir())).toBe(true);
    const dir = repoOn(root, 'main');
    mkdirSync(join(dir, 'node_modules'));
    const binding = parsed({ path: dir, files: [{ path: 'node_modules', mode: 'link' }] });
    const hidden = await rejection(checkProjectBinding(binding, { home: join(root, 'home'), settings }));
    expect(hidden.code).toBe('INVALID_PATH');
    expect(hidden.message).toContain(`The worktree file "node_modules" (link) points at ${join(dir, 'node_modules')}, which the sandbox of the agent coder hides`);
    expect(hidden.hint).toContain('copy the file');
    // No sandboxed agent: nothing hides it.
    expect((await checkProjectBinding(binding, { home: join(root, 'home'), settings: { agents: { plain: settings.agents?.plain } } as unknown as Settings })).files).toHaveLength(1);
    // The same repository where the sandbox shows it (not under a private or hidden folder).
    const shown = shownFolder();
    const shownDir = repoOn(shown, 'main');
    mkdirSync(join(shownDir, 'node_modules'));
    const stored = await checkProjectBinding(parsed({ path: shownDir, files: [{ path: 'node_modules', mode: 'link' }] }), { home: join(root, 'home'), settings });
    expect(stored.files).toEqual([{ path: 'node_modules', mode: 'link' }]);
  });

  it('a URL binding not cloned yet is taken (checked when cloned); a link into its clone (in TINYAGI_HOME) is refused for a sandboxed agent', async () => {
    const root = tempDir('tinyagi-binding-');
    expect((await checkProjectBinding(parsed({ url: 'https://example.com/web.git' }), { home: join(root, 'home') })).baseRef).toBe('main');
    const settings = { agents: { coder: { name: 'Coder', provider: 'anthropic', sandbox: 'on' } } } as unknown as Settings;
    const shown = shownFolder();
    const env = { ...process.env, TINYAGI_HOME: join(shown, 'home') };
    mkdirSync(join(shown, 'home'));
    const refused = await rejection(checkProjectBinding(parsed({ url: 'https://example.com/web.git', files: [{ path: 'node_modules', mode: 'link' }] }), { home: join(shown, 'home'), settings, env }));
    expect(refused.message).toContain(`points at ${join(shown, 'home', 'repos', 'new', 'node_modules')}, which the sandbox of the agent coder hides (${join(shown, 'home')}`);
  });
});

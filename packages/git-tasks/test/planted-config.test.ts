/**
 * A person's look is safe (docs/git-tasks.md, "What git runs in a worktree"): an agent can write
 * what git obeys in its worktree and, unconfined, in the repository (`core.fsmonitor`, hooks,
 * `diff.external`, a textconv, a filter or merge driver its `.gitattributes` selects, an
 * upload-pack). Every git command the engine runs (the server's diff and review views and the
 * CLI's task commands go through it) runs none of them. Each planted program writes a marker file;
 * a control run with plain git shows they are live. Real git, nothing of ours mocked.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { TaskGit } from '@tinyagi/client/contract';
import { cleanupTemp } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { collectDoneFacts } from '../src/facts.ts';
import { taskDiff } from '../src/diff.ts';
import { uncommittedPaths } from '../src/branch-state.ts';
import { commonGitDir, gitStatus, worktreeAdminDir } from '../src/git.ts';
import { mergeTaskBranch } from '../src/merge.ts';
import { followComments } from '../src/review-position.ts';
import { createTaskWorktree, listProjectWorktrees, removeTaskWorktree } from '../src/worktrees.ts';
import { commitFile, gitFixture, sh, task } from './fixture.ts';

afterEach(cleanupTemp);

const HOOKS = ['post-checkout', 'post-merge', 'reference-transaction', 'pre-commit', 'post-commit', 'post-rewrite', 'pre-push', 'pre-auto-gc', 'post-index-change'];
const lines = (first: string, last: string) => `${first}\n2\n3\n4\n5\n6\n${last}\n`;

/** Writes `<root>/planted/<name>`: records its run in `<root>/markers/<name>`, then execs `then` (or exits 0). */
function planter(root: string) {
  mkdirSync(join(root, 'planted'));
  mkdirSync(join(root, 'markers'));
  return (name: string, then?: string): string => {
    const path = join(root, 'planted', name);
    writeFileSync(path, `#!/bin/sh\n: > '${join(root, 'markers', name)}'\n${then === undefined ? 'exit 0' : `exec ${then} "$@"`}\n`, { mode: 0o755 });
    return path;
  };
}

function gitConfig(file: string, entries: Record<string, string>): void {
  for (const [key, value] of Object.entries(entries)) execFileSync('git', ['config', '--file', file, key, value]);
}

describe("what an agent plants in its worktree or the repository's config", () => {
  it('runs in none of the engine’s git commands: status, the done facts and their fetch, the diff, review positions, the merge, worktree add and removal', async () => {
    const fx = gitFixture({ remote: true });
    const ctx = fx.project();
    commitFile(fx.repoDir, '.gitattributes', '* filter=evil diff=evil merge=evil\n');
    const base = commitFile(fx.repoDir, 'a.txt', lines('1', '7'));
    sh(fx.repoDir, 'push', '--quiet', 'origin', 'main');
    const wt = await createTaskWorktree(ctx, task(1));
    const tip = commitFile(wt.path, 'a.txt', lines('one', '7'));
    sh(wt.path, 'push', '--quiet', 'origin', wt.branch);
    commitFile(fx.repoDir, 'a.txt', lines('1', 'seven'));

    const plant = planter(fx.root);
    const common = await commonGitDir(fx.repoDir);
    const admin = (await worktreeAdminDir(fx.repoDir, wt.path))!;
    const drivers = {
      'core.fsmonitor': plant('fsmonitor'),
      'filter.evil.clean': plant('filter-clean', 'cat'),
      'filter.evil.smudge': plant('filter-smudge', 'cat'),
      'filter.evil.required': 'true',
      'diff.evil.textconv': plant('textconv', 'cat'),
      'diff.evil.command': plant('diff-command'),
      'diff.external': plant('diff-external'),
      'merge.evil.driver': `${plant('merge-driver', 'git merge-file')} %A %O %B`,
    };
    gitConfig(join(common, 'config'), { 'extensions.worktreeConfig': 'true', 'remote.origin.uploadpack': plant('upload-pack', 'git-upload-pack'), ...drivers });
    gitConfig(join(admin, 'config.worktree'), drivers);
    for (const hook of HOOKS) writeFileSync(join(common, 'hooks', hook), readFileSync(plant(`hook-${hook}`)), { mode: 0o755 });
    // The worktree's file looks changed (same size, older time): git must read it again, through the clean filter.
    writeFileSync(join(wt.path, 'a.txt'), lines('one', '7'));
    utimesSync(join(wt.path, 'a.txt'), 1_000_000, 1_000_000);

    // Control: plain git in the worktree runs what was planted.
    const markers = join(fx.root, 'markers');
    execFileSync('git', ['status', '--porcelain'], { cwd: wt.path, stdio: 'pipe' });
    execFileSync('git', ['update-ref', 'refs/heads/probe', 'HEAD'], { cwd: fx.repoDir, stdio: 'pipe' });
    expect(readdirSync(markers).sort()).toEqual(expect.arrayContaining(['filter-clean', 'fsmonitor', 'hook-reference-transaction']));
    rmSync(markers, { recursive: true });
    mkdirSync(markers);

    const errors: string[] = [];
    const attempt = async <T>(what: string, run: () => Promise<T>): Promise<T | undefined> => run().catch((e: Error) => void errors.push(`${what}: ${e.message}`));
    await attempt('status', () => uncommittedPaths(ctx, wt.path));
    await attempt('facts', () => collectDoneFacts(ctx, task(1)));
    await attempt('list', () => listProjectWorktrees(ctx));
    const gitRecord: TaskGit = { state: 'ready', branch: wt.branch, worktreePath: wt.path, headSha: tip, error: null, updatedAt: 0 };
    const diff = await attempt('diff', () => taskDiff(ctx, { identifier: 'P-1', git: gitRecord }));
    await attempt('review', () => followComments(fx.repoDir, tip, [{ anchor: { path: 'a.txt', line: 3, side: 'new' as const, commitSha: base } }]));
    const merged = await attempt('merge', () => mergeTaskBranch(ctx, task(1), { method: 'merge' }));
    await attempt('remove', () => removeTaskWorktree(ctx, task(1)));
    await attempt('add', () => createTaskWorktree(ctx, task(2)));

    expect({ markers: readdirSync(markers).sort(), errors }).toEqual({ markers: [], errors: [] });
    // What was read and merged is git's own: the diff's patch and a three-way text merge of both sides, checked out in the person's checkout.
    expect(diff?.files.map((f) => [f.path, f.patch.includes('-1\n+one')])).toEqual([['a.txt', true]]);
    expect(merged?.created).toBe(true);
    expect(readFileSync(join(fx.repoDir, 'a.txt'), 'utf8')).toBe(lines('one', 'seven'));
  });

  it("a program key the repository's config sets takes the person's global value or a neutral one; the person's own keys stay", async () => {
    const fx = gitFixture();
    const global = join(fx.root, 'global.gitconfig');
    gitConfig(global, { 'core.sshCommand': 'ssh -i ~/.ssh/work', 'filter.lfs.process': 'git-lfs filter-process', 'filter.lfs.required': 'true', 'credential.helper': 'store' });
    gitConfig(join(fx.repoDir, '.git', 'config'), {
      'core.sshCommand': 'planted-ssh',
      'filter.lfs.process': 'planted-lfs',
      'filter.evil.smudge': 'planted-smudge',
      'merge.evil.driver': 'planted-merge %A',
      'credential.helper': 'planted-helper',
      'core.askPass': 'planted-askpass',
      'http.proxy': 'http://127.0.0.1:9',
      'http.sslVerify': 'false',
    });
    const env = { GIT_CONFIG_GLOBAL: global };
    // What git reads: the last value of a key, and of a list what follows its last empty value.
    const values = async (key: string) => (await gitStatus(['config', '--get-all', key], { cwd: fx.repoDir, env })).stdout.split('\n').slice(0, -1);
    const effective = async (key: string) => (await values(key)).at(-1);
    expect(await effective('core.sshCommand')).toBe('ssh -i ~/.ssh/work');
    expect(await effective('filter.lfs.process')).toBe('git-lfs filter-process');
    expect(await effective('filter.lfs.required')).toBe('true');
    expect(await effective('filter.evil.smudge')).toBe('');
    expect(await effective('merge.evil.driver')).toBe('git merge-file --quiet --marker-size=%L %A %O %B');
    expect(await effective('core.askPass')).toBe('');
    expect([await effective('http.proxy'), await effective('http.sslVerify')]).toEqual(['', 'true']);
    const helpers = await values('credential.helper');
    expect(helpers.slice(helpers.lastIndexOf('') + 1)).toEqual(['store']);
    expect(await effective('core.fsmonitor')).toBe('false');
  });

  it('git is started only by git.ts: no other module of a package or of TinyOffice spawns it', () => {
    const root = join(import.meta.dirname, '../../..');
    // A call with the program `git` as its first argument: execFile('git', …), spawn('git', …), a promisified run('git', …).
    const spawnsGit = /\(\s*['"`]git['"`]\s*,/;
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name === '.next' || entry.name === 'test' || entry.name.startsWith('.')) continue;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(ts|tsx|mts|js|mjs)$/.test(entry.name) && spawnsGit.test(readFileSync(path, 'utf8'))) found.push(relative(root, path));
      }
    };
    for (const dir of ['packages', 'apps/tinyoffice']) walk(join(root, dir));
    expect(found).toEqual(['packages/git-tasks/src/git.ts', 'packages/test-kit/src/git-repos.ts', 'packages/test-kit/src/github-standin.ts']);
  });
});

/**
 * Real git repositories for tests (git-native tasks, docs/git-tasks.md): a repository with one
 * commit on main, optionally a bare remote it pushes to, and commits made the way an agent makes
 * them. Synchronous git through an argument array. `gitRepos` sets, for this process and the
 * processes it starts from then on (the daemon's git included), an identity and no system or user
 * config: a signing or hook setting there would change the tests, and automatic gc or maintenance
 * after each commit was a third of the git processes (measured with GIT_TRACE2). Only a test that
 * makes repositories gets this environment, not every importer of test-kit.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from './temp.ts';

export const QUIET_GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_COUNT: '2',
  GIT_CONFIG_KEY_0: 'gc.auto',
  GIT_CONFIG_VALUE_0: '0',
  GIT_CONFIG_KEY_1: 'maintenance.auto',
  GIT_CONFIG_VALUE_1: 'false',
} as const;

/** Runs git in `cwd` and returns its trimmed stdout (throws on a non-zero exit). */
export function sh(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Writes `file` and commits it; returns the new commit. */
export function commitFile(cwd: string, file: string, content: string, message = `change ${file}`): string {
  mkdirSync(dirname(join(cwd, file)), { recursive: true });
  writeFileSync(join(cwd, file), content);
  sh(cwd, 'add', '--', file);
  sh(cwd, 'commit', '--quiet', '-m', message);
  return sh(cwd, 'rev-parse', 'HEAD');
}

export interface GitRepos {
  /** A temp folder holding the repository (and the remote). */
  root: string;
  /** `<root>/repo`: main with one commit (README.md). */
  repoDir: string;
  /** `<root>/remote.git`, when asked for: the repository's `origin`, main pushed. */
  remoteDir?: string;
}

/**
 * `identity` (default true): the repository's config names who commits (`Test <test@example.invalid>`),
 * as a person's machine does (a task starts only with someone to commit as, docs/git-tasks.md);
 * false for a test of where the identity comes from.
 */
export function gitRepos(options: { remote?: boolean; identity?: boolean } = {}): GitRepos {
  Object.assign(process.env, QUIET_GIT_ENV);
  const root = tempDir('tinyagi-git-');
  const repoDir = join(root, 'repo');
  mkdirSync(repoDir);
  sh(repoDir, 'init', '--quiet', '-b', 'main');
  if (options.identity !== false) {
    sh(repoDir, 'config', 'user.name', QUIET_GIT_ENV.GIT_AUTHOR_NAME);
    sh(repoDir, 'config', 'user.email', QUIET_GIT_ENV.GIT_AUTHOR_EMAIL);
  }
  commitFile(repoDir, 'README.md', '# demo\n', 'initial');
  if (options.remote !== true) return { root, repoDir };
  const remoteDir = join(root, 'remote.git');
  sh(root, 'init', '--quiet', '--bare', '-b', 'main', remoteDir);
  sh(repoDir, 'remote', 'add', 'origin', remoteDir);
  sh(repoDir, 'push', '--quiet', 'origin', 'main');
  return { root, repoDir, remoteDir };
}

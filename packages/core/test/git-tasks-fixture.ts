/**
 * Real git repositories for the git-task engine's tests: a repository with one commit on main,
 * a bare remote it pushes to, commits made the way an agent makes them. Synchronous git through
 * an argument array; the identity comes from the environment so no global git config is needed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ProjectRepoInput } from '@tinyagi/client/contract';
import { tempDir } from '@tinyagi/test-kit';
import { isTinyError, type TinyError } from '../src/errors.ts';
import { type ProjectRepoContext, resolveProjectRepo } from '../src/git-tasks/project-repo.ts';

const IDENTITY = { GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.invalid', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.invalid' };
// No system or user config (a signing or hook setting there would change the tests); no automatic gc or maintenance after each commit (a third of the git processes, measured with GIT_TRACE2).
const QUIET_GIT = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_COUNT: '2',
  GIT_CONFIG_KEY_0: 'gc.auto',
  GIT_CONFIG_VALUE_0: '0',
  GIT_CONFIG_KEY_1: 'maintenance.auto',
  GIT_CONFIG_VALUE_1: 'false',
};
Object.assign(process.env, IDENTITY, QUIET_GIT);

export function sh(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function commitFile(cwd: string, file: string, content: string, message = `change ${file}`): string {
  mkdirSync(dirname(join(cwd, file)), { recursive: true });
  writeFileSync(join(cwd, file), content);
  sh(cwd, 'add', '--', file);
  sh(cwd, 'commit', '--quiet', '-m', message);
  return sh(cwd, 'rev-parse', 'HEAD');
}

export interface Fixture {
  root: string;
  repoDir: string;
  home: string;
  /** The bare remote, when asked for (added to the repository as `origin`, main pushed). */
  remoteDir?: string;
  project(binding?: Partial<ProjectRepoInput>): ProjectRepoContext;
}

export function gitFixture(options: { remote?: boolean } = {}): Fixture {
  const root = tempDir('tinyagi-git-');
  const repoDir = join(root, 'repo');
  const home = join(root, 'home');
  mkdirSync(repoDir);
  sh(repoDir, 'init', '--quiet', '-b', 'main');
  commitFile(repoDir, 'README.md', '# demo\n', 'initial');
  const fixture: Fixture = {
    root,
    repoDir,
    home,
    project: (binding = {}) =>
      resolveProjectRepo(
        { path: repoDir, baseRef: 'main', worktreeRoot: join(root, 'worktrees'), ...(fixture.remoteDir === undefined ? {} : { remote: 'origin' }), ...binding },
        { projectId: 'p1', home },
      ),
  };
  if (options.remote === true) {
    const remoteDir = join(root, 'remote.git');
    sh(root, 'init', '--quiet', '--bare', '-b', 'main', remoteDir);
    sh(repoDir, 'remote', 'add', 'origin', remoteDir);
    sh(repoDir, 'push', '--quiet', 'origin', 'main');
    fixture.remoteDir = remoteDir;
  }
  return fixture;
}

export const task = (n: number, title = `Task number ${n}`) => ({ id: `task-${n}`, identifier: `P-${n}`, title });

/** The TinyError a promise rejects with; fails the test when it resolves or rejects with something else. */
export async function rejection(promise: Promise<unknown>): Promise<TinyError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  if (!isTinyError(outcome.error)) throw outcome.error;
  return outcome.error;
}

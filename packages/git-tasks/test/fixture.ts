/**
 * Real git repositories for the git-task engine's tests (test-kit's `gitRepos`: a repository with
 * one commit on main, a bare remote it pushes to) with the project's binding resolved on them.
 */
import { join } from 'node:path';
import type { ProjectRepoInput } from '@tinyagi/client/contract';
import { gitRepos } from '@tinyagi/test-kit';
import { isTinyError, type TinyError } from '@tinyagi/core';
import { type ProjectRepoContext, resolveProjectRepo } from '../src/project-repo.ts';

// The repositories and git's quiet environment are test-kit's (git-repos.ts), shared with the server's tests.
export { commitFile, sh } from '@tinyagi/test-kit';

export interface Fixture {
  root: string;
  repoDir: string;
  home: string;
  /** The bare remote, when asked for (added to the repository as `origin`, main pushed). */
  remoteDir?: string;
  project(binding?: Partial<ProjectRepoInput>): ProjectRepoContext;
}

export function gitFixture(options: { remote?: boolean; identity?: boolean } = {}): Fixture {
  const { root, repoDir, remoteDir } = gitRepos(options);
  const home = join(root, 'home');
  const fixture: Fixture = {
    root,
    repoDir,
    home,
    ...(remoteDir === undefined ? {} : { remoteDir }),
    project: (binding = {}) =>
      resolveProjectRepo(
        { path: repoDir, baseRef: 'main', worktreeRoot: join(root, 'worktrees'), ...(fixture.remoteDir === undefined ? {} : { remote: 'origin' }), ...binding },
        { projectId: 'p1', home },
      ),
  };
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

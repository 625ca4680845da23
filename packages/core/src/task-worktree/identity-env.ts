/**
 * The git identity a task's worktree records, as a run's environment (docs/git-tasks.md, "Its git
 * identity"). `@tinyagi/git-tasks` chooses the identity and writes it in the worktree's admin folder
 * (`tinyagi-identity`); a run working in the worktree gets it as `GIT_AUTHOR_*`/`GIT_COMMITTER_*`
 * (invoker/child-env.ts, the mock's commands), since a sandboxed agent does not see `~/.gitconfig`.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { IDENTITY_MARKER } from '@tinyagi/sandbox';

export interface GitIdentity {
  name: string;
  email: string;
}

/** A value git accepts in an identity: one line, no angle brackets, not blank. */
export function usableIdentityPart(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '' && value.length <= 256 && !/[\n\r\0<>]/.test(value);
}

/**
 * A regular file's text, when it is one and small; else undefined. The worktree is the agent's:
 * its `.git` could be a FIFO (a read would block the daemon) or a link to anything.
 */
function smallFile(path: string): string | undefined {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (stat === undefined || !stat.isFile() || stat.size > 4096) return undefined;
  return readFileSync(path, 'utf8');
}

/** The identity as a process's environment: a commit's author and committer. */
export function identityEnv(identity: GitIdentity): Record<string, string> {
  return { GIT_AUTHOR_NAME: identity.name, GIT_AUTHOR_EMAIL: identity.email, GIT_COMMITTER_NAME: identity.name, GIT_COMMITTER_EMAIL: identity.email };
}

/**
 * The identity recorded for the task worktree at `cwd`, as environment variables; empty when `cwd`
 * is not a task's worktree (its `.git` is not a file naming an admin folder with the record) or
 * the record is not a usable identity. Synchronous and reads two small files: run per agent run.
 */
export function identityEnvOf(cwd: string): Record<string, string> {
  try {
    const pointer = smallFile(join(cwd, '.git'))?.trim();
    if (pointer === undefined || !pointer.startsWith('gitdir: ')) return {};
    const admin = resolve(cwd, pointer.slice('gitdir: '.length).trim());
    const text = smallFile(join(admin, IDENTITY_MARKER));
    if (text === undefined) return {};
    const recorded = JSON.parse(text) as Partial<GitIdentity>;
    if (!usableIdentityPart(recorded.name) || !usableIdentityPart(recorded.email)) return {};
    return identityEnv({ name: recorded.name, email: recorded.email });
  } catch {
    return {};
  }
}

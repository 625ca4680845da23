/**
 * Who a task's agents commit as (docs/git-tasks.md, "Its git identity"). A sandboxed agent does
 * not see `~/.gitconfig` (its credential helpers and includes stay hidden), so the daemon gives
 * the identity alone: the binding's `identity` when set, else the person's as git reads it in the
 * repository (`user.name`/`user.email`: the repository's config, else the global one), else what
 * git itself would commit as there (`git var`: its environment, a name it can guess). The worktree
 * step records it in the worktree's admin folder (`tinyagi-identity`); a run working in the
 * worktree gets it as `GIT_AUTHOR_*`/`GIT_COMMITTER_*` (`identityEnvOf`). No identity at all: the
 * task's start fails saying so, instead of an agent whose every commit fails.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TinyError } from '../errors.ts';
import { IDENTITY_MARKER } from './admin-markers.ts';
import { gitStatus } from './git.ts';
import type { ProjectRepoContext } from './project-repo.ts';

export interface GitIdentity {
  name: string;
  email: string;
}

/** A value git accepts in an identity: one line, no angle brackets, not blank. */
function usable(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '' && value.length <= 256 && !/[\n\r\0<>]/.test(value);
}

async function configValue(repoDir: string, key: string): Promise<string | undefined> {
  const out = await gitStatus(['config', '--get', key], { cwd: repoDir });
  return out.exitCode === 0 ? out.stdout.trim() : undefined;
}

/** The identity the task's commits are by (see the module's comment); CONFIG_INVALID when nothing gives one. */
export async function taskGitIdentity(ctx: ProjectRepoContext): Promise<GitIdentity> {
  const bound = ctx.repo.identity;
  if (bound !== undefined) return { name: bound.name, email: bound.email };
  const name = await configValue(ctx.repoDir, 'user.name');
  const email = await configValue(ctx.repoDir, 'user.email');
  if (usable(name) && usable(email)) return { name, email };
  const ident = await gitStatus(['var', 'GIT_AUTHOR_IDENT'], { cwd: ctx.repoDir });
  const parsed = /^(.*) <([^<>]*)> \d+ [+-]\d{4}$/.exec(ident.stdout.trim());
  if (ident.exitCode === 0 && parsed !== null && usable(parsed[1]) && usable(parsed[2])) return { name: parsed[1], email: parsed[2] };
  throw new TinyError(
    'CONFIG_INVALID',
    `Nobody to commit as: git has no user.name and user.email for ${ctx.repoDir}, and project ${ctx.projectId}'s binding names no identity; the agent's commits would fail.`,
    {
      hint: `Set them in the repository (git -C ${ctx.repoDir} config user.name 'Your Name'; git -C ${ctx.repoDir} config user.email you@example.com) or give the binding one (tinyagi project bind ${ctx.projectId} --merge --git-identity 'Name <email>'), then start the task again.`,
    },
  );
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
    if (!usable(recorded.name) || !usable(recorded.email)) return {};
    return identityEnv({ name: recorded.name, email: recorded.email });
  } catch {
    return {};
  }
}

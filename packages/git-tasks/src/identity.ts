/**
 * Who a task's agents commit as (docs/git-tasks.md, "Its git identity"). A sandboxed agent does
 * not see `~/.gitconfig` (its credential helpers and includes stay hidden), so the daemon gives
 * the identity alone: the binding's `identity` when set, else the person's as git reads it in the
 * repository (`user.name`/`user.email`: the repository's config, else the global one), else what
 * git itself would commit as there (`git var`: its environment, a name it can guess). The worktree
 * step records it in the worktree's admin folder (`tinyagi-identity`); a run working in the
 * worktree gets it as `GIT_AUTHOR_*`/`GIT_COMMITTER_*` (core's `identityEnvOf`). No identity at all: the
 * task's start fails saying so, instead of an agent whose every commit fails.
 */
import { type GitIdentity, TinyError, usableIdentityPart } from './core.ts';
import { gitStatus } from './git.ts';
import type { ProjectRepoContext } from './project-repo.ts';

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
  if (usableIdentityPart(name) && usableIdentityPart(email)) return { name, email };
  const ident = await gitStatus(['var', 'GIT_AUTHOR_IDENT'], { cwd: ctx.repoDir });
  const parsed = /^(.*) <([^<>]*)> \d+ [+-]\d{4}$/.exec(ident.stdout.trim());
  if (ident.exitCode === 0 && parsed !== null && usableIdentityPart(parsed[1]) && usableIdentityPart(parsed[2])) return { name: parsed[1], email: parsed[2] };
  throw new TinyError(
    'CONFIG_INVALID',
    `Nobody to commit as: git has no user.name and user.email for ${ctx.repoDir}, and project ${ctx.projectId}'s binding names no identity; the agent's commits would fail.`,
    {
      hint: `Set them in the repository (git -C ${ctx.repoDir} config user.name 'Your Name'; git -C ${ctx.repoDir} config user.email you@example.com) or give the binding one (tinyagi project bind ${ctx.projectId} --merge --git-identity 'Name <email>'), then start the task again.`,
    },
  );
}

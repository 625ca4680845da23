/**
 * "Done" as facts (docs/git-tasks.md): what the daemon proves before a task reaches Review, all
 * read from git and from processes, none from the agent's word:
 * - commits on the task's branch beyond the base ref, and a clean worktree (what is checked and
 *   pushed is what was committed; the worktree files' own paths aside);
 * - each check's result, run by its kind (check-kinds/) in the worktree at the recorded commit (`headSha`);
 * - with a remote, the branch pushed: the commit reachable from the remote's branch after a fetch
 *   (ancestry, so a remote branch that is ahead still counts).
 * Read-only for the repository but for the fetch; running it twice gives the same facts for the
 * same commit (checks permitting), so a step interrupted by a crash is simply run again.
 */
import { existsSync } from 'node:fs';
import { TinyError } from './core.ts';
import { baseCommit, type BranchCommit, commitsBeyondBase, type PushState, pushState, uncommittedPaths } from './branch-state.ts';
import { runBindingChecks } from './check-kinds/index.ts';
import type { CheckResult, CheckWrap } from './checks.ts';
import { factFailures, type FactView } from './done-facts/index.ts';
import { git, worktreeGitOptions } from './git.ts';
import { type ProjectRepoContext, type TaskRef, taskBranchName, taskWorktreePath } from './project-repo.ts';

export interface DoneFacts {
  branch: string;
  /** The commit the facts are about (the worktree's HEAD when they were collected). */
  headSha: string;
  commits: BranchCommit[];
  uncommitted: string[];
  checks: CheckResult[];
  /** Paths the binding copies or links into each worktree that the branch's commits add (never committed: the person's copy would be replaced by the merge). */
  worktreeFilesCommitted: string[];
  /** Absent when the project has no remote (nothing to push to). */
  push?: PushState;
  /** Every fact holds: the task may go to Review. */
  done: boolean;
  /** What does not hold, one sentence each (each done-fact's, done-facts/). */
  missing: string[];
}

export interface CollectFactsOptions {
  /** The checks' environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Confines each check (the task owner's sandbox). */
  wrap?: CheckWrap;
  /** The worktree as the task records it (default: where this node would make it). */
  worktreePath?: string;
}

export async function collectDoneFacts(ctx: ProjectRepoContext, task: TaskRef, options: CollectFactsOptions = {}): Promise<DoneFacts> {
  const branch = await taskBranchName(ctx, task);
  const path = options.worktreePath ?? taskWorktreePath(ctx, task);
  if (!existsSync(path)) throw new TinyError('INVALID_STATE', `Task ${task.identifier} has no worktree at ${path}.`, { hint: 'Start the task (move it to In progress) to create its worktree.' });
  // The worktree's git dir as the repository records it, not as its `.git` file (the agent's) says.
  const inWorktree = await worktreeGitOptions(ctx.repoDir, path);
  const onBranch = (await git(['symbolic-ref', '--quiet', 'HEAD'], inWorktree).catch(() => '')).trim();
  if (onBranch !== `refs/heads/${branch}`) {
    throw new TinyError('INVALID_STATE', `Task ${task.identifier}'s worktree ${path} is on ${onBranch || 'a detached HEAD'}, not on its branch ${branch}.`, {
      hint: `Check out ${branch} in the worktree again.`,
    });
  }
  const headSha = (await git(['rev-parse', 'HEAD'], inWorktree)).trim();
  const base = await baseCommit(ctx);
  const commits = await commitsBeyondBase(ctx.repoDir, base, headSha);
  const worktreeFilesCommitted = await worktreeFilesAdded(ctx, base, headSha);
  const uncommitted = await uncommittedPaths(ctx, path);
  const checks = await runBindingChecks(ctx.repo.checks, {
    cwd: path,
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.wrap === undefined ? {} : { wrap: options.wrap }),
  });
  const push = ctx.repo.remote === undefined ? undefined : await pushState(ctx, branch, headSha);

  const timeouts = new Map(ctx.repo.checks.map((c) => [c.name, c.timeoutMs]));
  const view: FactView = {
    branch,
    baseRef: ctx.repo.baseRef,
    headSha,
    commits: commits.length,
    uncommitted,
    worktreeFilesCommitted,
    checks: checks.map((c) => ({ ...c, timeoutMs: timeouts.get(c.name) })),
    push,
  };
  const missing = factFailures(view).map((f) => f.summary);
  const facts: DoneFacts = { branch, headSha, commits, uncommitted, worktreeFilesCommitted, checks, done: missing.length === 0, missing };
  if (push !== undefined) facts.push = push;
  return facts;
}

/** The worktree files' paths (or paths inside them) that the branch adds beyond its merge base with `base`: each file's path once. */
async function worktreeFilesAdded(ctx: ProjectRepoContext, base: string, head: string): Promise<string[]> {
  if (ctx.repo.files.length === 0) return [];
  const added = (await git(['diff', '--name-only', '--no-renames', '--diff-filter=A', '-z', `${base}...${head}`], { cwd: ctx.repoDir })).split('\0').filter(Boolean);
  return ctx.repo.files.map((file) => file.path).filter((file) => added.some((path) => path === file || path.startsWith(`${file}/`)));
}

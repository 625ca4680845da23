/**
 * A project's repository binding checked against the disk when it is made or changed (the API's
 * project routes, `tinyagi project add/bind`, TinyOffice's dialog): what would otherwise be found
 * only when the first task starts, or as a check's ENOENT inside the agent's sandbox. Contract:
 * - a bound path exists and is a git checkout (INVALID_PATH otherwise);
 * - the base branch exists; a binding that names none (or the schema's default `main` where the
 *   repository has no `main`) gets the repository's own default branch: `origin/HEAD`'s branch,
 *   else the checked-out one, so a `master` repository works with no flag (INVALID_PATH naming the
 *   branches otherwise);
 * - every worktree file names something that exists in the repository and stays inside it
 *   (project-repo.ts `resolveWorktreeFiles`);
 * - a linked worktree file's target is visible inside the boundary of each agent that runs sandboxed on this
 *   daemon (sandbox/boundary.ts `hiddenInSandbox`): a link into a folder the boundary hides (the
 *   temp folder, the home's hidden folders, TinyAGI's home) would be a dangling link there;
 * - a URL binding whose clone is not made yet is checked when it is cloned (its worktree files' paths as written only);
 * - each check's kind and the forge's kind are registered here, and each kind finds nothing wrong
 *   with its entry (check-kinds/, forge-kind.ts): VALIDATION_FAILED naming the registered kinds,
 *   checked first, before the disk.
 * Returns the binding as it is stored (the base branch resolved, the forge's token variable filled in).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ProjectRepo } from '@tinyagi/client/contract';
import { boundaryEnforced, type Env, hiddenInSandbox, ownEntry, quickCheck, type SandboxHost, sandboxSpecOf, type Settings, TinyError } from './core.ts';
import { checkSpecProblems } from './check-kinds/index.ts';
import { forgeBindingProblems, storedForgeBinding } from './forge-kind.ts';
import { gitStatus } from './git.ts';
import { resolveWorktreeFiles, resolveProjectRepo } from './project-repo.ts';

/** The schema's default base branch (`ProjectRepoSchema`): a binding that gives none has it. */
const SCHEMA_DEFAULT_BASE = 'main';

export interface BindingCheckOptions {
  /** The project's id; absent for a project being created. */
  projectId?: string;
  /** TINYAGI_HOME. */
  home: string;
  /** The daemon's settings: whose agents run sandboxed (their boundary must reach the link targets). */
  settings?: Settings;
  env?: Env;
  /** The node's sandbox host: whether its agents run sandboxed is its machine check (absent: a quick check of this machine). */
  sandboxHost?: SandboxHost | undefined;
}

async function gitOut(args: string[], cwd: string): Promise<string | undefined> {
  const result = await gitStatus(args, { cwd });
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

async function hasCommit(repoDir: string, ref: string): Promise<boolean> {
  return (await gitOut(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], repoDir)) !== undefined;
}

/** The repository's own default branch: `origin/HEAD`'s branch when there is a local one, else the checked-out branch. */
export async function defaultBranchOf(repoDir: string): Promise<string | undefined> {
  const originHead = await gitOut(['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD'], repoDir);
  const fromOrigin = originHead?.startsWith('origin/') ? originHead.slice('origin/'.length) : undefined;
  if (fromOrigin && (await hasCommit(repoDir, `refs/heads/${fromOrigin}`))) return fromOrigin;
  const checkedOut = await gitOut(['symbolic-ref', '--quiet', '--short', 'HEAD'], repoDir);
  if (checkedOut && (await hasCommit(repoDir, `refs/heads/${checkedOut}`))) return checkedOut;
  return undefined;
}

async function checkRepository(repoDir: string, label: string): Promise<void> {
  if (!existsSync(repoDir) || !statSync(repoDir).isDirectory()) {
    throw new TinyError('INVALID_PATH', `${label} ${repoDir} does not exist (or is not a folder).`, { hint: 'Bind the project to the folder of a git checkout, or to a remote URL.' });
  }
  const top = await gitOut(['rev-parse', '--is-inside-work-tree'], repoDir);
  if (top !== 'true') {
    throw new TinyError('INVALID_PATH', `${label} ${repoDir} is not a git repository.`, {
      hint: 'Bind the project to the folder of a git checkout (`git init` and a first commit make one), or to a remote URL.',
    });
  }
}

async function resolveBase(repoDir: string, baseRef: string, label: string): Promise<string> {
  if (await hasCommit(repoDir, baseRef)) return baseRef;
  const fallback = baseRef === SCHEMA_DEFAULT_BASE ? await defaultBranchOf(repoDir) : undefined;
  if (fallback !== undefined) return fallback;
  const branches = (await gitOut(['for-each-ref', '--format=%(refname:short)', 'refs/heads'], repoDir))?.split('\n').filter((b) => b !== '') ?? [];
  if (branches.length === 0) {
    throw new TinyError('INVALID_PATH', `${label} ${repoDir} has no commits yet, so no base branch to start tasks from.`, { hint: 'Make a first commit, then bind it.' });
  }
  throw new TinyError('INVALID_PATH', `The base branch "${baseRef}" does not exist in ${repoDir} (its branches: ${branches.slice(0, 10).join(', ')}${branches.length > 10 ? ', …' : ''}).`, {
    hint: `Give the base branch tasks start from and merge into (--base ${branches[0]}), or leave it out for the repository's default branch.`,
  });
}

/** The agents that run sandboxed here (the boundary enforced on this node), each with its boundary's folders. */
function sandboxedAgents(settings: Settings | undefined, env: Env, host: SandboxHost | undefined): { agentId: string; tinyHome: string; workspaceRoot: string }[] {
  if (settings === undefined) return [];
  const machine = host?.machineCheck(env as NodeJS.ProcessEnv) ?? quickCheck(env as NodeJS.ProcessEnv);
  const out: { agentId: string; tinyHome: string; workspaceRoot: string }[] = [];
  for (const agentId of Object.keys(settings.agents ?? {})) {
    if (ownEntry(settings.agents, agentId) === undefined) continue;
    const spec = sandboxSpecOf(settings, agentId, env);
    if (spec !== undefined && boundaryEnforced(spec, machine)) out.push({ agentId, tinyHome: spec.tinyHome, workspaceRoot: spec.workspaceRoot });
  }
  return out;
}

/** The binding's kinds checked against the registries (the module's contract): VALIDATION_FAILED with every problem found, each with its path. */
export function checkBindingKinds(repo: ProjectRepo): ProjectRepo {
  const problems = [...checkSpecProblems(repo.checks), ...(repo.forge === undefined ? [] : forgeBindingProblems(repo.forge))];
  if (problems.length > 0) {
    const issues = problems.map((p) => ({ path: ['repo', ...p.path].join('.'), message: p.message }));
    throw new TinyError('VALIDATION_FAILED', `Invalid repository binding: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { details: { issues } });
  }
  return repo.forge === undefined ? repo : { ...repo, forge: storedForgeBinding(repo.forge) };
}

/** Checks a binding against the registered kinds and the disk (the module's contract) and returns it as it is stored. */
export async function checkProjectBinding(bound: ProjectRepo, options: BindingCheckOptions): Promise<ProjectRepo> {
  const repo = checkBindingKinds(bound);
  const env = options.env ?? process.env;
  const ctx = resolveProjectRepo(repo, { projectId: options.projectId ?? 'new', home: options.home });
  const label = repo.url !== undefined ? `The clone of ${repo.url} at` : 'The repository path';
  const links = ctx.repo.files.filter((file) => file.mode === 'link');
  // A link's target is in the repository: each sandboxed agent's boundary must show it (the clone of a URL lives in TINYAGI_HOME, hidden).
  for (const agent of links.length === 0 ? [] : sandboxedAgents(options.settings, env, options.sandboxHost)) {
    for (const file of links) {
      const target = join(ctx.repoDir, file.path);
      const hiddenBy = hiddenInSandbox(target, { env, tinyHome: agent.tinyHome, workspaceRoot: agent.workspaceRoot });
      if (hiddenBy === undefined) continue;
      throw new TinyError(
        'INVALID_PATH',
        `The worktree file "${file.path}" (link) points at ${target}, which the sandbox of the agent ${agent.agentId} hides (${hiddenBy} is empty inside it): in each worktree the link would lead nowhere for the agent and for the checks it runs.`,
        {
          details: { file, hiddenBy, agentId: agent.agentId },
          hint: 'Keep the repository in a folder the sandbox shows (not under the temp folder, a hidden folder of the home or TINYAGI_HOME), or copy the file (or use the setup command) instead of linking it.',
        },
      );
    }
  }
  if (repo.url !== undefined && !existsSync(ctx.repoDir)) return ctx.repo;
  await checkRepository(ctx.repoDir, label);
  const baseRef = await resolveBase(ctx.repoDir, ctx.repo.baseRef, label);
  for (const resolved of resolveWorktreeFiles(ctx.repoDir, ctx.repoDir, ctx.repo.files)) {
    if (resolved.present) continue;
    throw new TinyError('INVALID_PATH', `The worktree file "${resolved.file.path}" (${resolved.file.mode}) names ${resolved.source}, which does not exist in the repository.`, {
      details: { file: resolved.file },
      hint: `Make it first (e.g. install the dependencies, or create the file), or remove it from the binding's files; a ${resolved.file.mode} of nothing would leave the worktree without it.`,
    });
  }
  return { ...ctx.repo, baseRef };
}

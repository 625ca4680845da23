/**
 * A project's repository binding as the engine uses it (docs/git-tasks.md): the parsed binding
 * (`ProjectRepoSchema`, the contract's, so the API and the CLI check the same shape) with its
 * folders resolved; the repository made present (a URL cloned once); a task's branch name; and
 * the worktree files resolved against the file system, where a symlink can lead out of the
 * repository although the path as written does not.
 */
import { existsSync, lstatSync, mkdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { type WorktreeFile, worktreeFilePathProblem, type ProjectRepo, type ProjectRepoInput, ProjectRepoSchema } from '@tinyagi/client/contract';
import { TinyError } from './core.ts';
import { git, gitStatus } from './git.ts';

export interface ProjectRepoContext {
  projectId: string;
  repo: ProjectRepo;
  /** The repository's folder: the bound path, or TinyAGI's clone of the URL. */
  repoDir: string;
  /** Where the project's worktrees live. */
  worktreeRoot: string;
}

/** Parses a binding (VALIDATION_FAILED with zod's issues) and resolves its folders under `home` (TINYAGI_HOME). */
export function resolveProjectRepo(input: ProjectRepoInput, options: { projectId: string; home: string }): ProjectRepoContext {
  const parsed = ProjectRepoSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new TinyError('VALIDATION_FAILED', `The repository binding of project ${options.projectId} is not valid: ${first?.message ?? 'unknown problem'}`, { details: parsed.error.issues });
  }
  const repo = parsed.data;
  return {
    projectId: options.projectId,
    repo,
    repoDir: repo.path ?? join(options.home, 'repos', options.projectId),
    worktreeRoot: repo.worktreeRoot ?? join(options.home, 'worktrees', options.projectId),
  };
}

/**
 * Makes the repository present: a bound path must be a git repository; a URL is cloned once
 * into `repoDir`. The clone is made beside its final folder and renamed into place, so a clone a
 * crash interrupted is never taken for a whole one (it is removed and made again).
 */
export async function ensureRepository(ctx: ProjectRepoContext): Promise<void> {
  const { repo, repoDir } = ctx;
  if (repo.url === undefined) {
    const check = await gitStatus(['rev-parse', '--git-dir'], { cwd: existsSync(repoDir) ? repoDir : '/' }).catch(() => undefined);
    if (!existsSync(repoDir) || check === undefined || check.exitCode !== 0) {
      throw new TinyError('INVALID_PATH', `Project ${ctx.projectId} is bound to ${repoDir}, which is not a git repository.`, {
        hint: 'Bind the project to the folder of a git checkout, or to a remote URL.',
      });
    }
    return;
  }
  if (existsSync(repoDir)) {
    const origin = await gitStatus(['config', '--get', 'remote.origin.url'], { cwd: repoDir });
    if (origin.exitCode === 0 && origin.stdout.trim() === repo.url) return;
    throw new TinyError('INVALID_STATE', `${repoDir} exists but is not TinyAGI's clone of ${repo.url}.`, { hint: 'Move the folder away, or bind the project to it by path.' });
  }
  mkdirSync(dirname(repoDir), { recursive: true });
  const partial = join(dirname(repoDir), `.${basename(repoDir)}.cloning`);
  rmSync(partial, { recursive: true, force: true });
  await git(['clone', '--no-tags', '--', repo.url, partial], { cwd: dirname(repoDir), timeoutMs: 30 * 60_000 });
  renameSync(partial, repoDir);
}

/** `Fix the login page!` -> `fix-the-login-page`: lower-case ASCII letters, digits and dashes, at most 40 characters. */
export function slugOf(title: string): string {
  const slug = title
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug || 'task';
}

export interface TaskRef {
  id: string;
  /** The task's identifier (`WEB-3`): unique for ever in its project. */
  identifier: string;
  title: string;
  /**
   * The branch recorded when the task started (`task.git.branch`). Fixed from then on: a title
   * changed later renames the task, never its branch. Absent or null: not started yet.
   */
  branch?: string | null | undefined;
}

/**
 * The task's branch: the one it recorded when it started, else the project's template with its
 * title, checked with `git check-ref-format --branch`.
 */
export async function taskBranchName(ctx: ProjectRepoContext, task: TaskRef): Promise<string> {
  if (typeof task.branch === 'string' && task.branch !== '') return task.branch;
  const name = ctx.repo.branchTemplate.replaceAll('{identifier}', task.identifier).replaceAll('{slug}', slugOf(task.title));
  const checked = await gitStatus(['check-ref-format', '--branch', name], { cwd: ctx.repoDir });
  if (checked.exitCode !== 0) {
    throw new TinyError(
      'CONFIG_INVALID',
      `The branch template "${ctx.repo.branchTemplate}" of project ${ctx.projectId} gives "${name}" for task ${task.identifier}, which git does not accept as a branch name.`,
      {
        hint: 'Change the template (e.g. tinyagi/{identifier}-{slug}).',
      },
    );
  }
  return name;
}

/** The task's worktree folder: `<worktreeRoot>/<identifier>`. */
export function taskWorktreePath(ctx: ProjectRepoContext, task: TaskRef): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(task.identifier) || task.identifier.includes('..')) {
    throw new TinyError('INVALID_ID', `Task identifier "${task.identifier}" cannot name a worktree folder.`);
  }
  return join(ctx.worktreeRoot, task.identifier);
}

export interface ResolvedWorktreeFile {
  file: WorktreeFile;
  source: string;
  destination: string;
  /** `missing`: the source does not exist (e.g. no `.env` yet); nothing is copied or linked. */
  present: boolean;
}

/** True when `path` is strictly inside `root` (both real paths). */
function strictlyInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

function refused(file: WorktreeFile, why: string): TinyError {
  return new TinyError('INVALID_PATH', `The worktree file "${file.path}" (${file.mode}) ${why}.`, { details: { file }, hint: "Fix or remove it in the project's repository binding (its files)." });
}

/** The deepest existing ancestor of `path` (itself if it exists), resolved through symlinks. */
function realExistingAncestor(path: string): string {
  let current = path;
  for (;;) {
    try {
      return realpathSync(current);
    } catch {
      const parent = dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

/**
 * Resolves each worktree file against the repository and a worktree. Refused (INVALID_PATH,
 * naming the file): a path the schema refuses (checked again: a caller may skip the schema), a source that
 * resolves through a symlink outside the repository (or to the repository itself), and a
 * destination whose existing part resolves outside the worktree — a committed symlink in the
 * worktree would otherwise have the copy written through it.
 */
export function resolveWorktreeFiles(repoDir: string, worktreeDir: string, files: readonly WorktreeFile[]): ResolvedWorktreeFile[] {
  const realRepo = realpathSync(repoDir);
  const realWorktree = realpathSync(worktreeDir);
  return files.map((file) => {
    const problem = worktreeFilePathProblem(file.path);
    if (problem !== undefined) throw refused(file, problem);
    const source = join(realRepo, file.path);
    const destination = join(realWorktree, file.path);
    let present = true;
    try {
      lstatSync(source);
    } catch {
      present = false;
    }
    const realSource = present ? realExistingAncestor(source) : realExistingAncestor(dirname(source));
    if (present ? !strictlyInside(realRepo, realSource) : !(realSource === realRepo || strictlyInside(realRepo, realSource))) {
      throw refused(file, `resolves to ${realSource}, outside the repository ${realRepo} (through a symlink)`);
    }
    let destinationIsLink = false;
    try {
      destinationIsLink = lstatSync(destination).isSymbolicLink();
    } catch {
      // Not there yet.
    }
    // A linked file's own earlier symlink is fine (it points at the source); anything else must stay in the worktree.
    const realDestination = destinationIsLink && file.mode === 'link' ? realExistingAncestor(dirname(destination)) : realExistingAncestor(destination);
    if (!(realDestination === realWorktree || strictlyInside(realWorktree, realDestination))) {
      throw refused(file, `would be written at ${realDestination}, outside the worktree ${realWorktree} (through a symlink)`);
    }
    return { file, source, destination, present };
  });
}

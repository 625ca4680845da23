/**
 * Runs git for the git-task engine (docs/git-tasks.md). Contract:
 * - an argument array through execFile, never a shell string, so a branch or path is never parsed
 *   by a shell;
 * - a timeout per call (default 60 s), SIGKILL when it passes (`GIT_TIMEOUT`);
 * - `GIT_TERMINAL_PROMPT=0`: a fetch that would ask for credentials fails instead of waiting on a
 *   terminal nobody watches; `LC_ALL=C`: messages the engine reads are the untranslated ones;
 * - `GIT_OPTIONAL_LOCKS=0`: a read (`git status` of a worktree, listed on every request) never
 *   takes the worktree's index.lock to refresh the index, so the agent committing in that worktree
 *   at that moment is not refused ("Unable to create …/index.lock: File exists"); writes still lock;
 * - a non-zero exit is `GIT_FAILED` with the exit code, the arguments and stderr in `details`;
 *   callers that read an exit code as an answer (`isAncestor`) use `gitStatus`;
 * - in a task's worktree, git runs with the git dir the repository records for it
 *   (`worktreeGitOptions`), never the one the worktree's own `.git` file names: the agent may
 *   rewrite that file to point git at a folder of its own whose config (`core.fsmonitor`, a
 *   filter, `core.hooksPath`) would run its commands as the daemon (docs/sandbox.md);
 * - nothing an agent could plant runs: no hooks, fsmonitor, external diff, textconv, or filter,
 *   merge driver or transport program from the repository's own config (`git-guard.ts`).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { TinyError } from './core.ts';
import { guardedCommand, guardedEnv, parseConfigListing } from './git-guard.ts';
import { ensureLayerMounted } from './layer-mount.ts';

export const DEFAULT_GIT_TIMEOUT_MS = 60_000;
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

export interface GitOptions {
  cwd: string;
  timeoutMs?: number;
  /** Added to the process's environment. */
  env?: Record<string, string>;
}

export interface GitResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface GitFailureDetails {
  args: readonly string[];
  cwd: string;
  exitCode: number | null;
  stderr: string;
}

/**
 * Runs git and resolves with its exit code and output, whatever the exit code; rejects only when
 * git could not run or timed out. Every git command of the engine comes here: the repository's
 * config is listed first (`git config --list`, which runs nothing) and the command runs guarded
 * (`git-guard.ts`). Should that listing fail, the command runs with the fixed guards alone: it
 * reads the same config and fails on it too.
 */
export async function gitStatus(args: readonly string[], options: GitOptions): Promise<GitResult> {
  const env = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C', ...options.env };
  const listing = await runGit(['config', '--list', '--show-scope', '-z'], options, env);
  const guarded = guardedCommand(args, listing.exitCode === 0 ? parseConfigListing(listing.stdout) : []);
  return runGit(guarded.args, options, guardedEnv(env, guarded.overrides), args);
}

function runGit(argv: readonly string[], options: GitOptions, env: NodeJS.ProcessEnv, args: readonly string[] = argv): Promise<GitResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...argv],
      {
        cwd: options.cwd,
        env,
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: MAX_OUTPUT_BYTES,
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (err === null) return resolve({ exitCode: 0, stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string | null };
        const details: GitFailureDetails = { args, cwd: options.cwd, exitCode: typeof e.code === 'number' ? e.code : null, stderr };
        if (e.code === 'ENOENT' && e.syscall?.startsWith('spawn')) {
          return reject(new TinyError('GIT_NOT_FOUND', 'git is not installed or not on PATH.', { hint: 'Install git (2.25 or newer) for projects bound to a repository.', details, cause: err }));
        }
        if (e.killed === true && e.signal === 'SIGKILL') {
          return reject(
            new TinyError('GIT_TIMEOUT', `git ${args[0] ?? ''} did not finish within ${timeoutMs} ms in ${options.cwd}.`, {
              hint: 'Check the network (a fetch) or a lock left in the repository.',
              details,
              cause: err,
            }),
          );
        }
        if (typeof e.code === 'number') return resolve({ exitCode: e.code, stdout, stderr });
        reject(new TinyError('GIT_FAILED', `git ${args[0] ?? ''} could not run in ${options.cwd}: ${e.message}`, { details, cause: err }));
      },
    );
  });
}

/** Runs git and returns its stdout; a non-zero exit is `GIT_FAILED`. */
export async function git(args: readonly string[], options: GitOptions): Promise<string> {
  const result = await gitStatus(args, options);
  if (result.exitCode !== 0) throw gitFailed(args, options.cwd, result);
  return result.stdout;
}

export function gitFailed(args: readonly string[], cwd: string, result: GitResult): TinyError {
  const firstLine = result.stderr.trim().split('\n')[0] ?? '';
  const details: GitFailureDetails = { args, cwd, exitCode: result.exitCode, stderr: result.stderr };
  return new TinyError('GIT_FAILED', `git ${args.join(' ')} failed with exit code ${result.exitCode} in ${cwd}${firstLine ? `: ${firstLine}` : ''}`, { details });
}

/** True when `ancestor` is reachable from `descendant` (`merge-base --is-ancestor`: 0 yes, 1 no, anything else an error). */
export async function isAncestor(cwd: string, ancestor: string, descendant: string): Promise<boolean> {
  const args = ['merge-base', '--is-ancestor', ancestor, descendant];
  const result = await gitStatus(args, { cwd });
  if (result.exitCode === 0) return true;
  if (result.exitCode === 1) return false;
  throw gitFailed(args, cwd, result);
}

/** The commit a ref names, or undefined when it names none. */
export async function resolveCommit(cwd: string, ref: string): Promise<string | undefined> {
  const result = await gitStatus(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd });
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

function realOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** The repository's common git dir (`<repo>/.git`), absolute. */
export async function commonGitDir(repoDir: string): Promise<string> {
  const out = (await git(['rev-parse', '--git-common-dir'], { cwd: repoDir })).trim();
  return realOr(isAbsolute(out) ? out : join(repoDir, out));
}

/**
 * The admin folder (`<common>/worktrees/<name>`) of the repository's linked worktree at
 * `worktreeDir`, found from the repository's side: the one whose `gitdir` file (written by `git
 * worktree add`, read-only inside a sandbox) names `<worktreeDir>/.git`. Undefined when none does.
 */
export async function worktreeAdminDir(repoDir: string, worktreeDir: string): Promise<string | undefined> {
  const common = await commonGitDir(repoDir);
  const want = realOr(join(worktreeDir, '.git'));
  const wantDir = realOr(worktreeDir);
  // git names the admin folder after the worktree's folder (with a number when that name is taken): tried first, so a
  // repository with hundreds of worktrees is not read whole for each git command in one.
  let names: string[];
  try {
    const all = readdirSync(join(common, 'worktrees'));
    const guess = basename(worktreeDir);
    names = all.includes(guess) ? [guess, ...all.filter((n) => n !== guess)] : all;
  } catch {
    return undefined;
  }
  for (const name of names) {
    let recorded: string;
    try {
      recorded = readFileSync(join(common, 'worktrees', name, 'gitdir'), 'utf8').trim();
    } catch {
      continue;
    }
    if (recorded !== '' && (realOr(recorded) === want || realOr(dirname(recorded)) === wantDir)) return join(common, 'worktrees', name);
  }
  return undefined;
}

/**
 * Options for git in a task's worktree: `GIT_DIR` the admin folder the repository records for it
 * and `GIT_WORK_TREE` the worktree, so the worktree's own `.git` file (the agent's to rewrite) is
 * never read. A folder the repository does not know as its worktree is `INVALID_STATE`.
 */
export async function worktreeGitOptions(repoDir: string, worktreeDir: string): Promise<GitOptions> {
  const admin = await worktreeAdminDir(repoDir, worktreeDir);
  // A layered worktree not mounted (after a reboot) would show git a folder with every file deleted.
  if (admin !== undefined) await ensureLayerMounted(worktreeDir);
  if (admin === undefined) {
    throw new TinyError('INVALID_STATE', `${worktreeDir} is not a worktree of ${repoDir}.`, { hint: 'Start the task again (move it to In progress) to make its worktree again.' });
  }
  return { cwd: worktreeDir, env: { GIT_DIR: admin, GIT_WORK_TREE: worktreeDir } };
}

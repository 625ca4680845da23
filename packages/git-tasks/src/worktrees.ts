/**
 * A worktree per task (docs/git-tasks.md). Contract:
 * - `createTaskWorktree` is idempotent: called again after a crash at any point it finds the
 *   task's worktree and branch and reuses them (a worktree git left locked "initializing" is
 *   checked out again; a branch whose folder is gone gets a new folder, its commits kept). A
 *   worktree records its task in its git admin folder (`tinyagi-task`), and another task is
 *   refused it, as is a folder that is not a worktree of the repository (nothing is deleted).
 * - The worktree files' paths are excluded for git in every worktree (the repository's
 *   `info/exclude`), whatever `.gitignore` says: they never enter a commit.
 * - The worktree files skip what is already there; a copy is written beside its destination and
 *   renamed into place, so a half copy is never taken for a whole one.
 * - The setup runs until it has passed once: its success is a marker (`tinyagi-setup`) in the
 *   admin folder, written after it passes. An interrupted setup runs again (setups must be
 *   idempotent, as `pnpm install` is).
 * - `removeTaskWorktree` removes only a clean worktree whose branch is merged into the base or
 *   reachable from the remote's branch; anything else is `WORKTREE_UNSAFE`, whatever the caller
 *   believes. Nothing here removes a worktree for its age: `abandonedWorktrees` lists them.
 * - git's list of a repository's worktrees is changed by one task at a time (`worktreeList`):
 *   `git worktree add` reads every other worktree's admin folder and fails on one another add is
 *   writing, so tasks started together would fail their worktree step now and then.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BRANCH_MARKER, IDENTITY_MARKER, SETUP_MARKER, TASK_MARKER, TinyError } from './core.ts';
import { mergedIntoBase, pushState, uncommittedPaths } from './branch-state.ts';
import { type CheckResult, type CheckWrap, runCheck } from './checks.ts';
import { commonGitDir, git, gitStatus, isAncestor, resolveCommit, worktreeAdminDir, worktreeGitOptions } from './git.ts';
import { taskGitIdentity } from './identity.ts';
import { dropLayer, readLayer } from './layer-mount.ts';
import { type Base, baseFor, type CheckoutChoice, chooseCheckout, copyTree, populateLayer, pruneLayers, recordLayer, worktreeOwnBytes as layerOwnBytes } from './layers.ts';
import { PerRepositoryQueue } from './one-at-a-time.ts';
import { ensureRepository, type ProjectRepoContext, resolveWorktreeFiles, type TaskRef, taskBranchName, taskWorktreePath } from './project-repo.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** A checkout's time limit: a large repository's takes minutes on a slow disk. */
const CHECKOUT_TIMEOUT_MS = 60 * 60_000;

/**
 * Changes to a repository's worktree list (an add, a removal, a prune), one at a time. `git
 * worktree add` beside another fails with "failed to read .git/worktrees/<name>/commondir" (git
 * 2.39, two of ninety adds three at a time, measured): it reads each worktree's admin folder, and
 * the other add is writing one.
 */
export const worktreeList = new PerRepositoryQueue();

/**
 * Removes the admin folders a `git worktree add` killed before it had written `commondir` left
 * behind (an empty one and every `git worktree list` of the repository fails: "failed to read
 * .git/worktrees/<name>/commondir"), and their worktree folders when those hold nothing but their
 * `.git` (git checks out only after `commondir`). Run with the worktree list held: only one node
 * changes a project's worktrees (its disk node). Returns the names removed.
 */
export async function dropHalfAddedWorktrees(repoDir: string): Promise<string[]> {
  const root = join(await commonGitDir(repoDir), 'worktrees');
  const dropped: string[] = [];
  for (const name of existsSync(root) ? readdirSync(root) : []) {
    const admin = join(root, name);
    // git dies on an empty `commondir` (the add was killed while writing it) and reads a missing one as a plain folder.
    if (existsSync(join(admin, 'commondir')) && statSync(join(admin, 'commondir')).size > 0) continue;
    let folder: string | undefined;
    try {
      folder = dirname(readFileSync(join(admin, 'gitdir'), 'utf8').trim());
    } catch {
      folder = undefined;
    }
    await rm(admin, { recursive: true, force: true });
    if (folder !== undefined && existsSync(folder) && readdirSync(folder).every((entry) => entry === '.git')) await rm(folder, { recursive: true, force: true });
    dropped.push(name);
  }
  return dropped;
}

/** One entry of `git worktree list --porcelain`. */
export interface GitWorktreeEntry {
  path: string;
  head: string | undefined;
  /** `refs/heads/…`, or undefined when detached or bare. */
  branch: string | undefined;
  locked: string | undefined;
  /** The folder is gone (git would prune the entry). */
  prunable: boolean;
}

export async function listGitWorktrees(repoDir: string): Promise<GitWorktreeEntry[]> {
  const out = await git(['worktree', 'list', '--porcelain'], { cwd: repoDir });
  const entries: GitWorktreeEntry[] = [];
  for (const block of out.split('\n\n')) {
    const lines = block.split('\n').filter((line) => line !== '');
    const first = lines[0];
    if (first === undefined || !first.startsWith('worktree ')) continue;
    const value = (key: string): string | undefined => {
      const line = lines.find((l) => l === key || l.startsWith(`${key} `));
      return line === undefined ? undefined : line.slice(key.length + 1);
    };
    const path = first.slice('worktree '.length);
    entries.push({ path, head: value('HEAD'), branch: value('branch'), locked: value('locked'), prunable: value('prunable') !== undefined || !existsSync(path) });
  }
  return entries;
}

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

export function samePath(a: string, b: string): boolean {
  return realOrResolved(a) === realOrResolved(b);
}

/** The worktree's own git folder (`<repo>/.git/worktrees/<name>`), where the markers live: as the repository records it, never as the worktree's `.git` file says. */
async function adminDir(repoDir: string, worktreeDir: string): Promise<string> {
  return (await worktreeGitOptions(repoDir, worktreeDir)).env!.GIT_DIR!;
}

/** A marker's content; undefined when it is missing or empty (a write a kill cut short, by a version that wrote in place). */
function readMarker(dir: string, name: string): string | undefined {
  try {
    return readFileSync(join(dir, name), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Writes `file` whole or not at all (a kill never leaves it half-written): a file of its own, then renamed over. */
function writeWhole(file: string, content: string): void {
  const partial = `${file}.tinyagi-${process.pid}`;
  writeFileSync(partial, content);
  renameSync(partial, file);
}

function writeMarker(dir: string, name: string, content: string): void {
  writeWhole(join(dir, name), content);
}

/**
 * Whether this machine sees the task's own worktree at `path`: the folder is a worktree of the
 * repository here whose admin folder names the task (TASK_MARKER). Another machine with the same
 * layout has no such folder, or one of another task: a disk two nodes share is told from two
 * disks with the same paths.
 */
export async function seesTaskWorktree(repoDir: string, path: string, taskId: string): Promise<boolean> {
  if (!existsSync(path) || !existsSync(repoDir)) return false;
  const admin = await worktreeAdminDir(repoDir, path).catch(() => undefined);
  return admin !== undefined && readMarker(admin, TASK_MARKER) === taskId;
}

export interface TaskWorktree {
  taskId: string;
  path: string;
  branch: string;
  head: string;
  /** False when an existing worktree was found and reused. */
  created: boolean;
  /** Each worktree file's outcome: `copied`, `linked`, `kept` (already there) or `missing` (no source). */
  files: Array<{ path: string; outcome: 'copied' | 'linked' | 'kept' | 'missing' }>;
  /** The setup's result when it ran in this call (absent: no setup, or it passed before). */
  setup?: CheckResult;
  /** An overlay of a base (`layered`) or a checkout of its own (`full`); with `why` when `auto` could not layer it. */
  checkout: CheckoutChoice;
}

export interface CreateWorktreeOptions {
  /** The setup's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Confines the setup (the task owner's sandbox). */
  wrap?: CheckWrap;
  /**
   * The branch the task's record names (`task.git.branch`), null when it names none. An existing
   * branch without a worktree that the record does not name is taken over only while it has no
   * commits beyond the base: one someone else made (a sandboxed agent may create refs beside its
   * own branch) must not become another task's work, nor its setup's input. Undefined: not checked.
   */
  recordedBranch?: string | null;
}

/** Creates (or finds again) the task's worktree on its own branch from the base ref, copies or links its worktree files and runs the setup once. */
export async function createTaskWorktree(ctx: ProjectRepoContext, task: TaskRef, options: CreateWorktreeOptions = {}): Promise<TaskWorktree> {
  await ensureRepository(ctx);
  // Who the agents commit as, read into their runs' environment (a sandboxed agent does not see ~/.gitconfig). Asked
  // first, so a start without one fails before anything is made; written at each start, so a fixed identity is taken up.
  const identity = `${JSON.stringify(await taskGitIdentity(ctx))}\n`;
  // A started task keeps the branch it recorded, whatever its title says now.
  const branch = await taskBranchName(ctx, { ...task, branch: task.branch ?? options.recordedBranch ?? null });
  const path = taskWorktreePath(ctx, task);
  const branchRef = `refs/heads/${branch}`;
  mkdirSync(ctx.worktreeRoot, { recursive: true });
  // Chosen (and a base made) before the worktree list is held: a base of a large repository takes a while. git's list is
  // read there, so what a killed add left is dropped first (with the list held).
  await worktreeList.run(ctx.repoDir, () => dropHalfAddedWorktrees(ctx.repoDir));
  const plan = await planCheckout(ctx, path, branchRef);

  const { created, admin } = await worktreeList.run(ctx.repoDir, async () => {
    let entries = await listGitWorktrees(ctx.repoDir);
    if (entries.some((e) => e.prunable && samePath(e.path, path))) {
      // The folder was deleted (by a person, or a crash before git wrote it): forget the entry; the branch stays.
      await git(['worktree', 'prune'], { cwd: ctx.repoDir });
      entries = await listGitWorktrees(ctx.repoDir);
    }
    const atPath = entries.find((e) => samePath(e.path, path));
    const onBranch = entries.find((e) => e.branch === branchRef);
    if (onBranch !== undefined && (atPath === undefined || onBranch !== atPath)) {
      throw new TinyError('INVALID_STATE', `Branch ${branch} of task ${task.identifier} is checked out in ${onBranch.path}, not in the task's worktree ${path}.`, {
        hint: 'Two tasks never share a tree: remove that worktree (or check out another branch there) and start the task again.',
      });
    }
    let created = false;
    if (atPath !== undefined) {
      if (atPath.branch !== branchRef) {
        throw new TinyError('INVALID_STATE', `${path} is a worktree on ${atPath.branch ?? 'a detached HEAD'}, not on task ${task.identifier}'s branch ${branch}.`, {
          hint: 'Move that worktree away, then start the task again.',
        });
      }
      if (atPath.locked === 'initializing') {
        // git was killed while checking the worktree out: nobody has worked in it yet.
        if (readLayer(path) === undefined) await git(['reset', '--hard', '--quiet'], { ...(await worktreeGitOptions(ctx.repoDir, path)), timeoutMs: CHECKOUT_TIMEOUT_MS });
        await git(['worktree', 'unlock', path], { cwd: ctx.repoDir });
      }
    } else {
      if (existsSync(path) && readdirSync(path).length > 0) {
        throw new TinyError('INVALID_STATE', `${path} exists and is not a worktree of ${ctx.repoDir}; it was left as it is.`, { hint: 'Move the folder away, then start the task again.' });
      }
      const existing = await resolveCommit(ctx.repoDir, branchRef);
      if (existing !== undefined) {
        if (options.recordedBranch !== undefined && options.recordedBranch !== branch) {
          const base = await resolveCommit(ctx.repoDir, ctx.repo.baseRef);
          if (base === undefined || !(await isAncestor(ctx.repoDir, existing, base))) {
            throw new TinyError('INVALID_STATE', `Branch ${branch} exists with commits of its own, but task ${task.identifier} never had it; it was not taken over.`, {
              hint: `Look at it (git log ${ctx.repo.baseRef}..${branch}); delete or rename it if nobody of yours made it, then start the task again.`,
            });
          }
        }
      }
      const base = existing === undefined ? await resolveCommit(ctx.repoDir, ctx.repo.baseRef) : undefined;
      if (existing === undefined && base === undefined)
        throw new TinyError('INVALID_STATE', `Project ${ctx.projectId}'s base ref "${ctx.repo.baseRef}" names no commit in ${ctx.repoDir}.`, { hint: "Fetch it, or change the binding's baseRef." });
      // A layered worktree is recorded before git makes it, and checked out by its mount, not by git.
      const layered = plan?.kind === 'layered' ? plan : undefined;
      if (layered !== undefined) await recordLayer(path, existsSync(join(layered.base.dir, 'base.json')) ? layered.base : await baseFor(ctx, layered.base.sha), layered.backend);
      const noCheckout = layered === undefined ? [] : ['--no-checkout'];
      // A full checkout of a large repository takes longer than git's default minute.
      const adding = { cwd: ctx.repoDir, timeoutMs: CHECKOUT_TIMEOUT_MS };
      if (existing !== undefined) await git(['worktree', 'add', '--quiet', ...noCheckout, path, branch], adding);
      else await git(['worktree', 'add', '--quiet', ...noCheckout, '--no-track', '-b', branch, path, base!], adding);
      created = true;
    }

    const admin = await adminDir(ctx.repoDir, path);
    const owner = readMarker(admin, TASK_MARKER);
    if (owner !== undefined && owner !== task.id) {
      throw new TinyError('INVALID_STATE', `The worktree ${path} belongs to task ${owner}, not to ${task.id}.`, {
        hint: "Two tasks never share a tree; give the task another identifier or remove the other task's worktree.",
      });
    }
    if (owner === undefined) writeMarker(admin, TASK_MARKER, `${task.id}\n`);
    if (readMarker(admin, BRANCH_MARKER) !== branchRef) writeMarker(admin, BRANCH_MARKER, `${branchRef}\n`);
    if (readMarker(admin, IDENTITY_MARKER) !== identity.trim()) writeMarker(admin, IDENTITY_MARKER, identity);
    // Before the worktree files are put in the worktree: git never sees what they copy or link.
    await excludeWorktreeFiles(ctx);
    return { created, admin };
  });

  // A layer's files are written outside the worktree list's turn: they touch only the task's own index and folder.
  const layer = readLayer(path);
  if (layer !== undefined) await populateLayer(path, admin, await worktreeGitOptions(ctx.repoDir, path));
  const files = await applyWorktreeFiles(ctx, path, created && layer !== undefined);
  const head = (await git(['rev-parse', 'HEAD'], await worktreeGitOptions(ctx.repoDir, path))).trim();
  const checkout: CheckoutChoice = layer !== undefined ? { kind: 'layered', backend: layer.backend } : { kind: 'full', ...(plan?.kind === 'full' && plan.why !== undefined ? { why: plan.why } : {}) };
  const result: TaskWorktree = { taskId: task.id, path, branch, head, created, files, checkout };
  if (ctx.repo.setup !== undefined && readMarker(admin, SETUP_MARKER) === undefined) {
    const setup = await runCheck(
      { name: 'setup', ...ctx.repo.setup },
      {
        cwd: path,
        ...(options.env === undefined ? {} : { env: options.env }),
        ...(options.wrap === undefined ? {} : { wrap: options.wrap }),
      },
    );
    if (!setup.ok) {
      const ending = setup.timedOut ? `did not finish within ${ctx.repo.setup.timeoutMs} ms` : `failed with exit code ${setup.exitCode ?? setup.signal ?? 'none'}`;
      throw new TinyError('WORKTREE_SETUP_FAILED', `The setup of task ${task.identifier}'s worktree (${ctx.repo.setup.argv.join(' ')}) ${ending}.`, {
        details: setup,
        hint: 'Read the log in details; the setup runs again when the task is started again.',
      });
    }
    writeMarker(admin, SETUP_MARKER, `${JSON.stringify({ at: setup.startedAt, durationMs: setup.durationMs })}\n`);
    result.setup = setup;
  }
  return result;
}

type CheckoutPlan = { kind: 'layered'; backend: NonNullable<CheckoutChoice['backend']>; base: Base } | { kind: 'full'; why?: string };

/** How a worktree not made yet is checked out, with the base a layered one stands on (made now if need be); undefined for one that exists. */
async function planCheckout(ctx: ProjectRepoContext, path: string, branchRef: string): Promise<CheckoutPlan | undefined> {
  if (readLayer(path) !== undefined || (await listGitWorktrees(ctx.repoDir)).some((e) => samePath(e.path, path))) return undefined;
  const start = (await resolveCommit(ctx.repoDir, branchRef)) ?? (await resolveCommit(ctx.repoDir, ctx.repo.baseRef));
  if (start === undefined) return undefined;
  const choice = await chooseCheckout(ctx, start);
  if (choice.kind === 'full' || choice.backend === undefined) return { kind: 'full', ...(choice.why === undefined ? {} : { why: choice.why }) };
  return { kind: 'layered', backend: choice.backend, base: await baseFor(ctx, start) };
}

/** The repository's `info/exclude`, which git reads for every worktree of it (`<common dir>/info/exclude`). */
async function excludeFile(repoDir: string): Promise<string> {
  const common = (await git(['rev-parse', '--git-common-dir'], { cwd: repoDir })).trim();
  return join(resolve(repoDir, common), 'info', 'exclude');
}

/** A worktree file's path as an anchored gitignore pattern matching exactly it (a file, a folder or a symlink): `/node_modules`. */
function anchoredPattern(path: string): string {
  return `/${path.replace(/[\\*?[\]!#]/g, (c) => `\\${c}`).replace(/ $/, '\\ ')}`;
}

/**
 * Tells git to leave the paths the binding copies or links alone in every worktree, whatever
 * `.gitignore` says (`node_modules/` does not match a symlink, so an agent's `git add -A` would
 * commit the link, and a merge would then replace the person's folder with it). Anchored entries
 * in a block of the project's own in the repository's `info/exclude`, rewritten when the files
 * change and written beside the file then renamed into place. Run with the worktree list held (one
 * writer per repository).
 */
async function excludeWorktreeFiles(ctx: ProjectRepoContext): Promise<void> {
  const file = await excludeFile(ctx.repoDir);
  const begin = `# tinyagi: copied or linked into each task worktree of project ${ctx.projectId}, never committed`;
  const end = `# tinyagi: end of project ${ctx.projectId}`;
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // No exclude file yet.
  }
  const lines = current === '' ? [] : current.replace(/\n$/, '').split('\n');
  const from = lines.indexOf(begin);
  const to = from === -1 ? -1 : lines.indexOf(end, from);
  const kept = from === -1 || to === -1 ? lines : [...lines.slice(0, from), ...lines.slice(to + 1)];
  const block = ctx.repo.files.length === 0 ? [] : [begin, ...ctx.repo.files.map((f) => anchoredPattern(f.path)), end];
  const next = [...kept, ...block].map((line) => `${line}\n`).join('');
  if (next === current) return;
  mkdirSync(dirname(file), { recursive: true });
  writeWhole(file, next);
}

/** Copies (off the event loop, cloned where the file system can) or links each worktree file's source into the worktree; what is already there (a layered worktree's base copies) is kept. */
async function applyWorktreeFiles(ctx: ProjectRepoContext, worktreeDir: string, fromBase: boolean): Promise<TaskWorktree['files']> {
  const outcomes: TaskWorktree['files'] = [];
  for (const resolved of resolveWorktreeFiles(ctx.repoDir, worktreeDir, ctx.repo.files)) outcomes.push(await applyWorktreeFile(resolved, fromBase));
  return outcomes;
}

/** `fromBase`: a layered worktree made in this call, whose copies its base holds (copied once, for every task on it). */
async function applyWorktreeFile({ file, source, destination, present }: ReturnType<typeof resolveWorktreeFiles>[number], fromBase: boolean): Promise<TaskWorktree['files'][number]> {
  if (!present) return { path: file.path, outcome: 'missing' as const };
  let existing: ReturnType<typeof lstatSync> | undefined;
  try {
    existing = lstatSync(destination);
  } catch {
    existing = undefined;
  }
  if (existing !== undefined) {
    if (file.mode === 'link' && existing.isSymbolicLink() && readlinkSync(destination) !== source) {
      throw new TinyError('INVALID_STATE', `${destination} is a symlink to ${readlinkSync(destination)}, not to ${source} as the worktree file "${file.path}" (link) says.`, {
        hint: 'Remove the symlink; it is made again.',
      });
    }
    return { path: file.path, outcome: fromBase && file.mode === 'copy' ? ('copied' as const) : ('kept' as const) };
  }
  mkdirSync(dirname(destination), { recursive: true });
  if (file.mode === 'link') {
    symlinkSync(source, destination);
    return { path: file.path, outcome: 'linked' as const };
  }
  const partial = `${destination}.tinyagi-copy`;
  await rm(partial, { recursive: true, force: true });
  // Symlinks inside a copied folder are copied as links (verbatim), never followed: no content from outside the repository is read.
  await copyTree(source, partial);
  await rename(partial, destination);
  return { path: file.path, outcome: 'copied' as const };
}

/** The blocks (bytes, as `du` counts them) the worktree at `path` costs on its own: a layered one its upper folder and index, a full one its folder. */
export async function worktreeOwnBytes(ctx: ProjectRepoContext, path: string): Promise<number> {
  return layerOwnBytes(path, existsSync(path) ? await worktreeAdminDir(ctx.repoDir, path) : undefined);
}

export interface TaskWorktreeInfo {
  path: string;
  branch: string | undefined;
  head: string | undefined;
  /** The task recorded in the worktree, when its folder is there to say. */
  taskId: string | undefined;
  /** The folder is gone (git's entry only). */
  missing: boolean;
  /** The latest of: the tip's commit time, the worktree's index (staging, status), its creation. Epoch ms. */
  lastActivityAt: number;
}

/** The project's worktrees (those under its worktree folder), with their task and last activity. */
export async function listTaskWorktrees(ctx: ProjectRepoContext): Promise<TaskWorktreeInfo[]> {
  const root = realOrResolved(ctx.worktreeRoot);
  const entries = (await listGitWorktrees(ctx.repoDir)).filter((e) => realOrResolved(e.path).startsWith(`${root}/`));
  const infos: TaskWorktreeInfo[] = [];
  for (const e of entries) {
    let taskId: string | undefined;
    let lastActivityAt = 0;
    if (!e.prunable) {
      const admin = await adminDir(ctx.repoDir, e.path);
      taskId = readMarker(admin, TASK_MARKER);
      for (const file of ['index', TASK_MARKER]) {
        try {
          lastActivityAt = Math.max(lastActivityAt, statSync(join(admin, file)).mtimeMs);
        } catch {
          // Not written yet.
        }
      }
    }
    if (e.head !== undefined) {
      const time = await gitStatus(['log', '-1', '--format=%ct', e.head], { cwd: ctx.repoDir });
      if (time.exitCode === 0) lastActivityAt = Math.max(lastActivityAt, Number(time.stdout.trim()) * 1000);
    }
    infos.push({ path: e.path, branch: e.branch?.replace(/^refs\/heads\//, ''), head: e.head, taskId, missing: e.prunable, lastActivityAt: Math.round(lastActivityAt) });
  }
  return infos;
}

export interface RemovalCheck {
  safe: boolean;
  merged: boolean;
  pushed: boolean;
  uncommitted: string[];
  /** Why it may not be removed (absent when safe). */
  reason?: string;
}

/** Whether a worktree on `branch` at `worktreeDir` may go: clean, and merged into the base or reachable from the remote's branch. */
export async function removalCheck(ctx: ProjectRepoContext, branch: string, worktreeDir: string | undefined): Promise<RemovalCheck> {
  const tip = await resolveCommit(ctx.repoDir, `refs/heads/${branch}`);
  if (tip === undefined) return { safe: false, merged: false, pushed: false, uncommitted: [], reason: `branch ${branch} does not exist` };
  const uncommitted = worktreeDir !== undefined && existsSync(worktreeDir) ? await uncommittedPaths(ctx, worktreeDir) : [];
  const merged = await mergedIntoBase(ctx, tip);
  const push = merged || ctx.repo.remote === undefined ? undefined : await pushState(ctx, branch, tip);
  const pushed = push?.pushed ?? false;
  if (uncommitted.length > 0) return { safe: false, merged, pushed, uncommitted, reason: `it has uncommitted changes (${uncommitted.slice(0, 5).join(', ')}${uncommitted.length > 5 ? ', …' : ''})` };
  if (merged || pushed) return { safe: true, merged, pushed, uncommitted };
  const why =
    ctx.repo.remote === undefined
      ? `its commits are not merged into ${ctx.repo.baseRef} (the project has no remote to push to)`
      : `its commits are neither merged into ${ctx.repo.baseRef} nor pushed (${push?.reason ?? 'not pushed'})`;
  return { safe: false, merged, pushed, uncommitted, reason: why };
}

export interface RemovedWorktree {
  /** False when there was no worktree any more (a repeated call). */
  removed: boolean;
  /** The local branch was deleted (only when merged into the base). */
  branchDeleted: boolean;
  check: RemovalCheck;
}

/**
 * Removes the task's worktree when `removalCheck` says it is safe, else `WORKTREE_UNSAFE`. The
 * local branch is deleted only when it is merged; a pushed, unmerged branch is kept. Idempotent:
 * again after a crash, the remaining steps are done.
 */
export async function removeTaskWorktree(ctx: ProjectRepoContext, task: TaskRef, path: string = taskWorktreePath(ctx, task)): Promise<RemovedWorktree> {
  return worktreeList.run(ctx.repoDir, () => removeTaskWorktreeNow(ctx, task, path));
}

/** `path`: the worktree as the task records it (another node of a shared disk made it under its own home). */
async function removeTaskWorktreeNow(ctx: ProjectRepoContext, task: TaskRef, path: string): Promise<RemovedWorktree> {
  await dropHalfAddedWorktrees(ctx.repoDir);
  const branch = await taskBranchName(ctx, task);
  const entry = (await listGitWorktrees(ctx.repoDir)).find((e) => samePath(e.path, path));
  const present = entry !== undefined && !entry.prunable;
  if ((await resolveCommit(ctx.repoDir, `refs/heads/${branch}`)) === undefined && !present) {
    // Done before (the branch goes last, after a merge): only git's entry may be left.
    if (entry !== undefined) await git(['worktree', 'prune'], { cwd: ctx.repoDir });
    return { removed: false, branchDeleted: false, check: { safe: true, merged: false, pushed: false, uncommitted: [] } };
  }
  const check = await removalCheck(ctx, branch, present ? path : undefined);
  if (!check.safe) {
    throw new TinyError('WORKTREE_UNSAFE', `Task ${task.identifier}'s worktree ${path} was not removed: ${check.reason}.`, {
      details: check,
      hint: check.uncommitted.length > 0 ? 'Commit (and push) or discard the changes first.' : `Push the branch ${branch} or merge it into ${ctx.repo.baseRef} first.`,
    });
  }
  let removed = false;
  if (entry !== undefined) {
    // Unlocked first: git neither removes nor prunes a locked worktree.
    if (entry.locked !== undefined) await git(['worktree', 'unlock', path], { cwd: ctx.repoDir });
    if (present) {
      // What git's removal trusts is put back as the repository records it: the worktree is the daemon's, and the check above
      // (run with the repository's own admin folder) found nothing at stake. A lock (the boundary's own while a sandboxed
      // process works there, or one an unconfined agent made) is lifted; a `.git` the agent pointed at a repository of its
      // own making (or replaced by one) names the admin folder again. Else git refuses ("cannot remove a locked working
      // tree", "'.git' does not point back") and the task would stay in Review with its worktree.
      const admin = await adminDir(ctx.repoDir, path);
      const dotGit = join(path, '.git');
      const pointer = `gitdir: ${admin}\n`;
      let pointsBack = false;
      try {
        const named = readFileSync(dotGit, 'utf8').trim().slice('gitdir: '.length);
        pointsBack = lstatSync(dotGit).isFile() && samePath(resolve(path, named), admin);
      } catch {}
      // A layered worktree is unmounted and its own folder removed first: what is left is the folder under the mount, with git's own `.git`.
      await dropLayer(path);
      if (!pointsBack) {
        rmSync(dotGit, { recursive: true, force: true });
        writeFileSync(dotGit, pointer);
      }
      // --force: the worktree files' copies and links are untracked on purpose; the check above left only them.
      await git(['worktree', 'remove', '--force', path], { cwd: ctx.repoDir });
    }
    await git(['worktree', 'prune'], { cwd: ctx.repoDir });
    removed = present;
  }
  await pruneLayers(ctx);
  let branchDeleted = false;
  if (check.merged) {
    await git(['branch', '-D', '--quiet', branch], { cwd: ctx.repoDir });
    branchDeleted = true;
  }
  return { removed, branchDeleted, check };
}

export interface AbandonedWorktree extends TaskWorktreeInfo {
  idleMs: number;
  removal: RemovalCheck;
}

export interface ListedWorktree extends TaskWorktreeInfo {
  idleMs: number;
  /** Idle for longer than `keepAbandonedDays` (or `olderThanMs`). */
  abandoned: boolean;
  /** Whether it could be removed; asked of git only for an abandoned worktree. */
  removal: RemovalCheck | undefined;
}

/** The project's worktrees, each with how long it has been idle and, when abandoned, whether it could go. Lists; removes nothing. */
export async function listProjectWorktrees(ctx: ProjectRepoContext, options: { now?: number; olderThanMs?: number } = {}): Promise<ListedWorktree[]> {
  const now = options.now ?? Date.now();
  const olderThanMs = options.olderThanMs ?? ctx.repo.keepAbandonedDays * DAY_MS;
  const listed: ListedWorktree[] = [];
  for (const info of await listTaskWorktrees(ctx)) {
    const idleMs = now - info.lastActivityAt;
    const abandoned = idleMs >= olderThanMs;
    let removal: RemovalCheck | undefined;
    if (abandoned) {
      removal =
        info.branch === undefined
          ? { safe: false, merged: false, pushed: false, uncommitted: [], reason: 'it is not on a branch' }
          : await removalCheck(ctx, info.branch, info.missing ? undefined : info.path);
    }
    listed.push({ ...info, idleMs, abandoned, removal });
  }
  return listed;
}

/**
 * The project's worktrees idle for longer than `keepAbandonedDays` (or `olderThanMs`), each with
 * whether it could be removed. Listed, never removed here.
 */
export async function abandonedWorktrees(ctx: ProjectRepoContext, options: { now?: number; olderThanMs?: number } = {}): Promise<AbandonedWorktree[]> {
  const found: AbandonedWorktree[] = [];
  for (const { abandoned, removal, ...info } of await listProjectWorktrees(ctx, options)) {
    if (abandoned && removal !== undefined) found.push({ ...info, removal });
  }
  return found;
}

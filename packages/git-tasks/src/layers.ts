/**
 * Layered checkouts (docs/git-tasks.md, "Checkouts"; docs/git-tasks-design.md, "Layered
 * worktrees"): a task's worktree as an overlay of a *base* instead of a checkout of its own, so a
 * worktree of a large repository with its dependency folder is ready in about the time a mount
 * takes, and costs on disk only what the task changes. Contract:
 * - A base is a checkout of one commit (`read-tree -u` with its own index, no `.git`) with the
 *   binding's copied folders copied in once (a copied file, `.env`, is copied into each task) (`cp --reflink=auto`, off the event loop). It is made
 *   at its final folder and is whole once its `base.json` is written (last); a base without one is
 *   made again. It is never written after that: it is every layer's lower folder.
 * - A base is named by its commit and a fingerprint of what it copied (each copied path's and its
 *   first-level entries' sizes and times): a dependency folder the person installs again makes
 *   a new base; the old one goes once no layer stands on it (`pruneBases`).
 * - A task whose start commit has no base of its own stands on the newest base of the same
 *   fingerprint when fewer than `DELTA_LIMIT` paths differ: the base's index is copied and git
 *   applies the difference (only those files land in the task's upper folder).
 * - The setup still runs per task (it may write absolute paths, which would point into the base).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync, lstatSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { TinyError } from './core.ts';
import { git } from './git.ts';
import { ensureLayerMounted, isMountPoint, LAYERS_FOLDER, type LayerBackend, layerBackend, layerPaths, readLayer, writeLayer } from './layer-mount.ts';
import { PerRepositoryQueue } from './one-at-a-time.ts';
import { type ProjectRepoContext, resolveWorktreeFiles } from './project-repo.ts';

/** Where a project's bases live, beside its worktrees. */
export const BASES_FOLDER = '.tinyagi-bases';
/** More differing paths than this between the newest base and a task's start: a base of its own is made. */
export const DELTA_LIMIT = 2_000;
const BASE_TIMEOUT_MS = 60 * 60_000;

/** How a task's worktree is checked out: its own files (`full`) or an overlay of a base (`layered`). */
export type CheckoutKind = 'layered' | 'full';

export interface CheckoutChoice {
  kind: CheckoutKind;
  backend?: LayerBackend;
  /** Why a layered checkout was not taken (absent when it was, or when `full` was asked for). */
  why?: string;
}

export interface Base {
  name: string;
  dir: string;
  tree: string;
  index: string;
  sha: string;
  fingerprint: string;
  madeAt: number;
}

/** Copies `source` to `destination` with `cp -a --reflink=auto` (a clone where the file system has one), never blocking the event loop; symlinks are copied as links. */
export function copyTree(source: string, destination: string): Promise<void> {
  return new Promise((resolveCopy, reject) => {
    const args = process.platform === 'linux' ? ['-a', '--reflink=auto', '--no-target-directory', source, destination] : ['-a', source, destination];
    execFile('cp', args, { timeout: BASE_TIMEOUT_MS, maxBuffer: 1 << 20 }, (error, _out, stderr) => {
      if (error === null) resolveCopy();
      else reject(new TinyError('INVALID_STATE', `Copying ${source} to ${destination} failed: ${String(stderr || error.message).trim()}`));
    });
  });
}

/**
 * The checkout the binding asks for on this node. `auto` is layered when an overlay can be
 * mounted here and the worktree is worth layering (the binding copies a folder, or the repository
 * has at least `AUTO_LAYER_FILES` tracked files); else full.
 */
export async function chooseCheckout(ctx: ProjectRepoContext, commit: string): Promise<CheckoutChoice> {
  const asked = ctx.repo.checkout;
  if (asked === 'full') return { kind: 'full' };
  const backend = await layerBackend(ctx.worktreeRoot).catch(() => undefined);
  if (backend === undefined) {
    const why = 'this node cannot mount an overlay here (no overlayfs it may mount, no fuse-overlayfs)';
    if (asked === 'layered')
      throw new TinyError('CONFIG_INVALID', `Project ${ctx.projectId} asks for layered worktrees, but ${why}.`, { hint: 'Install fuse-overlayfs, or set checkout to "auto" or "full".' });
    return { kind: 'full', why };
  }
  if (asked === 'layered') return { kind: 'layered', backend };
  if (copiesAFolder(ctx)) return { kind: 'layered', backend };
  const count = await trackedFiles(ctx.repoDir, commit);
  return count >= AUTO_LAYER_FILES ? { kind: 'layered', backend } : { kind: 'full', why: `the repository has ${count} tracked files and the binding copies no folder` };
}

/** `auto` layers a repository with at least this many tracked files. */
export const AUTO_LAYER_FILES = 5_000;

function copiesAFolder(ctx: ProjectRepoContext): boolean {
  return ctx.repo.files.some((f) => copiedFolder(ctx, f));
}

async function trackedFiles(repoDir: string, commit: string): Promise<number> {
  const out = await git(['ls-tree', '-r', '-z', '--name-only', commit], { cwd: repoDir, timeoutMs: 5 * 60_000 });
  return out === '' ? 0 : out.split('\0').filter((p) => p !== '').length;
}

/** A copied folder of the binding (the base holds those; a copied file, `.env`, is copied into each task as it is then). */
function copiedFolder(ctx: ProjectRepoContext, f: ProjectRepoContext['repo']['files'][number]): boolean {
  if (f.mode !== 'copy') return false;
  try {
    return lstatSync(join(ctx.repoDir, f.path)).isDirectory();
  } catch {
    return false;
  }
}

/** What the base copies, as sizes and times: the same installed folder gives the same fingerprint. */
function fingerprint(ctx: ProjectRepoContext): string {
  const hash = createHash('sha256');
  for (const f of ctx.repo.files) {
    if (!copiedFolder(ctx, f)) continue;
    const source = join(ctx.repoDir, f.path);
    hash.update(`${f.path}\0`);
    try {
      const s = lstatSync(source);
      hash.update(`${s.size}:${s.mtimeMs}:${s.ino}\0`);
      for (const entry of readdirSync(source).sort()) {
        const e = lstatSync(join(source, entry));
        hash.update(`${entry}:${e.size}:${e.mtimeMs}\0`);
      }
    } catch {
      hash.update('missing\0');
    }
  }
  return hash.digest('hex').slice(0, 12);
}

function basesFolder(ctx: ProjectRepoContext): string {
  return join(ctx.worktreeRoot, BASES_FOLDER);
}

async function readBase(dir: string, name: string): Promise<Base | undefined> {
  try {
    const made = JSON.parse(await readFile(join(dir, 'base.json'), 'utf8')) as { sha: string; fingerprint: string; madeAt: number };
    return { name, dir, tree: join(dir, 'tree'), index: join(dir, 'index'), sha: made.sha, fingerprint: made.fingerprint, madeAt: made.madeAt };
  } catch {
    return undefined;
  }
}

/** The project's whole bases, newest first. */
export async function listBases(ctx: ProjectRepoContext): Promise<Base[]> {
  const folder = basesFolder(ctx);
  const names = await readdir(folder).catch(() => [] as string[]);
  const bases: Base[] = [];
  for (const name of names) {
    const base = await readBase(join(folder, name), name);
    if (base !== undefined) bases.push(base);
  }
  return bases.sort((a, b) => b.madeAt - a.madeAt);
}

async function differingPaths(repoDir: string, from: string, to: string): Promise<number> {
  if (from === to) return 0;
  const out = await git(['diff', '--no-renames', '--name-only', '-z', from, to], { cwd: repoDir, timeoutMs: 5 * 60_000 });
  return out.split('\0').filter((p) => p !== '').length;
}

const making = new PerRepositoryQueue();

/** The base a task starting at `commit` stands on: its own, else the newest near enough, else one made now. */
export async function baseFor(ctx: ProjectRepoContext, commit: string): Promise<Base> {
  const print = fingerprint(ctx);
  const name = `${commit.slice(0, 12)}-${print}`;
  const dir = join(basesFolder(ctx), name);
  const usable = async (): Promise<Base | undefined> => {
    const bases = (await listBases(ctx)).filter((b) => b.fingerprint === print);
    const own = bases.find((b) => b.sha === commit);
    if (own !== undefined) return own;
    const newest = bases[0];
    return newest !== undefined && (await differingPaths(ctx.repoDir, newest.sha, commit)) <= DELTA_LIMIT ? newest : undefined;
  };
  const found = await usable();
  if (found !== undefined) return found;
  // One maker per base: tasks started together wait for the same one.
  return making.run(dir, async () => (await usable()) ?? (await makeBase(ctx, commit, print, name, dir)));
}

async function makeBase(ctx: ProjectRepoContext, commit: string, print: string, name: string, dir: string): Promise<Base> {
  await rm(dir, { recursive: true, force: true });
  const tree = join(dir, 'tree');
  await mkdir(tree, { recursive: true });
  const index = join(dir, 'index');
  await git(['read-tree', '--reset', '-u', commit], { cwd: ctx.repoDir, env: { GIT_INDEX_FILE: index, GIT_WORK_TREE: tree }, timeoutMs: BASE_TIMEOUT_MS });
  for (const { file, source, destination, present } of resolveWorktreeFiles(ctx.repoDir, tree, ctx.repo.files)) {
    if (!copiedFolder(ctx, file) || !present || existsSync(destination)) continue;
    await copyTree(source, destination);
  }
  const madeAt = Date.now();
  const partial = join(dir, `base.json.${process.pid}`);
  await writeFile(partial, `${JSON.stringify({ sha: commit, fingerprint: print, madeAt })}\n`);
  await rename(partial, join(dir, 'base.json'));
  return { name, dir, tree, index, sha: commit, fingerprint: print, madeAt };
}

/**
 * Records the layer of the worktree at `path` on `base` (before git makes the worktree, so a
 * crash after is finished by `populateLayer`).
 */
export async function recordLayer(path: string, base: Base, backend: LayerBackend): Promise<void> {
  await writeLayer(path, { lower: base.tree, sha: base.sha, backend, populated: false });
}

/**
 * Mounts the layered worktree and, once, gives it the files of its HEAD: the base's index is
 * copied into its admin folder and git writes only the paths that differ from the base.
 * Idempotent.
 */
export async function populateLayer(path: string, admin: string, gitOptions: { cwd: string; env?: Record<string, string> }): Promise<void> {
  await ensureLayerMounted(path);
  const record = readLayer(path);
  if (record === undefined || record.populated) return;
  await copyFile(join(record.lower, '..', 'index'), join(admin, 'index'));
  // On another commit than the base's: git writes the paths that differ (--reset: what an interrupted earlier try wrote is
  // overwritten; nobody has worked here yet). On the base's own, the index copied is already the worktree's.
  const head = (await git(['rev-parse', 'HEAD'], gitOptions)).trim();
  if (head !== record.sha) await git(['read-tree', '--reset', '-u', 'HEAD'], { ...gitOptions, timeoutMs: BASE_TIMEOUT_MS });
  await writeLayer(path, { ...record, populated: true });
}

/**
 * Removes the layers of worktrees git no longer lists (a crash between the record and `git
 * worktree add`, or inside a removal) and not mounted, then the bases no layer stands on, but the
 * newest of what the binding copies now. Run with the worktree list held (worktrees.ts): a layer
 * is recorded before its worktree is added. Returns what it removed.
 */
export async function pruneLayers(ctx: ProjectRepoContext): Promise<string[]> {
  const removed: string[] = [];
  const real = (path: string): string => {
    try {
      return realpathSync(path);
    } catch {
      return path;
    }
  };
  const listed = new Set(
    (await git(['worktree', 'list', '--porcelain', '-z'], { cwd: ctx.repoDir }))
      .split('\0')
      .filter((line) => line.startsWith('worktree '))
      .map((line) => real(line.slice('worktree '.length))),
  );
  for (const name of await readdir(join(ctx.worktreeRoot, LAYERS_FOLDER)).catch(() => [] as string[])) {
    const path = join(ctx.worktreeRoot, name);
    if (name.startsWith('.') || listed.has(real(path)) || (await isMountPoint(path))) continue;
    await rm(layerPaths(path).dir, { recursive: true, force: true });
    removed.push(`layer ${name}`);
  }
  return [...removed, ...(await pruneBases(ctx)).map((b) => `base ${b}`)];
}

async function pruneBases(ctx: ProjectRepoContext): Promise<string[]> {
  const current = fingerprint(ctx);
  const used = new Set<string>();
  const layers = await readdir(join(ctx.worktreeRoot, LAYERS_FOLDER)).catch(() => [] as string[]);
  for (const name of layers) {
    const record = readLayer(join(ctx.worktreeRoot, name));
    if (record !== undefined) used.add(record.lower);
  }
  let newestKept = false;
  const removed: string[] = [];
  // A base a killed maker left half-made (no base.json): nothing stands on it, and it may hold a whole copied folder.
  const bases = await listBases(ctx);
  for (const name of await readdir(basesFolder(ctx)).catch(() => [] as string[])) {
    const dir = join(basesFolder(ctx), name);
    if (bases.some((b) => b.name === name) || making.busy(dir)) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(`${name} (half-made)`);
  }
  for (const base of bases) {
    const newest: boolean = !newestKept && base.fingerprint === current;
    newestKept ||= newest;
    if (newest || used.has(base.tree)) continue;
    await rm(base.dir, { recursive: true, force: true });
    removed.push(base.name);
  }
  return removed;
}

/** The blocks (bytes) a worktree costs on its own: a layered one its upper folder and index, a full one its folder. */
export async function worktreeOwnBytes(path: string, admin: string | undefined): Promise<number> {
  const layered = readLayer(path) !== undefined;
  const paths = layered ? [layerPaths(path).dir, ...(admin === undefined ? [] : [join(admin, 'index')])] : [path];
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length === 0) return 0;
  return new Promise((resolveDu, reject) => {
    execFile('du', ['-s', '-c', '-B1', '-x', ...existing], { timeout: 10 * 60_000, maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error !== null) return reject(new TinyError('INVALID_STATE', `du failed on ${existing.join(', ')}: ${error.message}`));
      const total = stdout.trim().split('\n').at(-1)?.split('\t')[0];
      resolveDu(Number(total ?? 0));
    });
  });
}

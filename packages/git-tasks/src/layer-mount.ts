/**
 * The mount of a layered task worktree (docs/git-tasks.md, "Checkouts"): an overlay whose lower
 * folder is a base (a checkout of a base commit with the binding's copied files, made once and
 * never written again) and whose upper folder is the task's own, so a task's writes land in its
 * own folder and never in the base, the person's checkout or another task's worktree. Contract:
 * - A layer is recorded beside its worktree, where no agent reaches (`<worktrees>/.tinyagi-layers/
 *   <name>/layer.json`, written before the worktree is made); the record, not the worktree, says
 *   which base it stands on. The worktree's own `.git` file stays in the folder under the mount
 *   too, so while it is not mounted (after a reboot) git never takes it for a deleted worktree.
 * - `ensureLayerMounted` mounts it again when it is not (after a reboot); every git command in a
 *   task's worktree asks it first (git.ts, `worktreeGitOptions`).
 * - The backend is chosen per file system by a real probe mount: the kernel's overlayfs where this
 *   process may mount (root), else fuse-overlayfs (any user, with /dev/fuse), else none, and the
 *   binding's `auto` checkout is then a full checkout.
 * - Nothing here runs a shell: mount, umount, fuse-overlayfs and fusermount3 get their argv.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TinyError } from './core.ts';
import { PerRepositoryQueue } from './one-at-a-time.ts';

/** Which overlay mounts a layer. */
export type LayerBackend = 'overlay' | 'fuse-overlayfs';

/** Where a project's layers are recorded, beside its worktrees. */
export const LAYERS_FOLDER = '.tinyagi-layers';

/** What `layer.json` records of a layered worktree. */
export interface LayerRecord {
  /** The base's tree (the lower folder). */
  lower: string;
  /** The commit the base's tree and index hold. */
  sha: string;
  backend: LayerBackend;
  /** The worktree holds the files of its HEAD (the base's index was copied and the difference applied). */
  populated: boolean;
  /**
   * Its removal began (judged safe, then unmounted and its own folders removed): what is left, the
   * folder under the mount with git's `.git`, goes with git's removal; the record goes after it.
   */
  dropped?: true;
}

export interface LayerPaths {
  dir: string;
  record: string;
  upper: string;
  work: string;
}

/** The layer's folders of the worktree at `worktreePath` (`<worktrees>/<name>`). */
export function layerPaths(worktreePath: string): LayerPaths {
  const dir = join(dirname(worktreePath), LAYERS_FOLDER, basename(worktreePath));
  return { dir, record: join(dir, 'layer.json'), upper: join(dir, 'upper'), work: join(dir, 'work') };
}

export function readLayer(worktreePath: string): LayerRecord | undefined {
  try {
    return JSON.parse(readFileSync(layerPaths(worktreePath).record, 'utf8')) as LayerRecord;
  } catch {
    return undefined;
  }
}

export async function writeLayer(worktreePath: string, record: LayerRecord): Promise<void> {
  const { dir, record: file } = layerPaths(worktreePath);
  await mkdir(dir, { recursive: true });
  const partial = `${file}.${process.pid}`;
  await writeFile(partial, `${JSON.stringify(record)}\n`);
  await rename(partial, file);
}

function run(command: string, args: readonly string[]): Promise<{ ok: boolean; stderr: string }> {
  return new Promise((resolveRun) => {
    execFile(command, args, { timeout: 60_000 }, (error, _stdout, stderr) => resolveRun({ ok: error === null, stderr: String(stderr || error?.message || '') }));
  });
}

/** `\040` and friends in /proc/self/mountinfo. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

function realOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Whether something is mounted at `path` in this process's mount namespace. */
export async function isMountPoint(path: string): Promise<boolean> {
  const want = realOr(path);
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return info.split('\n').some((line) => {
    const point = line.split(' ')[4];
    return point !== undefined && unescapeMountPath(point) === want;
  });
}

/** overlayfs takes its folders in a comma- and colon-separated option: a path holding either cannot be given. */
function mountable(...paths: string[]): boolean {
  return paths.every((p) => !/[,:\\\n]/.test(p));
}

async function mountWith(backend: LayerBackend, lower: string, upper: string, work: string, target: string): Promise<{ ok: boolean; stderr: string }> {
  const options = `lowerdir=${lower},upperdir=${upper},workdir=${work}`;
  return backend === 'overlay' ? run('mount', ['-t', 'overlay', 'overlay', '-o', options, target]) : run('fuse-overlayfs', ['-o', options, target]);
}

async function unmountWith(backend: LayerBackend, target: string): Promise<void> {
  const first = backend === 'overlay' ? await run('umount', [target]) : await run('fusermount3', ['-u', target]);
  if (first.ok || !(await isMountPoint(target))) return;
  // Busy (a process still has its cwd there): detached now, gone when the last one leaves.
  const lazy = backend === 'overlay' ? await run('umount', ['-l', target]) : await run('fusermount3', ['-u', '-z', target]);
  if (!lazy.ok && (await isMountPoint(target))) throw new TinyError('INVALID_STATE', `The layered worktree ${target} could not be unmounted: ${first.stderr.trim()}`);
}

const probed = new Map<number, Promise<LayerBackend | undefined>>();

/**
 * The overlay this process can mount with upper folders on the file system of `root` (probed once
 * per file system with a real mount, then remembered), or undefined when none can.
 */
export async function layerBackend(root: string): Promise<LayerBackend | undefined> {
  await mkdir(join(root, LAYERS_FOLDER), { recursive: true });
  const device = (await stat(root)).dev;
  let found = probed.get(device);
  if (found === undefined) {
    found = probe(join(root, LAYERS_FOLDER));
    probed.set(device, found);
  }
  return found;
}

/** A process that is gone (a probe it left, killed between its mount and its unmount). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Probes a killed process left behind: unmounted (lazily) and removed. */
async function clearDeadProbes(folder: string): Promise<void> {
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    const m = /^\.probe-(\d+)-(overlay|fuse-overlayfs)$/.exec(name);
    if (m === null || !gone(Number(m[1]))) continue;
    const merged = join(folder, name, 'merged');
    if (await isMountPoint(merged)) await unmountWith(m[2] as LayerBackend, merged).catch(() => undefined);
    if (!(await isMountPoint(merged))) await rm(join(folder, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

async function probe(folder: string): Promise<LayerBackend | undefined> {
  if (process.platform !== 'linux') return undefined;
  await clearDeadProbes(folder);
  const candidates: LayerBackend[] = process.getuid?.() === 0 ? ['overlay', 'fuse-overlayfs'] : ['fuse-overlayfs'];
  for (const backend of candidates) {
    const dir = join(folder, `.probe-${process.pid}-${backend}`);
    await rm(dir, { recursive: true, force: true });
    const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((n) => join(dir, n)) as [string, string, string, string];
    try {
      for (const d of [lower, upper, work, merged]) await mkdir(d, { recursive: true });
      await writeFile(join(lower, 'seen'), 'base\n');
      if (!mountable(lower, upper, work, merged) || !(await mountWith(backend, lower, upper, work, merged)).ok) continue;
      try {
        await writeFile(join(merged, 'seen'), 'task\n');
        const ok = (await readFile(join(lower, 'seen'), 'utf8')) === 'base\n' && (await readFile(join(upper, 'seen'), 'utf8')) === 'task\n';
        if (ok) return backend;
      } finally {
        await unmountWith(backend, merged).catch(() => undefined);
      }
    } catch {
      // This backend cannot: the next one is tried.
    } finally {
      if (!(await isMountPoint(merged))) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
  return undefined;
}

/**
 * One mount or drop of a worktree's layer at a time: a git command's mount during a removal would
 * otherwise mount it again between the unmount and the removal of its folders.
 */
const layerTurns = new PerRepositoryQueue();

/**
 * Mounts the layered worktree at `worktreePath` if it is not mounted; false when it is not a
 * layered worktree. Its `.git` file is put in its upper folder first (where the mount shows it).
 */
export function ensureLayerMounted(worktreePath: string): Promise<boolean> {
  return layerTurns.run(worktreePath, () => mountLayer(worktreePath));
}

async function mountLayer(worktreePath: string): Promise<boolean> {
  const record = readLayer(worktreePath);
  if (record === undefined || record.dropped) return false;
  if (await isMountPoint(worktreePath)) return true;
  const { upper, work } = layerPaths(worktreePath);
  if (!existsSync(join(record.lower, '.'))) {
    throw new TinyError('INVALID_STATE', `The base ${record.lower} of the layered worktree ${worktreePath} is gone; the worktree's own changes are kept in ${upper}.`, {
      hint: 'Commit what is there from the upper folder, or remove the worktree and start the task again.',
    });
  }
  await mkdir(upper, { recursive: true });
  await mkdir(work, { recursive: true });
  const dotGit = join(worktreePath, '.git');
  if (!existsSync(join(upper, '.git')) && existsSync(dotGit)) await copyFile(dotGit, join(upper, '.git'));
  if (!mountable(record.lower, upper, work, worktreePath)) throw new TinyError('INVALID_PATH', `${worktreePath} cannot be mounted: overlay paths may not hold , : or \\.`);
  const mounted = await mountWith(record.backend, record.lower, upper, work, worktreePath);
  if (!mounted.ok && !(await isMountPoint(worktreePath))) {
    throw new TinyError('INVALID_STATE', `The layered worktree ${worktreePath} could not be mounted (${record.backend}): ${mounted.stderr.trim()}`, {
      hint: 'Check that this node can still mount an overlay (see docs/git-tasks.md, "Checkouts").',
    });
  }
  return true;
}

/**
 * Begins the removal of the layered worktree at `worktreePath`, judged safe by the caller: records
 * it as dropped, unmounts it and removes its own folders; false when it is not a layered worktree.
 * The record stays until git's removal of the worktree, after which `pruneLayers` removes it: a
 * removal a crash interrupted is finished without the emptied folder reading as deleted work.
 */
export function dropLayer(worktreePath: string): Promise<boolean> {
  return layerTurns.run(worktreePath, async () => {
    const record = readLayer(worktreePath);
    if (record === undefined) return false;
    if (!record.dropped) await writeLayer(worktreePath, { ...record, dropped: true });
    if (await isMountPoint(worktreePath)) await unmountWith(record.backend, worktreePath);
    const { upper, work } = layerPaths(worktreePath);
    // (A process that kept its cwd in a lazily unmounted layer may still write there for a moment: the removal tries again.)
    const removing = { recursive: true, force: true, maxRetries: 5, retryDelay: 50 };
    await rm(upper, removing);
    await rm(work, removing);
    return true;
  });
}

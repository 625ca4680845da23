/**
 * What a commit in a git *linked* worktree needs from the repository, for a sandboxed agent whose
 * cwd is a task's worktree (docs/sandbox.md, "A task's worktree"). The worktree's `.git` is a file
 * naming `<common>/worktrees/<name>` (its admin folder); a commit writes the index and `logs/HEAD`
 * there, its objects into `<common>/objects`, and the branch's ref and reflog into
 * `<common>/refs/heads/…` and `<common>/logs/refs/heads/…`. So, and no more:
 * - read-only: every entry of the common dir (a repository under a hidden folder, the TinyAGI
 *   home's clones, is readable inside), its config, hooks, `packed-refs`, `info/` and every other
 *   worktree, bound into a tmpfs of the sandbox's own at the common dir's path: git's
 *   `packed-refs.lock` (taken by every ref deletion) and anything else made there stay inside;
 * - read-write: the admin folder; `objects` (but `objects/pack` and `objects/info`, read-only: the
 *   packed history and the alternates list cannot be replaced); the folder of the task's branch
 *   under `refs/heads` and its reflog folder, each other entry already there bound read-only over
 *   itself (another task's branch cannot be moved or deleted);
 * - read-only over the admin folder's files git and the daemon trust, whether or not they exist
 *   yet: `commondir`, `gitdir`, `config.worktree` (made empty when missing), `locked` and
 *   TinyAGI's markers. A missing `locked` is made by the daemon with its own reason (the worktree
 *   is locked while a sandboxed process works in it; a lock the agent made would keep the
 *   person's merge from removing it); a missing marker gets an empty folder in its place (read
 *   as absent, as a missing marker is). Both are held per admin folder (by the node's sandbox host,
 *   `WorktreeHolds`) while any sandbox of it runs and removed when the last one's `release` is
 *   called or the host closes (a daemon that died meanwhile leaves
 *   them: the next sandbox there takes them over, the merge's removal lifts the lock). `HEAD`,
 *   the index and the logs stay writable: a commit, a checkout, a rebase replace them by rename,
 *   and the daemon trusts none of them (the branch it reads is `tinyagi-branch`'s).
 * The branch is the one the daemon recorded (`tinyagi-branch`, read-only inside), never HEAD (the
 * agent's to rewrite); a branch directly under `refs/heads` (a template without a folder) gets no
 * ref write, since that folder holds the base branch. Everything is derived from real paths and
 * checked against what `git worktree add` wrote: an admin folder whose `gitdir` does not name this
 * worktree, that does not lie in `<common>/worktrees` of a git dir, or that lies where the agent
 * writes anyway (its worktree, its private home: a folder of its own making), gives nothing.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { BRANCH_MARKER, IDENTITY_MARKER, SANDBOX_LOCK_REASON, SETUP_MARKER, TASK_MARKER } from './admin-markers.ts';

/** The admin folder's files a sandboxed agent may not change: git's pointers and TinyAGI's markers. */
const PROTECTED_ADMIN_FILES = ['commondir', 'gitdir', 'config.worktree', 'locked', TASK_MARKER, SETUP_MARKER, BRANCH_MARKER, IDENTITY_MARKER];
/** TinyAGI's markers: when missing, an empty folder of the daemon's stands in their place while a sandbox runs. */
const MARKERS = [TASK_MARKER, SETUP_MARKER, BRANCH_MARKER];

type Hold = { count: number; made: Array<{ path: string; kind: 'lock' | 'placeholder' }> };

function isOurLock(path: string): boolean {
  return readText(path) === SANDBOX_LOCK_REASON;
}

function isEmptyFolder(path: string): boolean {
  try {
    return lstatSync(path).isDirectory() && readdirSync(path).length === 0;
  } catch {
    return false;
  }
}

/**
 * The admin folders a sandbox host's sandboxes hold (host.ts): per folder, how many hold it and
 * what the host made there for them (the lock, the markers' stand-ins), removed when the last lets
 * go or when the host closes.
 */
export class WorktreeHolds {
  readonly #holds = new Map<string, Hold>();

  /**
   * Makes what stands in for the admin folder's missing trusted files (see the module's comment)
   * and returns the function that lets go of them. Undefined when they cannot be made.
   */
  hold(adminDir: string): (() => void) | undefined {
    let hold = this.#holds.get(adminDir);
    if (hold === undefined) {
      hold = { count: 0, made: [] };
      // Left by a daemon that died while a sandbox ran: taken over, so this hold's end removes them.
      const lock = join(adminDir, 'locked');
      if (isOurLock(lock)) hold.made.push({ path: lock, kind: 'lock' });
      for (const marker of MARKERS) if (isEmptyFolder(join(adminDir, marker))) hold.made.push({ path: join(adminDir, marker), kind: 'placeholder' });
    }
    const lock = join(adminDir, 'locked');
    if (!existsSync(lock)) {
      if (!made(() => writeFileSync(lock, `${SANDBOX_LOCK_REASON}\n`, { flag: 'wx' }), lock)) return undefined;
      if (isOurLock(lock)) hold.made.push({ path: lock, kind: 'lock' });
    }
    for (const marker of MARKERS) {
      const path = join(adminDir, marker);
      if (existsSync(path)) continue;
      if (!made(() => mkdirSync(path, { mode: 0o555 }), path)) return undefined;
      hold.made.push({ path, kind: 'placeholder' });
    }
    hold.count += 1;
    this.#holds.set(adminDir, hold);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const current = this.#holds.get(adminDir);
      if (current === undefined) return;
      current.count -= 1;
      if (current.count > 0) return;
      this.#drop(adminDir, current);
    };
  }

  /** The admin folders held now. */
  folders(): string[] {
    return [...this.#holds.keys()];
  }

  /** Lets go of every folder (the host's close: its sandboxes have ended). */
  releaseAll(): void {
    for (const [adminDir, hold] of this.#holds) this.#drop(adminDir, hold);
  }

  #drop(adminDir: string, hold: Hold): void {
    this.#holds.delete(adminDir);
    for (const { path, kind } of hold.made) {
      try {
        if (kind === 'lock' && isOurLock(path)) rmSync(path, { force: true });
        else if (kind === 'placeholder' && isEmptyFolder(path)) rmdirSync(path);
      } catch {
        // Gone already (the merge's removal took the worktree).
      }
    }
  }
}

export interface GitWorktreeMounts {
  /** The common dir, the branch (absent: no ref write). */
  commonDir: string;
  adminDir: string;
  branch?: string;
  /** The common dir: a writable tmpfs of the sandbox's own in its place (see `gitWorktreeMounts`). */
  scratch: string[];
  /** Bound read-only (each entry of the common dir, and what is bound read-only over the writable folders). */
  readable: string[];
  /** Bound read-only if still there when bwrap starts: the other entries of the branch's folders (another task's merge may delete its branch meanwhile). */
  readableIfPresent: string[];
  writable: string[];
  /** Lets go of what the daemon made in the admin folder for this sandbox (call when its process has exited). */
  release: () => void;
}

function real(path: string): string | undefined {
  try {
    return realpathSync.native(path);
  } catch {
    return undefined;
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Runs `make` (a mkdir or a file made once); true when `path` is there afterwards (made now or before). */
function made(make: () => void, path: string): boolean {
  try {
    make();
  } catch {
    // There already, or not ours to make (a repository the daemon may not write).
  }
  return existsSync(path);
}

/** `refs/heads/<folder>/<name>` with plain segments; the folder is what becomes writable. */
function branchFolder(ref: string | undefined): { ref: string; folder: string; name: string } | undefined {
  if (ref === undefined || !ref.startsWith('refs/heads/')) return undefined;
  const parts = ref.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.endsWith('.lock'))) return undefined;
  if (parts.length < 4) return undefined;
  return { ref, folder: parts.slice(0, -1).join('/'), name: parts.at(-1)! };
}

function inside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The mounts a commit in the linked worktree at `cwd` needs; undefined when `cwd` is not one (an
 * ordinary folder or repository). `agentWritable`: the folders the agent writes anyway (its cwd,
 * its private home); an admin folder there is the agent's own making and gives nothing. `holds`:
 * the sandbox host's, which keeps the lock and the markers' stand-ins while its sandboxes run.
 */
export function gitWorktreeMounts(cwd: string, agentWritable: readonly string[], holds: WorktreeHolds): GitWorktreeMounts | undefined {
  const dotGit = join(cwd, '.git');
  let pointer: string | undefined;
  try {
    if (!lstatSync(dotGit).isFile()) return undefined;
    pointer = readText(dotGit);
  } catch {
    return undefined;
  }
  const named = pointer?.startsWith('gitdir: ') ? pointer.slice('gitdir: '.length).trim() : undefined;
  const adminDir = named === undefined ? undefined : real(resolve(cwd, named));
  if (adminDir === undefined || basename(dirname(adminDir)) !== 'worktrees') return undefined;
  if ([cwd, ...agentWritable].some((dir) => inside(adminDir, real(dir) ?? dir))) return undefined;
  const commonDir = dirname(dirname(adminDir));
  // What `git worktree add` wrote: the admin folder names this worktree and the common dir above it.
  const recorded = readText(join(adminDir, 'gitdir'));
  const commonNamed = readText(join(adminDir, 'commondir'));
  if (recorded === undefined || real(dirname(recorded)) !== real(cwd)) return undefined;
  if (commonNamed === undefined || real(resolve(adminDir, commonNamed)) !== commonDir) return undefined;
  if (!existsSync(join(commonDir, 'objects')) || !existsSync(join(commonDir, 'HEAD')) || !existsSync(join(commonDir, 'refs'))) return undefined;

  // The common dir's own folder is a tmpfs of the sandbox's, each entry of it bound back read-only (objects read-write):
  // git deleting any ref, even a pseudo-ref of the worktree (a rebase's CHERRY_PICK_HEAD), takes `packed-refs.lock` there
  // and drops it again, and a file the agent makes there (a `commondir`, a `shallow`, a hook folder) never reaches the host.
  const scratch = [commonDir];
  const readable = readdirSync(commonDir)
    .filter((entry) => entry !== 'objects')
    .map((entry) => join(commonDir, entry));
  const writable = [adminDir, join(commonDir, 'objects')];
  // git reads config.worktree only with extensions.worktreeConfig; an empty one bound read-only keeps the agent from making
  // one (the daemon's git would read it). What cannot be made here is not given writable folders around it: nothing is bound.
  if (!made(() => writeFileSync(join(adminDir, 'config.worktree'), '', { flag: 'wx' }), join(adminDir, 'config.worktree'))) return undefined;
  for (const dir of ['pack', 'info']) {
    if (!made(() => mkdirSync(join(commonDir, 'objects', dir), { recursive: true }), join(commonDir, 'objects', dir))) return undefined;
    readable.push(join(commonDir, 'objects', dir));
  }
  // Read before the placeholders are made (a missing marker reads as missing either way).
  const branch = branchFolder(readText(join(adminDir, BRANCH_MARKER)));
  // `locked` and the markers exist from here on (made when missing), so each is bound read-only: none can be planted.
  const release = holds.hold(adminDir);
  if (release === undefined) return undefined;
  for (const file of PROTECTED_ADMIN_FILES) if (existsSync(join(adminDir, file))) readable.push(join(adminDir, file));
  if (branch === undefined) return { commonDir, adminDir, scratch, readable, readableIfPresent: [], writable, release };
  const readableIfPresent: string[] = [];
  for (const top of ['', 'logs']) {
    const folder = join(commonDir, top, branch.folder);
    if (!made(() => mkdirSync(folder, { recursive: true }), folder)) continue;
    writable.push(folder);
    // Another task's branch (or its reflog) in the same folder: read-only over itself, so it cannot be moved, replaced or deleted.
    for (const entry of readdirSync(folder)) if (entry !== branch.name && entry !== `${branch.name}.lock`) readableIfPresent.push(join(folder, entry));
  }
  return { commonDir, adminDir, branch: branch.ref, scratch, readable, readableIfPresent, writable, release };
}

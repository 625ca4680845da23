/**
 * What a repository holds of its task worktrees, read from git and the disk (never from the
 * daemon): `git worktree list --porcelain`, the local branches, the admin folders under
 * `.git/worktrees/`, and the folders of the worktree root. `orphansOf` names everything in it that
 * nothing accounts for: a worktree or branch that is neither the base nor one the caller accounts
 * for (a live task's, one the retention report keeps with a reason), an admin folder git would
 * prune, a folder of the worktree root that is not a worktree; and of layered worktrees
 * (git-tasks layers.ts): a layer record or a mount whose worktree git does not list, a base
 * half-made or that no layer stands on (but the newest, kept for the next task).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface Leftovers {
  /** The worktree root read. */
  root: string;
  /** Worktree paths git lists, the repository's own folder excepted. */
  worktrees: string[];
  branches: string[];
  /** `.git/worktrees/<name>` with the worktree path its `gitdir` names. */
  adminFolders: Array<{ name: string; worktree: string }>;
  /** Folders of the worktree root (dot-folders, the engine's own, excepted). */
  rootFolders: string[];
  /** `.tinyagi-layers/<name>`: the layer records, with the base tree each stands on. */
  layers: Array<{ name: string; lower: string }>;
  /** `.tinyagi-bases/<name>`: when it was made (undefined: half-made, no base.json). */
  bases: Array<{ name: string; tree: string; madeAt: number | undefined }>;
  /** Mount points at or under the worktree root (this process's mount table). */
  mounts: string[];
}

const LAYERS = '.tinyagi-layers';
const BASES = '.tinyagi-bases';
const readJson = (path: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};
const folders = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((n) => !n.startsWith('.')) : []);

const real = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
};
const run = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export function readLeftovers(repoDir: string, worktreeRoot: string): Leftovers {
  const worktrees = run(repoDir, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length))
    .filter((p) => real(p) !== real(repoDir));
  const branches = run(repoDir, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/').split('\n').filter(Boolean);
  const adminRoot = join(repoDir, '.git', 'worktrees');
  const adminFolders = existsSync(adminRoot)
    ? readdirSync(adminRoot).map((name) => {
        let worktree = '';
        try {
          worktree = dirname(readFileSync(join(adminRoot, name, 'gitdir'), 'utf8').trim());
        } catch {
          // No gitdir: git prunes it.
        }
        return { name, worktree };
      })
    : [];
  const rootFolders = existsSync(worktreeRoot)
    ? readdirSync(worktreeRoot)
        .filter((n) => !n.startsWith('.'))
        .map((n) => join(worktreeRoot, n))
    : [];
  const layers = folders(join(worktreeRoot, LAYERS)).map((name) => ({ name, lower: String(readJson(join(worktreeRoot, LAYERS, name, 'layer.json'))?.['lower'] ?? '') }));
  const bases = folders(join(worktreeRoot, BASES)).map((name) => {
    const madeAt = readJson(join(worktreeRoot, BASES, name, 'base.json'))?.['madeAt'];
    return { name, tree: join(worktreeRoot, BASES, name, 'tree'), madeAt: typeof madeAt === 'number' ? madeAt : undefined };
  });
  // mountinfo's fifth field is the mount point, with spaces and the like octal-escaped.
  const root = real(worktreeRoot);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => (line.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((point) => point === root || point.startsWith(`${root}/`));
  return { root: worktreeRoot, worktrees, branches, adminFolders, rootFolders, layers, bases, mounts };
}

/** Each leftover nothing accounts for, as `<kind> <name>`; empty when the repository is clean. */
export function orphansOf(left: Leftovers, accounted: { worktrees: ReadonlySet<string>; branches: ReadonlySet<string> }, baseBranch = 'main'): string[] {
  const accountedWorktrees = new Set([...accounted.worktrees].map(real));
  const listed = new Set(left.worktrees.map(real));
  return [
    ...left.worktrees.filter((p) => !accountedWorktrees.has(real(p))).map((p) => `worktree ${p}`),
    ...left.branches.filter((b) => b !== baseBranch && !accounted.branches.has(b)).map((b) => `branch ${b}`),
    ...left.adminFolders.filter((a) => a.worktree === '' || !existsSync(a.worktree) || !listed.has(real(a.worktree))).map((a) => `admin folder .git/worktrees/${a.name}`),
    ...left.rootFolders.filter((f) => !listed.has(real(f))).map((f) => `folder ${f}`),
    ...orphanedLayers(left, listed),
  ];
}

function orphanedLayers(left: Leftovers, listed: ReadonlySet<string>): string[] {
  const stoodOn = new Set(left.layers.map((l) => l.lower));
  const newest = Math.max(...left.bases.map((b) => b.madeAt ?? Number.NEGATIVE_INFINITY));
  return [
    ...left.layers.filter((l) => !listed.has(real(join(left.root, l.name)))).map((l) => `layer record ${LAYERS}/${l.name}`),
    ...left.bases.filter((b) => b.madeAt === undefined).map((b) => `base ${BASES}/${b.name} (half-made)`),
    ...left.bases.filter((b) => b.madeAt !== undefined && b.madeAt !== newest && !stoodOn.has(b.tree)).map((b) => `base ${BASES}/${b.name}`),
    ...left.mounts.filter((m) => !listed.has(m)).map((m) => `mount ${m}`),
  ];
}

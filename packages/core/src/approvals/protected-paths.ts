/**
 * Files inside a workspace that decide what runs, or what a CLI allows itself
 * (docs/approvals.md, "Files that control execution"): writing one is asked even where edits of
 * the workspace are allowed, since the next allowed command (`git status` runs `core.fsmonitor`),
 * or the CLI itself, would obey it. Matched at any depth of the workspace, whatever the case of
 * their letters (`.GIT/config` is `.git/config` on macOS and Windows).
 *
 * A repository git would discover is not only a `.git` folder: any folder holding `HEAD`,
 * `objects` and `refs` is a bare repository to `git status` run in it, its `config` obeyed. So
 * a file named `HEAD` is protected wherever it is (no folder becomes a repository without one),
 * and so is everything in a folder that already holds a `HEAD` (its `config`, hooks, `objects`,
 * `refs`), looked up on disk.
 */
import { lstatSync } from 'node:fs';
import { posix } from 'node:path';
import type { RuntimeKind } from '@tinyagi/client/contract';
import { runtimeKinds } from '../kinds/runtimes/index.ts';
import { globMatch } from './glob.ts';

const FIXED_PATHS: readonly string[] = [
  // git: its config (core.fsmonitor, core.pager, diff drivers), hooks, and a `.git` file pointing elsewhere.
  '.git',
  '.git/**',
  '.husky/**',
  // What makes a folder a repository git discovers (see above).
  'HEAD',
  // (Each agent CLI's own project configuration, its settings, hooks and MCP servers, is its runtime's `home.projectConfig`: lowerPatterns.)
  // The test runners' own settings: a runner or wrapper program (cargo), the script shell and prefix (npm, yarn, pnpm), pnpm's hooks.
  '.cargo/config',
  '.cargo/config.toml',
  '.npmrc',
  '.yarnrc',
  '.yarnrc.yml',
  '.pnpmfile.cjs',
  '.pnpmfile.mjs',
  'pnpm-workspace.yaml',
  // direnv runs it on entering the folder.
  '.envrc',
];

let patterns: { kinds: readonly RuntimeKind[]; lower: string[] } | undefined;

/** The protected paths, lower-case: the fixed ones and every registered runtime's project configuration (plugins' included). */
function lowerPatterns(): string[] {
  const kinds = runtimeKinds.list();
  if (patterns === undefined || patterns.kinds.length !== kinds.length || patterns.kinds.some((kind, i) => kind !== kinds[i])) {
    patterns = { kinds, lower: [...FIXED_PATHS, ...kinds.flatMap((kind) => kind.home?.projectConfig ?? [])].map((p) => p.toLowerCase()) };
  }
  return patterns.lower;
}
/** Files one request may look up (a `HEAD`, a `.git`); past them a path counts as protected and a repository as found (asked), so a request of many deep paths stays cheap. */
const MAX_HEAD_LOOKUPS = 2_000;

/** Whether `path` exists (as anything, a link too), looked up once per request in `seen`; undefined past the lookup budget. */
function exists(path: string, seen: Map<string, boolean>): boolean | undefined {
  let found = seen.get(path);
  if (found !== undefined) return found;
  if (seen.size >= MAX_HEAD_LOOKUPS) return undefined;
  try {
    found = lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    found = false;
  }
  seen.set(path, found);
  return found;
}

/**
 * True when git started in `folder` (absolute, resolved, inside `root`) would find a repository
 * other than the workspace's own, whose `config` may then run code (`core.fsmonitor` runs at
 * `git status`). git's discovery walks up from the folder and takes the first folder holding a
 * `.git` (a folder or a file naming one) or a bare repository's files (`HEAD`, `objects`, `refs`).
 * So any folder below the workspace holding a `.git` or a `HEAD` is another repository, committed
 * (a bare repository's files arrive with a clone) or planted; the workspace's own `.git`, whose
 * files the agent may not write, is not. A workspace holding a `HEAD` and no `.git` is one too.
 */
export function findsOtherRepository(folder: string, root: string, seen: Map<string, boolean> = new Map()): boolean {
  for (let dir = folder; ; dir = posix.dirname(dir)) {
    const dotGit = exists(`${dir}/.git`, seen);
    const head = dotGit === false || dir !== root ? exists(`${dir}/HEAD`, seen) : false;
    if (dotGit === undefined || head === undefined) return true;
    if (dir === root) return head;
    if (dotGit || head || dir === '/') return true;
  }
}

/**
 * True when `path` (absolute, inside `root`) is a protected path at any depth, letters in
 * any case, or lies in a folder (the workspace's own included) that holds a `HEAD`. `heads`
 * keeps what was looked up, for the paths of one request (at most MAX_HEAD_LOOKUPS files).
 */
export function isProtectedPath(path: string, root: string, heads: Map<string, boolean> = new Map()): boolean {
  const rel = path === root ? '' : path.slice(root.length + (root === '/' ? 0 : 1));
  if (rel === '') return false;
  const lower = rel.toLowerCase();
  if (lowerPatterns().some((p) => globMatch(p, lower, 'path') || globMatch(`**/${p}`, lower, 'path'))) return true;
  const names = rel.split('/');
  let folder = root;
  for (let i = 0; i < names.length; i++) {
    if (exists(`${folder}/HEAD`, heads) !== false) return true;
    folder = folder === '/' ? `/${names[i]}` : `${folder}/${names[i]}`;
  }
  return false;
}

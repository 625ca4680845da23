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
/** Folders one request may look up for a `HEAD`; past them a path counts as protected (asked), so a request of many deep paths stays cheap. */
const MAX_HEAD_LOOKUPS = 2_000;

/** A folder that holds a `HEAD` (what git looks for first when it asks whether a folder is a repository). */
function holdsHead(folder: string): boolean {
  try {
    return lstatSync(`${folder}/HEAD`, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/**
 * True when `path` (absolute, inside `root`) is a protected path at any depth, letters in
 * any case, or lies in a folder (the workspace's own included) that holds a `HEAD`. `heads`
 * keeps what was looked up, for the paths of one request (at most MAX_HEAD_LOOKUPS folders).
 */
export function isProtectedPath(path: string, root: string, heads: Map<string, boolean> = new Map()): boolean {
  const rel = path === root ? '' : path.slice(root.length + (root === '/' ? 0 : 1));
  if (rel === '') return false;
  const lower = rel.toLowerCase();
  if (lowerPatterns().some((p) => globMatch(p, lower, 'path') || globMatch(`**/${p}`, lower, 'path'))) return true;
  const names = rel.split('/');
  let folder = root;
  for (let i = 0; i < names.length; i++) {
    let head = heads.get(folder);
    if (head === undefined) {
      if (heads.size >= MAX_HEAD_LOOKUPS) return true;
      head = holdsHead(folder);
      heads.set(folder, head);
    }
    if (head) return true;
    folder = folder === '/' ? `/${names[i]}` : `${folder}/${names[i]}`;
  }
  return false;
}

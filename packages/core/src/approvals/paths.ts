/**
 * Where a request's paths lead (docs/approvals.md), for the permission rules: each path resolved
 * the way the system opens it, from the root down, following every symbolic link (a dangling one
 * too: writing through it creates its target), `..` taken after the links before it. The work is
 * bounded per request: past MAX_PATH_LOOKUPS file-system lookups, or for a path longer than
 * MAX_PATH_LENGTH, a path is resolved by its text only and marked unresolved (no rule allows it),
 * so a request of thousands of deep paths costs milliseconds, not seconds of a blocked daemon.
 */
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { posix } from 'node:path';

/** File-system lookups (lstat, readlink) one request may cost. */
export const MAX_PATH_LOOKUPS = 2_000;
/** Longer paths are not looked up. */
export const MAX_PATH_LENGTH = 4_096;
/** Symbolic links followed in one path (the system's own limit, ELOOP). */
const MAX_LINKS = 40;

export interface ResolvedPath {
  path: string;
  /** False when the path was resolved by its text only (the lookup budget spent, too long, a link loop). */
  resolved: boolean;
}

/** A walk through a path's names: the real path so far, whether it exists, the links followed. */
interface Walk {
  real: string;
  exists: boolean;
  links: number;
}

/** A walk that starts at the root. */
const ROOT_WALK: Walk = { real: '/', exists: true, links: 0 };

const MISSING = Symbol('missing');
const PLAIN = Symbol('plain');
const LOOKUPS_SPENT = Symbol('spent');

/** Resolves paths for one request, within one lookup budget (a path looked up once is not looked up again). */
export class PathResolver {
  #budget: number;
  readonly #home: string;
  /** Each path looked up: the target of a link, MISSING, or PLAIN (a file or folder). */
  readonly #seen = new Map<string, string | typeof MISSING | typeof PLAIN>();
  /** Each folder relative paths were resolved from: where the walk of its names ended. */
  readonly #folders = new Map<string, Walk | undefined>();

  constructor(home: string = process.env.HOME ?? '/', budget = MAX_PATH_LOOKUPS) {
    this.#home = home;
    this.#budget = budget;
  }

  /** `p` (absolute, `~/…`, or relative to `from`, itself absolute and resolved). */
  resolve(p: string, from: string): ResolvedPath {
    const expanded = p === '~' ? this.#home : p.startsWith('~/') ? posix.join(this.#home, p.slice(2)) : p;
    let walk = p.length > MAX_PATH_LENGTH ? undefined : expanded.startsWith('/') ? ROOT_WALK : this.#folderWalk(from);
    if (walk !== undefined) walk = this.#walk(expanded, walk);
    return walk === undefined ? { path: posix.resolve(from, expanded), resolved: false } : { path: walk.real, resolved: true };
  }

  /** True when `p` (from `from`) is a folder, or may be one: it could not be resolved or looked up within the budget. */
  isFolder(p: string, from: string): boolean {
    const r = this.resolve(p, from);
    if (!r.resolved) return true;
    if (--this.#budget < 0) return true;
    try {
      return statSync(r.path, { throwIfNoEntry: false })?.isDirectory() === true;
    } catch {
      return false;
    }
  }

  /**
   * Where the walk of `from`'s names leads (the same for every path relative to it), walked once
   * per folder: a line of many words relative to one folder costs a walk of each word's own names.
   * Undefined when it ends unresolved (the lookup budget spent, a link loop), which stays so.
   */
  #folderWalk(from: string): Walk | undefined {
    if (this.#folders.has(from)) return this.#folders.get(from);
    const walk = this.#walk(from, ROOT_WALK);
    this.#folders.set(from, walk);
    return walk;
  }

  /** Walks the names of `path` on from `start`, following links as the system does; undefined when it cannot (budget, link loop). */
  #walk(path: string, start: Walk): Walk | undefined {
    const pending = path.includes('/') ? path.split('/').reverse() : [path];
    let { real, exists, links } = start;
    while (pending.length > 0) {
      const name = pending.pop()!;
      if (name === '' || name === '.') continue;
      if (name === '..') {
        real = posix.dirname(real);
        continue;
      }
      const next = real === '/' ? `/${name}` : `${real}/${name}`;
      if (!exists) {
        real = next;
        continue;
      }
      const found = this.#lookUp(next);
      if (found === LOOKUPS_SPENT) return undefined;
      if (found === MISSING) exists = false;
      const link = typeof found === 'string' ? found : undefined;
      if (link === undefined) {
        real = next;
        continue;
      }
      if (++links > MAX_LINKS) return undefined;
      if (link.startsWith('/')) real = '/';
      pending.push(...link.split('/').reverse());
    }
    return { real, exists, links };
  }

  #lookUp(path: string): string | typeof MISSING | typeof PLAIN | typeof LOOKUPS_SPENT {
    const seen = this.#seen.get(path);
    if (seen !== undefined) return seen;
    if (--this.#budget < 0) return LOOKUPS_SPENT;
    let found: string | typeof MISSING | typeof PLAIN = PLAIN;
    try {
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (stat === undefined) found = MISSING;
      else if (stat.isSymbolicLink()) found = readlinkSync(path);
    } catch {
      // Not a folder on the way (ENOTDIR), or not readable: nothing below it exists for us.
      found = MISSING;
    }
    this.#seen.set(path, found);
    return found;
  }
}

export function isInside(path: string, root: string): boolean {
  if (root === '/') return path.startsWith('/');
  return path.startsWith(root) && (path.length === root.length || path[root.length] === '/');
}

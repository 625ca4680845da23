import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivateTempDir {
  /** A file only the current user can read (0600) with this content; returns its absolute path. */
  write(name: string, content: string): Promise<string>;
}

let processDir: string | undefined;

/**
 * One directory per process in the OS temp dir (mkdtemp makes it 0700), removed when the
 * process exits; created on first use. A per-run directory cost a mkdtemp and a recursive
 * remove (lstat, readdir, unlink, rmdir) for every message (docs/profiling.md, fix 23).
 */
function privateDir(): string {
  if (processDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'tinyagi-run-'));
    processDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return processDir;
}

/**
 * This process's private temp directory, if it was made: the boundary binds the files of it a
 * sandboxed CLI is given (its arguments and environment name them) into the sandbox's own /tmp.
 */
export function privateTempRoot(): string | undefined {
  return processDir;
}

/** A path in this process's private temp directory (0700), for a file the caller writes itself. */
export function privateTempPath(name: string): string {
  return join(privateDir(), name);
}

interface SharedFile {
  path: string;
  writtenAt: number;
  /** Runs using the file now: it is deleted only when evicted with none left. */
  users: number;
  /** Replaced by a newer copy while in use: deleted when its last user ends. */
  retired?: boolean;
}

/** Files kept for reuse: an agent's system prompt is the same from one message to the next. */
const MAX_KEPT = 32;
/** A kept file older than this is written again under a new name (temp cleaners remove old files). */
const REUSE_MS = 60 * 60_000;
/**
 * Keyed by name, then content (the prompt cache hands out the same string, whose hash V8 keeps:
 * a lookup does not rehash the prompt); Map order is least recently used first.
 */
const kept = new Map<string, Map<string, SharedFile>>();
let keptCount = 0;
let nextFileId = 0;

function acquire(name: string, content: string): SharedFile {
  let byContent = kept.get(name);
  if (byContent === undefined) {
    byContent = new Map();
    kept.set(name, byContent);
  }
  const now = Date.now();
  let file = byContent.get(content);
  if (file !== undefined) {
    // Most recently used goes last; an old one is replaced below (still deleted once unused).
    byContent.delete(content);
    if (now - file.writtenAt < REUSE_MS) byContent.set(content, file);
    else {
      keptCount--;
      if (file.users === 0) unlinkQuietly(file.path);
      else file.retired = true;
      file = undefined;
    }
  }
  if (file === undefined) {
    file = { path: writePrivate(name, content), writtenAt: now, users: 1 };
    byContent.set(content, file);
    keptCount++;
    evict();
    return file;
  }
  file.users++;
  return file;
}

function writePrivate(name: string, content: string): string {
  for (let attempt = 1; ; attempt++) {
    const path = join(privateDir(), `${process.pid}-${nextFileId++}-${name}`);
    try {
      writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
      return path;
    } catch (err) {
      if (attempt > 1 || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // The directory itself was removed (a temp cleaner): make a new one.
      processDir = undefined;
    }
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone (a temp cleaner): nothing to free.
  }
}

/** Drops the least recently used files nobody is using once more than MAX_KEPT are kept. */
function evict(): void {
  for (const byContent of kept.values()) {
    for (const [content, file] of byContent) {
      if (keptCount <= MAX_KEPT) return;
      if (file.users > 0) continue;
      byContent.delete(content);
      keptCount--;
      unlinkQuietly(file.path);
    }
  }
}

/**
 * Private files for one run (system prompts, generated CLI config): they stay out of argv (ps,
 * the 128 KiB per-argument limit) and out of the agent's workspace. A file with the same name
 * and content as one a recent run used is reused instead of written again (a write and an
 * unlink per message before, measured under B0); a file is never changed once written, a run
 * holds the files it got until it ends, and at most 32 unused ones are kept until the process
 * exits (the directory is removed then).
 */
export async function withPrivateTempDir<T>(fn: (dir: PrivateTempDir) => Promise<T>): Promise<T> {
  const held: SharedFile[] = [];
  try {
    return await fn({
      write(name, content) {
        const file = acquire(name, content);
        held.push(file);
        return Promise.resolve(file.path);
      },
    });
  } finally {
    for (const file of held) {
      file.users--;
      if (file.retired && file.users === 0) unlinkQuietly(file.path);
    }
    if (keptCount > MAX_KEPT) evict();
  }
}

/**
 * Retention for `<home>/files/` (inbound attachments, long-reply files): entries whose mtime is
 * older than the cutoff are deleted, then the subdirectories that were old and are now empty.
 *
 * Contract:
 * - Symbolic links below the directory are never followed: an old link is removed as a link
 *   (its target is untouched) and a linked directory is never entered, so nothing outside
 *   `files/` is read or deleted. Only the directory itself may be a link (a user who moved
 *   files/ to another disk).
 * - The directory itself is kept, even when empty.
 * - A file that vanishes or cannot be removed is skipped and counted in `errors`; the sweep goes on.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface FileSweepResult {
  /** Files and links removed. */
  files: number;
  bytes: number;
  /** Empty subdirectories removed. */
  dirs: number;
  /** Entries that could not be removed (permissions, races). */
  errors: number;
}

export async function sweepOldFiles(root: string, beforeTs: number): Promise<FileSweepResult> {
  const result: FileSweepResult = { files: 0, bytes: 0, dirs: 0, errors: 0 };
  try {
    if (!(await stat(root)).isDirectory()) return result;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return result;
    throw err;
  }
  await sweepDirectory(root, beforeTs, result);
  return result;
}

/** Returns true when the directory is empty afterwards. */
async function sweepDirectory(dir: string, beforeTs: number, result: FileSweepResult): Promise<boolean> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return true;
    result.errors++;
    return false;
  }
  let left = entries.length;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    // Dirent types come from lstat semantics: a link to a directory is not a directory here.
    if (entry.isDirectory()) {
      if (await sweepSubdirectory(path, beforeTs, result)) left--;
      continue;
    }
    try {
      const info = await lstat(path);
      if (info.mtimeMs >= beforeTs) continue;
      await unlink(path);
      result.files++;
      if (info.isFile()) result.bytes += info.size;
      left--;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') left--;
      else result.errors++;
    }
  }
  return left === 0;
}

/** Sweeps a subdirectory, then removes it if it was old and is now empty. Returns true when removed. */
async function sweepSubdirectory(dir: string, beforeTs: number, result: FileSweepResult): Promise<boolean> {
  let mtimeMs: number;
  try {
    // Read before sweeping: deleting its entries makes the directory's mtime "now".
    mtimeMs = (await lstat(dir)).mtimeMs;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return true;
    result.errors++;
    return false;
  }
  const empty = await sweepDirectory(dir, beforeTs, result);
  if (!empty || mtimeMs >= beforeTs) return false;
  try {
    await rmdir(dir);
    result.dirs++;
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return true;
    // ENOTEMPTY: something was written into it meanwhile; it stays.
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') result.errors++;
    return false;
  }
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

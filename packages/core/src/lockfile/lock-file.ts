/**
 * Exclusive lock files shared by every lock in the project (settings writers, the daemon's
 * single-instance lock). Each lock decides for itself when a holder is stale; the mechanics of
 * creating, reading and taking over are here once.
 *
 * Contract:
 * - `createLockFile` creates the file with O_EXCL (mode 0600) and writes `content`; false if it
 *   already exists.
 * - `takeOverStaleLock` renames the observed stale lock aside and checks what it moved: if a
 *   live holder replaced the stale lock between the read and the rename, it is put back, so two
 *   processes racing for one stale lock never both win.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';

export type StaleCheck = (path: string, raw: string) => boolean;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** The lock file's text, or undefined when there is none. */
export function readLockFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** Creates the lock exclusively; false when another holder's file exists. Other errors throw. */
export function createLockFile(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Removes a stale lock whose text was `observed`, unless a live holder replaced it meanwhile. */
export function takeOverStaleLock(path: string, observed: string, isStale: StaleCheck): void {
  const aside = `${path}.stale-${process.pid}-${randomUUID()}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if (errno(err) === 'ENOENT') return;
    throw err;
  }
  const moved = readLockFile(aside);
  if (moved !== undefined && moved !== observed && !isStale(aside, moved)) {
    try {
      linkSync(aside, path);
    } catch {
      // A newer lock exists; it stands.
    }
  }
  removeLockFile(aside);
}

export function removeLockFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
}

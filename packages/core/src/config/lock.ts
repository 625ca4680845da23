/**
 * A cross-process lock file (`<file>.lock`) that serialises settings writers.
 *
 * Contract:
 * - Acquired with O_EXCL; holds `{ pid, host, created_at, token }`.
 * - A lock is stale when its process is gone (same host) or it is older than `staleMs`
 *   (default 30 s; settings writes take milliseconds). A stale lock is taken over by renaming it
 *   aside and checking that what was moved is the stale lock that was observed; if a live lock
 *   replaced it meanwhile, it is put back.
 * - Waiting is short retries with jitter up to a deadline, then CONFIG_LOCKED.
 * - Release removes the file only if it still holds our token.
 */
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { TinyError, errorMessage } from '../errors.ts';
import { createLockFile, readLockFile, removeLockFile, takeOverStaleLock } from '../lockfile/lock-file.ts';

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
export const DEFAULT_STALE_LOCK_MS = 30_000;

export interface LockOptions {
  /** How long to wait for another writer before CONFIG_LOCKED. */
  timeoutMs?: number;
  /** Age after which a lock is stale even if its process still exists. */
  staleMs?: number;
}

interface LockInfo {
  pid?: number;
  host?: string;
  created_at?: number;
  token?: string;
}

export interface HeldLock {
  readonly path: string;
  readonly token: string;
  /** True while the lock file still carries our token (false if it was taken over as stale). */
  stillHeld(): boolean;
  release(): void;
}

function parseInfo(raw: string): LockInfo | undefined {
  try {
    const value = JSON.parse(raw) as unknown;
    return typeof value === 'object' && value !== null ? (value as LockInfo) : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isStale(path: string, raw: string, staleMs: number): boolean {
  const info = parseInfo(raw);
  let createdAt = info?.created_at;
  if (typeof createdAt !== 'number') {
    // Empty or half-written lock: judge by the file's age (its writer may be mid-write).
    try {
      createdAt = statSync(path).mtimeMs;
    } catch {
      return false;
    }
  }
  if (Date.now() - createdAt > staleMs) return true;
  return typeof info?.pid === 'number' && info.host === hostname() && !processAlive(info.pid);
}

function lockedError(path: string, raw: string | undefined, timeoutMs: number): TinyError {
  const info = raw === undefined ? undefined : parseInfo(raw);
  const holder = info?.pid !== undefined ? ` by process ${info.pid}${info.host ? ` on ${info.host}` : ''}` : '';
  return new TinyError('CONFIG_LOCKED', `Settings are locked${holder} (${path}); gave up after ${timeoutMs} ms.`, {
    hint: 'Another TinyAGI process is writing the settings. Retry in a moment; if no TinyAGI process is running, delete the lock file.',
    details: { lockFile: path, holder: info },
  });
}

export async function acquireLock(path: string, options: LockOptions = {}): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const staleMs = options.staleMs ?? DEFAULT_STALE_LOCK_MS;
  const token = randomUUID();
  const content = JSON.stringify({ pid: process.pid, host: hostname(), created_at: Date.now(), token } satisfies LockInfo);
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    let created: boolean;
    try {
      created = createLockFile(path, content);
    } catch (err) {
      throw new TinyError('CONFIG_IO', `Cannot create lock file ${path}: ${errorMessage(err)}`, { details: { lockFile: path }, cause: err });
    }
    if (created) return makeHeld(path, token);
    const raw = readLockFile(path);
    if (raw === undefined) continue; // released between our open and read
    if (isStale(path, raw, staleMs)) {
      takeOverStaleLock(path, raw, (p, r) => isStale(p, r, staleMs));
      continue;
    }
    if (Date.now() >= deadline) throw lockedError(path, raw, timeoutMs);
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 50);
  }
}

function makeHeld(path: string, token: string): HeldLock {
  const stillHeld = (): boolean => {
    const raw = readLockFile(path);
    return raw !== undefined && parseInfo(raw)?.token === token;
  };
  return {
    path,
    token,
    stillHeld,
    release() {
      if (stillHeld()) removeLockFile(path);
    },
  };
}

/** Runs `fn` while holding the lock file `path`. */
export async function withLock<T>(path: string, fn: (lock: HeldLock) => T | Promise<T>, options?: LockOptions): Promise<T> {
  const lock = await acquireLock(path, options);
  try {
    return await fn(lock);
  } finally {
    lock.release();
  }
}

/**
 * The single-instance lock of a TINYAGI_HOME: `daemon.lock`, created exclusively by the daemon
 * and holding a JSON record (pid, start time, API URL once listening).
 *
 * Contract:
 * - At most one live daemon holds the lock of a home; a second one gets DAEMON_RUNNING with
 *   the holder's pid and URL.
 * - A lock whose pid is dead (kill -9, power loss) or is not a `tinyagi run` process is stale
 *   and taken over: it is renamed aside and checked, so two starters racing for a stale lock
 *   never both win.
 * - `release` removes the file only while it still carries our token.
 */
import { randomUUID } from 'node:crypto';
import { renameSync, statSync, writeFileSync } from 'node:fs';
import { createLockFile, readLockFile, removeLockFile, takeOverStaleLock } from '../core-internal.ts';
import { CliError } from '../output/cli-error.ts';
import { isDaemonProcess } from './process-check.ts';

export interface DaemonRecord {
  pid: number;
  startedAt: number;
  token: string;
  /** Set once the API listens. */
  apiUrl?: string;
  version?: string;
  /** The address the API listens on, and whether that is beyond loopback (`--listen-any`). */
  listenHost?: string;
  remote?: boolean;
}

export interface InstanceLock {
  readonly path: string;
  readonly record: DaemonRecord;
  /** Rewrites the record (e.g. with the API URL) while holding the lock. */
  update(patch: Partial<Pick<DaemonRecord, 'apiUrl' | 'version' | 'listenHost' | 'remote'>>): void;
  release(): void;
}

/** A lock file being written right now is empty for a moment; give its writer this long. */
const HALF_WRITTEN_GRACE_MS = 2000;

function parseRecord(raw: string): DaemonRecord | undefined {
  try {
    const value = JSON.parse(raw) as Partial<DaemonRecord> | null;
    if (value === null || typeof value !== 'object' || typeof value.pid !== 'number') return undefined;
    return value as DaemonRecord;
  } catch {
    return undefined;
  }
}

/** The record of the running daemon holding the lock, or undefined (no lock, or a stale one). */
export function readRunningDaemon(path: string): DaemonRecord | undefined {
  const raw = readLockFile(path);
  const record = raw === undefined ? undefined : parseRecord(raw);
  return record !== undefined && isDaemonProcess(record.pid) ? record : undefined;
}

function isStale(path: string, raw: string): boolean {
  const record = parseRecord(raw);
  if (record === undefined) {
    try {
      return Date.now() - statSync(path).mtimeMs > HALF_WRITTEN_GRACE_MS;
    } catch {
      return false;
    }
  }
  return !isDaemonProcess(record.pid);
}

export function runningError(record: DaemonRecord | undefined, path: string): CliError {
  const where = record?.apiUrl ? ` at ${record.apiUrl}` : '';
  const pid = record ? ` (pid ${record.pid})` : '';
  return new CliError('DAEMON_RUNNING', `TinyAGI is already running${pid}${where} for this home.`, {
    hint: `Use \`tinyagi status\` to inspect it or \`tinyagi stop\` to stop it. (Lock: ${path})`,
  });
}

export async function acquireInstanceLock(path: string, version?: string): Promise<InstanceLock> {
  const record: DaemonRecord = { pid: process.pid, startedAt: Date.now(), token: randomUUID(), ...(version ? { version } : {}) };
  for (let attempt = 0; attempt < 50; attempt++) {
    if (createLockFile(path, JSON.stringify(record))) return held(path, record);
    const raw = readLockFile(path);
    if (raw === undefined) continue;
    if (isStale(path, raw)) {
      takeOverStaleLock(path, raw, isStale);
      continue;
    }
    const holder = parseRecord(raw);
    if (holder !== undefined) throw runningError(holder, path);
    await new Promise((r) => setTimeout(r, 50)); // half-written by a starter right now
  }
  throw runningError(parseRecord(readLockFile(path) ?? ''), path);
}

function held(path: string, record: DaemonRecord): InstanceLock {
  const ours = (): boolean => parseRecord(readLockFile(path) ?? '')?.token === record.token;
  return {
    path,
    record,
    update(patch) {
      if (!ours()) return;
      Object.assign(record, patch);
      const temp = `${path}.${process.pid}.tmp`;
      writeFileSync(temp, JSON.stringify(record), { mode: 0o600 });
      renameSync(temp, path);
    },
    release() {
      if (ours()) removeLockFile(path);
    },
  };
}

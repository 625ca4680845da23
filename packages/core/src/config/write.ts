/**
 * Writing settings.json.
 *
 * Contract:
 * - Validated first; an invalid value never reaches the disk (CONFIG_INVALID lists every problem).
 * - Atomic: a temp file in the same directory is written, fsynced and renamed over the target,
 *   then the directory is fsynced. Readers see the old file or the new one, never a mix.
 * - Mode 0600 (the file holds API keys and bot tokens).
 * - Bounded: a write that would make the file larger than MAX_SETTINGS_BYTES is refused, and
 *   values nested deeper than MAX_SETTINGS_DEPTH never pass validation.
 * - Serialised across processes by `<file>.lock` (see ./lock.ts). updateSettings reads the file
 *   under the lock, so concurrent updates from several processes are never lost.
 * - updateSettings refuses to touch a file that is currently broken; writeSettings replaces it.
 * - Environment overrides (./env.ts) and masked secrets (./secrets.ts) are never written.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TinyError, errorMessage, isTinyError } from '../errors.ts';
import { stripEnvOverrides } from './env.ts';
import { migrateRuntimeNames } from './runtime-names.ts';
import { migrateMockReplies } from './mock-replies.ts';
import { parseSettingsText, readSettingsText } from './load.ts';
import { withLock, type HeldLock, type LockOptions } from './lock.ts';
import { formatSettingsPath, getPath } from './object-path.ts';
import type { Env } from './paths.ts';
import type { Settings } from './schema.ts';
import { findMaskedSecrets } from './secrets.ts';
import { parseSettingsChange, settingsChangeRefusedError } from './validate.ts';

export interface WriteSettingsOptions extends LockOptions {
  /** The environment whose overrides must not be persisted (default process.env). */
  env?: Env;
}

/** settings.json is read whole, often: no write may grow it past this. */
export const MAX_SETTINGS_BYTES = 4 * 1024 * 1024;

export function settingsLockPath(file: string): string {
  return `${file}.lock`;
}

function ioError(file: string, action: string, err: unknown): TinyError {
  return new TinyError('CONFIG_IO', `Cannot ${action} ${file}: ${errorMessage(err)}`, {
    hint: 'Check free disk space and the permissions of the settings directory.',
    details: { file, code: (err as NodeJS.ErrnoException).code },
    cause: err,
  });
}

function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms cannot open or fsync a directory; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeFileAtomic(file: string, text: string, lock: HeldLock): void {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${process.pid}.${randomUUID()}.tmp`);
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(temp, 0o600); // in case the umask or an inherited ACL changed it
    if (!lock.stillHeld()) {
      throw new TinyError('CONFIG_LOCKED', `Lost the settings lock while writing ${file} (another process took it over as stale).`, {
        hint: 'Retry the change.',
        details: { file, lockFile: lock.path },
      });
    }
    renameSync(temp, file);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // Never created, or already renamed.
    }
    throw isTinyError(err) ? err : ioError(file, 'write', err);
  }
  fsyncDirectory(dir);
}

/** The file's current valid content, or undefined when it is missing or broken. */
function readCurrentIfValid(file: string): Settings | undefined {
  const text = readSettingsText(file);
  if (text === undefined) return undefined;
  try {
    return parseSettingsText(text, file);
  } catch {
    return undefined;
  }
}

function assertNoNewMasks(file: string, next: Settings, readOnDisk: () => Settings | undefined): void {
  const masked = findMaskedSecrets(next);
  if (masked.length === 0) return;
  const onDisk = readOnDisk();
  const paths = masked.filter((path) => getPath(onDisk, path) !== getPath(next, path));
  if (paths.length === 0) return;
  throw settingsChangeRefusedError(
    file,
    paths.map((path) => ({
      path: formatSettingsPath(path),
      message: 'A masked secret ("…") would replace the stored value',
      hint: 'Send the real value, or leave the key out to keep the stored one (stripUnchangedMasks does this for API bodies).',
    })),
  );
}

/**
 * The checks of every settings write, to a file or to the database's shared row (`target` names
 * it in errors): no new masked secret, environment overrides put back to the stored values, the
 * size limit. `readStored` gives the current valid content and is only called when needed.
 * Returns what to store and its text.
 */
export function prepareSettingsWrite(target: string, settings: Settings, readStored: () => Settings | undefined, env: Env): { persisted: Settings; text: string } {
  let cached: { value: Settings | undefined } | undefined;
  const stored = (): Settings | undefined => {
    cached ??= { value: readStored() };
    return cached.value;
  };
  assertNoNewMasks(target, settings, stored);
  // Old runtime names and the mock's old key are rewritten by every write, never on read (./runtime-names.ts, ./mock-replies.ts).
  const persisted = stripEnvOverrides(migrateMockReplies(migrateRuntimeNames(settings)), stored, env);
  const text = `${JSON.stringify(persisted, null, 2)}\n`;
  if (Buffer.byteLength(text) > MAX_SETTINGS_BYTES) {
    throw settingsChangeRefusedError(target, [
      {
        path: '',
        message: `The settings would take ${(Buffer.byteLength(text) / 1024 / 1024).toFixed(1)} MiB, more than the ${MAX_SETTINGS_BYTES / 1024 / 1024} MiB limit`,
        hint: "Remove large values you do not need (long system prompts belong in the agent's AGENTS.md).",
      },
    ]);
  }
  return { persisted, text };
}

/** Writes validated `settings`; `readOnDisk` gives the file's current valid content and is only called when needed. */
function commit(file: string, settings: Settings, readOnDisk: () => Settings | undefined, lock: HeldLock, env: Env): Settings {
  const { persisted, text } = prepareSettingsWrite(file, settings, readOnDisk, env);
  writeFileAtomic(file, text, lock);
  return persisted;
}

function prepareDirectory(file: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw ioError(dirname(file), 'create the directory', err);
  }
}

/** Validates and atomically replaces the settings file. Returns what was written. */
export async function writeSettings(file: string, settings: unknown, options: WriteSettingsOptions = {}): Promise<Settings> {
  // Validated before waiting for the lock: a bad value fails fast and touches nothing.
  const valid = parseSettingsChange(settings, file);
  prepareDirectory(file);
  return withLock(settingsLockPath(file), (lock) => commit(file, valid, () => readCurrentIfValid(file), lock, options.env ?? process.env), options);
}

/**
 * Read-modify-write under the lock: `mutate` gets the file's current settings (`{}` when it does
 * not exist) and returns the new settings. Throws, leaving the file untouched, when the current
 * file is broken or the result is invalid. Keep `mutate` quick: the lock is held while it runs
 * (an async `mutate` that outlives the stale-lock age fails with CONFIG_LOCKED instead of writing).
 */
export async function updateSettings(file: string, mutate: (current: Settings) => unknown | Promise<unknown>, options: WriteSettingsOptions = {}): Promise<Settings> {
  prepareDirectory(file);
  return withLock(
    settingsLockPath(file),
    async (lock) => {
      const text = readSettingsText(file);
      const current = text === undefined ? undefined : parseSettingsText(text, file);
      const next = parseSettingsChange(await mutate(structuredClone(current ?? {})), file);
      return commit(file, next, () => current, lock, options.env ?? process.env);
    },
    options,
  );
}

/**
 * File confinement: files that leave the system (attachments handed to channels, files an agent
 * sends with `[send_file: …]`) must be inside allowed roots — an agent's workspace and
 * TINYAGI_HOME/files. The reference accepted any absolute path, so an API caller or a
 * prompt-injected agent could mail out ~/.ssh/id_rsa or settings.json. Symlinks are resolved
 * before the check, so a link inside a workspace cannot point out of it.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { TinyError } from '../errors.ts';
import { isInside } from './paths.ts';

export interface RefusedFile {
  file: string;
  reason: string;
}

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Splits `files` into real paths inside a root and refusals with their reason. Never throws. */
export function partitionFiles(files: readonly string[], roots: readonly string[]): { allowed: string[]; refused: RefusedFile[] } {
  // Most answers send no file: no realpath of the roots for them.
  if (files.length === 0) return { allowed: [], refused: [] };
  const realRoots = roots.map(realOrResolved);
  const allowed: string[] = [];
  const refused: RefusedFile[] = [];
  for (const file of files) {
    if (!isAbsolute(file)) {
      refused.push({ file, reason: 'is not an absolute path' });
      continue;
    }
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      refused.push({ file, reason: 'does not exist' });
      continue;
    }
    if (realRoots.some((root) => isInside(real, root))) allowed.push(real);
    else refused.push({ file, reason: 'is outside the allowed directories' });
  }
  return { allowed, refused };
}

/** Returns the real paths; throws INVALID_PATH for the first refused file (API input). */
export function confineFiles(files: readonly string[], roots: readonly string[]): string[] {
  const { allowed, refused } = partitionFiles(files, roots);
  const first = refused[0];
  if (!first) return allowed;
  if (first.reason === 'is not an absolute path') {
    throw new TinyError('INVALID_PATH', `File path "${first.file}" is not absolute.`, { hint: 'Send absolute paths inside the agent workspace or TINYAGI_HOME/files.' });
  }
  if (first.reason === 'does not exist') throw new TinyError('INVALID_PATH', `File "${first.file}" does not exist.`, { details: { file: first.file } });
  throw new TinyError('INVALID_PATH', `File "${first.file}" is outside the agent workspaces and TINYAGI_HOME/files.`, {
    hint: 'Copy the file into the agent workspace or TINYAGI_HOME/files first.',
    details: { file: first.file },
  });
}

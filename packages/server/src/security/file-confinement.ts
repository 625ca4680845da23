/**
 * Files sent to channels must be inside an agent's workspace or TINYAGI_HOME/files (the
 * reference accepted any absolute path, so an API caller could mail out ~/.ssh/id_rsa).
 * Symlinks are resolved before the check.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { TinyError, workspaceRoot, type Settings } from '@tinyagi/core';

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Returns the real paths; throws INVALID_PATH (missing file, or outside every root). */
export function confineFiles(files: readonly string[], roots: readonly string[]): string[] {
  const realRoots = roots.map(realOrResolved);
  return files.map((file) => {
    if (!isAbsolute(file)) {
      throw new TinyError('INVALID_PATH', `File path "${file}" is not absolute.`, { hint: 'Send absolute paths inside the agent workspace or TINYAGI_HOME/files.' });
    }
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      throw new TinyError('INVALID_PATH', `File "${file}" does not exist.`, { details: { file } });
    }
    if (!realRoots.some((root) => isInside(real, root))) {
      throw new TinyError('INVALID_PATH', `File "${file}" is outside the agent workspaces and TINYAGI_HOME/files.`, {
        hint: 'Copy the file into the agent workspace or TINYAGI_HOME/files first.',
        details: { file },
      });
    }
    return real;
  });
}

/** Where files sent to or from channels may live: the workspace root (every agent's directory) and TINYAGI_HOME/files. */
export function allowedFileRoots(settings: Settings, home: string, env: Readonly<Record<string, string | undefined>>): string[] {
  return [workspaceRoot(settings, env), join(home, 'files')];
}

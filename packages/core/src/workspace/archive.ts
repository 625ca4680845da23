/**
 * Removing an agent archives its workspace (a move, never a delete). Deleting is a separate,
 * explicit call that only works on directories TinyAGI provisioned itself.
 */
import { homedir } from 'node:os';
import { cp, lstat, mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, join, parse, resolve } from 'node:path';
import { TinyError } from '../errors.ts';
import { assertValidId } from '../ids.ts';
import { errnoCode } from './errno.ts';
import { isInside, requireAbsolute } from './paths.ts';
import { WORKSPACE_PATHS } from './provision.ts';

export interface ArchiveWorkspaceInput {
  /** Absolute path of the workspace to archive. */
  dir: string;
  /** Absolute directory that receives archives; created when missing. Must not be inside `dir`. */
  archiveRoot: string;
  /** Names the archive; defaults to the directory name (workspaces are `<workspace.path>/<agent_id>`). */
  agentId?: string;
  now?: Date;
}

export interface ArchiveResult {
  /** Absolute path of the archived copy: `<archiveRoot>/<agentId>-<timestamp>[-n]`. */
  archivedTo: string;
}

export async function archiveWorkspace(input: ArchiveWorkspaceInput): Promise<ArchiveResult> {
  const dir = resolve(requireAbsolute(input.dir, 'Workspace directory'));
  const archiveRoot = resolve(requireAbsolute(input.archiveRoot, 'Archive directory'));
  const agentId = assertValidId(input.agentId ?? basename(dir), 'agent id');
  await requireDirectory(dir);
  if (isInside(archiveRoot, dir)) {
    throw new TinyError('INVALID_PATH', `Cannot archive "${dir}" into "${archiveRoot}", which is inside it.`, {
      hint: 'Choose an archive directory outside the workspace.',
    });
  }

  await mkdir(archiveRoot, { recursive: true });
  const stamp = (input.now ?? new Date()).toISOString().replace(/[:.]/g, '-');
  const target = await reserveArchiveDir(join(archiveRoot, `${agentId}-${stamp}`));
  try {
    // rename replaces the empty directory reserved above, atomically.
    await rename(dir, target);
  } catch (err) {
    if (errnoCode(err) !== 'EXDEV') {
      await rmdir(target).catch(() => undefined);
      throw err;
    }
    // Different file system: copy everything first; the original goes only after a full copy.
    await cp(dir, target, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true, force: false, errorOnExist: true });
    await rm(dir, { recursive: true });
  }
  return { archivedTo: target };
}

/** mkdir without `recursive` fails on an existing path, so two archives never share a name. */
async function reserveArchiveDir(base: string): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? base : `${base}-${n}`;
    try {
      await mkdir(candidate);
      return candidate;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
  }
}

export interface RemoveWorkspaceInput {
  dir: string;
  /** Must be literally `true`: deleting a workspace is never a default. */
  purge: true;
}

/**
 * Deletes a workspace for good. Refuses unless `purge: true` is passed and the directory carries
 * the provisioning marker, so a mistaken path (a user's project set as working_directory, the
 * home directory) is never deleted. Returns false when the directory does not exist.
 */
export async function removeWorkspace(input: RemoveWorkspaceInput): Promise<boolean> {
  if ((input as { purge?: unknown }).purge !== true) {
    throw new TinyError('INVALID_STATE', `Refusing to delete workspace "${input.dir}" without { purge: true }.`, {
      hint: 'Archive the workspace instead, or pass { purge: true } to delete it permanently.',
    });
  }
  const dir = resolve(requireAbsolute(input.dir, 'Workspace directory'));
  if (dir === parse(dir).root || dir === resolve(homedir())) {
    throw new TinyError('INVALID_PATH', `Refusing to delete "${dir}": it is not an agent workspace.`);
  }
  try {
    await lstat(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
  try {
    await stat(join(dir, WORKSPACE_PATHS.marker));
  } catch {
    throw new TinyError('INVALID_PATH', `Refusing to delete "${dir}": it was not provisioned by TinyAGI (no ${WORKSPACE_PATHS.marker}).`, {
      hint: 'Delete the directory by hand if you really mean to.',
    });
  }
  await rm(dir, { recursive: true });
  return true;
}

async function requireDirectory(dir: string): Promise<void> {
  let isDir = false;
  try {
    isDir = (await lstat(dir)).isDirectory();
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  if (!isDir) {
    throw new TinyError('INVALID_PATH', `Workspace "${dir}" does not exist or is not a directory.`);
  }
}

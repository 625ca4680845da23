/**
 * The workspace of an agent being created or changed, prepared before its settings are written:
 * the edited settings are validated and the workspace directory is created first, so an edit
 * whose workspace cannot exist (a path under a file, no permission) is refused and leaves
 * settings.json as it was. Used by the API and by the CLI without a daemon.
 */
import type { Env } from '../config/paths.ts';
import { agentWorkspaceDir } from '../config/paths.ts';
import type { Settings } from '../config/schema.ts';
import { parseSettingsChange } from '../config/validate.ts';
import { TinyError } from '../errors.ts';
import { provisionWorkspace } from './provision.ts';

/** File system answers that mean the workspace path itself is unusable (a mistake in the edit, not a fault). */
const UNUSABLE_PATH_CODES = new Set(['ENOTDIR', 'EEXIST', 'EACCES', 'EPERM', 'EROFS', 'ENAMETOOLONG', 'ELOOP']);

/** Returns whether anything was created; throws CONFIG_INVALID or INVALID_PATH (nothing written). */
export async function prepareAgentWorkspace(next: Settings, agentId: string, settingsFile: string, env: Env): Promise<boolean> {
  const dir = agentWorkspaceDir(parseSettingsChange(next, settingsFile), agentId, env);
  try {
    return (await provisionWorkspace({ dir, agentId })).created.length > 0;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined || !UNUSABLE_PATH_CODES.has(code)) throw err;
    throw new TinyError('INVALID_PATH', `Cannot create the workspace of agent "${agentId}" at ${dir} (${code}).`, {
      hint: 'Choose a working_directory (or workspace.path) that can be created and written to.',
      details: { path: dir, code },
    });
  }
}

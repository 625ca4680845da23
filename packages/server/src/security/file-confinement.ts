/**
 * Files sent to channels through the API must be inside an agent's workspace or
 * TINYAGI_HOME/files (core's `confineFiles`, which resolves symlinks first).
 */
import { join } from 'node:path';
import type { Settings } from '@tinyagi/core';
import { workspaceRoot } from '../core-internal.ts';

export { confineFiles } from '../core-internal.ts';

/** Where files sent to or from channels may live: the workspace root (every agent's directory) and TINYAGI_HOME/files. */
export function allowedFileRoots(settings: Settings, home: string, env: Readonly<Record<string, string | undefined>>): string[] {
  return [workspaceRoot(settings, env), join(home, 'files')];
}

/**
 * How a git-native task's check ended, in a few words (docs/git-tasks.md): what the CLI's
 * `tinyagi task` and TinyOffice's task page both print, so the two surfaces say it alike.
 * Types only from the contract: no zod at run time.
 */
import type { TaskCheckResult } from './contract/git-tasks.ts';

/** `passed`, `exit 2`, `timed out after 30 s`, `could not start (ENOENT)`, `ended by SIGKILL`. */
export function checkResultText(c: TaskCheckResult): string {
  if (c.ok) return 'passed';
  if (c.timedOut) return `timed out after ${Math.round((c.timeoutMs ?? c.durationMs) / 1000)} s`;
  if (c.spawnError !== undefined) return `could not start (${c.spawnError})`;
  return c.exitCode !== null ? `exit ${c.exitCode}` : `ended by ${c.signal ?? 'a signal'}`;
}

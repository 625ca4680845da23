/**
 * How a git-native task's check ended, in a few words (docs/git-tasks.md): what the CLI's
 * `tinyagi task` and TinyOffice's task page both print, so the two surfaces say it alike.
 * Types only from the contract: no zod at run time.
 */
import type { TaskAutoMergeRefusal, TaskCheckResult, TaskGit, TaskMerge } from './contract/git-tasks.ts';

/** `passed`, `exit 2`, `timed out after 30 s`, `could not start (ENOENT)`, `ended by SIGKILL`. */
export function checkResultText(c: TaskCheckResult): string {
  if (c.ok) return 'passed';
  if (c.timedOut) return `timed out after ${Math.round((c.timeoutMs ?? c.durationMs) / 1000)} s`;
  if (c.spawnError !== undefined) return `could not start (${c.spawnError})`;
  return c.exitCode !== null ? `exit ${c.exitCode}` : `ended by ${c.signal ?? 'a signal'}`;
}

/** What a person's merge of a task whose checks have not passed is warned of. */
export const UNCHECKED_MERGE_WARNING = 'Its checks have not passed: a merge now brings work nobody checked into the base.';

/** The refused auto-merge a task shows: only while it waits in Review unmerged (an older one is over). */
export function autoMergeRefusalOf(task: { status: string; git?: TaskGit | null }): TaskAutoMergeRefusal | undefined {
  return task.status === 'review' && task.git?.merge === undefined ? task.git?.autoMergeRefused : undefined;
}

/** When a refused auto-merge is tried again, `time` being `retryAt` as the surface writes times. */
export function autoMergeRetryText(time: string): string {
  return `Tried again when the branch or the base moves, or at ${time}; or merge it yourself.`;
}

/** What a person answered a task's rounds request, in a few words: what every surface says instead of "needs a person" once answered. */
export const ROUNDS_ANSWERED: Readonly<Record<string, string>> = { more_rounds: 'more rounds given', take_over: 'taken over', stop: 'stopped by a person' };

/** Who merged a task: `by a person` or `by auto-merge` (a merge recorded before this was kept: a person's). */
export function mergedByText(by: TaskMerge['by']): string {
  return by === 'auto_merge' ? 'by auto-merge' : 'by a person';
}

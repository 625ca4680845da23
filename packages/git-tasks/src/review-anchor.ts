/**
 * A review comment's anchor against a task's diff (docs/git-tasks.md, "Review comments"): which
 * file of the diff it is on, and the text of its line when the diff shows that line. Contract:
 * - The anchor's path must be a file of the diff: its path, or (side `old`) a renamed file's old
 *   path. A deleted file has no `new` side and an added file no `old` one. Anything else is
 *   INVALID_PATH naming the path. The line is a line number (≥ 1) and is not checked against the
 *   file's length: the diff shows only the hunks, and a comment may be on a line outside them.
 * - A line's text is read from the file's patch by the client's `patchLineText` (the reading
 *   TinyOffice's diff view uses too); a line outside the hunks, a binary file or a patch left out by
 *   the diff's bounds gives none.
 */
import type { ReviewAnchor, TaskDiff, TaskDiffFile } from '@tinyagi/client/contract';
import { TinyError } from './core.ts';

type AnchorPlace = Pick<ReviewAnchor, 'path' | 'line' | 'side'>;

/** The diff's file the anchor is on (the module's contract), or INVALID_PATH. */
export function anchoredFile(diff: Pick<TaskDiff, 'files' | 'omitted' | 'tip'>, anchor: AnchorPlace, identifier: string): TaskDiffFile {
  const file = diff.files.find((f) => f.path === anchor.path) ?? (anchor.side === 'old' ? diff.files.find((f) => f.oldPath === anchor.path) : undefined);
  if (file === undefined) {
    const listed = diff.files.map((f) => f.path);
    throw new TinyError(
      'INVALID_PATH',
      `"${anchor.path}" is not a file of task ${identifier}'s diff (at ${diff.tip.slice(0, 12)})${listed.length === 0 ? ': the diff has no files' : `; its files: ${listed.slice(0, 10).join(', ')}${listed.length > 10 ? ', …' : ''}`}.`,
      {
        details: { path: anchor.path },
        hint:
          diff.omitted.files > 0
            ? `The diff lists its first ${diff.files.length} files only (${diff.omitted.files} left out); a review comment goes on a listed file.`
            : 'A review comment goes on a line of a file the task changed (GET /api/tasks/:id/diff lists them); comment on the task as a whole without an anchor.',
      },
    );
  }
  if (anchor.side === 'new' && file.status === 'deleted') {
    throw new TinyError('INVALID_PATH', `"${anchor.path}" is deleted by task ${identifier}: it has only the base's lines.`, {
      details: { path: anchor.path },
      hint: 'Comment on the base\'s line (side "old", `--old` in the CLI).',
    });
  }
  if (anchor.side === 'old' && file.status === 'added') {
    throw new TinyError('INVALID_PATH', `"${anchor.path}" is added by task ${identifier}: the base has no lines of it.`, {
      details: { path: anchor.path },
      hint: 'Comment on the branch\'s line (side "new", the default).',
    });
  }
  return file;
}

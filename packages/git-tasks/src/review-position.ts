/**
 * Review comments follow the code (docs/git-tasks.md, "comments follow the code"): a comment's line
 * is followed from the branch's commit it was written against to the branch's tip with git's own
 * diff between the two commits. Contract:
 * - The stored anchor is never rewritten; `anchor.current` is computed when a comment is read.
 * - A line before a changed hunk keeps its number, a line after it moves by what the hunk added or
 *   removed, a line inside it is outdated (`line: null`, as GitHub marks it). A renamed file is
 *   followed to its new path (git's rename detection); a deleted file's comment, or a binary file's
 *   once the file changed, is outdated.
 * - A comment on the base's line (side `old`) keeps its line: the branch's commits do not change
 *   the base. A comment whose commit git cannot read (a rewritten branch, a pruned object) is
 *   outdated. A comment already written against the tip runs no git.
 * - git runs with argument arrays (git.ts: `GIT_OPTIONAL_LOCKS=0`, read-only) in the repository,
 *   not in the agent's worktree, with literal pathspecs: once per commit for the files that
 *   changed, once per commented file that changed for its hunks (`-U0`).
 */
import type { ReviewAnchor, TaskGit } from '@tinyagi/client/contract';
import type { CommentRecord } from './core.ts';
import { parseRawNumstat } from './diff.ts';
import { git, resolveCommit } from './git.ts';

/** A hunk of a zero-context diff: the old file's lines `oldStart..+oldCount` became the new file's `newStart..+newCount`. */
export interface LineHunk {
  oldStart: number;
  oldCount: number;
  newStart: number;
  newCount: number;
}

/** The hunks of one file's `-U0` patch, from its `@@` headers (a count left out is 1). */
export function zeroContextHunks(patch: string): LineHunk[] {
  const hunks: LineHunk[] = [];
  for (const m of patch.matchAll(/^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/gm)) {
    hunks.push({ oldStart: Number(m[1]), oldCount: m[2] === undefined ? 1 : Number(m[2]), newStart: Number(m[3]), newCount: m[4] === undefined ? 1 : Number(m[4]) });
  }
  return hunks;
}

/**
 * The old file's `line` in the new file, across `hunks` (in the patch's order), or null when the
 * line is inside a changed hunk. A hunk of no old lines (`oldCount` 0) inserts after `oldStart`.
 */
export function followLine(hunks: readonly LineHunk[], line: number): number | null {
  let shift = 0;
  for (const h of hunks) {
    const lastOld = h.oldCount === 0 ? h.oldStart : h.oldStart + h.oldCount - 1;
    if (line > lastOld) {
      shift += h.newCount - h.oldCount;
      continue;
    }
    if (h.oldCount > 0 && line >= h.oldStart) return null;
    break;
  }
  return line + shift;
}

/** The branch's tip a task's comments are followed to: its branch's commit, or a merged task's recorded tip; undefined when it has none. */
export async function taskTip(repoDir: string, taskGit: TaskGit | null | undefined): Promise<string | undefined> {
  if (taskGit?.merge) return taskGit.merge.tip;
  if (!taskGit?.branch) return undefined;
  return resolveCommit(repoDir, `refs/heads/${taskGit.branch}`);
}

const DIFF = ['--literal-pathspecs', '-c', 'core.quotePath=false', 'diff', '--no-color', '-M'] as const;

/** Where each of `anchors` (on the branch's side) written against `from` is at `tip`; null line for outdated. */
async function followFrom(repoDir: string, from: string, tip: string, paths: ReadonlySet<string>): Promise<Map<string, { path: string; line: (line: number) => number | null }>> {
  const moves = new Map<string, { path: string; line: (line: number) => number | null }>();
  let entries: ReturnType<typeof parseRawNumstat>;
  try {
    entries = parseRawNumstat(await git([...DIFF, '--raw', '--numstat', '-z', from, tip, '--'], { cwd: repoDir }));
  } catch {
    // The comment's commit is gone (the branch rewritten and pruned): its place cannot be followed.
    for (const path of paths) moves.set(path, { path, line: () => null });
    return moves;
  }
  for (const path of paths) {
    // A file renamed away and another added at its path: the comment follows its own file, the rename.
    const entry = entries.find((e) => e.oldPath === path) ?? entries.find((e) => e.path === path && e.status !== 'added');
    if (entry === undefined) continue;
    if (entry.status === 'deleted' || entry.binary) {
      moves.set(path, { path: entry.path, line: () => null });
      continue;
    }
    if (entry.additions === 0 && entry.deletions === 0) {
      moves.set(path, { path: entry.path, line: (l) => l });
      continue;
    }
    const patch = await git([...DIFF, '-U0', from, tip, '--', path, entry.path], { cwd: repoDir });
    const hunks = zeroContextHunks(patch);
    moves.set(path, { path: entry.path, line: (l) => followLine(hunks, l) });
  }
  return moves;
}

/**
 * The comments with `anchor.current` set (the module's contract) at `tip`; comments without an
 * anchor unchanged. One `--raw` diff per distinct commit, one `-U0` diff per changed file.
 */
export async function followComments<C extends Pick<CommentRecord, 'anchor'>>(repoDir: string, tip: string, comments: readonly C[]): Promise<C[]> {
  const byCommit = new Map<string, Set<string>>();
  for (const c of comments) {
    const a = c.anchor;
    if (a === null || a.side === 'old' || a.commitSha === null || a.commitSha === tip) continue;
    const paths = byCommit.get(a.commitSha) ?? new Set<string>();
    paths.add(a.path);
    byCommit.set(a.commitSha, paths);
  }
  const moved = new Map<string, Awaited<ReturnType<typeof followFrom>>>();
  for (const [from, paths] of byCommit) moved.set(from, await followFrom(repoDir, from, tip, paths));
  return comments.map((c) => {
    const a = c.anchor;
    if (a === null) return c;
    const move = a.side === 'old' || a.commitSha === null ? undefined : moved.get(a.commitSha)?.get(a.path);
    const current: NonNullable<ReviewAnchor['current']> = move === undefined ? { path: a.path, line: a.line, commitSha: tip } : { path: move.path, line: move.line(a.line), commitSha: tip };
    return { ...c, anchor: { ...a, current } };
  });
}

/**
 * A task's branch against its base, for review (docs/git-tasks.md, "The diff"). Contract:
 * - git runs with argument arrays only (git.ts); nothing is written to the repository.
 * - The diff is `git diff base...tip` (from the merge base, so commits that reached the base
 *   meanwhile are not shown as the task's), renames detected; the commits are `base..tip`,
 *   newest first.
 * - Bounded: a file's patch longer than `maxFileBytes` is cut at a line and marked; once
 *   `maxTotalBytes` of patches would be passed, a file keeps its counts but no patch; past
 *   `maxFiles` files are not listed. `omitted` says what was left out.
 * - A task whose branch does not exist yet (never started, or its worktree step failed) is
 *   INVALID_STATE. A merged task (`task.git.merge`, its branch gone) is read from the recorded
 *   merge: from `baseBefore` (the base's commit the merge moved) to the
 *   tip; else, for a merge commit, from its first parent (the base before it). A merge recorded
 *   without `baseBefore` that is not a merge commit of its own (a fast-forward recorded earlier, or
 *   a tip found already in the base) is INVALID_STATE saying so, rather than a guess.
 */
import type { TaskDiff, TaskDiffFile, TaskGit } from '@tinyagi/client/contract';
import { TinyError } from './core.ts';
import { baseCommit } from './branch-state.ts';
import { git, resolveCommit } from './git.ts';
import type { ProjectRepoContext } from './project-repo.ts';

export const DIFF_LIMITS = { maxFiles: 1000, maxFileBytes: 256 * 1024, maxTotalBytes: 2 * 1024 * 1024 } as const;

export interface DiffLimits {
  maxFiles: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

interface DiffRange {
  branch: string;
  base: string;
  tip: string;
  merged: boolean;
}

/** The range a task's diff covers (the module's contract), or INVALID_STATE. */
async function taskDiffRange(ctx: ProjectRepoContext, identifier: string, taskGit: TaskGit | null | undefined): Promise<DiffRange> {
  const merge = taskGit?.merge;
  if (merge?.baseBefore !== undefined) {
    return { branch: merge.branch, base: await mergeBase(ctx.repoDir, merge.baseBefore, merge.tip), tip: merge.tip, merged: true };
  }
  if (merge !== undefined) {
    const parents = (await git(['rev-list', '--parents', '-n', '1', merge.commit], { cwd: ctx.repoDir }).catch(() => '')).trim().split(' ').slice(1);
    if (merge.commit === merge.tip || parents.length < 2 || parents[1] !== merge.tip) {
      throw new TinyError(
        'INVALID_STATE',
        `Task ${identifier} was merged into ${merge.baseRef} at ${merge.commit.slice(0, 12)} without a merge commit of its own (${merge.method === 'ff' ? 'a fast-forward' : 'its tip was in the base already'}); the base before the merge was not recorded, so its diff cannot be told apart from the base's history.`,
        { hint: `Read it with git: git log ${merge.commit.slice(0, 12)} in ${ctx.repoDir}.` },
      );
    }
    return { branch: merge.branch, base: await mergeBase(ctx.repoDir, parents[0]!, merge.tip), tip: merge.tip, merged: true };
  }
  const branch = taskGit?.branch;
  const tip = branch ? await resolveCommit(ctx.repoDir, `refs/heads/${branch}`) : undefined;
  if (!branch || tip === undefined) {
    throw new TinyError('INVALID_STATE', `Task ${identifier} has no branch yet${branch ? ` (${branch} is not in ${ctx.repoDir})` : ''}, so it has no diff.`, {
      hint: 'Move it to In progress: its worktree and branch are made then.',
    });
  }
  return { branch, base: await mergeBase(ctx.repoDir, await baseCommit(ctx), tip), tip, merged: false };
}

async function mergeBase(cwd: string, a: string, b: string): Promise<string> {
  return (await git(['merge-base', a, b], { cwd })).trim();
}

interface FileEntry {
  path: string;
  oldPath: string | null;
  status: TaskDiffFile['status'];
  binary: boolean;
  additions: number;
  deletions: number;
}

const STATUS: Record<string, TaskDiffFile['status']> = { A: 'added', D: 'deleted', R: 'renamed', M: 'modified', T: 'modified', C: 'added' };

/** `--raw --numstat -z` in one call: each file's raw line (status, paths), then each file's counts, in the same order. */
export function parseRawNumstat(out: string): FileEntry[] {
  const fields = out.split('\0');
  const entries: FileEntry[] = [];
  let i = 0;
  // Raw lines: ":mode mode sha sha STATUS\0path\0[newpath\0]".
  while (i < fields.length && fields[i]!.startsWith(':')) {
    const letter = fields[i]!.split(' ').at(-1)!.charAt(0);
    const twoPaths = letter === 'R' || letter === 'C';
    const first = fields[i + 1]!;
    const second = twoPaths ? fields[i + 2]! : undefined;
    entries.push({ path: second ?? first, oldPath: twoPaths && letter === 'R' ? first : null, status: STATUS[letter] ?? 'modified', binary: false, additions: 0, deletions: 0 });
    i += twoPaths ? 3 : 2;
  }
  // Numstat: "add\tdel\tpath\0" or, for a rename, "add\tdel\t\0old\0new\0"; "-\t-" for a binary file.
  for (const entry of entries) {
    const head = fields[i] ?? '';
    const [add, del, path] = head.split('\t');
    i += path === '' ? 3 : 1;
    entry.binary = add === '-';
    entry.additions = entry.binary ? 0 : Number(add);
    entry.deletions = entry.binary ? 0 : Number(del);
  }
  return entries;
}

/** The whole patch split into one chunk per file, in git's order. */
function splitPatch(patch: string): string[] {
  if (patch === '') return [];
  return patch.split(/^(?=diff --git )/m);
}

/** Cuts `text` to at most `max` bytes at a line end (at least one line's worth is never promised). */
function cutAtLine(text: string, max: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= max) return text;
  const head = buf.subarray(0, max).toString('utf8');
  const nl = head.lastIndexOf('\n');
  return nl > 0 ? head.slice(0, nl + 1) : '';
}

/** The task's commits beyond its base and its diff (the module's contract). */
export async function taskDiff(ctx: ProjectRepoContext, task: { identifier: string; git: TaskGit | null | undefined }, limits: DiffLimits = DIFF_LIMITS): Promise<TaskDiff> {
  const range = await taskDiffRange(ctx, task.identifier, task.git);
  const cwd = ctx.repoDir;
  const diffArgs = ['-c', 'core.quotePath=false', 'diff', '--no-color', '-M'];
  const [log, summary, patch] = await Promise.all([
    git(['log', '--format=%H%x1f%ct%x1f%an%x1f%s', `${range.base}..${range.tip}`, '--'], { cwd }),
    git([...diffArgs, '--raw', '--numstat', '-z', range.base, range.tip, '--'], { cwd }),
    git([...diffArgs, range.base, range.tip, '--'], { cwd }),
  ]);
  const commits = log
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [sha, time, author, subject] = line.split('\x1f');
      return { sha: sha!, committedAt: Number(time) * 1000, author: author ?? '', subject: subject ?? '' };
    });
  const entries = parseRawNumstat(summary);
  const chunks = splitPatch(patch);
  const files: TaskDiffFile[] = [];
  let total = 0;
  let omittedBytes = 0;
  let truncated = false;
  entries.slice(0, limits.maxFiles).forEach((entry, index) => {
    const chunk = entry.binary ? '' : (chunks[index] ?? '');
    const size = Buffer.byteLength(chunk, 'utf8');
    // Past the total cap a patch is left out whole (half a header helps nobody); the per-file cap cuts at a line.
    const kept = total + Math.min(size, limits.maxFileBytes) > limits.maxTotalBytes ? '' : cutAtLine(chunk, limits.maxFileBytes);
    const keptBytes = Buffer.byteLength(kept, 'utf8');
    const cut = size - keptBytes;
    total += keptBytes;
    omittedBytes += cut;
    if (cut > 0) truncated = true;
    files.push({ ...entry, patch: kept, truncated: cut > 0, omittedBytes: cut });
  });
  const omittedFiles = Math.max(0, entries.length - limits.maxFiles);
  for (const [index] of entries.slice(limits.maxFiles).entries()) omittedBytes += Buffer.byteLength(chunks[limits.maxFiles + index] ?? '', 'utf8');
  return {
    branch: range.branch,
    baseRef: ctx.repo.baseRef,
    base: range.base,
    tip: range.tip,
    merged: range.merged,
    commits,
    files,
    truncated: truncated || omittedFiles > 0,
    omitted: { files: omittedFiles, bytes: omittedBytes },
  };
}

/**
 * `tinyagi task show <task> --diff | --stat` (docs/cli.md, docs/git-tasks.md): a task's diff as the
 * daemon gives it (`GET /api/tasks/:id/diff`), with its review comments under their lines as they
 * are at the diff's tip (`anchor.current`, followed from the commit each was written against).
 * Coloured only when stdout is a terminal (output/style.ts), so a piped diff is plain text. A
 * comment whose line the diff does not show is listed under its file; one that is outdated, or
 * whose file the diff no longer has, in "Outdated comments" at the end.
 */
import { type Comment, patchLines, reviewPlaceText } from '@tinyagi/client';
import type { TaskDiff, TaskDiffFile } from '@tinyagi/client/contract';
import { plural, printTable, println } from '../output/print.ts';
import { style } from '../output/style.ts';

type ReviewComment = Comment & { anchor: NonNullable<Comment['anchor']> };

/** The comment's line on its side at the diff's tip, or null when it is outdated. */
function lineNow(c: ReviewComment): number | null {
  if (c.anchor.side === 'old') return c.anchor.line;
  return c.anchor.current === undefined ? c.anchor.line : c.anchor.current.line;
}

function onFile(c: ReviewComment, file: TaskDiffFile): boolean {
  if (c.anchor.side === 'old') return c.anchor.path === (file.oldPath ?? file.path);
  return (c.anchor.current?.path ?? c.anchor.path) === file.path;
}

const sentText = (c: Comment): string => (c.sentRound === null ? style.yellow('not sent') : `sent in round ${c.sentRound}`);

function printComment(c: ReviewComment, place?: string): void {
  const [first = '', ...rest] = c.content.split('\n');
  const head = `${place === undefined ? '' : `${place}, `}${c.author}, ${sentText(c)}`;
  println(style.magenta(`    » ${head}: `) + first);
  for (const line of rest) println(`      ${line}`);
}

function colouredLine(kind: string, text: string): string {
  if (kind === 'add') return style.green(text);
  if (kind === 'del') return style.red(text);
  if (kind === 'hunk') return style.cyan(text);
  if (kind === 'note') return style.dim(text);
  return text;
}

function printFile(file: TaskDiffFile, comments: readonly ReviewComment[]): ReviewComment[] {
  const head = file.patch.slice(0, Math.max(0, file.patch.search(/^@@/m)));
  println(style.bold(head === '' ? `diff --git a/${file.oldPath ?? file.path} b/${file.path}` : head.replace(/\n$/, '')));
  if (file.binary) println(style.dim('Binary file: no patch.'));
  else if (file.patch === '') println(style.dim(`Patch left out (the diff's size cap): +${file.additions} -${file.deletions}.`));
  const shown = new Set<number>();
  for (const l of patchLines(file.patch)) {
    println(colouredLine(l.kind, l.text));
    for (const c of comments) {
      const line = lineNow(c);
      const here = line !== null && (c.anchor.side === 'old' ? l.old === line : l.new === line);
      if (here && !shown.has(c.id)) {
        shown.add(c.id);
        printComment(c);
      }
    }
  }
  if (file.truncated) println(style.dim(`… ${plural(file.omittedBytes, 'byte')} of this patch left out (the diff's size cap).`));
  // On a line the diff does not show (outside the hunks): under the file, with its line.
  const elsewhere = comments.filter((c) => !shown.has(c.id) && lineNow(c) !== null);
  for (const c of elsewhere) printComment(c, `line ${lineNow(c)}${c.anchor.side === 'old' ? " (the base's)" : ''}`);
  return comments.filter((c) => !shown.has(c.id) && lineNow(c) === null);
}

function reviewComments(comments: readonly Comment[]): ReviewComment[] {
  return comments.filter((c): c is ReviewComment => c.anchor !== null);
}

/** The diff, each file's patch with its comments under their lines; outdated comments at the end. */
export function printTaskDiff(diff: TaskDiff, comments: readonly Comment[]): void {
  const review = reviewComments(comments);
  println(
    style.dim(
      `${diff.branch} against ${diff.baseRef} (${diff.base.slice(0, 10)}..${diff.tip.slice(0, 10)}${diff.merged ? ', merged' : ''}): ${plural(diff.commits.length, 'commit')}, ${plural(diff.files.length, 'file')}`,
    ),
  );
  if (diff.files.length === 0) println(style.dim('No changes.'));
  const placed = new Set<number>();
  const outdated: ReviewComment[] = [];
  for (const file of diff.files) {
    const mine = review.filter((c) => !placed.has(c.id) && onFile(c, file));
    for (const c of mine) placed.add(c.id);
    outdated.push(...printFile(file, mine));
  }
  if (diff.omitted.files > 0) println(style.dim(`${plural(diff.omitted.files, 'more file')} not listed (the diff's file cap).`));
  outdated.push(...review.filter((c) => !placed.has(c.id)));
  if (outdated.length === 0) return;
  println();
  println(style.bold(`Outdated comments: ${outdated.length}`));
  for (const c of outdated) printComment(c, reviewPlaceText(c.anchor));
}

/** One row per file: its status, +/- counts and review comments. */
export function printTaskDiffStat(diff: TaskDiff, comments: readonly Comment[]): void {
  const review = reviewComments(comments);
  println(style.dim(`${diff.branch} against ${diff.baseRef} (${diff.base.slice(0, 10)}..${diff.tip.slice(0, 10)}${diff.merged ? ', merged' : ''}): ${plural(diff.commits.length, 'commit')}`));
  printTable(
    ['FILE', 'STATUS', '+', '-', 'COMMENTS'],
    diff.files.map((f) => {
      const mine = review.filter((c) => onFile(c, f));
      const old = mine.filter((c) => lineNow(c) === null).length;
      return [
        f.oldPath === null ? f.path : `${f.oldPath} → ${f.path}`,
        f.status,
        f.binary ? '-' : style.green(String(f.additions)),
        f.binary ? '-' : style.red(String(f.deletions)),
        mine.length === 0 ? '' : `${mine.length}${old > 0 ? ` (${old} outdated)` : ''}`,
      ];
    }),
    'No changes.',
  );
  const adds = diff.files.reduce((n, f) => n + f.additions, 0);
  const dels = diff.files.reduce((n, f) => n + f.deletions, 0);
  println(
    `${plural(diff.files.length + diff.omitted.files, 'file')} changed, ${style.green(`+${adds}`)} ${style.red(`-${dels}`)}${diff.omitted.files > 0 ? style.dim(` (${diff.omitted.files} not listed)`) : ''}`,
  );
}

'use client';
/**
 * A task's diff as the daemon sends it (`GET /api/tasks/:id/diff`): one collapsible block per file
 * (a native <details>, so Tab and Enter or Space open and close it) with its status and +/- counts,
 * and the unified patch's lines coloured added / removed / context. A long file (or every file of
 * a diff of many) starts folded, and a folded file's lines are not rendered until it is opened. A
 * small renderer of git's own patch text: no diff library, since the daemon already did the diffing.
 *
 * With `review`, the diff carries the task's review comments (docs/git-tasks.md): each line's
 * gutter has a button that opens a comment form under the line (one Tab stop per file; the arrow
 * keys move between the lines' buttons), and a line's comments show under it, at the line they
 * are on now (the daemon follows each from the commit it was written on to the tip). A comment
 * whose line is not shown (outside the hunks, or the file folded) shows under its file's header;
 * one whose line changed since, or whose file is not in the diff any more, in an "Outdated" list
 * at the end.
 */
import { Fragment, type KeyboardEvent, useMemo, useRef, useState } from 'react';
import { type Comment, type PatchLineKind, patchLines, type TaskDiff, type TaskDiffFile } from '@tinyagi/client';
import { type Anchor, anchorNow, CommentForm, type DiffReview, ReviewComments, anchorKey, lineName } from './review';

type LineKind = PatchLineKind;

const LINE_TONE: Record<LineKind, string> = {
  add: 'bg-emerald-50 text-emerald-950 dark:bg-emerald-950 dark:text-emerald-100',
  del: 'bg-red-50 text-red-950 dark:bg-red-950 dark:text-red-100',
  hunk: 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300',
  context: '',
  note: 'italic text-slate-600 dark:text-slate-300',
};

const STATUS_WORD: Record<TaskDiffFile['status'], string> = { added: 'added', modified: 'modified', deleted: 'deleted', renamed: 'renamed' };

/** The disclosure's marker (a flex <summary> has none of its own): ▸, turned down while open. */
export function Chevron() {
  return (
    <span aria-hidden className="inline-block transition-transform group-open:rotate-90">
      ▸
    </span>
  );
}

function kib(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** A file longer than this starts folded; a folded file's lines are not rendered at all (a diff near the daemon's 2 MiB cap would otherwise be tens of thousands of nodes). */
const FOLD_LINES = 400;

/** Where a line's comment is anchored: an added or context line on the new side, a removed one on the old; none for hunk headers and notes. */
function anchorOf(path: string, l: { kind: LineKind; old: number | null; new: number | null }): Anchor | null {
  if (l.kind === 'del' && l.old !== null) return { path, line: l.old, side: 'old' };
  if ((l.kind === 'add' || l.kind === 'context') && l.new !== null) return { path, line: l.new, side: 'new' };
  return null;
}

/** A comment is on this file now: the branch's side by the path it was followed to, the base's by the base's path (a renamed file's old one). */
function onFile(a: NonNullable<Comment['anchor']>, file: TaskDiffFile): boolean {
  return a.side === 'old' ? a.path === (file.oldPath ?? file.path) : anchorNow(a).path === file.path;
}

/** Arrow keys, Home and End move between a file's comment buttons (roving tabindex: the file is one Tab stop). */
function moveBetweenLines(e: KeyboardEvent<HTMLButtonElement>): void {
  const keys = ['ArrowDown', 'ArrowUp', 'Home', 'End'];
  if (!keys.includes(e.key)) return;
  const all = [...(e.currentTarget.closest('[data-diff-lines]')?.querySelectorAll<HTMLButtonElement>('button[data-comment-line]') ?? [])];
  const at = all.indexOf(e.currentTarget);
  const next = e.key === 'Home' ? 0 : e.key === 'End' ? all.length - 1 : at + (e.key === 'ArrowDown' ? 1 : -1);
  const target = all[Math.max(0, Math.min(all.length - 1, next))];
  if (!target) return;
  e.preventDefault();
  target.focus();
}

function DiffFile({ file, fold, review }: { file: TaskDiffFile; fold: boolean; review: DiffReview | undefined }) {
  const lines = useMemo(() => patchLines(file.patch), [file.patch]);
  const [open, setOpen] = useState(!fold && lines.length <= FOLD_LINES);
  // The one comment button of this file in the Tab order (the last one focused), and the line whose form is open.
  const [current, setCurrent] = useState<string | null>(null);
  const [formAt, setFormAt] = useState<string | null>(null);
  const linesRef = useRef<HTMLDivElement>(null);
  const anchors = useMemo(() => lines.map((l) => anchorOf(file.path, l)), [lines, file.path]);
  const canComment = Boolean(review?.onAdd) && !file.binary;

  // This file's comments: under their line when the line is shown, else under the header.
  const { byLine, elsewhere } = useMemo(() => {
    const mine = (review?.comments ?? []).filter((c) => c.anchor && onFile(c.anchor, file) && anchorNow(c.anchor).line !== null);
    const shown = new Set(open && !file.binary ? anchors.flatMap((a) => (a ? [anchorKey(a)] : [])) : []);
    const byLine = new Map<string, Comment[]>();
    const elsewhere: Comment[] = [];
    for (const c of mine) {
      const now = anchorNow(c.anchor!);
      const key = anchorKey({ ...now, line: now.line ?? 0 });
      if (shown.has(key)) byLine.set(key, [...(byLine.get(key) ?? []), c]);
      else elsewhere.push(c);
    }
    return { byLine, elsewhere };
  }, [review?.comments, file.path, file.binary, anchors, open]);
  // The line last focused, while the diff still has it; else the first line.
  const tabStop = useMemo(() => {
    const keys = anchors.flatMap((a) => (a ? [anchorKey(a)] : []));
    return current !== null && keys.includes(current) ? current : (keys[0] ?? null);
  }, [anchors, current]);
  const focusLine = (key: string) => requestAnimationFrame(() => linesRef.current?.querySelector<HTMLButtonElement>(`button[data-comment-line="${key}"]`)?.focus());

  const fileComments =
    elsewhere.length > 0 && review ? (
      <div className="border-b border-slate-200 px-2 py-2 dark:border-slate-700">
        <p className="mb-1 text-xs text-slate-600 dark:text-slate-300">{open ? 'Comments on lines this diff does not show:' : 'Comments on this file (folded):'}</p>
        <ReviewComments comments={elsewhere} review={review} label={`Comments on ${file.path}`} withLine />
      </div>
    ) : null;

  return (
    <div className="rounded border border-slate-200 dark:border-slate-700" data-testid="diff-file" data-path={file.path}>
      <details open={open} onToggle={(e) => setOpen(e.currentTarget.open)} className="group">
        <summary className="flex cursor-pointer flex-wrap items-center gap-2 bg-slate-50 px-2 py-1 text-xs dark:bg-slate-800">
          <Chevron />
          <span className="min-w-0 break-all font-mono">{file.oldPath ? `${file.oldPath} → ${file.path}` : file.path}</span>
          <span className="text-slate-600 dark:text-slate-300">{STATUS_WORD[file.status]}</span>
          <span className="ml-auto font-mono">
            <span className="text-emerald-800 dark:text-emerald-300">+{file.additions}</span> <span className="text-red-800 dark:text-red-300">−{file.deletions}</span>
            <span className="sr-only">
              {' '}
              ({file.additions} added, {file.deletions} removed lines)
            </span>
          </span>
        </summary>
        {open && fileComments}
        {!open ? null : file.binary ? (
          <p className="px-2 py-1 text-xs text-slate-600 dark:text-slate-300">Binary file, not shown.</p>
        ) : lines.length === 0 && !file.truncated ? (
          <p className="px-2 py-1 text-xs text-slate-600 dark:text-slate-300">No content change.</p>
        ) : (
          // biome-ignore lint/a11y/useSemanticElements: a <div>, not a <pre> (a line's comments and form are blocks under it) nor a <fieldset>; the role only names its focus stop
          <div
            role="group"
            ref={linesRef}
            data-diff-lines
            className="overflow-x-auto font-mono text-xs leading-5"
            aria-label={`Diff of ${file.path}`}
            // biome-ignore lint/a11y/noNoninteractiveTabindex: a long line scrolls sideways, so keyboard users must be able to focus it (WCAG 2.1.1)
            tabIndex={0}
          >
            <div className="inline-block min-w-full">
              {lines.map((l, i) => {
                const anchor = anchors[i];
                const key = anchor ? anchorKey(anchor) : null;
                const here = key ? byLine.get(key) : undefined;
                return (
                  <Fragment key={i}>
                    <div className={`group/line flex ${LINE_TONE[l.kind]}`}>
                      {canComment && (
                        <span className="w-6 shrink-0 text-center">
                          {anchor && key && (
                            <button
                              type="button"
                              data-comment-line={key}
                              tabIndex={key === tabStop ? 0 : -1}
                              aria-label={`Comment on ${lineName(anchor)}`}
                              title="Comment on this line (arrow keys: the other lines)"
                              aria-expanded={formAt === key}
                              className="h-4 w-4 rounded bg-sky-700 text-[0.7rem] leading-4 text-white opacity-0 group-hover/line:opacity-100 focus:opacity-100 aria-expanded:opacity-100 dark:bg-sky-300 dark:text-slate-900"
                              onFocus={() => setCurrent(key)}
                              onKeyDown={moveBetweenLines}
                              onClick={() => setFormAt(formAt === key ? null : key)}
                            >
                              +
                            </button>
                          )}
                        </span>
                      )}
                      {/* Line numbers are for the eye; the +/- of the text says what a screen reader needs. */}
                      <span aria-hidden className="w-9 shrink-0 select-none pr-1 text-right text-slate-600 dark:text-slate-400">
                        {l.old ?? ''}
                      </span>
                      <span aria-hidden className="w-9 shrink-0 select-none pr-2 text-right text-slate-600 dark:text-slate-400">
                        {l.new ?? ''}
                      </span>
                      <span className="flex-1 whitespace-pre pr-2" data-line={l.kind}>
                        {l.text || ' '}
                      </span>
                    </div>
                    {review && key && (here || formAt === key) && (
                      <div
                        className="border-y border-slate-200 bg-slate-50 px-2 py-2 font-sans whitespace-normal dark:border-slate-700 dark:bg-slate-950"
                        data-testid="review-thread"
                        data-anchor={key}
                      >
                        <div className="max-w-2xl space-y-2">
                          {here && <ReviewComments comments={here} review={review} label={`Comments on ${lineName(anchor!)}`} />}
                          {formAt === key && review.onAdd && (
                            <CommentForm
                              anchor={anchor!}
                              onAdd={review.onAdd}
                              onDone={() => {
                                setFormAt(null);
                                focusLine(key);
                              }}
                            />
                          )}
                        </div>
                      </div>
                    )}
                  </Fragment>
                );
              })}
            </div>
          </div>
        )}
        {open && file.truncated && (
          <p className="px-2 py-1 text-xs text-amber-900 dark:text-amber-200">
            {file.patch ? 'Cut' : 'Left out'}: {kib(file.omittedBytes)} of this file&apos;s patch not shown (the daemon&apos;s limit); read it with git.
          </p>
        )}
      </details>
      {/* A folded file's body is hidden with it: its comments stay in sight under the header. */}
      {!open && fileComments}
    </div>
  );
}

export function DiffView({ diff, review }: { diff: TaskDiff; review?: DiffReview }) {
  // Its line changed since it was written, or its file is not in the diff any more.
  const outdated = (review?.comments ?? []).filter((c) => c.anchor && (anchorNow(c.anchor).line === null || !diff.files.some((f) => onFile(c.anchor!, f))));
  return (
    <div className="space-y-2" data-testid="task-diff">
      <p className="text-xs text-slate-600 dark:text-slate-300">
        {diff.files.length} {diff.files.length === 1 ? 'file' : 'files'} changed against {diff.baseRef} (from <code>{diff.base.slice(0, 12)}</code>
        {diff.merged ? ', as merged' : ''}){review?.onAdd && diff.files.length > 0 && ' · the + at the start of a line comments on it'}
      </p>
      {diff.files.map((f) => (
        // Past 50 files every file starts folded: the list of files is the overview then.
        <DiffFile key={f.path} file={f} fold={diff.files.length > 50} review={review} />
      ))}
      {diff.omitted.files > 0 && (
        <p className="text-xs text-amber-900 dark:text-amber-200">
          {diff.omitted.files} more {diff.omitted.files === 1 ? 'file is' : 'files are'} not listed (the daemon&apos;s limit).
        </p>
      )}
      {review && outdated.length > 0 && (
        <section aria-labelledby="review-outdated" className="rounded border border-slate-200 p-2 dark:border-slate-700" data-testid="review-outdated">
          <h5 id="review-outdated" className="text-xs font-semibold">
            Outdated
          </h5>
          <p className="mb-1 text-xs text-slate-600 dark:text-slate-300">Comments on lines changed since they were written, or on files this diff no longer has.</p>
          <ReviewComments comments={outdated} review={review} label="Outdated comments" withLine withPath />
        </section>
      )}
    </div>
  );
}

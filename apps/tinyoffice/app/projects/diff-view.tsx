'use client';
/**
 * A task's diff as the daemon sends it (`GET /api/tasks/:id/diff`): one collapsible block per file
 * (a native <details>, so Tab and Enter or Space open and close it) with its status and +/- counts,
 * and the unified patch's lines coloured added / removed / context. A long file (or every file of
 * a diff of many) starts folded, and a folded file's lines are not rendered until it is opened. A
 * small renderer of git's own patch text: no diff library, since the daemon already did the diffing.
 */
import { useMemo, useState } from 'react';
import type { TaskDiff, TaskDiffFile } from '@tinyagi/client';

type LineKind = 'add' | 'del' | 'hunk' | 'context' | 'note';

/** The patch's lines after its `diff --git` header (the summary says what the header does), with their old and new line numbers. */
export function patchLines(patch: string): Array<{ kind: LineKind; text: string; old: number | null; new: number | null }> {
  const lines = patch.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const first = lines.findIndex((l) => l.startsWith('@@'));
  if (first < 0) return [];
  let oldNo = 0;
  let newNo = 0;
  return lines.slice(first).map((text) => {
    if (text.startsWith('@@')) {
      const m = /^@@ -(\d+)(?:,\d+)? \+(\d+)/.exec(text);
      oldNo = Number(m?.[1] ?? 0);
      newNo = Number(m?.[2] ?? 0);
      return { kind: 'hunk' as const, text, old: null, new: null };
    }
    if (text.startsWith('\\')) return { kind: 'note' as const, text, old: null, new: null };
    if (text.startsWith('+')) return { kind: 'add' as const, text, old: null, new: newNo++ };
    if (text.startsWith('-')) return { kind: 'del' as const, text, old: oldNo++, new: null };
    return { kind: 'context' as const, text, old: oldNo++, new: newNo++ };
  });
}

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

function DiffFile({ file, fold }: { file: TaskDiffFile; fold: boolean }) {
  const lines = useMemo(() => patchLines(file.patch), [file.patch]);
  const [open, setOpen] = useState(!fold && lines.length <= FOLD_LINES);
  return (
    <details open={open} onToggle={(e) => setOpen(e.currentTarget.open)} className="group rounded border border-slate-200 dark:border-slate-700" data-testid="diff-file" data-path={file.path}>
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
      {!open ? null : file.binary ? (
        <p className="px-2 py-1 text-xs text-slate-600 dark:text-slate-300">Binary file, not shown.</p>
      ) : lines.length === 0 && !file.truncated ? (
        <p className="px-2 py-1 text-xs text-slate-600 dark:text-slate-300">No content change.</p>
      ) : (
        // biome-ignore lint/a11y/useSemanticElements: a <pre> keeps the patch's layout; the role only names its focus stop
        <pre
          role="group"
          className="overflow-x-auto text-xs leading-5"
          aria-label={`Diff of ${file.path}`}
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a long line scrolls sideways, so keyboard users must be able to focus it (WCAG 2.1.1)
          tabIndex={0}
        >
          <span className="inline-block min-w-full">
            {lines.map((l, i) => (
              <span key={i} className={`flex ${LINE_TONE[l.kind]}`}>
                {/* Line numbers are for the eye; the +/- of the text says what a screen reader needs. */}
                <span aria-hidden className="w-9 shrink-0 select-none pr-1 text-right text-slate-600 dark:text-slate-400">
                  {l.old ?? ''}
                </span>
                <span aria-hidden className="w-9 shrink-0 select-none pr-2 text-right text-slate-600 dark:text-slate-400">
                  {l.new ?? ''}
                </span>
                <span className="flex-1 pr-2" data-line={l.kind}>
                  {l.text || ' '}
                </span>
              </span>
            ))}
          </span>
        </pre>
      )}
      {open && file.truncated && (
        <p className="px-2 py-1 text-xs text-amber-900 dark:text-amber-200">
          {file.patch ? 'Cut' : 'Left out'}: {kib(file.omittedBytes)} of this file&apos;s patch not shown (the daemon&apos;s limit); read it with git.
        </p>
      )}
    </details>
  );
}

export function DiffView({ diff }: { diff: TaskDiff }) {
  return (
    <div className="space-y-2" data-testid="task-diff">
      <p className="text-xs text-slate-600 dark:text-slate-300">
        {diff.files.length} {diff.files.length === 1 ? 'file' : 'files'} changed against {diff.baseRef} (from <code>{diff.base.slice(0, 12)}</code>
        {diff.merged ? ', as merged' : ''})
      </p>
      {diff.files.map((f) => (
        // Past 50 files every file starts folded: the list of files is the overview then.
        <DiffFile key={f.path} file={f} fold={diff.files.length > 50} />
      ))}
      {diff.omitted.files > 0 && (
        <p className="text-xs text-amber-900 dark:text-amber-200">
          {diff.omitted.files} more {diff.omitted.files === 1 ? 'file is' : 'files are'} not listed (the daemon&apos;s limit).
        </p>
      )}
    </div>
  );
}

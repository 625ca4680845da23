'use client';
/**
 * A person's merge of a repository-bound task (`POST /api/tasks/:id/merge`, docs/git-tasks.md):
 * the form (merge commit or fast-forward, Merge, the daemon's refusal as `CODE: message`) that the
 * task detail shows in Review, and the dialog a move to Done opens instead of changing the status:
 * in a bound project a task is done only once its branch is merged.
 */
import { useEffect, useRef, useState } from 'react';
import { type Project, type Task, UNCHECKED_MERGE_WARNING } from '@tinyagi/client';
import { api } from '@/lib/api';
import { Button } from '@/components/ui';
import { useRefusable } from '@/lib/refusal';

export function MergeForm({ task, idPrefix, onMerged }: { task: Task; idPrefix: string; onMerged: (t: Task) => void }) {
  const [method, setMethod] = useState<'merge' | 'ff'>('merge');
  const { busy, refusal, run } = useRefusable();
  const merge = () => run(async () => onMerged((await api().mergeTask({ params: { id: task.id }, body: { method } })).task));
  return (
    <div className="space-y-1">
      <div className="flex flex-wrap items-center gap-2">
        <label htmlFor={`${idPrefix}-merge-method`} className="text-sm">
          Merge as
        </label>
        <select
          id={`${idPrefix}-merge-method`}
          className="rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
          value={method}
          onChange={(e) => setMethod(e.target.value as 'merge' | 'ff')}
        >
          <option value="merge">a merge commit</option>
          <option value="ff">a fast-forward</option>
        </select>
        <Button tone="primary" disabled={busy} onClick={() => void merge()}>
          {busy ? 'Merging…' : 'Merge'}
        </Button>
      </div>
      {task.git?.check?.state !== 'passed' && (
        <p data-testid="merge-unchecked" className="text-xs text-amber-900 dark:text-amber-200">
          {UNCHECKED_MERGE_WARNING}
        </p>
      )}
      {refusal && (
        <p role="alert" data-testid="merge-refusal" className="rounded border border-red-300 bg-red-50 px-2 py-1 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
          {refusal}
        </p>
      )}
    </div>
  );
}

/** Where a task is, in a sentence ("… is in progress"). */
const WHERE: Record<Task['status'], string> = { backlog: 'in the backlog', todo: 'to do', in_progress: 'in progress', checking: 'being checked', review: 'in review', done: 'done' };

/** A modal (the native <dialog>: focus kept inside, Escape closes, the focus goes back where it was). */
export function MergeDialog({ task, project, onMerged, onClose }: { task: Task; project: Project | undefined; onMerged: (t: Task) => void; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
  }, []);
  const name = task.identifier ?? task.title;
  const base = project?.repo?.baseRef ?? 'the base';
  return (
    <dialog
      ref={dialog}
      aria-labelledby="merge-dialog-title"
      aria-describedby="merge-dialog-why"
      data-testid="merge-dialog"
      onClose={onClose}
      className="m-auto w-[min(32rem,calc(100vw-2rem))] space-y-3 rounded-lg border border-slate-200 bg-white p-4 text-slate-900 shadow-xl backdrop:bg-slate-950/50 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100"
    >
      <h2 id="merge-dialog-title" className="font-semibold">
        Merge {name}?
      </h2>
      <p id="merge-dialog-why" className="text-sm">
        {project ? `${project.name} is` : 'This project is'} bound to a git repository: a task is done once its branch is merged. Merging{' '}
        {task.git?.branch ? <code>{task.git.branch}</code> : 'its branch'} into <code>{base}</code> removes its worktree and moves it to Done.
      </p>
      <p className="text-sm">
        <span className="font-medium">{task.title}</span>
        {task.status !== 'review' && <span className="text-slate-600 dark:text-slate-300"> is {WHERE[task.status]}; the daemon merges only a task in Review.</span>}
      </p>
      <MergeForm
        task={task}
        idPrefix="dialog"
        onMerged={(t) => {
          onMerged(t);
          dialog.current?.close();
        }}
      />
      <div className="flex justify-end">
        <Button onClick={() => dialog.current?.close()}>Cancel</Button>
      </div>
    </dialog>
  );
}

'use client';
/**
 * A repository-bound project's task worktrees (`GET /api/projects/:id/worktrees`, docs/git-tasks.md):
 * each one's folder, branch, task and idle time; one idle past the binding's `keepAbandonedDays`
 * is marked abandoned, one whose task was deleted orphaned, with whether it could be removed and,
 * if not, why (uncommitted changes, commits neither merged nor pushed). Remove asks the daemon
 * (`POST /api/projects/:id/worktrees/remove`); a refusal names what would be lost and Remove
 * anyway forces it (the uncommitted files are lost, the branch keeps its commits). Folded at first and read only while open:
 * the daemon runs `git status` in each worktree to list them, beside the agents committing there
 * (a status that refreshes a worktree's index holds its lock, and an agent's commit at that moment
 * fails). While open it is read again when a worktree is made or removed (`reloadKey`), and on
 * Refresh (the idle times move on).
 */
import { useEffect, useState } from 'react';
import { isApiError, type Project, type ProjectWorktree, type Task } from '@tinyagi/client';
import { api } from '@/lib/api';
import { Button } from '@/components/ui';
import { Chevron } from './diff-view';
import { refusalText } from '@/lib/refusal';
import { RetentionSummary } from './retention';

/** How long ago, in the largest unit that fits: `40 s`, `12 min`, `5 h`, `3 days`. */
export function idleText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.round(min / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} days`;
}

const pill = 'rounded-full px-2 py-0.5 text-xs font-medium';

const STATE_PILLS: Record<ProjectWorktree['state'], { text: string; tone: string }> = {
  ready: { text: 'in use', tone: 'bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100' },
  missing: { text: 'folder missing', tone: 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100' },
  abandoned: { text: 'abandoned', tone: 'bg-violet-100 text-violet-900 dark:bg-violet-900 dark:text-violet-100' },
  orphaned: { text: 'orphaned: task deleted', tone: 'bg-rose-100 text-rose-900 dark:bg-rose-900 dark:text-rose-100' },
};

function State({ worktree: w }: { worktree: ProjectWorktree }) {
  const { text, tone } = STATE_PILLS[w.state];
  const removal = w.removal;
  return (
    <span className="flex flex-col items-start gap-1">
      <span className={`${pill} ${tone}`}>{text}</span>
      {w.state === 'missing' && <span className="text-xs">made again from its branch at the task’s next step</span>}
      {removal && (
        <span className="text-xs" data-testid="worktree-removal">
          {removal.safe ? `could be removed (${removal.merged ? 'merged' : 'pushed'})` : `kept: ${removal.reason ?? 'it has work that is neither merged nor pushed'}`}
        </span>
      )}
    </span>
  );
}

export function ProjectWorktrees({ project, tasks, reloadKey, onOpen }: { project: Project; tasks: ReadonlyMap<string, Task>; reloadKey: number; onOpen: (id: string) => void }) {
  const [list, setList] = useState<ProjectWorktree[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [refreshed, setRefreshed] = useState(0);
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (!open) return;
    let live = true;
    api()
      .listProjectWorktrees({ params: { id: project.id } })
      .then((l) => {
        if (!live) return;
        setList(l);
        setError(null);
      })
      .catch((err: unknown) => live && setError(refusalText(err)));
    return () => {
      live = false;
    };
  }, [open, project.id, reloadKey, refreshed]);

  const abandoned = list?.filter((w) => w.abandoned).length ?? 0;

  async function removeOne(w: ProjectWorktree) {
    const name = w.identifier ?? w.path;
    if (!window.confirm(`Remove the worktree of ${name} (${w.path})?`)) return;
    setError(null);
    try {
      await api().removeProjectWorktree({ params: { id: project.id }, body: { path: w.path } });
    } catch (err) {
      const refusal = refusalText(err);
      // Refused with what it would lose: the person may still remove it, knowingly.
      if (!isApiError(err, 'WORKTREE_UNSAFE') || !window.confirm(`${refusal}\n\nRemove it anyway?`)) {
        setError(refusal);
        return;
      }
      try {
        await api().removeProjectWorktree({ params: { id: project.id }, body: { path: w.path, force: true } });
      } catch (again) {
        setError(refusalText(again));
        return;
      }
    }
    setRefreshed((n) => n + 1);
  }
  const keep = project.repo?.keepAbandonedDays;
  return (
    <section aria-labelledby="worktrees-heading" className="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
      <details open={open} onToggle={(e) => setOpen(e.currentTarget.open)} className="group">
        <summary className="flex cursor-pointer items-center gap-2">
          <Chevron />
          <h2 id="worktrees-heading" className="text-sm font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300">
            {list ? `Worktrees (${list.length}${abandoned > 0 ? `, ${abandoned} abandoned` : ''})` : 'Worktrees'}
          </h2>
        </summary>
        <div data-testid="project-worktrees" className="mt-3 space-y-2">
          <div className="flex flex-wrap items-start gap-2">
            <p className="min-w-0 flex-1 text-xs text-slate-600 dark:text-slate-300">
              One per started task, on its own branch. A worktree idle for {keep === undefined ? 'the binding’s keepAbandonedDays' : `more than ${keep} ${keep === 1 ? 'day' : 'days'}`} is listed as
              abandoned, one whose task was deleted orphaned. A merge removes its task’s, the retention policy the abandoned ones; Remove removes one now, refused while it holds work that is nowhere
              else.
            </p>
            <Button onClick={() => setRefreshed((n) => n + 1)} aria-label="Refresh the worktrees">
              Refresh
            </Button>
          </div>
          {error && <p className="text-sm text-red-800 dark:text-red-300">{error}</p>}
          {list && list.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-300">No worktrees: none of this project’s tasks has started.</p>}
          {list && list.length > 0 && (
            <div className="overflow-x-auto">
              <table className="w-full text-left text-sm">
                <thead className="text-xs text-slate-600 dark:text-slate-300">
                  <tr>
                    <th scope="col" className="py-1 pr-3 font-medium">
                      Task
                    </th>
                    <th scope="col" className="py-1 pr-3 font-medium">
                      Branch and folder
                    </th>
                    <th scope="col" className="py-1 pr-3 font-medium">
                      Idle
                    </th>
                    <th scope="col" className="py-1 pr-3 font-medium">
                      State
                    </th>
                    <th scope="col" className="py-1 font-medium">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((w) => {
                    const task = w.taskId ? tasks.get(w.taskId) : undefined;
                    return (
                      <tr
                        key={w.path}
                        className="border-t border-slate-200 align-top dark:border-slate-700"
                        data-testid="worktree"
                        data-path={w.path}
                        data-abandoned={String(w.abandoned)}
                        data-state={w.state}
                      >
                        <td className="py-1 pr-3">
                          {task ? (
                            <button type="button" className="whitespace-nowrap text-left underline" onClick={() => onOpen(task.id)}>
                              {task.identifier ?? task.title}
                            </button>
                          ) : (
                            <span className="font-mono text-xs">{w.identifier ?? (w.state === 'orphaned' ? 'deleted task' : (w.taskId ?? '—'))}</span>
                          )}
                        </td>
                        <td className="py-1 pr-3">
                          <div className="break-all font-mono text-xs">{w.branch ?? '(no branch)'}</div>
                          <div className="break-all font-mono text-xs text-slate-600 dark:text-slate-300">{w.path}</div>
                        </td>
                        <td className="py-1 pr-3 whitespace-nowrap">
                          <span title={`last activity ${new Date(w.lastActivityAt).toLocaleString()}`}>{idleText(w.idleMs)}</span>
                        </td>
                        <td className="py-1 pr-3">
                          <State worktree={w} />
                        </td>
                        <td className="py-1">
                          {w.state !== 'missing' && (
                            <Button onClick={() => void removeOne(w)} aria-label={`Remove the worktree of ${w.identifier ?? w.path}`}>
                              Remove
                            </Button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
          <RetentionSummary project={project} reloadKey={reloadKey + refreshed} />
        </div>
      </details>
    </section>
  );
}

'use client';
/**
 * The project's retention (docs/git-tasks.md, "Retention") under its worktree list: the last
 * sweep's time and node, what it removed and what it kept, each with why (`GET
 * /api/projects/:id/retention`); Sweep now applies the policy at once (`POST …/retention/sweep`).
 * Read while the worktree list is open, again when it reloads.
 */
import { useEffect, useState } from 'react';
import type { Project, RetentionEntry, RetentionReport } from '@tinyagi/client';
import { api } from '@/lib/api';
import { Button } from '@/components/ui';
import { refusalText } from '@/lib/refusal';

const nameOf = (e: RetentionEntry): string => e.identifier ?? (e.kind === 'branch' ? (e.branch ?? '') : (e.path ?? ''));
const mb = (bytes: number): string => `${Math.round(bytes / 1024 / 1024)} MB`;

function Entries({ title, entries, testId }: { title: string; entries: RetentionEntry[]; testId: string }) {
  if (entries.length === 0) return null;
  return (
    <div>
      <h3 className="text-xs font-medium">{title}</h3>
      <ul className="ml-4 list-disc text-xs" data-testid={testId}>
        {entries.map((e) => (
          <li key={`${e.kind}:${e.path ?? e.branch}`} className={e.atRisk ? 'text-amber-900 dark:text-amber-200' : undefined}>
            <span className="font-mono">{nameOf(e)}</span>: {e.reason}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function RetentionSummary({ project, reloadKey }: { project: Project; reloadKey: number }) {
  const [report, setReport] = useState<RetentionReport | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    let live = true;
    api()
      .getProjectRetention({ params: { id: project.id } })
      .then((r) => live && setReport(r))
      .catch((err: unknown) => live && setError(refusalText(err)));
    return () => {
      live = false;
    };
  }, [project.id, reloadKey]);

  async function sweepNow() {
    setBusy(true);
    setError(null);
    try {
      setReport(await api().sweepProjectRetention({ params: { id: project.id } }));
    } catch (err) {
      setError(refusalText(err));
    } finally {
      setBusy(false);
    }
  }
  const budget = report?.policy.diskBudgetMb;
  return (
    <div data-testid="project-retention" className="space-y-1 border-t border-slate-200 pt-2 text-slate-700 dark:border-slate-700 dark:text-slate-200">
      <div className="flex flex-wrap items-center gap-2">
        <p className="min-w-0 flex-1 text-xs">
          {report === undefined
            ? 'Retention: reading…'
            : report === null
              ? 'Retention: not swept since the daemon started.'
              : `Retention: swept ${new Date(report.at).toLocaleString()}${report.node ? ` on ${report.node}` : ''}: removed ${report.removed.length}, kept ${report.kept.length}${budget == null ? '' : `; ${mb(report.bytesAfter)} of ${budget} MB`}. Nothing with uncommitted or unpushed work is removed.`}
        </p>
        <Button onClick={() => void sweepNow()} disabled={busy} title="Apply the retention policy now">
          Sweep now
        </Button>
      </div>
      {error && <p className="text-sm text-red-800 dark:text-red-300">{error}</p>}
      {report && <Entries title="Removed" entries={report.removed} testId="retention-removed" />}
      {report && <Entries title="Kept" entries={report.kept} testId="retention-kept" />}
      {report?.errors.map((e) => (
        <p key={e} className="text-xs text-red-800 dark:text-red-300">
          {e}
        </p>
      ))}
    </div>
  );
}

'use client';
/**
 * Workflow runs (docs/workflows.md): the list, newest first, with each run's status, steps done
 * of all, cost and start; choosing one (`?run=<id>`) shows its detail beside the list (under it on
 * a phone): status and why, budget and spend, Cancel and Resume, and its steps as a tree. Both
 * follow `workflow.changed` and `workflow.step` events (use-workflow-runs.ts). Above them, the
 * registered workflows, each started here with a form for its input and a forecast of its cost
 * (registered-list.tsx); the run started is chosen at once. A module by its path is started with
 * `tinyagi workflow run` or the API: it is a file on the daemon's machine, not named in settings.
 */
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense } from 'react';
import type { WorkflowRun } from '@tinyagi/client';
import { ErrorLine, Panel, StatusPill, money } from '@/components/ui';
import { RegisteredWorkflows } from './registered-list';
import { RunDetail } from './run-detail';
import { useWorkflowRuns } from './use-workflow-runs';

export default function WorkflowsPage() {
  return (
    <Suspense fallback={<p>Loading…</p>}>
      <WorkflowsFromQuery />
    </Suspense>
  );
}

function WorkflowsFromQuery() {
  return <Workflows selected={useSearchParams().get('run')} />;
}

function Workflows({ selected }: { selected: string | null }) {
  const { runs, detail, detailError, error, applyRun } = useWorkflowRuns(selected);
  const router = useRouter();
  const started = (run: WorkflowRun) => {
    applyRun(run);
    router.push(`/workflows?run=${encodeURIComponent(run.id)}`, { scroll: false });
  };
  return (
    <div className="space-y-4">
      <h1 className="text-xl font-semibold">Workflows</h1>
      <ErrorLine error={error} />
      <RegisteredWorkflows onStarted={started} />
      <div className="flex flex-col gap-4 lg:flex-row lg:items-start">
        <Panel title={runs ? `Runs (${runs.length})` : 'Runs'} className="min-w-0 lg:w-[26rem] lg:shrink-0">
          <RunList runs={runs} selected={selected} />
        </Panel>
        {!selected && runs !== null && runs.length > 0 && <p className="text-sm text-slate-600 lg:pt-4 dark:text-slate-300">Choose a run to see its steps, its budget and Cancel or Resume.</p>}
        {selected && (
          <div className="min-w-0 flex-1">
            {detail ? <RunDetail key={detail.run.id} detail={detail} onChanged={applyRun} /> : detailError ? <ErrorLine error={detailError} /> : <p role="status">Loading the run…</p>}
          </div>
        )}
      </div>
    </div>
  );
}

function RunList({ runs, selected }: { runs: readonly WorkflowRun[] | null; selected: string | null }) {
  if (runs === null) return <p role="status">Loading…</p>;
  if (runs.length === 0) {
    return (
      <p className="text-sm text-slate-600 dark:text-slate-300" data-testid="workflows-empty">
        No workflow runs yet. Start a registered workflow above, or any module on the daemon’s machine with <code className="font-mono">tinyagi workflow run &lt;file&gt;</code> or the API. How to
        write one: docs/workflows.md.
      </p>
    );
  }
  return (
    <ul className="divide-y divide-slate-200 dark:divide-slate-800" data-testid="workflow-runs">
      {runs.map((run) => (
        <li key={run.id} data-run={run.id} data-status={run.status}>
          <Link
            href={`/workflows?run=${encodeURIComponent(run.id)}`}
            scroll={false}
            aria-current={run.id === selected ? 'true' : undefined}
            className="block rounded px-1 py-2 hover:bg-slate-50 aria-[current]:bg-sky-50 dark:hover:bg-slate-800/50 dark:aria-[current]:bg-sky-950"
          >
            <span className="flex flex-wrap items-center gap-x-2 gap-y-1">
              <span className="min-w-0 flex-1 truncate font-medium">{run.name}</span>
              <StatusPill status={run.status} />
            </span>
            <span className="mt-0.5 flex flex-wrap gap-x-3 text-xs text-slate-600 dark:text-slate-300">
              <span data-testid="run-steps">
                {run.steps.completed}/{run.steps.total} steps
              </span>
              <span>{money(run.costUsd)}</span>
              <span>
                started <time dateTime={new Date(run.createdAt).toISOString()}>{new Date(run.createdAt).toLocaleString()}</time>
              </span>
            </span>
          </Link>
        </li>
      ))}
    </ul>
  );
}

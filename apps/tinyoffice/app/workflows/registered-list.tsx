'use client';
/**
 * The registered workflows (settings' `workflows.<name>`, `GET /api/workflows`): each with what it
 * does, its module and the agents that may start it, and Start, which opens the start dialog
 * (start-dialog.tsx, loaded when first opened). A workflow whose module is missing cannot start:
 * its Start is disabled and the reason is beside it.
 */
import dynamic from 'next/dynamic';
import { useEffect, useState } from 'react';
import type { RegisteredWorkflow, WorkflowRun } from '@tinyagi/client';
import { Button, ErrorLine, Panel } from '@/components/ui';
import { api } from '@/lib/api';
import { refusalText } from '@/lib/refusal';

const StartDialog = dynamic(() => import('./start-dialog').then((m) => m.StartDialog), { ssr: false });

export function RegisteredWorkflows({ onStarted }: { onStarted: (run: WorkflowRun) => void }) {
  const [workflows, setWorkflows] = useState<RegisteredWorkflow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState<RegisteredWorkflow | null>(null);
  useEffect(() => {
    api()
      .listWorkflows()
      .then(({ workflows }) => setWorkflows(workflows))
      .catch((err: unknown) => setError(`The registered workflows could not be read: ${refusalText(err)}`));
  }, []);

  return (
    <Panel title={workflows ? `Registered workflows (${workflows.length})` : 'Registered workflows'}>
      <ErrorLine error={error} />
      {workflows === null ? (
        error === null && <p role="status">Loading…</p>
      ) : workflows.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300" data-testid="registered-empty">
          None is registered. A workflow named in settings (<code className="font-mono">workflows.&lt;name&gt;</code>, docs/workflows.md) is started here with a form for its input.
        </p>
      ) : (
        <ul className="grid gap-3 sm:grid-cols-2 xl:grid-cols-3" data-testid="registered-workflows">
          {workflows.map((w) => (
            <WorkflowCard key={w.name} workflow={w} onStart={() => setStarting(w)} />
          ))}
        </ul>
      )}
      {starting && <StartDialog key={starting.name} workflow={starting} onStarted={onStarted} onClose={() => setStarting(null)} />}
    </Panel>
  );
}

function WorkflowCard({ workflow: w, onStart }: { workflow: RegisteredWorkflow; onStart: () => void }) {
  const reasonId = `missing-${w.name}`;
  return (
    <li data-workflow={w.name} className="flex min-w-0 flex-col gap-1 rounded border border-slate-200 p-3 dark:border-slate-700">
      <div className="flex items-start gap-2">
        <span className="min-w-0 flex-1 break-words font-medium">{w.name}</span>
        <Button tone="primary" disabled={!w.fileExists} aria-label={`Start ${w.name}`} aria-describedby={w.fileExists ? undefined : reasonId} onClick={onStart}>
          Start
        </Button>
      </div>
      {w.description && <p className="text-sm text-slate-700 dark:text-slate-200">{w.description}</p>}
      <p className="break-all font-mono text-xs text-slate-600 dark:text-slate-300">{w.file}</p>
      {!w.fileExists && (
        <p id={reasonId} data-testid="workflow-missing" className="text-xs text-red-800 dark:text-red-300">
          Its module is not on the daemon’s machine, so it cannot start: put it there, or change <code className="font-mono">workflows.{w.name}.file</code> in settings.
        </p>
      )}
      <p className="text-xs text-slate-600 dark:text-slate-300">{w.agents.length === 0 ? 'Only you start it.' : `You and ${w.agents.map((a) => `@${a}`).join(', ')} may start it.`}</p>
    </li>
  );
}

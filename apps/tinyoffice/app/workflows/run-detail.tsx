'use client';
/**
 * One workflow run: its status and why (paused, failed, cancelled), budget and spend, its steps'
 * counts, input and result; Cancel while it runs or is paused, Resume (with a new budget in USD
 * if given) when it is paused or failed, the daemon's refusal shown as `CODE: message`; and its
 * steps as a tree (step-tree.tsx).
 */
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import type { WorkflowBudget, WorkflowRun, WorkflowRunDetail } from '@tinyagi/client';
import { api } from '@/lib/api';
import { useRefusable } from '@/lib/refusal';
import { useNow } from '@/lib/use-now';
import { usePageTitle } from '@/components/shell';
import { Button, Panel, StatusPill, duration, money } from '@/components/ui';
import { FoldedValue } from './folded-value';
import { StepTree } from './step-tree';

const tokens = (n: number): string => `${n.toLocaleString('en-US')} tokens`;

function budgetText(budget: WorkflowBudget): string {
  const parts = [budget.usd === null ? null : money(budget.usd), budget.tokens === null ? null : tokens(budget.tokens)].filter(Boolean);
  return parts.length === 0 ? 'no limit' : parts.join(' and ');
}

export function RunDetail({ detail, onChanged }: { detail: WorkflowRunDetail; onChanged: (run: WorkflowRun) => void }) {
  const { run, steps } = detail;
  const heading = useRef<HTMLHeadingElement>(null);
  // Chosen from the list: the focus (and, on a phone, the view) moves to the run. The detail is keyed by the run's id, so once per choice.
  useEffect(() => heading.current?.focus(), []);
  usePageTitle(run.name);
  const live = run.status === 'running';
  const now = useNow(live);
  const id = useId();
  return (
    <div className="space-y-4">
      <section
        aria-labelledby={`${id}-title`}
        data-testid="workflow-detail"
        data-status={run.status}
        className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
      >
        <div className="flex flex-wrap items-center gap-2">
          <h2 id={`${id}-title`} ref={heading} tabIndex={-1} className="min-w-0 break-words text-lg font-semibold focus:outline-none">
            {run.name}
          </h2>
          <span data-testid="workflow-status">
            <StatusPill status={run.status} />
          </span>
        </div>
        {run.reason && (
          <p data-testid="workflow-reason" className={`break-words text-sm ${run.status === 'failed' ? 'text-red-800 dark:text-red-300' : 'text-amber-900 dark:text-amber-200'}`}>
            {run.reason}
          </p>
        )}
        <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-4 gap-y-1 text-sm">
          <dt className="font-medium">Budget</dt>
          <dd data-testid="workflow-budget">{budgetText(run.budget)}</dd>
          <dt className="font-medium">Spent</dt>
          <dd data-testid="workflow-spent">
            {money(run.costUsd)} · {tokens(run.tokens)}
          </dd>
          <dt className="font-medium">Steps</dt>
          <dd data-testid="workflow-steps">
            {run.steps.completed} of {run.steps.total} done{run.steps.running > 0 ? ` · ${run.steps.running} running` : ''}
            {run.steps.failed > 0 ? ` · ${run.steps.failed} failed` : ''}
          </dd>
          <dt className="font-medium">Started</dt>
          <dd>
            {new Date(run.createdAt).toLocaleString()}
            {run.endedAt !== null ? `, took ${duration(run.endedAt - run.createdAt)}` : live ? `, running for ${duration(now - run.createdAt)}` : ''}
          </dd>
          {run.node && (
            <>
              <dt className="font-medium">Node</dt>
              <dd>{run.node}</dd>
            </>
          )}
          <dt className="font-medium">Module</dt>
          <dd className="break-all font-mono text-xs leading-5">{run.file}</dd>
        </dl>
        <FoldedValue testId="workflow-input" summary="Input" value={run.input} className="text-sm" />
        {run.status === 'completed' && <FoldedValue testId="workflow-result" summary="Result" value={run.result} className="text-sm" />}
        <RunActions run={run} onChanged={onChanged} />
      </section>
      <Panel title={`Steps (${steps.length})`}>
        {steps.length === 0 ? <p className="text-sm text-slate-600 dark:text-slate-300">No step has started yet.</p> : <StepTree steps={steps} runName={run.name} result={run.result} />}
      </Panel>
    </div>
  );
}

/** Cancel (running or paused) and Resume (paused or failed, with an optional new budget in USD). */
function RunActions({ run, onChanged }: { run: WorkflowRun; onChanged: (run: WorkflowRun) => void }) {
  const { busy, refusal, run: send } = useRefusable();
  const [budget, setBudget] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const id = useId();
  const cancellable = run.status === 'running' || run.status === 'paused';
  const resumable = run.status === 'paused' || run.status === 'failed';
  if (!cancellable && !resumable) return null;

  const cancel = () => send(async () => onChanged((await api().cancelWorkflowRun({ params: { id: run.id } })).run));
  const resume = (e: FormEvent) => {
    e.preventDefault();
    const text = budget.trim();
    const usd = Number(text);
    if (text !== '' && !Number.isFinite(usd)) {
      setProblem('Write the budget as an amount of US dollars, such as 5 or 2.50, or leave it empty to keep the budget.');
      return;
    }
    setProblem(null);
    // Anything else (zero, too much) is the daemon's to refuse, with its reason.
    void send(async () => onChanged((await api().resumeWorkflowRun({ params: { id: run.id }, body: text === '' ? {} : { budgetUsd: usd } })).run));
  };
  return (
    <div className="space-y-2 border-t border-slate-200 pt-3 dark:border-slate-800">
      <div className="flex flex-wrap items-end gap-x-3 gap-y-2">
        {resumable && (
          <form className="flex flex-wrap items-end gap-2" onSubmit={resume} aria-label={`Resume ${run.name}`}>
            <div className="flex flex-col gap-0.5">
              <label htmlFor={`${id}-budget`} className="text-xs font-medium">
                New budget in USD (optional)
              </label>
              <input
                id={`${id}-budget`}
                inputMode="decimal"
                autoComplete="off"
                aria-invalid={problem !== null}
                aria-describedby={problem ? `${id}-problem` : undefined}
                placeholder={run.budget.usd === null ? 'no limit' : `now ${money(run.budget.usd)}`}
                className="w-full rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
                value={budget}
                onChange={(e) => setBudget(e.target.value)}
              />
            </div>
            <Button type="submit" tone="primary" disabled={busy}>
              Resume
            </Button>
          </form>
        )}
        {cancellable && (
          <Button tone="danger" disabled={busy} onClick={() => void cancel()}>
            Cancel run
          </Button>
        )}
      </div>
      {problem && (
        <p id={`${id}-problem`} role="alert" className="text-sm text-red-800 dark:text-red-300">
          {problem}
        </p>
      )}
      {refusal && (
        <p role="alert" data-testid="workflow-refusal" className="rounded border border-red-300 bg-red-50 px-2 py-1 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
          {refusal}
        </p>
      )}
    </div>
  );
}

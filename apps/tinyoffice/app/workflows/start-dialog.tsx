'use client';
/**
 * Start a registered workflow (docs/tinyoffice.md, "Workflows"): a modal (the native <dialog>:
 * focus kept inside, Escape closes) with a form made from the workflow's input schema
 * (input-form.tsx), an optional budget in USD and in tokens, and beside Start the forecast of
 * what the run would cost (forecast.tsx); a budget below its high end says so. Start checks what
 * a form can check first (nothing is sent while a field is wrong); the daemon's refusal of the
 * input (`VALIDATION_FAILED`, `body.input.files.0`) is shown at the fields it names.
 */
import { type FormEvent, useEffect, useMemo, useRef, useState } from 'react';
import type { RegisteredWorkflow, WorkflowForecast, WorkflowRun } from '@tinyagi/client';
import { described, FieldFrame, focusField, INPUT, IssueSummary } from '@/components/form';
import { Button, money } from '@/components/ui';
import { api } from '@/lib/api';
import { type FieldIssues, fromApiError } from '@/lib/field-issues';
import { fieldPaths, formOf, type FormValues, initialValues, inputOf, placeIssues } from '@/lib/json-schema-form';
import { refusalText } from '@/lib/refusal';
import { ForecastView, useForecast } from './forecast';
import { InputFields } from './input-form';

const BUDGET_USD = 'budgetUsd';
const BUDGET_TOKENS = 'budgetTokens';

interface Budget {
  usd: string;
  tokens: string;
}

/** The budget fields as the body gives them, or their problems. */
function budgetOf(budget: Budget): { body: { budgetUsd?: number; budgetTokens?: number }; issues: FieldIssues } {
  const body: { budgetUsd?: number; budgetTokens?: number } = {};
  const issues: FieldIssues = {};
  const usd = budget.usd.trim();
  const tokens = budget.tokens.trim();
  if (usd !== '') {
    const n = Number(usd);
    if (Number.isFinite(n) && n > 0) body.budgetUsd = n;
    else issues[BUDGET_USD] = ['must be an amount of US dollars above 0, such as 5 or 2.50'];
  }
  if (tokens !== '') {
    const n = Number(tokens);
    if (Number.isInteger(n) && n > 0) body.budgetTokens = n;
    else issues[BUDGET_TOKENS] = ['must be a whole number of tokens above 0'];
  }
  return { body, issues };
}

export function StartDialog({ workflow, onStarted, onClose }: { workflow: RegisteredWorkflow; onStarted: (run: WorkflowRun) => void; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const form = useMemo(() => formOf(workflow.input), [workflow.input]);
  const [values, setValues] = useState<FormValues>(() => initialValues(form));
  const [budget, setBudget] = useState<Budget>({ usd: '', tokens: '' });
  const [issues, setIssues] = useState<FieldIssues>({});
  const [refusal, setRefusal] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
  }, []);

  const read = useMemo(() => inputOf(form, values), [form, values]);
  const forecast = useForecast(workflow.name, read.value, Object.keys(read.issues).length === 0);
  const order = useMemo(() => [...fieldPaths(form), BUDGET_USD, BUDGET_TOKENS], [form]);

  /** An edited field's problems go with the edit (the rest stay until the next Start). */
  const forget = (path: string) =>
    setIssues((all) => {
      if (!(path in all)) return all;
      const { [path]: _gone, ...rest } = all;
      return rest;
    });
  const change = (path: string, value: string | boolean) => {
    setValues((v) => ({ ...v, [path]: value }));
    forget(path);
  };

  const refuse = (found: FieldIssues) => {
    setIssues(found);
    const first = order.find((p) => found[p] !== undefined);
    // After React has rendered the problems (aria-describedby must name them when focus lands).
    if (first) requestAnimationFrame(() => focusField(first));
  };

  async function start(e: FormEvent) {
    e.preventDefault();
    const limits = budgetOf(budget);
    const local = { ...read.issues, ...limits.issues };
    setRefusal(null);
    if (Object.keys(local).length > 0) return refuse(local);
    setBusy(true);
    setIssues({});
    try {
      const body = { workflow: workflow.name, ...(read.value === undefined ? {} : { input: read.value }), ...limits.body };
      const { run } = await api().startWorkflow({ body });
      onStarted(run);
      dialog.current?.close();
    } catch (err) {
      // `body.input.files.0` -> `input.files.0`, shown at the list of files; `body.budgetUsd` at the budget.
      const mapped = fromApiError(err, ['body.']);
      if (mapped === null) setRefusal(refusalText(err));
      else refuse(placeIssues(mapped, form));
    } finally {
      setBusy(false);
    }
  }

  return (
    <dialog
      ref={dialog}
      aria-labelledby="start-dialog-title"
      data-testid="start-dialog"
      onClose={onClose}
      className="m-auto max-h-[calc(100dvh-1rem)] w-[min(40rem,calc(100vw-1rem))] overflow-hidden rounded-lg border border-slate-200 bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-950/50 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100"
    >
      <form onSubmit={(e) => void start(e)} noValidate className="flex max-h-[calc(100dvh-1rem)] flex-col">
        <div className="space-y-1 border-b border-slate-200 px-3 py-3 sm:px-4 dark:border-slate-700">
          <h2 id="start-dialog-title" className="font-semibold">
            Start {workflow.name}
          </h2>
          {workflow.description && <p className="text-sm text-slate-700 dark:text-slate-200">{workflow.description}</p>}
          <p className="break-all font-mono text-xs text-slate-600 dark:text-slate-300">{workflow.file}</p>
        </div>
        <div className="min-h-0 flex-1 space-y-4 overflow-y-auto px-3 py-3 sm:px-4">
          <InputFields field={form} values={values} issues={issues} onChange={change} />
          <BudgetFields
            budget={budget}
            issues={issues}
            forecast={forecast.kind === 'ready' ? forecast.forecast : null}
            onChange={(next, path) => {
              setBudget(next);
              forget(path);
            }}
          />
        </div>
        <div className="flex flex-wrap items-center gap-2 border-t border-slate-200 px-3 py-3 sm:px-4 dark:border-slate-700">
          {/* Beside Start, in view however far the form is scrolled: what the run is expected to cost. */}
          <ForecastView state={forecast} />
          <IssueSummary issues={issues} placed={new Set(order)} />
          {refusal && (
            <p role="alert" data-testid="start-refusal" className="w-full rounded border border-red-300 bg-red-50 px-2 py-1 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
              {refusal}
            </p>
          )}
          <Button type="submit" tone="primary" disabled={busy}>
            {busy ? 'Starting…' : 'Start'}
          </Button>
          <Button onClick={() => dialog.current?.close()}>Cancel</Button>
        </div>
      </form>
    </dialog>
  );
}

/** The run's optional limits; beside each, whether it is below the forecast's high end (the run may pause at it). */
function BudgetFields({ budget, issues, forecast, onChange }: { budget: Budget; issues: FieldIssues; forecast: WorkflowForecast | null; onChange: (b: Budget, path: string) => void }) {
  const usd = Number(budget.usd.trim());
  const tokens = Number(budget.tokens.trim());
  const usdShort = forecast !== null && budget.usd.trim() !== '' && usd > 0 && usd < forecast.costUsd.high;
  const tokensShort = forecast !== null && budget.tokens.trim() !== '' && tokens > 0 && tokens < forecast.tokens.high;
  return (
    <fieldset className="space-y-2 rounded border border-slate-200 p-3 dark:border-slate-700">
      <legend className="px-1 text-sm font-medium">Budget (optional)</legend>
      <p className="text-xs text-slate-600 dark:text-slate-300">The run pauses before a new step once it has spent either; empty: no limit.</p>
      <div className="grid gap-3 sm:grid-cols-2">
        <BudgetField
          path={BUDGET_USD}
          label="USD"
          value={budget.usd}
          issues={issues}
          warning={usdShort ? `Below the forecast’s high end, ${money(forecast.costUsd.high)}: the run may pause at this budget.` : null}
          onChange={(v) => onChange({ ...budget, usd: v }, BUDGET_USD)}
        />
        <BudgetField
          path={BUDGET_TOKENS}
          label="Tokens"
          value={budget.tokens}
          issues={issues}
          warning={tokensShort ? `Below the forecast’s high end, ${forecast.tokens.high.toLocaleString('en-US')} tokens: the run may pause at this budget.` : null}
          onChange={(v) => onChange({ ...budget, tokens: v }, BUDGET_TOKENS)}
        />
      </div>
    </fieldset>
  );
}

function BudgetField({ path, label, value, issues, warning, onChange }: { path: string; label: string; value: string; issues: FieldIssues; warning: string | null; onChange: (v: string) => void }) {
  // The warning (a budget below the forecast) is the field's hint.
  const hint = warning ? (
    <span data-testid={`budget-warning-${path}`} className="text-amber-900 dark:text-amber-200">
      {warning}
    </span>
  ) : undefined;
  return (
    <FieldFrame path={path} label={label} issues={issues} hint={hint}>
      <input
        {...described(path, issues, hint !== undefined)}
        inputMode={path === BUDGET_USD ? 'decimal' : 'numeric'}
        autoComplete="off"
        placeholder="no limit"
        className={INPUT}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
    </FieldFrame>
  );
}

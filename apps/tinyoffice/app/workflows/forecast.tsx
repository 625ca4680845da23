'use client';
/**
 * A registered workflow's cost before it starts (docs/workflows.md, "Forecast"): asked of the
 * daemon (`POST /api/workflows/forecast`) once the input has stayed the same for a moment and the
 * form finds nothing wrong with it, again at each change after that; an answer to an older input
 * is dropped. Shown as a range in USD with the steps planned and how many have no history to be
 * priced from, the daemon's note when the plan did not reach the program's end, what past runs of
 * the workflow cost, and each agent's share (folded).
 */
import { useEffect, useState } from 'react';
import type { WorkflowForecast } from '@tinyagi/client';
import { api } from '@/lib/api';
import { fromApiError } from '@/lib/field-issues';
import { refusalText } from '@/lib/refusal';
import { money, plural } from '@/components/ui';

/** How long the input stays the same before it is forecast: typing does not send a request a key. */
const SETTLE_MS = 400;

export type ForecastState = { kind: 'waiting' } | { kind: 'loading'; last: WorkflowForecast | null } | { kind: 'ready'; forecast: WorkflowForecast } | { kind: 'failed'; error: string };

/** The forecast of `workflow` with `input`; `ready`: the form finds nothing wrong with the input (else nothing is asked). */
export function useForecast(workflow: string, input: unknown, ready: boolean): ForecastState {
  const [state, setState] = useState<ForecastState>({ kind: 'waiting' });
  // The body's input by value (`{}` when there is none): a new object each render is the same input.
  const key = ready ? JSON.stringify({ input }) : null;
  useEffect(() => {
    if (key === null) {
      setState({ kind: 'waiting' });
      return;
    }
    let live = true;
    setState((s) => ({ kind: 'loading', last: s.kind === 'ready' ? s.forecast : s.kind === 'loading' ? s.last : null }));
    const timer = setTimeout(() => {
      const body = { workflow, ...(JSON.parse(key) as { input?: unknown }) };
      // Inside the chain, so that anything the call throws ends as a failed forecast, not a forecast that never comes.
      Promise.resolve()
        .then(() => api().forecastWorkflow({ body }))
        .then(({ forecast }) => live && setState({ kind: 'ready', forecast }))
        .catch((err: unknown) => live && setState({ kind: 'failed', error: forecastRefusal(err) }));
    }, SETTLE_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [workflow, key]);
  return state;
}

/** The daemon's refusal; of the input, its problems alone (`input.topic: …`), not the whole message that repeats them. */
function forecastRefusal(err: unknown): string {
  // A refusal with issues is the input's (VALIDATION_FAILED); the code is not named here, so the
  // contract's chunk stays the only one that carries the codes (agents-settings.spec finds it so).
  const issues = fromApiError(err, ['body.']);
  if (issues === null) return refusalText(err);
  const problems = Object.entries(issues).map(([path, messages]) => `${path || 'input'}: ${messages.join('; ')}`);
  return `the daemon refuses this input (${problems.join(' · ')})`;
}

const range = (low: number, high: number, show: (n: number) => string) => (low === high ? show(low) : `${show(low)}–${show(high)}`);
const usd = (low: number, high: number) => range(low, high, money);
const tokens = (low: number, high: number) => `${range(low, high, (n) => n.toLocaleString('en-US'))} tokens`;

/** `Forecast: $0.12–$0.40 (3 steps; 1 with no history)`, or `Forecast: 3 steps, not priced` when no step has history ($0 would read as free). */
export function forecastLine(f: WorkflowForecast): string {
  if (f.steps > 0 && f.unpriced === f.steps) return `Forecast: ${plural(f.steps, 'step')}, not priced`;
  const unpriced = f.unpriced > 0 ? `; ${f.unpriced} with no history` : '';
  return `Forecast: ${money(f.costUsd.low)}–${money(f.costUsd.high)} (${plural(f.steps, 'step')}${unpriced})`;
}

export function ForecastView({ state }: { state: ForecastState }) {
  const shown = state.kind === 'ready' ? state.forecast : state.kind === 'loading' ? state.last : null;
  return (
    <section
      aria-label="Forecast"
      data-testid="workflow-forecast"
      data-state={state.kind}
      className="max-h-[40dvh] w-full space-y-1 overflow-y-auto rounded border border-slate-200 bg-slate-50 px-3 py-2 text-sm dark:border-slate-700 dark:bg-slate-800/50"
    >
      <div aria-live="polite" className="space-y-1">
        {state.kind === 'waiting' && <p className="text-slate-600 dark:text-slate-300">The forecast comes once the input is complete.</p>}
        {state.kind === 'failed' && (
          <p data-testid="forecast-error" className="text-red-800 dark:text-red-300">
            No forecast: {state.error}
          </p>
        )}
        {state.kind === 'loading' && shown === null && <p className="text-slate-600 dark:text-slate-300">Forecasting…</p>}
        {shown && <ForecastSummary forecast={shown} stale={state.kind === 'loading'} />}
      </div>
      {shown && shown.agents.length > 0 && <AgentShares forecast={shown} />}
    </section>
  );
}

function ForecastSummary({ forecast: f, stale }: { forecast: WorkflowForecast; stale: boolean }) {
  return (
    <div className={stale ? 'opacity-60' : undefined}>
      <p data-testid="forecast-summary" className="font-medium">
        {forecastLine(f)}
      </p>
      <p className="text-xs text-slate-600 dark:text-slate-300">
        {f.steps > 0 && f.unpriced === f.steps ? (
          'No past run of their agents’ runtime and model prices them yet.'
        ) : (
          <>
            {tokens(f.tokens.low, f.tokens.high)}
            {f.unpriced > 0 ? '; a step with no past run of its agent’s runtime and model is not in the range.' : '.'}
          </>
        )}
      </p>
      {!f.complete && f.note && (
        <p data-testid="forecast-note" className="text-amber-900 dark:text-amber-200">
          {f.note}
        </p>
      )}
      {f.pastRuns && (
        <p data-testid="forecast-past" className="text-xs text-slate-600 dark:text-slate-300">
          Past runs of this workflow: {f.pastRuns.runs}, costing {usd(f.pastRuns.costUsd.low, f.pastRuns.costUsd.high)} ({tokens(f.pastRuns.tokens.low, f.pastRuns.tokens.high)}).
        </p>
      )}
    </div>
  );
}

function AgentShares({ forecast }: { forecast: WorkflowForecast }) {
  return (
    <details data-testid="forecast-agents" className="text-xs">
      <summary className="cursor-pointer text-slate-700 dark:text-slate-200">By agent ({forecast.agents.length})</summary>
      <div className="mt-1 overflow-x-auto">
        <table className="w-full text-left">
          <thead className="text-slate-600 dark:text-slate-300">
            <tr>
              <th className="py-0.5 pr-3 font-medium">Agent</th>
              <th className="py-0.5 pr-3 font-medium">Runtime</th>
              <th className="py-0.5 pr-3 font-medium">Steps</th>
              <th className="py-0.5 pr-3 font-medium">Past runs</th>
              <th className="py-0.5 font-medium">Cost</th>
            </tr>
          </thead>
          <tbody>
            {forecast.agents.map((a) => (
              <tr key={a.agentId} data-agent={a.agentId} className="border-t border-slate-200 dark:border-slate-700">
                <td className="py-0.5 pr-3">@{a.agentId}</td>
                <td className="py-0.5 pr-3">{a.provider === null ? 'no such agent' : `${a.provider}${a.model ? ` · ${a.model}` : ''}`}</td>
                <td className="py-0.5 pr-3">{a.steps}</td>
                <td className="py-0.5 pr-3">{a.samples}</td>
                <td className="py-0.5">{a.samples === 0 ? 'no history' : `${usd(a.costUsd.low, a.costUsd.high)} · ${tokens(a.tokens.low, a.tokens.high)}`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

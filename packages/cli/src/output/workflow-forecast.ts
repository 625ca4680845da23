/**
 * A workflow's forecast as text (docs/workflows.md, "Forecast"): `workflow forecast` prints it
 * whole, `workflow run` its summary (and a warning when the budget is below its high) before it
 * starts the run.
 *
 *   Forecast: $0.0400–$2.0000, 1200–40000 tok for 5 steps (1 with no past run, not counted)
 *   AGENT    RUNTIME           STEPS    PRICED FROM   COST
 *   @writer  mock              4 steps  4 past runs   $0.0400–$2.0000
 *   @other   mock other-model  1 step   0 past runs   -
 *   Past runs of review: 3, $0.0300–$0.0500, 900–1200 tok
 */
import type { WorkflowForecast } from '@tinyagi/client';
import { plural } from './print.ts';
import { formatUsd } from './workflow-tree.ts';

const range = (r: { low: number; high: number }, unit: (n: number) => string): string => (r.low === r.high ? unit(r.low) : `${unit(r.low)}–${unit(r.high)}`);
const usd = (r: { low: number; high: number }): string => range(r, formatUsd);
const tok = (r: { low: number; high: number }): string => `${range(r, String)} tok`;

/**
 * `Forecast: $0.04–$2.00, 1200–40000 tok for 5 steps (1 with no past run, not counted)`, or no
 * price at all when no step has a past run (a range of $0 would read as free), and why the plan
 * is not whole.
 */
export function forecastSummary(forecast: WorkflowForecast): string[] {
  const steps = plural(forecast.steps, 'step');
  const lines =
    forecast.steps > 0 && forecast.unpriced === forecast.steps
      ? [`Forecast: ${steps}, not priced: no past run of their agents' runtime and model`]
      : [`Forecast: ${usd(forecast.costUsd)}, ${tok(forecast.tokens)} for ${steps}${forecast.unpriced === 0 ? '' : ` (${forecast.unpriced} with no past run, not counted)`}`];
  if (forecast.note) lines.push(`The plan is not whole: ${forecast.note}`);
  return lines;
}

/** A row per agent: its runtime, its steps, the past runs that price them and its range. */
export function forecastAgentRows(forecast: WorkflowForecast): string[][] {
  return forecast.agents.map((a) => [
    `@${a.agentId}`,
    a.provider === null ? '(no such agent)' : `${a.provider}${a.model ? ` ${a.model}` : ''}`,
    plural(a.steps, 'step'),
    plural(a.samples, 'past run'),
    a.samples === 0 ? '-' : usd(a.costUsd),
  ]);
}

/** `Past runs of review: 3, $0.03–$0.05, 900–1200 tok`, or undefined when it has none. */
export function pastRunsLine(forecast: WorkflowForecast, name: string): string | undefined {
  const past = forecast.pastRuns;
  return past ? `Past runs of ${name}: ${past.runs}, ${usd(past.costUsd)}, ${tok(past.tokens)}` : undefined;
}

/** A warning when the budget is below what the run may cost (its pause then comes before the end). */
export function budgetWarning(forecast: WorkflowForecast, budgetUsd: number | undefined): string | undefined {
  if (budgetUsd === undefined || forecast.costUsd.high <= budgetUsd) return undefined;
  const where = forecast.costUsd.low > budgetUsd ? 'below even its low' : 'below its high';
  return `The budget ${formatUsd(budgetUsd)} is ${where}: the run may pause at it (resume it with a larger --budget).`;
}

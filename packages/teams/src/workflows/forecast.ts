/**
 * A workflow's forecast (docs/workflows.md, "Forecast"): what a run would cost, before it starts.
 * - The plan: the program runs once over a journal of its own in memory, with no agent run. An
 *   agent step gives a stand-in reply (`""`, or `null` with a schema), a task step a passed
 *   outcome, and a `step` runs only when marked `readOnly` (else it gives `undefined`). A program
 *   that decides on a stand-in may plan another path than its run takes, or stop: the plan says
 *   so (`complete: false`, `note`), and is cut at PLAN_STEPS_MAX steps or PLAN_MS.
 * - The price: each planned agent or task step from the newest finished runs of its agent's
 *   provider and model, those whose prompt was of similar length when there are enough. A step is
 *   between the 10th and the 90th percentile of those runs' cost (a task step's high counts its
 *   project's rounds); a step with no such run is `unpriced`, outside the range.
 * - Beside it, what the newest finished runs of the same workflow cost.
 */
import type { WorkflowFunction } from '@tinyagi/client';
import { DEFAULT_MAX_ROUNDS, type WorkflowForecast, type WorkflowForecastAgent } from '@tinyagi/client/contract';
import { errorMessage, type Settings } from '@tinyagi/core';
import { agentModel, agentProvider, ownEntry, type StoreSet, type WorkflowStepRecord } from '../core-internal.ts';
import { ProgramContext, RunStop, type StepHost } from './program-context.ts';

/** The most steps a plan holds (a program that loops on a stand-in reply would go on). */
export const PLAN_STEPS_MAX = 2_000;
/** How long a plan may take (a step marked read-only that waits on the network, say). */
const PLAN_MS = 10_000;
/** The finished runs of a provider and model a step is priced from. */
const SAMPLES = 200;
/** Enough runs of a similar prompt length to price from them alone. */
const SIMILAR_MIN = 5;
/** The finished runs of the same workflow the forecast shows beside its own. */
const PAST_RUNS = 20;

/** A step the plan met that would run an agent. */
export interface PlannedStep {
  kind: 'agent' | 'task';
  agentId: string;
  /** The prompt's length (a task's title and description). */
  chars: number;
  /** A task step's project (for its rounds). */
  project?: string;
}

export interface Plan {
  steps: PlannedStep[];
  complete: boolean;
  note: string | null;
}

const STAND_IN_OUTCOME = { taskId: '', identifier: '', agent: '', outcome: 'passed', reason: null, branch: null, headSha: null, additions: 1, deletions: 0 } as const;

/** Runs the program over an in-memory journal with stand-in results, recording the steps that would run an agent. */
export async function planProgram(program: WorkflowFunction, input: unknown): Promise<Plan> {
  const steps: PlannedStep[] = [];
  const journal = new Map<string, WorkflowStepRecord>();
  const abort = new AbortController();
  let cut: string | null = null;
  const free = (output: unknown) => Promise.resolve({ output, costUsd: 0, tokens: 0 });
  const host: StepHost = {
    runId: 'forecast',
    signal: abort.signal,
    journal: {
      getStep: (_run, id) => journal.get(id),
      beginStep: (s) => {
        const step: WorkflowStepRecord = {
          ...s,
          seq: journal.size,
          attempt: 1,
          status: 'running',
          conversationId: null,
          taskId: null,
          output: null,
          error: null,
          costUsd: 0,
          tokens: 0,
          startedAt: 0,
          endedAt: null,
        };
        journal.set(s.stepId, step);
        return { step, created: true };
      },
      updateStep: () => undefined,
      retryStep: () => 1,
    },
    beforeNewStep: async () => {
      if (steps.length >= PLAN_STEPS_MAX) cut ??= `The plan was cut at ${PLAN_STEPS_MAX} agent and task steps: the program goes on (a loop on a reply's value?).`;
      if (cut) throw new RunStop('paused', cut);
    },
    runAgent: (step, prompt, options) => {
      steps.push({ kind: 'agent', agentId: step.agentId!, chars: prompt.length });
      return free(options.schema ? null : '');
    },
    runTask: (step, spec) => {
      steps.push({ kind: 'task', agentId: spec.agent, chars: spec.title.length + (spec.description?.length ?? 0), project: spec.project });
      return free({ ...STAND_IN_OUTCOME, taskId: step.stepId, agent: spec.agent, identifier: spec.title });
    },
    runStep: async (fn, { readOnly }) => (readOnly ? fn() : (undefined as never)),
    diffs: async (taskIds) => taskIds.map(() => ''),
    setAside: async () => {},
    merge: async () => ({ merged: false, error: null }),
    stepChanged: () => {},
    log: () => {},
  };
  const context = new ProgramContext(host);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), PLAN_MS);
  });
  try {
    const ended = await Promise.race([context.run(() => program(context.api(), input)).then(() => 'done' as const), timeout]);
    if (ended === 'timeout') {
      cut = `The plan was cut after ${PLAN_MS / 1000} s: a step marked read-only, or the program outside its steps, kept it waiting.`;
      abort.abort(new Error(cut));
    }
  } catch (err) {
    cut ??= `The plan stopped where the program used a stand-in result: ${errorMessage(err)}. A step that only reads (a list of files) runs in a forecast when marked wf.step(name, fn, { readOnly: true }).`;
  } finally {
    clearTimeout(timer);
  }
  return { steps, complete: cut === null, note: cut };
}

type Sample = { chars: number; costUsd: number; tokens: number };

/** The value at fraction `q` of the sorted values (nearest rank). */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** A step's low and high from the runs of its provider and model: those of a similar prompt length when there are enough. */
function priceStep(samples: readonly Sample[], chars: number): { cost: [number, number]; tokens: [number, number] } | undefined {
  if (samples.length === 0) return undefined;
  const similar = samples.filter((s) => s.chars >= chars / 2 && s.chars <= chars * 2);
  const from = similar.length >= SIMILAR_MIN ? similar : samples;
  const costs = from.map((s) => s.costUsd).sort((a, b) => a - b);
  const tokens = from.map((s) => s.tokens).sort((a, b) => a - b);
  return { cost: [quantile(costs, 0.1), quantile(costs, 0.9)], tokens: [quantile(tokens, 0.1), quantile(tokens, 0.9)] };
}

export interface ForecastDeps {
  settings: () => Settings;
  stores: Pick<StoreSet, 'runs' | 'workflows' | 'tasks'>;
}

/** The provider and model an agent runs on now (null for an agent that does not exist). */
function runtimeOf(settings: Settings, agentId: string): { provider: string | null; model: string | null } {
  const agent = ownEntry(settings.agents, agentId);
  if (!agent) return { provider: null, model: null };
  return { provider: agentProvider(settings, agent), model: agentModel(settings, agentId) };
}

/** A task's rounds at most: its project's `maxRounds`. */
async function roundsOf(stores: ForecastDeps['stores'], project: string | undefined, cache: Map<string, number>): Promise<number> {
  if (project === undefined) return 1;
  let rounds = cache.get(project);
  if (rounds === undefined) {
    const found = (await stores.tasks.getProject(project)) ?? (await stores.tasks.listProjects()).find((p) => p.name === project);
    rounds = found?.repo?.maxRounds ?? DEFAULT_MAX_ROUNDS;
    cache.set(project, rounds);
  }
  return rounds;
}

/** Prices a plan from the runs store, per agent, and adds the same workflow's past runs. */
export async function priceForecast(deps: ForecastDeps, plan: Plan, workflowName: string): Promise<WorkflowForecast> {
  const settings = deps.settings();
  const agents = new Map<string, WorkflowForecastAgent & { samplesOf: Sample[] }>();
  const rounds = new Map<string, number>();
  let unpriced = 0;
  for (const step of plan.steps) {
    let agent = agents.get(step.agentId);
    if (!agent) {
      const { provider, model } = runtimeOf(settings, step.agentId);
      const samplesOf = provider === null ? [] : await deps.stores.runs.costSamples(provider, model ?? '', SAMPLES);
      agent = { agentId: step.agentId, provider, model: model || null, steps: 0, samples: samplesOf.length, costUsd: { low: 0, high: 0 }, tokens: { low: 0, high: 0 }, samplesOf };
      agents.set(step.agentId, agent);
    }
    agent.steps += 1;
    const price = priceStep(agent.samplesOf, step.chars);
    if (!price) {
      unpriced += 1;
      continue;
    }
    const times = step.kind === 'task' ? await roundsOf(deps.stores, step.project, rounds) : 1;
    agent.costUsd.low += price.cost[0];
    agent.costUsd.high += price.cost[1] * times;
    agent.tokens.low += price.tokens[0];
    agent.tokens.high += price.tokens[1] * times;
  }
  const shares = [...agents.values()].map(({ samplesOf: _samples, ...share }) => share);
  const sum = (pick: (a: WorkflowForecastAgent) => number) => shares.reduce((total, a) => total + pick(a), 0);
  return {
    costUsd: { low: sum((a) => a.costUsd.low), high: sum((a) => a.costUsd.high) },
    tokens: { low: Math.round(sum((a) => a.tokens.low)), high: Math.round(sum((a) => a.tokens.high)) },
    steps: plan.steps.length,
    unpriced,
    complete: plan.complete,
    note: plan.note,
    agents: shares.map((a) => ({ ...a, tokens: { low: Math.round(a.tokens.low), high: Math.round(a.tokens.high) } })),
    pastRuns: await pastRunsOf(deps.stores, workflowName),
  };
}

/** The cost of the newest finished runs of the workflow `name`, or null when there is none. */
async function pastRunsOf(stores: ForecastDeps['stores'], name: string): Promise<WorkflowForecast['pastRuns']> {
  const runs = await stores.workflows.listRuns({ status: 'completed', name, limit: PAST_RUNS });
  if (runs.length === 0) return null;
  const totals = [...(await stores.workflows.totals(runs.map((r) => r.id))).values()];
  const costs = totals.map((t) => t.costUsd);
  const tokens = totals.map((t) => t.tokens);
  return { runs: runs.length, costUsd: { low: Math.min(...costs), high: Math.max(...costs) }, tokens: { low: Math.min(...tokens), high: Math.max(...tokens) } };
}

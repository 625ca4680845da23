/**
 * Workflow runs and their journal (docs/workflows.md; the engine is teams' `Workflows`).
 *
 * Contract:
 * - A step is written before it starts (`beginStep`, insert if absent on (run, step id)): of two
 *   callers of the same step only one gets `created: true`, so a step is started once, whatever
 *   crashes and replays come between. Its record says what the call was (`fingerprint`), and a
 *   failed step is started again only through `retryFailedSteps`, and a running one whose agent's
 *   message was lost with its worker through `retryStep`, each as a new attempt.
 * - A run is driven by one owner at a time: `claimRun` takes it only when nobody holds it, its
 *   holder's lease is over, or it is the holder's own; `renewLeases` keeps a holder's runs.
 * - JSON columns (input, result, output) hold `JSON.stringify` of the value; `undefined` is stored as null.
 */
import type { WorkflowRunStatus, WorkflowStepKind, WorkflowStepStatus } from '@tinyagi/client/contract';
import type { WorkflowRunRow, WorkflowStepRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';

/** Who a run's agent and task steps must be reachable by, when an agent started it (teams' guards/confinement.ts `RunChain`). */
export interface WorkflowRunChain {
  /** The agents whose confinement its agent steps run under. */
  confinedBy: string[];
  /** The agents up the chain that started it, its starter last: each one's `may_call` must allow a step's agent. */
  callers: string[];
}

export interface WorkflowRunRecord {
  id: string;
  name: string;
  file: string;
  /** The registered workflow it was started as; null for a module started by its path. */
  registered: string | null;
  /** `person`, or the agent whose run started it. */
  startedBy: string;
  /** What an agent-started run's steps are held to; null when a person started it. */
  chain: WorkflowRunChain | null;
  /** The conversation of the agent run that started it; null when a person did. */
  conversationId: string | null;
  input: unknown;
  status: WorkflowRunStatus;
  result: unknown;
  reason: string | null;
  budgetUsd: number | null;
  budgetTokens: number | null;
  owner: string | null;
  leaseUntil: number | null;
  createdAt: number;
  updatedAt: number;
  endedAt: number | null;
}

export interface WorkflowStepRecord {
  runId: string;
  stepId: string;
  seq: number;
  kind: WorkflowStepKind;
  agentId: string | null;
  label: string;
  fingerprint: string;
  attempt: number;
  status: WorkflowStepStatus;
  conversationId: string | null;
  taskId: string | null;
  output: unknown;
  error: string | null;
  costUsd: number;
  tokens: number;
  startedAt: number;
  endedAt: number | null;
}

/** What a run has spent and how its steps stand. */
export interface WorkflowRunTotals {
  costUsd: number;
  tokens: number;
  total: number;
  running: number;
  completed: number;
  failed: number;
}

export interface NewWorkflowRun {
  id: string;
  name: string;
  file: string;
  registered?: string | null;
  /** Default `person`. */
  startedBy?: string;
  chain?: WorkflowRunChain | null;
  conversationId?: string | null;
  input: unknown;
  budgetUsd: number | null;
  budgetTokens: number | null;
  owner: string;
  leaseUntil: number;
}

export interface NewWorkflowStep {
  runId: string;
  stepId: string;
  kind: WorkflowStepKind;
  agentId: string | null;
  label: string;
  fingerprint: string;
}

export type WorkflowRunPatch = Partial<Pick<WorkflowRunRecord, 'status' | 'result' | 'reason' | 'budgetUsd' | 'budgetTokens' | 'endedAt' | 'owner' | 'leaseUntil'>>;
export type WorkflowStepPatch = Partial<Pick<WorkflowStepRecord, 'status' | 'conversationId' | 'taskId' | 'output' | 'error' | 'costUsd' | 'tokens' | 'endedAt'>>;

export interface WorkflowStoreApi {
  createRun(input: NewWorkflowRun): Awaitable<WorkflowRunRecord>;
  getRun(id: string): Awaitable<WorkflowRunRecord | undefined>;
  /** Newest first. */
  listRuns(query?: WorkflowRunQuery): Awaitable<WorkflowRunRecord[]>;
  /**
   * The run after the patch, or undefined when there is none, or when `from` is given and the run's
   * status is not one of it (another node or request changed it first: nothing is written).
   */
  updateRun(id: string, patch: WorkflowRunPatch, from?: readonly WorkflowRunStatus[]): Awaitable<WorkflowRunRecord | undefined>;
  /** Takes a `running` run for `owner` when nobody holds it, its lease ended before `now`, or `owner` holds it; whether it did. */
  claimRun(id: string, owner: string, leaseUntil: number, now: number): Awaitable<boolean>;
  /** The `running` runs nobody holds at `now` (oldest first). */
  claimableRuns(now: number, limit?: number): Awaitable<string[]>;
  renewLeases(owner: string, leaseUntil: number): Awaitable<void>;
  /** Lets go of every run held by an owner whose id starts with `prefix` but is not `except` (a node's runs from before its restart). */
  releaseRunsOf(prefix: string, except: string): Awaitable<void>;
  /** Lets go of a run this owner holds (it is then free to claim at once). */
  releaseRun(id: string, owner: string): Awaitable<void>;
  /** In the order they started. */
  steps(runId: string): Awaitable<WorkflowStepRecord[]>;
  getStep(runId: string, stepId: string): Awaitable<WorkflowStepRecord | undefined>;
  /** Writes the step as `running` unless it exists; the stored step, and whether this call wrote it. */
  beginStep(input: NewWorkflowStep): Awaitable<{ step: WorkflowStepRecord; created: boolean }>;
  updateStep(runId: string, stepId: string, patch: WorkflowStepPatch): Awaitable<void>;
  /** Its failed steps become `running` again as a new attempt (no conversation, no error); how many. */
  retryFailedSteps(runId: string): Awaitable<number>;
  /** A running step becomes its next attempt (no conversation): the attempt it is now. */
  retryStep(runId: string, stepId: string): Awaitable<number>;
  totals(runIds: readonly string[]): Awaitable<Map<string, WorkflowRunTotals>>;
}

/** @internal */
export function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/** @internal */
export function parseJson(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

/** @internal A row as the record (shared with the PostgreSQL store). */
export function toRun(r: WorkflowRunRow): WorkflowRunRecord {
  return {
    id: r.id,
    name: r.name,
    file: r.file,
    registered: r.registered,
    startedBy: r.started_by,
    chain: parseJson(r.chain) as WorkflowRunChain | null,
    conversationId: r.conversation_id,
    input: parseJson(r.input),
    status: r.status as WorkflowRunStatus,
    result: parseJson(r.result),
    reason: r.reason,
    budgetUsd: r.budget_usd,
    budgetTokens: r.budget_tokens,
    owner: r.owner,
    leaseUntil: r.lease_until,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    endedAt: r.ended_at,
  };
}

/** @internal */
export function toStep(r: WorkflowStepRow): WorkflowStepRecord {
  return {
    runId: r.run_id,
    stepId: r.step_id,
    seq: r.seq,
    kind: r.kind as WorkflowStepKind,
    agentId: r.agent_id,
    label: r.label,
    fingerprint: r.fingerprint,
    attempt: r.attempt,
    status: r.status as WorkflowStepStatus,
    conversationId: r.conversation_id,
    taskId: r.task_id,
    output: parseJson(r.output),
    error: r.error,
    costUsd: r.cost_usd,
    tokens: r.tokens,
    startedAt: r.started_at,
    endedAt: r.ended_at,
  };
}

const RUN_COLUMNS: Record<keyof WorkflowRunPatch, string> = {
  status: 'status',
  result: 'result',
  reason: 'reason',
  budgetUsd: 'budget_usd',
  budgetTokens: 'budget_tokens',
  endedAt: 'ended_at',
  owner: 'owner',
  leaseUntil: 'lease_until',
};
const STEP_COLUMNS: Record<keyof WorkflowStepPatch, string> = {
  status: 'status',
  conversationId: 'conversation_id',
  taskId: 'task_id',
  output: 'output',
  error: 'error',
  costUsd: 'cost_usd',
  tokens: 'tokens',
  endedAt: 'ended_at',
};

/** @internal The columns and values of a patch (JSON fields stringified), in one order. */
export function runPatchColumns(patch: WorkflowRunPatch): Array<[string, unknown]> {
  return (Object.keys(patch) as Array<keyof WorkflowRunPatch>).filter((k) => patch[k] !== undefined || k === 'result').map((k) => [RUN_COLUMNS[k], k === 'result' ? json(patch[k]) : patch[k]]);
}

/** @internal */
export function stepPatchColumns(patch: WorkflowStepPatch): Array<[string, unknown]> {
  return (Object.keys(patch) as Array<keyof WorkflowStepPatch>).filter((k) => patch[k] !== undefined || k === 'output').map((k) => [STEP_COLUMNS[k], k === 'output' ? json(patch[k]) : patch[k]]);
}

/** Which runs `listRuns` gives: of a status, of a name (newest first, at most `limit`). */
export interface WorkflowRunQuery {
  status?: WorkflowRunStatus | undefined;
  name?: string | undefined;
  limit?: number | undefined;
}

/** @internal `listRuns`' WHERE clause and its values; `mark(n)` is the n-th placeholder (1-based). */
export function runFilter(query: WorkflowRunQuery, mark: (n: number) => string): { where: string; values: string[] } {
  const values: string[] = [];
  const clauses: string[] = [];
  for (const [column, value] of [
    ['status', query.status],
    ['name', query.name],
  ] as const) {
    if (value === undefined) continue;
    values.push(value);
    clauses.push(`${column} = ${mark(values.length)}`);
  }
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', values };
}

/** @internal Step counts and spend per run, from `SELECT run_id, status, count(*), sum(cost_usd), sum(tokens) … GROUP BY run_id, status`. */
export function totalsOf(rows: Array<{ run_id: string; status: string; n: number; cost: number | null; tokens: number | null }>, runIds: readonly string[]): Map<string, WorkflowRunTotals> {
  const out = new Map<string, WorkflowRunTotals>(runIds.map((id) => [id, { costUsd: 0, tokens: 0, total: 0, running: 0, completed: 0, failed: 0 }]));
  for (const r of rows) {
    const t = out.get(r.run_id);
    if (!t) continue;
    const n = Number(r.n);
    t.total += n;
    t.costUsd += Number(r.cost ?? 0);
    t.tokens += Number(r.tokens ?? 0);
    if (r.status === 'running' || r.status === 'completed' || r.status === 'failed') t[r.status] += n;
  }
  return out;
}

/** @internal The most runs a list returns. */
export const MAX_RUNS = 500;

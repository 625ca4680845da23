/**
 * Workflow runs and their journal on PostgreSQL: the contract of the SQLite `WorkflowStore`
 * (./store.ts), whose records and mapping it shares. Several nodes: a step's insert is
 * `ON CONFLICT DO NOTHING` on (run, step id), so of two nodes replaying one run only one starts a
 * step; a run's claim is one conditional update, so only one node drives it.
 */
import type { WorkflowRunStatus } from '@tinyagi/client/contract';
import type { PgScope } from '../storage/pg/scope.ts';
import type { WorkflowRunRow, WorkflowStepRow } from '../storage/rows.ts';
import {
  json,
  MAX_RUNS,
  type NewWorkflowRun,
  type NewWorkflowStep,
  runFilter,
  runPatchColumns,
  stepPatchColumns,
  toRun,
  toStep,
  totalsOf,
  type WorkflowRunPatch,
  type WorkflowRunQuery,
  type WorkflowRunRecord,
  type WorkflowRunTotals,
  type WorkflowStepPatch,
  type WorkflowStepRecord,
  type WorkflowStoreApi,
} from './store.ts';

export class PgWorkflowStore implements WorkflowStoreApi {
  readonly #scope: PgScope;
  readonly #runs: string;
  readonly #steps: string;

  constructor(scope: PgScope) {
    this.#scope = scope;
    this.#runs = scope.table('workflow_runs');
    this.#steps = scope.table('workflow_steps');
  }

  async createRun(input: NewWorkflowRun): Promise<WorkflowRunRecord> {
    const now = Date.now();
    const [row] = await this.#scope.query<WorkflowRunRow>(
      `INSERT INTO ${this.#runs} (id, name, file, registered, started_by, chain, conversation_id, input, status, budget_usd, budget_tokens, owner, lease_until, created_at, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'running', $9, $10, $11, $12, $13, $13) RETURNING *`,
      [
        input.id,
        input.name,
        input.file,
        input.registered ?? null,
        input.startedBy ?? 'person',
        input.chain ? json(input.chain) : null,
        input.conversationId ?? null,
        json(input.input),
        input.budgetUsd,
        input.budgetTokens,
        input.owner,
        input.leaseUntil,
        now,
      ],
    );
    return toRun(row!);
  }

  async getRun(id: string): Promise<WorkflowRunRecord | undefined> {
    const [row] = await this.#scope.query<WorkflowRunRow>(`SELECT * FROM ${this.#runs} WHERE id = $1`, [id]);
    return row ? toRun(row) : undefined;
  }

  async listRuns(query: WorkflowRunQuery = {}): Promise<WorkflowRunRecord[]> {
    const { where, values } = runFilter(query, (n) => `$${n}`);
    const rows = await this.#scope.query<WorkflowRunRow>(`SELECT * FROM ${this.#runs} ${where} ORDER BY created_at DESC, id DESC LIMIT $${values.length + 1}`, [
      ...values,
      Math.min(query.limit ?? 100, MAX_RUNS),
    ]);
    return rows.map(toRun);
  }

  async updateRun(id: string, patch: WorkflowRunPatch, from?: readonly WorkflowRunStatus[]): Promise<WorkflowRunRecord | undefined> {
    const columns = runPatchColumns(patch);
    const sets = [...columns.map(([c], i) => `${c} = $${i + 1}`), `updated_at = $${columns.length + 1}`];
    const guard = from ? ` AND status = ANY($${columns.length + 3})` : '';
    const values = [...columns.map(([, v]) => v), Date.now(), id, ...(from ? [[...from]] : [])];
    const [row] = await this.#scope.query<WorkflowRunRow>(`UPDATE ${this.#runs} SET ${sets.join(', ')} WHERE id = $${columns.length + 2}${guard} RETURNING *`, values);
    return row ? toRun(row) : undefined;
  }

  async claimRun(id: string, owner: string, leaseUntil: number, now: number): Promise<boolean> {
    const rows = await this.#scope.query(
      `UPDATE ${this.#runs} SET owner = $1, lease_until = $2 WHERE id = $3 AND status = 'running' AND (owner IS NULL OR owner = $1 OR lease_until IS NULL OR lease_until < $4) RETURNING id`,
      [owner, leaseUntil, id, now],
    );
    return rows.length === 1;
  }

  async claimableRuns(now: number, limit = 100): Promise<string[]> {
    const rows = await this.#scope.query<{ id: string }>(
      `SELECT id FROM ${this.#runs} WHERE status = 'running' AND (owner IS NULL OR lease_until IS NULL OR lease_until < $1) ORDER BY created_at LIMIT $2`,
      [now, limit],
    );
    return rows.map((r) => r.id);
  }

  async renewLeases(owner: string, leaseUntil: number): Promise<void> {
    await this.#scope.query(`UPDATE ${this.#runs} SET lease_until = $1 WHERE owner = $2 AND status = 'running'`, [leaseUntil, owner]);
  }

  async releaseRunsOf(prefix: string, except: string): Promise<void> {
    await this.#scope.query(`UPDATE ${this.#runs} SET owner = NULL, lease_until = NULL WHERE left(owner, $1) = $2 AND owner <> $3`, [prefix.length, prefix, except]);
  }

  async releaseRun(id: string, owner: string): Promise<void> {
    await this.#scope.query(`UPDATE ${this.#runs} SET owner = NULL, lease_until = NULL WHERE id = $1 AND owner = $2`, [id, owner]);
  }

  async steps(runId: string): Promise<WorkflowStepRecord[]> {
    return (await this.#scope.query<WorkflowStepRow>(`SELECT * FROM ${this.#steps} WHERE run_id = $1 ORDER BY seq`, [runId])).map(toStep);
  }

  async getStep(runId: string, stepId: string): Promise<WorkflowStepRecord | undefined> {
    const [row] = await this.#scope.query<WorkflowStepRow>(`SELECT * FROM ${this.#steps} WHERE run_id = $1 AND step_id = $2`, [runId, stepId]);
    return row ? toStep(row) : undefined;
  }

  async beginStep(input: NewWorkflowStep): Promise<{ step: WorkflowStepRecord; created: boolean }> {
    // The run's row lock orders the steps' seq between nodes.
    return this.#scope.transaction(async (scope) => {
      await scope.query(`SELECT 1 FROM ${this.#runs} WHERE id = $1 FOR UPDATE`, [input.runId]);
      const inserted = await scope.query<WorkflowStepRow>(
        `INSERT INTO ${this.#steps} (run_id, step_id, seq, kind, agent_id, label, fingerprint, status, started_at)
        SELECT $1, $2, coalesce(max(seq), 0) + 1, $3, $4, $5, $6, 'running', $7 FROM ${this.#steps} WHERE run_id = $1
        ON CONFLICT (run_id, step_id) DO NOTHING RETURNING *`,
        [input.runId, input.stepId, input.kind, input.agentId, input.label, input.fingerprint, Date.now()],
      );
      if (inserted[0]) return { step: toStep(inserted[0]), created: true };
      const [row] = await scope.query<WorkflowStepRow>(`SELECT * FROM ${this.#steps} WHERE run_id = $1 AND step_id = $2`, [input.runId, input.stepId]);
      return { step: toStep(row!), created: false };
    });
  }

  async updateStep(runId: string, stepId: string, patch: WorkflowStepPatch): Promise<void> {
    const columns = stepPatchColumns(patch);
    if (columns.length === 0) return;
    const n = columns.length;
    await this.#scope.query(`UPDATE ${this.#steps} SET ${columns.map(([c], i) => `${c} = $${i + 1}`).join(', ')} WHERE run_id = $${n + 1} AND step_id = $${n + 2}`, [
      ...columns.map(([, v]) => v),
      runId,
      stepId,
    ]);
  }

  async retryStep(runId: string, stepId: string): Promise<number> {
    await this.#scope.query(`UPDATE ${this.#steps} SET attempt = attempt + 1, conversation_id = NULL WHERE run_id = $1 AND step_id = $2 AND status = 'running'`, [runId, stepId]);
    return (await this.getStep(runId, stepId))?.attempt ?? 0;
  }

  async retryFailedSteps(runId: string): Promise<number> {
    const rows = await this.#scope.query(
      `UPDATE ${this.#steps} SET status = 'running', attempt = attempt + 1, conversation_id = NULL, task_id = NULL, output = NULL, error = NULL, ended_at = NULL, started_at = $1 WHERE run_id = $2 AND status = 'failed' RETURNING step_id`,
      [Date.now(), runId],
    );
    return rows.length;
  }

  async totals(runIds: readonly string[]): Promise<Map<string, WorkflowRunTotals>> {
    if (runIds.length === 0) return new Map();
    const rows = await this.#scope.query<{ run_id: string; status: string; n: number; cost: number | null; tokens: number | null }>(
      `SELECT run_id, status, count(*) AS n, sum(cost_usd) AS cost, sum(tokens) AS tokens FROM ${this.#steps} WHERE run_id = ANY($1::text[]) GROUP BY run_id, status`,
      [runIds],
    );
    return totalsOf(rows, runIds);
  }
}

export function pgWorkflowStore(scope: PgScope): PgWorkflowStore {
  return new PgWorkflowStore(scope);
}

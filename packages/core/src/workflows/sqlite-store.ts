/**
 * Workflow runs and their journal on SQLite: `WorkflowStore` over the process's one connection
 * (synchronous). The contract, the records and the row mapping are in ./store.ts.
 */
import type { WorkflowRunStatus } from '@tinyagi/client/contract';
import type { TinyDatabase } from '../storage/database.ts';
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

export class WorkflowStore implements WorkflowStoreApi {
  readonly #db: TinyDatabase;

  constructor(db: TinyDatabase) {
    this.#db = db;
  }

  createRun(input: NewWorkflowRun): WorkflowRunRecord {
    const now = Date.now();
    this.#db.write(() =>
      this.#db
        .prepare(
          `INSERT INTO workflow_runs (id, name, file, registered, started_by, chain, conversation_id, input, status, budget_usd, budget_tokens, owner, lease_until, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)`,
        )
        .run(
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
          now,
        ),
    );
    return this.getRun(input.id)!;
  }

  getRun(id: string): WorkflowRunRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM workflow_runs WHERE id = ?').get(id) as WorkflowRunRow | undefined;
    return row ? toRun(row) : undefined;
  }

  listRuns(query: WorkflowRunQuery = {}): WorkflowRunRecord[] {
    const { where, values } = runFilter(query, () => '?');
    const rows = this.#db.prepare(`SELECT * FROM workflow_runs ${where} ORDER BY created_at DESC, id DESC LIMIT ?`).all(...values, Math.min(query.limit ?? 100, MAX_RUNS)) as WorkflowRunRow[];
    return rows.map(toRun);
  }

  updateRun(id: string, patch: WorkflowRunPatch, from?: readonly WorkflowRunStatus[]): WorkflowRunRecord | undefined {
    const columns = runPatchColumns(patch);
    const guard = from ? ` AND status IN (${from.map(() => '?').join(', ')})` : '';
    const info = this.#db.write(() =>
      this.#db
        .prepare(`UPDATE workflow_runs SET ${[...columns.map(([c]) => `${c} = ?`), 'updated_at = ?'].join(', ')} WHERE id = ?${guard}`)
        .run(...columns.map(([, v]) => v), Date.now(), id, ...(from ?? [])),
    );
    return info.changes === 1 ? this.getRun(id) : undefined;
  }

  claimRun(id: string, owner: string, leaseUntil: number, now: number): boolean {
    const info = this.#db.write(() =>
      this.#db
        .prepare(`UPDATE workflow_runs SET owner = ?, lease_until = ? WHERE id = ? AND status = 'running' AND (owner IS NULL OR owner = ? OR lease_until IS NULL OR lease_until < ?)`)
        .run(owner, leaseUntil, id, owner, now),
    );
    return info.changes === 1;
  }

  claimableRuns(now: number, limit = 100): string[] {
    const rows = this.#db
      .prepare(`SELECT id FROM workflow_runs WHERE status = 'running' AND (owner IS NULL OR lease_until IS NULL OR lease_until < ?) ORDER BY created_at LIMIT ?`)
      .all(now, limit) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  renewLeases(owner: string, leaseUntil: number): void {
    this.#db.write(() => this.#db.prepare(`UPDATE workflow_runs SET lease_until = ? WHERE owner = ? AND status = 'running'`).run(leaseUntil, owner));
  }

  releaseRunsOf(prefix: string, except: string): void {
    this.#db.write(() => this.#db.prepare('UPDATE workflow_runs SET owner = NULL, lease_until = NULL WHERE substr(owner, 1, ?) = ? AND owner != ?').run(prefix.length, prefix, except));
  }

  releaseRun(id: string, owner: string): void {
    this.#db.write(() => this.#db.prepare('UPDATE workflow_runs SET owner = NULL, lease_until = NULL WHERE id = ? AND owner = ?').run(id, owner));
  }

  steps(runId: string): WorkflowStepRecord[] {
    return (this.#db.prepare('SELECT * FROM workflow_steps WHERE run_id = ? ORDER BY seq').all(runId) as WorkflowStepRow[]).map(toStep);
  }

  getStep(runId: string, stepId: string): WorkflowStepRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM workflow_steps WHERE run_id = ? AND step_id = ?').get(runId, stepId) as WorkflowStepRow | undefined;
    return row ? toStep(row) : undefined;
  }

  beginStep(input: NewWorkflowStep): { step: WorkflowStepRecord; created: boolean } {
    const info = this.#db.write(() =>
      this.#db
        .prepare(
          `INSERT INTO workflow_steps (run_id, step_id, seq, kind, agent_id, label, fingerprint, status, started_at)
          SELECT ?, ?, coalesce(max(seq), 0) + 1, ?, ?, ?, ?, 'running', ? FROM workflow_steps WHERE run_id = ?
          ON CONFLICT (run_id, step_id) DO NOTHING`,
        )
        .run(input.runId, input.stepId, input.kind, input.agentId, input.label, input.fingerprint, Date.now(), input.runId),
    );
    return { step: this.getStep(input.runId, input.stepId)!, created: info.changes === 1 };
  }

  updateStep(runId: string, stepId: string, patch: WorkflowStepPatch): void {
    const columns = stepPatchColumns(patch);
    if (columns.length === 0) return;
    this.#db.write(() =>
      this.#db.prepare(`UPDATE workflow_steps SET ${columns.map(([c]) => `${c} = ?`).join(', ')} WHERE run_id = ? AND step_id = ?`).run(...columns.map(([, v]) => v), runId, stepId),
    );
  }

  retryStep(runId: string, stepId: string): number {
    this.#db.write(() => this.#db.prepare(`UPDATE workflow_steps SET attempt = attempt + 1, conversation_id = NULL WHERE run_id = ? AND step_id = ? AND status = 'running'`).run(runId, stepId));
    return this.getStep(runId, stepId)?.attempt ?? 0;
  }

  retryFailedSteps(runId: string): number {
    const info = this.#db.write(() =>
      this.#db
        .prepare(
          `UPDATE workflow_steps SET status = 'running', attempt = attempt + 1, conversation_id = NULL, task_id = NULL, output = NULL, error = NULL, ended_at = NULL, started_at = ? WHERE run_id = ? AND status = 'failed'`,
        )
        .run(Date.now(), runId),
    );
    return info.changes;
  }

  totals(runIds: readonly string[]): Map<string, WorkflowRunTotals> {
    if (runIds.length === 0) return new Map();
    const rows = this.#db
      .prepare(`SELECT run_id, status, count(*) AS n, sum(cost_usd) AS cost, sum(tokens) AS tokens FROM workflow_steps WHERE run_id IN (${runIds.map(() => '?').join(', ')}) GROUP BY run_id, status`)
      .all(...runIds) as Array<{ run_id: string; status: string; n: number; cost: number | null; tokens: number | null }>;
    return totalsOf(rows, runIds);
  }
}

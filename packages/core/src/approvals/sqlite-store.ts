/** Approval requests on SQLite (the model: ./store.ts). */
import type { TinyDatabase } from '../storage/database.ts';
import type { ApprovalRow } from '../storage/rows.ts';
import { type ApprovalFilter, type ApprovalInput, type ApprovalOutcome, type ApprovalRecord, type ApprovalStoreApi, toApproval } from './store.ts';

export class ApprovalStore implements ApprovalStoreApi {
  readonly #db: TinyDatabase;

  constructor(db: TinyDatabase) {
    this.#db = db;
  }

  create(input: ApprovalInput): ApprovalRecord {
    const { record, created } = this.#insert(input, false);
    if (!created) throw new Error(`approval ${input.id} exists`);
    return record;
  }

  createOnce(input: ApprovalInput): { record: ApprovalRecord; created: boolean } {
    return this.#insert(input, true);
  }

  #insert(input: ApprovalInput, once: boolean): { record: ApprovalRecord; created: boolean } {
    return this.#db.write(() => {
      const changes = this.#db
        .prepare(
          `INSERT INTO approvals (id, kind, status, agent_id, run_id, conversation_id, session_key, task_id, tool, input, summary, requested_at, expires_at)
           VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)${once ? ' ON CONFLICT (id) DO NOTHING' : ''}`,
        )
        .run(
          input.id,
          input.kind,
          input.agentId,
          input.runId,
          input.conversationId,
          input.sessionKey,
          input.taskId ?? null,
          input.tool,
          JSON.stringify(input.input ?? null),
          input.summary,
          input.requestedAt,
          input.expiresAt,
        ).changes;
      return { record: this.get(input.id)!, created: changes > 0 };
    });
  }

  get(id: string): ApprovalRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM approvals WHERE id = ?').get(id) as ApprovalRow | undefined;
    return row && toApproval(row);
  }

  list(filter: ApprovalFilter = {}): ApprovalRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.status) where.push('status = ?') && args.push(filter.status);
    if (filter.kind) where.push('kind = ?') && args.push(filter.kind);
    if (filter.agentId) where.push('agent_id = ?') && args.push(filter.agentId);
    if (filter.conversationId) where.push('conversation_id = ?') && args.push(filter.conversationId);
    if (filter.taskId) where.push('task_id = ?') && args.push(filter.taskId);
    if (filter.channel) where.push('conversation_id IN (SELECT id FROM conversations WHERE channel = ?)') && args.push(filter.channel);
    const sql = `SELECT * FROM approvals ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at DESC, id DESC LIMIT ?`;
    return (this.#db.prepare(sql).all(...args, filter.limit ?? 100) as ApprovalRow[]).map(toApproval);
  }

  decide(id: string, outcome: ApprovalOutcome): ApprovalRecord | undefined {
    return this.#db.write(() => {
      const changed = this.#db
        .prepare("UPDATE approvals SET status = ?, decision = ?, decided_by = ?, reason = ?, answer = ?, decided_at = ?, batch_id = ? WHERE id = ? AND status = 'pending'")
        .run(outcome.status, outcome.decision, outcome.decidedBy, outcome.reason, outcome.answer ?? null, outcome.decidedAt, outcome.batchId ?? null, id).changes;
      return changed > 0 ? this.get(id) : undefined;
    });
  }
}

/** Approval requests on PostgreSQL: the SQLite store's contract (./store.ts), shared by every node of the database. */
import type { PgScope } from '../storage/pg/scope.ts';
import type { ApprovalRow } from '../storage/rows.ts';
import { type ApprovalFilter, type ApprovalInput, type ApprovalOutcome, type ApprovalRecord, type ApprovalStoreApi, toApproval } from './store.ts';

export class PgApprovalStore implements ApprovalStoreApi {
  readonly #scope: PgScope;
  readonly #t: string;

  constructor(scope: PgScope) {
    this.#scope = scope;
    this.#t = scope.table('approvals');
  }

  async create(input: ApprovalInput): Promise<ApprovalRecord> {
    const { record, created } = await this.#insert(input, false);
    if (!created) throw new Error(`approval ${input.id} exists`);
    return record;
  }

  createOnce(input: ApprovalInput): Promise<{ record: ApprovalRecord; created: boolean }> {
    return this.#insert(input, true);
  }

  async #insert(input: ApprovalInput, once: boolean): Promise<{ record: ApprovalRecord; created: boolean }> {
    const [row] = await this.#scope.query<ApprovalRow>(
      `INSERT INTO ${this.#t} (id, kind, status, agent_id, run_id, conversation_id, session_key, task_id, tool, input, summary, requested_at, expires_at)
       VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)${once ? ' ON CONFLICT (id) DO NOTHING' : ''} RETURNING *`,
      [
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
      ],
    );
    if (row) return { record: toApproval(row), created: true };
    const existing = await this.get(input.id);
    if (!existing) throw new Error(`approval ${input.id} was neither created nor found`);
    return { record: existing, created: false };
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const [row] = await this.#scope.query<ApprovalRow>(`SELECT * FROM ${this.#t} WHERE id = $1`, [id]);
    return row && toApproval(row);
  }

  async list(filter: ApprovalFilter = {}): Promise<ApprovalRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (clause: string, value: unknown): void => {
      args.push(value);
      where.push(`${clause} = $${args.length}`);
    };
    if (filter.status) add('status', filter.status);
    if (filter.kind) add('kind', filter.kind);
    if (filter.agentId) add('agent_id', filter.agentId);
    if (filter.conversationId) add('conversation_id', filter.conversationId);
    if (filter.taskId) add('task_id', filter.taskId);
    if (filter.channel) {
      args.push(filter.channel);
      where.push(`conversation_id IN (SELECT id FROM ${this.#scope.table('conversations')} WHERE channel = $${args.length})`);
    }
    args.push(filter.limit ?? 100);
    const sql = `SELECT * FROM ${this.#t} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at DESC, id DESC LIMIT $${args.length}`;
    return (await this.#scope.query<ApprovalRow>(sql, args)).map(toApproval);
  }

  async decide(id: string, outcome: ApprovalOutcome): Promise<ApprovalRecord | undefined> {
    const [row] = await this.#scope.query<ApprovalRow>(
      `UPDATE ${this.#t} SET status = $1, decision = $2, decided_by = $3, reason = $4, answer = $5, decided_at = $6, batch_id = $7 WHERE id = $8 AND status = 'pending' RETURNING *`,
      [outcome.status, outcome.decision, outcome.decidedBy, outcome.reason, outcome.answer ?? null, outcome.decidedAt, outcome.batchId ?? null, id],
    );
    return row && toApproval(row);
  }
}

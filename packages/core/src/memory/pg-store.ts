/**
 * Memory on PostgreSQL: the SQLite store's contract (./store.ts), shared by every node of the
 * database. Search is `to_tsvector('english', text) @@ to_tsquery(…)` over the GIN index of
 * migration 0017, ranked by `ts_rank`. A decision locks the proposal's row (`FOR UPDATE`), so the
 * first decision wins whichever node is asked.
 */
import type { MemoryInjection, MemoryScope } from '@tinyagi/client/contract';
import type { PgScope } from '../storage/pg/scope.ts';
import type { MemoryEntryRow, MemoryInjectionRow } from '../storage/rows.ts';
import {
  filterClauses,
  insertValues,
  MEMORY_INSERT_COLUMNS,
  type MemoryCreateInput,
  type MemoryDecision,
  type MemoryFilter,
  type MemoryPatch,
  type MemoryRecord,
  type MemoryStoreApi,
  type ScoredMemory,
  toInjection,
  toMemory,
} from './store.ts';

type ScoredRow = MemoryEntryRow & { score: number };

export class PgMemoryStore implements MemoryStoreApi {
  readonly #scope: PgScope;
  readonly #t: string;
  readonly #injections: string;

  constructor(scope: PgScope) {
    this.#scope = scope;
    this.#t = scope.table('memory_entries');
    this.#injections = scope.table('memory_injections');
  }

  async create(input: MemoryCreateInput): Promise<MemoryRecord> {
    const values = insertValues(input);
    const [row] = await this.#scope.query<MemoryEntryRow>(`INSERT INTO ${this.#t} (${MEMORY_INSERT_COLUMNS}) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`, values);
    return toMemory(row!);
  }

  async get(id: string): Promise<MemoryRecord | undefined> {
    const [row] = await this.#scope.query<MemoryEntryRow>(`SELECT * FROM ${this.#t} WHERE id = $1`, [id]);
    return row && toMemory(row);
  }

  async list(filter: MemoryFilter = {}): Promise<MemoryRecord[]> {
    const args: unknown[] = [];
    const where = filterClauses(filter, (v) => `$${args.push(v)}`);
    args.push(filter.limit ?? 100);
    const rows = await this.#scope.query<MemoryEntryRow>(
      `SELECT * FROM ${this.#t} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map(toMemory);
  }

  async search(terms: readonly string[], filter: MemoryFilter = {}): Promise<ScoredMemory[]> {
    if (terms.length === 0) return [];
    // The expression is the GIN index's (to_tsvector('english', text)), so the index serves the match.
    const args: unknown[] = [terms.join(' | ')];
    const where = filterClauses(filter, (v) => `$${args.push(v)}`);
    args.push(filter.limit ?? 50);
    // The matches first (MATERIALIZED: the GIN index finds them), then the filters: left to itself the planner
    // may take the scope index and compute every row's tsvector (~100 ms at 10,000 entries, not ~1 ms).
    const rows = await this.#scope.query<ScoredRow>(
      `WITH q AS (SELECT to_tsquery('english', $1) AS q),
       hits AS MATERIALIZED (SELECT e.*, ts_rank(to_tsvector('english', e.text), q.q) AS score FROM ${this.#t} e, q WHERE to_tsvector('english', e.text) @@ q.q)
       SELECT * FROM hits${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY score DESC, created_at DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map((row) => ({ entry: toMemory(row), score: Number(row.score) }));
  }

  async pinned(scopes: readonly MemoryScope[], now: number): Promise<MemoryRecord[]> {
    return (await this.list({ scopes, status: 'accepted', action: 'remember', now, limit: 200 })).filter((e) => e.pinned);
  }

  decide(id: string, decision: MemoryDecision): Promise<MemoryRecord | undefined> {
    return this.#scope.transaction(async (scope) => {
      const [row] = await scope.query<MemoryEntryRow>(`SELECT * FROM ${this.#t} WHERE id = $1 AND status = 'proposed' FOR UPDATE`, [id]);
      if (!row) return undefined;
      const [after] = await scope.query<MemoryEntryRow>(
        `UPDATE ${this.#t} SET status = $2, decided_by = $3, decided_at = $4, updated_at = $4, text = $5, kind = $6, pinned = $7 WHERE id = $1 RETURNING *`,
        [id, decision.status, decision.decidedBy, decision.decidedAt, decision.text ?? row.text, decision.kind ?? row.kind, decision.pinned === undefined ? row.pinned : decision.pinned ? 1 : 0],
      );
      if (decision.status === 'accepted' && row.target_id !== null && (row.action === 'forget' || !decision.keepTarget)) {
        await new PgMemoryStore(scope).retire(row.target_id, decision.decidedBy, decision.decidedAt);
      }
      return toMemory(after!);
    });
  }

  async update(id: string, patch: MemoryPatch, now: number): Promise<MemoryRecord | undefined> {
    const sets: string[] = ['updated_at = $2'];
    const args: unknown[] = [id, now];
    const set = (column: string, value: unknown): void => {
      args.push(value);
      sets.push(`${column} = $${args.length}`);
    };
    if (patch.text !== undefined) set('text', patch.text);
    if (patch.kind !== undefined) set('kind', patch.kind);
    if (patch.pinned !== undefined) set('pinned', patch.pinned ? 1 : 0);
    if (patch.expiresAt !== undefined) set('expires_at', patch.expiresAt);
    const [row] = await this.#scope.query<MemoryEntryRow>(`UPDATE ${this.#t} SET ${sets.join(', ')} WHERE id = $1 AND status = 'accepted' AND action = 'remember' RETURNING *`, args);
    return row && toMemory(row);
  }

  async retire(id: string, by: string, now: number): Promise<MemoryRecord | undefined> {
    const [row] = await this.#scope.query<MemoryEntryRow>(
      `UPDATE ${this.#t} SET status = 'retired', decided_by = $2, decided_at = $3, updated_at = $3 WHERE id = $1 AND status = 'accepted' AND action = 'remember' RETURNING *`,
      [id, by, now],
    );
    return row && toMemory(row);
  }

  async markUsed(ids: readonly string[], now: number): Promise<void> {
    if (ids.length === 0) return;
    await this.#scope.query(`UPDATE ${this.#t} SET last_used_at = $1 WHERE id = ANY($2::text[])`, [now, ids]);
  }

  async recordInjection(injection: MemoryInjection & { agentId: string }): Promise<void> {
    await this.#scope.query(
      `INSERT INTO ${this.#injections} (run_id, agent_id, entry_ids, tokens, budget, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (run_id) DO UPDATE SET entry_ids = excluded.entry_ids, tokens = excluded.tokens, budget = excluded.budget, created_at = excluded.created_at`,
      [injection.runId, injection.agentId, JSON.stringify(injection.entryIds), injection.tokens, injection.budget, injection.createdAt],
    );
  }

  async injectionOf(runId: string): Promise<MemoryInjection | undefined> {
    const [row] = await this.#scope.query<MemoryInjectionRow>(`SELECT * FROM ${this.#injections} WHERE run_id = $1`, [runId]);
    return row && toInjection(row);
  }
}

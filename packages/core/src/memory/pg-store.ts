/**
 * Memory on PostgreSQL: the SQLite store's contract (./store.ts), shared by every node of the
 * database. Search is `search @@ to_tsquery(…)`: `search` is the text's `english` tsvector, stored
 * with the row and GIN-indexed (migration 0018), so ranking a match (`ts_rank`) reads it instead of
 * parsing the text again. `memory_lexemes` counts each lexeme's entries (triggers of migration
 * 0019), so recall searches only a message's rarest words, as on SQLite. A turn's recall is one statement: the pinned entries, then the matches,
 * the search gated by whether the scopes hold any accepted entry (an index probe evaluated once),
 * so an agent with no memory costs one cheap round trip and every node sees the same answer. A
 * decision locks the proposal's row (`FOR UPDATE`), so the first decision wins whichever node is asked.
 */
import type { MemoryInjection, MemoryScope } from '@tinyagi/client/contract';
import type { PgScope } from '../storage/pg/scope.ts';
import type { MemoryEntryRow, MemoryInjectionRow } from '../storage/rows.ts';
import {
  filterClauses,
  insertValues,
  MEMORY_COLUMNS,
  MEMORY_INSERT_COLUMNS,
  type MemoryCreateInput,
  type MemoryDecision,
  type MemoryFilter,
  type MemoryPatch,
  type MemoryRecord,
  type MemoryStoreApi,
  RECALL_MATCH_BUDGET,
  RECALLABLE,
  type RecallCandidates,
  type ScoredMemory,
  toInjection,
  toMemory,
} from './store.ts';

type ScoredRow = MemoryEntryRow & { score: number | null };

/** A lexeme as a tsquery operand, quoted (the cast does not normalise it again). */
const QUOTED_LEXEME = `'''' || replace(replace(lexeme, '\\', '\\\\'), '''', '''''') || ''''`;

export class PgMemoryStore implements MemoryStoreApi {
  readonly #scope: PgScope;
  readonly #t: string;
  readonly #injections: string;
  readonly #lexemes: string;
  readonly #scopesHold: string;

  constructor(scope: PgScope) {
    this.#scope = scope;
    this.#t = scope.table('memory_entries');
    this.#lexemes = scope.table('memory_lexemes');
    this.#scopesHold = scope.table('memory_scopes_hold');
    this.#injections = scope.table('memory_injections');
  }

  async create(input: MemoryCreateInput): Promise<MemoryRecord> {
    const values = insertValues(input);
    const [row] = await this.#scope.query<MemoryEntryRow>(
      `INSERT INTO ${this.#t} (${MEMORY_INSERT_COLUMNS}) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING ${MEMORY_COLUMNS}`,
      values,
    );
    return toMemory(row!);
  }

  async createIfAbsent(input: MemoryCreateInput): Promise<MemoryRecord | undefined> {
    const values = insertValues(input);
    const [row] = await this.#scope.query<MemoryEntryRow>(
      `INSERT INTO ${this.#t} (${MEMORY_INSERT_COLUMNS}) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT (id) DO NOTHING RETURNING ${MEMORY_COLUMNS}`,
      values,
    );
    return row && toMemory(row);
  }

  async get(id: string): Promise<MemoryRecord | undefined> {
    const [row] = await this.#scope.query<MemoryEntryRow>(`SELECT ${MEMORY_COLUMNS} FROM ${this.#t} WHERE id = $1`, [id]);
    return row && toMemory(row);
  }

  async list(filter: MemoryFilter = {}): Promise<MemoryRecord[]> {
    const args: unknown[] = [];
    const where = filterClauses(filter, (v) => `$${args.push(v)}`);
    args.push(filter.limit ?? 100);
    const rows = await this.#scope.query<MemoryEntryRow>(
      `SELECT ${MEMORY_COLUMNS} FROM ${this.#t} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map(toMemory);
  }

  async search(terms: readonly string[], filter: MemoryFilter = {}): Promise<ScoredMemory[]> {
    if (terms.length === 0) return [];
    const args: unknown[] = [terms.join(' | ')];
    const where = filterClauses(filter, (v) => `$${args.push(v)}`);
    args.push(filter.limit ?? 50);
    const rows = await this.#scope.query<ScoredRow>(
      `SELECT ${MEMORY_COLUMNS}, ts_rank(search, q) AS score FROM ${this.#t}, to_tsquery('english', $1) q
       WHERE search @@ q${where.map((w) => ` AND ${w}`).join('')} ORDER BY score DESC, created_at DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map((row) => ({ entry: toMemory(row), score: Number(row.score) }));
  }

  async pinned(scopes: readonly MemoryScope[], now: number): Promise<MemoryRecord[]> {
    if (scopes.length === 0) return [];
    const args: unknown[] = [];
    const where = filterClauses({ scopes, now }, (v) => `$${args.push(v)}`);
    const rows = await this.#scope.query<MemoryEntryRow>(
      `SELECT ${MEMORY_COLUMNS} FROM ${this.#t} WHERE pinned = 1 AND ${RECALLABLE} AND ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT 200`,
      args,
    );
    return rows.map(toMemory);
  }

  async recall(scopes: readonly MemoryScope[], terms: readonly string[], now: number, limit: number): Promise<RecallCandidates> {
    if (scopes.length === 0) return { pinned: [], ranked: [] };
    if (terms.length === 0) return { pinned: await this.pinned(scopes, now), ranked: [] };
    const args: unknown[] = [terms.join(' | '), limit, RECALL_MATCH_BUDGET, scopes.map((s) => s.kind), scopes.map((s) => s.id)];
    const [inScopes, unexpired] = filterClauses({ scopes, now }, (v) => `$${args.push(v)}`) as [string, string];
    // The pinned rows (score null; the partial index memory_entries_pinned_idx), then the matches. The
    // gate (memory_scopes_hold, drizzle-pg/0019) depends on parameters alone: PostgreSQL evaluates it
    // once, and when it is false skips the search (a one-time filter), so an agent whose scopes hold
    // nothing costs an index probe per scope, not a search. In a function, the probe is planned for
    // its own values: inline, a prepared generic plan scanned the table for a scope holding nothing.
    // The search is for the message's rarest lexemes (rarestTerms' rule over memory_lexemes' counts:
    // the rarest always, then while the running sum stays within the budget), so it reads at most
    // RECALL_MATCH_BUDGET entries unless the rarest alone has more. OFFSET 0 keeps the scopes'
    // conditions out of that subquery, so it is a GIN scan (with them the planner, blind to how rare
    // the words are, scanned the scopes' index and tested every entry of them). The candidates are
    // ranked against all of the message's terms (the query parsed once, an InitPlan).
    const rows = await this.#scope.query<ScoredRow>(
      `WITH counted AS (
         SELECT lexeme, row_number() OVER w AS n, sum(entries) OVER w AS running FROM ${this.#lexemes}
         WHERE lexeme = ANY(tsvector_to_array(to_tsvector('english', $1))) WINDOW w AS (ORDER BY entries, lexeme)
       )
       (SELECT ${MEMORY_COLUMNS}, NULL::real AS score FROM ${this.#t} WHERE pinned = 1 AND ${RECALLABLE} AND ${inScopes} AND ${unexpired}
        ORDER BY created_at DESC, id DESC LIMIT 200)
       UNION ALL
       (SELECT ${MEMORY_COLUMNS}, ts_rank(search, (SELECT to_tsquery('english', $1))) AS score FROM (
          SELECT ${MEMORY_COLUMNS}, search FROM ${this.#t}
          WHERE search @@ (SELECT string_agg(${QUOTED_LEXEME}, ' | ')::tsquery FROM counted WHERE n = 1 OR running <= $3) OFFSET 0
        ) matched
        WHERE ${RECALLABLE} AND ${inScopes} AND ${unexpired} AND ${this.#scopesHold}($4::text[], $5::text[])
        ORDER BY score DESC, created_at DESC LIMIT $2)`,
      args,
    );
    const pinned: MemoryRecord[] = [];
    const ranked: ScoredMemory[] = [];
    for (const row of rows) {
      if (row.score === null) pinned.push(toMemory(row));
      else ranked.push({ entry: toMemory(row), score: Number(row.score) });
    }
    return { pinned, ranked };
  }

  decide(id: string, decision: MemoryDecision): Promise<MemoryRecord | undefined> {
    return this.#scope.transaction(async (scope) => {
      const [row] = await scope.query<MemoryEntryRow>(`SELECT ${MEMORY_COLUMNS} FROM ${this.#t} WHERE id = $1 AND status = 'proposed' FOR UPDATE`, [id]);
      if (!row) return undefined;
      const [after] = await scope.query<MemoryEntryRow>(
        `UPDATE ${this.#t} SET status = $2, decided_by = $3, decided_at = $4, updated_at = $4, text = $5, kind = $6, pinned = $7 WHERE id = $1 RETURNING ${MEMORY_COLUMNS}`,
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
    const [row] = await this.#scope.query<MemoryEntryRow>(`UPDATE ${this.#t} SET ${sets.join(', ')} WHERE id = $1 AND status = 'accepted' AND action = 'remember' RETURNING ${MEMORY_COLUMNS}`, args);
    return row && toMemory(row);
  }

  async retire(id: string, by: string, now: number): Promise<MemoryRecord | undefined> {
    const [row] = await this.#scope.query<MemoryEntryRow>(
      `UPDATE ${this.#t} SET status = 'retired', decided_by = $2, decided_at = $3, updated_at = $3 WHERE id = $1 AND status = 'accepted' AND action = 'remember' RETURNING ${MEMORY_COLUMNS}`,
      [id, by, now],
    );
    return row && toMemory(row);
  }

  async markUsed(ids: readonly string[], now: number): Promise<void> {
    if (ids.length === 0) return;
    await this.#scope.query(`UPDATE ${this.#t} SET last_used_at = $1 WHERE id = ANY($2::text[])`, [now, ids]);
  }

  async recordInjection(injection: MemoryInjection & { agentId: string }): Promise<void> {
    // One statement (one round trip): the injection, and its entries' last use.
    await this.#scope.query(
      `WITH used AS (UPDATE ${this.#t} SET last_used_at = $6 WHERE id = ANY($7::text[]))
       INSERT INTO ${this.#injections} (run_id, agent_id, entry_ids, tokens, budget, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (run_id) DO UPDATE SET entry_ids = excluded.entry_ids, tokens = excluded.tokens, budget = excluded.budget, created_at = excluded.created_at`,
      [injection.runId, injection.agentId, JSON.stringify(injection.entryIds), injection.tokens, injection.budget, injection.createdAt, injection.entryIds],
    );
  }

  async injectionsOf(runIds: readonly string[]): Promise<Map<string, MemoryInjection>> {
    if (runIds.length === 0) return new Map();
    const rows = await this.#scope.query<MemoryInjectionRow>(`SELECT * FROM ${this.#injections} WHERE run_id = ANY($1::text[])`, [runIds]);
    return new Map(rows.map((row) => [row.run_id, toInjection(row)]));
  }

  async injectionOf(runId: string): Promise<MemoryInjection | undefined> {
    const [row] = await this.#scope.query<MemoryInjectionRow>(`SELECT * FROM ${this.#injections} WHERE run_id = $1`, [runId]);
    return row && toInjection(row);
  }
}

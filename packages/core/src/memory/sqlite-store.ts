/**
 * Memory on SQLite (the model: ./store.ts). Search is the FTS5 table `memory_fts` (porter
 * stemmer, bm25 ranking), kept in step with `memory_entries` by the triggers of migration 0023.
 * A turn's recall first asks whether the scopes hold any accepted entry (an index probe of a few
 * microseconds, in process: nothing to cache), and searches only when they do.
 */
import type { MemoryInjection, MemoryScope } from '@tinyagi/client/contract';
import type { TinyDatabase } from '../storage/database.ts';
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
  RECALLABLE,
  type RecallCandidates,
  rarestTerms,
  type ScoredMemory,
  toInjection,
  toMemory,
} from './store.ts';

type ScoredRow = MemoryEntryRow & { score: number };

export class MemoryStore implements MemoryStoreApi {
  readonly #db: TinyDatabase;

  constructor(db: TinyDatabase) {
    this.#db = db;
  }

  create(input: MemoryCreateInput): MemoryRecord {
    return this.#db.write(() => {
      this.#db
        .prepare(
          `INSERT INTO memory_entries (${MEMORY_INSERT_COLUMNS}) VALUES (${insertValues(input)
            .map(() => '?')
            .join(', ')})`,
        )
        .run(...insertValues(input));
      return this.get(input.id)!;
    });
  }

  createIfAbsent(input: MemoryCreateInput): MemoryRecord | undefined {
    return this.#db.write(() => {
      const values = insertValues(input);
      const n = this.#db.prepare(`INSERT INTO memory_entries (${MEMORY_INSERT_COLUMNS}) VALUES (${values.map(() => '?').join(', ')}) ON CONFLICT (id) DO NOTHING`).run(...values).changes;
      return n > 0 ? this.get(input.id) : undefined;
    });
  }

  get(id: string): MemoryRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM memory_entries WHERE id = ?').get(id) as MemoryEntryRow | undefined;
    return row && toMemory(row);
  }

  list(filter: MemoryFilter = {}): MemoryRecord[] {
    const args: unknown[] = [];
    const where = filterClauses(filter, (v) => {
      args.push(v);
      return '?';
    });
    const sql = `SELECT * FROM memory_entries ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
    return (this.#db.prepare(sql).all(...args, filter.limit ?? 100) as MemoryEntryRow[]).map(toMemory);
  }

  search(terms: readonly string[], filter: MemoryFilter = {}): ScoredMemory[] {
    if (terms.length === 0) return [];
    const args: unknown[] = [terms.map((t) => `"${t}"`).join(' OR ')];
    const where = filterClauses(
      filter,
      (v) => {
        args.push(v);
        return '?';
      },
      'e.',
    );
    // FTS5's `rank` column (bm25 by default) is computed once per match; calling bm25() in the select
    // and the ORDER BY computed it twice (about half the search's time with thousands of matches).
    const sql = `SELECT e.*, -memory_fts.rank AS score FROM memory_fts JOIN memory_entries e ON e.id = memory_fts.entry_id
      WHERE memory_fts MATCH ?${where.map((w) => ` AND ${w}`).join('')} ORDER BY memory_fts.rank LIMIT ?`;
    return (this.#db.prepare(sql).all(...args, filter.limit ?? 50) as ScoredRow[]).map((row) => ({ entry: toMemory(row), score: row.score }));
  }

  pinned(scopes: readonly MemoryScope[], now: number): MemoryRecord[] {
    if (scopes.length === 0) return [];
    const args: unknown[] = [];
    const where = filterClauses({ scopes, now }, (v) => {
      args.push(v);
      return '?';
    });
    // The partial index memory_entries_pinned_idx holds exactly these rows (left to itself, the planner
    // takes the status index for the ORDER BY and reads every accepted entry: ~10 ms at 10,000).
    const sql = `SELECT * FROM memory_entries INDEXED BY memory_entries_pinned_idx WHERE pinned = 1 AND ${RECALLABLE} AND ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT 200`;
    return (this.#db.prepare(sql).all(...args) as MemoryEntryRow[]).map(toMemory);
  }

  recall(scopes: readonly MemoryScope[], terms: readonly string[], now: number, limit: number): RecallCandidates {
    if (!this.#anyAccepted(scopes)) return { pinned: [], ranked: [] };
    const count = this.#db.prepare('SELECT count(*) AS n FROM memory_fts WHERE memory_fts MATCH ?');
    const searched = rarestTerms(terms.map((term) => ({ term, entries: (count.get(`"${term}"`) as { n: number }).n })));
    return { pinned: this.pinned(scopes, now), ranked: this.search(searched, { scopes, status: 'accepted', action: 'remember', now, limit }) };
  }

  /** Whether the scopes hold an accepted entry: one probe of memory_entries_scope_idx per scope. */
  #anyAccepted(scopes: readonly MemoryScope[]): boolean {
    const probe = this.#db.prepare(`SELECT 1 FROM memory_entries WHERE scope_kind = ? AND scope_id = ? AND ${RECALLABLE} LIMIT 1`);
    return scopes.some((s) => probe.get(s.kind, s.id) !== undefined);
  }

  decide(id: string, decision: MemoryDecision): MemoryRecord | undefined {
    return this.#db.write(() => {
      const row = this.#db.prepare("SELECT * FROM memory_entries WHERE id = ? AND status = 'proposed'").get(id) as MemoryEntryRow | undefined;
      if (!row) return undefined;
      this.#db
        .prepare('UPDATE memory_entries SET status = ?, decided_by = ?, decided_at = ?, updated_at = ?, text = ?, kind = ?, pinned = ? WHERE id = ?')
        .run(
          decision.status,
          decision.decidedBy,
          decision.decidedAt,
          decision.decidedAt,
          decision.text ?? row.text,
          decision.kind ?? row.kind,
          decision.pinned === undefined ? row.pinned : decision.pinned ? 1 : 0,
          id,
        );
      if (decision.status === 'accepted' && row.target_id !== null && (row.action === 'forget' || !decision.keepTarget)) {
        this.retire(row.target_id, decision.decidedBy, decision.decidedAt);
      }
      return this.get(id);
    });
  }

  update(id: string, patch: MemoryPatch, now: number): MemoryRecord | undefined {
    return this.#db.write(() => {
      const row = this.#db.prepare("SELECT * FROM memory_entries WHERE id = ? AND status = 'accepted' AND action = 'remember'").get(id) as MemoryEntryRow | undefined;
      if (!row) return undefined;
      this.#db
        .prepare('UPDATE memory_entries SET text = ?, kind = ?, pinned = ?, expires_at = ?, updated_at = ? WHERE id = ?')
        .run(patch.text ?? row.text, patch.kind ?? row.kind, patch.pinned === undefined ? row.pinned : patch.pinned ? 1 : 0, patch.expiresAt === undefined ? row.expires_at : patch.expiresAt, now, id);
      return this.get(id);
    });
  }

  retire(id: string, by: string, now: number): MemoryRecord | undefined {
    return this.#db.write(() => {
      const n = this.#db
        .prepare("UPDATE memory_entries SET status = 'retired', decided_by = ?, decided_at = ?, updated_at = ? WHERE id = ? AND status = 'accepted' AND action = 'remember'")
        .run(by, now, now, id).changes;
      return n > 0 ? this.get(id) : undefined;
    });
  }

  markUsed(ids: readonly string[], now: number): void {
    if (ids.length === 0) return;
    // Not durable on its own: a lost "last used" after a crash costs nothing.
    this.#db.writeLazy(() => {
      const stmt = this.#db.prepare('UPDATE memory_entries SET last_used_at = ? WHERE id = ?');
      for (const id of ids) stmt.run(now, id);
    });
  }

  recordInjection(injection: MemoryInjection & { agentId: string }): void {
    this.#db.writeLazy(() => {
      this.#db
        .prepare(
          `INSERT INTO memory_injections (run_id, agent_id, entry_ids, tokens, budget, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id) DO UPDATE SET entry_ids = excluded.entry_ids, tokens = excluded.tokens, budget = excluded.budget, created_at = excluded.created_at`,
        )
        .run(injection.runId, injection.agentId, JSON.stringify(injection.entryIds), injection.tokens, injection.budget, injection.createdAt);
      const used = this.#db.prepare('UPDATE memory_entries SET last_used_at = ? WHERE id = ?');
      for (const id of injection.entryIds) used.run(injection.createdAt, id);
    });
  }

  injectionsOf(runIds: readonly string[]): Map<string, MemoryInjection> {
    const found = new Map<string, MemoryInjection>();
    // In slices: SQLite's bound parameters are limited (32,766), a conversation's runs are not.
    for (let i = 0; i < runIds.length; i += 500) {
      const slice = runIds.slice(i, i + 500);
      const rows = this.#db.prepare(`SELECT * FROM memory_injections WHERE run_id IN (${slice.map(() => '?').join(', ')})`).all(...slice) as MemoryInjectionRow[];
      for (const row of rows) found.set(row.run_id, toInjection(row));
    }
    return found;
  }

  injectionOf(runId: string): MemoryInjection | undefined {
    const row = this.#db.prepare('SELECT * FROM memory_injections WHERE run_id = ?').get(runId) as MemoryInjectionRow | undefined;
    return row && toInjection(row);
  }
}

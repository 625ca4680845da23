/** Memory vectors on SQLite (the model: ./vectors.ts): the table `memory_vectors` of migration 0025. */
import type { MemoryScope } from '@tinyagi/client/contract';
import type { TinyDatabase } from '../storage/database.ts';
import type { MemoryEntryRow } from '../storage/rows.ts';
import { filterClauses, type MemoryRecord, RECALLABLE, toMemory } from './store.ts';
import { type EntryToEmbed, type MemoryVectorRow, toStoredVector, type EntryVersion, type MemoryVectorStoreApi, type StoredVector, vectorBytes } from './vectors.ts';

/** SQLite's bound parameters are limited (32,766): long id lists go in slices. */
const SLICE = 500;

export class MemoryVectorStore implements MemoryVectorStoreApi {
  readonly #db: TinyDatabase;

  constructor(db: TinyDatabase) {
    this.#db = db;
  }

  lacking(model: string, now: number, limit: number): EntryToEmbed[] {
    const rows = this.#db
      .prepare(
        `SELECT e.id, e.text, e.updated_at FROM memory_entries e LEFT JOIN memory_vectors v ON v.entry_id = e.id AND v.model = ?
         WHERE e.status = 'accepted' AND e.action = 'remember' AND (e.expires_at IS NULL OR e.expires_at > ?) AND (v.entry_id IS NULL OR v.entry_updated_at <> e.updated_at)
         ORDER BY e.updated_at, e.id LIMIT ?`,
      )
      .all(model, now, limit) as Array<{ id: string; text: string; updated_at: number }>;
    return rows.map((r) => ({ id: r.id, text: r.text, updatedAt: r.updated_at }));
  }

  put(vectors: readonly StoredVector[]): void {
    if (vectors.length === 0) return;
    this.#db.write(() => {
      const stmt = this.#db.prepare(
        `INSERT INTO memory_vectors (entry_id, model, dims, vector, entry_updated_at, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (entry_id, model) DO UPDATE SET dims = excluded.dims, vector = excluded.vector, entry_updated_at = excluded.entry_updated_at, created_at = excluded.created_at`,
      );
      for (const v of vectors) stmt.run(v.entryId, v.model, v.vector.length, vectorBytes(v.vector), v.entryUpdatedAt, v.createdAt);
    });
  }

  inScope(scopes: readonly MemoryScope[], now: number, limit: number): EntryVersion[] {
    if (scopes.length === 0) return [];
    const args: unknown[] = [];
    const where = filterClauses({ scopes, now }, (v) => {
      args.push(v);
      return '?';
    });
    // Rows as arrays and no ORDER BY: a turn reads every id of its scopes; an object per row and a sort of thousands cost more than the scan.
    const rows = this.#db
      .prepare(`SELECT id, updated_at FROM memory_entries WHERE ${RECALLABLE} AND ${where.join(' AND ')} LIMIT ?`)
      .raw(true)
      .all(...args, limit) as Array<[string, number]>;
    return rows.map(([id, updatedAt]) => ({ id, updatedAt }));
  }

  scopeVersion(scopes: readonly MemoryScope[], now: number): string {
    if (scopes.length === 0) return '';
    const args: unknown[] = [];
    const where = filterClauses({ scopes, now }, (v) => {
      args.push(v);
      return '?';
    });
    // total() is a float: an integer sum of thousands of millisecond times would pass 2^53.
    const row = this.#db
      .prepare(`SELECT count(*), max(updated_at), total(updated_at) FROM memory_entries WHERE ${RECALLABLE} AND ${where.join(' AND ')}`)
      .raw(true)
      .get(...args) as [number, number | null, number];
    return row.join(':');
  }

  recallable(now: number, limit: number): EntryVersion[] {
    const rows = this.#db.prepare(`SELECT id, updated_at FROM memory_entries WHERE ${RECALLABLE} AND (expires_at IS NULL OR expires_at > ?) LIMIT ?`).raw(true).all(now, limit) as Array<
      [string, number]
    >;
    return rows.map(([id, updatedAt]) => ({ id, updatedAt }));
  }

  vectorsOf(entries: readonly EntryVersion[], model: string): StoredVector[] {
    const found: StoredVector[] = [];
    const changed = new Map(entries.map((e) => [e.id, e.updatedAt]));
    for (let i = 0; i < entries.length; i += SLICE) {
      const ids = entries.slice(i, i + SLICE).map((e) => e.id);
      const rows = this.#db.prepare(`SELECT * FROM memory_vectors WHERE model = ? AND entry_id IN (${ids.map(() => '?').join(', ')})`).all(model, ...ids) as MemoryVectorRow[];
      for (const r of rows) if (changed.get(r.entry_id) === r.entry_updated_at) found.push(toStoredVector(r));
    }
    return found;
  }

  records(ids: readonly string[]): MemoryRecord[] {
    const found: MemoryRecord[] = [];
    for (let i = 0; i < ids.length; i += SLICE) {
      const slice = ids.slice(i, i + SLICE);
      const rows = this.#db.prepare(`SELECT * FROM memory_entries WHERE id IN (${slice.map(() => '?').join(', ')})`).all(...slice) as MemoryEntryRow[];
      found.push(...rows.map(toMemory));
    }
    return found;
  }

  count(model: string): number {
    return (this.#db.prepare('SELECT count(*) AS n FROM memory_vectors WHERE model = ?').get(model) as { n: number }).n;
  }
}

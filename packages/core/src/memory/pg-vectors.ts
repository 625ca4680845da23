/** Memory vectors on PostgreSQL (the model: ./vectors.ts): the table `memory_vectors` of migration 0020, shared by every node. */
import type { MemoryScope } from '@tinyagi/client/contract';
import type { PgScope } from '../storage/pg/scope.ts';
import type { MemoryEntryRow } from '../storage/rows.ts';
import { filterClauses, MEMORY_COLUMNS, type MemoryRecord, RECALLABLE, toMemory } from './store.ts';
import { type EntryToEmbed, type MemoryVectorRow, toStoredVector, type EntryVersion, type MemoryVectorStoreApi, type StoredVector, vectorBytes } from './vectors.ts';

export class PgMemoryVectorStore implements MemoryVectorStoreApi {
  readonly #scope: PgScope;
  readonly #entries: string;
  readonly #vectors: string;

  constructor(scope: PgScope) {
    this.#scope = scope;
    this.#entries = scope.table('memory_entries');
    this.#vectors = scope.table('memory_vectors');
  }

  async lacking(model: string, now: number, limit: number): Promise<EntryToEmbed[]> {
    const rows = await this.#scope.query<{ id: string; text: string; updated_at: number }>(
      `SELECT e.id, e.text, e.updated_at FROM ${this.#entries} e LEFT JOIN ${this.#vectors} v ON v.entry_id = e.id AND v.model = $1
       WHERE e.status = 'accepted' AND e.action = 'remember' AND (e.expires_at IS NULL OR e.expires_at > $2) AND (v.entry_id IS NULL OR v.entry_updated_at <> e.updated_at)
       ORDER BY e.updated_at, e.id LIMIT $3`,
      [model, now, limit],
    );
    return rows.map((r) => ({ id: r.id, text: r.text, updatedAt: r.updated_at }));
  }

  async put(vectors: readonly StoredVector[]): Promise<void> {
    if (vectors.length === 0) return;
    // One statement for the batch: the rows as arrays, unnested.
    await this.#scope.query(
      `INSERT INTO ${this.#vectors} (entry_id, model, dims, vector, entry_updated_at, created_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bytea[], $5::bigint[], $6::bigint[])
       ON CONFLICT (entry_id, model) DO UPDATE SET dims = excluded.dims, vector = excluded.vector, entry_updated_at = excluded.entry_updated_at, created_at = excluded.created_at`,
      [
        vectors.map((v) => v.entryId),
        vectors.map((v) => v.model),
        vectors.map((v) => v.vector.length),
        vectors.map((v) => vectorBytes(v.vector)),
        vectors.map((v) => v.entryUpdatedAt),
        vectors.map((v) => v.createdAt),
      ],
    );
  }

  async inScope(scopes: readonly MemoryScope[], now: number, limit: number): Promise<EntryVersion[]> {
    if (scopes.length === 0) return [];
    const args: unknown[] = [];
    const where = filterClauses({ scopes, now }, (v) => `$${args.push(v)}`);
    args.push(limit);
    const rows = await this.#scope.query<{ id: string; updated_at: number }>(`SELECT id, updated_at FROM ${this.#entries} WHERE ${RECALLABLE} AND ${where.join(' AND ')} LIMIT $${args.length}`, args);
    return rows.map((r) => ({ id: r.id, updatedAt: r.updated_at }));
  }

  async scopeVersion(scopes: readonly MemoryScope[], now: number): Promise<string> {
    if (scopes.length === 0) return '';
    const args: unknown[] = [];
    const where = filterClauses({ scopes, now }, (v) => `$${args.push(v)}`);
    const [row] = await this.#scope.query<{ v: string }>(
      `SELECT concat_ws(':', count(*), max(updated_at), sum(updated_at)) AS v FROM ${this.#entries} WHERE ${RECALLABLE} AND ${where.join(' AND ')}`,
      args,
    );
    return row?.v ?? '';
  }

  async recallable(now: number, limit: number): Promise<EntryVersion[]> {
    const rows = await this.#scope.query<{ id: string; updated_at: number }>(`SELECT id, updated_at FROM ${this.#entries} WHERE ${RECALLABLE} AND (expires_at IS NULL OR expires_at > $1) LIMIT $2`, [
      now,
      limit,
    ]);
    return rows.map((r) => ({ id: r.id, updatedAt: Number(r.updated_at) }));
  }

  async vectorsOf(entries: readonly EntryVersion[], model: string): Promise<StoredVector[]> {
    if (entries.length === 0) return [];
    const rows = await this.#scope.query<MemoryVectorRow>(
      `SELECT v.entry_id, v.model, v.entry_updated_at, v.vector, v.created_at FROM ${this.#vectors} v
       JOIN unnest($2::text[], $3::bigint[]) AS e(id, updated_at) ON v.entry_id = e.id AND v.entry_updated_at = e.updated_at WHERE v.model = $1`,
      [model, entries.map((e) => e.id), entries.map((e) => e.updatedAt)],
    );
    return rows.map(toStoredVector);
  }

  async records(ids: readonly string[]): Promise<MemoryRecord[]> {
    if (ids.length === 0) return [];
    return (await this.#scope.query<MemoryEntryRow>(`SELECT ${MEMORY_COLUMNS} FROM ${this.#entries} WHERE id = ANY($1::text[])`, [ids])).map(toMemory);
  }

  async count(model: string): Promise<number> {
    const [row] = await this.#scope.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.#vectors} WHERE model = $1`, [model]);
    return row?.n ?? 0;
  }
}

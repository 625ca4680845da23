/**
 * Memory vectors (`memory_vectors`, docs/memory.md "Embeddings"): one embedding per entry and
 * model, kept beside the entries for recall by meaning. A vector is float32, stored as bytes (a
 * BLOB on SQLite, bytea on PostgreSQL), and belongs to the entry's text as it was at
 * `entry_updated_at`: an entry changed since (an edit) counts as lacking one until it is embedded again.
 *
 * Contract:
 * - `lacking` lists the recallable entries (accepted `remember`, unexpired) with no vector of the
 *   model for their current text, oldest change first: what the sweep (./embedding-sweep.ts) embeds.
 * - `put` writes or replaces vectors (one per entry and model); never inside a decision's transaction.
 * - `inScope` names the recallable entries of the scopes with their last change: recall takes its
 *   ids from the database every turn (right on every node) and its vectors from a cache.
 * - `scopeVersion` changes whenever the scopes' recallable entries do (accepted, edited, retired,
 *   expired: count, latest and sum of `updated_at`): recall's per-turn check that its ids still hold.
 * - `vectorsOf` reads the vectors of the model for those entries that match their text's change.
 */
import type { MemoryScope } from '@tinyagi/client/contract';
import type { Awaitable } from '../storage/transaction.ts';
import type { MemoryRecord } from './store.ts';

export interface EntryToEmbed {
  id: string;
  text: string;
  updatedAt: number;
}

export interface EntryVersion {
  id: string;
  updatedAt: number;
}

export interface StoredVector {
  entryId: string;
  model: string;
  /** The entry's `updatedAt` when its text was embedded. */
  entryUpdatedAt: number;
  vector: Float32Array;
  createdAt: number;
}

export interface MemoryVectorStoreApi {
  /** Recallable entries without a current vector of `model`, oldest change first. */
  lacking(model: string, now: number, limit: number): Awaitable<EntryToEmbed[]>;
  /** Writes or replaces each entry's vector of its model. */
  put(vectors: readonly StoredVector[]): Awaitable<void>;
  /** The recallable, unexpired entries of the scopes (ids and last change), at most `limit`, in no particular order. */
  inScope(scopes: readonly MemoryScope[], now: number, limit: number): Awaitable<EntryVersion[]>;
  /** A version of the scopes' recallable entries: equal answers mean the same ids and `updatedAt`s (barring a coincidence of sums). */
  scopeVersion(scopes: readonly MemoryScope[], now: number): Awaitable<string>;
  /** Every recallable, unexpired entry (ids and last change), at most `limit`: what a process warms its cache with. */
  recallable(now: number, limit: number): Awaitable<EntryVersion[]>;
  /** The current vectors of `model` for these entries (an entry changed since it was embedded has none). */
  vectorsOf(entries: readonly EntryVersion[], model: string): Awaitable<StoredVector[]>;
  /** Full records of these entries, in no particular order. */
  records(ids: readonly string[]): Awaitable<MemoryRecord[]>;
  /** How many vectors of `model` are stored (doctor, tests). */
  count(model: string): Awaitable<number>;
}

/** The most entries of the scopes a turn scores by meaning. */
export const SEMANTIC_SCOPE_LIMIT = 20_000;

/** @internal float32 little-endian bytes of a vector (a copy: the database keeps its own). */
export function vectorBytes(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer.slice(vector.byteOffset, vector.byteOffset + vector.byteLength));
}

/** @internal The vector stored in `bytes` (copied, so it is aligned whatever the driver's buffer). */
export function bytesVector(bytes: Uint8Array): Float32Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

/** The vector scaled to length 1 (a zero vector stays zero): the cosine of two unit vectors is their dot product. */
export function unit(vector: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < vector.length; i++) n += vector[i]! * vector[i]!;
  if (n === 0) return vector;
  const scale = 1 / Math.sqrt(n);
  const out = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = vector[i]! * scale;
  return out;
}

/** A `memory_vectors` row as both backends read it (declared here, not from the drizzle schema: this module's types are published). */
export interface MemoryVectorRow {
  entry_id: string;
  model: string;
  entry_updated_at: number;
  vector: Uint8Array;
  created_at: number;
}

/** A stored row as the API's shape (timestamps may arrive as strings from PostgreSQL's bigint). */
export function toStoredVector(r: MemoryVectorRow): StoredVector {
  return { entryId: r.entry_id, model: r.model, entryUpdatedAt: Number(r.entry_updated_at), vector: bytesVector(r.vector), createdAt: Number(r.created_at) };
}

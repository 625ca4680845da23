/**
 * Recall by meaning (docs/memory.md "Embeddings"): the turn's message is embedded (one request)
 * and compared, by cosine similarity, with the vectors of the recallable entries of the scopes.
 *
 * Per process, one SemanticRecall per store set and configuration (semanticRecallFor): its cache
 * (./vector-arena.ts) holds unit vectors (a cosine is then a dot product) by entry id for its
 * model, each with the entry's `updatedAt` it belongs to (an edit changes `updatedAt`, so a stale
 * vector is never used). Every turn asks the database for a version of its scopes (count, latest
 * and sum of `updatedAt` of their recallable entries: one aggregate statement), and reads their ids
 * again only when it changed, so every node recalls the same entries without reading thousands of
 * ids per turn. Vectors the cache lacks are read by the turn when few, in the background when many
 * (a process's first turns, warmed at a daemon's start); the sweep hands over those it writes.
 *
 * When the endpoint fails or times out, `match` answers undefined (the turn recalls by full text
 * alone) and the log says so once, and once more when the endpoint answers again.
 */
import type { MemoryScope } from '@tinyagi/client/contract';
import { errorMessage } from '../errors.ts';
import { embed, type EmbeddingsConfig, sameEmbeddings, vectorModel } from './embeddings.ts';
import type { MemoryRecord } from './store.ts';
import { VectorArena } from './vector-arena.ts';
import { type EntryVersion, type MemoryVectorStoreApi, SEMANTIC_SCOPE_LIMIT, type StoredVector, unit } from './vectors.ts';

export interface SemanticHit {
  id: string;
  similarity: number;
}

/** Where a process's embeddings problems go (the daemon's log). */
export interface EmbeddingsLog {
  warn(message: string): void;
  info(message: string): void;
}

/** Vectors a process keeps at most (about 6 kB each at 1,536 dimensions). */
const CACHE_LIMIT = 50_000;
/** Vectors read from the database at once when the cache lacks them: on SQLite a slice blocks the event loop (~0.1 s for 500 of 1,536 dimensions on a loaded 2-core machine), so a turn waits for at most one small one. */
const FILL_SLICE = 100;
/** Lists of ids in scope kept (one per set of scopes a turn read). */
const SCOPE_LISTS = 1_000;
/** How often a turn looks again for vectors its scopes lacked (written since, e.g. by another node's sweep). */
const MISSING_RECHECK_MS = 5_000;

/** The ids of a set of scopes as last read, behind the probe's answer when they were read. */
interface ScopeIds {
  version: string;
  entries: EntryVersion[];
  /** The ids whose current vector the cache holds, as of `generation`; recomputed when the cache changes. */
  current: string[];
  generation: number;
  /** Entries lacking a vector at the last check (not embedded yet, or loading), and when that was. */
  missing: number;
  checkedAt: number;
}

export interface SemanticRecallOptions {
  /** Vectors a turn reads itself when its scopes lack no more than this many (default FILL_SLICE); more load in the background. */
  turnReads?: number;
}

export class SemanticRecall {
  readonly config: EmbeddingsConfig;
  readonly model: string;
  readonly #vectors: MemoryVectorStoreApi;
  readonly #log: () => EmbeddingsLog;
  readonly #cache = new VectorArena(CACHE_LIMIT);
  readonly #turnReads: number;
  readonly #scopeIds = new Map<string, ScopeIds>();
  /** Bumped whenever the cache changes, so a scope's `current` list is known stale. */
  #generation = 0;
  /** Entries (id -> updatedAt) whose vectors the background load still has to read. */
  readonly #pending = new Map<string, number>();
  #loading: Promise<void> | undefined;
  #failing = false;
  #loadFailing = false;

  constructor(config: EmbeddingsConfig, vectors: MemoryVectorStoreApi, log: () => EmbeddingsLog, options: SemanticRecallOptions = {}) {
    this.config = config;
    this.model = vectorModel(config);
    this.#vectors = vectors;
    this.#log = log;
    this.#turnReads = options.turnReads ?? FILL_SLICE;
  }

  /** True while vectors are being loaded in the background (a turn meanwhile scores those already loaded). */
  get loading(): boolean {
    return this.#loading !== undefined;
  }

  /** Resolves once the background load has nothing left to read. */
  async loaded(): Promise<void> {
    while (this.#loading) await this.#loading;
  }

  /**
   * The entries of the scopes closest in meaning to the message (at least `min_similarity`), best
   * first; undefined when the endpoint failed. A turn never waits for a cold cache: when its scopes
   * lack more than `turnReads` vectors, those load in the background and the turn scores the ones
   * already loaded (none on a process's first turn: full text alone).
   */
  async match(scopes: readonly MemoryScope[], message: string, now: number, limit: number): Promise<SemanticHit[] | undefined> {
    if (message.trim() === '' || scopes.length === 0) return [];
    const ids = await this.#idsInScope(scopes, now);
    // No request when there is nothing to compare with: an agent without memory costs no call.
    if (ids.entries.length === 0) return [];
    // Before the request: on SQLite a read blocks the event loop, which would count against the request's deadline.
    await this.#refresh(ids, now);
    let query: Float32Array;
    try {
      query = unit((await embed(this.config, [message]))[0]!);
    } catch (err) {
      this.#failed(err);
      return undefined;
    }
    this.#answered();
    return best(this.#cache.scores(query, this.#currentOf(ids)), this.config.minSimilarity, limit);
  }

  records(ids: readonly string[]): Promise<MemoryRecord[]> | MemoryRecord[] {
    return this.#vectors.records(ids);
  }

  /** Loads, in the background, the vectors of every recallable entry (a daemon's start): its first turns then find them. */
  async warm(now: number): Promise<void> {
    try {
      this.#queue(await this.#vectors.recallable(now, CACHE_LIMIT));
    } catch (err) {
      this.#loadFailed(err);
    }
  }

  /** Holds vectors just written (the sweep's), so this process's turns need not read them back. */
  hold(vectors: readonly StoredVector[]): void {
    for (const v of vectors) if (v.model === this.model) this.#cache.set(v.entryId, v.entryUpdatedAt, unit(v.vector));
    if (vectors.length > 0) this.#generation++;
  }

  /**
   * The scopes' ids, read again only when the probe's answer changed (an entry accepted, edited,
   * retired or expired since, on any node): one aggregate statement per turn instead of every id.
   */
  async #idsInScope(scopes: readonly MemoryScope[], now: number): Promise<ScopeIds> {
    const key = scopes.map((s) => `${s.kind}\u0000${s.id}`).join('\u0001');
    const version = await this.#vectors.scopeVersion(scopes, now);
    const known = this.#scopeIds.get(key);
    if (known?.version === version) return known;
    const entries = await this.#vectors.inScope(scopes, now, SEMANTIC_SCOPE_LIMIT);
    const ids: ScopeIds = { version, entries, current: [], generation: -1, missing: 0, checkedAt: 0 };
    this.#scopeIds.delete(key);
    if (this.#scopeIds.size >= SCOPE_LISTS) this.#scopeIds.delete(this.#scopeIds.keys().next().value as string);
    this.#scopeIds.set(key, ids);
    return ids;
  }

  /** Looks for the vectors the scopes lack (new ids, or due for a recheck): a few read now, many queued for the background. */
  async #refresh(ids: ScopeIds, now: number): Promise<void> {
    const due = ids.generation === -1 || (ids.missing > 0 && now - ids.checkedAt >= MISSING_RECHECK_MS);
    if (!due) return;
    ids.checkedAt = now;
    const missing = ids.entries.filter((e) => this.#cache.versionOf(e.id) !== e.updatedAt);
    ids.missing = missing.length;
    if (missing.length === 0) return;
    if (missing.length <= this.#turnReads && !this.#loading) await this.#read(missing);
    else this.#queue(missing);
  }

  #currentOf(ids: ScopeIds): string[] {
    if (ids.generation !== this.#generation) {
      ids.current = ids.entries.filter((e) => this.#cache.versionOf(e.id) === e.updatedAt).map((e) => e.id);
      ids.generation = this.#generation;
      // The cache may have let some go (CACHE_LIMIT): looked for again at the next check.
      ids.missing = ids.entries.length - ids.current.length;
    }
    return ids.current;
  }

  async #read(entries: readonly EntryVersion[]): Promise<void> {
    const found = await this.#vectors.vectorsOf(entries, this.model);
    for (const v of found) this.#cache.set(v.entryId, v.entryUpdatedAt, unit(v.vector));
    if (found.length > 0) this.#generation++;
  }

  #queue(entries: readonly EntryVersion[]): void {
    for (const e of entries) if (this.#cache.versionOf(e.id) !== e.updatedAt) this.#pending.set(e.id, e.updatedAt);
    if (this.#pending.size > 0) this.#loading ??= this.#drain();
  }

  /**
   * The background load: FILL_SLICE vectors at a time, the event loop free between slices (and
   * before the first, so the turn that queued them reads nothing). A failed read drops what is
   * pending; the next turn queues it again.
   */
  async #drain(): Promise<void> {
    try {
      while (this.#pending.size > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        const slice: EntryVersion[] = [];
        for (const [id, updatedAt] of this.#pending) {
          if (slice.length === FILL_SLICE) break;
          slice.push({ id, updatedAt });
        }
        for (const e of slice) this.#pending.delete(e.id);
        await this.#read(slice);
      }
      this.#loadFailing = false;
    } catch (err) {
      this.#pending.clear();
      this.#loadFailed(err);
    } finally {
      this.#loading = undefined;
    }
  }

  #loadFailed(err: unknown): void {
    if (this.#loadFailing) return;
    this.#loadFailing = true;
    this.#log().warn(`memory recall by meaning could not load vectors (turns score those loaded; tried again at the next turn): ${errorMessage(err)}`);
  }

  #failed(err: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#log().warn(`memory recall by meaning is off until the endpoint answers (recalling by full text alone): ${errorMessage(err)}`);
  }

  #answered(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#log().info('the embeddings endpoint answers again: memory recall by meaning is back on');
  }
}

/** The `limit` best scores from `min` up, best first, without sorting all of them (a turn scores thousands for 40). */
function best(scores: ReadonlyArray<{ id: string; score: number }>, min: number, limit: number): SemanticHit[] {
  const top: SemanticHit[] = [];
  if (limit <= 0) return top;
  for (const s of scores) {
    if (s.score < min || (top.length === limit && s.score <= top[limit - 1]!.similarity)) continue;
    let i = Math.min(top.length, limit - 1);
    if (top.length === limit) top.pop();
    while (i > 0 && top[i - 1]!.similarity < s.score) i--;
    top.splice(i, 0, { id: s.id, similarity: s.score });
  }
  return top;
}

interface ProcessEmbeddings {
  log: EmbeddingsLog;
  recall: SemanticRecall | undefined;
}

const processes = new WeakMap<MemoryVectorStoreApi, ProcessEmbeddings>();
const consoleLog: EmbeddingsLog = { warn: (m) => console.warn(`[memory] ${m}`), info: (m) => console.info(`[memory] ${m}`) };

function processOf(vectors: MemoryVectorStoreApi): ProcessEmbeddings {
  let state = processes.get(vectors);
  if (!state) {
    state = { log: consoleLog, recall: undefined };
    processes.set(vectors, state);
  }
  return state;
}

/** The process's SemanticRecall for these stores and this configuration (kept, with its cache, while the configuration stays the same); undefined when embeddings are off. */
export function semanticRecallFor(vectors: MemoryVectorStoreApi, config: EmbeddingsConfig | undefined): SemanticRecall | undefined {
  if (config === undefined) return undefined;
  const state = processOf(vectors);
  if (state.recall === undefined || !sameEmbeddings(state.recall.config, config)) state.recall = new SemanticRecall(config, vectors, () => state.log);
  return state.recall;
}

/** Sends this process's embeddings problems to `log` (the daemon's logger) instead of the console. */
export function useEmbeddingsLog(vectors: MemoryVectorStoreApi, log: EmbeddingsLog): void {
  processOf(vectors).log = log;
}

/** This process's SemanticRecall for these stores, if a turn or a warm made one (the sweep hands it what it wrote). */
export function semanticRecallOf(vectors: MemoryVectorStoreApi): SemanticRecall | undefined {
  return processes.get(vectors)?.recall;
}

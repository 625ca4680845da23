/**
 * Recall by meaning (docs/memory.md "Embeddings"): the turn's message is embedded (one request)
 * and compared, by cosine similarity, with the vectors of the recallable entries of the scopes.
 *
 * Per process, one SemanticRecall per store set and configuration (semanticRecallFor): its cache
 * (./vector-arena.ts) holds unit vectors (a cosine is then a dot product) by entry id for its
 * model, each with the entry's `updatedAt` it belongs to (an edit changes `updatedAt`, so a stale
 * vector is never used). The ids in scope come from the database every turn, so every node
 * recalls the same entries; only vectors the cache lacks are read.
 *
 * When the endpoint fails or times out, `match` answers undefined (the turn recalls by full text
 * alone) and the log says so once, and once more when the endpoint answers again.
 */
import type { MemoryScope } from '@tinyagi/client/contract';
import { errorMessage } from '../errors.ts';
import { embed, type EmbeddingsConfig, sameEmbeddings, vectorModel } from './embeddings.ts';
import type { MemoryRecord } from './store.ts';
import { VectorArena } from './vector-arena.ts';
import { type EntryVersion, type MemoryVectorStoreApi, SEMANTIC_SCOPE_LIMIT, unit } from './vectors.ts';

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
/** Vectors read from the database at once when the cache lacks them. */
const FILL_SLICE = 500;

export class SemanticRecall {
  readonly config: EmbeddingsConfig;
  readonly model: string;
  readonly #vectors: MemoryVectorStoreApi;
  readonly #log: () => EmbeddingsLog;
  readonly #cache = new VectorArena(CACHE_LIMIT);
  #failing = false;

  constructor(config: EmbeddingsConfig, vectors: MemoryVectorStoreApi, log: () => EmbeddingsLog) {
    this.config = config;
    this.model = vectorModel(config);
    this.#vectors = vectors;
    this.#log = log;
  }

  /** The entries of the scopes closest in meaning to the message (at least `min_similarity`), best first; undefined when the endpoint failed. */
  async match(scopes: readonly MemoryScope[], message: string, now: number, limit: number): Promise<SemanticHit[] | undefined> {
    if (message.trim() === '' || scopes.length === 0) return [];
    const entries = await this.#vectors.inScope(scopes, now, SEMANTIC_SCOPE_LIMIT);
    // No request when there is nothing to compare with: an agent without memory costs no call.
    if (entries.length === 0) return [];
    // The vectors the cache lacks are read first: on SQLite the read blocks the event loop, which
    // would count against the request's deadline (a process's first turn reads them all).
    await this.#fill(entries);
    let query: Float32Array;
    try {
      query = unit((await embed(this.config, [message]))[0]!);
    } catch (err) {
      this.#failed(err);
      return undefined;
    }
    this.#answered();
    const current = entries.filter((e) => this.#cache.versionOf(e.id) === e.updatedAt).map((e) => e.id);
    return this.#cache
      .scores(query, current)
      .filter((s) => s.score >= this.config.minSimilarity)
      .sort((a, b) => b.score - a.score)
      .slice(0, limit)
      .map((s) => ({ id: s.id, similarity: s.score }));
  }

  records(ids: readonly string[]): Promise<MemoryRecord[]> | MemoryRecord[] {
    return this.#vectors.records(ids);
  }

  /**
   * Reads the vectors the cache lacks (or holds for an older text), FILL_SLICE at a time with the
   * event loop free between slices: a process's first turn over thousands of entries reads them all.
   */
  async #fill(entries: readonly EntryVersion[]): Promise<void> {
    const missing = entries.filter((e) => this.#cache.versionOf(e.id) !== e.updatedAt);
    for (let i = 0; i < missing.length; i += FILL_SLICE) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      for (const v of await this.#vectors.vectorsOf(missing.slice(i, i + FILL_SLICE), this.model)) this.#cache.set(v.entryId, v.entryUpdatedAt, unit(v.vector));
    }
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

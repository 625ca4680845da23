/**
 * The embedding sweep (docs/memory.md "Embeddings"): the daemon embeds, off every decision's path,
 * the recallable entries that lack a vector of the configured model (new, edited, or all of them
 * when embeddings are configured later or the model changes), EMBEDDINGS_BATCH at a time.
 *
 * Contract:
 * - Runs at `start`, on `wake` (an entry decided), and every `intervalMs`; one pass at a time.
 * - An endpoint failure stops the pass and waits before the next (doubling from `intervalMs` to
 *   MAX_BACKOFF_MS); nothing is lost, the entries stay lacking. The log says so once per outage.
 * - An input the endpoint refuses alone (400/413/422, e.g. too long for the model) gets an empty
 *   vector, so it is not sent again until its text changes; recall by meaning never matches it.
 * - `stop` aborts a request in flight and resolves once the pass ended.
 */
import { errorMessage } from '../errors.ts';
import { embed, EMBEDDINGS_BATCH, type EmbeddingsConfig, EmbeddingsError, vectorModel } from './embeddings.ts';
import { type EmbeddingsLog, semanticRecallOf } from './semantic.ts';
import type { EntryToEmbed, MemoryVectorStoreApi, StoredVector } from './vectors.ts';

export const SWEEP_INTERVAL_MS = 15_000;
export const MAX_BACKOFF_MS = 10 * 60_000;
/** Batches in one pass at most (a large backfill continues at the next pass). */
const PASS_BATCHES = 50;

export interface EmbeddingSweepOptions {
  vectors: MemoryVectorStoreApi;
  /** Read at each pass: settings may change while the daemon runs. */
  config: () => EmbeddingsConfig | undefined;
  log: EmbeddingsLog;
  intervalMs?: number;
  batch?: number;
}

export interface SweepPass {
  embedded: number;
  /** Entries given an empty vector (refused by the endpoint). */
  refused: number;
  error?: EmbeddingsError | Error;
}

export class EmbeddingSweep {
  readonly #o: Required<EmbeddingSweepOptions>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<SweepPass> | undefined;
  #again = false;
  #stopped = true;
  #delay: number;
  #failing = false;
  readonly #abort = new AbortController();

  constructor(options: EmbeddingSweepOptions) {
    this.#o = { intervalMs: SWEEP_INTERVAL_MS, batch: EMBEDDINGS_BATCH, ...options };
    this.#delay = this.#o.intervalMs;
  }

  start(): void {
    this.#stopped = false;
    this.wake();
  }

  /** A pass now (or right after the one running). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.runOnce().finally(() => {
      this.#running = undefined;
      if (this.#stopped) return;
      if (this.#again) {
        this.#again = false;
        this.wake();
        return;
      }
      this.#timer = setTimeout(() => this.wake(), this.#delay);
      this.#timer.unref();
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#running;
  }

  /** One pass: batches until nothing lacks a vector, the endpoint fails, or PASS_BATCHES. */
  async runOnce(): Promise<SweepPass> {
    const pass: SweepPass = { embedded: 0, refused: 0 };
    const config = this.#o.config();
    if (config === undefined) return pass;
    try {
      for (let i = 0; i < PASS_BATCHES && !this.#abort.signal.aborted; i++) {
        const lacking = await this.#o.vectors.lacking(vectorModel(config), Date.now(), this.#o.batch);
        if (lacking.length === 0) break;
        const vectors = await this.#embedBatch(config, lacking, pass);
        await this.#o.vectors.put(vectors);
        // This process's recall holds them at once (other nodes read them at their next check).
        semanticRecallOf(this.#o.vectors)?.hold(vectors);
        if (lacking.length < this.#o.batch) break;
      }
      this.#recovered();
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#failed(err as Error, pass);
    }
    return pass;
  }

  async #embedBatch(config: EmbeddingsConfig, entries: readonly EntryToEmbed[], pass: SweepPass): Promise<StoredVector[]> {
    const model = vectorModel(config);
    const stored = (entry: EntryToEmbed, vector: Float32Array): StoredVector => ({ entryId: entry.id, model, entryUpdatedAt: entry.updatedAt, vector, createdAt: Date.now() });
    try {
      const vectors = await embed(
        config,
        entries.map((e) => e.text),
        this.#abort.signal,
      );
      pass.embedded += vectors.length;
      return vectors.map((v, i) => stored(entries[i]!, v));
    } catch (err) {
      // A batch refused as a whole: one by one, so one bad input does not hold back the others.
      if (!(err instanceof EmbeddingsError && err.inputRefused) || entries.length === 1) {
        if (err instanceof EmbeddingsError && err.inputRefused) {
          pass.refused++;
          this.#o.log.warn(`memory entry ${entries[0]!.id} was not embedded (it will not be recalled by meaning until edited): ${err.message}`);
          return [stored(entries[0]!, new Float32Array(0))];
        }
        throw err;
      }
      const out: StoredVector[] = [];
      for (const entry of entries) out.push(...(await this.#embedBatch(config, [entry], pass)));
      return out;
    }
  }

  #failed(err: Error, pass: SweepPass): void {
    pass.error = err;
    this.#delay = Math.min(this.#delay * 2, MAX_BACKOFF_MS);
    if (this.#failing) return;
    this.#failing = true;
    this.#o.log.warn(`memory embeddings: the sweep stopped (entries wait, recall by full text meanwhile); trying again with backoff: ${errorMessage(err)}`);
  }

  #recovered(): void {
    this.#delay = this.#o.intervalMs;
    if (!this.#failing) return;
    this.#failing = false;
    this.#o.log.info('memory embeddings: the sweep embeds again');
  }
}

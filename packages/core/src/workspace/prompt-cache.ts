export interface ComposedPrompt {
  readonly text: string;
  /** sha256 (hex) of `text`: equal prompts have equal hashes, whatever produced them. */
  readonly hash: string;
}

export interface PromptCacheStats {
  hits: number;
  misses: number;
  size: number;
}

/**
 * Least-recently-used map from an input key (settings fields plus file sizes and timestamps) to
 * a composed prompt. Bounded, so agents that come and go cannot grow it without limit.
 */
export class PromptCache {
  readonly maxEntries: number;
  readonly #entries = new Map<string, ComposedPrompt>();
  #hits = 0;
  #misses = 0;

  constructor(maxEntries = 128) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`PromptCache maxEntries must be a positive integer, got ${maxEntries}`);
    }
    this.maxEntries = maxEntries;
  }

  get(key: string): ComposedPrompt | undefined {
    const prompt = this.#entries.get(key);
    if (prompt === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#entries.delete(key);
    this.#entries.set(key, prompt);
    return prompt;
  }

  set(key: string, prompt: ComposedPrompt): void {
    this.#entries.delete(key);
    this.#entries.set(key, prompt);
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries) break;
      this.#entries.delete(oldest);
    }
  }

  clear(): void {
    this.#entries.clear();
  }

  get stats(): PromptCacheStats {
    return { hits: this.#hits, misses: this.#misses, size: this.#entries.size };
  }
}

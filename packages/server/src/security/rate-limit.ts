/**
 * Token buckets keyed by who is asking: each key holds up to `burst` tokens and regains `perSecond`
 * of them every second. The parameters come with every take (settings can change while the
 * daemon runs). Memory is bounded: past `maxKeys` the least recently used key is forgotten
 * (it starts again with a full bucket).
 */
export interface BucketRate {
  burst: number;
  perSecond: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #maxKeys: number;

  constructor(maxKeys = 10_000) {
    this.#maxKeys = maxKeys;
  }

  take(key: string, rate: BucketRate, now: number = performance.now()): TakeResult {
    const bucket = this.#buckets.get(key);
    let tokens = rate.burst;
    if (bucket) {
      tokens = Math.min(rate.burst, bucket.tokens + ((now - bucket.at) / 1000) * rate.perSecond);
      this.#buckets.delete(key); // re-inserted below: Map order is recency
    } else if (this.#buckets.size >= this.#maxKeys) {
      this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    const ok = tokens >= 1;
    this.#buckets.set(key, { tokens: ok ? tokens - 1 : tokens, at: now });
    return ok ? { ok: true } : { ok: false, retryAfterMs: Math.ceil(((1 - tokens) / rate.perSecond) * 1000) };
  }
}

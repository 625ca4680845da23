/**
 * Token buckets keyed by who is asking: each key holds up to `burst` tokens and regains `perSecond`
 * of them every second. The parameters come with every take (settings can change while the
 * daemon runs); a raised burst adds its extra tokens at once, so raising a limit relieves a
 * throttled client on its next request rather than after a refill. Memory is bounded: past `maxKeys` the least recently used key is forgotten
 * (it starts again with a full bucket).
 */
export interface BucketRate {
  burst: number;
  perSecond: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number; burst: number }>();
  readonly #maxKeys: number;

  constructor(maxKeys = 10_000) {
    this.#maxKeys = maxKeys;
  }

  take(key: string, rate: BucketRate, now: number = performance.now()): TakeResult {
    const bucket = this.#buckets.get(key);
    let tokens = rate.burst;
    if (bucket) {
      const raised = Math.max(0, rate.burst - bucket.burst);
      tokens = Math.min(rate.burst, bucket.tokens + raised + ((now - bucket.at) / 1000) * rate.perSecond);
      this.#buckets.delete(key); // re-inserted below: Map order is recency
    } else if (this.#buckets.size >= this.#maxKeys) {
      this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    const ok = tokens >= 1;
    this.#buckets.set(key, { tokens: ok ? tokens - 1 : tokens, at: now, burst: rate.burst });
    return ok ? { ok: true } : { ok: false, retryAfterMs: Math.ceil(((1 - tokens) / rate.perSecond) * 1000) };
  }
}

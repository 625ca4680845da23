import type { BackoffPolicy } from './types.ts';

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 5 * 60_000, jitter: 0.5, maxRateLimitWaits: 20 };

/** Exponential backoff with jitter for the `attempts`-th failure (1-based). */
export function backoffDelay(attempts: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp * (1 - policy.jitter * random()));
}

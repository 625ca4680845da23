/**
 * What an answer says of its account's rate limit or quota, loading nothing: the shape a runtime
 * reports (the invoker's `InvokeRequest.onQuota`, which re-exports it) and the model proxy reads
 * from a provider's rate-limit headers (rate-limit-headers.ts), and the shortest wait that holds
 * the whole account, which the quota board (quotas/board.ts) and the model proxy both go by.
 * It lives with the sandbox, the lower of the two, so the sandbox needs nothing of the invoker.
 */

/**
 * A runtime's word on its account's rate limit or quota (Claude Code's `rate_limit_event`,
 * Codex's rate-limit notifications, an HTTP 429 with a reset time). The scheduler holds every
 * agent on the same account until `resetsAt` when `status` is `exhausted` (docs/sessions.md).
 */
export interface QuotaReport {
  /** `ok`: within the limit; `warning`: close to it; `exhausted`: refused until the reset. */
  status: 'ok' | 'warning' | 'exhausted';
  /** When the limit resets (ms since the epoch), if the runtime said. */
  resetsAt?: number;
  /** Which limit, as the runtime names it (`five_hour`, `seven_day`, `primary`, `requests`). */
  limit?: string;
  /** Share of the limit used, 0..1, when known. */
  utilization?: number;
  /** The runtime's own words, for status lines. */
  message?: string;
}

/** A `rate_limited` failure holds the whole account only when its wait is at least this long; shorter waits are the message's own backoff. */
export const MIN_ERROR_HOLD_MS = 10_000;

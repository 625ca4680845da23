/** What a channel's intake and delivery share: backoff, which daemon errors pass, and a stop that cuts waits short. */
import { isApiError } from '@tinyagi/client';

/** Backoff of the `attempt`-th retry (0-based): base·2^attempt, capped, times a random 0.5–1.5 (so chats do not retry in step). */
export function retryDelay(attempt: number, baseMs: number, maxMs = 30_000, random = Math.random): number {
  return Math.round(Math.min(maxMs, baseMs * 2 ** attempt) * (0.5 + random()));
}

/** A daemon answer worth trying again: unreachable, rate-limited, or a 5xx. */
export function isTransient(err: unknown): boolean {
  return isApiError(err, 'NETWORK_ERROR') || isApiError(err, 'RATE_LIMITED') || (isApiError(err) && err.status >= 500);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An error's message with its causes (a network failure's reason is in `cause`: ECONNREFUSED, ENOTFOUND). */
export function errorWithCauses(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  while (current !== undefined && current !== null && parts.length < 4) {
    const message = current instanceof Error ? current.message : String(current);
    if (message !== '' && !parts.some((p) => p.includes(message))) parts.push(message);
    current = current instanceof Error ? ((current as { cause?: unknown }).cause ?? (current as { error?: unknown }).error) : undefined;
  }
  return parts.join(': ');
}

/** The channel's stop, seen by its intake and its delivery: once stopped, every wait ends at once. */
export class Stopping {
  readonly #controller = new AbortController();

  get stopped(): boolean {
    return this.#controller.signal.aborted;
  }

  stop(): void {
    this.#controller.abort();
  }

  /** A wait that a stop cuts short. */
  sleep(ms: number): Promise<void> {
    const signal = this.#controller.signal;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

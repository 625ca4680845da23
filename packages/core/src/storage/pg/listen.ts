/**
 * LISTEN on one channel over a dedicated connection that survives the connection's loss.
 *
 * The connection is a client of its own, made with the pool's settings, never one of the pool's:
 * a LISTEN that waited for a pooled connection while the pool's transactions waited
 * for the LISTEN deadlocked a node. So a node uses `pool_size` connections for its statements
 * and one more per listener (the queue's, the event log's, the shared settings').
 *
 * Contract:
 * - `start()` resolves once the LISTEN is active (a notification committed after it resolves is
 *   delivered); it rejects when the first connection cannot be made. `startInBackground()`
 *   never rejects: a first connection that fails counts as a loss (below).
 * - `onListening` is called every time the LISTEN becomes active (first time and after a loss):
 *   what was committed before it raised no notification here, so a caller that must not miss
 *   anything looks once then.
 * - When the connection is lost (server restart, network, the backend terminated), `onLost` is
 *   called once, and the listener connects again every `retryMs` until it can; then
 *   `onRestored` is called.
 * - `close()` stops listening and ends the connection (the pool stays the caller's).
 */
import pg from 'pg';
import type { Notification, Pool } from 'pg';
import { pgIdent } from './migrate.ts';

export interface PgChannelListenerOptions {
  onNotify(payload: string): void;
  /** The LISTEN is active (at start and after each loss): re-read what may have been missed. */
  onListening?(): void;
  /** The connection was lost or a reconnect attempt failed (called once per outage). */
  onLost?(err: unknown): void;
  /** Listening again after a loss: re-read what may have changed meanwhile. */
  onRestored?(): void;
  /** Between reconnect attempts (default 1000). */
  retryMs?: number;
}

export class PgChannelListener {
  readonly #pool: Pool;
  readonly #channel: string;
  readonly #options: PgChannelListenerOptions;
  #client: pg.Client | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** A connection being made (`close` waits for it, so no client outlives the listener). */
  #connecting: Promise<void> | undefined;
  #down = false;
  #closed = false;

  /** `pool` gives the connection settings only; `channel` must be a plain identifier (lower-case letters, digits, _). */
  constructor(pool: Pool, channel: string, options: PgChannelListenerOptions) {
    pgIdent(channel);
    this.#pool = pool;
    this.#channel = channel;
    this.#options = options;
  }

  get listening(): boolean {
    return this.#client !== undefined;
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  /** Resolves when the first attempt ended, listening or not (then it retries: see above). */
  startInBackground(): Promise<void> {
    return this.#attempt();
  }

  /** One connection attempt; a failure counts as a loss and is retried. */
  #attempt(): Promise<void> {
    return this.#connect().catch((err: unknown) => {
      this.#reportLost(err);
      this.#scheduleRetry();
    });
  }

  #connect(): Promise<void> {
    const connecting = this.#open().finally(() => {
      if (this.#connecting === connecting) this.#connecting = undefined;
    });
    this.#connecting = connecting;
    return connecting;
  }

  async #open(): Promise<void> {
    // The pool's settings object itself: it carries the password as a non-enumerable property.
    const client = new pg.Client(this.#pool.options);
    // Only the listening client counts: a failed attempt is reported by its caller.
    const lost = (err: unknown): void => {
      if (this.#client !== client) return;
      this.#client = undefined;
      client.end().catch(() => {});
      this.#reportLost(err);
      this.#scheduleRetry();
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('the listening connection ended')));
    client.on('notification', (n: Notification) => {
      if (this.#client === client && n.channel === this.#channel) this.#options.onNotify(n.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${pgIdent(this.#channel)}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#options.onListening?.();
    if (this.#down) {
      this.#down = false;
      this.#options.onRestored?.();
    }
  }

  #reportLost(err: unknown): void {
    if (this.#down) return;
    this.#down = true;
    this.#options.onLost?.(err);
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (!this.#closed) void this.#attempt();
    }, this.#options.retryMs ?? 1000);
    this.#retry.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#connecting?.catch(() => {});
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }
}

/**
 * LISTEN on one channel over a dedicated pooled connection that survives the connection's loss.
 *
 * Contract:
 * - `start()` resolves once the LISTEN is active (a notification committed after it resolves is
 *   delivered); it rejects when the first connection cannot be made.
 * - When the connection is lost (server restart, network, the backend terminated), `onLost` is
 *   called once, and the listener connects again every `retryMs` until it can; then
 *   `onRestored` is called. Notifications sent while it was not listening are lost, so the
 *   caller re-reads what it watches in `onRestored`.
 * - `close()` stops listening and returns the connection to the pool (the pool stays the caller's).
 */
import type { Notification, Pool, PoolClient } from 'pg';
import { pgIdent } from './migrate.ts';

export interface PgChannelListenerOptions {
  onNotify(payload: string): void;
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
  #client: PoolClient | undefined;
  #retry: NodeJS.Timeout | undefined;
  #detach: (() => void) | undefined;
  #down = false;
  #closed = false;

  /** `channel` must be a plain identifier (lower-case letters, digits, _). */
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

  async #connect(): Promise<void> {
    const client = await this.#pool.connect();
    const lost = (err: unknown): void => {
      if (this.#client !== client) return;
      this.#client = undefined;
      client.release(err instanceof Error ? err : true);
      this.#reportLost(err);
      this.#scheduleRetry();
    };
    const ended = (): void => lost(new Error('the listening connection ended'));
    const notified = (n: Notification): void => {
      if (this.#client === client && n.channel === this.#channel) this.#options.onNotify(n.payload ?? '');
    };
    client.on('notification', notified);
    client.on('error', lost);
    client.on('end', ended);
    // Handlers off before the client goes back to the pool (another user gets it next).
    this.#detach = () => {
      client.off('notification', notified);
      client.off('error', lost);
      client.off('end', ended);
    };
    try {
      await client.query(`LISTEN ${pgIdent(this.#channel)}`);
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
    if (this.#closed) {
      await this.#release(client);
      return;
    }
    this.#client = client;
  }

  async #release(client: PoolClient): Promise<void> {
    try {
      await client.query(`UNLISTEN ${pgIdent(this.#channel)}`);
      this.#detach?.();
      client.release();
    } catch (err) {
      client.release(err as Error);
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
      if (this.#closed) return;
      this.#connect().then(
        () => {
          if (this.#closed || !this.#down) return;
          this.#down = false;
          this.#options.onRestored?.();
        },
        (err: unknown) => {
          this.#reportLost(err);
          this.#scheduleRetry();
        },
      );
    }, this.#options.retryMs ?? 1000);
    this.#retry.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    if (client) await this.#release(client);
  }
}

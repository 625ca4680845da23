/**
 * Outbox expiry: at start and then every OUTBOX_EXPIRY_INTERVAL_MS, replies past their TTL
 * become `expired` with an `outbox.expired` event (the activity log shows each one). Without
 * this, a reply for a channel whose client never connects would stay pending forever, because
 * rows otherwise expire only when a client claims.
 */
import { errorMessage } from '@tinyagi/core';
import type { ReplyDelivery } from '../core-internal.ts';
import type { Logger } from './logger.ts';

export const OUTBOX_EXPIRY_INTERVAL_MS = 30_000;

export function startOutboxExpiry(outbox: Pick<ReplyDelivery, 'expire'>, logger: Logger, intervalMs = OUTBOX_EXPIRY_INTERVAL_MS): { stop(): void; runNow(): Promise<number> } {
  const runNow = async (): Promise<number> => {
    try {
      return (await outbox.expire()).length;
    } catch (err) {
      logger.error(`outbox expiry failed: ${errorMessage(err)}`);
      return 0;
    }
  };
  void runNow();
  const every = setInterval(() => void runNow(), intervalMs);
  every.unref();
  return {
    runNow,
    stop: () => clearInterval(every),
  };
}

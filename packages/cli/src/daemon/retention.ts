/**
 * Retention pruning: once shortly after start and then hourly, finished messages, delivered
 * outbox rows, runs and events older than `retention.days` (default 14) are deleted in small
 * batches (dead letters are kept until someone deletes them).
 */
import { effectiveRetentionDays, errorMessage, type Settings, type Stores } from '@tinyagi/core';
import type { Logger } from './logger.ts';

const FIRST_RUN_DELAY_MS = 60_000;
const INTERVAL_MS = 60 * 60_000;

export function startRetention(stores: Pick<Stores, 'prune'>, getSettings: () => Settings, logger: Logger): { stop(): void; runNow(): void } {
  const runNow = (): void => {
    try {
      const days = effectiveRetentionDays(getSettings());
      const pruned = stores.prune(days);
      const total = pruned.messages + pruned.outbox + pruned.runs + pruned.events;
      if (total > 0) logger.info(`retention (${days} days) pruned ${pruned.messages} messages, ${pruned.outbox} outbox rows, ${pruned.runs} runs, ${pruned.events} events`);
    } catch (err) {
      logger.error(`retention pruning failed: ${errorMessage(err)}`);
    }
  };
  const first = setTimeout(runNow, FIRST_RUN_DELAY_MS);
  const every = setInterval(runNow, INTERVAL_MS);
  first.unref();
  every.unref();
  return {
    runNow,
    stop() {
      clearTimeout(first);
      clearInterval(every);
    },
  };
}

/**
 * Retention pruning: once shortly after start and then hourly, data older than `retention.days`
 * (default 14) is deleted in small batches: finished messages, delivered outbox rows, runs,
 * events, the agents' chat history, chat-room posts, agent sessions not used in that time, and
 * old files under `<home>/files/`. Dead letters are kept until someone deletes them. One pass
 * at a time: a pass still running when the next is due is not overlapped.
 */
import { errorMessage, type PruneCounts, type Settings } from '@tinyagi/core';
import { effectiveRetentionDays, type StoreSet } from '../core-internal.ts';
import { plural } from '../output/print.ts';
import type { Logger } from './logger.ts';
import { sweepOldFiles, type FileSweepResult } from './file-retention.ts';

const FIRST_RUN_DELAY_MS = 60_000;
const INTERVAL_MS = 60 * 60_000;

export interface RetentionPass {
  days: number;
  pruned: PruneCounts;
  files: FileSweepResult;
}

export interface RetentionOptions {
  /** `<home>/files`, swept by mtime. */
  filesDir: string;
}

export function startRetention(
  stores: Pick<StoreSet, 'prune'>,
  getSettings: () => Settings,
  logger: Logger,
  options: RetentionOptions,
): { stop(): void; runNow(): Promise<RetentionPass | undefined> } {
  let running: Promise<RetentionPass | undefined> | undefined;
  const pass = async (): Promise<RetentionPass | undefined> => {
    try {
      const days = effectiveRetentionDays(getSettings());
      const before = Date.now() - days * 86_400_000;
      const pruned = await stores.prune(days);
      const files = await sweepOldFiles(options.filesDir, before);
      const total = Object.values(pruned).reduce((a, b) => a + b, 0) + files.files + files.dirs;
      if (total > 0) logger.info(retentionLine({ days, pruned, files }));
      if (files.errors > 0) logger.warn(`retention could not remove ${files.errors} entr${files.errors === 1 ? 'y' : 'ies'} under ${options.filesDir} (permissions?)`);
      return { days, pruned, files };
    } catch (err) {
      logger.error(`retention pruning failed: ${errorMessage(err)}`);
      return undefined;
    }
  };
  const runNow = (): Promise<RetentionPass | undefined> => {
    running ??= pass().finally(() => (running = undefined));
    return running;
  };
  const tick = (): void => void runNow();
  const first = setTimeout(tick, FIRST_RUN_DELAY_MS);
  const every = setInterval(tick, INTERVAL_MS);
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

export function retentionLine({ days, pruned, files }: RetentionPass): string {
  const parts = [
    plural(pruned.messages, 'message'),
    plural(pruned.outbox, 'outbox row'),
    plural(pruned.runs, 'run'),
    plural(pruned.events, 'event'),
    plural(pruned.agentMessages, 'agent chat message'),
    plural(pruned.chatroom, 'chat-room post'),
    plural(pruned.sessions, 'idle session'),
    `${plural(files.files, 'file')} (${formatBytes(files.bytes)})${files.dirs > 0 ? ` and ${plural(files.dirs, 'empty directory', 'empty directories')}` : ''}`,
  ];
  return `retention (${days} days) pruned ${parts.join(', ')}`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * Memory embeddings on a node (docs/memory.md "Embeddings"): the sweep that gives accepted
 * entries their vectors (core memory/embedding-sweep.ts), started on every node and working on the
 * leading one only (`leads`; the others' passes find embeddings off, so no entry is embedded
 * twice), woken by a decided entry (`memory.decided`, from any node) and by a change of
 * `memory.embeddings`; and the node's log for what recall and the sweep have to say. Nothing runs
 * while embeddings are off but a cheap check at each interval.
 */
import type { Settings } from '@tinyagi/core';
import { EmbeddingSweep, embeddingsConfig, semanticRecallFor, type StoreSet, useEmbeddingsLog } from '../core-internal.ts';
import type { Logger } from './logger.ts';

export interface EmbeddingsService {
  stop(): Promise<void>;
}

/**
 * Sends recall's embeddings problems (endpoint down, back) to the daemon's log, and starts loading
 * the vectors recall compares with, in the background (a turn meanwhile scores those loaded);
 * every node that runs agents.
 */
export function logEmbeddings(stores: StoreSet, logger: Logger, settings: Settings, env: NodeJS.ProcessEnv): void {
  useEmbeddingsLog(stores.memoryVectors, logger);
  void semanticRecallFor(stores.memoryVectors, embeddingsConfig(settings, env))?.warm(Date.now());
}

export function startEmbeddingSweep(
  stores: StoreSet,
  settings: { get(): Settings; onChange(fn: (next: Settings, previous: Settings) => void): () => unknown },
  env: NodeJS.ProcessEnv,
  logger: Logger,
  leads: () => boolean = () => true,
): EmbeddingsService {
  const sweep = new EmbeddingSweep({ vectors: stores.memoryVectors, config: () => (leads() ? embeddingsConfig(settings.get(), env) : undefined), log: logger });
  const unsubscribeEvents = stores.events.subscribe((event) => {
    if (event.type === 'memory.decided' || event.type === 'memory.proposed') sweep.wake();
  });
  const unsubscribeSettings = settings.onChange((next, previous) => {
    if (JSON.stringify(next.memory?.embeddings) !== JSON.stringify(previous.memory?.embeddings)) sweep.wake();
  });
  sweep.start();
  return {
    async stop() {
      unsubscribeEvents();
      unsubscribeSettings();
      await sweep.stop();
    },
  };
}

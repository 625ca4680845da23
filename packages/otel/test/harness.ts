/**
 * A real orchestrator (@tinyagi/teams) on a real SQLite file in a temp dir, the mock runtime, and
 * the trace observer under test registered through the observer seam.
 */
import { join } from 'node:path';
import { SettingsSchema, type InvokeRequest, type InvokeResult, type Observer, type Settings } from '@tinyagi/core';
import { openStores, type StoreTransaction } from '@tinyagi/core/internal';
import { Orchestrator } from '@tinyagi/teams';
import { cleanupTemp, tempDir, waitFor } from '@tinyagi/test-kit';

export interface Harness {
  orchestrator: Orchestrator;
  stores: ReturnType<typeof openStores>;
  waitForConversation(conversationId: string): Promise<void>;
  close(): Promise<void>;
}

export async function harness(settings: Settings, options: { observers: Observer[]; invoke?: (req: InvokeRequest) => Promise<InvokeResult> }): Promise<Harness> {
  const dir = tempDir('tinyagi-otel-');
  const stores = openStores({ dbPath: join(dir, 'tinyagi.db'), backoff: { baseMs: 20, maxMs: 50, jitter: 0, maxRateLimitWaits: 3 } });
  const current = SettingsSchema.parse({ ...settings, workspace: { path: join(dir, 'ws') } });
  const orchestrator = new Orchestrator({
    stores,
    getSettings: () => current,
    sweepMs: 200,
    observers: options.observers as Observer<StoreTransaction>[],
    ...(options.invoke ? { invoke: options.invoke } : {}),
  });
  orchestrator.start();
  return {
    orchestrator,
    stores,
    async waitForConversation(conversationId) {
      await waitFor(
        async () => {
          await stores.events.flush();
          return (await stores.events.readSince(0, { conversationId, types: ['conversation.completed'] }, 10))[0];
        },
        15_000,
        `conversation ${conversationId} to complete`,
      );
    },
    async close() {
      await orchestrator.stop(2000);
      await stores.close();
      cleanupTemp();
    },
  };
}

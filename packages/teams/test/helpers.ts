/**
 * Test fixtures: a real SQLite file and workspace in a temp dir, settings validated by core's
 * schema, and an orchestrator on them (temp folders and waits come from @tinyagi/test-kit).
 */
import { join } from 'node:path';
import { SettingsSchema, type BackoffPolicy, type InvokeRequest, type InvokeResult, type Settings, type EventOf, type EventType } from '@tinyagi/core';
import { openStores, type Stores } from '@tinyagi/core/internal';
import { cleanupTemp, tempDir, waitFor } from '@tinyagi/test-kit';
import { Orchestrator, type OrchestratorOptions } from '../src/index.ts';

export interface Harness {
  dir: string;
  stores: Stores;
  orchestrator: Orchestrator;
  settings: Settings;
  setSettings(next: Settings): void;
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void> | void> = [];

export async function closeAll(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  cleanupTemp();
}

export function withWorkspace(settings: Settings, dir: string): Settings {
  return SettingsSchema.parse({ ...settings, workspace: { path: join(dir, 'ws'), ...settings.workspace } });
}

export function harness(settings: Settings, options: Partial<OrchestratorOptions> & { start?: boolean; backoff?: BackoffPolicy } = {}): Harness {
  const dir = tempDir('tinyagi-teams-');
  const { backoff, ...orchestratorOptions } = options;
  const stores = openStores({ dbPath: join(dir, 'tinyagi.db'), ...(backoff ? { backoff } : {}) });
  let current = withWorkspace(settings, dir);
  const orchestrator = new Orchestrator({ stores, getSettings: () => current, sweepMs: 200, ...orchestratorOptions });
  if (options.start !== false) orchestrator.start();
  const h: Harness = {
    dir,
    stores,
    orchestrator,
    get settings() {
      return current;
    },
    setSettings(next) {
      current = withWorkspace(next, dir);
    },
    async close() {
      await orchestrator.stop(2000);
      stores.close();
    },
  };
  cleanups.push(() => h.close());
  return h;
}

export function eventsOf<T extends EventType = EventType>(stores: Stores, filter: { conversationId?: string; types?: T[] } = {}): Array<EventOf<T>> {
  stores.events.flush();
  return stores.events.readSince(0, filter, 100_000);
}

export async function waitForCompletion(h: Harness, conversationId: string, timeoutMs = 15_000): Promise<EventOf<'conversation.completed'>> {
  return waitFor(() => eventsOf(h.stores, { conversationId, types: ['conversation.completed'] })[0], timeoutMs, `conversation ${conversationId} to complete`);
}

/** Wraps an invoker to record every request it receives (the provider call log). */
export function recordingInvoker(inner: (req: InvokeRequest) => Promise<InvokeResult>): { invoke: (req: InvokeRequest) => Promise<InvokeResult>; calls: InvokeRequest[] } {
  const calls: InvokeRequest[] = [];
  return {
    calls,
    invoke: (req) => {
      calls.push(req);
      return inner(req);
    },
  };
}

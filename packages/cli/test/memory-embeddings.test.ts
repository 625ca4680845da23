/**
 * The daemon's embedding sweep (daemon/memory-embeddings.ts) over real SQLite stores and a fake
 * OpenAI-compatible endpoint on a loopback port: started, it embeds the accepted entries; a change
 * of `memory.embeddings` (another model) embeds them again; with none set it does nothing; `stop`
 * resolves with nothing left running. On a node that does not lead (several nodes) it embeds
 * nothing until it does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Settings } from '@tinyagi/core';
import { addMemory, openStores, type SqliteStores } from '@tinyagi/core/internal';
import { waitFor } from '@tinyagi/test-kit';
import { type FakeEmbeddings, startFakeEmbeddings } from '@tinyagi/test-kit/fake-embeddings';
import { afterEach, expect, it } from 'vitest';
import type { Logger } from '../src/daemon/logger.ts';
import { startEmbeddingSweep } from '../src/daemon/memory-embeddings.ts';

let dir: string | undefined;
let stores: SqliteStores | undefined;
let fake: FakeEmbeddings | undefined;
afterEach(async () => {
  stores?.close();
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function quietLogger(lines: string[]): Logger {
  const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m), child: () => logger };
  return logger;
}

function settingsSource(initial: Settings) {
  let current = initial;
  const listeners = new Set<(next: Settings, previous: Settings) => void>();
  return {
    get: () => current,
    onChange(fn: (next: Settings, previous: Settings) => void) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    set(next: Settings) {
      const previous = current;
      current = next;
      for (const fn of listeners) fn(next, previous);
    },
  };
}

it('embeds the accepted entries once embeddings are set (no restart), again when the model changes, and stops cleanly', async () => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-embeddings-'));
  stores = openStores({ dbPath: join(dir, 'tinyagi.db') });
  fake = await startFakeEmbeddings({ apiKey: 'sk-daemon-test' });
  const embeddings = (model: string) => ({ memory: { embeddings: { base_url: fake!.baseUrl, model, api_key_env: 'EMBED_KEY' } } });
  const source = settingsSource({});
  const lines: string[] = [];
  const env = { EMBED_KEY: 'sk-daemon-test' };
  for (const text of ['We keep every record in PostgreSQL', 'Releases go out on Fridays']) await addMemory(stores.memory, { scope: { kind: 'team', id: 'dev' }, kind: 'fact', text, by: 'cli' });

  const sweep = startEmbeddingSweep(stores, source, env, quietLogger(lines));
  try {
    // Off: nothing asked. On: both entries embedded without a restart.
    expect(fake.requests).toEqual([]);
    source.set(embeddings('model-a'));
    await waitFor(() => stores!.memoryVectors.count('model-a') === 2, 10_000, 'model-a vectors');
    source.set(embeddings('model-b'));
    await waitFor(() => stores!.memoryVectors.count('model-b') === 2, 10_000, 'model-b vectors');
    expect(fake.requests.every((r) => r.authorization === 'Bearer sk-daemon-test')).toBe(true);
  } finally {
    await sweep.stop();
  }
  expect(lines).toEqual([]);
});

it('on a node that does not lead (several nodes), the sweep embeds nothing; once it leads, it does', async () => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-embeddings-'));
  stores = openStores({ dbPath: join(dir, 'tinyagi.db') });
  fake = await startFakeEmbeddings({ apiKey: 'sk-daemon-test' });
  const embeddings = (model: string) => ({ memory: { embeddings: { base_url: fake!.baseUrl, model, api_key_env: 'EMBED_KEY' } } });
  const source = settingsSource({});
  await addMemory(stores.memory, { scope: { kind: 'team', id: 'dev' }, kind: 'fact', text: 'Releases go out on Fridays', by: 'cli' });
  let leading = false;
  let asked = 0;
  const sweep = startEmbeddingSweep(stores, source, { EMBED_KEY: 'sk-daemon-test' }, quietLogger([]), () => {
    asked++;
    return leading;
  });
  try {
    // Its passes ask whether it leads (at start, and when embeddings are set) and embed nothing.
    source.set(embeddings('model-a'));
    await waitFor(() => asked >= 2, 10_000, 'two passes of the sweep');
    expect(fake.requests).toEqual([]);
    // The leading node went away: this one leads now, and its next pass embeds.
    leading = true;
    source.set(embeddings('model-b'));
    await waitFor(() => stores!.memoryVectors.count('model-b') === 1, 10_000, 'model-b vectors');
    expect(stores.memoryVectors.count('model-a')).toBe(0);
  } finally {
    await sweep.stop();
  }
});

/**
 * The `recall` tool's search (GET /api/runs/:id/memory/recall, a run's own token) with
 * `memory.embeddings` set to a fake OpenAI-compatible endpoint on a loopback port: it takes the
 * turn's path, so a query for "database" finds the entry that says "PostgreSQL", which full text
 * misses, and still only within the run's scopes.
 */
import { createApiClient } from '@tinyagi/client';
import { EmbeddingSweep, embeddingsConfig } from '@tinyagi/core/internal';
import { waitFor } from '@tinyagi/test-kit';
import { type FakeEmbeddings, startFakeEmbeddings } from '@tinyagi/test-kit/fake-embeddings';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mintRunToken } from '../src/internal.ts';
import { baseSettings, type ServerHarness, startHarness } from './harness.ts';

let fake: FakeEmbeddings;
let h: ServerHarness;
beforeAll(async () => {
  fake = await startFakeEmbeddings();
  h = await startHarness({
    settings: (home) => ({ ...baseSettings(home), memory: { embeddings: { base_url: fake.baseUrl, model: 'text-embedding-3-small', dimensions: 256, min_similarity: 0.2 } } }),
  });
});
afterAll(async () => {
  await h?.close();
  await fake?.close();
});

it('the recall tool finds by meaning within the run’s scopes', async () => {
  const pg = await h.client.createMemory({ body: { scope: { kind: 'team', id: 'dev' }, kind: 'fact', text: 'We keep every record in PostgreSQL 15', by: 'cli' } });
  const elsewhere = await h.client.createMemory({ body: { scope: { kind: 'agent', id: 'reviewer' }, kind: 'fact', text: 'The reviewer keeps notes in a PostgreSQL database' } });
  const sweep = new EmbeddingSweep({ vectors: h.stores.memoryVectors, config: () => embeddingsConfig(h.settings(), {}), log: { warn: () => {}, info: () => {} } });
  expect((await sweep.runOnce()).embedded).toBeGreaterThanOrEqual(2);

  const sent = await h.client.sendMessage({ body: { message: 'slow: look things up', agent: 'coder' } });
  const run = await waitFor(
    async () => {
      const d = await h.client.getMessage({ params: { id: sent.messageId } });
      return d.run?.status === 'running' ? d.run : undefined;
    },
    10_000,
    'the run to start',
  );
  const asRun = createApiClient({ baseUrl: h.url, token: mintRunToken(h.token, run.id, run.conversationId) });
  const found = await asRun.recallForRun({ params: { id: run.id }, query: { q: 'which database?' } });
  expect(found.map((e) => e.id)).toEqual([pg.id]);
  expect(found.map((e) => e.id)).not.toContain(elsewhere.id);
  await h.client.cancelRun({ params: { id: run.id } });
});

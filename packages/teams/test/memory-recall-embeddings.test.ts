/**
 * Recall by meaning through the real orchestrator (docs/memory.md "Embeddings"): with
 * `memory.embeddings` set to a fake OpenAI-compatible endpoint on a loopback port, a turn's block
 * carries the entry closest in meaning to the message that full-text search misses ("database"
 * against "PostgreSQL"), the run records it, and with the endpoint down the turn still gets the
 * full-text matches.
 */
import { invokeAgent, type Settings } from '@tinyagi/core';
import { addMemory, EmbeddingSweep, embeddingsConfig, useEmbeddingsLog } from '@tinyagi/core/internal';
import { type FakeEmbeddings, startFakeEmbeddings } from '@tinyagi/test-kit/fake-embeddings';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { closeAll, harness, recordingInvoker, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

let fake: FakeEmbeddings;
beforeAll(async () => {
  fake = await startFakeEmbeddings();
});
afterAll(() => fake.close());

const settings = (): Settings => ({
  agents: { bot: { provider: 'mock', mock: { reply: 'ok' } } },
  teams: { dev: { agents: ['bot'], leader_agent: 'bot' } },
  memory: { embeddings: { base_url: fake.baseUrl, model: 'text-embedding-3-small', dimensions: 256, min_similarity: 0.2 } },
});

it("a turn's block carries the entry closest in meaning, which full text misses; with the endpoint down the full-text matches still come", async () => {
  const log = recordingInvoker((req) => invokeAgent(req));
  const h = await harness(settings(), { invoke: log.invoke });
  const warnings: string[] = [];
  useEmbeddingsLog(h.stores.memoryVectors, { warn: (m) => warnings.push(m), info: () => {} });
  const dev = { kind: 'team' as const, id: 'dev' };
  const pg = await addMemory(h.stores.memory, { scope: dev, kind: 'fact', text: 'We keep every record in PostgreSQL 15 on the main server', by: 'cli' });
  const fridays = await addMemory(h.stores.memory, { scope: dev, kind: 'decision', text: 'Releases go out on Fridays', by: 'cli' });
  const sweep = new EmbeddingSweep({ vectors: h.stores.memoryVectors, config: () => embeddingsConfig(h.settings, {}), log: { warn: () => {}, info: () => {} } });
  expect(await sweep.runOnce()).toEqual({ embedded: 2, refused: 0 });

  const sent = await h.orchestrator.submit({ message: '@bot which database do we use?', senderId: 'u1' });
  await waitForCompletion(h, sent.conversationId);
  const prompt = log.calls.at(-1)!.prompt;
  expect(prompt).toContain(`[${pg.id} · team dev · fact] We keep every record in PostgreSQL 15`);
  expect(prompt).not.toContain('Fridays');
  const [run] = await h.stores.runs.listRuns(sent.conversationId);
  expect((await h.stores.memory.injectionOf(run!.id))?.entryIds).toEqual([pg.id]);
  expect(fake.requests.at(-1)).toMatchObject({ model: 'text-embedding-3-small', input: ['which database do we use?'] });

  fake.down();
  try {
    const later = await h.orchestrator.submit({ message: '@bot when do releases go out?', senderId: 'u1' });
    await waitForCompletion(h, later.conversationId);
    expect(log.calls.at(-1)!.prompt).toContain(`[${fridays.id} · team dev · decision] Releases go out on Fridays`);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/recalling by full text alone.*answered 503/);
  } finally {
    fake.up();
  }
});

/**
 * Conformance of memory vectors and recall by meaning (docs/memory.md "Embeddings"), against
 * `StoreSet` only (called from `runStoreConformance`: SQLite and PostgreSQL run the same checks),
 * with a fake OpenAI-compatible embeddings endpoint on a loopback port (test-kit's fake-embeddings):
 * the vectors' storage, the sweep filling and re-filling them, fused recall, and the endpoint down.
 */
import type { MemoryScope } from '@tinyagi/client/contract';
import { type FakeEmbeddings, startFakeEmbeddings } from '@tinyagi/test-kit/fake-embeddings';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddingSweep } from '../src/memory/embedding-sweep.ts';
import { type EmbeddingsConfig, embeddingsConfig, vectorModel } from '../src/memory/embeddings.ts';
import { addMemory, decideMemory, editMemory, proposeRemember, retireMemory } from '../src/memory/proposals.ts';
import { recallForTurn, searchMemory } from '../src/memory/recall.ts';
import { type EmbeddingsLog, semanticRecallFor, useEmbeddingsLog } from '../src/memory/semantic.ts';
import type { WithStores } from './store-conformance.ts';

const dev: MemoryScope = { kind: 'team', id: 'dev' };
const other: MemoryScope = { kind: 'team', id: 'ops' };
const by = { by: 'cli' };

function collectingLog(): EmbeddingsLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m) => lines.push(`warn ${m}`), info: (m) => lines.push(`info ${m}`) };
}

export function runMemoryVectorConformance(name: string, withStores: WithStores): void {
  describe(`MemoryVectorStoreApi conformance and recall by meaning: ${name}`, () => {
    let fake: FakeEmbeddings;
    let config: EmbeddingsConfig;
    beforeAll(async () => {
      fake = await startFakeEmbeddings({ apiKey: 'sk-test-key', refuse: (input) => input.includes('TOO LONG') });
      config = embeddingsConfig(
        { memory: { embeddings: { base_url: fake.baseUrl, model: 'text-embedding-3-small', api_key_env: 'TEST_EMBEDDINGS_KEY', dimensions: 256, timeout_ms: 2000, min_similarity: 0.2 } } },
        { TEST_EMBEDDINGS_KEY: 'sk-test-key' },
      )!;
    });
    afterAll(() => fake.close());

    it(
      'stores float32 vectors per entry and model; lacking names recallable entries without a current vector; an edit makes a vector stale',
      withStores(async ({ memory, memoryVectors: vectors }) => {
        const a = await addMemory(memory, { scope: dev, kind: 'fact', text: 'alpha', ...by }, 1000);
        const b = await addMemory(memory, { scope: other, kind: 'fact', text: 'beta', ...by }, 2000);
        await addMemory(memory, { scope: dev, kind: 'fact', text: 'expired', expiresAt: 1500, ...by }, 1000);
        const retired = await addMemory(memory, { scope: dev, kind: 'fact', text: 'retired', ...by }, 1000);
        await retireMemory(memory, retired.id, 'cli', 1100);
        await proposeRemember(memory, { scope: dev, kind: 'fact', text: 'only proposed', reason: 'test', provenance: { proposedBy: '@ann' } }, 1000);
        expect((await vectors.lacking('m', 3000, 10)).map((e) => e.id)).toEqual([a.id, b.id]);
        const vector = Float32Array.from([0.1, -2.5, 3e-8, 1]);
        await vectors.put([{ entryId: a.id, model: 'm', entryUpdatedAt: a.updatedAt, vector, createdAt: 3000 }]);
        expect((await vectors.lacking('m', 3000, 10)).map((e) => e.id)).toEqual([b.id]);
        expect((await vectors.lacking('other-model', 3000, 10)).map((e) => e.id)).toEqual([a.id, b.id]);
        const [stored] = await vectors.vectorsOf([{ id: a.id, updatedAt: a.updatedAt }], 'm');
        expect(stored).toMatchObject({ entryId: a.id, model: 'm', entryUpdatedAt: 1000, createdAt: 3000 });
        expect(Array.from(stored!.vector)).toEqual(Array.from(vector));
        expect((await vectors.inScope([dev], 3000, 10)).map((e) => e.id)).toEqual([a.id]);
        // Replaced in place (one vector per entry and model).
        await vectors.put([{ entryId: a.id, model: 'm', entryUpdatedAt: a.updatedAt, vector: Float32Array.from([1, 2]), createdAt: 3500 }]);
        expect(await vectors.count('m')).toBe(1);
        const edited = await editMemory(memory, a.id, { text: 'alpha, edited' }, 4000);
        expect((await vectors.lacking('m', 5000, 10)).map((e) => e.id)).toEqual([b.id, a.id]);
        expect(await vectors.vectorsOf([{ id: a.id, updatedAt: edited.updatedAt }], 'm')).toEqual([]);
        expect((await vectors.records([a.id, b.id])).map((r) => r.text).sort()).toEqual(['alpha, edited', 'beta']);
      }),
    );

    it(
      'the sweep embeds accepted entries, again after an edit and for a new model; a turn recalls by meaning what full text misses',
      withStores(async (stores) => {
        const { memory, memoryVectors } = stores;
        const pg = await addMemory(memory, { scope: dev, kind: 'fact', text: 'We keep every record in PostgreSQL 15 on the main server', ...by }, 1000);
        await addMemory(memory, { scope: dev, kind: 'decision', text: 'Releases go out on Fridays after lunch', ...by }, 1000);
        const proposal = await proposeRemember(memory, { scope: dev, kind: 'fact', text: 'Cars park behind the office', reason: 'test', provenance: { proposedBy: '@ann' } }, 1000);
        const sweep = new EmbeddingSweep({ vectors: memoryVectors, config: () => config, log: collectingLog() });
        expect(await sweep.runOnce()).toEqual({ embedded: 2, refused: 0 });
        expect(fake.requests.at(-1)).toMatchObject({ model: 'text-embedding-3-small', dimensions: 256, authorization: 'Bearer sk-test-key' });
        await decideMemory(memory, proposal.entry.id, { decision: 'accept', by: 'cli' }, 2000);
        expect(await sweep.runOnce()).toEqual({ embedded: 1, refused: 0 });
        expect(await sweep.runOnce()).toEqual({ embedded: 0, refused: 0 });

        const message = 'Which database do we use?';
        const request = { scopes: [dev], message, budgetTokens: 1000, now: 3000 };
        expect((await recallForTurn(memory, request)).entries.map((e) => e.id)).not.toContain(pg.id);
        const semantic = semanticRecallFor(memoryVectors, config)!;
        const recall = await recallForTurn(memory, request, semantic);
        expect(recall.entries.map((e) => e.id)).toEqual([pg.id]);
        expect(recall.block).toContain('PostgreSQL 15');
        expect((await searchMemory(memory, 'database', { scopes: [dev], status: 'accepted', action: 'remember', now: 3000, limit: 5 }, semantic)).map((e) => e.id)).toEqual([pg.id]);
        expect(await searchMemory(memory, 'database', { scopes: [other], status: 'accepted', action: 'remember', now: 3000, limit: 5 }, semantic)).toEqual([]);

        // An edit re-embeds that entry only; recall follows the new text at once (the old vector is stale).
        await editMemory(memory, pg.id, { text: 'Our records live in a spreadsheet' }, 4000);
        expect((await recallForTurn(memory, { ...request, now: 5000 }, semantic)).entries).toEqual([]);
        expect(await sweep.runOnce()).toEqual({ embedded: 1, refused: 0 });
        // Another model (or dimensions): every entry is embedded again.
        const wider = { ...config, dimensions: 128 };
        expect(vectorModel(wider)).not.toBe(vectorModel(config));
        const sweepWider = new EmbeddingSweep({ vectors: memoryVectors, config: () => wider, log: collectingLog() });
        expect(await sweepWider.runOnce()).toEqual({ embedded: 3, refused: 0 });
        expect(await memoryVectors.count(vectorModel(wider))).toBe(3);
      }),
    );

    it(
      'with the endpoint down a turn recalls by full text (said once in the log), the sweep keeps its entries and fills them once it answers',
      withStores(async (stores) => {
        const { memory, memoryVectors } = stores;
        const log = collectingLog();
        useEmbeddingsLog(memoryVectors, log);
        const fridays = await addMemory(memory, { scope: dev, kind: 'decision', text: 'Releases go out on Fridays', ...by }, 1000);
        const sweep = new EmbeddingSweep({ vectors: memoryVectors, config: () => config, log });
        await sweep.runOnce();
        fake.down();
        try {
          const pg = await addMemory(memory, { scope: dev, kind: 'fact', text: 'We keep every record in PostgreSQL', ...by }, 2000);
          const pass = await sweep.runOnce();
          expect(pass.embedded).toBe(0);
          expect(pass.error?.message).toMatch(/answered 503: The server is overloaded/);
          const semantic = semanticRecallFor(memoryVectors, config)!;
          for (const now of [3000, 3001]) {
            const recall = await recallForTurn(memory, { scopes: [dev], message: 'When are releases?', budgetTokens: 1000, now }, semantic);
            expect(recall.entries.map((e) => e.id)).toEqual([fridays.id]);
          }
          expect(log.lines.filter((l) => l.includes('recall by meaning is off'))).toHaveLength(1);
          expect((await memoryVectors.lacking(vectorModel(config), 3000, 10)).map((e) => e.id)).toEqual([pg.id]);
          fake.up();
          expect(await sweep.runOnce()).toEqual({ embedded: 1, refused: 0 });
          const back = await recallForTurn(memory, { scopes: [dev], message: 'Which database?', budgetTokens: 1000, now: 4000 }, semantic);
          expect(back.entries.map((e) => e.id)).toEqual([pg.id]);
          expect(log.lines.some((l) => l.startsWith('info') && l.includes('back on'))).toBe(true);
        } finally {
          fake.up();
        }
      }),
    );

    it(
      'an entry the endpoint refuses alone gets an empty vector and is not sent again; a hanging endpoint is cut at its deadline',
      withStores(async ({ memory, memoryVectors }) => {
        const ok = await addMemory(memory, { scope: dev, kind: 'fact', text: 'We keep every record in PostgreSQL', ...by }, 1000);
        await addMemory(memory, { scope: dev, kind: 'fact', text: 'TOO LONG for the model', ...by }, 1000);
        const log = collectingLog();
        const sweep = new EmbeddingSweep({ vectors: memoryVectors, config: () => config, log });
        expect(await sweep.runOnce()).toEqual({ embedded: 1, refused: 1 });
        expect(await sweep.runOnce()).toEqual({ embedded: 0, refused: 0 });
        expect(log.lines.some((l) => l.includes('was not embedded'))).toBe(true);
        fake.hang();
        try {
          const short = { ...config, timeoutMs: 200 };
          useEmbeddingsLog(memoryVectors, log);
          const recall = await recallForTurn(memory, { scopes: [dev], message: 'PostgreSQL', budgetTokens: 1000, now: 2000 }, semanticRecallFor(memoryVectors, short));
          expect(recall.entries.map((e) => e.id)).toEqual([ok.id]);
          expect(log.lines.some((l) => l.includes('did not answer within 200 ms'))).toBe(true);
        } finally {
          fake.up();
        }
      }),
    );
  });
}

/**
 * Recall by meaning's per-process caches on PostgreSQL (core memory/semantic.ts): a turn does not
 * wait for a cold cache's vectors (held here by a real table lock), and the per-turn version of
 * the scopes lets a node see at once what another node accepted, edited, retired or embedded.
 */
import type { MemoryScope } from '@tinyagi/client/contract';
import { type FakeEmbeddings, startFakeEmbeddings } from '@tinyagi/test-kit/fake-embeddings';
import { pgTestDatabase } from '@tinyagi/test-kit/pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddingSweep } from '../src/memory/embedding-sweep.ts';
import { type EmbeddingsConfig, embeddingsConfig } from '../src/memory/embeddings.ts';
import { addMemory, editMemory, retireMemory } from '../src/memory/proposals.ts';
import { recallForTurn } from '../src/memory/recall.ts';
import { type EmbeddingsLog, SemanticRecall } from '../src/memory/semantic.ts';
import { pgNodes } from './pg-nodes.ts';

const db = await pgTestDatabase();
const nodes = pgNodes(db, 'sem');
const dev: MemoryScope = { kind: 'team', id: 'dev' };
const by = { by: 'cli' };
const log: EmbeddingsLog = { warn: () => {}, info: () => {} };

describe.skipIf(db.skip !== undefined)('recall by meaning on PostgreSQL: cold cache and other nodes', () => {
  let fake: FakeEmbeddings;
  let config: EmbeddingsConfig;
  beforeAll(async () => {
    fake = await startFakeEmbeddings({ apiKey: 'k' });
    config = embeddingsConfig(
      { memory: { embeddings: { base_url: fake.baseUrl, model: 'text-embedding-3-small', api_key_env: 'KEY', dimensions: 256, timeout_ms: 5000, min_similarity: 0.2 } } },
      { KEY: 'k' },
    )!;
  });
  afterAll(() => fake.close());

  it('a turn while the vectors load in the background recalls by full text; once loaded, by meaning', async () => {
    const [a] = await nodes.twoNodes();
    const fridays = await addMemory(a.memory, { scope: dev, kind: 'decision', text: 'Releases go out on Fridays', ...by }, 1000);
    const pg = await addMemory(a.memory, { scope: dev, kind: 'fact', text: 'We keep every record in PostgreSQL 15', ...by }, 1000);
    await new EmbeddingSweep({ vectors: a.memoryVectors, config: () => config, log }).runOnce();
    // A new process: nothing cached; turnReads 0 sends every missing vector to the background load.
    const semantic = new SemanticRecall(config, a.memoryVectors, () => log, { turnReads: 0 });
    const request = { scopes: [dev], message: 'Which database do we use? Releases?', budgetTokens: 1000, now: 2000 };
    const locker = await nodes.admin.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${nodes.schema}".memory_vectors IN ACCESS EXCLUSIVE MODE`);
      const during = await recallForTurn(a.memory, request, semantic);
      expect(during.entries.map((e) => e.id)).toEqual([fridays.id]);
      expect(semantic.loading).toBe(true);
      await locker.query('ROLLBACK');
    } finally {
      locker.release();
    }
    await semantic.loaded();
    expect(semantic.loading).toBe(false);
    const after = await recallForTurn(a.memory, { ...request, now: 2001 }, semantic);
    expect(after.entries.map((e) => e.id).sort()).toEqual([fridays.id, pg.id].sort());
  });

  it("each turn's version of the scopes sees what another node accepted, edited, retired and embedded", async () => {
    const [a, b] = await nodes.twoNodes();
    await addMemory(a.memory, { scope: dev, kind: 'decision', text: 'Releases go out on Fridays', ...by }, 1000);
    const sweepB = new EmbeddingSweep({ vectors: b.memoryVectors, config: () => config, log });
    await sweepB.runOnce();
    const semantic = new SemanticRecall(config, a.memoryVectors, () => log);
    const turn = async (now: number) => (await recallForTurn(a.memory, { scopes: [dev], message: 'Which database do we use?', budgetTokens: 1000, now }, semantic)).entries.map((e) => e.text);
    expect(await turn(2000)).toEqual([]);
    // Accepted and embedded on node B: node A's next turn reads the new id and its vector.
    const pg = await addMemory(b.memory, { scope: dev, kind: 'fact', text: 'We keep every record in PostgreSQL 15', ...by }, 2100);
    await sweepB.runOnce();
    expect(await turn(2200)).toEqual(['We keep every record in PostgreSQL 15']);
    // Edited on B: A stops using the old vector at once, and uses B's new one once B embedded it
    // (A looks again for vectors its scopes lack at most every few seconds).
    const moved = 'We moved every record to PostgreSQL 16';
    await editMemory(b.memory, pg.id, { text: moved }, 2300);
    expect(await turn(2400)).toEqual([]);
    await sweepB.runOnce();
    expect(await turn(60_000)).toEqual([moved]);
    // Accepted on B, embedded later.
    const backups = 'We keep every invoice in PostgreSQL 15';
    const second = await addMemory(b.memory, { scope: dev, kind: 'fact', text: backups, ...by }, 60_100);
    expect(await turn(60_200)).toEqual([moved]);
    await sweepB.runOnce();
    expect((await turn(120_000)).sort()).toEqual([backups, moved].sort());
    // Retired on B: gone from A's next turn.
    await retireMemory(b.memory, second.id, 'cli', 120_100);
    expect(await turn(120_200)).toEqual([moved]);
  });
});

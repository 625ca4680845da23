/**
 * B25: what recall by meaning (memory.embeddings) costs a turn's recall with 10,000 entries of
 * 1,536 dimensions in the agent's scopes (5,000 more in others'), on SQLite (a file, synchronous
 * FULL), in a process under the daemon's node flags (DAEMON_NODE_FLAGS: no optimising compilers),
 * which is what users get. The fake embeddings endpoint (@tinyagi/test-kit) answers from this
 * process, the measured one is a child: the endpoint's JSON work is not counted in its CPU (it
 * shares the machine's cores).
 *
 * The vectors are random unit vectors written directly (min_similarity 0, so the 40 best go through
 * fusion as real matches would). Measured, as a turn does it (recallForTurn): the first recall of a
 * process whose cache is cold, the time until its background load holds every vector, then
 * recalls alternating with embeddings on and off (p50 / p99).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addMemory, embeddingsConfig, openStores, recallForTurn, semanticRecallFor, type StoreSet } from '@tinyagi/core/internal';
import { startFakeEmbeddings } from '@tinyagi/test-kit/fake-embeddings';
import { DAEMON_NODE_FLAGS } from 'tinyagi';
import { percentile } from './machine.ts';
import { bulkEntries, bulkMessages, seeded } from './memory-corpus.ts';

export interface B25Options {
  /** Entries in the agent's scopes (default 10,000). */
  entries: number;
  /** Recalls of each kind (on, off) after the cold one. */
  turns: number;
}

const DIMENSIONS = 1536;
const BUDGET = 1000;
const SCOPES = [
  { kind: 'agent', id: 'bot' },
  { kind: 'team', id: 'dev' },
] as const;

interface ChildResult {
  first: number;
  firstHits: number;
  loaded: number;
  on: number[];
  off: number[];
}

const ms = (v: number) => `${v.toFixed(1)} ms`;

export async function benchB25(options: B25Options): Promise<string> {
  const fake = await startFakeEmbeddings({ apiKey: 'bench' });
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-b25-'));
  try {
    const r = await measuredProcess({ ...options, dir, baseUrl: fake.baseUrl });
    const on = r.on.sort((a, b) => a - b);
    const off = r.off.sort((a, b) => a - b);
    return [
      `| recall by meaning, ${options.entries.toLocaleString('en')} entries in scope × ${DIMENSIONS} dimensions, SQLite | per recall, p50 / p99 |`,
      '|---|---|',
      `| embeddings off | ${ms(percentile(off, 50))} / ${ms(percentile(off, 99))} |`,
      `| embeddings on (vectors loaded) | ${ms(percentile(on, 50))} / ${ms(percentile(on, 99))} |`,
      `| first recall after start (cold cache; ${r.firstHits} entries in its block) | ${ms(r.first)} |`,
      `| every vector loaded, in the background, after | ${ms(r.loaded)} |`,
    ].join('\n');
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the child and reads its figures (asynchronously: the endpoint it calls answers from this process). */
function measuredProcess(spec: B25Options & { dir: string; baseUrl: string }): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=tinyagi-source', ...DAEMON_NODE_FLAGS, fileURLToPath(import.meta.url)], {
      env: { ...process.env, B25_CHILD: JSON.stringify(spec), B25_KEY: 'bench' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`B25's measured process failed (${code}): ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult);
    });
  });
}

async function seed(stores: StoreSet, entries: number): Promise<void> {
  const t0 = Date.UTC(2026, 0, 1);
  const texts = bulkEntries(entries + entries / 2);
  const others = [
    { kind: 'agent', id: 'eve' },
    { kind: 'team', id: 'ops' },
  ] as const;
  const random = seeded(25);
  const vectors = [];
  await stores.transaction(async (tx) => {
    for (const [i, e] of texts.entries()) {
      const scope = i < entries ? SCOPES[i % 2]! : others[i % 2]!;
      const entry = await addMemory(tx.stores.memory, { scope, kind: e.kind, text: e.text, by: 'bench' }, t0 + i * 60_000);
      vectors.push({ id: entry.id, updatedAt: entry.updatedAt });
    }
  });
  for (let i = 0; i < vectors.length; i += 500) {
    const slice = vectors.slice(i, i + 500).map((v) => ({
      entryId: v.id,
      model: `text-embedding-3-small@${DIMENSIONS}`,
      entryUpdatedAt: v.updatedAt,
      vector: Float32Array.from({ length: DIMENSIONS }, () => random() - 0.5),
      createdAt: t0,
    }));
    await stores.memoryVectors.put(slice);
  }
}

/** The measured process: seeds, reopens the stores (a cold cache), measures. */
async function child(spec: B25Options & { dir: string; baseUrl: string }): Promise<ChildResult> {
  const dbPath = join(spec.dir, 'tinyagi.db');
  const seeding = openStores({ dbPath, durability: 'full' });
  await seed(seeding, spec.entries);
  seeding.close();
  const config = embeddingsConfig(
    { memory: { embeddings: { base_url: spec.baseUrl, model: 'text-embedding-3-small', api_key_env: 'B25_KEY', dimensions: DIMENSIONS, min_similarity: 0, timeout_ms: 30_000 } } },
    process.env,
  )!;
  const stores = openStores({ dbPath, durability: 'full' });
  const messages = bulkMessages(spec.turns * 2 + 1);
  const recall = (message: string, on: boolean) =>
    recallForTurn(stores.memory, { scopes: SCOPES, message, budgetTokens: BUDGET, now: Date.now() }, on ? semanticRecallFor(stores.memoryVectors, config) : undefined);
  const semantic = semanticRecallFor(stores.memoryVectors, config)!;
  if (semantic.model !== `text-embedding-3-small@${DIMENSIONS}`) throw new Error(`B25 wrote vectors of another model than ${semantic.model}`);
  const start = performance.now();
  const cold = await recall(messages[0]!, true);
  const first = performance.now() - start;
  await semantic.loaded();
  const loaded = performance.now() - start;
  const result: ChildResult = { first, firstHits: cold.entries.length, loaded, on: [], off: [] };
  for (let i = 0; i < spec.turns * 2; i++) {
    const on = i % 2 === 0;
    const t = performance.now();
    await recall(messages[1 + i]!, on);
    (on ? result.on : result.off).push(performance.now() - t);
  }
  stores.close();
  return result;
}

if (process.env.B25_CHILD) {
  const result = await child(JSON.parse(process.env.B25_CHILD));
  console.log(JSON.stringify(result));
}

/**
 * B24: recall's quality on a scripted corpus (memory-corpus.ts `qualityCorpus`), SQLite file.
 *
 * 50 conversations, two days apart, state 200 items as an agent's proposals (`proposeRemember`,
 * the real contradiction check) that a scripted person decides: accept, and when the proposal
 * names an entry it would replace, retire it only if it is the item's earlier statement (a real
 * contradiction) and keep both otherwise (a false one). The last 10 conversations restate 30 items
 * with another value. 10 procedures are pinned. Then 100 questions, each answered by exactly one
 * current entry, go through recall at budgets of 500, 1,000 and 2,000 tokens, three ways:
 * - full-text search alone: the search's rank, no pins, no recency;
 * - the rank with the recency bonus, no pins;
 * - as a turn recalls (`recallForTurn`): pinned entries first, then rank with the recency bonus.
 * Reported: the share of questions whose entry is in the block, the block's size, and for the
 * contradicted items, how many restatements the check caught and the share of replaced entries
 * never injected afterwards. Deterministic: the same figures on every run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MemoryRecord, MemoryScope } from '@tinyagi/client/contract';
import { decideMemory, openStores, proposeRemember, recallForTurn, searchTerms } from '@tinyagi/core/internal';
import { estimateTokens, memoryBlock, selectWithinBudget } from '../../packages/core/src/memory/recall.ts';
import { type QualityCorpus, qualityCorpus } from './memory-corpus.ts';

const DAY = 86_400_000;
const BUDGETS = [500, 1000, 2000] as const;
const SCOPE: MemoryScope = { kind: 'team', id: 'dev' };
/** The procedures pinned (items 150–159: the first ten procedures). */
const PINNED = new Set(Array.from({ length: 10 }, (_, i) => 150 + i));

interface Stated {
  /** The current entry of each item. */
  current: Map<number, string>;
  /** The entries a restatement replaced, by item. */
  replaced: Map<number, string>;
  caught: number;
  falseFlags: number;
}

async function state(store: ReturnType<typeof openStores>['memory'], corpus: QualityCorpus, t0: number): Promise<Stated> {
  const index = new Map(corpus.items.map((item, i) => [item, i]));
  const out: Stated = { current: new Map(), replaced: new Map(), caught: 0, falseFlags: 0 };
  for (const [c, statements] of corpus.conversations.entries()) {
    const at = t0 + c * 2 * DAY;
    for (const s of statements) {
      const i = index.get(s.item)!;
      const before = out.current.get(i);
      const { entry } = await proposeRemember(store, { scope: SCOPE, kind: s.item.kind, text: s.item.text(s.value), reason: 'said in the conversation', provenance: { proposedBy: '@bot' } }, at);
      const real = entry.targetId !== null && entry.targetId === before;
      if (real) out.caught++;
      else if (entry.targetId !== null) out.falseFlags++;
      await decideMemory(store, entry.id, { decision: 'accept', by: 'bench', keepTarget: !real, ...(PINNED.has(i) ? { pinned: true } : {}) }, at);
      if (before !== undefined) out.replaced.set(i, before);
      out.current.set(i, entry.id);
    }
  }
  return out;
}

type Way = 'search' | 'recency' | 'turn';
const WAYS: readonly Way[] = ['search', 'recency', 'turn'];

async function recallOf(store: ReturnType<typeof openStores>['memory'], way: Way, question: string, budget: number, now: number): Promise<{ entries: MemoryRecord[]; tokens: number }> {
  if (way === 'turn') return recallForTurn(store, { scopes: [SCOPE], message: question, budgetTokens: budget, weighting: 'recency', now });
  const ranked = (await store.search(searchTerms(question), { scopes: [SCOPE], status: 'accepted', action: 'remember', now, limit: 40 })).map((r) => ({ ...r, entry: { ...r.entry, pinned: false } }));
  const entries = selectWithinBudget([], ranked, budget, way === 'search' ? 'relevance' : 'recency', now);
  return { entries, tokens: estimateTokens(memoryBlock(entries)) };
}

export async function benchB24(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-bench-b24-'));
  const stores = openStores({ dbPath: join(dir, 'tinyagi.db') });
  try {
    const corpus = qualityCorpus();
    const t0 = Date.UTC(2026, 0, 1);
    const now = t0 + 100 * DAY;
    const stated = await state(stores.memory, corpus, t0);
    const replacedIds = new Set(stated.replaced.values());
    const rows: string[] = [];
    const injectedOld: Record<Way, Set<string>> = { search: new Set(), recency: new Set(), turn: new Set() };
    for (const budget of BUDGETS) {
      const cells: string[] = [];
      for (const way of WAYS) {
        let found = 0;
        let entries = 0;
        let tokens = 0;
        for (const q of corpus.questions) {
          const recall = await recallOf(stores.memory, way, q.text, budget, now);
          if (recall.entries.some((e) => e.id === stated.current.get(q.item))) found++;
          for (const e of recall.entries) if (replacedIds.has(e.id)) injectedOld[way].add(e.id);
          entries += recall.entries.length;
          tokens += recall.tokens;
        }
        const n = corpus.questions.length;
        cells.push(`${((100 * found) / n).toFixed(0)} % (${(entries / n).toFixed(1)}, ${(tokens / n).toFixed(0)})`);
      }
      rows.push(`| ${budget.toLocaleString('en-US')} | ${cells.join(' | ')} |`);
    }
    const n = corpus.contradicted.length;
    const never = (way: Way) => `${((100 * (n - injectedOld[way].size)) / n).toFixed(0)} %`;
    return [
      `${corpus.items.length} items, ${corpus.conversations.length} conversations, ${n} restated, ${PINNED.size} pinned; ${corpus.questions.length} questions. Share found (entries, tokens per block):`,
      '',
      '| budget | rank | rank + recency | turn (pins + recency) |',
      '|---|---|---|---|',
      ...rows,
      '',
      `Contradictions: ${stated.caught} of ${n} restatements named their earlier entry, ${stated.falseFlags} proposals another item's; replaced entries never injected after: ${never('search')} / ${never('recency')} / ${never('turn')}.`,
    ].join('\n');
  } finally {
    stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

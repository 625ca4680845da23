/**
 * B23 and B24's corpus (bench/src/memory-corpus.ts) is what the doc says: 200 items in 50
 * conversations, 30 restated with another value, 100 questions each answered by one item, the
 * same on every call; and B23 runs to the end in a small cell on SQLite (no figure of time is
 * asserted: those go in docs/benchmarks.md).
 */
import { describe, expect, it } from 'vitest';
import { bulkEntries, bulkMessages, qualityCorpus } from '../src/memory-corpus.ts';
import { benchB23 } from '../src/memory-recall-bench.ts';

describe("B23 and B24's memory corpus", () => {
  it('states 200 distinct items in 50 conversations, restates 30 with another value, and asks 100 questions each about one item', () => {
    const corpus = qualityCorpus();
    expect(corpus.items).toHaveLength(200);
    expect(new Set(corpus.items.map((i) => i.key)).size).toBe(200);
    expect(new Set(corpus.items.map((i) => i.question)).size).toBe(200);
    expect(corpus.items.map((i) => i.kind).filter((k, n, all) => all.indexOf(k) === n)).toEqual(['preference', 'fact', 'decision', 'procedure']);
    expect(corpus.conversations).toHaveLength(50);
    const statements = corpus.conversations.flat();
    expect(statements).toHaveLength(230);
    const restated = statements.filter((s) => s.replaces !== undefined);
    expect(restated).toHaveLength(30);
    for (const s of restated) expect(s.item.text(s.value)).not.toBe(s.item.text(s.replaces!));
    // Each item is first stated once, before any restatement of it.
    const first = statements.filter((s) => s.replaces === undefined).map((s) => s.item.key);
    expect(new Set(first).size).toBe(200);
    expect(corpus.questions).toHaveLength(100);
    expect(new Set(corpus.questions.map((q) => q.item)).size).toBe(100);
    for (const i of corpus.contradicted) expect(corpus.questions.some((q) => q.item === i)).toBe(true);
    // Deterministic.
    expect(JSON.stringify(qualityCorpus().questions)).toBe(JSON.stringify(corpus.questions));
    expect(bulkEntries(50)).toEqual(bulkEntries(50));
    expect(bulkMessages(20)).toEqual(bulkMessages(20));
  });

  it('B23 measures turns with and without memory and recall alone on SQLite', async () => {
    const table = await benchB23({ entries: 200, turns: 4, recalls: 5 });
    expect(table).toContain('| | SQLite |');
    expect(table).toMatch(/\| turn, 200 entries \| [\d.]+ ms \/ [\d.]+ ms \|/);
    expect(table).toMatch(/\| block: tokens p50 \/ max, entries \| \d+ \/ \d+, \d+ \|/);
  }, 60_000);
});

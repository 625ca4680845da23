/**
 * The vector arena (memory/vector-arena.ts): its WebAssembly dot products equal JavaScript's
 * (within float32 rounding) for lengths that are and are not a multiple of 4; a replaced vector
 * frees its slot; past its limit the oldest is dropped; a vector of another length, or an empty
 * one (refused by the endpoint), is held as none.
 */
import { expect, it } from 'vitest';
import { VectorArena } from '../src/memory/vector-arena.ts';

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

const js = (a: Float32Array, b: Float32Array): number => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

it('scores equal JavaScript dot products, for lengths with and without a multiple of 4, over many slots', () => {
  for (const dims of [3, 64, 1537]) {
    const rnd = seeded(dims);
    const arena = new VectorArena(1000);
    const vectors = Array.from({ length: 300 }, () => Float32Array.from({ length: dims }, rnd));
    for (const [i, v] of vectors.entries()) arena.set(`e${i}`, i, v);
    const query = Float32Array.from({ length: dims }, rnd);
    const ids = ['e7', 'e0', 'e299', 'e150'];
    const scores = arena.scores(query, ids);
    expect(scores.map((s) => s.id)).toEqual(ids);
    for (const s of scores) expect(s.score).toBeCloseTo(js(query, vectors[Number(s.id.slice(1))]!), 3);
  }
});

it('a replaced vector is scored as the new one; past the limit the oldest is dropped; other lengths and empty vectors are held as none', () => {
  const arena = new VectorArena(2);
  arena.set('a', 1, Float32Array.from([1, 0, 0, 0]));
  arena.set('a', 2, Float32Array.from([0, 1, 0, 0]));
  expect(arena.versionOf('a')).toBe(2);
  const q = Float32Array.from([0, 1, 0, 0]);
  expect(arena.scores(q, ['a'])).toEqual([{ id: 'a', score: 1 }]);
  arena.set('b', 1, Float32Array.from([0, 0, 1, 0]));
  arena.set('c', 1, Float32Array.from([0, 0, 0, 1]));
  expect([arena.versionOf('a'), arena.size]).toEqual([undefined, 2]);
  arena.set('b', 3, new Float32Array(0));
  arena.set('c', 4, Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
  expect([arena.versionOf('b'), arena.versionOf('c')]).toEqual([3, 4]);
  expect(arena.scores(q, ['a', 'b', 'c'])).toEqual([]);
  expect(arena.scores(Float32Array.from([1, 2]), ['b'])).toEqual([]);
});

/** The published shape: exports map (types first), no side effects, zod as the only dependency. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  sideEffects: boolean;
  dependencies: Record<string, string>;
  exports: Record<string, Record<string, unknown> | string>;
};

describe('package.json', () => {
  it('exports the client and the contract, types first, sources under tinyagi-source', () => {
    for (const [entry, src, dist] of [
      ['.', './src/index.ts', './dist/index'],
      ['./contract', './src/contract/index.ts', './dist/contract/index'],
    ] as const) {
      const conditions = pkg.exports[entry] as Record<string, unknown>;
      expect(conditions).toEqual({ types: { 'tinyagi-source': src, default: `${dist}.d.ts` }, 'tinyagi-source': src, default: `${dist}.js` });
      expect(Object.keys(conditions)).toEqual(['types', 'tinyagi-source', 'default']);
    }
  });

  it('has no side effects and depends on zod alone', () => {
    expect(pkg.sideEffects).toBe(false);
    expect(Object.keys(pkg.dependencies)).toEqual(['zod']);
  });
});

/**
 * A task diff's patch read line by line, and a review comment's place in words
 * (src/diff-text.ts): what the daemon's message, the CLI, MCP and TinyOffice share.
 */
import { describe, expect, it } from 'vitest';
import { patchLines, patchLineText, reviewAnchorText, reviewPlaceText } from '../src/index.ts';

const patch = [
  'diff --git a/login.ts b/login.ts',
  'index 1111111..2222222 100644',
  '--- a/login.ts',
  '+++ b/login.ts',
  '@@ -1,4 +1,4 @@',
  ' import { check } from "./check";',
  '-export const fixed = false;',
  '+export const fixed = true;',
  ' const a = 1;',
  ' const b = 2;',
  '@@ -20,2 +20,3 @@ function later() {',
  ' const y = 20;',
  '+const z = 21;',
  ' const end = 22;',
  '\\ No newline at end of file',
  '',
].join('\n');

describe('patchLineText', () => {
  it("reads a line of either side from the file's hunks: context, added and removed lines, a second hunk; none outside the hunks", () => {
    expect(patchLineText(patch, 'new', 1)).toBe('import { check } from "./check";');
    expect(patchLineText(patch, 'new', 2)).toBe('export const fixed = true;');
    expect(patchLineText(patch, 'old', 2)).toBe('export const fixed = false;');
    expect(patchLineText(patch, 'new', 4)).toBe('const b = 2;');
    expect(patchLineText(patch, 'old', 4)).toBe('const b = 2;');
    expect(patchLineText(patch, 'new', 21)).toBe('const z = 21;');
    expect(patchLineText(patch, 'new', 22)).toBe('const end = 22;');
    expect(patchLineText(patch, 'old', 21)).toBe('const end = 22;');
    // Between the hunks, past the last one, and a binary file's empty patch.
    expect(patchLineText(patch, 'new', 10)).toBeUndefined();
    expect(patchLineText(patch, 'new', 23)).toBeUndefined();
    expect(patchLineText('', 'new', 1)).toBeUndefined();
  });
});

describe('patchLines', () => {
  it('numbers each line on the side it belongs to, from the first hunk on; hunk headers and notes have none', () => {
    const lines = patchLines(patch);
    expect(lines[0]).toEqual({ kind: 'hunk', text: '@@ -1,4 +1,4 @@', old: null, new: null });
    expect(lines.slice(1, 4).map((l) => [l.kind, l.old, l.new])).toEqual([
      ['context', 1, 1],
      ['del', 2, null],
      ['add', null, 2],
    ]);
    expect(lines.at(-1)).toEqual({ kind: 'note', text: '\\ No newline at end of file', old: null, new: null });
    expect(patchLines('Binary files a/x and b/x differ')).toEqual([]);
  });
});

describe('reviewAnchorText', () => {
  it("names the branch's line by path and number, and says when it is the base's", () => {
    expect(reviewAnchorText({ path: 'src/login.ts', line: 12, side: 'new' })).toBe('src/login.ts:12');
    expect(reviewAnchorText({ path: 'old.ts', line: 7, side: 'old' })).toBe("old.ts:7 (the base's line)");
  });
});

describe('reviewPlaceText', () => {
  it('names where a comment is now: moved, renamed, outdated; as written when it did not move, was not followed, or is on the base', () => {
    const at = (current?: { path: string; line: number | null }, side: 'new' | 'old' = 'new') => ({ path: 'a.ts', line: 2, side, ...(current ? { current: { ...current, commitSha: 'c' } } : {}) });
    expect(reviewPlaceText(at({ path: 'a.ts', line: 5 }))).toBe('a.ts:5 (written on line 2)');
    expect(reviewPlaceText(at({ path: 'b.ts', line: 2 }))).toBe('b.ts:2 (written on a.ts:2)');
    expect(reviewPlaceText(at({ path: 'a.ts', line: null }))).toBe('a.ts:2 (outdated: the line changed since)');
    expect(reviewPlaceText(at({ path: 'a.ts', line: 2 }))).toBe('a.ts:2');
    expect(reviewPlaceText(at())).toBe('a.ts:2');
    expect(reviewPlaceText(at({ path: 'a.ts', line: null }, 'old'))).toBe("a.ts:2 (the base's line)");
  });
});

import { describe, expect, it } from 'vitest';
import { sanitizeFileName } from '../src/files.ts';
import { splitMessage } from '../src/index.ts';

const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');

describe('splitMessage', () => {
  it('keeps a short text whole', () => {
    expect(splitMessage('hello', 100)).toEqual(['hello']);
  });

  it('cuts on paragraph, then line, then word boundaries, never over the limit, losing nothing but the cut whitespace', () => {
    const text = `${words(30)}\n\n${words(30)}\n${words(60)}`;
    const chunks = splitMessage(text, 200);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(200);
    expect(chunks.join(' ').replace(/\s+/g, ' ')).toBe(text.replace(/\s+/g, ' '));
    expect(chunks.every((c) => !/^\s|\s$/.test(c))).toBe(true);
  });

  it('hard-cuts a text with no whitespace', () => {
    const chunks = splitMessage('x'.repeat(250), 100);
    expect(chunks.map((c) => c.length)).toEqual([96, 96, 58]);
    expect(chunks.join('')).toBe('x'.repeat(250));
  });

  it('closes a code block at a cut and reopens it with its language in the next chunk', () => {
    const code = Array.from({ length: 40 }, (_, i) => `const v${i} = ${i};`).join('\n');
    const chunks = splitMessage(`Here:\n\`\`\`ts\n${code}\n\`\`\`\nDone.`, 300);
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(300);
      expect((c.match(/^```/gm) ?? []).length % 2).toBe(0);
    }
    expect(chunks[1]!.startsWith('```ts\n')).toBe(true);
    const body = chunks.join('\n').replace(/^```(ts)?$/gm, '');
    for (let i = 0; i < 40; i++) expect(body).toContain(`const v${i} = ${i};`);
  });

  it('hard-cuts on grapheme boundaries: never inside a surrogate pair, a ZWJ family, a flag or a skin tone', () => {
    const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    for (const unit of ['😀', '👨‍👩‍👧‍👦', '🇫🇷', '👍🏽', 'é']) {
      for (const prefix of ['', 'a', 'ab', 'abc']) {
        const text = prefix + unit.repeat(60);
        const chunks = splitMessage(text, 100);
        expect(chunks.join('')).toBe(text);
        for (const c of chunks) {
          expect(c.length).toBeLessThanOrEqual(100);
          // Every chunk is whole graphemes of the input: segmenting it gives the same units.
          expect([...graphemes.segment(c)].every((g) => g.segment === unit || prefix.includes(g.segment))).toBe(true);
          expect(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(c)).toBe(false);
        }
      }
    }
  });

  it('does not cut inside inline code, bold or a link when a cut outside them fits', () => {
    const code = '`' + 'x '.repeat(30).trim() + '`';
    const link = '[' + 'the docs '.repeat(6).trim() + '](https://example.com/a_b)';
    const text = `${'word '.repeat(12)}${code} then **${'bold '.repeat(10).trim()}** and ${link} end`;
    for (let limit = 100; limit <= 170; limit += 7) {
      const chunks = splitMessage(text, limit);
      for (const c of chunks) {
        expect(c.length).toBeLessThanOrEqual(limit);
        expect((c.match(/`/g) ?? []).length % 2).toBe(0);
        expect((c.match(/\*\*/g) ?? []).length % 2).toBe(0);
        expect(c.includes('[') === c.includes('](')).toBe(true);
      }
    }
  });

  it('refuses a limit too small to hold a fence', () => {
    expect(() => splitMessage('x', 10)).toThrow(RangeError);
  });
});

describe('sanitizeFileName', () => {
  it('keeps the base name only, without separators, leading dots or control characters', () => {
    expect(sanitizeFileName('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFileName('..\\..\\win.ini')).toBe('win.ini');
    expect(sanitizeFileName('.hidden')).toBe('hidden');
    expect(sanitizeFileName('a\u0000b\nc.txt')).toBe('a_b_c.txt');
    expect(sanitizeFileName('my file.pdf')).toBe('my_file.pdf');
    expect(sanitizeFileName('../')).toBe('file');
  });
});

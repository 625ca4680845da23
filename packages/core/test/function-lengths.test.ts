/**
 * No production function is over 150 lines (@tinyagi/test-kit/function-lengths measures them:
 * every package's src/ and TinyOffice's app, components and lib; TS and TSX). A function that
 * grows past it is split into named steps with one job each, where that helps a reader: a
 * component's sections into components, a command group's commands into functions.
 * `node packages/test-kit/src/function-lengths.ts [N]` lists the functions over N lines.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatReport, measureFunctions, productionSourceFiles } from '@tinyagi/test-kit/function-lengths';
import { afterAll, describe, expect, it } from 'vitest';

const MAX_LINES = 150;

describe('function lengths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'function-lengths-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures every kind of function, TS and TSX, from its first token to its closing brace', () => {
    const ts = join(dir, 'sample.ts');
    writeFileSync(
      ts,
      [
        '/** A comment above is not counted. */',
        'export function declared(a: number): number {',
        '  const inner = (b: number) => {',
        '    return b + 1;',
        '  };',
        '  return inner(a);',
        '}',
        'class Box {',
        '  constructor(private value: number) {}',
        '  get doubled(): number { return this.value * 2; }',
        '  #grow(by: number): void {',
        '    this.value += by;',
        '  }',
        '}',
        'const handlers = {',
        '  onEvent: function (e: string) {',
        '    return e;',
        '  },',
        '};',
        'declare function overload(a: string): string;',
        'setTimeout(() => {',
        '  void 0;',
        '}, 1);',
      ].join('\n'),
    );
    const tsx = join(dir, 'page.tsx');
    writeFileSync(tsx, ['export default function Page({ title }: { title: string }) {', '  return (', '    <h1>{title}</h1>', '  );', '}'].join('\n'));
    const lengths = measureFunctions([ts, tsx], dir).map((f) => `${f.file}:${f.line} ${f.name} ${f.lines}`);
    expect(lengths).toMatchInlineSnapshot(`
      [
        "sample.ts:2 declared 6",
        "page.tsx:1 Page 5",
        "sample.ts:3 inner 3",
        "sample.ts:11 #grow 3",
        "sample.ts:16 onEvent 3",
        "sample.ts:21 (anonymous) 3",
        "sample.ts:9 constructor 1",
        "sample.ts:10 doubled 1",
      ]
    `);
  });

  it(`no production function is over ${MAX_LINES} lines`, { timeout: 30_000 }, () => {
    const files = productionSourceFiles();
    expect(files.some((f) => f.endsWith('.tsx'))).toBe(true);
    expect(files.some((f) => f.includes('/test/') || /\.test\.tsx?$/.test(f))).toBe(false);
    const lengths = measureFunctions(files);
    const tooLong = lengths.filter((f) => f.lines > MAX_LINES);
    expect(tooLong.length === 0 ? [] : formatReport(tooLong, MAX_LINES).split('\n').slice(0, -1)).toEqual([]);
  });
});

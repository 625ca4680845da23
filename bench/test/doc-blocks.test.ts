/**
 * `pnpm bench` writes docs/benchmarks.md only between the markers of the benchmarks it ran: a run
 * of B8 (the fastest: two esbuild bundles) against a copy of the real doc changes B8's measured
 * line and table and leaves every other byte as it was.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { blockText, checkBlocks, fillBlocks } from '../src/doc-blocks.ts';

const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
const DOC = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));
/** The benchmarks `pnpm bench` runs (docs/benchmarks.md, "Run"). */
const RUN_BY_PNPM_BENCH = ['B0', 'B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10', 'B13', 'B14', 'B15', 'B16', 'B17', 'B18', 'B19', 'B21'];

const dir = mkdtempSync(join(tmpdir(), 'tinyagi-bench-doc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `pnpm bench` as its script runs it (bench/package.json), with BENCH and BENCH_DOC and no other Bn_ variable. */
function runBench(bench: string, doc: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^B\d+_/.test(name)));
  return new Promise((resolve) => {
    execFile(process.execPath, ['--conditions=tinyagi-source', 'src/run.ts'], { cwd: BENCH_DIR, env: { ...env, BENCH: bench, BENCH_DOC: doc }, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error.code as number | undefined) ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The text with the inside of each `<!-- bench:… -->` block named cut out (found by plain string search, not by the code under test). */
function withoutBlocks(text: string, names: string[]): string {
  let out = text;
  for (const name of names) {
    const start = `<!-- bench:${name} -->\n`;
    const end = `<!-- /bench:${name} -->`;
    const from = out.indexOf(start);
    const to = out.indexOf(end);
    expect(from, `${start.trim()} in the doc`).toBeGreaterThanOrEqual(0);
    expect(to, `${end} after it`).toBeGreaterThan(from);
    out = out.slice(0, from + start.length) + out.slice(to);
  }
  return out;
}

describe('pnpm bench writes docs/benchmarks.md between markers', () => {
  it('a run of B8 against a copy of the doc changes only B8 measured line and table; every other byte stays', async () => {
    const original = readFileSync(DOC, 'utf8');
    const copy = join(dir, 'benchmarks.md');
    writeFileSync(copy, original);
    const before = Date.now();
    const result = await runBench('B8', copy);
    const after = Date.now();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const written = readFileSync(copy, 'utf8');

    expect(withoutBlocks(written, ['B8:measured', 'B8:results'])).toBe(withoutBlocks(original, ['B8:measured', 'B8:results']));

    const measured = /<!-- bench:B8:measured -->\n([^\n]*)\n<!-- \/bench:B8:measured -->/.exec(written)?.[1];
    const line = /^_Measured (\S+) with `BENCH=B8 pnpm bench` on \d+ × .+, Node v[\d.]+ \(esbuild [\d.]+, zod [\d.]+\); load average \(1 min\) [\d.]+ before, [\d.]+ after\._$/.exec(measured ?? '');
    expect(line, measured).not.toBeNull();
    const at = Date.parse(line![1]!);
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(after);

    const table = /<!-- bench:B8:results -->\n([\s\S]*?)<!-- \/bench:B8:results -->/.exec(written)?.[1] ?? '';
    const rows = table.trimEnd().split('\n');
    expect(rows.slice(0, 2)).toEqual(['| entry | minified | gzipped |', '|---|---|---|']);
    expect(rows).toHaveLength(4);
    for (const row of rows.slice(2)) {
      const sizes = /^\| `@tinyagi\/client[^|]*` \([^|]+\) \| ([\d.]+) KiB \| ([\d.]+) KiB \|$/.exec(row);
      expect(sizes, row).not.toBeNull();
      expect(Number(sizes![2])).toBeGreaterThan(0);
      expect(Number(sizes![2])).toBeLessThan(Number(sizes![1]));
    }
    // What the run printed is what it wrote.
    expect(result.stdout).toContain(`${measured}\n\n${table.trimEnd()}`);
  });

  it('a benchmark without its markers stops the run before anything is measured, and the file stays as it was', async () => {
    const broken = readFileSync(DOC, 'utf8').replace('<!-- bench:B8:results -->\n', '').replace('<!-- /bench:B8:results -->\n', '');
    const copy = join(dir, 'no-markers.md');
    writeFileSync(copy, broken);
    const result = await runBench('B8', copy);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('the doc has no block for <!-- bench:B8:results --> … <!-- /bench:B8:results -->');
    expect(result.stdout).toBe('');
    expect(readFileSync(copy, 'utf8')).toBe(broken);
  });

  it('the doc in the repository has both blocks of every benchmark pnpm bench runs', () => {
    expect(() => checkBlocks(readFileSync(DOC, 'utf8'), RUN_BY_PNPM_BENCH)).not.toThrow();
  });

  it('fills a block with the text and a newline and touches nothing else; a malformed doc is an error naming the line', () => {
    const doc = ['# T', '<!-- bench:B1:measured -->', 'old line', '<!-- /bench:B1:measured -->', 'hand text', '<!-- bench:B1:results -->', '<!-- /bench:B1:results -->', 'tail'].join('\n');
    const filled = fillBlocks(doc, [
      { id: 'B1', kind: 'results', text: '| a |\n|---|\n| 1 |\n\n' },
      { id: 'B1', kind: 'measured', text: 'new line' },
    ]);
    expect(filled).toBe(
      ['# T', '<!-- bench:B1:measured -->', 'new line', '<!-- /bench:B1:measured -->', 'hand text', '<!-- bench:B1:results -->', '| a |', '|---|', '| 1 |', '<!-- /bench:B1:results -->', 'tail'].join(
        '\n',
      ),
    );
    expect(blockText(filled, 'B1', 'results')).toBe('| a |\n|---|\n| 1 |\n');
    expect(() => fillBlocks(doc, [{ id: 'B2', kind: 'results', text: 'x' }])).toThrow('the doc has no block for <!-- bench:B2:measured -->');
    expect(() => checkBlocks('<!-- bench:B1:results -->\nx\n', [])).toThrow('line 1: the block B1:results has no end marker');
    expect(() => checkBlocks('<!-- bench:B1:results -->\n<!-- bench:B2:results -->\n', [])).toThrow('line 2: <!-- bench:B2:results --> inside the block opened on line 1');
    expect(() => checkBlocks('x\n<!-- /bench:B1:results -->\n', [])).toThrow('line 2: <!-- /bench:B1:results --> ends no open block');
    expect(() => checkBlocks('<!-- bench:B1:results -->\n<!-- /bench:B1:results -->\n<!-- bench:B1:results -->\n<!-- /bench:B1:results -->\n', [])).toThrow(
      'line 3: a second <!-- bench:B1:results -->',
    );
    expect(() => checkBlocks('<!-- bench:B1:table -->\n', [])).toThrow('line 1: <!-- bench:B1:table -->: the kinds of block are measured and results');
  });
});

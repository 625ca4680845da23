/**
 * The browser bundle: `@tinyagi/client` built by esbuild for the browser platform, minified. The
 * build fails if any module imports a Node built-in (esbuild cannot resolve `node:*` for the
 * browser). The client entry loads no package at all (the contract's types are erased); the
 * contract entry only zod. Sizes are recorded in docs/benchmarks.md; the client must stay under
 * 25 KB gzipped.
 */
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

async function browserBundle(entry: string) {
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    metafile: true,
    conditions: ['tinyagi-source'],
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  const packages = new Set(
    Object.keys(result.metafile.inputs)
      .filter((file) => file.includes('node_modules/'))
      .map((file) => /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(file)?.[1]),
  );
  return { bytes: code.byteLength, gzipped: gzipSync(code, { level: 9 }).byteLength, packages: [...packages].sort(), text: new TextDecoder().decode(code) };
}

describe('browser bundle', () => {
  it('builds for the browser with no Node built-in and no package inside, under 25 KB gzipped', async () => {
    const bundle = await browserBundle('src/index.ts');
    expect(bundle.packages).toEqual([]);
    // A `node:` module specifier (a string); an object key `node:` (settings.agents.*.node, minified) is not one.
    expect(bundle.text).not.toMatch(/["'`]node:[a-z]/);
    console.log(`@tinyagi/client browser bundle: ${bundle.bytes} bytes minified, ${bundle.gzipped} bytes gzipped`);
    expect(bundle.gzipped).toBeLessThan(25 * 1024);
  });

  it('the contract entry builds for the browser too, with zod as its only package', async () => {
    const bundle = await browserBundle('src/contract/index.ts');
    expect(bundle.packages).toEqual(['zod']);
    // A `node:` module specifier (a string); an object key `node:` (settings.agents.*.node, minified) is not one.
    expect(bundle.text).not.toMatch(/["'`]node:[a-z]/);
    console.log(`@tinyagi/client/contract browser bundle: ${bundle.bytes} bytes minified, ${bundle.gzipped} bytes gzipped`);
  });

  it('a Node built-in fails the build (the check is on)', async () => {
    const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync(join(root, 'test/.tmp-'));
    try {
      writeFileSync(join(dir, 'entry.ts'), "import { readFileSync } from 'node:fs';\nexport * from '../../src/index.ts';\nexport const read = readFileSync;\n");
      await expect(browserBundle(join(dir.slice(root.length + 1), 'entry.ts'))).rejects.toThrow(/node:fs/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

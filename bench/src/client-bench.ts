/**
 * B8: what `@tinyagi/client` costs a web page. Each entry is bundled by esbuild for the browser
 * (platform=browser, ESM, minified, the package's published conditions) and gzipped (level 9).
 * packages/client/test/bundle.test.ts holds the client entry under 25 KB gzipped.
 */
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ENTRIES: Array<[string, string]> = [
  ['`@tinyagi/client` (REST client, event subscription, run-tree builder, types)', '../../packages/client/src/index.ts'],
  ['`@tinyagi/client/contract` (every zod schema)', '../../packages/client/src/contract/index.ts'],
];

export async function benchB8(): Promise<string> {
  const rows = ['| entry | minified | gzipped |', '|---|---|---|'];
  for (const [label, entry] of ENTRIES) {
    const result = await build({
      entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      minify: true,
      write: false,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]!.contents;
    rows.push(`| ${label} | ${(code.byteLength / 1024).toFixed(1)} KiB | ${(gzipSync(code, { level: 9 }).byteLength / 1024).toFixed(1)} KiB |`);
  }
  return rows.join('\n');
}

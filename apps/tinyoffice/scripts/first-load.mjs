/**
 * First-load JavaScript per route of the static export (what a browser downloads to show the
 * page: every script the HTML references), raw and gzipped. `pnpm --filter tinyoffice
 * first-load` after a build; the numbers go to docs/benchmarks.md.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const out = new URL('../out/', import.meta.url).pathname;
const pages = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== '_next') walk(path);
    else if (entry.name.endsWith('.html') && !entry.name.startsWith('_')) pages.push(path);
  }
};
walk(out);
const rows = pages.sort().map((file) => {
  const html = readFileSync(file, 'utf8');
  const scripts = [...new Set([...html.matchAll(/<script[^>]+src="([^"]+)"/g)].map((m) => m[1]))];
  let raw = 0;
  let gz = 0;
  for (const src of scripts) {
    const body = readFileSync(join(out, src.replace(/^\//, '')));
    raw += body.length;
    gz += gzipSync(body, { level: 9 }).length;
  }
  const route = `/${file
    .slice(out.length)
    .replace(/\.html$/, '')
    .replace(/(^|\/)index$/, '')}`;
  return { route, scripts: scripts.length, rawKiB: +(raw / 1024).toFixed(1), gzipKiB: +(gz / 1024).toFixed(1) };
});
console.table(rows);

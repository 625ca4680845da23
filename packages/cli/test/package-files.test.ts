/**
 * What the published `tinyagi` package carries (package.json `files`): the built program, without
 * its source maps (8 MB, kept in dist/ for development) nor the snapshot build. Read as npm reads
 * `files`: a file is packed when a pattern (or a folder it names) takes it and no `!` pattern
 * after it leaves it out. Checked against the files the build wrote (run after `pnpm build`).
 */
import { readdirSync } from 'node:fs';
import { matchesGlob } from 'node:path';
import { expect, it } from 'vitest';

const root = new URL('..', import.meta.url);
const { files } = (await import('../package.json', { with: { type: 'json' } })).default as { files: string[] };

function packed(path: string): boolean {
  let taken = false;
  for (const pattern of files) {
    const negated = pattern.startsWith('!');
    const glob = negated ? pattern.slice(1) : pattern;
    if (matchesGlob(path, glob) || path.startsWith(`${glob}/`)) taken = !negated;
  }
  return taken;
}

it('packs the built program without its source maps', () => {
  const dist = readdirSync(new URL('dist', root), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => `${e.parentPath.slice(new URL('.', root).pathname.length)}/${e.name}`);
  const maps = dist.filter((path) => path.endsWith('.map'));
  expect(maps.length, 'the build writes source maps for development').toBeGreaterThan(0);
  expect(maps.filter(packed)).toEqual([]);
  expect(packed('dist/bin.js')).toBe(true);
  expect(dist.filter((path) => path.endsWith('.js') && !path.startsWith('dist/snapshot/')).every(packed)).toBe(true);
});

/**
 * The lint rule of docs/kinds.md: runtime names are listed in one place, the registry (each
 * runtime's descriptor beside its adapter, registered in invoker/runtimes/index.ts; the old names'
 * per-key table in config/runtime-names.ts). Any other list of them in production code (an array
 * of names, a union type of them, a switch with a case per runtime) is a list someone has to keep
 * by hand, and it goes stale the day a runtime is added; derive it from `runtimeKinds` instead.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runtimeKinds } from '../src/invoker/runtimes/index.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Production sources: every package's src/ and TinyOffice's pages, components and lib. */
const SOURCE_DIRS = [
  ...readdirSync(join(ROOT, 'packages'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'test-kit' && d.name !== 'real-cli-test')
    .map((d) => join('packages', d.name, 'src')),
  'apps/tinyoffice/app',
  'apps/tinyoffice/components',
  'apps/tinyoffice/lib',
];
/** Where runtime names are written down on purpose. */
const ALLOWED = [/^packages\/core\/src\/invoker\/runtimes\//, /^packages\/core\/src\/config\/runtime-names\.ts$/];

/** The names a list would hold: the registered runtimes, and `claude` (the old harness name, also Claude Code's command). */
const NAMES = new Set([...runtimeKinds.names(), 'claude']);

const literal = /(['"`])([a-z][a-z0-9-]*)\1/g;
const namesIn = (text: string): string[] => [...text.matchAll(literal)].map((m) => m[2]!).filter((name) => NAMES.has(name));

/** The lists of two or more runtime names in `source`: array literals, union types, switches. */
export function runtimeNameLists(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/\[([^[\]]*)\]/g)) if (new Set(namesIn(m[1]!)).size >= 2) found.push(`array [${m[1]!.trim()}]`);
  for (const m of source.matchAll(/(?:(['"])[a-z][a-z0-9-]*\1\s*\|\s*)+(['"])[a-z][a-z0-9-]*\2/g)) if (new Set(namesIn(m[0])).size >= 2) found.push(`union ${m[0]}`);
  const cases = [...source.matchAll(/\bcase\s+(['"])([a-z][a-z0-9-]*)\1\s*:/g)].map((m) => m[2]!).filter((name) => NAMES.has(name));
  if (new Set(cases).size >= 2) found.push(`switch on ${[...new Set(cases)].join(', ')}`);
  return found;
}

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' });
  } catch {
    return [];
  }
  return entries.filter((f) => /\.(?:ts|tsx|mts)$/.test(f) && !f.includes('node_modules') && !/\.d\.ts$/.test(f)).map((f) => join(dir, f).split('\\').join('/'));
}

describe('runtime names are listed only in the registry', () => {
  it('recognises a hand-kept list: an array, a union type, a switch', () => {
    expect(runtimeNameLists("const CLIS = ['claude-code', 'codex'];")).toHaveLength(1);
    expect(runtimeNameLists("type Harness = 'claude' | 'codex' | 'opencode';")).toHaveLength(1);
    expect(runtimeNameLists("switch (p) { case 'codex': return 1; case 'opencode': return 2; }")).toHaveLength(1);
    // One name, or names of other things, are not a list of runtimes.
    expect(runtimeNameLists("const provider = cli?.provider ?? 'mock'; const x = ['anthropic', 'openai'];")).toEqual([]);
  });

  it('finds none in production code outside the descriptors, runtimes/index.ts and the old names table', () => {
    const files = SOURCE_DIRS.flatMap(sourceFiles).filter((file) => !ALLOWED.some((re) => re.test(file)));
    expect(files.length).toBeGreaterThan(200);
    const offenders = files.flatMap((file) => runtimeNameLists(readFileSync(join(ROOT, file), 'utf8')).map((what) => `${relative('.', file)}: ${what}`));
    expect(offenders).toEqual([]);
  });
});

/**
 * No hand-kept list of channel kinds (docs/kinds.md): a string list naming two or more registered
 * channel kinds — in one array literal, or a union of string literal types — may appear in
 * production sources only where the kinds are declared (the registry in core's kinds/, the
 * descriptors and the list of built-ins in @tinyagi/channels). Everything else derives its list
 * from `channelKinds`. The test reads the sources as text (comments removed) and names each
 * offending line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { channelKinds } from '@tinyagi/core';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Production sources: every package's src (the test kit is for tests only) and TinyOffice's pages. */
const SOURCE_DIRS = [
  ...readdirSync(join(ROOT, 'packages'))
    .filter((p) => p !== 'test-kit')
    .map((p) => join('packages', p, 'src')),
  'apps/tinyoffice/app',
  'apps/tinyoffice/lib',
  'apps/tinyoffice/components',
];
/** Where the kinds are declared. */
const DECLARED = [/^packages\/core\/src\/kinds\//, /^packages\/channels\/src\/kinds\.ts$/, /^packages\/channels\/src\/[^/]+\/kind\.ts$/];

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(join(ROOT, dir));
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sourceFiles(path);
    return /\.(ts|tsx|mts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Comments blanked out (line breaks kept, so line numbers stay right); strings left alone. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|(^|[^:'"`\\])\/\/.*$/gm, (match, lead: string | undefined) =>
    lead === undefined ? match.replace(/[^\n]/g, ' ') : `${lead}${' '.repeat(match.length - lead.length)}`,
  );
}

export interface KindList {
  line: number;
  names: string[];
  text: string;
}

/** Array literals and string-literal unions in `source` that name two or more of `names`. */
export function kindLists(source: string, names: readonly string[]): KindList[] {
  const text = withoutComments(source);
  const quoted = (s: string): string[] => [...s.matchAll(/(['"`])([a-z][a-z0-9-]*)\1/g)].map((m) => m[2] as string).filter((n) => names.includes(n));
  const found: KindList[] = [];
  const add = (index: number, span: string): void => {
    const hits = [...new Set(quoted(span))];
    if (hits.length >= 2) found.push({ line: text.slice(0, index).split('\n').length, names: hits, text: span.trim().slice(0, 120) });
  };
  for (const m of text.matchAll(/\[[^[\]]*\]/g)) add(m.index, m[0]);
  for (const m of text.matchAll(/(?:(['"])[a-z][a-z0-9-]*\1\s*\|\s*)+(['"])[a-z][a-z0-9-]*\2/g)) add(m.index, m[0]);
  return found;
}

describe('kind lists', () => {
  const names = channelKinds.names();

  it('are found in an array literal or a union, and not in other code', () => {
    expect(names.length).toBeGreaterThanOrEqual(3);
    const [a, b] = names as [string, string];
    expect(kindLists(`export const CHANNELS = ['${a}', '${b}'] as const;`, names).map((l) => l.names)).toEqual([[a, b]]);
    expect(kindLists(`type Name = '${a}' | "${b}";`, names).map((l) => l.names)).toEqual([[a, b]]);
    expect(kindLists(`const one = ['${a}'];\nif (x === '${a}' || y === '${b}') f();\n// ['${a}', '${b}']\n`, names)).toEqual([]);
  });

  it('appear in production sources only where the kinds are declared', () => {
    const files = SOURCE_DIRS.flatMap(sourceFiles);
    expect(files.length).toBeGreaterThan(300);
    const offending = files
      .filter((file) => !DECLARED.some((d) => d.test(file)))
      .flatMap((file) => kindLists(readFileSync(join(ROOT, file), 'utf8'), names).map((l) => `${relative('.', file)}:${l.line}: ${l.text}`));
    expect(offending, 'derive the list from channelKinds (docs/kinds.md) instead').toEqual([]);
  });
});

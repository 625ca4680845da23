/**
 * The lint rule of docs/kinds.md: runtime names are listed in one place, the registry (each
 * built-in runtime's descriptor in kinds/runtimes/, its implementation in invoker/runtimes/; the
 * old names' per-key table in config/runtime-names.ts). Any other list of them in production code
 * (an array of names, a union type of them, a switch with a case per runtime, an object or type
 * with a key per runtime) is a list someone has to keep by hand, and it goes stale the day a
 * runtime is added; put what it says in the runtime's descriptor and read it from `runtimeKinds`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runtimeKinds } from '../src/kinds/index.ts';

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
const ALLOWED = [/^packages\/core\/src\/kinds\/runtimes\//, /^packages\/core\/src\/invoker\/runtimes\//, /^packages\/core\/src\/config\/runtime-names\.ts$/];

/** The names a list would hold: the registered runtimes, and `claude` (the old harness name, also Claude Code's command). */
const NAMES = new Set([...runtimeKinds.names(), 'claude']);

const literal = /(['"`])([a-z][a-z0-9-]*)\1/g;
const namesIn = (text: string): string[] => [...text.matchAll(literal)].map((m) => m[2]!).filter((name) => NAMES.has(name));

/** A key of an object literal or type at its start (after `{`, `,`, `;` or a line break): `codex:`, `'claude-code'?:`, `readonly mock:`. */
const KEY = /(?:^|[{,;(]|\n)\s*(?:readonly\s+)?(['"]?)([a-z][a-z0-9-]*)\1\s*\??\s*:/g;

/** The keys of every object literal and object type in `source` that are runtime names, one entry per `{…}` with two or more. */
function objectKeyLists(source: string): string[] {
  const found: string[] = [];
  const opens: number[] = [];
  for (let i = 0; i < source.length; i++) {
    if (source[i] === '{') opens.push(i);
    else if (source[i] === '}' && opens.length > 0) {
      const start = opens.pop()!;
      // The object's own keys: nested {…} blanked out first.
      let inner = source.slice(start + 1, i);
      for (let before = ''; before !== inner; ) {
        before = inner;
        inner = inner.replace(/\{[^{}]*\}/g, (m) => ' '.repeat(m.length));
      }
      const keys = new Set([...`{${inner}`.matchAll(KEY)].map((m) => m[2]!).filter((name) => NAMES.has(name)));
      if (keys.size >= 2) found.push(`object keys ${[...keys].join(', ')}`);
    }
  }
  return found;
}

/** The lists of two or more runtime names in `source`: array literals, union types, switches, object keys. */
export function runtimeNameLists(source: string): string[] {
  const found: string[] = [...objectKeyLists(source)];
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
  it('recognises a hand-kept list: an array, a union type, a switch, an object or type keyed by runtime', () => {
    expect(runtimeNameLists("const CLIS = ['claude-code', 'codex'];")).toHaveLength(1);
    expect(runtimeNameLists("const PROVIDER: Record<string, string> = {\n  'claude-code': 'anthropic',\n  codex: 'openai',\n};")).toEqual(['object keys claude-code, codex']);
    expect(runtimeNameLists('const s = z.looseObject({ name: Str, mock: Mock.optional(), acp: Acp.optional() });')).toEqual(['object keys mock, acp']);
    expect(runtimeNameLists('interface AgentSettings {\n  readonly mock?: MockScript;\n  acp?: { command: string };\n}')).toEqual(['object keys mock, acp']);
    // One runtime's key, keys of nested objects, a ternary, and runtime names as values are not a list of runtimes.
    expect(runtimeNameLists("const a = { mock: { codex: 1 }, other: 2 }; const b = x ? 'codex' : 'opencode'; const c = { runtime: 'codex', provider: 'opencode' };")).toEqual([]);
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

/** What a runtime's descriptor says of its CLI's files: its home's paths, variables, login files, project configuration and skills folder. */
function cliHomeNames(): Set<string> {
  const names = new Set<string>();
  for (const kind of runtimeKinds.list()) {
    const home = kind.home;
    for (const name of [
      ...(home?.paths ?? []),
      ...(home?.credentialFiles ?? []),
      ...(home?.projectConfig ?? []).map((glob) => glob.replace(/\/\*\*$/, '')),
      ...(kind.skillsFolder ? [kind.skillsFolder] : []),
    ])
      names.add(name);
    for (const { variable } of home?.variables ?? []) names.add(variable);
  }
  return names;
}

/** The string literals of `source`'s code lines (comment lines are prose) that name a CLI's file or variable, or a path under one. */
export function cliHomeMentions(source: string, names: Set<string> = cliHomeNames()): string[] {
  return source.split('\n').flatMap((line) => {
    const code = line.trim();
    if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return [];
    return [...line.matchAll(/(['"`])([^'"`\n]*)\1/g)].map((m) => m[2]!).filter((text) => [...names].some((name) => text === name || text.startsWith(`${name}/`)));
  });
}

describe("a CLI's home is written only in its runtime's folder", () => {
  it("recognises a CLI's folder, file or variable in a string, not in a comment", () => {
    const names = cliHomeNames();
    expect([...names]).toEqual(expect.arrayContaining(['.claude', '.codex', 'CODEX_HOME', '.config/opencode', '.claude/skills']));
    expect(cliHomeMentions("const HOMES = ['.claude', '.codex/auth.json'];\n// ~/.claude is hidden\nconst ok = '.claudex';", names)).toEqual(['.claude', '.codex/auth.json']);
  });

  it('finds none in production code outside the descriptors and the runtimes', () => {
    const files = SOURCE_DIRS.flatMap(sourceFiles).filter((file) => !ALLOWED.some((re) => re.test(file)));
    const offenders = files.flatMap((file) => cliHomeMentions(readFileSync(join(ROOT, file), 'utf8')).map((what) => `${relative('.', file)}: '${what}'`));
    expect(offenders).toEqual([]);
  });
});

/**
 * The lint of docs/glossary.md's "Retired words": a retired word names nothing in production
 * sources (every package's src/, TinyOffice's app, lib and components) as an identifier or a part
 * of one, except where the table's third column allows it (the places that still read a key users
 * wrote). Comments and strings are prose and are not checked (a string that is a bare identifier,
 * a key like `'harness'`, is). The table is the contract: this test reads it, so a row added there
 * is enforced here.
 *
 * How a retired cell's names match an identifier (split at camelCase, PascalCase, `_` and digits):
 * - a word in lower case (`adapter`) is any part of one: `fooAdapter`, `adapterEnv`, `ADAPTER`;
 * - a name of several parts (`LiveSession`, `requestPairing`) is those parts in a row wherever
 *   they stand: `ClaudeLiveSession`, `FakeLiveSession`;
 * - a one-word name in capitals (`Stores`) is only that whole identifier (`SqliteStores` is not);
 * - a file name (`model.ts`) is a production file of that name.
 * Names in the second column (`instead`) are never a match. In the third column a backticked path
 * (`packages/…`, `apps/…`) is a file or folder where the word may stand, a backticked bare
 * identifier (`adapterModule`) an identifier that may; anything else there is prose.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GLOSSARY = 'docs/glossary.md';

export interface RetiredRow {
  /** The retired cell as written, for messages. */
  cell: string;
  names: string[];
  files: string[];
  /** Identifiers never flagged for this row: the `instead` names and the allowed identifiers. */
  allowedIdentifiers: Set<string>;
  /** Files and folders (repository paths) where the row's names may stand. */
  allowedPaths: string[];
}

const ticks = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.trim());
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const isPath = (token: string): boolean => /^(?:packages|apps)\//.test(token);

/** The rows of the "Retired words" table of a glossary's text. */
export function parseRetiredTable(markdown: string): RetiredRow[] {
  const section = markdown.split(/^## Retired words\s*$/m)[1];
  if (section === undefined) throw new Error(`${GLOSSARY} has no "## Retired words" section`);
  const body = section.split(/^## /m)[0]!;
  const lines = body.split('\n').filter((line) => line.trim().startsWith('|'));
  const cells = (line: string): string[] =>
    line
      .trim()
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split('|')
      .map((c) => c.trim());
  if (lines.length < 2 || !/^[|\s:-]+$/.test(lines[1]!)) throw new Error(`${GLOSSARY}: the retired-words table has no header row`);
  return lines.slice(2).map((line) => {
    const [retired = '', instead = '', allowed = ''] = cells(line);
    const names = ticks(retired);
    if (names.length === 0) throw new Error(`${GLOSSARY}: a retired-words row names nothing in backticks: ${line}`);
    const allowedTokens = ticks(allowed);
    return {
      cell: retired,
      names: names.filter((n) => IDENTIFIER.test(n)),
      files: names.filter((n) => /\.[a-z]+$/.test(n) && !IDENTIFIER.test(n)),
      allowedIdentifiers: new Set([...ticks(instead), ...allowedTokens].filter((t) => IDENTIFIER.test(t))),
      allowedPaths: allowedTokens.filter(isPath),
    };
  });
}

/** An identifier's parts: `fooAdapterEnv` -> foo, Adapter, Env; `HTTP_PORT2` -> HTTP, PORT, 2. */
export function identifierParts(identifier: string): string[] {
  return identifier.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+/g) ?? [];
}

/** Whether `identifier` spells the retired `name` (see the module comment). */
export function matchesRetired(identifier: string, name: string): boolean {
  const parts = identifierParts(identifier).map((p) => p.toLowerCase());
  const wanted = identifierParts(name).map((p) => p.toLowerCase());
  if (wanted.length === 0) return false;
  if (wanted.length === 1 && /^[A-Z]/.test(name)) return identifier === name;
  for (let i = 0; i + wanted.length <= parts.length; i++) if (wanted.every((w, j) => parts[i + j] === w)) return true;
  return false;
}

const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

/**
 * The identifiers of TypeScript (or TSX) source with their lines: comments, strings, template
 * text and regular expressions are skipped, except a string that is itself a bare identifier
 * (`'harness'`, a key) and the `${…}` code of templates.
 */
export function identifiersOf(source: string): Array<{ name: string; line: number }> {
  const out: Array<{ name: string; line: number }> = [];
  let i = 0;
  let line = 1;
  /** The last significant token: for telling a regular expression from a division. */
  let last: { kind: 'word' | 'value' | 'punct'; text: string } = { kind: 'punct', text: '' };
  /** Open `${` of templates, as the brace depth at which each one closes. */
  const templates: number[] = [];
  let depth = 0;
  const n = source.length;

  const readQuoted = (quote: string): void => {
    const start = i + 1;
    const startLine = line;
    i++;
    while (i < n && source[i] !== quote && source[i] !== '\n') i += source[i] === '\\' ? 2 : 1;
    const text = source.slice(start, i);
    if (IDENTIFIER.test(text)) out.push({ name: text, line: startLine });
    if (source[i] === quote) i++;
    last = { kind: 'value', text: quote };
  };
  /** Template text from i (just after ` or }) to its end or the next `${`. */
  const readTemplateText = (): void => {
    while (i < n) {
      const c = source[i]!;
      if (c === '\\') {
        i += 2;
        continue;
      }
      if (c === '\n') line++;
      if (c === '`') {
        i++;
        last = { kind: 'value', text: '`' };
        return;
      }
      if (c === '$' && source[i + 1] === '{') {
        i += 2;
        templates.push(depth);
        depth++;
        last = { kind: 'punct', text: '{' };
        return;
      }
      i++;
    }
  };

  while (i < n) {
    const c = source[i]!;
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '/') {
      while (i < n && source[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      for (let k = i; k < stop; k++) if (source[k] === '\n') line++;
      i = stop;
      continue;
    }
    if (c === "'" || c === '"') {
      readQuoted(c);
      continue;
    }
    if (c === '`') {
      i++;
      readTemplateText();
      continue;
    }
    if (c === '/') {
      const division = last.kind === 'value' || (last.kind === 'word' && !REGEX_AFTER_WORD.has(last.text)) || last.text === ')' || last.text === ']' || last.text === '}' || last.text === '<';
      if (!division) {
        i++;
        let inClass = false;
        while (i < n && source[i] !== '\n') {
          const r = source[i]!;
          if (r === '\\') {
            i += 2;
            continue;
          }
          if (r === '[') inClass = true;
          else if (r === ']') inClass = false;
          else if (r === '/' && !inClass) break;
          i++;
        }
        i++;
        while (i < n && /[a-z]/.test(source[i]!)) i++;
        last = { kind: 'value', text: '/' };
        continue;
      }
    }
    const word = /^[A-Za-z_$][\w$]*/.exec(source.slice(i, i + 200));
    if (word) {
      out.push({ name: word[0], line });
      i += word[0].length;
      last = { kind: 'word', text: word[0] };
      continue;
    }
    const number = /^\d[\w.]*/.exec(source.slice(i, i + 50));
    if (number) {
      i += number[0].length;
      last = { kind: 'value', text: number[0] };
      continue;
    }
    if (c === '#' && /[A-Za-z_$]/.test(source[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (c === '{') depth++;
    if (c === '}') {
      depth--;
      if (templates.length > 0 && templates[templates.length - 1] === depth) {
        templates.pop();
        i++;
        readTemplateText();
        continue;
      }
    }
    last = { kind: 'punct', text: c };
    i++;
  }
  return out;
}

/** Production sources under `root`: every package's src/ and TinyOffice's app, lib and components (repository paths). */
export function productionFiles(root: string): string[] {
  const dirs = [
    ...readdirSync(join(root, 'packages'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `packages/${d.name}/src`),
    'apps/tinyoffice/app',
    'apps/tinyoffice/lib',
    'apps/tinyoffice/components',
  ];
  return dirs.flatMap((dir) => {
    let entries: string[];
    try {
      entries = readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' });
    } catch {
      return [];
    }
    return entries
      .map((f) => f.split('\\').join('/'))
      .filter((f) => /\.(?:ts|tsx|mts|cts|js|mjs|cjs)$/.test(f) && !f.endsWith('.d.ts') && !f.split('/').includes('node_modules'))
      .map((f) => `${dir}/${f}`);
  });
}

const allowedAt = (row: RetiredRow, file: string): boolean => row.allowedPaths.some((p) => file === p || file.startsWith(p.endsWith('/') ? p : `${p}/`));

/** Every use of a retired word in `root`'s production sources, as `file:line: identifier (retired: …)`. */
export function retiredWordUses(root: string, rows: RetiredRow[]): string[] {
  const found: string[] = [];
  for (const file of productionFiles(root)) {
    const active = rows.filter((row) => !allowedAt(row, file));
    if (active.length === 0) continue;
    for (const row of active) for (const name of row.files) if (basename(file) === name) found.push(`${file}: a file named ${name} (retired: ${row.cell})`);
    const identifiers = identifiersOf(readFileSync(join(root, file), 'utf8'));
    for (const { name, line } of identifiers) {
      for (const row of active) {
        if (row.allowedIdentifiers.has(name)) continue;
        const word = row.names.find((retired) => matchesRetired(name, retired));
        if (word !== undefined) found.push(`${file}:${line}: ${name} (retired: ${row.cell})`);
      }
    }
  }
  return found;
}

const rows = parseRetiredTable(readFileSync(join(ROOT, GLOSSARY), 'utf8'));

describe('the retired words of docs/glossary.md', () => {
  const temp = mkdtempSync(join(tmpdir(), 'tinyagi-retired-words-'));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it('splits identifiers and matches a retired word as a part, a name as a run of parts, a one-word type only whole', () => {
    expect(identifierParts('fooAdapterEnv')).toEqual(['foo', 'Adapter', 'Env']);
    expect(identifierParts('ClaudeLiveSession')).toEqual(['Claude', 'Live', 'Session']);
    expect(identifierParts('OLD_CUSTOM_RUNTIME_KEY')).toEqual(['OLD', 'CUSTOM', 'RUNTIME', 'KEY']);
    expect(matchesRetired('fooAdapter', 'adapter')).toBe(true);
    expect(matchesRetired('adapterEnv', 'adapter')).toBe(true);
    expect(matchesRetired('ADAPTER_MODULE', 'adapter')).toBe(true);
    expect(matchesRetired('adapted', 'adapter')).toBe(false);
    expect(matchesRetired('ClaudeLiveSession', 'LiveSession')).toBe(true);
    expect(matchesRetired('liveSessionCount', 'LiveSession')).toBe(true);
    expect(matchesRetired('LiveSessions', 'LiveSession')).toBe(false);
    expect(matchesRetired('LiveReplyMode', 'LiveSession')).toBe(false);
    expect(matchesRetired('Stores', 'Stores')).toBe(true);
    expect(matchesRetired('SqliteStores', 'Stores')).toBe(false);
  });

  it('reads identifiers, not comments, strings, template text or regular expressions (but a string that is a bare key)', () => {
    const source = [
      '// a fooAdapter in a comment',
      "const note = 'the adapter says'; /* harness */",
      'const re = /["\']adapter/g; const half = total / 2;',
      `const t = \`adapter \${liveSession} text\`;`,
      "const key = custom['harness'];",
      'class A { #secretAdapter = 1; }',
      'export const fooAdapter = 1;',
      // JSX text is read as code: an apostrophe in it ends what is read of that line (as a string would).
      "<p>Don't use a harness</p>",
    ].join('\n');
    const names = identifiersOf(source).map((id) => `${id.line}:${id.name}`);
    expect(names).toContain('4:liveSession');
    expect(names).toContain('5:harness');
    expect(names).toContain('6:secretAdapter');
    expect(names).toContain('7:fooAdapter');
    expect(names.filter((n) => /adapter|harness/i.test(n))).toEqual(['5:harness', '6:secretAdapter', '7:fooAdapter']);
  });

  it('reads every row of the table: names, file names, the instead names and the allowed places', () => {
    const table = [
      '## Retired words',
      '',
      '| retired | instead | accepted only in |',
      '|---|---|---|',
      '| `adapter` (of a runtime) | runtime (`RuntimeImpl`) | a channel: `packages/channels/src/`, `adapterModule` |',
      '| `Stores` | `SqliteStores` | — |',
      '| `model.ts` | `store.ts` | — |',
      '',
      '## Next',
      '| `notARow` | | |',
    ].join('\n');
    const parsed = parseRetiredTable(table);
    expect(parsed.map((r) => [r.names, r.files, [...r.allowedIdentifiers], r.allowedPaths])).toEqual([
      [['adapter'], [], ['RuntimeImpl', 'adapterModule'], ['packages/channels/src/']],
      [['Stores'], [], ['SqliteStores'], []],
      [[], ['model.ts'], [], []],
    ]);
    expect(() => parseRetiredTable('# Glossary\n')).toThrow(/no "## Retired words"/);
  });

  it('fails on a retired word planted in a copy of the sources, naming file and line, and not where the table allows it', () => {
    const write = (path: string, text: string): void => {
      mkdirSync(join(temp, path, '..'), { recursive: true });
      writeFileSync(join(temp, path), text);
    };
    write('packages/core/src/invoker/runtime.ts', '/** An adapter, said in prose. */\nexport interface RuntimeImpl {}\nexport type RuntimeAdapter = RuntimeImpl;\n');
    write('packages/core/src/domain/model.ts', 'export const x = 1;\n');
    write('packages/channels/src/adapter.ts', 'export interface ChannelAdapter {}\n');
    write('packages/client/src/kinds.ts', 'export interface ChannelKind { adapterModule?: string }\n');
    write('apps/tinyoffice/components/warm.tsx', 'export function Row() {\n  return <FakeLiveSession />;\n}\n');
    write('packages/core/test/not-production.ts', 'export const fooAdapter = 1;\n');
    const planted = parseRetiredTable(
      [
        '## Retired words',
        '| retired | instead | accepted only in |',
        '|---|---|---|',
        '| `adapter` (of a runtime) | runtime | `packages/channels/src/`, `adapterModule` |',
        '| `LiveSession` | `WarmSession` | — |',
        '| `model.ts` | `store.ts` | — |',
      ].join('\n'),
    );
    expect(retiredWordUses(temp, planted).sort()).toEqual([
      'apps/tinyoffice/components/warm.tsx:2: FakeLiveSession (retired: `LiveSession`)',
      'packages/core/src/domain/model.ts: a file named model.ts (retired: `model.ts`)',
      'packages/core/src/invoker/runtime.ts:3: RuntimeAdapter (retired: `adapter` (of a runtime))',
    ]);
  });

  it('finds none in the production sources', () => {
    expect(rows.length).toBeGreaterThanOrEqual(4);
    expect(productionFiles(ROOT).length).toBeGreaterThan(300);
    expect(retiredWordUses(ROOT, rows)).toEqual([]);
  });
});

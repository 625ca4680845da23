/**
 * The lint of docs/ as readers meet it (docs/README.md): every page says at its top whom it is
 * for (`**For users:**` or `**For contributors:**`), sits in the map's part for that reader, holds
 * no notebook lines (what a slice, stop or issue built, "this session", dated sections: history
 * belongs to git), and the pages stay short enough to be finished: user pages under 60,000 words
 * together and 5,000 each, all pages under 100,000. User-facing strings in production sources
 * (string literals: messages, hints, labels) carry no notebook lines either.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOCS = join(ROOT, 'docs');

type Audience = 'users' | 'contributors';

const USER_WORDS = 60_000;
const ALL_WORDS = 100_000;
const USER_PAGE_WORDS = 5_000;

/** What a slice, stop or issue built: "slice 5", "stop 70", "issue 52". */
const HISTORY = /\b(slice|stop|issue)s? \d+\b/i;
/**
 * A line of history in a page: the above, "this session" (not a warm session's "for this
 * session" or "on this session", nor "this session key"), a dated heading.
 */
const NOTEBOOK = [HISTORY, /(?<!(?:for|on) )\bthis session\b(?! key)/i, /^#+ .*\b20\d\d-\d\d(-\d\d)?\b/];

export function notebookLines(text: string): Array<{ line: number; text: string }> {
  return text
    .split('\n')
    .map((line, i) => ({ line: i + 1, text: line }))
    .filter(({ text: line }) => NOTEBOOK.some((pattern) => pattern.test(line)));
}

/** The audience a page's first line after its title names, or undefined. */
export function audienceOf(markdown: string): Audience | undefined {
  const lines = markdown.split('\n');
  const title = lines.findIndex((line) => line.startsWith('# '));
  const first = lines.slice(title + 1).find((line) => line.trim() !== '');
  const match = /^\*\*For (users|contributors):\*\*/.exec(first ?? '');
  return match ? (match[1] as Audience) : undefined;
}

const words = (text: string): number => text.split(/\s+/).filter((word) => word !== '').length;

const pages = readdirSync(DOCS)
  .filter((name) => name.endsWith('.md') && name !== 'README.md')
  .sort()
  .map((name) => {
    const text = readFileSync(join(DOCS, name), 'utf8');
    return { name, text, audience: audienceOf(text), words: words(text) };
  });

describe('docs/ pages', () => {
  it('each says at its top whom it is for', () => {
    expect(pages.filter((page) => page.audience === undefined).map((page) => page.name)).toEqual([]);
  });

  it("each is in docs/README.md's map, in the part for its reader", () => {
    const map = readFileSync(join(DOCS, 'README.md'), 'utf8');
    const contributorsAt = map.indexOf('## Work on it');
    expect(contributorsAt, 'docs/README.md has "## Work on it" (the contributors\' part)').toBeGreaterThan(0);
    const misplaced = pages.flatMap((page) => {
      // Its entry: the first link to it under the map's first part (the intro may link a page too).
      const at = map.indexOf(`](${page.name})`, map.indexOf('\n## '));
      if (at < 0) return [`${page.name}: not in the map`];
      const part: Audience = at > contributorsAt ? 'contributors' : 'users';
      return part === page.audience ? [] : [`${page.name}: for ${page.audience}, listed for ${part}`];
    });
    expect(misplaced).toEqual([]);
  });

  it('hold no notebook lines (history goes to git)', () => {
    const found = pages.flatMap((page) => notebookLines(page.text).map((hit) => `docs/${page.name}:${hit.line}: ${hit.text.trim()}`));
    expect(found).toEqual([]);
  });

  it('are short enough to finish: user pages under 60,000 words together and 5,000 each, all under 100,000', () => {
    const user = pages.filter((page) => page.audience === 'users');
    const total = (list: typeof pages): number => list.reduce((sum, page) => sum + page.words, 0);
    expect(user.filter((page) => page.words >= USER_PAGE_WORDS).map((page) => `${page.name}: ${page.words} words`)).toEqual([]);
    expect(total(user)).toBeLessThan(USER_WORDS);
    expect(total(pages)).toBeLessThan(ALL_WORDS);
  });
});

/** Production sources: every package's src/ and TinyOffice's app, lib and components. */
function productionFiles(): string[] {
  const roots = [...readdirSync(join(ROOT, 'packages')).map((name) => join(ROOT, 'packages', name, 'src')), ...['app', 'lib', 'components'].map((name) => join(ROOT, 'apps', 'tinyoffice', name))];
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|tsx|mjs)$/.test(name)) files.push(path);
    }
  };
  for (const root of roots) {
    try {
      walk(root);
    } catch {}
  }
  return files;
}

/** The string literals of a line of code (not a comment line): '…', "…", `…` on that line. */
const LITERAL = /'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`/g;

describe('user-facing strings', () => {
  it('name no slice, stop or issue', () => {
    const found = productionFiles().flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => {
          const code = line.trim();
          if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return [];
          const hits = (line.match(LITERAL) ?? []).filter((literal) => HISTORY.test(literal));
          return hits.map((literal) => `${relative(ROOT, file)}:${i + 1}: ${literal}`);
        }),
    );
    expect(found).toEqual([]);
  });

  it('the lint finds what it is for', () => {
    expect(notebookLines('# Title\n\nBuilt in slice 5.\nAllow for this session\nIn this session we\n## 2026-11-26 run\n').map((hit) => hit.line)).toEqual([3, 5, 6]);
    expect(audienceOf('# T\n\n**For users:** how to.\n')).toBe('users');
    expect(audienceOf('# T\n\nFor whoever runs it.\n')).toBeUndefined();
  });
});

/**
 * Every reference to the docs keeps resolving (issue 49, item 6): a Markdown link between files
 * (`[x](queue.md#transactions-the-verbs)`) and a mention of `docs/<file>.md` or
 * `docs/<file>.md#anchor` in the READMEs, the docs, and the sources and tests of the packages and
 * of TinyOffice (comments, error messages, hints) names a file that exists and, with `#anchor`, a
 * heading of that file under GitHub's slug rules (lowercase; spaces to `-`; punctuation dropped;
 * a repeated heading gets `-1`, `-2`, …). A moved or renamed doc then fails here, naming
 * file:line, instead of leaving readers at a dead link.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** GitHub's heading anchor: the heading's text without Markdown, lowercased, punctuation dropped, spaces to `-`. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link or image: its text
    .replace(/<[^>]+>/g, '') // inline HTML tags
    .replace(/[`*]/g, '') // code spans and emphasis
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

/** The anchors a Markdown file offers: one per heading (outside fenced code), plus `<a id|name="…">`. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const f = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === null) fence = f[1]![0]!;
      else if (f[1]![0] === fence) fence = null;
      continue;
    }
    if (fence !== null) continue;
    const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = slug(h[1]!);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const a of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(a[1]!);
  }
  return anchors;
}

export interface Problem {
  /** `path:line`, relative to the root given to the checker. */
  where: string;
  ref: string;
  problem: string;
}

/** A Markdown link's target: relative ones only (no scheme, no `//`), up to `)` or a title. */
const MD_LINK = /\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
/** `docs/<file>.md` with an optional `#anchor`, not preceded by a path or word character (so `../../docs/x.md` and URLs are left to the link rule). */
const DOCS_MENTION = /(?<![\w/.-])docs\/([\w.-]+?\.md)(?:#([\p{L}\p{N}_-]+))?/gu;

/** Checks `files` (paths relative to `root`): Markdown links in `.md` files, `docs/x.md` mentions everywhere. */
export function checkDocLinks(root: string, files: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  const anchorCache = new Map<string, Set<string> | null>();
  const anchorsAt = (abs: string): Set<string> | null => {
    if (!anchorCache.has(abs)) anchorCache.set(abs, existsSync(abs) && statSync(abs).isFile() ? anchorsOf(readFileSync(abs, 'utf8')) : null);
    return anchorCache.get(abs)!;
  };
  const check = (where: string, ref: string, target: string, anchor: string | undefined): void => {
    if (!existsSync(target)) {
      problems.push({ where, ref, problem: `no file ${relative(root, target).split('\\').join('/')}` });
      return;
    }
    if (anchor === undefined || anchor === '' || !target.endsWith('.md')) return;
    const anchors = anchorsAt(target);
    if (anchors && !anchors.has(anchor.toLowerCase())) problems.push({ where, ref, problem: `no heading #${anchor} in ${relative(root, target).split('\\').join('/')}` });
  };
  for (const file of files) {
    const abs = join(root, file);
    const lines = readFileSync(abs, 'utf8').split('\n');
    const isMarkdown = file.endsWith('.md');
    lines.forEach((line, i) => {
      const where = `${file}:${i + 1}`;
      if (isMarkdown)
        for (const m of line.matchAll(MD_LINK)) {
          const ref = m[1]!;
          if (/^[a-z][a-z0-9+.-]*:/i.test(ref) || ref.startsWith('//')) continue; // https:, mailto:, …
          const hash = ref.indexOf('#');
          const path = hash === -1 ? ref : ref.slice(0, hash);
          const anchor = hash === -1 ? undefined : decodeURIComponent(ref.slice(hash + 1));
          check(where, ref, path === '' ? abs : resolve(dirname(abs), decodeURIComponent(path)), anchor);
        }
      for (const m of line.matchAll(DOCS_MENTION)) check(where, m[0], join(root, 'docs', m[1]!), m[2]);
    });
  }
  return problems;
}

const SKIP_DIRS = new Set(['node_modules', 'dist', '.next', 'out', '.turbo', 'coverage', 'fixtures']);

function walk(dir: string, keep: (name: string) => boolean, into: string[] = []): string[] {
  if (!existsSync(dir)) return into;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walk(join(dir, entry.name), keep, into);
    } else if (keep(entry.name)) into.push(join(dir, entry.name));
  }
  return into;
}

/** README.md, docs/*.md, each package's README, and every .ts/.tsx of the packages' and TinyOffice's sources and tests. */
export function filesToCheck(root: string): string[] {
  const ts = (name: string) => /\.(ts|tsx|mts|cts)$/.test(name);
  const abs: string[] = [join(root, 'README.md')];
  abs.push(
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(root, 'docs', f)),
  );
  for (const pkg of readdirSync(join(root, 'packages'))) {
    const dir = join(root, 'packages', pkg);
    if (existsSync(join(dir, 'README.md'))) abs.push(join(dir, 'README.md'));
    walk(join(dir, 'src'), ts, abs);
    walk(join(dir, 'test'), ts, abs);
  }
  for (const sub of ['app', 'components', 'lib', 'src', 'test']) walk(join(root, 'apps', 'tinyoffice', sub), ts, abs);
  return abs.filter((f) => existsSync(f)).map((f) => relative(root, f).split('\\').join('/'));
}

describe('docs links', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'docs-links-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('slugs headings as GitHub does', () => {
    expect(slug('Several nodes (PostgreSQL)')).toBe('several-nodes-postgresql');
    expect(slug('`tinyagi` inside agents')).toBe('tinyagi-inside-agents');
    expect(slug('Transactions (the verbs)')).toBe('transactions-the-verbs');
    expect(slug('24/7')).toBe('247');
    expect(slug('What each CLI is given')).toBe('what-each-cli-is-given');
    expect(slug('Rate limits & quotas: [how](x.md)')).toBe('rate-limits--quotas-how');
    expect(slug('snake_case names')).toBe('snake_case-names');
    expect([...anchorsOf('# A\n## Same\n```\n## Not a heading\n```\n## Same\n<a id="kept"></a>\n')]).toEqual(['a', 'same', 'same-1', 'kept']);
  });

  it('names file:line for a link or mention whose file or heading is missing, and passes good ones', () => {
    const docs = join(tmp, 'docs');
    mkdirSync(docs, { recursive: true });
    mkdirSync(join(tmp, 'src'), { recursive: true });
    writeFileSync(join(docs, 'good.md'), '# Good\n\n## Several nodes (PostgreSQL)\n\ntext\n');
    const d = 'docs/';
    writeFileSync(
      join(docs, 'a.md'),
      [
        '# A',
        'ok: [x](good.md#several-nodes-postgresql), [y](#a), [z](https://example.com/gone.md), [w](../src/code.ts)',
        'missing file: [x](gone.md)',
        'missing heading: [x](good.md#several-nodes)',
        `mention ok: ${d}good.md#good and ${d}good.md`,
        `mention bad: ${d}gone.md, ${d}good.md#nope`,
        'own anchor bad: [x](#nowhere)',
      ].join('\n'),
    );
    writeFileSync(join(tmp, 'src', 'code.ts'), `// see ${d}good.md#several-nodes-postgresql\nthrow new Error('see ${d}operations.md, "Channels"');\n`);
    const problems = checkDocLinks(tmp, ['docs/a.md', 'docs/good.md', 'src/code.ts']);
    expect(problems.map((p) => `${p.where} ${p.ref}: ${p.problem}`)).toEqual([
      'docs/a.md:3 gone.md: no file docs/gone.md',
      'docs/a.md:4 good.md#several-nodes: no heading #several-nodes in docs/good.md',
      `docs/a.md:6 ${d}gone.md: no file docs/gone.md`,
      `docs/a.md:6 ${d}good.md#nope: no heading #nope in docs/good.md`,
      'docs/a.md:7 #nowhere: no heading #nowhere in docs/a.md',
      `src/code.ts:2 ${d}operations.md: no file docs/operations.md`,
    ]);
  });

  it('every reference in the READMEs, docs and sources resolves', () => {
    // This file itself is left out: its fixtures name missing docs on purpose.
    const files = filesToCheck(ROOT).filter((f) => f !== 'packages/core/test/docs-links.test.ts');
    expect(files).toContain('README.md');
    expect(files).toContain('packages/core/src/index.ts');
    expect(files.some((f) => f.startsWith('apps/tinyoffice/'))).toBe(true);
    const problems = checkDocLinks(ROOT, files);
    expect(problems.map((p) => `${p.where}: ${p.ref}: ${p.problem}`).join('\n')).toBe('');
  });
});

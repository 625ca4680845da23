/**
 * The maps stay true (docs/architecture.md): every workspace package is a row of the packages
 * table, and every folder of core's sources a row of the "Core's folders" table, so a package or
 * a domain added without its line fails here, as a word added without its glossary entry fails
 * the glossary's lint; and the files the maps (and the message's journey) name exist.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..', '..');
const architecture = readFileSync(join(repo, 'docs', 'architecture.md'), 'utf8');

function folders(dir: string): string[] {
  return readdirSync(dir).filter((name) => !name.startsWith('.') && name !== 'node_modules' && statSync(join(dir, name)).isDirectory());
}

/** The section of architecture.md under `heading`, up to the next heading of any level. */
function section(heading: string): string {
  const start = architecture.indexOf(`\n${heading}\n`);
  expect(start, `docs/architecture.md has the heading "${heading}"`).toBeGreaterThan(-1);
  const rest = architecture.slice(start + heading.length + 2);
  const end = rest.search(/\n#{2,3} /);
  return end === -1 ? rest : rest.slice(0, end);
}

describe('docs/architecture.md names what is there', () => {
  it('every workspace package has a row in the packages table', () => {
    const table = section('## Packages and dependency direction');
    const packages = [...folders(join(repo, 'packages')).map((p) => `packages/${p}`), ...folders(join(repo, 'apps')).map((a) => `apps/${a}`), 'bench'];
    const missing = packages.filter((p) => !table.includes(`(\`${p}\``));
    expect(missing, 'packages without a row (add one: | `name` (`path`) | job | may import |)').toEqual([]);
  });

  it("every folder of core's sources has a row in the core folders table, and no row names a folder that is gone", () => {
    const table = section("### Core's folders");
    const present = folders(join(repo, 'packages', 'core', 'src'));
    const rows = [...table.matchAll(/^\| `([a-z-]+)\/` \|/gm)].map((m) => m[1]!);
    expect(
      present.filter((f) => !rows.includes(f)),
      'core folders without a row',
    ).toEqual([]);
    expect(
      rows.filter((r) => !present.includes(r)),
      'rows for folders that are gone',
    ).toEqual([]);
  });

  it('the maps name only source files that exist (architecture.md and message-journey.md)', () => {
    const named = ['architecture.md', 'message-journey.md'].flatMap((page) =>
      [...readFileSync(join(repo, 'docs', page), 'utf8').matchAll(/\b([a-z-]+)\/src\/([\w./-]+\.tsx?)\b/g)].map((m) => ({ page, path: `${m[1]}/src/${m[2]}` })),
    );
    expect(named.length).toBeGreaterThan(20);
    const exists = (path: string): boolean => [join(repo, 'packages', path), join(repo, 'apps', path)].some((full) => statSync(full, { throwIfNoEntry: false }) !== undefined);
    expect(named.filter((n) => !exists(n.path)).map((n) => `docs/${n.page}: ${n.path}`)).toEqual([]);
  });
});

/**
 * `@tinyagi/core/internal` exports what the sibling packages use, nothing more (issue 34: it had
 * 346 names, 114 of them used). internal.ts gathers each folder's index.ts; a folder's index.ts
 * is the list of what siblings take from that folder (the public entry, index.ts, picks its own
 * names from the source files).
 *
 * The check runs one way: every name /internal exports is imported by some file of another
 * package (packages/*, bench/, apps/; tests included), from /internal or from the public root
 * (a folder's index serves both). The other way needs no test: a
 * sibling importing a name /internal lacks does not compile. So this stays true as code evolves
 * only if a name leaves /internal when its last user stops importing it, which is what it asks.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CORE_SRC = join(ROOT, 'packages/core/src');

const withoutComments = (text: string): string => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

/** The names a module exports: `export … from` followed (type-only included), declarations, `export { … }`. */
function exportsOf(file: string, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  if (seen.has(file)) return out;
  seen.add(file);
  const text = withoutComments(readFileSync(file, 'utf8'));
  for (const m of text.matchAll(/^export\s+(?:type\s+)?\*\s+from\s+'([^']+)'/gm)) {
    for (const name of exportsOf(resolve(dirname(file), m[1]!), seen)) out.add(name);
  }
  for (const m of text.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}/gm)) {
    for (const part of m[1]!.split(',')) {
      const spec = part.trim().replace(/^type\s+/, '');
      if (spec)
        out.add(
          spec
            .split(/\s+as\s+/)
            .at(-1)!
            .trim(),
        );
    }
  }
  for (const m of text.matchAll(/^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:const|let|function\*?|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm)) out.add(m[1]!);
  out.delete('default');
  return out;
}

/** Name → files of other packages importing it from `specifier` (statements at the start of a line). */
function importedFrom(specifier: string): Map<string, string[]> {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'packages', 'bench', 'apps'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => /\.(?:ts|tsx|mts)$/.test(f) && !f.startsWith('packages/core/'));
  const statement = new RegExp(`^(?:import|export)\\s+(?:type\\s+)?\\{([^}]*)\\}\\s*from\\s*'${specifier.replaceAll('/', '\\/')}'`, 'gm');
  const used = new Map<string, string[]>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(join(ROOT, file), 'utf8');
    } catch {
      continue; // listed but deleted in the working tree
    }
    if (!text.includes(specifier)) continue;
    for (const m of text.matchAll(statement)) {
      for (const part of m[1]!.split(',')) {
        const spec = part.trim().replace(/^type\s+/, '');
        if (!spec) continue;
        const name = spec.split(/\s+as\s+/)[0]!.trim();
        used.set(name, [...(used.get(name) ?? []), file]);
      }
    }
  }
  return used;
}

describe('@tinyagi/core/internal', () => {
  const exported = exportsOf(join(CORE_SRC, 'internal.ts'));
  // A folder's index serves both entries: a name siblings take from the public root may stay.
  const used = new Map([...importedFrom('@tinyagi/core'), ...importedFrom('@tinyagi/core/internal')]);

  it('is read whole', () => {
    // Through internal.ts's `export *` of the folders, and a folder's `export type *`.
    expect(exported.has('openStores') || exported.has('openDatabase')).toBe(true);
    expect(exported.has('QueueWorker')).toBe(true);
    expect(used.size).toBeGreaterThan(50);
  });

  it("a package's declared surface (src/core-internal.ts; git-tasks' src/core.ts) gives only names its own sources import from it", () => {
    const surfaces = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'packages/*/src/core-internal.ts', 'packages/git-tasks/src/core.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((f) => f !== '');
    expect(surfaces.length).toBeGreaterThanOrEqual(5);
    const unused = surfaces.flatMap((surface) => {
      const src = join(ROOT, surface.slice(0, surface.indexOf('/src/') + 4));
      const taken = new Set<string>();
      for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tsx?$/.test(f))) {
        const path = join(src, file);
        if (path === join(ROOT, surface)) continue;
        for (const m of readFileSync(path, 'utf8').matchAll(/^(?:import|export)\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'(\.[^']*)'/gm)) {
          if (resolve(dirname(path), m[2]!) !== join(ROOT, surface)) continue;
          for (const part of m[1]!.split(',')) {
            const name = part
              .trim()
              .replace(/^type\s+/, '')
              .split(/\s+as\s+/)[0]!
              .trim();
            if (name) taken.add(name);
          }
        }
      }
      return [...exportsOf(join(ROOT, surface))].filter((name) => !taken.has(name)).map((name) => `${surface}: ${name}`);
    });
    expect(unused, "given by a package's surface but imported by none of its files: drop them from the surface").toEqual([]);
  });

  it('exports only names another package imports from it', () => {
    const unused = [...exported].filter((name) => !used.has(name)).sort();
    expect(unused, 'exported by @tinyagi/core/internal but imported by no other package: drop them from their folder index.ts (or internal.ts)').toEqual([]);
  });
});

/**
 * core's import graph stays layered (docs/architecture.md, issue 34): read from the sources,
 * type-only imports included (a type-only circle still means two modules cannot be read apart).
 *
 *   root files (errors.ts, ids.ts, …)  <  storage/  <  the domain folders  <  compose/  <  entries
 *
 * - no circle anywhere in packages/core/src, nor in any other package's src/;
 * - storage/ (the database handle, transactions, schema, PostgreSQL plumbing) imports nothing
 *   of a domain folder (runs/, queue/, outbox/, …) nor of compose/;
 * - compose/ (what opens a backend and puts every store together) is imported only by the
 *   package's entry files (index.ts, internal.ts, pg.ts, orm.ts);
 * - a domain's SQLite store (sqlite-*.ts) and PostgreSQL store (pg-*.ts) import its store.ts,
 *   not each other;
 * - the invoker (invoker/: the runtimes and what runs them) is imported only by the entry files,
 *   but for its vocabulary (its types, and the error the queue and the quota board act on), and
 *   that vocabulary loads nothing of it: config/, approvals/, quotas/ and observe/ depend on what
 *   the invoker is, never on how it runs (issue 49);
 * - core's sandbox/ (what the settings say of a sandbox; the boundary is @tinyagi/sandbox, which
 *   biome keeps off core) imports nothing of the invoker, nor of quotas/ or any store: only
 *   config/, kinds/ and the root leaves (docs/architecture.md);
 * - kinds/ (the registries and the built-in runtimes' descriptors) imports no implementation, and
 *   validating settings loads no runtime: what config/ loads holds no file of invoker/ (type-only
 *   imports left out, they load nothing), the built-in runtimes' descriptors are among it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const ENTRIES = new Set(['index.ts', 'internal.ts', 'pg.ts', 'orm.ts']);

/** Every static `import … from`, `export … from`, side-effect `import '…'` and `import('…')` with a relative specifier. */
const IMPORT = /^\s*(?:import|export)\b[^;]*?\bfrom\s*'([^']+)'|^\s*import\s*'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/gm;

/** `import type …` and `export type …`: erased by the compiler, they load nothing (verbatimModuleSyntax keeps every other import). */
const TYPE_ONLY = /^\s*(?:import|export)\s+type\b/;

/** `loads`: only the imports that load a module when it runs (type-only ones left out). */
function readGraph(src: string = SRC, { loads = false }: { loads?: boolean } = {}): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const file of files) {
    const path = join(src, file);
    const targets = new Set<string>();
    for (const m of readFileSync(path, 'utf8').matchAll(IMPORT)) {
      if (loads && TYPE_ONLY.test(m[0])) continue;
      const specifier = m[1] ?? m[2] ?? m[3]!;
      if (specifier.startsWith('.'))
        targets.add(
          relative(src, resolve(dirname(path), specifier))
            .split('\\')
            .join('/'),
        );
    }
    graph.set(file.split('\\').join('/'), [...targets].sort());
  }
  return graph;
}

/** The strongly connected components of more than one file (and files importing themselves): Tarjan. */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)!.includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** The top folder of a file under src (`.` for a file at the root). */
const folderOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '.');

function arrows(graph: Map<string, string[]>, wrong: (from: string, to: string) => boolean): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) for (const to of targets) if (wrong(from, to)) out.push(`${from} -> ${to}`);
  return out.sort();
}

/** Every file `from` reaches in `graph`, `from` included. */
function reach(graph: Map<string, string[]>, from: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...from];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    todo.push(...(graph.get(file) ?? []));
  }
  return seen;
}

/** What the folders below the invoker may know of it: its types and its error class (both load nothing of it, checked below). */
const INVOKER_VOCABULARY = new Set(['invoker/types.ts', 'invoker/invoke-error.ts']);

describe("core's import graph", () => {
  const graph = readGraph();
  const loads = readGraph(SRC, { loads: true });

  it('is read whole (multi-line and type-only imports included)', () => {
    expect(graph.size).toBeGreaterThan(100);
    // Multi-line and type-only: internal.ts re-exports every folder; storage's files import each other.
    expect(graph.get('internal.ts')).toContain('storage/index.ts');
    expect(graph.get('storage/database.ts')).toContain('storage/transaction.ts');
  });

  it('has no circle', () => {
    expect(circles(graph).map((c) => `${c.length} files: ${c.join(' ')}`)).toEqual([]);
  });

  it("no other package's src/ has a circle either (issue 49)", () => {
    const packages = resolve(SRC, '..', '..');
    const found = readdirSync(packages)
      .filter((p) => p !== 'core' && existsSync(join(packages, p, 'src')))
      .flatMap((p) => circles(readGraph(join(packages, p, 'src'))).map((c) => `${p}: ${c.length} files: ${c.join(' ')}`));
    expect(found).toEqual([]);
  });

  it('storage/ imports no domain folder and not compose/', () => {
    expect(arrows(graph, (from, to) => folderOf(from) === 'storage' && folderOf(to) !== 'storage' && folderOf(to) !== '.')).toEqual([]);
    // …and of the root files only the leaves (errors, ids, package-root), never an entry.
    expect(arrows(graph, (from, to) => folderOf(from) === 'storage' && ENTRIES.has(to))).toEqual([]);
  });

  it('compose/ is imported only by the entry files', () => {
    expect(arrows(graph, (from, to) => folderOf(to) === 'compose' && folderOf(from) !== 'compose' && !ENTRIES.has(from))).toEqual([]);
  });

  it("a domain's SQLite and PostgreSQL stores share its model, not each other", () => {
    const backend = (file: string): string | undefined => /(?:^|\/)(sqlite|pg)-[^/]*$/.exec(file)?.[1];
    expect(arrows(graph, (from, to) => folderOf(from) !== 'storage' && backend(from) !== undefined && backend(to) !== undefined && backend(from) !== backend(to))).toEqual([]);
  });

  it('only the entry files import the invoker, but for its types and its error (config/, approvals/, quotas/, observe/: issue 49)', () => {
    expect(arrows(graph, (from, to) => folderOf(to) === 'invoker' && folderOf(from) !== 'invoker' && !ENTRIES.has(from) && !INVOKER_VOCABULARY.has(to))).toEqual([]);
  });

  it("the invoker's vocabulary loads nothing of the invoker", () => {
    expect(arrows(loads, (from, to) => INVOKER_VOCABULARY.has(from) && folderOf(to) === 'invoker' && !INVOKER_VOCABULARY.has(to))).toEqual([]);
  });

  it("core's sandbox/ imports nothing of invoker/, quotas/ or a store: only config/, kinds/ and the root leaves", () => {
    const SANDBOX_TAKES = new Set(['sandbox', 'config', 'kinds', '.']);
    expect(arrows(graph, (from, to) => folderOf(from) === 'sandbox' && (!SANDBOX_TAKES.has(folderOf(to)) || ENTRIES.has(to)))).toEqual([]);
  });

  it('kinds/ imports no implementation: only its own files and the root leaves', () => {
    expect(arrows(graph, (from, to) => folderOf(from) === 'kinds' && ((folderOf(to) !== 'kinds' && folderOf(to) !== '.') || ENTRIES.has(to)))).toEqual([]);
  });

  it("validating settings loads no runtime: config/ reaches no file of invoker/, and the built-in runtimes' descriptors", () => {
    const loaded = reach(
      loads,
      [...loads.keys()].filter((file) => folderOf(file) === 'config'),
    );
    expect([...loaded].filter((file) => folderOf(file) === 'invoker')).toEqual([]);
    expect(loaded).toContain('kinds/runtimes/index.ts');
  });

  it('the root files other than the entries import no folder', () => {
    expect(arrows(graph, (from, to) => folderOf(from) === '.' && !ENTRIES.has(from) && folderOf(to) !== '.')).toEqual([]);
  });
});

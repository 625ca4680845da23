/**
 * Checks of one unpacked tarball that a failing example would only hint at: specs npm cannot
 * install, entry points that are not in the tarball, imports of packages that are not
 * dependencies, and build output whose source is gone (stale files from an old build).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';

export interface PackedManifest {
  name: string;
  version: string;
  private?: boolean;
  bin?: string | Record<string, string>;
  main?: string;
  types?: string;
  exports?: unknown;
  /** Package-internal specifiers (`#otel`) and the files they name. */
  imports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** The export condition that points workspace tools at TypeScript sources (.pnpmfile.mjs drops it when packing). */
export const SOURCE_CONDITION = 'tinyagi-source';

const DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const;

/** Dependency specs only a workspace understands (`workspace:*`, `catalog:`, local links). */
export function workspaceSpecs(manifest: PackedManifest): string[] {
  return DEPENDENCY_FIELDS.flatMap((field) =>
    Object.entries(manifest[field] ?? {})
      .filter(([, spec]) => /^(workspace|catalog|link|file|portal):/.test(spec))
      .map(([name, spec]) => `${field}.${name}: ${spec}`),
  );
}

/** Export conditions only this workspace understands, left in a packed manifest. */
export function workspaceConditions(manifest: PackedManifest): string[] {
  return JSON.stringify(manifest.exports ?? {}).includes(`"${SOURCE_CONDITION}"`) ? [SOURCE_CONDITION] : [];
}

/** Files named by exports and imports (every condition), bin, main and types. */
export function entryFiles(manifest: PackedManifest): string[] {
  const files: string[] = [];
  const walk = (node: unknown): void => {
    if (typeof node === 'string') files.push(node);
    else if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      for (const value of Object.values(node)) walk(value);
    }
  };
  walk(manifest.exports);
  walk(manifest.imports);
  if (typeof manifest.bin === 'string') files.push(manifest.bin);
  else walk(manifest.bin);
  if (manifest.main) files.push(manifest.main);
  if (manifest.types) files.push(manifest.types);
  return [...new Set(files)];
}

export function missingEntryFiles(dir: string, manifest: PackedManifest): string[] {
  return entryFiles(manifest).filter((file) => !file.includes('*') && !existsSync(join(dir, file)));
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

const BUILTINS = new Set(builtinModules);
/** Static imports and re-exports (statements only, not text in strings), bare `import 'x'`, `import('x')`. */
// A specifier has no white space: `Pick<T, 'from' | 'hop'>` in a declaration is not `from ' | '`.
const SPECIFIERS = [/^\s*(?:import|export)\s[^;]*?\bfrom\s*['"]([^'"\s]+)['"]/gm, /^\s*import\s*['"]([^'"\s]+)['"]/gm, /\bimport\(\s*['"]([^'"\s]+)['"]\s*\)/g];

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function typesPackageOf(name: string): string {
  return `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`;
}

/**
 * Bare imports in the shipped .js and .d.ts files whose package is not a dependency (a user's
 * install would not have it). For a .d.ts, the package's `@types/` counterpart counts too; whether
 * a dependency without its own types has its `@types/` declared is left to the examples' tsc run
 * (skipLibCheck off).
 */
export function undeclaredImports(dir: string, manifest: PackedManifest): string[] {
  const declared = new Set(DEPENDENCY_FIELDS.flatMap((field) => Object.keys(manifest[field] ?? {})));
  const problems = new Set<string>();
  for (const file of listFiles(dir).filter((f) => /\.(m?js|d\.m?ts)$/.test(f))) {
    const isTypes = /\.d\.m?ts$/.test(file);
    const text = readFileSync(file, 'utf8');
    for (const match of SPECIFIERS.flatMap((pattern) => [...text.matchAll(pattern)])) {
      const specifier = match[1]!;
      if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || BUILTINS.has(specifier)) continue;
      if (specifier.startsWith('#')) {
        if (!manifest.imports?.[specifier]) problems.add(`${relative(dir, file)} imports ${specifier}, which the manifest's imports do not name`);
        continue;
      }
      const name = packageOf(specifier);
      if (name === manifest.name) continue;
      if (declared.has(name) || (isTypes && declared.has(typesPackageOf(name)))) continue;
      problems.add(`${relative(dir, file)} imports ${specifier}`);
    }
  }
  return [...problems].sort();
}

/** Build output (dist/**.js) whose TypeScript source no longer exists: left over from an old build. */
export function staleOutputs(packedDir: string, sourceDir: string): string[] {
  const dist = join(packedDir, 'dist');
  if (!existsSync(dist)) return [];
  const js = listFiles(dist).filter((file) => file.endsWith('.js'));
  // The CLI's executable bundles (dist/chunks/ and dist/otel/, packages/cli/scripts/bundle.mjs)
  // have no source per file: a bundle file is stale when no file of the package imports it and
  // the manifest's imports do not name it.
  const manifest = JSON.parse(readFileSync(join(packedDir, 'package.json'), 'utf8')) as PackedManifest;
  const imported = new Set(entryFiles(manifest).map((file) => file.replace(/^\.\/dist\//, '')));
  for (const file of js) {
    const folder = relative(dist, join(file, '..'));
    for (const m of readFileSync(file, 'utf8').matchAll(/["'](\.{1,2}\/(?:chunks\/)?[\w-]+\.js)["']/g)) imported.add(relative(dist, join(dist, folder, m[1]!)));
  }
  return js
    .map((file) => relative(dist, file))
    .filter((rel) => (/^(chunks|otel)\//.test(rel) ? !imported.has(rel) : !existsSync(join(sourceDir, 'src', rel.replace(/\.js$/, '.ts')))))
    .map((rel) => `dist/${rel}`);
}

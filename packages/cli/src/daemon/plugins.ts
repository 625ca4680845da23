/**
 * Loads the plugins in TINYAGI_HOME/plugins/<name>/ for the orchestrator.
 *
 * Contract:
 * - Each directory whose name is a valid id (a-z, 0-9, '_', '-') is one plugin. Names starting
 *   with '.' or ending in '.disabled' are ignored (that is how a plugin is switched off).
 * - The entry is package.json `exports` (a string, or `"."` / its `import` / `default`
 *   condition), else its `main`, else `index.mjs`, else `index.js`; it must stay inside the
 *   plugin directory. It is loaded with `import()`, so ESM and CommonJS both work.
 * - The hooks come from the default export when it is an object, otherwise from the named
 *   exports: optional `name` (a non-empty string; defaults to the directory name) and at least
 *   one of `transformIncoming(text, ctx)` / `transformOutgoing(text, ctx)`.
 * - Plugins are returned sorted by directory name. One that fails to load, has a bad shape or
 *   takes longer than `timeoutMs` to import is skipped with a warning naming its path and the
 *   reason; loading never throws.
 * - Every load re-evaluates the entry file (a fresh URL), so an in-process restart picks up an
 *   edited entry. Modules the entry imports stay cached until the process exits.
 */
import { existsSync, readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { constants, Script } from 'node:vm';
import { errorMessage, isValidId } from '@tinyagi/core';
import type { OrchestratorPlugin, PluginContext } from '@tinyagi/teams';
import type { Logger } from './logger.ts';

export const PLUGIN_IMPORT_TIMEOUT_MS = 10_000;
const ENTRY_FILES = ['index.mjs', 'index.js'] as const;
const HOOKS = ['transformIncoming', 'transformOutgoing'] as const;

export interface LoadedPlugin {
  /** The directory name. */
  id: string;
  dir: string;
  entry: string;
  plugin: OrchestratorPlugin;
}

export interface LoadPluginsOptions {
  timeoutMs?: number;
}

class PluginError extends Error {}

let loads = 0;

export async function loadPlugins(pluginsDir: string, logger: Logger, options: LoadPluginsOptions = {}): Promise<LoadedPlugin[]> {
  let entries: Dirent[];
  try {
    entries = readdirSync(pluginsDir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn(`plugins not loaded: cannot read ${pluginsDir}: ${errorMessage(err)}`);
    return [];
  }
  const loadId = ++loads;
  const loaded: LoadedPlugin[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const dir = join(pluginsDir, entry.name);
    if (entry.name.startsWith('.')) continue;
    if (!isDirectory(entry, dir)) {
      logger.info(`ignored ${dir}: a plugin is a directory`);
      continue;
    }
    if (entry.name.endsWith('.disabled')) {
      logger.info(`plugin ${entry.name.slice(0, -'.disabled'.length)} is disabled (${dir})`);
      continue;
    }
    if (!isValidId(entry.name)) {
      logger.warn(`skipped plugin ${dir}: the directory name must be 1-64 characters a-z, 0-9, "_" or "-", starting with a letter or digit`);
      continue;
    }
    try {
      const file = entryFile(dir);
      const mod = await importWithTimeout(pathToFileURL(file).href + `?load=${loadId}`, options.timeoutMs ?? PLUGIN_IMPORT_TIMEOUT_MS);
      loaded.push({ id: entry.name, dir, entry: file, plugin: pluginFromModule(mod, entry.name) });
    } catch (err) {
      const reason = err instanceof PluginError ? err.message : `failed to load: ${errorMessage(err)}`;
      logger.warn(`skipped plugin ${dir}: ${reason}`);
    }
  }
  return loaded;
}

function isDirectory(entry: Dirent, path: string): boolean {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The file to import, from package.json or the index.mjs / index.js convention. */
function entryFile(dir: string): string {
  const manifest = join(dir, 'package.json');
  let declared: string | undefined;
  if (existsSync(manifest)) {
    let pkg: unknown;
    try {
      pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    } catch (err) {
      throw new PluginError(`package.json is not valid JSON: ${errorMessage(err)}`);
    }
    if (isRecord(pkg)) declared = exportsTarget(pkg['exports']) ?? (typeof pkg['main'] === 'string' ? pkg['main'] : undefined);
  }
  if (declared !== undefined) {
    const file = resolve(dir, declared);
    const inside = relative(dir, file);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) throw new PluginError(`package.json points outside the plugin directory (${declared})`);
    if (!existsSync(file)) throw new PluginError(`the entry ${declared} named in package.json does not exist`);
    return file;
  }
  for (const name of ENTRY_FILES) {
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  throw new PluginError('no entry file: add index.js or index.mjs, or set "main" in package.json');
}

function exportsTarget(exports: unknown): string | undefined {
  if (typeof exports === 'string') return exports;
  if (!isRecord(exports)) return undefined;
  const root = '.' in exports ? exports['.'] : exports;
  if (typeof root === 'string') return root;
  if (!isRecord(root)) return undefined;
  for (const condition of ['import', 'default']) {
    const target = root[condition];
    if (typeof target === 'string') return target;
  }
  return undefined;
}

/**
 * `import()`, also in the daemon's start-up snapshot: code deserialized from a snapshot has no
 * dynamic-import callback (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), so there the import goes
 * through a vm script that uses the main context's module loader (same resolution, ESM and
 * CommonJS, top-level await; node prints one ExperimentalWarning for it).
 */
export async function importModule(url: string): Promise<unknown> {
  try {
    return await import(url);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING') throw err;
    const load = new Script('(url) => import(url)', { importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER }).runInThisContext() as (url: string) => Promise<unknown>;
    return await load(url);
  }
}

async function importWithTimeout(url: string, timeoutMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PluginError(`importing it took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([importModule(url), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The plugin object, or a PluginError saying what is wrong with the module's exports. */
function pluginFromModule(mod: unknown, id: string): OrchestratorPlugin {
  const ns = mod as Record<string, unknown>;
  const source = isRecord(ns['default']) ? ns['default'] : ns;
  const name = source['name'];
  if (name !== undefined && (typeof name !== 'string' || name.trim() === '')) throw new PluginError('"name" must be a non-empty string');
  for (const hook of HOOKS) {
    if (source[hook] !== undefined && typeof source[hook] !== 'function') throw new PluginError(`"${hook}" must be a function`);
  }
  if (HOOKS.every((hook) => source[hook] === undefined)) {
    throw new PluginError('exports neither transformIncoming nor transformOutgoing (as named exports or on the default export object)');
  }
  const plugin: OrchestratorPlugin = { name: typeof name === 'string' ? name : id };
  // Called as methods of the exported object, so plugins may use `this`.
  const call = (hook: (typeof HOOKS)[number]) => (text: string, ctx: PluginContext) => (source[hook] as (t: string, c: PluginContext) => string | Promise<string>).call(source, text, ctx);
  if (source['transformIncoming'] !== undefined) plugin.transformIncoming = call('transformIncoming');
  if (source['transformOutgoing'] !== undefined) plugin.transformOutgoing = call('transformOutgoing');
  return plugin;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

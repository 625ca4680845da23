/**
 * Runtime names in settings.json (docs/kinds.md, "Runtimes"). Runtimes are named by what runs:
 * `claude-code`, `codex`, `opencode`, `anthropic-api`, `openai-api`, `mock` and any a plugin
 * registers. Before 2026-11 the names said whose model it was, and meant different runtimes in
 * different keys: an agent's `provider: "anthropic"` ran the Claude Code CLI, a custom provider's
 * `harness: "anthropic"` the HTTP messages API. So the old names are mapped per key here, not as
 * registry aliases. A custom provider's key was renamed too: `custom_providers.<id>.runtime` was
 * `harness` (the glossary's retired words; this file is where the old key is read).
 *
 * Old names and the old key load forever (a reference settings.json loads unchanged); every read
 * goes through `providerRuntime` / `customProviderRuntime`, so the daemon, the API and the CLI
 * show the new names. The file itself is rewritten only by a write (`migrateRuntimeNames`,
 * applied to every write in write.ts), never on read, and a broken file is never written over;
 * `oldRuntimeNames` is doctor's finding until then. A merge-patch that still says `harness`
 * sets `runtime` (`renameOldKeysInPatch`).
 */
import { isPlainObject, type JsonObject } from './object-path.ts';
import { runtimeKinds } from '../kinds/runtimes/index.ts';

/** The runtime of an agent that names none and has no `models.provider`. */
export const DEFAULT_AGENT_RUNTIME = 'claude-code';

/** Pre-2026-11 names, per key. */
export const OLD_RUNTIME_NAMES = {
  /** `agents.<id>.provider` and `models.provider` (the reference's values). */
  provider: { anthropic: 'claude-code', openai: 'codex' } as Readonly<Record<string, string>>,
  /** `custom_providers.<id>.runtime` (under its old key too). */
  custom: { claude: 'claude-code', anthropic: 'anthropic-api', openai: 'openai-api' } as Readonly<Record<string, string>>,
};

/** The key of a custom provider's runtime, and its name before the rename (read forever, renamed by the next write). */
export const CUSTOM_RUNTIME_KEY = 'runtime';
const OLD_CUSTOM_RUNTIME_KEY = 'harness';

const renamed = (table: Readonly<Record<string, string>>, value: string): string | undefined => (Object.hasOwn(table, value) ? table[value] : undefined);

/**
 * An agent's `provider` (or `models.provider`) as it runs: the runtime's name, or `custom:<id>`
 * unchanged. An unknown name is returned as it is (validation reports it).
 */
export function providerRuntime(value: string): string {
  if (value.startsWith('custom:')) return value;
  return renamed(OLD_RUNTIME_NAMES.provider, value) ?? runtimeKinds.canonicalName(value) ?? value;
}

/** A runtime name written for a custom provider, as it runs (an old name mapped, an unknown one as it is). */
export function customRuntimeName(value: string): string {
  return renamed(OLD_RUNTIME_NAMES.custom, value) ?? runtimeKinds.canonicalName(value) ?? value;
}

/**
 * Where a custom provider names its runtime: `runtime`, else the old key; undefined when it
 * names none. `runtime` wins when both are there (a change written with the new key).
 */
export function customRuntimeEntry(custom: unknown): { key: string; value: unknown } | undefined {
  if (!isPlainObject(custom)) return undefined;
  for (const key of [CUSTOM_RUNTIME_KEY, OLD_CUSTOM_RUNTIME_KEY]) if (Object.hasOwn(custom, key) && custom[key] !== undefined) return { key, value: custom[key] };
  return undefined;
}

/** The runtime a custom provider runs on, named as it runs; undefined when it names none. */
export function customProviderRuntime(custom: unknown): string | undefined {
  const value = customRuntimeEntry(custom)?.value;
  return typeof value === 'string' ? customRuntimeName(value) : undefined;
}

/**
 * A custom provider as this version writes it, for the API's and the CLI's views: `runtime` in
 * the old key's place, named as it runs.
 */
export function customProviderWithRuntime<T extends object>(custom: T): T {
  const current = (migrateCustomProvider(custom as JsonObject) ?? custom) as T;
  const runtime = customProviderRuntime(custom);
  return runtime === undefined ? current : { ...current, [CUSTOM_RUNTIME_KEY]: runtime };
}

/** The provider an agent runs on, named as it runs: its own, else `models.provider`, else Claude Code. */
export function agentProvider(settings: { models?: { provider?: string | undefined } | undefined }, agent: { provider?: string | undefined }): string {
  return providerRuntime(agent.provider ?? settings.models?.provider ?? DEFAULT_AGENT_RUNTIME);
}

export interface OldRuntimeName {
  /** `agents.coder.provider`, `models.provider`, `custom_providers.local.harness`. */
  path: string;
  old: string;
  new: string;
  /** Where the next write puts it, when that is another key (`custom_providers.local.runtime`). */
  newPath?: string;
}

function oldName(value: unknown, table: Readonly<Record<string, string>>): string | undefined {
  return typeof value === 'string' ? renamed(table, value) : undefined;
}

/** Every value of `settings` that still uses a pre-2026-11 runtime name or key (doctor's finding). */
export function oldRuntimeNames(settings: unknown): OldRuntimeName[] {
  const out: OldRuntimeName[] = [];
  if (!isPlainObject(settings)) return out;
  const check = (path: string, value: unknown, table: Readonly<Record<string, string>>): void => {
    const next = oldName(value, table);
    if (next !== undefined) out.push({ path, old: value as string, new: next });
  };
  const models = settings['models'];
  if (isPlainObject(models)) check('models.provider', models['provider'], OLD_RUNTIME_NAMES.provider);
  for (const [id, agent] of entries(settings['agents'])) check(`agents.${id}.provider`, agent['provider'], OLD_RUNTIME_NAMES.provider);
  for (const [id, custom] of entries(settings['custom_providers'])) {
    if (!Object.hasOwn(custom, OLD_CUSTOM_RUNTIME_KEY)) {
      check(`custom_providers.${id}.${CUSTOM_RUNTIME_KEY}`, custom[CUSTOM_RUNTIME_KEY], OLD_RUNTIME_NAMES.custom);
      continue;
    }
    const old = custom[OLD_CUSTOM_RUNTIME_KEY];
    const next = customProviderRuntime(custom);
    out.push({
      path: `custom_providers.${id}.${OLD_CUSTOM_RUNTIME_KEY}`,
      old: typeof old === 'string' ? old : JSON.stringify(old),
      new: next ?? '',
      newPath: `custom_providers.${id}.${CUSTOM_RUNTIME_KEY}`,
    });
  }
  return out;
}

function entries(value: unknown): [string, JsonObject][] {
  return isPlainObject(value) ? Object.entries(value).filter((e): e is [string, JsonObject] => isPlainObject(e[1])) : [];
}

/**
 * `settings` with every pre-2026-11 runtime name replaced by the new one, and a custom provider's
 * old key by `runtime` in its place (the same object when there is none). Applied to every
 * write; keys and their order are kept.
 */
export function migrateRuntimeNames<T>(settings: T): T {
  if (oldRuntimeNames(settings).length === 0) return settings;
  const next = { ...(settings as JsonObject) };
  const models = next['models'];
  if (isPlainObject(models)) {
    const provider = oldName(models['provider'], OLD_RUNTIME_NAMES.provider);
    if (provider !== undefined) next['models'] = { ...models, provider };
  }
  next['agents'] = renameIn(next['agents'], (agent) => {
    const provider = oldName(agent['provider'], OLD_RUNTIME_NAMES.provider);
    return provider === undefined ? undefined : { ...agent, provider };
  });
  next['custom_providers'] = renameIn(next['custom_providers'], migrateCustomProvider);
  for (const key of ['agents', 'custom_providers']) if (next[key] === undefined && !(key in (settings as JsonObject))) delete next[key];
  return next as T;
}

/** A custom provider with `runtime` for its old key, in the old key's place, and the runtime's new name; undefined when unchanged. */
function migrateCustomProvider(custom: JsonObject): JsonObject | undefined {
  const hasNewKey = Object.hasOwn(custom, CUSTOM_RUNTIME_KEY);
  const value = hasNewKey ? custom[CUSTOM_RUNTIME_KEY] : custom[OLD_CUSTOM_RUNTIME_KEY];
  const name = oldName(value, OLD_RUNTIME_NAMES.custom) ?? value;
  if (!Object.hasOwn(custom, OLD_CUSTOM_RUNTIME_KEY) && name === value) return undefined;
  const out: JsonObject = {};
  for (const [key, entry] of Object.entries(custom)) {
    if (key === OLD_CUSTOM_RUNTIME_KEY) {
      if (!hasNewKey) out[CUSTOM_RUNTIME_KEY] = name;
    } else out[key] = key === CUSTOM_RUNTIME_KEY ? name : entry;
  }
  return out;
}

function renameIn(section: unknown, rename: (entry: JsonObject) => JsonObject | undefined): unknown {
  if (!isPlainObject(section)) return section;
  let changed = false;
  const out: JsonObject = {};
  for (const [id, entry] of Object.entries(section)) {
    const next = isPlainObject(entry) ? rename(entry) : undefined;
    out[id] = next ?? entry;
    if (next !== undefined) changed = true;
  }
  return changed ? out : section;
}

/**
 * A merge-patch of settings.json (PATCH /api/settings, the CLI's editor) with a custom provider's
 * old key written as `runtime`: `{ harness: "codex" }` sets `runtime` and removes the old key
 * (`null` removes both), so the patch means the same on a file written before or after the
 * rename. The same object when the patch has none.
 */
export function renameOldKeysInPatch<T>(patch: T): T {
  if (!isPlainObject(patch) || !isPlainObject(patch['custom_providers'])) return patch;
  let changed = false;
  const customs: JsonObject = {};
  for (const [id, entry] of Object.entries(patch['custom_providers'])) {
    if (!isPlainObject(entry) || !Object.hasOwn(entry, OLD_CUSTOM_RUNTIME_KEY)) {
      customs[id] = entry;
      continue;
    }
    const { [OLD_CUSTOM_RUNTIME_KEY]: old, ...rest } = entry;
    customs[id] = { ...rest, [CUSTOM_RUNTIME_KEY]: Object.hasOwn(entry, CUSTOM_RUNTIME_KEY) ? entry[CUSTOM_RUNTIME_KEY] : old, [OLD_CUSTOM_RUNTIME_KEY]: null };
    changed = true;
  }
  return changed ? ({ ...patch, custom_providers: customs } as T) : patch;
}

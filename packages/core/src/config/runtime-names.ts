/**
 * Runtime names in settings.json (docs/kinds.md, "Runtimes"). Runtimes are named by what runs:
 * `claude-code`, `codex`, `opencode`, `anthropic-api`, `openai-api`, `mock` and any a plugin
 * registers. Before 2026-11 the names said whose model it was, and meant different runtimes in
 * different keys: an agent's `provider: "anthropic"` ran the Claude Code CLI, a custom provider's
 * `harness: "anthropic"` the HTTP messages API. So the old names are mapped per key here, not as
 * registry aliases.
 *
 * Old names load forever (a reference settings.json loads unchanged); every read goes through
 * `providerRuntime` / `harnessRuntime`, so the daemon, the API and the CLI show the new names.
 * The file itself is rewritten only by a write (`migrateRuntimeNames`, applied to every write in
 * write.ts), never on read, and a broken file is never written over; `oldRuntimeNames` is
 * doctor's finding until then.
 */
import { isPlainObject, type JsonObject } from './object-path.ts';
import { runtimeKinds } from '../invoker/runtimes/index.ts';

/** The runtime of an agent that names none and has no `models.provider`. */
export const DEFAULT_AGENT_RUNTIME = 'claude-code';

/** Pre-2026-11 names, per key. */
export const OLD_RUNTIME_NAMES = {
  /** `agents.<id>.provider` and `models.provider` (the reference's values). */
  provider: { anthropic: 'claude-code', openai: 'codex' } as Readonly<Record<string, string>>,
  /** `custom_providers.<id>.harness`. */
  harness: { claude: 'claude-code', anthropic: 'anthropic-api', openai: 'openai-api' } as Readonly<Record<string, string>>,
};

const renamed = (table: Readonly<Record<string, string>>, value: string): string | undefined => (Object.hasOwn(table, value) ? table[value] : undefined);

/**
 * An agent's `provider` (or `models.provider`) as it runs: the runtime's name, or `custom:<id>`
 * unchanged. An unknown name is returned as it is (validation reports it).
 */
export function providerRuntime(value: string): string {
  if (value.startsWith('custom:')) return value;
  return renamed(OLD_RUNTIME_NAMES.provider, value) ?? runtimeKinds.canonicalName(value) ?? value;
}

/** A custom provider's `harness` as it runs: the runtime's name (an unknown name as it is). */
export function harnessRuntime(value: string): string {
  return renamed(OLD_RUNTIME_NAMES.harness, value) ?? runtimeKinds.canonicalName(value) ?? value;
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
}

function oldName(value: unknown, table: Readonly<Record<string, string>>): string | undefined {
  return typeof value === 'string' ? renamed(table, value) : undefined;
}

/** Every value of `settings` that still uses a pre-2026-11 runtime name (doctor's finding). */
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
  for (const [id, custom] of entries(settings['custom_providers'])) check(`custom_providers.${id}.harness`, custom['harness'], OLD_RUNTIME_NAMES.harness);
  return out;
}

function entries(value: unknown): [string, JsonObject][] {
  return isPlainObject(value) ? Object.entries(value).filter((e): e is [string, JsonObject] => isPlainObject(e[1])) : [];
}

/**
 * `settings` with every pre-2026-11 runtime name replaced by the new one (the same object when
 * there is none). Applied to every write; keys and their order are kept.
 */
export function migrateRuntimeNames<T>(settings: T): T {
  if (oldRuntimeNames(settings).length === 0) return settings;
  const next = { ...(settings as JsonObject) };
  const models = next['models'];
  if (isPlainObject(models)) {
    const provider = oldName(models['provider'], OLD_RUNTIME_NAMES.provider);
    if (provider !== undefined) next['models'] = { ...models, provider };
  }
  next['agents'] = renameIn(next['agents'], 'provider', OLD_RUNTIME_NAMES.provider);
  next['custom_providers'] = renameIn(next['custom_providers'], 'harness', OLD_RUNTIME_NAMES.harness);
  for (const key of ['agents', 'custom_providers']) if (next[key] === undefined && !(key in (settings as JsonObject))) delete next[key];
  return next as T;
}

function renameIn(section: unknown, key: string, table: Readonly<Record<string, string>>): unknown {
  if (!isPlainObject(section)) return section;
  let changed = false;
  const out: JsonObject = {};
  for (const [id, entry] of Object.entries(section)) {
    const next = isPlainObject(entry) ? oldName(entry[key], table) : undefined;
    if (next === undefined) {
      out[id] = entry;
      continue;
    }
    out[id] = { ...(entry as JsonObject), [key]: next };
    changed = true;
  }
  return changed ? out : section;
}

/**
 * Environment overrides: TINYAGI_API_PORT, TINYAGI_API_HOST, TINYAGI_DATABASE_URL (storage.url),
 * and the variables each registered channel kind binds to its block (`TELEGRAM_BOT_TOKEN` →
 * `channels.telegram.bot_token`, docs/kinds.md) replace the file's values in memory;
 * TINYAGI_API_TOKEN is returned on its own (it is not a settings key).
 *
 * Overrides are never persisted: writeSettings calls stripEnvOverrides, which puts back what the
 * file had wherever the value to write is the environment's value. That also covers a settings
 * object that went through applyEnvOverrides, a merge and a masked round trip through the API.
 */
import { isPostgresUrl } from '@tinyagi/client/contract';
import { TinyError } from '../errors.ts';
import { channelKinds } from '../kinds/registry.ts';
import { getPath, isPlainObject, setOwn, type JsonObject } from './object-path.ts';
import type { Env } from './paths.ts';
import type { Settings } from './schema.ts';
import { maskUrlSecrets } from './secrets.ts';

export interface EnvOverride {
  variable: string;
  path: readonly [string, ...string[]];
  parse: (raw: string) => unknown;
}

function parsePort(raw: string): number {
  const port = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TinyError('CONFIG_INVALID', `TINYAGI_API_PORT=${JSON.stringify(raw)} is not a port number.`, {
      hint: 'Set TINYAGI_API_PORT to an integer from 1 to 65535 (0 picks a free port), or unset it to use server.port.',
      details: { variable: 'TINYAGI_API_PORT', value: raw },
    });
  }
  return port;
}

/** A listen address: a host name or an IP literal, no scheme, port or path. */
function parseHost(raw: string): string {
  const host = raw.trim();
  if (!/^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F:.]*|[A-Za-z0-9.-]+)$/.test(host)) {
    throw new TinyError('CONFIG_INVALID', `TINYAGI_API_HOST=${JSON.stringify(raw)} is not a listen address.`, {
      hint: 'Set TINYAGI_API_HOST to a host name or IP address such as 127.0.0.1 or 0.0.0.0 (no scheme or port), or unset it to use server.host.',
      details: { variable: 'TINYAGI_API_HOST', value: raw },
    });
  }
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** A value that is no URL is not echoed: where its password is cannot be known, so it cannot be masked. */
function parseDatabaseUrl(raw: string): string {
  const url = raw.trim();
  if (!isPostgresUrl(url)) {
    const shown = URL.canParse(url) ? `=${JSON.stringify(maskUrlSecrets(url))}` : ' (not shown: it may hold a password)';
    throw new TinyError('CONFIG_INVALID', `TINYAGI_DATABASE_URL${shown} is not a PostgreSQL URL (postgres://… or postgresql://…).`, {
      hint: 'Set TINYAGI_DATABASE_URL to postgres://user:password@host:5432/database, or unset it to use storage.url (without either, the built-in SQLite database).',
      details: { variable: 'TINYAGI_DATABASE_URL' },
    });
  }
  return url;
}

export const ENV_OVERRIDES: readonly EnvOverride[] = [
  { variable: 'TINYAGI_API_PORT', path: ['server', 'port'], parse: parsePort },
  { variable: 'TINYAGI_API_HOST', path: ['server', 'host'], parse: parseHost },
  { variable: 'TINYAGI_DATABASE_URL', path: ['storage', 'url'], parse: parseDatabaseUrl },
];

/** Every override: ENV_OVERRIDES, then the registered channel kinds' bindings (`channels.<name>.<path>`). */
export function envOverrides(): EnvOverride[] {
  const channels = channelKinds
    .list()
    .flatMap((kind) => kind.env.map((binding): EnvOverride => ({ variable: binding.variable, path: ['channels', kind.name, ...binding.path.split('.')], parse: (raw) => raw })));
  return [...ENV_OVERRIDES, ...channels];
}

export interface EnvOverrideResult {
  /** A copy of the settings with the overrides applied (the input is not modified). */
  settings: Settings;
  /** TINYAGI_API_TOKEN, when set: the API token to use instead of the api-token file. */
  apiToken?: string;
  /** Names of the variables that were applied. */
  applied: string[];
}

function active(env: Env): { override: EnvOverride; value: unknown }[] {
  return envOverrides().flatMap((override) => {
    const raw = env[override.variable];
    return raw === undefined || raw === '' ? [] : [{ override, value: override.parse(raw) }];
  });
}

function setDeep(target: JsonObject, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    const copy = isPlainObject(next) ? { ...next } : {};
    setOwn(node, key, copy);
    node = copy;
  }
  setOwn(node, path[path.length - 1] as string, value);
}

export function applyEnvOverrides(settings: Settings, env: Env = process.env): EnvOverrideResult {
  const out: JsonObject = { ...settings };
  const applied: string[] = [];
  for (const { override, value } of active(env)) {
    setDeep(out, override.path, value);
    applied.push(override.variable);
  }
  const result: EnvOverrideResult = { settings: out as Settings, applied };
  const apiToken = env['TINYAGI_API_TOKEN'];
  if (apiToken !== undefined && apiToken !== '') result.apiToken = apiToken;
  return result;
}

/**
 * `next` with every environment-supplied value replaced by what the file has at that path (or
 * removed, with parents that exist only because of it). Returns `next` itself when nothing
 * matches; `readOnDisk` (the file's current content) is only called when something does.
 */
export function stripEnvOverrides(next: Settings, readOnDisk: () => unknown, env: Env = process.env): Settings {
  const matches = active(env).filter(({ override, value }) => getPath(next, override.path) === value);
  if (matches.length === 0) return next;
  const onDisk = readOnDisk();
  const out = structuredClone(next) as JsonObject;
  for (const { override } of matches) {
    const stored = getPath(onDisk, override.path);
    if (stored !== undefined) {
      setDeep(out, override.path, stored);
      continue;
    }
    // Remove the key, then any parent that is now empty and does not exist on disk.
    for (let depth = override.path.length; depth > 0; depth--) {
      const parentPath = override.path.slice(0, depth - 1);
      const parent = parentPath.length === 0 ? out : getPath(out, parentPath);
      const key = override.path[depth - 1] as string;
      if (!isPlainObject(parent)) break;
      const child = parent[key];
      const isLeaf = depth === override.path.length;
      if (!isLeaf && !(isPlainObject(child) && Object.keys(child).length === 0 && getPath(onDisk, override.path.slice(0, depth)) === undefined)) break;
      delete parent[key];
    }
  }
  return out as Settings;
}

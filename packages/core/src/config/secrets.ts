/**
 * Secrets in settings: which keys hold them, masking for anything that leaves the process
 * (API responses, logs, UI), and undoing masks that a client sends back.
 *
 * A key is secret when it is one of secretPaths() (SECRET_PATHS and the paths each registered
 * channel kind declares secret, `channels.<name>.<path>`) or its name ends in api_key, token,
 * secret or password (any depth, camelCase too), so plugin and future keys are masked without a
 * list here.
 * A URL's password (`postgres://user:secret@host/db`, `storage.url`) and its secret query
 * parameters (`?password=`) are masked in any string value, whatever its key.
 */
import { channelKinds } from '../kinds/registry.ts';
import { formatSettingsPath, getPath, isPlainObject, setOwn, type JsonObject } from './object-path.ts';

/** The reference's secret keys outside the channels; `*` is any custom provider id. */
export const SECRET_PATHS = ['models.anthropic.api_key', 'models.anthropic.oauth_token', 'models.openai.api_key', 'custom_providers.*.api_key'] as const;

/** The registered channel kinds' secrets, `channels.<name>.<path>`. */
function channelSecretPaths(): string[] {
  return channelKinds.list().flatMap((kind) => kind.secrets.map((path) => `channels.${kind.name}.${path}`));
}

/** Every known secret path: SECRET_PATHS and the registered channel kinds' (`channels.telegram.bot_token`). */
export function secretPaths(): string[] {
  // The channels' go between the models' and the custom providers', where the reference lists them.
  const models = SECRET_PATHS.filter((path) => path.startsWith('models.'));
  return [...models, ...channelSecretPaths(), ...SECRET_PATHS.filter((path) => !path.startsWith('models.'))];
}

/** True for the key at `path` (its last element): secret by name, or declared secret by its channel kind. */
function isSecretAt(path: readonly (string | number)[]): boolean {
  const key = path[path.length - 1];
  if (typeof key !== 'string') return false;
  if (isSecretKey(key)) return true;
  // Each OTLP export header (telemetry.headers.<name>) carries a collector's API key.
  if (path.length === 3 && path[0] === 'telemetry' && path[1] === 'headers') return true;
  if (path[0] !== 'channels' || path.length < 3 || typeof path[1] !== 'string') return false;
  const kind = channelKinds.get(path[1]);
  return kind?.secrets.includes(path.slice(2).join('.')) === true;
}

export const MASK_CHAR = '…';
/**
 * Shorter values are masked as a bare "…": the 7 characters shown would be a large part of a
 * password or a short token. From 24 characters on, at least 17 stay hidden; real API keys and
 * bot tokens are 40 or more.
 */
export const MIN_REVEAL_LENGTH = 24;

const SECRET_KEY = /(?:^|_)(?:api_?key|token|secret|password|passwd)$/;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase());
}

function isMask(value: string): boolean {
  return value === MASK_CHAR || (value.length === 8 && value[3] === MASK_CHAR);
}

/** True for the output of maskSecret (never a plausible real secret). */
export function isMaskedValue(value: unknown): value is string {
  return typeof value === 'string' && isMask(value);
}

/**
 * `sk-ant-api03-…` -> `sk-…abcd`; values under MIN_REVEAL_LENGTH -> `…`; empty stays empty (not
 * set). A mask stays as it is, so masking settings that were already masked shows the same.
 */
export function maskSecret(value: string): string {
  if (value === '' || isMask(value)) return value;
  if (value.length < MIN_REVEAL_LENGTH) return MASK_CHAR;
  return `${value.slice(0, 3)}${MASK_CHAR}${value.slice(-4)}`;
}

const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is;

function isSecretParam(name: string): boolean {
  return isSecretKey(name) || /password$/i.test(name);
}

/** Rewrites a URL's password and secret query parameter values (`edit` gets each); other strings unchanged. */
function editUrlSecrets(value: string, edit: (secret: string) => string): string {
  const parts = URL_PARTS.exec(value);
  if (!parts) return value;
  const [, scheme, authority = '', rest = ''] = parts;
  const at = authority.lastIndexOf('@');
  const colon = at === -1 ? -1 : authority.indexOf(':');
  const host = colon !== -1 && colon < at ? `${authority.slice(0, colon + 1)}${edit(authority.slice(colon + 1, at))}${authority.slice(at)}` : authority;
  const tail = rest.replace(/([?&])([^=&#]*)=([^&#]*)/g, (all, sep: string, name: string, v: string) => (isSecretParam(name) ? `${sep}${name}=${edit(v)}` : all));
  return `${scheme}${host}${tail}`;
}

/** `postgres://tiny:s3cret@db:5432/tiny` -> `postgres://tiny:…@db:5432/tiny` (secret query parameters too); any other string unchanged. */
export function maskUrlSecrets(value: string): string {
  return editUrlSecrets(value, (secret) => (secret === '' ? secret : MASK_CHAR));
}

/** Every URL inside free text (a log line, an error message) with its password and secret query parameters masked. */
export function maskUrlSecretsInText(text: string): string {
  // The scheme starts where a run of scheme characters starts, so a long run is read once, not from each of its characters.
  return text.replace(/(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:\/\/[^\s"'`]+/gi, (url) => maskUrlSecrets(url));
}

/** True for a URL whose password or secret query parameter is a mask (what maskUrlSecrets shows). */
export function hasMaskedUrlSecret(value: string): boolean {
  let masked = false;
  editUrlSecrets(value, (secret) => {
    if (secret === MASK_CHAR) masked = true;
    return secret;
  });
  return masked;
}

function maskAll(value: unknown): unknown {
  if (typeof value === 'string') return maskSecret(value);
  if (Array.isArray(value)) return value.map(maskAll);
  if (isPlainObject(value)) return mapObject(value, (_key, v) => maskAll(v));
  return value === null || value === undefined ? value : MASK_CHAR;
}

function mapObject(value: JsonObject, fn: (key: string, v: unknown) => unknown): JsonObject {
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) setOwn(out, key, fn(key, v));
  return out;
}

function maskDeep(value: unknown, path: (string | number)[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => maskDeep(v, [...path, i]));
  if (isPlainObject(value)) return mapObject(value, (key, v) => (isSecretAt([...path, key]) ? maskAll(v) : maskDeep(v, [...path, key])));
  return typeof value === 'string' ? maskUrlSecrets(value) : value;
}

/** A copy with every secret masked; safe to return from the API or to log. */
export function maskSettings<T>(settings: T): T {
  return maskDeep(settings, []) as T;
}

export interface SecretStatus {
  path: string;
  set: boolean;
}

function isSet(value: unknown): boolean {
  return typeof value === 'string' ? value !== '' : value !== undefined && value !== null;
}

/** Every known secret path (set or not) and every other secret key present, with whether it is set. */
export function secretStatus(settings: unknown): SecretStatus[] {
  const out: SecretStatus[] = [];
  const seen = new Set<string>();
  const add = (path: string, value: unknown): void => {
    if (seen.has(path)) return;
    seen.add(path);
    out.push({ path, set: isSet(value) });
  };
  for (const pattern of secretPaths()) {
    const segments = pattern.split('.');
    const star = segments.indexOf('*');
    if (star === -1) {
      add(formatSettingsPath(segments), getPath(settings, segments));
      continue;
    }
    const parent = getPath(settings, segments.slice(0, star));
    if (!isPlainObject(parent)) continue;
    for (const id of Object.keys(parent)) {
      const concrete = [...segments.slice(0, star), id, ...segments.slice(star + 1)];
      add(formatSettingsPath(concrete), getPath(settings, concrete));
    }
  }
  const walk = (value: unknown, path: (string | number)[]): void => {
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, [...path, i]);
    } else if (isPlainObject(value)) {
      for (const [key, v] of Object.entries(value)) {
        if (isSecretAt([...path, key])) add(formatSettingsPath([...path, key]), v);
        else walk(v, [...path, key]);
      }
    }
  };
  walk(settings, []);
  return out;
}

/** Paths of secret keys whose value is a mask. */
export function findMaskedSecrets(value: unknown): (string | number)[][] {
  const found: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]): void => {
    if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) walk(item, [...path, i]);
    } else if (isPlainObject(v)) {
      for (const [key, child] of Object.entries(v)) {
        if (isSecretAt([...path, key]) && isMaskedValue(child)) found.push([...path, key]);
        else walk(child, [...path, key]);
      }
    } else if (typeof v === 'string' && hasMaskedUrlSecret(v)) {
      found.push(path);
    }
  };
  walk(value, []);
  return found;
}

/**
 * Undoes masks in a client's PATCH/PUT body: a secret key that carries a masked value gets the
 * stored value back (or is dropped when nothing is stored), so echoing what GET returned never
 * overwrites a secret with "sk-…abcd". A URL sent back exactly as masked gets the stored URL
 * back, or is dropped when nothing is stored (its value came from TINYAGI_DATABASE_URL); one
 * edited around its masked password stays masked (and writing it is refused). Real new values
 * pass through.
 */
export function stripUnchangedMasks<T>(patch: T, current: unknown): T {
  const walk = (value: unknown, stored: unknown, path: (string | number)[]): unknown => {
    if (Array.isArray(value)) return value.map((v, i) => walk(v, Array.isArray(stored) ? stored[i] : undefined, [...path, i]));
    if (typeof value === 'string' && typeof stored === 'string' && hasMaskedUrlSecret(value) && maskUrlSecrets(stored) === value) return stored;
    if (!isPlainObject(value)) return value;
    const storedObject = isPlainObject(stored) ? stored : {};
    const out: JsonObject = {};
    for (const [key, v] of Object.entries(value)) {
      const storedValue = Object.hasOwn(storedObject, key) ? storedObject[key] : undefined;
      if (isSecretAt([...path, key]) && isMaskedValue(v)) {
        if (storedValue !== undefined && storedValue !== null) setOwn(out, key, storedValue);
      } else if (typeof v === 'string' && (storedValue === undefined || storedValue === null) && hasMaskedUrlSecret(v)) {
        // Nothing stored to restore: left out, as a masked secret is.
      } else {
        setOwn(out, key, walk(v, storedValue, [...path, key]));
      }
    }
    return out;
  };
  return walk(patch, current, []) as T;
}

/**
 * The daemon's secrets no agent may find (the self-test looks for each inside): every string
 * under a secret key of the settings (api_key, token, …), the environment's variables named like
 * one (ANTHROPIC_API_KEY, …), and the extra ones given (the API token). Short values are left out.
 */
export function daemonSecrets(settings: unknown, env: Readonly<Record<string, string | undefined>>, extra: readonly string[] = []): string[] {
  const out = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === 'string' && value.length >= 8) out.add(value);
  };
  const walk = (value: unknown, key: string | undefined, depth: number): void => {
    if (depth > 12) return;
    if (Array.isArray(value)) for (const item of value) walk(item, key, depth + 1);
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k, depth + 1);
    else if (key !== undefined && isSecretKey(key)) add(value);
  };
  walk(settings, undefined, 0);
  for (const [name, value] of Object.entries(env)) if (isSecretKey(name)) add(value);
  for (const value of extra) add(value);
  return [...out];
}

/**
 * The settings form, generated from the contract's SettingsFileSchema: every leaf of the schema
 * (a string, number, boolean, enum or list of strings) becomes a field under its section, with
 * the settings path as its key. The Channels section adds each registered channel kind's block
 * (`channels.<name>`), from the JSON Schema `GET /api/kinds` gives for it. Maps of entities (agents, teams, custom providers, channel
 * defaults) have their own pages and are edited there or in the raw JSON view. The schema is
 * passed in (the page loads the contract lazily, lib/contract.ts), so this module imports no zod.
 */
import { getPath, setPath, type Json } from './object-path';

export type LeafKind = 'text' | 'number' | 'boolean' | 'enum' | 'list';
export interface Leaf {
  path: string;
  label: string;
  kind: LeafKind;
  options?: string[];
}
export interface Section {
  key: string;
  title: string;
  leaves: Leaf[];
}

/** A zod schema, read through its public `_zod.def` (the page does not depend on zod itself). */
type Schema = unknown;
type Def = { type: string; innerType?: Schema; shape?: Record<string, Schema>; element?: Schema; entries?: Record<string, string>; options?: Schema[] };
const defOf = (schema: Schema): Def => (schema as { _zod: { def: Def } })._zod.def;

function unwrap(schema: Schema): Schema {
  let s = schema;
  for (let def = defOf(s); (def.type === 'optional' || def.type === 'nullable' || def.type === 'default') && def.innerType; def = defOf(s)) s = def.innerType;
  return s;
}

/** Entity maps not edited as fields: the page that edits them, or null (raw JSON and the CLI only). */
export const MANAGED_ELSEWHERE: Record<string, string | null> = { agents: '/agents', teams: '/teams', custom_providers: null };

const human = (key: string) => key.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

function leavesOf(schema: Schema, path: string[]): Leaf[] {
  const s = unwrap(schema);
  const def = defOf(s);
  const at = path.join('.');
  const label = path.length > 1 ? path.slice(1).map(human).join(' › ') : human(path[0] ?? '');
  switch (def.type) {
    case 'object':
      return Object.entries(def.shape ?? {}).flatMap(([key, child]) => leavesOf(child, [...path, key]));
    case 'string':
    case 'template_literal':
      return [{ path: at, label, kind: 'text' }];
    case 'number':
      return [{ path: at, label, kind: 'number' }];
    case 'boolean':
      return [{ path: at, label, kind: 'boolean' }];
    case 'enum':
      return [{ path: at, label, kind: 'enum', options: Object.values(def.entries ?? {}) }];
    case 'union': {
      // provider names: the built-in ones as suggestions, anything `custom:<id>` typed in.
      const options = (def.options ?? []).flatMap((o) => (defOf(unwrap(o)).type === 'enum' ? Object.values(defOf(unwrap(o)).entries ?? {}) : []));
      return [{ path: at, label, kind: 'text', options }];
    }
    case 'array':
      return def.element && defOf(unwrap(def.element)).type === 'string' ? [{ path: at, label, kind: 'list' }] : [];
    default:
      return [];
  }
}

/** What the form needs of a channel kind (`GET /api/kinds`): its name, title and the JSON Schema of its block. */
export interface ChannelKindForm {
  name: string;
  title: string;
  settings: Record<string, unknown>;
}

type JsonSchema = { type?: unknown; enum?: unknown; items?: JsonSchema; properties?: Record<string, JsonSchema>; anyOf?: JsonSchema[] };

/** The fields of a channel kind's block: each top-level property of a type the form edits. */
export function channelLeaves(kind: ChannelKindForm): Leaf[] {
  const properties = (kind.settings as JsonSchema).properties ?? {};
  return Object.entries(properties).flatMap(([key, property]): Leaf[] => {
    const p = property.anyOf?.find((o) => o.type !== 'null') ?? property;
    const path = `channels.${kind.name}.${key}`;
    const label = `${kind.title} › ${human(key)}`;
    if (Array.isArray(p.enum)) return [{ path, label, kind: 'enum', options: p.enum.map(String) }];
    if (p.type === 'string') return [{ path, label, kind: 'text' }];
    if (p.type === 'number' || p.type === 'integer') return [{ path, label, kind: 'number' }];
    if (p.type === 'boolean') return [{ path, label, kind: 'boolean' }];
    if (p.type === 'array' && p.items?.type === 'string') return [{ path, label, kind: 'list' }];
    return [];
  });
}

/** The form's sections: one per top-level key of the settings schema (`SettingsFileSchema`), the channel kinds' blocks under Channels. */
export function sectionsOf(settingsSchema: Schema, channelKinds: readonly ChannelKindForm[] = []): Section[] {
  return Object.entries(defOf(settingsSchema).shape ?? {}).map(([key, schema]) => ({
    key,
    title: human(key),
    leaves: key in MANAGED_ELSEWHERE ? [] : [...leavesOf(schema, [key]), ...(key === 'channels' ? channelKinds.flatMap(channelLeaves) : [])],
  }));
}

/** How a value shows in its field. */
export function display(leaf: Leaf, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (leaf.kind === 'list') return Array.isArray(value) ? value.join(', ') : String(value);
  return String(value);
}

const NUMBER = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A field's text as the value to store; '' removes the key. Non-numbers stay text so the schema names the field. */
export function parseField(leaf: Leaf, text: string): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  if (leaf.kind === 'number') return NUMBER.test(t) ? Number(t) : t;
  if (leaf.kind === 'boolean') return t === 'true';
  if (leaf.kind === 'list')
    return t
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  return t;
}

/**
 * A JSON merge-patch (RFC 7396) turning `before` into `after`: changed values set, removed keys
 * null; arrays are replaced whole. Unchanged masked secrets are equal, so they are not sent.
 */
export function mergePatch(before: unknown, after: unknown): unknown {
  const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(before) || !isObject(after)) return after;
  const patch: Json = {};
  for (const key of Object.keys(before)) if (!Object.hasOwn(after, key)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) {
    if (!Object.hasOwn(before, key)) patch[key] = value;
    else if (JSON.stringify(before[key]) !== JSON.stringify(value)) patch[key] = isObject(before[key]) && isObject(value) ? mergePatch(before[key], value) : value;
  }
  return patch;
}

/** `base` with the form's edits applied (edited text parsed; null clears a secret). */
export function applyEdits(base: Json, edits: Record<string, string | null>, leaves: Map<string, Leaf>): Json {
  const out = structuredClone(base);
  for (const [path, text] of Object.entries(edits)) {
    const leaf = leaves.get(path) ?? { path, label: path, kind: 'text' as const };
    const value = text === null ? undefined : parseField(leaf, text);
    if (value === undefined) removePath(out, path);
    else setPath(out, path, value);
  }
  return out;
}

function removePath(object: Json, path: string): void {
  const keys = path.split('.');
  const parent = getPath(object, keys.slice(0, -1).join('.'));
  if (keys.length === 1) delete object[keys[0]!];
  else if (parent && typeof parent === 'object') delete (parent as Json)[keys.at(-1)!];
}

/**
 * The agent form's values (one string per field, as the inputs hold them) to and from an agent's
 * settings: what is sent, the merge-patch of an edit, and the schema's problems placed at the
 * field that shows them.
 */
import type { Agent } from '@tinyagi/client';
import type { FieldIssues } from '@/lib/field-issues';
import { getPath, setPath, type Json } from '@/lib/object-path';
import { FIELDS, type FieldSpec } from '@/components/agent-form-fields';

const NUMBER = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

export type Values = Record<string, string>;

function textOf(f: FieldSpec, v: unknown): string {
  if (v === undefined || v === null) return '';
  if (f.kind === 'rules') return JSON.stringify(v, null, 2);
  if (f.kind === 'lines') return Array.isArray(v) ? v.map(String).join('\n') : JSON.stringify(v);
  return String(v);
}

export function valuesOf(agent: Agent | null): Values {
  const values: Values = {};
  for (const f of FIELDS) values[f.path] = textOf(f, agent ? getPath(agent, f.path) : undefined);
  return values;
}

/** One field's value as settings; undefined: left out. A value of the wrong type goes as typed, so the schema names the field at fault. */
function settingOf(f: FieldSpec, raw: string): unknown {
  if (f.kind === 'textarea') return raw === '' ? undefined : raw;
  if (raw.trim() === '') return undefined;
  switch (f.kind) {
    case 'rules':
      return parseJson(raw) ?? raw;
    case 'lines':
      return raw
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '');
    case 'number':
      return NUMBER.test(raw.trim()) ? Number(raw) : raw;
    case 'bool':
      return raw === 'true';
    default:
      return raw.trim();
  }
}

/** The form's fields as an agent settings object (empty fields are left out: the daemon's defaults apply). */
export function configOf(values: Values): Json {
  const out: Json = {};
  for (const f of FIELDS) {
    const value = settingOf(f, values[f.path] ?? '');
    if (value !== undefined) setPath(out, f.path, value);
  }
  return out;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** `[0].tool` -> `rule 1, tool`; `[2]` -> `line 3`. */
function placeIn(f: FieldSpec, rest: string): string {
  const m = /^\[(\d+)\]\.?(.*)$/.exec(rest);
  if (!m) return rest;
  const n = Number(m[1]) + 1;
  return f.kind === 'rules' ? `rule ${n}${m[2] ? `, ${m[2]}` : ''}` : `line ${n}`;
}

/** Issues inside a list field's value (`permissions.rules[0].action`) are shown at that field, saying where. */
export function foldIntoListFields(issues: FieldIssues): FieldIssues {
  const out: FieldIssues = {};
  for (const [path, messages] of Object.entries(issues)) {
    const field = FIELDS.find((f) => (f.kind === 'rules' || f.kind === 'lines') && path !== f.path && (path.startsWith(`${f.path}[`) || path.startsWith(`${f.path}.`)));
    const at = field ? field.path : path;
    const texts = field ? messages.map((m) => `${placeIn(field, path.slice(field.path.length))}: ${m}`) : messages;
    out[at] = [...(out[at] ?? []), ...texts];
  }
  return out;
}

/** A merge-patch of what changed: new values set, cleared fields deleted (null); nothing else. */
export function patchOf(before: Json, after: Json): Json {
  const patch: Json = {};
  for (const f of FIELDS) {
    const a = getPath(before, f.path);
    const b = getPath(after, f.path);
    if (JSON.stringify(a) !== JSON.stringify(b)) setPath(patch, f.path, b === undefined ? null : b);
  }
  return patch;
}

/**
 * Keys the schema does not know. settings.json keeps them (objects are loose, so a file from a
 * newer TinyAGI or from the reference never loses data), but a key typed into a command or an
 * API request is far more likely a typo (`replly`, `timeout`) that would be stored and silently
 * ignored: those inputs are checked here and refused, with the nearest known key.
 */
import type { z } from 'zod';
import { formatSettingsPath, isPlainObject } from './object-path.ts';
import { agentSchemaWithRuntimeBlocks } from './runtime-blocks.ts';
import { protoKeyIssues, toSettingsIssues, type SettingsIssue } from './validate.ts';

type AnySchema = z.core.$ZodType;

/** The schema inside optional/nullable wrappers. */
function unwrap(schema: AnySchema): AnySchema {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: AnySchema };
    if ((def.type === 'optional' || def.type === 'nullable' || def.type === 'default') && def.innerType) current = def.innerType;
    else return current;
  }
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

/** The known key closest to `key` (case, `-`/`_` and small typos forgiven), if any is close. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const norm = (k: string): string =>
    k
      .toLowerCase()
      .replace(/[-\s]/g, '_')
      .replace(/([a-z])([A-Z])/g, '$1_$2');
  const wanted = norm(key);
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const c = norm(candidate);
    const distance = c === wanted ? 0 : c.startsWith(wanted) || wanted.startsWith(c) ? 1 : levenshtein(wanted, c);
    if (best === undefined || distance < best.distance) best = { key: candidate, distance };
  }
  return best !== undefined && best.distance <= Math.max(2, Math.floor(wanted.length / 3)) ? best.key : undefined;
}

/** Every key of `value` that `schema` does not declare, at any depth, with a suggestion. */
export function unknownKeyIssues(schema: AnySchema, value: unknown, path: PropertyKey[] = []): SettingsIssue[] {
  const s = unwrap(schema);
  const def = s._zod.def as { type: string; shape?: Record<string, AnySchema>; element?: AnySchema; valueType?: AnySchema };
  if (def.type === 'array' && def.element && Array.isArray(value)) {
    return value.flatMap((item, i) => unknownKeyIssues(def.element!, item, [...path, i]));
  }
  if (!isPlainObject(value)) return [];
  if (def.type === 'record' && def.valueType) {
    return Object.keys(value).flatMap((k) => unknownKeyIssues(def.valueType!, value[k], [...path, k]));
  }
  if (def.type !== 'object' || def.shape === undefined) return [];
  const shape = def.shape;
  const known = Object.keys(shape);
  return Object.keys(value).flatMap((key) => {
    if (Object.hasOwn(shape, key)) return unknownKeyIssues(shape[key]!, value[key], [...path, key]);
    // `__proto__` is reported by protoKeyIssues; a null deletes the key in a merge-patch, never stores it.
    if (key === '__proto__' || value[key] === null) return [];
    const near = nearestKey(key, known);
    return [
      {
        path: formatSettingsPath([...path, key]),
        message: `Unknown key "${key}"`,
        hint: near !== undefined ? `Did you mean "${near}"?` : `Known keys here: ${known.join(', ')}.`,
      },
    ];
  });
}

/** Unknown keys of an agent's settings (paths relative to the agent; the registered runtimes' blocks are known keys). */
export function unknownAgentKeys(value: unknown): SettingsIssue[] {
  return unknownKeyIssues(agentSchemaWithRuntimeBlocks(), value);
}

/**
 * An agent's settings as given to `agent add --config` or PUT /api/agents/:id: the shape, keys
 * the schema does not know, and `__proto__` keys. Paths are relative to the agent.
 */
export function checkAgentConfig(value: unknown): SettingsIssue[] {
  const shape = agentSchemaWithRuntimeBlocks().safeParse(value);
  return [...(shape.success ? [] : toSettingsIssues(shape.error.issues)), ...unknownAgentKeys(value), ...protoKeyIssues(value)];
}

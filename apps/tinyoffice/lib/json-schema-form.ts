/**
 * A form from a registered workflow's input JSON Schema (docs/workflows.md, "Registered
 * workflows"), and the input back from what the person wrote in it. An object's properties become
 * fields: text (an enum: a choice), numbers with their bounds, on/off, lists of text or numbers
 * (one per line), and nested objects as groups. Anything else the schema may say (oneOf, lists of
 * objects, a type that may be null …) is a JSON field of its own, and a schema that is not an
 * object of properties is one JSON field for the whole input. The checks here are the ones a form
 * can say at a field before sending (required, bounds, lengths, item counts, JSON that parses);
 * the daemon checks the whole schema again (patterns and formats are its alone, shown as hints).
 *
 * Paths are the input's, under `input` (`input.files`), as the daemon names them once `body.` is
 * taken off (`body.input.files.0`), so its refusals land at the same fields.
 */
import type { FieldIssues } from './field-issues';

export type JsonSchema = Record<string, unknown>;

interface Base {
  /** `input`, `input.files`, `input.limits.rounds`. */
  path: string;
  label: string;
  /** The schema's `description`. */
  help: string | null;
  required: boolean;
  /** The schema's `default`, as the schema gives it. */
  initial: unknown;
}

export type FormField =
  | (Base & { kind: 'text'; minLength?: number; maxLength?: number; pattern?: string; format?: string })
  | (Base & { kind: 'choice'; options: readonly unknown[] })
  | (Base & { kind: 'number'; bounds: Bounds })
  | (Base & { kind: 'boolean' })
  | (Base & { kind: 'list'; item: 'string' | 'number'; bounds: Bounds; minItems?: number; maxItems?: number })
  | (Base & { kind: 'group'; fields: FormField[] })
  /** `why`: what made it JSON (null for the whole input of a workflow without a schema). */
  | (Base & { kind: 'json'; why: string | null });

export interface Bounds {
  integer: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

/** What the person wrote, by field path: text for every field but on/off ones. */
export type FormValues = Record<string, string | boolean>;

export const INPUT_PATH = 'input';

/** Keywords a field cannot show: the value is written as JSON instead. */
const COMBINATORS = ['oneOf', 'anyOf', 'allOf', 'not', 'if', 'const', 'prefixItems', 'patternProperties', 'dependentRequired', 'dependentSchemas'];
/** Nesting deeper than this (a schema that refers to itself) is JSON. */
const MAX_DEPTH = 6;

const isObject = (v: unknown): v is JsonSchema => v !== null && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The form of a workflow's input: a group of fields, or one JSON field (no schema, or not an object of properties). */
export function formOf(schema: JsonSchema | null): FormField {
  const base = { path: INPUT_PATH, label: 'Input', help: null, required: false };
  if (schema === null) return { ...base, initial: undefined, kind: 'json', why: null };
  const root = resolveRef(schema, schema);
  const field = fieldOf(root, schema, { ...base, help: text(root['description']) ?? null, initial: root['default'] }, 0);
  return field.kind === 'group' ? field : { ...base, initial: root['default'], kind: 'json', why: field.kind === 'json' ? field.why : 'the input is not an object of fields' };
}

/** `$ref` to `#/$defs/…` or `#/definitions/…`, its siblings kept; anything else as it is. */
function resolveRef(schema: JsonSchema, root: JsonSchema): JsonSchema {
  const ref = text(schema['$ref']);
  if (ref === undefined) return schema;
  const match = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
  const defs = match ? root[match[1]!] : undefined;
  const target = isObject(defs) ? defs[decodeURIComponent(match![2]!.replace(/~1/g, '/').replace(/~0/g, '~'))] : undefined;
  if (!isObject(target)) return schema;
  const { $ref: _ref, ...rest } = schema;
  return { ...target, ...rest };
}

function typeOf(schema: JsonSchema): string | undefined {
  const type = schema['type'];
  if (typeof type === 'string') return type;
  if (type === undefined && isObject(schema['properties'])) return 'object';
  return undefined;
}

function fieldOf(schema: JsonSchema, root: JsonSchema, base: Base, depth: number): FormField {
  const json = (why: string): FormField => ({ ...base, kind: 'json', why });
  if (depth > MAX_DEPTH || text(schema['$ref']) !== undefined) return json('it refers to a schema the form does not follow');
  const combinator = COMBINATORS.find((k) => k in schema);
  if (combinator) return json(`its schema uses ${combinator}`);
  const values = schema['enum'];
  if (Array.isArray(values)) {
    return values.length > 0 && values.every((v) => v === null || typeof v !== 'object') ? { ...base, kind: 'choice', options: values } : json('its choices are not plain values');
  }
  const type = typeOf(schema);
  if (type === 'string') return { ...base, kind: 'text', ...textRules(schema) };
  if (type === 'number' || type === 'integer') return { ...base, kind: 'number', bounds: boundsOf(schema, type) };
  if (type === 'boolean') return { ...base, kind: 'boolean' };
  if (type === 'array') return listOf(schema, root, base) ?? json('its items are not text or numbers');
  if (type === 'object') return groupOf(schema, root, base, depth) ?? json('it has no fields listed');
  return json(type === undefined ? 'its schema gives no single type' : `its type is ${type}`);
}

function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

function textRules(schema: JsonSchema) {
  return defined({ minLength: num(schema['minLength']), maxLength: num(schema['maxLength']), pattern: text(schema['pattern']), format: text(schema['format']) });
}

function boundsOf(schema: JsonSchema, type: string): Bounds {
  // Draft 4 writes an exclusive bound as a flag beside minimum/maximum; 6 and later as a number.
  const exMin = schema['exclusiveMinimum'] === true ? num(schema['minimum']) : num(schema['exclusiveMinimum']);
  const exMax = schema['exclusiveMaximum'] === true ? num(schema['maximum']) : num(schema['exclusiveMaximum']);
  return {
    integer: type === 'integer',
    ...defined({
      minimum: schema['exclusiveMinimum'] === true ? undefined : num(schema['minimum']),
      maximum: schema['exclusiveMaximum'] === true ? undefined : num(schema['maximum']),
      exclusiveMinimum: exMin,
      exclusiveMaximum: exMax,
    }),
  };
}

function listOf(schema: JsonSchema, root: JsonSchema, base: Base): FormField | null {
  const items = isObject(schema['items']) ? resolveRef(schema['items'], root) : null;
  if (!items || COMBINATORS.some((k) => k in items) || Array.isArray(items['enum'])) return null;
  const type = typeOf(items);
  if (type !== 'string' && type !== 'number' && type !== 'integer') return null;
  const counts = defined({ minItems: num(schema['minItems']), maxItems: num(schema['maxItems']) });
  return { ...base, kind: 'list', item: type === 'string' ? 'string' : 'number', bounds: boundsOf(items, type), ...counts };
}

function groupOf(schema: JsonSchema, root: JsonSchema, base: Base, depth: number): FormField | null {
  const properties = schema['properties'];
  if (!isObject(properties) || Object.keys(properties).length === 0) return null;
  const required = new Set(Array.isArray(schema['required']) ? schema['required'].filter((k): k is string => typeof k === 'string') : []);
  const fields = Object.entries(properties).map(([key, raw]) => {
    const child = isObject(raw) ? resolveRef(raw, root) : {};
    const childBase: Base = { path: `${base.path}.${key}`, label: text(child['title']) ?? key, help: text(child['description']) ?? null, required: required.has(key), initial: child['default'] };
    return fieldOf(child, root, childBase, depth + 1);
  });
  return { ...base, kind: 'group', fields };
}

/** Every field's path, in the form's order (groups before their fields). */
export function fieldPaths(field: FormField): string[] {
  return field.kind === 'group' ? [field.path, ...field.fields.flatMap(fieldPaths)] : [field.path];
}

/** The form as its schema's defaults fill it (nothing where there is none). */
export function initialValues(field: FormField): FormValues {
  if (field.kind === 'group') return Object.assign({}, ...field.fields.map(initialValues));
  const value = field.initial;
  if (field.kind === 'boolean') return { [field.path]: value === true };
  if (value === undefined) return {};
  if (field.kind === 'json') return { [field.path]: JSON.stringify(value, null, 2) };
  if (field.kind === 'list') return { [field.path]: Array.isArray(value) ? value.map(String).join('\n') : '' };
  if (field.kind === 'choice') {
    const index = field.options.indexOf(value);
    return index < 0 ? {} : { [field.path]: String(index) };
  }
  return { [field.path]: String(value) };
}

/** The value of a field: undefined when left empty (the key is left out), and what is wrong with it, at its path. */
export interface Read {
  value: unknown;
  issues: FieldIssues;
}

/** The input the form says, or its problems by path. An empty whole-input field is no input (undefined). */
export function inputOf(field: FormField, values: FormValues): Read {
  const raw = values[field.path];
  const written = typeof raw === 'string' ? raw : '';
  const problem = (message: string): Read => ({ value: undefined, issues: { [field.path]: [message] } });
  switch (field.kind) {
    case 'group':
      return readGroup(field, values);
    case 'boolean':
      return { value: raw === true, issues: {} };
    case 'choice':
      return { value: written === '' ? undefined : field.options[Number(written)], issues: {} };
    case 'json':
      return readJson(written, problem);
    case 'list':
      return readList(field, written);
    case 'number': {
      if (written.trim() === '') return { value: undefined, issues: {} };
      const n = Number(written.trim());
      const wrong = numberProblem(n, field.bounds);
      return wrong ? problem(wrong) : { value: n, issues: {} };
    }
    case 'text': {
      if (written === '') return { value: undefined, issues: {} };
      const wrong = lengthProblem(written, field.minLength, field.maxLength);
      return wrong ? problem(wrong) : { value: written, issues: {} };
    }
  }
}

function readGroup(field: Extract<FormField, { kind: 'group' }>, values: FormValues): Read {
  const value: Record<string, unknown> = {};
  const issues: FieldIssues = {};
  for (const child of field.fields) {
    const read = inputOf(child, values);
    Object.assign(issues, read.issues);
    if (read.value !== undefined) value[child.path.slice(field.path.length + 1)] = read.value;
    else if (child.required && !issues[child.path]) issues[child.path] = ['is required'];
  }
  // An optional group left empty is left out, as an optional field is.
  const empty = Object.keys(value).length === 0 && field.path !== INPUT_PATH;
  return { value: empty ? undefined : value, issues };
}

function readJson(written: string, problem: (message: string) => Read): Read {
  if (written.trim() === '') return { value: undefined, issues: {} };
  try {
    return { value: JSON.parse(written), issues: {} };
  } catch (err) {
    return problem(`is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** One item a line; blank lines are left out, so item N is the Nth line with something on it. */
function readList(field: Extract<FormField, { kind: 'list' }>, written: string): Read {
  const lines = written
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 0 && !field.required) return { value: undefined, issues: {} };
  const problems: string[] = [];
  const items = lines.map((line, i) => {
    if (field.item === 'string') return line;
    const n = Number(line);
    const wrong = numberProblem(n, field.bounds);
    if (wrong) problems.push(`item ${i + 1}: ${wrong}`);
    return n;
  });
  if (field.minItems !== undefined && items.length < field.minItems) problems.push(`needs at least ${field.minItems} ${field.minItems === 1 ? 'item' : 'items'}`);
  if (field.maxItems !== undefined && items.length > field.maxItems) problems.push(`takes at most ${field.maxItems} ${field.maxItems === 1 ? 'item' : 'items'}`);
  return problems.length > 0 ? { value: undefined, issues: { [field.path]: problems } } : { value: items, issues: {} };
}

function numberProblem(n: number, b: Bounds): string | null {
  if (!Number.isFinite(n)) return 'must be a number';
  if (b.integer && !Number.isInteger(n)) return 'must be a whole number';
  if (b.minimum !== undefined && n < b.minimum) return `must be ${b.minimum} or more`;
  if (b.maximum !== undefined && n > b.maximum) return `must be ${b.maximum} or less`;
  if (b.exclusiveMinimum !== undefined && n <= b.exclusiveMinimum) return `must be more than ${b.exclusiveMinimum}`;
  if (b.exclusiveMaximum !== undefined && n >= b.exclusiveMaximum) return `must be less than ${b.exclusiveMaximum}`;
  return null;
}

function lengthProblem(s: string, min: number | undefined, max: number | undefined): string | null {
  const length = [...s].length;
  if (min !== undefined && length < min) return `must be at least ${min} characters`;
  if (max !== undefined && length > max) return `must be at most ${max} characters`;
  return null;
}

/** The bounds in words, for a hint: `a whole number from 1 to 5`. */
export function boundsText(b: Bounds): string {
  const kind = b.integer ? 'a whole number' : 'a number';
  const low = b.minimum !== undefined ? `${b.minimum}` : b.exclusiveMinimum !== undefined ? `more than ${b.exclusiveMinimum}` : undefined;
  const high = b.maximum !== undefined ? `${b.maximum}` : b.exclusiveMaximum !== undefined ? `less than ${b.exclusiveMaximum}` : undefined;
  if (b.minimum !== undefined && b.maximum !== undefined) return `${kind} from ${low} to ${high}`;
  const parts = [low === undefined ? null : b.minimum !== undefined ? `${low} or more` : low, high === undefined ? null : b.maximum !== undefined ? `${high} or less` : high].filter(Boolean);
  return parts.length === 0 ? kind : `${kind}, ${parts.join(' and ')}`;
}

/**
 * Issues moved to the field that shows them: an issue below a field (`input.files.0` of a list, a
 * key of a JSON field, an unknown key of a group) goes to that field, its message saying where
 * (`item 1: …`, `limits.rounds: …`). Issues under no field keep their path.
 */
export function placeIssues(issues: FieldIssues, field: FormField): FieldIssues {
  const fields = new Map(allFields(field).map((f) => [f.path, f]));
  const placed: FieldIssues = {};
  for (const [path, messages] of Object.entries(issues)) {
    const target = nearestField(path, fields);
    const key = target?.path ?? path;
    const rest = target ? path.slice(target.path.length + 1) : '';
    const where = rest === '' ? '' : target?.kind === 'list' && /^\d+$/.test(rest) ? `item ${Number(rest) + 1}: ` : `${rest}: `;
    placed[key] = [...(placed[key] ?? []), ...messages.map((m) => `${where}${m}`)];
  }
  return placed;
}

function allFields(field: FormField): FormField[] {
  return field.kind === 'group' ? [field, ...field.fields.flatMap(allFields)] : [field];
}

function nearestField(path: string, fields: ReadonlyMap<string, FormField>): FormField | undefined {
  const segments = path.split('.');
  for (let n = segments.length; n > 0; n--) {
    const found = fields.get(segments.slice(0, n).join('.'));
    if (found) return found;
  }
  return undefined;
}

/** Small helpers for walking parsed JSON objects. */

export type JsonObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `record[key]` when it is the record's own entry, else undefined: ids from users (`constructor`,
 * `toString`, `__proto__`) must never find a value on the prototype chain.
 */
export function ownEntry<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The value at `path` (object keys and array indexes), or undefined. */
export function getPath(value: unknown, path: readonly (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof key === 'number' ? !Array.isArray(current) : !isPlainObject(current)) return undefined;
    if (!Object.hasOwn(current as object, key)) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

// defineProperty, not assignment: a "__proto__" key from parsed JSON must stay data.
export function setOwn(target: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `['teams', 'dev', 'agents', 2]` -> `teams.dev.agents[2]`; odd keys are quoted: `agents["../x"]`. */
export function formatSettingsPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z0-9_-]+$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

export type JsonTreeProblem = { kind: 'too_deep' | 'forbidden_key'; path: Array<string | number> };

export interface JsonTreeLimits {
  /** Most containers nested in one another (`{}` is 1, `{"a":[]}` is 2). */
  maxDepth: number;
  /** A key that must not appear anywhere (checked with its value). */
  forbiddenKey?: (key: string, value: unknown) => boolean;
}

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | undefined;
  key: string | number | undefined;
}

function pathOf(frame: Frame): Array<string | number> {
  const path: Array<string | number> = [];
  for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.parent) path.push(f.key);
  return path.reverse();
}

/**
 * The first container nested deeper than `maxDepth`, or the first forbidden key, in a parsed JSON
 * value. Iterative, so no input can overflow the stack (JSON.parse itself is iterative in V8;
 * recursive walks — zod, structuredClone, revivers — are only safe once this has passed).
 */
export function findJsonTreeProblem(value: unknown, limits: JsonTreeLimits): JsonTreeProblem | undefined {
  const stack: Frame[] = [{ value, depth: 1, parent: undefined, key: undefined }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const node = frame.value;
    if (typeof node !== 'object' || node === null) continue;
    if (frame.depth > limits.maxDepth) return { kind: 'too_deep', path: pathOf(frame) };
    const entries: Array<[string | number, unknown]> = Array.isArray(node) ? node.map((item, index) => [index, item]) : Object.entries(node);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      const childFrame = { value: child, depth: frame.depth + 1, parent: frame, key };
      if (typeof key === 'string' && limits.forbiddenKey?.(key, child)) return { kind: 'forbidden_key', path: pathOf(childFrame) };
      stack.push(childFrame);
    }
  }
  return undefined;
}

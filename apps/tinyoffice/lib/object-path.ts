/** Reading and writing nested values by a dotted path (`heartbeat.interval`): the forms' field paths. */
export type Json = Record<string, unknown>;

export function getPath(object: unknown, path: string): unknown {
  let current: unknown = object;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined;
    current = (current as Json)[key];
  }
  return current;
}

/** Sets `value` at `path`, creating plain objects on the way (own keys only). */
export function setPath(object: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let current = object;
  for (const key of keys.slice(0, -1)) {
    const next = Object.hasOwn(current, key) ? current[key] : undefined;
    if (next === null || typeof next !== 'object' || Array.isArray(next)) current[key] = {};
    current = current[key] as Json;
  }
  current[keys.at(-1)!] = value;
}

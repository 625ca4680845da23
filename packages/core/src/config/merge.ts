/**
 * Merge-patch for settings (the API's PATCH): objects merge recursively, arrays and scalars
 * replace, `null` deletes the key. Neither input is modified; the result may share unchanged
 * subtrees with them. The result is not validated: pass it to writeSettings/parseSettings.
 */

import { isPlainObject, setOwn, type JsonObject } from './object-path.ts';

export function deepMergeSettings(base: Readonly<JsonObject>, patch: Readonly<JsonObject>): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(base)) setOwn(out, key, value);
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value === null) {
      delete out[key];
    } else if (isPlainObject(value)) {
      const current = out[key];
      setOwn(out, key, deepMergeSettings(isPlainObject(current) ? current : {}, value));
    } else {
      setOwn(out, key, value);
    }
  }
  return out;
}

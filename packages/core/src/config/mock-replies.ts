/**
 * The mock's scripted replies, `agents.<id>.mock.replies`, were `rules` before (a word kept for
 * permission rules: docs/glossary.md). The old key loads forever: the runtime reads it when
 * `replies` is absent (invoker/runtimes/mock.ts, `mockScript`). Every settings write renames it
 * (`migrateMockReplies`, beside the runtime names' in write.ts), and a merge-patch that still says
 * `rules` sets `replies` (`renameMockRulesInPatch`), so a patch means the same on a file written
 * before or after the rename. Until then doctor lists them (`oldMockRulesPaths`).
 */
import { isPlainObject, setOwn, type JsonObject } from './object-path.ts';

const KEY = 'replies';
const OLD_KEY = 'rules';

/** Each agent's mock block with the old key, by agent id. */
function oldMockBlocks(settings: unknown): Array<[string, JsonObject, JsonObject]> {
  if (!isPlainObject(settings) || !isPlainObject(settings['agents'])) return [];
  const out: Array<[string, JsonObject, JsonObject]> = [];
  for (const [id, agent] of Object.entries(settings['agents'])) {
    if (isPlainObject(agent) && isPlainObject(agent['mock']) && Object.hasOwn(agent['mock'], OLD_KEY)) out.push([id, agent, agent['mock']]);
  }
  return out;
}

/** Where settings still use the old key (`agents.coder.mock.rules`): doctor's finding. */
export function oldMockRulesPaths(settings: unknown): string[] {
  return oldMockBlocks(settings).map(([id]) => `agents.${id}.mock.${OLD_KEY}`);
}

/** A mock block with `replies` in the old key's place (`replies` wins when both are there). */
function renamedBlock(mock: JsonObject): JsonObject {
  const hasNewKey = Object.hasOwn(mock, KEY) && mock[KEY] !== undefined;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(mock)) {
    // setOwn: a `__proto__` key from parsed JSON stays data.
    if (key === OLD_KEY) {
      if (!hasNewKey) setOwn(out, KEY, value);
    } else if (key !== KEY || hasNewKey) setOwn(out, key, value);
  }
  return out;
}

/** `settings` with every agent's `mock.rules` written as `mock.replies` (the same object when there is none). Applied to every write. */
export function migrateMockReplies<T>(settings: T): T {
  const old = oldMockBlocks(settings);
  if (old.length === 0) return settings;
  const source = settings as JsonObject;
  const agents = { ...(source['agents'] as JsonObject) };
  for (const [id, agent, mock] of old) setOwn(agents, id, { ...agent, mock: renamedBlock(mock) });
  return { ...source, agents } as T;
}

/**
 * A merge-patch of settings.json with an agent's `mock.rules` written as `replies`: `{ rules: [...] }`
 * sets `replies` and removes the old key (`null` removes both). The same object when the patch has none.
 */
export function renameMockRulesInPatch<T>(patch: T): T {
  const old = oldMockBlocks(patch);
  if (old.length === 0) return patch;
  const source = patch as JsonObject;
  const agents = { ...(source['agents'] as JsonObject) };
  for (const [id, agent, mock] of old) {
    const { [OLD_KEY]: rules, ...rest } = mock;
    setOwn(agents, id, { ...agent, mock: { ...rest, [KEY]: Object.hasOwn(mock, KEY) ? mock[KEY] : rules, [OLD_KEY]: null } });
  }
  return { ...source, agents } as T;
}

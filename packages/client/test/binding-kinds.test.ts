/**
 * A binding's checks and forge by their kind (src/binding-kinds.ts), as TinyOffice's dialog and
 * `tinyagi project show|bind` read and write them: a kind's own keys apart from those every
 * check or forge has, shown as JSON and read back unchanged, or refused saying why.
 */
import { describe, expect, it } from 'vitest';
import { CHECK_COMMON_KEYS, checkKindOf, FORGE_COMMON_KEYS, kindSettingsText, parseKindSettings } from '../src/binding-kinds.ts';

describe('a kind’s own keys', () => {
  it('are the keys beyond the common ones, as JSON that reads back to the same entry', () => {
    const check = { name: 'coverage', kind: 'coverage', minimum: 80, paths: ['src'], timeoutMs: 5000 };
    const text = kindSettingsText(check, CHECK_COMMON_KEYS);
    expect(text).toBe('{"minimum":80,"paths":["src"]}');
    expect({ name: check.name, kind: check.kind, timeoutMs: check.timeoutMs, ...parseKindSettings(text, CHECK_COMMON_KEYS).settings }).toEqual(check);
    expect(kindSettingsText({ kind: 'github', owner: 'o', repo: 'r', tokenEnv: 'GITHUB_TOKEN', pollSeconds: 120 }, FORGE_COMMON_KEYS)).toBe('');
    expect(checkKindOf({ name: 'test' } as { kind?: string })).toBe('command');
  });

  it('typed as text: blank is none; not JSON, not an object or a common key is refused saying why', () => {
    expect(parseKindSettings('  ', CHECK_COMMON_KEYS)).toEqual({ settings: {} });
    expect(parseKindSettings('{"minimum": 80', CHECK_COMMON_KEYS).error).toMatch(/^are not JSON \(/);
    expect(parseKindSettings('[80]', CHECK_COMMON_KEYS).error).toBe('must be a JSON object, e.g. {"path": "NOTES.md"}');
    expect(parseKindSettings('{"timeoutMs": 1, "kind": "x"}', CHECK_COMMON_KEYS).error).toBe('may not set "timeoutMs", "kind": each has a field of its own');
    expect(parseKindSettings('{"owner": "o"}', FORGE_COMMON_KEYS).error).toBe('may not set "owner": each has a field of its own');
  });
});

/**
 * A binding's checks and forge by their kind (docs/kinds.md, "Check kinds" and "Forges"): the keys
 * every check or forge has, and the rest, its kind's own settings (a `command` check's `argv`, a
 * plugin's `path`). Check and forge kinds describe no fields, so every surface that edits a
 * binding (TinyOffice's dialog, `tinyagi project bind|show`) shows a kind's own keys as one JSON
 * object and writes them back unchanged. Loads no zod.
 */

/** The check kind of a check that names none (the contract's `DEFAULT_CHECK_KIND`). */
const COMMAND_KIND = 'command';

/** The keys of every check, whatever its kind. */
export const CHECK_COMMON_KEYS = ['name', 'kind', 'timeoutMs'] as const;
/** The keys of every forge block, whatever its kind. */
export const FORGE_COMMON_KEYS = ['kind', 'owner', 'repo', 'apiUrl', 'tokenEnv', 'pollSeconds'] as const;

/** The kind's own keys of a check or forge block: everything but `common`. */
export function kindSettings(entry: object, common: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entry).filter(([key]) => !common.includes(key)));
}

/** A kind's own keys as one line of JSON (`{"path":"NOTES.md"}`), or '' when it has none: what surfaces show and take back. */
export function kindSettingsText(entry: object, common: readonly string[]): string {
  const own = kindSettings(entry, common);
  return Object.keys(own).length === 0 ? '' : JSON.stringify(own);
}

/** A check's kind: `command` when it names none. */
export const checkKindOf = (check: { kind?: string | undefined }): string => check.kind ?? COMMAND_KIND;

/**
 * A check's own settings typed as JSON (a kind other than `command`), read back: the object, or
 * what is wrong with it. Blank is `{}`; a key every check has is refused (it has its own field).
 */
export function parseKindSettings(text: string, common: readonly string[]): { settings: Record<string, unknown>; error?: undefined } | { settings?: undefined; error: string } {
  if (text.trim() === '') return { settings: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { error: `are not JSON (${(err as Error).message})` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { error: 'must be a JSON object, e.g. {"path": "NOTES.md"}' };
  const taken = Object.keys(parsed).filter((key) => common.includes(key));
  if (taken.length > 0) return { error: `may not set ${taken.map((k) => `"${k}"`).join(', ')}: each has a field of its own` };
  return { settings: parsed as Record<string, unknown> };
}

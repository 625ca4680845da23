/**
 * Content put on spans (only with `capture_content`) goes through here first: secrets are masked
 * always, and long text is cut, so a span never carries an API key or an unbounded prompt.
 */

const MASK = '…';

/** Keys whose values are secrets wherever they appear in a tool's input. */
const SECRET_KEY = /(pass(word|wd)?|secret|token|api[-_]?key|auth(orization)?|cookie|credential|private[-_]?key|session[-_]?key)$/i;

/** Well-known secret shapes in free text. */
const SECRET_PATTERNS: RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{12,}/g, // OpenAI / Anthropic keys
  /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack
  /\bAKIA[0-9A-Z]{16}\b/g, // AWS access key id
  /\bAIza[0-9A-Za-z_-]{30,}/g, // Google API key
  /\b\d{6,12}:[A-Za-z0-9_-]{30,}/g, // Telegram bot token
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g, // JWT
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
];

const BEARER = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
/** The scheme starts where a run of scheme characters starts: a long run is read once, not from each of its characters. */
const URL_PASSWORD = /((?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:)([^@\s/]+)@/gi;
/** A name (a whole run of name characters, read once) and its `=` or `:`. */
const ASSIGNED_NAME = /(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]+)(\s*[=:]\s*)/g;
const SECRET_WORD = /password|passwd|secret|token|api[-_]?key/i;
/** An assigned value, quoted or not, read from where the name's `=` ends. */
const ASSIGNED_VALUE = /(["']?)([^\s"'&,;]{4,})\1/y;

/** True for a name whose last part (after its last `.` or `-`) holds a secret word: `db.password`, `GITHUB_TOKEN`, `x.api-key`. */
function secretName(name: string): boolean {
  const cut = Math.max(name.lastIndexOf('.'), name.lastIndexOf('-'));
  const last = name.slice(cut + 1);
  if (SECRET_WORD.test(last)) return true;
  return name[cut] === '-' && name.slice(Math.max(0, cut - 3), cut).toLowerCase() === 'api' && /^key/i.test(last);
}

/** `…_TOKEN=value`, `password: value`: the value masked, the name, separator and quotes kept. */
function maskAssignments(text: string): string {
  let out = '';
  let kept = 0;
  ASSIGNED_NAME.lastIndex = 0;
  for (let m = ASSIGNED_NAME.exec(text); m !== null; m = ASSIGNED_NAME.exec(text)) {
    if (!secretName(m[1]!)) continue;
    ASSIGNED_VALUE.lastIndex = ASSIGNED_NAME.lastIndex;
    const value = ASSIGNED_VALUE.exec(text);
    if (value === null) continue;
    const quote = value[1]!;
    out += `${text.slice(kept, ASSIGNED_NAME.lastIndex)}${quote}${MASK}${quote}`;
    kept = ASSIGNED_VALUE.lastIndex;
    ASSIGNED_NAME.lastIndex = kept;
  }
  return kept === 0 ? text : out + text.slice(kept);
}

/**
 * Masks the secrets found in `text` (known key shapes, bearer credentials, URL passwords,
 * `…_TOKEN=value`). Every pattern reads the text in one pass: a long text costs its length.
 */
export function maskText(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, MASK);
  out = out.replace(BEARER, (_all, scheme: string) => `${scheme} ${MASK}`).replace(URL_PASSWORD, (_all, head: string) => `${head}${MASK}@`);
  return maskAssignments(out);
}

/**
 * `text` masked and cut to at most `max` characters, cut first: only what is kept is masked (with
 * a margin, so a secret the cut goes through is still found whole and masked).
 */
export function maskCut(text: string, max: number): string {
  if (text.length <= max) return maskText(text);
  return cut(maskText(text.slice(0, max + CUT_MARGIN)), max, text.length);
}

/** Characters past the cut still read for secrets, so one the cut goes through is masked whole. */
const CUT_MARGIN = 1_024;

/** Strings of a value longer than this are cut before they are masked (a span shows less anyway). */
export const VALUE_STRING_MAX = 16_384;

/** A deep copy of a tool's input with secret-named keys masked and secrets in strings masked (long strings cut first). */
export function maskValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskCut(value, VALUE_STRING_MAX);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEY.test(key) && v !== '' && v != null ? MASK : maskValue(v, depth + 1);
  return out;
}

/** At most `max` characters, with a marker when cut (`length`: the whole text's, when `text` is already a part of it). */
export function cut(text: string, max: number, length = text.length): string {
  return length <= max ? text : `${text.slice(0, max)}… [${length - max} more characters]`;
}

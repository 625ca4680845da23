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
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:)([^@\s/]+)@/gi;
const ASSIGNMENT = /\b([A-Za-z0-9_.-]*(?:password|passwd|secret|token|api[-_]?key)[A-Za-z0-9_]*)(\s*[=:]\s*)(["']?)([^\s"'&,;]{4,})\3/gi;

/** Masks the secrets found in `text` (known key shapes, bearer credentials, URL passwords, `…_TOKEN=value`). */
export function maskText(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, MASK);
  return out
    .replace(BEARER, (_all, scheme: string) => `${scheme} ${MASK}`)
    .replace(URL_PASSWORD, (_all, head: string) => `${head}${MASK}@`)
    .replace(ASSIGNMENT, (_all, key: string, sep: string, quote: string) => `${key}${sep}${quote}${MASK}${quote}`);
}

/** A deep copy of a tool's input with secret-named keys masked and secrets in strings masked. */
export function maskValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskText(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEY.test(key) && v !== '' && v != null ? MASK : maskValue(v, depth + 1);
  return out;
}

/** At most `max` characters, with a marker when cut. */
export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`;
}

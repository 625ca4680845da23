/**
 * Secrets out of a tool call before it is stored or shown (an approval request's input): values
 * under secret-looking keys (`api_key`, `token`, `password`, …) are masked, and inside strings
 * URL passwords, `Authorization: Bearer …`, `NAME_TOKEN=…`-style assignments and well-known key
 * formats (`sk-…`, `xox…-`, `ghp_…`, `AKIA…`).
 */
import { isSecretKey, maskSecret, maskUrlSecretsInText } from '../config/secrets.ts';

/**
 * `prefix` kept, `secret` masked: `Bearer sk-…wxyz`, `--password=…`. Every pattern starts at a
 * fixed word, so a long run of text is read once (no pattern rescans it from each character).
 */
const SECRET_IN_TEXT: readonly RegExp[] = [
  /\b(Bearer\s+)([A-Za-z0-9._~+/=-]{8,})/gi,
  // After `token` or `Basic` a value with a digit only: prose ("the token limit", "Basic functionality") is left as it is.
  /\b((?:Basic|token)\s+)((?=[A-Za-z0-9._~+/=-]*[0-9])[A-Za-z0-9._~+/=-]{8,})/gi,
  /(--(?:api-key|token|password|secret)[= ])(\S+)/gi,
];
const KEY_FORMATS = /\b(sk-[A-Za-z0-9_-]{12,}|xox[abpr]-[A-Za-z0-9-]{10,}|gh[pousr]_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,})\b/g;
/** A name and its `=`, the name a whole word (so a run of word characters is one candidate, read once). */
const ASSIGNED_NAME = /\b([A-Za-z0-9_]+)=/g;
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|PWD/i;
/** An assigned value: quoted (a quote closed within this many characters), else up to the next space. */
const ASSIGNED_VALUE = /"[^"]{0,4096}"|'[^']{0,4096}'|\S+/y;

/** `API_TOKEN=sk-…wxyz`: the value of a secret-looking name assigned with `=`. */
function maskAssignments(text: string): string {
  let out = '';
  let kept = 0;
  ASSIGNED_NAME.lastIndex = 0;
  for (let m = ASSIGNED_NAME.exec(text); m !== null; m = ASSIGNED_NAME.exec(text)) {
    if (!SECRET_NAME.test(m[1]!)) continue;
    ASSIGNED_VALUE.lastIndex = ASSIGNED_NAME.lastIndex;
    const value = ASSIGNED_VALUE.exec(text);
    if (value === null) continue;
    out += `${text.slice(kept, ASSIGNED_NAME.lastIndex)}${maskSecret(value[0].replace(/^["']|["']$/g, ''))}`;
    kept = ASSIGNED_VALUE.lastIndex;
    ASSIGNED_NAME.lastIndex = kept;
  }
  return kept === 0 ? text : out + text.slice(kept);
}

export function maskSecretsInText(text: string): string {
  let out = maskAssignments(maskUrlSecretsInText(text));
  for (const re of SECRET_IN_TEXT) out = out.replace(re, (_all, prefix: string, secret: string) => `${prefix}${maskSecret(secret.replace(/^["']|["']$/g, ''))}`);
  return out.replace(KEY_FORMATS, (key) => maskSecret(key));
}

export function maskToolInput(value: unknown, key?: string): unknown {
  if (typeof value === 'string') return key !== undefined && isSecretKey(key) ? maskSecret(value) : maskSecretsInText(value);
  if (Array.isArray(value)) return value.map((v) => maskToolInput(v));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: maskToolInput(v, k), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

/**
 * Secrets out of a tool call before it is stored or shown (an approval request's input): values
 * under secret-looking keys (`api_key`, `token`, `password`, …) are masked, and inside strings
 * URL passwords, `Authorization: Bearer …`, `NAME_TOKEN=…`-style assignments and well-known key
 * formats (`sk-…`, `xox…-`, `ghp_…`, `AKIA…`).
 */
import { isSecretKey, maskSecret, maskUrlSecretsInText } from '../config/secrets.ts';

/** `prefix` kept, `secret` masked: `Bearer sk-…wxyz`, `API_TOKEN=sk-…wxyz`, `--password=…`. */
const SECRET_IN_TEXT: readonly RegExp[] = [
  /\b((?:Bearer|Basic|token)\s+)([A-Za-z0-9._~+/=-]{8,})/gi,
  /\b([A-Za-z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|PWD)[A-Za-z0-9_]*=)("[^"]*"|'[^']*'|\S+)/gi,
  /(--(?:api-key|token|password|secret)[= ])(\S+)/gi,
];
const KEY_FORMATS = /\b(sk-[A-Za-z0-9_-]{12,}|xox[abpr]-[A-Za-z0-9-]{10,}|gh[pousr]_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,})\b/g;

export function maskSecretsInText(text: string): string {
  let out = maskUrlSecretsInText(text);
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

/** HMAC signing and constant-time comparison; every credential check goes through these. */
import { createHash, createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';

/** Compares two secrets in time independent of where they differ (and of their lengths). */
export function secretsEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** base64url HMAC-SHA256 of `message`, keyed by the API token (per purpose, so signatures never cross over). */
export function sign(secret: string, purpose: string, message: string): string {
  return createHmac('sha256', keyOf(secret)).update(`${purpose}\0${message}`).digest('base64url');
}

/** The secret as a key object, made once (a string key is imported again on every createHmac). */
let lastKey: { secret: string; key: KeyObject } | undefined;
function keyOf(secret: string): KeyObject {
  if (lastKey?.secret !== secret) lastKey = { secret, key: createSecretKey(Buffer.from(secret)) };
  return lastKey.key;
}

/**
 * Short-lived tickets for EventSource clients, which cannot send an Authorization header: the
 * long-lived token never appears in a URL (logs, history, Referer). A ticket is
 * `v1.<expiry ms>.<nonce>.<HMAC>`; it is valid until expiry (an EventSource reconnect within
 * that window reuses it) and only on GET /api/events.
 */
import { randomBytes } from 'node:crypto';
import { secretsEqual, sign } from './secrets.ts';

export const TICKET_TTL_MS = 60_000;

export function createTicket(secret: string, now = Date.now(), ttlMs = TICKET_TTL_MS): { ticket: string; expiresAt: number } {
  const expiresAt = now + ttlMs;
  const nonce = randomBytes(9).toString('base64url');
  const body = `v1.${expiresAt}.${nonce}`;
  return { ticket: `${body}.${sign(secret, 'ticket', body)}`, expiresAt };
}

export function verifyTicket(secret: string, ticket: string, now = Date.now()): boolean {
  const parts = ticket.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1') return false;
  const expiresAt = Number(parts[1]);
  if (!Number.isSafeInteger(expiresAt) || expiresAt < now) return false;
  const body = parts.slice(0, 3).join('.');
  return secretsEqual(parts[3]!, sign(secret, 'ticket', body));
}

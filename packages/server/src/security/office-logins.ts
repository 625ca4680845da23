/**
 * TinyOffice logins: a one-time login code (minted with the API token by `tinyagi office`) is
 * exchanged once for a login id that travels only in an HttpOnly, SameSite=Strict cookie.
 *
 * - Codes live in memory for LOGIN_CODE_TTL_MS and are spent on first use (a reused or leaked
 *   link is refused). A refusal says why (used, expired, unknown): the hashes of spent and
 *   expired codes are kept for SPENT_MEMORY_MS so the login page can tell the person which.
 * - Sessions are kept as SHA-256 hashes in TINYAGI_HOME/office-sessions.json (mode 0600), so a
 *   daemon restart keeps the browser logged in (the page reconnects by itself) and logout
 *   revokes the session on the server, not only in the browser.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOGIN_COOKIE = 'tinyagi_session';
export const LOGIN_CODE_TTL_MS = 5 * 60_000;
export const LOGIN_TTL_MS = 7 * 24 * 3600_000;
/** The file keeps its first name: an upgraded daemon keeps its browsers logged in. */
const LOGINS_FILE = 'office-sessions.json';
const MAX_LOGINS = 100;
/** How long a spent or expired code is remembered (to say "used" or "expired" instead of "unknown"). */
const SPENT_MEMORY_MS = 24 * 3600_000;
const MAX_SPENT = 1000;

/** Why a login code was refused. */
export type LoginCodeRefusal = 'used' | 'expired' | 'unknown';

const hash = (value: string): string => createHash('sha256').update(value).digest('base64url');

export class OfficeLogins {
  readonly #file: string;
  readonly #codes = new Map<string, number>();
  /** Hash -> when it was spent, or expired unused (the reason says which). */
  readonly #spent = new Map<string, { at: number; reason: 'used' | 'expired' }>();
  #sessions: Map<string, number>;

  constructor(home: string) {
    this.#file = join(home, LOGINS_FILE);
    this.#sessions = this.#load();
  }

  mintCode(now = Date.now()): { code: string; expiresAt: number } {
    this.#prune(now);
    const code = randomBytes(24).toString('base64url');
    const expiresAt = now + LOGIN_CODE_TTL_MS;
    this.#codes.set(hash(code), expiresAt);
    return { code, expiresAt };
  }

  /** The session id for a valid, unused code, or why it was refused; the code is spent either way. */
  exchange(code: string, now = Date.now()): { sessionId: string; expiresAt: number } | { refused: LoginCodeRefusal } {
    const key = hash(code);
    const expiresAt = this.#codes.get(key);
    this.#codes.delete(key);
    if (expiresAt === undefined) return { refused: this.#spent.get(key)?.reason ?? 'unknown' };
    if (expiresAt < now) {
      this.#remember(key, 'expired', now);
      return { refused: 'expired' };
    }
    this.#remember(key, 'used', now);
    this.#prune(now);
    const sessionId = randomBytes(32).toString('base64url');
    const sessionExpiresAt = now + LOGIN_TTL_MS;
    this.#sessions.set(hash(sessionId), sessionExpiresAt);
    // The oldest sessions go first when a browser keeps logging in without logging out.
    while (this.#sessions.size > MAX_LOGINS) this.#sessions.delete(this.#sessions.keys().next().value!);
    this.#save();
    return { sessionId, expiresAt: sessionExpiresAt };
  }

  #remember(key: string, reason: 'used' | 'expired', now: number): void {
    this.#spent.set(key, { at: now, reason });
    while (this.#spent.size > MAX_SPENT) this.#spent.delete(this.#spent.keys().next().value!);
  }

  /** The session's expiry when it is valid. */
  verify(sessionId: string, now = Date.now()): number | undefined {
    const expiresAt = this.#sessions.get(hash(sessionId));
    return expiresAt !== undefined && expiresAt >= now ? expiresAt : undefined;
  }

  revoke(sessionId: string): void {
    if (this.#sessions.delete(hash(sessionId))) this.#save();
  }

  #prune(now: number): void {
    for (const [key, expiresAt] of this.#codes) {
      if (expiresAt >= now) continue;
      this.#codes.delete(key);
      this.#remember(key, 'expired', now);
    }
    for (const [key, spent] of this.#spent) if (spent.at + SPENT_MEMORY_MS < now) this.#spent.delete(key);
    for (const [key, expiresAt] of this.#sessions) if (expiresAt < now) this.#sessions.delete(key);
  }

  #load(): Map<string, number> {
    try {
      const entries = JSON.parse(readFileSync(this.#file, 'utf8')) as unknown;
      if (!Array.isArray(entries)) return new Map();
      return new Map(entries.filter((e): e is [string, number] => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number'));
    } catch {
      // Missing or unreadable: no sessions (the user logs in again).
      return new Map();
    }
  }

  #save(): void {
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.#sessions]), { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
}

/** The value of one cookie from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function loginCookie(sessionId: string, maxAgeMs: number): string {
  return `${LOGIN_COOKIE}=${sessionId}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}`;
}

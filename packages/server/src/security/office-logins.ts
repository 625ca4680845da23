/**
 * TinyOffice logins: a one-time login code (minted with the API token by `tinyagi office`) is
 * exchanged once for a login id that travels only in an HttpOnly, SameSite=Strict cookie.
 *
 * - Codes live in memory for LOGIN_CODE_TTL_MS and are spent on first use (a reused or leaked
 *   link is refused). A refusal says why (used, expired, unknown): the hashes of spent and
 *   expired codes are kept for SPENT_MEMORY_MS so the login page can tell the person which.
 * - Logins are kept as SHA-256 hashes in TINYAGI_HOME/office-logins.json (mode 0600), so a
 *   daemon restart keeps the browser logged in (the page reconnects by itself) and logout
 *   revokes the login on the server, not only in the browser. The file's first name,
 *   office-sessions.json, is still read when the new one is missing (an upgraded daemon keeps its
 *   browsers logged in), and removed at the first write.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOGIN_COOKIE = 'tinyagi_session';
export const LOGIN_CODE_TTL_MS = 5 * 60_000;
export const LOGIN_TTL_MS = 7 * 24 * 3600_000;
const LOGINS_FILE = 'office-logins.json';
/** The file's name before logins were called logins: read when LOGINS_FILE is missing, removed at the first write. */
const OLD_LOGINS_FILE = 'office-sessions.json';
const MAX_LOGINS = 100;
/** How long a spent or expired code is remembered (to say "used" or "expired" instead of "unknown"). */
const SPENT_MEMORY_MS = 24 * 3600_000;
const MAX_SPENT = 1000;

/** Why a login code was refused. */
export type LoginCodeRefusal = 'used' | 'expired' | 'unknown';

const hash = (value: string): string => createHash('sha256').update(value).digest('base64url');

export class OfficeLogins {
  readonly #file: string;
  readonly #oldFile: string;
  readonly #codes = new Map<string, number>();
  /** Hash -> when it was spent, or expired unused (the reason says which). */
  readonly #spent = new Map<string, { at: number; reason: 'used' | 'expired' }>();
  #logins: Map<string, number>;

  constructor(home: string) {
    this.#file = join(home, LOGINS_FILE);
    this.#oldFile = join(home, OLD_LOGINS_FILE);
    this.#logins = this.#load(this.#file) ?? this.#load(this.#oldFile) ?? new Map();
  }

  mintCode(now = Date.now()): { code: string; expiresAt: number } {
    this.#prune(now);
    const code = randomBytes(24).toString('base64url');
    const expiresAt = now + LOGIN_CODE_TTL_MS;
    this.#codes.set(hash(code), expiresAt);
    return { code, expiresAt };
  }

  /** The login id for a valid, unused code, or why it was refused; the code is spent either way. */
  exchange(code: string, now = Date.now()): { loginId: string; expiresAt: number } | { refused: LoginCodeRefusal } {
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
    const loginId = randomBytes(32).toString('base64url');
    const loginExpiresAt = now + LOGIN_TTL_MS;
    this.#logins.set(hash(loginId), loginExpiresAt);
    // The oldest logins go first when a browser keeps logging in without logging out.
    while (this.#logins.size > MAX_LOGINS) this.#logins.delete(this.#logins.keys().next().value!);
    this.#save();
    return { loginId, expiresAt: loginExpiresAt };
  }

  #remember(key: string, reason: 'used' | 'expired', now: number): void {
    this.#spent.set(key, { at: now, reason });
    while (this.#spent.size > MAX_SPENT) this.#spent.delete(this.#spent.keys().next().value!);
  }

  /** The login's expiry when it is valid. */
  verify(loginId: string, now = Date.now()): number | undefined {
    const expiresAt = this.#logins.get(hash(loginId));
    return expiresAt !== undefined && expiresAt >= now ? expiresAt : undefined;
  }

  revoke(loginId: string): void {
    if (this.#logins.delete(hash(loginId))) this.#save();
  }

  #prune(now: number): void {
    for (const [key, expiresAt] of this.#codes) {
      if (expiresAt >= now) continue;
      this.#codes.delete(key);
      this.#remember(key, 'expired', now);
    }
    for (const [key, spent] of this.#spent) if (spent.at + SPENT_MEMORY_MS < now) this.#spent.delete(key);
    for (const [key, expiresAt] of this.#logins) if (expiresAt < now) this.#logins.delete(key);
  }

  /** The logins kept in `file`; undefined when it is missing or unreadable (the user logs in again). */
  #load(file: string): Map<string, number> | undefined {
    try {
      const entries = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (!Array.isArray(entries)) return undefined;
      return new Map(entries.filter((e): e is [string, number] => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number'));
    } catch {
      return undefined;
    }
  }

  #save(): void {
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.#logins]), { mode: 0o600 });
    renameSync(tmp, this.#file);
    rmSync(this.#oldFile, { force: true });
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

export function loginCookie(loginId: string, maxAgeMs: number): string {
  return `${LOGIN_COOKIE}=${loginId}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}`;
}

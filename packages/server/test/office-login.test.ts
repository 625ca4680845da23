/**
 * TinyOffice's login: a one-time login code (minted with the API token only) is exchanged once
 * for an HttpOnly, SameSite=Strict cookie; the cookie opens reads and the event stream, a write
 * with it must come from the page's own origin (CSRF), logout revokes it on the server, and a
 * restarted server still knows it. The static export is served at / with a strict CSP and no
 * way out of its directory.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OfficeLogins } from '../src/security/office-logins.ts';
import { httpRequest, secretLeaks, startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;
let officeDir: string;
beforeAll(async () => {
  officeDir = mkdtempSync(join(tmpdir(), 'tinyagi-office-out-'));
  mkdirSync(join(officeDir, '_next', 'static'), { recursive: true });
  writeFileSync(join(officeDir, 'index.html'), '<!doctype html><title>office</title>');
  writeFileSync(join(officeDir, 'login.html'), '<!doctype html><title>login</title>');
  writeFileSync(join(officeDir, '404.html'), '<!doctype html><title>not found</title>');
  writeFileSync(join(officeDir, '_next', 'static', 'app.js'), 'console.log(1)');
  writeFileSync(join(officeDir, '..', 'outside-secret.txt'), 'secret');
  h = await startHarness({ officeDir });
});
afterAll(async () => {
  await h?.close();
  expect(secretLeaks).toEqual([]);
});

const own = (): string => `http://127.0.0.1:${h.port}`;

async function mintCode(): Promise<string> {
  const res = await httpRequest(h.port, { method: 'POST', path: '/api/auth/login-code', headers: { authorization: `Bearer ${h.token}` } });
  expect(res.status).toBe(201);
  return (JSON.parse(res.text) as { code: string }).code;
}

async function exchange(code: string, origin: string | null = own()) {
  return httpRequest(h.port, {
    method: 'POST',
    path: '/api/auth/session',
    headers: { 'content-type': 'application/json', ...(origin ? { origin, 'sec-fetch-site': 'same-origin' } : {}) },
    body: JSON.stringify({ code }),
  });
}

function cookieOf(setCookie: string | string[] | undefined): { header: string; pair: string } {
  const header = Array.isArray(setCookie) ? setCookie[0]! : String(setCookie);
  return { header, pair: header.split(';')[0]! };
}

async function login(): Promise<string> {
  const res = await exchange(await mintCode());
  expect(res.status).toBe(201);
  return cookieOf(res.headers['set-cookie']).pair;
}

describe('login code -> session cookie', () => {
  it('sets an HttpOnly, SameSite=Strict cookie scoped to the whole origin, and the code works once', async () => {
    const code = await mintCode();
    const first = await exchange(code);
    expect(first.status).toBe(201);
    const { header, pair } = cookieOf(first.headers['set-cookie']);
    expect(pair).toMatch(/^tinyagi_session=[A-Za-z0-9_-]{40,}$/);
    expect(header).toContain('HttpOnly');
    expect(header).toContain('SameSite=Strict');
    expect(header).toContain('Path=/');
    expect(first.headers['cache-control']).toBe('no-store');
    // The cookie carries nothing the token could be derived from, and the body has no credential.
    expect(first.text).not.toContain(pair.split('=')[1]!);

    const again = await exchange(code);
    expect(again.status).toBe(401);
    expect(JSON.parse(again.text).error.code).toBe('LOGIN_CODE_INVALID');
    expect(again.headers['set-cookie']).toBeUndefined();
  });

  it('says why a code is refused: used, expired or unknown (details.reason), in plain words', async () => {
    const code = await mintCode();
    expect((await exchange(code)).status).toBe(201);
    const used = JSON.parse((await exchange(code)).text).error;
    expect(used).toMatchObject({ code: 'LOGIN_CODE_INVALID', details: { reason: 'used' } });
    expect(used.message).toContain('already used');
    const unknown = JSON.parse((await exchange('A'.repeat(32))).text).error;
    expect(unknown).toMatchObject({ code: 'LOGIN_CODE_INVALID', details: { reason: 'unknown' } });

    const logins = new OfficeLogins(h.home);
    const minted = logins.mintCode(1000);
    expect(logins.exchange(minted.code, minted.expiresAt + 1)).toEqual({ refused: 'expired' });
    expect(logins.exchange(minted.code, minted.expiresAt + 2)).toEqual({ refused: 'expired' });
    // One that expired unseen is pruned from the codes but still recognised.
    const late = logins.mintCode(2000);
    logins.mintCode(late.expiresAt + 10);
    expect(logins.exchange(late.code, late.expiresAt + 20)).toEqual({ refused: 'expired' });
    expect(logins.exchange(logins.mintCode().code)).toHaveProperty('loginId');
  });

  it('refuses an unknown code, a code without Origin, and a code from a foreign origin', async () => {
    expect(JSON.parse((await exchange('not-a-code')).text).error.code).toBe('LOGIN_CODE_INVALID');
    expect(JSON.parse((await exchange(await mintCode(), null)).text).error.code).toBe('CSRF_REFUSED');
    const foreign = await exchange(await mintCode(), 'http://evil.example');
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.text).error.code).toBe('ORIGIN_NOT_ALLOWED');
  });

  it('mints codes with the API token only: not without credentials, not with a login', async () => {
    expect((await httpRequest(h.port, { method: 'POST', path: '/api/auth/login-code' })).status).toBe(401);
    const cookie = await login();
    const withLogin = await httpRequest(h.port, { method: 'POST', path: '/api/auth/login-code', headers: { cookie, origin: own(), 'sec-fetch-site': 'same-origin' } });
    expect(withLogin.status).toBe(403);
    expect(JSON.parse(withLogin.text).error.code).toBe('SCOPE_FORBIDDEN');
  });
});

describe('the login cookie on API calls', () => {
  it('opens reads and the event stream; refused without it or with a made-up one', async () => {
    const cookie = await login();
    const status = await httpRequest(h.port, { method: 'GET', path: '/api/status', headers: { cookie } });
    expect(status.status).toBe(200);
    const session = await httpRequest(h.port, { method: 'GET', path: '/api/auth/session', headers: { cookie } });
    expect(JSON.parse(session.text)).toMatchObject({ kind: 'session' });

    expect(JSON.parse((await httpRequest(h.port, { method: 'GET', path: '/api/status' })).text).error.code).toBe('AUTH_REQUIRED');
    const forged = await httpRequest(h.port, { method: 'GET', path: '/api/status', headers: { cookie: 'tinyagi_session=forged' } });
    expect(forged.status).toBe(401);
    expect(JSON.parse(forged.text).error.code).toBe('SESSION_INVALID');

    const controller = new AbortController();
    const stream = await fetch(`${h.url}/api/events`, { headers: { cookie }, signal: controller.signal });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    controller.abort();
  });

  it('refuses a write (CSRF) without Origin, from another site, or cross-origin on the same host', async () => {
    const cookie = await login();
    const post = (headers: Record<string, string>) =>
      httpRequest(h.port, { method: 'POST', path: '/api/message', headers: { cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ message: 'hi', agent: 'coder' }) });
    const noOrigin = await post({});
    expect(noOrigin.status).toBe(403);
    expect(JSON.parse(noOrigin.text).error.code).toBe('CSRF_REFUSED');
    // Another local app (ports do not separate sites): the browser says same-site, not same-origin.
    const sameSite = await post({ origin: 'http://localhost:3000', 'sec-fetch-site': 'same-site' });
    expect(JSON.parse(sameSite.text).error.code).toBe('CSRF_REFUSED');
    // A browser without Sec-Fetch-Site must send our own origin.
    const otherPort = await post({ origin: 'http://127.0.0.1:3000' });
    expect(JSON.parse(otherPort.text).error.code).toBe('CSRF_REFUSED');
    expect((await post({ origin: 'http://evil.example', 'sec-fetch-site': 'same-origin' })).status).toBe(403);

    const ok = await post({ origin: own(), 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(202);
    const legacy = await post({ origin: own() });
    expect(legacy.status).toBe(202);
  });

  it('logout revokes the session on the server and clears the cookie', async () => {
    const cookie = await login();
    const out = await httpRequest(h.port, { method: 'DELETE', path: '/api/auth/session', headers: { cookie, origin: own(), 'sec-fetch-site': 'same-origin' } });
    expect(out.status).toBe(200);
    expect(cookieOf(out.headers['set-cookie']).header).toMatch(/^tinyagi_session=; .*Max-Age=0/);
    const after = await httpRequest(h.port, { method: 'GET', path: '/api/status', headers: { cookie } });
    expect(JSON.parse(after.text).error.code).toBe('SESSION_INVALID');
  });

  it('keeps logins across a restart in a file only the owner can read (hashes, not ids)', async () => {
    const cookie = await login();
    const id = cookie.split('=')[1]!;
    const reopened = new OfficeLogins(h.home);
    expect(reopened.verify(id)).toBeGreaterThan(Date.now());
    const file = join(h.home, 'office-logins.json');
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(readFileSync(file, 'utf8')).not.toContain(id);
  });

  it("reads the logins of the file's old name, office-sessions.json, when the new one is missing, and moves them at the first write", () => {
    const home = mkdtempSync(join(tmpdir(), 'tinyagi-old-logins-'));
    try {
      // The file an older daemon wrote: [hash of the login id, expiry] pairs.
      const before = new OfficeLogins(home);
      const first = before.exchange(before.mintCode().code);
      if (!('loginId' in first)) throw new Error('the code was refused');
      const written = readFileSync(join(home, 'office-logins.json'), 'utf8');
      rmSync(join(home, 'office-logins.json'));
      writeFileSync(join(home, 'office-sessions.json'), written, { mode: 0o600 });

      const upgraded = new OfficeLogins(home);
      expect(upgraded.verify(first.loginId)).toBe(first.expiresAt);
      // A new login writes the new file with both, and the old one goes.
      const second = upgraded.exchange(upgraded.mintCode().code);
      if (!('loginId' in second)) throw new Error('the code was refused');
      expect(existsSync(join(home, 'office-sessions.json'))).toBe(false);
      const reopened = new OfficeLogins(home);
      expect([reopened.verify(first.loginId), reopened.verify(second.loginId)]).toEqual([first.expiresAt, second.expiresAt]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('the static export at /', () => {
  it('serves pages with a CSP that keeps everything on this origin, and assets', async () => {
    const page = await httpRequest(h.port, { method: 'GET', path: '/' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect((await httpRequest(h.port, { method: 'GET', path: '/login' })).text).toContain('<title>login</title>');
    const asset = await httpRequest(h.port, { method: 'GET', path: '/_next/static/app.js' });
    expect(asset.headers['content-type']).toContain('javascript');
    expect(asset.headers['cache-control']).toContain('immutable');
  });

  it('answers the 404 page for unknown pages, never a file outside the export, and the API 404 under /api', async () => {
    const missing = await httpRequest(h.port, { method: 'GET', path: '/nope' });
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('not found');
    for (const path of ['/../outside-secret.txt', '/%2e%2e/outside-secret.txt', '/..%2foutside-secret.txt', '/%00']) {
      const res = await httpRequest(h.port, { method: 'GET', path });
      expect(res.text).not.toContain('secret');
    }
    const api = await httpRequest(h.port, { method: 'GET', path: '/api/nope' });
    expect(api.status).toBe(404);
    expect(JSON.parse(api.text).error.code).toBe('ROUTE_NOT_FOUND');
  });
});

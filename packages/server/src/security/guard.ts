/**
 * The request guard (onRequest hooks), in this order:
 * 1. Host check (DNS rebinding) and Origin check (CORS allowlist): before anything else runs.
 * 2. Credentials: the API token; or a run-scoped token on routes declared `auth: 'run'`; or a
 *    ticket on the event stream; or TinyOffice's session cookie (HttpOnly, SameSite=Strict), for
 *    which a state-changing request must also carry an allowed Origin (CSRF: the cookie alone
 *    never authorises a write). `auth: 'none'` routes (health) and the static, data-free docs
 *    page need nothing; the OpenAPI document itself (/api/openapi.json, /api/docs/json|yaml)
 *    needs the token.
 * Scoped-token target checks (same conversation) happen in the route wrapper, after params are
 * validated (see routing.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { effectiveServer } from '@tinyagi/core';
import { RequestError } from '../errors.ts';
import type { ServerContext } from '../context.ts';
import { isAllowedHost, isAllowedOrigin } from './host-origin.ts';
import { isRunToken, runIdOfToken, verifyRunToken } from './run-token.ts';
import { secretsEqual } from './secrets.ts';
import { verifyTicket } from './tickets.ts';
import { cookieValue, SESSION_COOKIE } from './office-sessions.ts';

export type AuthInfo =
  | { kind: 'none' }
  | { kind: 'token' }
  | { kind: 'ticket' }
  | { kind: 'session'; sessionId: string; expiresAt: number }
  | { kind: 'run'; runId: string; conversationId: string };

/** Route config `auth`: the contract's RouteAuth plus `events` (token or ticket). */
export type GuardMode = 'token' | 'run' | 'none' | 'events';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthInfo;
  }
  interface FastifyContextConfig {
    auth?: GuardMode;
  }
}

/** The swagger-ui page and its bundled assets: no API data, and a browser cannot send a header to open a page. */
function isDocsPage(url: string): boolean {
  return url === '/api/docs' || url === '/api/docs/' || url.startsWith('/api/docs/static/');
}

export function listeningPort(app: FastifyInstance): number | undefined {
  const address = app.server.address();
  return address !== null && typeof address === 'object' ? address.port : undefined;
}

function guardMode(request: FastifyRequest): GuardMode {
  const configured = request.routeOptions.config?.auth;
  if (configured) return configured;
  return isDocsPage(request.routeOptions.url ?? '') ? 'none' : 'token';
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new RequestError('AUTH_INVALID', 'The Authorization header must be "Bearer <token>".');
  return match[1];
}

export function installHostOriginGuard(app: FastifyInstance, ctx: ServerContext): void {
  app.addHook('onRequest', async (request) => {
    const server = effectiveServer(ctx.settings());
    if (!isAllowedHost(request.headers.host, { port: listeningPort(app), allowedHosts: server.allowed_hosts })) {
      throw new RequestError('HOST_NOT_ALLOWED', `Host "${String(request.headers.host ?? '').slice(0, 100)}" is not allowed. Use http://127.0.0.1 or add the name to server.allowed_hosts in settings.json.`);
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !isAllowedOrigin(origin, server.allowed_origins, listeningPort(app))) {
      throw new RequestError('ORIGIN_NOT_ALLOWED', `Origin "${origin.slice(0, 200)}" is not allowed. Add it to server.allowed_origins in settings.json.`);
    }
  });
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A write carrying the session cookie must come from the page itself. Ports do not separate
 * sites, so SameSite=Strict alone would let another local app (localhost:8080) write: the
 * browser's own Sec-Fetch-Site must say `same-origin` (true for the page served by the daemon
 * and for the dev server's proxied /api); a browser without it must send our own Origin. The
 * Origin, when sent, already passed the allowlist in the Host/Origin guard.
 */
function isSameOriginWrite(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  return origin.toLowerCase() === `http://${String(request.headers.host ?? '').toLowerCase()}`;
}

export function installAuthGuard(app: FastifyInstance, ctx: ServerContext): void {
  // Declared with a null placeholder (fastify's advice for per-request values); set on every request below.
  app.decorateRequest('auth', null as never);
  app.addHook('onRequest', async (request) => {
    request.auth = { kind: 'none' };
    // A CORS preflight never carries credentials; @fastify/cors answers it.
    if (request.method === 'OPTIONS') return;
    const mode = guardMode(request);
    if (mode === 'none') return;
    const bearer = bearerOf(request);
    if (bearer === undefined) {
      const ticket = (request.query as Record<string, unknown> | undefined)?.['ticket'];
      if (mode === 'events' && typeof ticket === 'string') {
        if (!verifyTicket(ctx.token, ticket)) throw new RequestError('TICKET_INVALID');
        request.auth = { kind: 'ticket' };
        return;
      }
      const sessionId = cookieValue(request.headers.cookie, SESSION_COOKIE);
      if (sessionId === undefined || sessionId === '') throw new RequestError('AUTH_REQUIRED');
      const expiresAt = ctx.sessions.verify(sessionId);
      if (expiresAt === undefined) throw new RequestError('SESSION_INVALID');
      if (!SAFE_METHODS.has(request.method) && !isSameOriginWrite(request)) throw new RequestError('CSRF_REFUSED');
      request.auth = { kind: 'session', sessionId, expiresAt };
      return;
    }
    if (isRunToken(bearer)) {
      if (mode !== 'run') throw new RequestError('SCOPE_FORBIDDEN', 'A run-scoped token may only spawn and read runs of its own conversation.');
      const runId = runIdOfToken(bearer);
      const run = runId === undefined ? undefined : ctx.stores.runs.getRun(runId);
      if (!run || !verifyRunToken(ctx.token, bearer, run.id, run.conversationId)) throw new RequestError('AUTH_INVALID', 'The run-scoped token is not valid.');
      request.auth = { kind: 'run', runId: run.id, conversationId: run.conversationId };
      return;
    }
    if (!secretsEqual(bearer, ctx.token)) throw new RequestError('AUTH_INVALID');
    request.auth = { kind: 'token' };
  });
}

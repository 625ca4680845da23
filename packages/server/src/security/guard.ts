/**
 * The request guard (onRequest hooks), in this order:
 * 1. Host check (DNS rebinding) and Origin check (CORS allowlist): before anything else runs.
 * 2. Credentials: the API token; or a run-scoped token on routes declared `auth: 'run'`; or a
 *    channel-scoped token on routes declared `auth: 'channel'` and on the event stream; or a
 *    ticket on the event stream. `auth: 'none'` routes (health) and the static, data-free docs
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
import { isChannelToken, verifyChannelToken } from './channel-token.ts';
import { isRunToken, runIdOfToken, verifyRunToken } from './run-token.ts';
import { secretsEqual } from './secrets.ts';
import { verifyTicket } from './tickets.ts';

export type AuthInfo =
  | { kind: 'none' }
  | { kind: 'token' }
  | { kind: 'ticket' }
  | { kind: 'run'; runId: string; conversationId: string }
  | { kind: 'channel'; channel: string };

/** Route config `auth`: the contract's RouteAuth plus `events` (token or ticket). */
export type GuardMode = 'token' | 'run' | 'channel' | 'none' | 'events';

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
      throw new RequestError('AUTH_REQUIRED');
    }
    if (isChannelToken(bearer)) {
      const channel = verifyChannelToken(ctx.token, bearer);
      if (channel === undefined) throw new RequestError('AUTH_INVALID', 'The channel-scoped token is not valid.');
      if (mode !== 'channel' && mode !== 'events') {
        throw new RequestError('SCOPE_FORBIDDEN', 'A channel-scoped token may only post messages, claim and ack its own outbox, raise pairing requests and read its own events.');
      }
      request.auth = { kind: 'channel', channel };
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

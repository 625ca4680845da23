/**
 * The request guard (onRequest hooks), in this order:
 * 1. Host check (DNS rebinding) and Origin check (CORS allowlist): before anything else runs.
 * 2. Credentials: the API token; or a run-scoped token, while its run runs (else RUN_ENDED), on routes declared `auth: 'run'`; or an
 *    agent CLI process's tools token, while its process is there, on `/mcp` (`auth: 'mcp'`); or a
 *    channel-scoped token on routes declared `auth: 'channel'` and on the event stream; or a
 *    ticket on the event stream; or TinyOffice's session cookie (HttpOnly, SameSite=Strict), for
 *    which a state-changing request must also come from the page's own origin (CSRF: the cookie
 *    alone never authorises a write). `auth: 'none'` routes (health) and the static, data-free docs
 *    page need nothing; the OpenAPI document itself (/api/openapi.json, /api/docs/json|yaml)
 *    needs the token. Missing or wrong credentials are counted per client address: past
 *    `server.rate_limit.auth_failures_per_minute` they are answered 429 instead of 401. A valid
 *    credential always passes, since every local process shares the loopback address.
 * 3. Rate limits per credential on routes that declare one (installRateLimits).
 * Scoped-token target checks (same conversation) happen in the route wrapper, after params are
 * validated (see routing.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TERMINAL_RUN_STATUSES } from '@tinyagi/core';
import { effectiveServer, isToolsToken, toolsTokenOpen } from '../core-internal.ts';
import { RequestError } from '../errors.ts';
import type { ServerContext } from '../context.ts';
import type { RateLimitClass } from '@tinyagi/client/contract';
import { isAllowedHost, isAllowedOrigin } from './host-origin.ts';
import { TokenBuckets, type BucketRate } from './rate-limit.ts';
import { isChannelToken, verifyChannelToken } from './channel-token.ts';
import { isRunToken, runIdOfToken, verifyRunToken } from './run-token.ts';
import { secretsEqual } from './secrets.ts';
import { verifyTicket } from './tickets.ts';
import { cookieValue, LOGIN_COOKIE } from './office-logins.ts';

export type AuthInfo =
  | { kind: 'none' }
  | { kind: 'token' }
  | { kind: 'ticket' }
  | { kind: 'login'; loginId: string; expiresAt: number }
  | { kind: 'run'; runId: string; conversationId: string }
  | { kind: 'tools'; token: string }
  | { kind: 'channel'; channel: string };

/** Route config `auth`: the contract's RouteAuth plus `events` (token or ticket) and `mcp` (token or tools token). */
export type GuardMode = 'token' | 'run' | 'channel' | 'none' | 'events' | 'mcp';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthInfo;
  }
  interface FastifyContextConfig {
    auth?: GuardMode;
    limit?: RateLimitClass;
  }
}

export function listeningPort(app: FastifyInstance): number | undefined {
  const address = app.server.address();
  return address !== null && typeof address === 'object' ? address.port : undefined;
}

function guardMode(request: FastifyRequest): GuardMode {
  return request.routeOptions.config?.auth ?? 'token';
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
      throw new RequestError(
        'HOST_NOT_ALLOWED',
        `Host "${String(request.headers.host ?? '').slice(0, 100)}" is not allowed. Use http://127.0.0.1 or add the name to server.allowed_hosts in settings.json.`,
      );
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !isAllowedOrigin(origin, server.allowed_origins, listeningPort(app))) {
      throw new RequestError('ORIGIN_NOT_ALLOWED', `Origin "${origin.slice(0, 200)}" is not allowed. Add it to server.allowed_origins in settings.json.`);
    }
  });
}

const AUTH_FAILURES = new Set(['AUTH_REQUIRED', 'AUTH_INVALID', 'TICKET_INVALID', 'SESSION_INVALID']);

/** A 429 that says how long to wait (Retry-After and the body) and what to do about it. */
function rateLimited(reply: FastifyReply, retryAfterMs: number, message: string, rate: BucketRate): RequestError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  reply.header('retry-after', String(seconds));
  return new RequestError('RATE_LIMITED', `${message} Retry in ${seconds} s (Retry-After).`, { retryAfterS: seconds, burst: rate.burst, perSecond: rate.perSecond });
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
  const failures = new TokenBuckets();
  app.addHook('onRequest', async (request, reply) => {
    request.auth = { kind: 'none' };
    // A CORS preflight never carries credentials; @fastify/cors answers it.
    if (request.method === 'OPTIONS') return;
    const mode = guardMode(request);
    if (mode === 'none') return;
    try {
      request.auth = await authenticate(request, mode, ctx);
    } catch (err) {
      if (!(err instanceof RequestError) || !AUTH_FAILURES.has(err.code)) throw err;
      const perMinute = effectiveServer(ctx.settings()).rate_limit.auth_failures_per_minute;
      const rate = { burst: perMinute, perSecond: perMinute / 60 };
      const taken = failures.take(request.ip, rate);
      if (!taken.ok) {
        throw rateLimited(
          reply,
          taken.retryAfterMs,
          `Too many requests with a missing or wrong API token from this address (at most ${perMinute} a minute). Send "Authorization: Bearer <token>" with the token from TINYAGI_HOME/api-token or TINYAGI_API_TOKEN.`,
          rate,
        );
      }
      throw err;
    }
  });
}

/** Per-credential limits of the routes that declare a class; runs after the auth guard. */
export function installRateLimits(app: FastifyInstance, ctx: ServerContext): void {
  const buckets = new TokenBuckets();
  app.addHook('onRequest', async (request, reply) => {
    const limit = request.routeOptions.config?.limit;
    if (!limit || request.method === 'OPTIONS') return;
    const who = request.auth.kind === 'run' ? `run:${request.auth.runId}` : request.auth.kind === 'channel' ? `channel:${request.auth.channel}` : request.auth.kind;
    let rate: BucketRate;
    let message: string;
    if (limit === 'message') {
      const r = effectiveServer(ctx.settings()).rate_limit;
      rate = { burst: r.message_burst, perSecond: r.messages_per_second };
      message = `Too many messages: a token may send ${r.message_burst} at once, then ${r.messages_per_second} a second. Slow down, or raise server.rate_limit.message_burst / messages_per_second in settings.json.`;
    } else {
      rate = { burst: ctx.limits.pairingPerMinute, perSecond: ctx.limits.pairingPerMinute / 60 };
      message = `Too many pairing requests (at most ${ctx.limits.pairingPerMinute} a minute).`;
    }
    const taken = buckets.take(`${limit}:${who}`, rate);
    if (!taken.ok) throw rateLimited(reply, taken.retryAfterMs, message, rate);
  });
}

async function authenticate(request: FastifyRequest, mode: GuardMode, ctx: ServerContext): Promise<AuthInfo> {
  const bearer = bearerOf(request);
  if (bearer === undefined) {
    const ticket = (request.query as Record<string, unknown> | undefined)?.['ticket'];
    if (mode === 'events' && typeof ticket === 'string') {
      if (!verifyTicket(ctx.token, ticket)) throw new RequestError('TICKET_INVALID');
      return { kind: 'ticket' };
    }
    const loginId = cookieValue(request.headers.cookie, LOGIN_COOKIE);
    if (loginId === undefined || loginId === '') throw new RequestError('AUTH_REQUIRED');
    const expiresAt = ctx.logins.verify(loginId);
    if (expiresAt === undefined) throw new RequestError('SESSION_INVALID');
    if (!SAFE_METHODS.has(request.method) && !isSameOriginWrite(request)) throw new RequestError('CSRF_REFUSED');
    return { kind: 'login', loginId, expiresAt };
  }
  if (isChannelToken(bearer)) {
    const channel = verifyChannelToken(ctx.token, bearer);
    if (channel === undefined) throw new RequestError('AUTH_INVALID', 'The channel-scoped token is not valid.');
    if (mode !== 'channel' && mode !== 'events') {
      throw new RequestError(
        'SCOPE_FORBIDDEN',
        "A channel-scoped token may only post messages, claim and ack its own outbox, check its senders and raise pairing requests, stop, reset and check its own chats, read and answer its own chats' approval requests and memory proposals, and read its own events.",
      );
    }
    return { kind: 'channel', channel };
  }
  if (isRunToken(bearer)) {
    if (mode !== 'run')
      throw new RequestError('SCOPE_FORBIDDEN', 'A run-scoped token may only act for its own run (spawn its sub-agents, ask, declare actions, update its task) and read runs of its own conversation.');
    const runId = runIdOfToken(bearer);
    const run = runId === undefined ? undefined : await ctx.stores.runs.getRun(runId);
    if (!run || !verifyRunToken(ctx.token, bearer, run.id, run.conversationId)) throw new RequestError('AUTH_INVALID', 'The run-scoped token is not valid.');
    // A token works while its run runs: what its CLI left behind (a background job, a file) cannot act for the run later.
    if (TERMINAL_RUN_STATUSES.includes(run.status)) {
      throw new RequestError('RUN_ENDED', `The run-scoped token's run ${run.id} has ended (${run.status}): a run's token works only while its run runs.`);
    }
    return { kind: 'run', runId: run.id, conversationId: run.conversationId };
  }
  if (isToolsToken(bearer)) {
    if (mode !== 'mcp') throw new RequestError('SCOPE_FORBIDDEN', "A tools token may only reach TinyAGI's agent tools at /mcp.");
    // What a tool may do is checked again with the current run's own token when the tool acts.
    if (!toolsTokenOpen(bearer)) throw new RequestError('AUTH_INVALID', 'The tools token is not valid: its agent process has ended, or the daemon was restarted since.');
    return { kind: 'tools', token: bearer };
  }
  if (!secretsEqual(bearer, ctx.token)) throw new RequestError('AUTH_INVALID');
  return { kind: 'token' };
}

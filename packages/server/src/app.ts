/**
 * buildServer: the Fastify app with every route and its http server, not listening yet (tests
 * use `inject` and real sockets alike; the daemon calls startServer).
 *
 * An app is built in two steps (docs/startup-snapshot.md):
 * - `prepareApp` builds everything that depends only on the app's shape (its limits and whether
 *   it serves TinyOffice): Fastify, its hooks, plugins and every route. It reads nothing of the
 *   server context, whose object it is given empty, and makes no http server (a late one stands
 *   in). The daemon's start-up snapshot holds one prepared app, built and made ready while the
 *   snapshot is built; that is ~35 ms of every start the daemon no longer spends.
 * - `buildServer` fills the context from its options and attaches a real http server, to the
 *   snapshot's prepared app when its shape is the one asked for, else to one prepared now.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyCors from '@fastify/cors';
import { fastifySSE } from '@fastify/sse';
import { effectiveServer } from '@tinyagi/core/internal';
import { registerApiDocs } from './api-docs.ts';
import { createContext, type ServerContext } from './context.ts';
import { builtin, lateServer, type ServerTimeouts } from './late-server.ts';
import { installErrorHandling, parseJsonBody, toErrorReply } from './error-handler.ts';
import { DEFAULT_SERVER_LIMITS, type BuildServerOptions, type ServerLimits } from './options.ts';
import { registerContractRoutes } from './routing.ts';
import { registerOfficeStatic } from './office-static.ts';
import { isAllowedOrigin } from './security/host-origin.ts';
import { installAuthGuard, installHostOriginGuard, installRateLimits, listeningPort } from './security/guard.ts';
import { agentRoutes } from './routes/agents.ts';
import { conversationRoutes } from './routes/conversations.ts';
import { registerEventStream } from './routes/events.ts';
import { messageRoutes } from './routes/messages.ts';
import { outboxRoutes } from './routes/outbox.ts';
import { pairingRoutes } from './routes/pairing.ts';
import { providerRoutes } from './routes/providers.ts';
import { kindRoutes } from './routes/kinds.ts';
import { queueRoutes } from './routes/queue.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { settingsRoutes } from './routes/settings.ts';
import { systemRoutes } from './routes/system.ts';
import { taskRoutes } from './routes/tasks.ts';
import { teamRoutes } from './routes/teams.ts';
import { usageRoutes } from './routes/usage.ts';
import { useZodCompilers, ZOD_SCHEMA_CONTROLLER } from './zod-compilers.ts';

export interface TinyServer extends FastifyInstance {
  tiny: ServerContext;
}

/** Fastify's defaults, named: Fastify applies them to a server it makes itself, the late server to the one attached. */
const HTTP_TIMEOUTS: ServerTimeouts = { connectionTimeout: 0, keepAliveTimeout: 72_000, requestTimeout: 0 };

/** What an app's construction depends on; everything else is read from the context per request. */
export interface AppShape {
  limits: ServerLimits;
  logger: boolean | object;
  /** TinyOffice's routes (the export's folder is the context's `officeDir`, read per request). */
  office: boolean;
}

export function appShape(options: Pick<BuildServerOptions, 'limits' | 'logger' | 'officeDir'>): AppShape {
  return { limits: { ...DEFAULT_SERVER_LIMITS, ...options.limits }, logger: options.logger ?? false, office: options.officeDir !== undefined };
}

function sameShape(a: AppShape, b: AppShape): boolean {
  return a.office === b.office && a.logger === b.logger && (Object.keys(a.limits) as Array<keyof ServerLimits>).every((k) => a.limits[k] === b.limits[k]);
}

export interface PreparedApp {
  app: TinyServer;
  shape: AppShape;
  /** Fills the context (once) and attaches a real http server; the app is then as buildServer returns it. */
  bind(options: BuildServerOptions): TinyServer;
}

/**
 * Everything of an app that depends on its shape only. `ctx` is the object the routes will read
 * per request; it may be empty here (nothing reads it while building; a test holds it to that).
 */
export async function prepareApp(shape: AppShape, ctx: ServerContext = {} as ServerContext): Promise<PreparedApp> {
  const server = lateServer();
  const app = Fastify({
    serverFactory: (handler) => server.factory(handler),
    ...HTTP_TIMEOUTS,
    logger: shape.logger,
    schemaController: ZOD_SCHEMA_CONTROLLER,
    // No automatic HEAD twin for every GET: ~60 JSON routes would each get a second route context
    // (~0.35 MB of heap and ~10 ms of start-up, docs/profiling.md round 8). Routes a monitor or a
    // browser may HEAD ask for one themselves (`/api/health`, TinyOffice's pages).
    exposeHeadRoutes: false,
    // Our own ids (a client's X-Request-Id is not trusted); 5xx answers carry them and the log line has the stack.
    requestIdHeader: false,
    genReqId: () => randomBytes(6).toString('hex'),
    bodyLimit: shape.limits.bodyBytes,
    // Long-lived SSE connections must not keep close() waiting.
    forceCloseConnections: true,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 500 },
    // Router errors (malformed percent-encoding) answer in the API's error shape too.
    // Malformed HTTP (bad framing, oversized headers) is answered on the socket, in the API's shape.
    clientErrorHandler: (err, socket) => {
      const body = JSON.stringify({ error: { code: 'BAD_REQUEST', message: `Malformed HTTP request (${(err as NodeJS.ErrnoException).code ?? err.message}).` } });
      if (socket.writable) socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      else socket.destroy();
    },
    // The body is drained first so its bytes are never read as a next request on the socket.
    frameworkErrors: (error, request, reply) => {
      const known = toErrorReply(error) ?? { status: 400, body: { error: { code: 'BAD_REQUEST', message: error.message } } };
      request.raw.resume();
      reply.raw.statusCode = known.status;
      reply.raw.setHeader('content-type', 'application/json; charset=utf-8');
      reply.raw.end(JSON.stringify(known.body));
    },
  });
  app.decorate('tiny', ctx);
  useZodCompilers(app);
  installErrorHandling(app, ctx);
  // A change is acknowledged only once it is on disk: commits are fsynced off the event loop
  // (core/src/storage/durable-commit.ts), so a mutating request's answer waits for its fsync.
  app.addHook('onSend', async (request, _reply, payload) => {
    if (request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS') await ctx.stores.whenDurable();
    return payload;
  });

  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string, ctx.limits.jsonDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  installHostOriginGuard(app, ctx);
  await app.register(fastifyCors, {
    origin: (origin, cb) => cb(null, origin !== undefined && isAllowedOrigin(origin, effectiveServer(ctx.settings()).allowed_origins, listeningPort(app))),
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'last-event-id'],
    maxAge: 600,
  });
  installAuthGuard(app, ctx);
  installRateLimits(app, ctx);
  await app.register(fastifySSE, { heartbeatInterval: shape.limits.sseKeepAliveMs });
  registerContractRoutes(app, ctx, {
    ...systemRoutes(ctx),
    ...messageRoutes(ctx),
    ...queueRoutes(ctx),
    ...outboxRoutes(ctx),
    ...conversationRoutes(ctx),
    ...agentRoutes(ctx),
    ...teamRoutes(ctx),
    ...providerRoutes(ctx),
    ...kindRoutes(),
    ...settingsRoutes(ctx),
    ...pairingRoutes(ctx),
    ...scheduleRoutes(ctx),
    ...taskRoutes(ctx),
    ...usageRoutes(ctx),
  });
  registerEventStream(app, ctx);
  registerApiDocs(app, ctx);
  if (shape.office) registerOfficeStatic(app, ctx);

  const tiny = app as unknown as TinyServer;
  let bound = false;
  return {
    app: tiny,
    shape,
    bind(options) {
      if (bound) throw new Error('This prepared app is bound already: prepare another one.');
      bound = true;
      Object.assign(ctx, createContext(options));
      server.attach((handler) => builtin('node:http').createServer(handler), HTTP_TIMEOUTS);
      return tiny;
    },
  };
}

/** The app of the start-up snapshot, prepared and made ready while the snapshot was built; used once. */
let snapshotApp: PreparedApp | undefined;

/** For the snapshot builder: prepares the daemon's app (the shape of `options`) and makes it ready. */
export async function prepareSnapshotApp(options: Pick<BuildServerOptions, 'limits' | 'logger' | 'officeDir'>): Promise<void> {
  const prepared = await prepareApp(appShape(options));
  await prepared.app.ready();
  snapshotApp = prepared;
}

export async function buildServer(options: BuildServerOptions): Promise<TinyServer> {
  return (await buildServerFrom(options)).app;
}

/** buildServer, saying whether the app is the start-up snapshot's (startServer reports it). */
export async function buildServerFrom(options: BuildServerOptions): Promise<{ app: TinyServer; fromSnapshot: boolean }> {
  const shape = appShape(options);
  const taken = snapshotApp;
  snapshotApp = undefined;
  const fromSnapshot = taken !== undefined && sameShape(taken.shape, shape);
  return { app: (fromSnapshot ? taken : await prepareApp(shape)).bind(options), fromSnapshot };
}

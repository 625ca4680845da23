/**
 * buildServer: the Fastify app with every route and its http server, not listening yet (tests
 * use `inject` and real sockets alike; the daemon calls startServer). Built plainly, in order:
 * the context from the options (complete: every route reads it per request), then the app with
 * its hooks, plugins and routes. Fastify makes its http server itself.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyCors from '@fastify/cors';
import { fastifySSE } from '@fastify/sse';
import { effectiveServer } from './core-internal.ts';
import { registerApiDocs } from './api-docs.ts';
import { createContext, type ServerContext } from './context.ts';
import { installErrorHandling, parseJsonBody, toErrorReply } from './error-handler.ts';
import type { BuildServerOptions } from './options.ts';
import { registerContractRoutes } from './routing.ts';
import { registerOfficeStatic } from './office-static.ts';
import { isAllowedOrigin } from './security/host-origin.ts';
import { installAuthGuard, installHostOriginGuard, installRateLimits, listeningPort } from './security/guard.ts';
import { agentRoutes } from './routes/agents.ts';
import { conversationRoutes } from './routes/conversations.ts';
import { registerEventStream } from './routes/events.ts';
import { registerMcpEndpoint } from './routes/mcp.ts';
import { messageRoutes } from './routes/messages.ts';
import { installChannelClientSignIn, outboxRoutes } from './routes/outbox.ts';
import { pairingRoutes } from './routes/pairing.ts';
import { providerRoutes } from './routes/providers.ts';
import { kindRoutes } from './routes/kinds.ts';
import { quotaRoutes } from './routes/quotas.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { approvalBatchRoutes } from './routes/approval-batch.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { queueRoutes } from './routes/queue.ts';
import { runToolRoutes } from './routes/run-tools.ts';
import { memoryRoutes } from './routes/memory.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { settingsRoutes } from './routes/settings.ts';
import { systemRoutes } from './routes/system.ts';
import { taskRoutes } from './routes/tasks.ts';
import { teamRoutes } from './routes/teams.ts';
import { usageRoutes } from './routes/usage.ts';
import { workflowRoutes } from './routes/workflows.ts';
import { useZodCompilers, ZOD_SCHEMA_CONTROLLER } from './zod-compilers.ts';

export interface TinyServer extends FastifyInstance {
  tiny: ServerContext;
}

export async function buildServer(options: BuildServerOptions): Promise<TinyServer> {
  const ctx = createContext(options);
  const app = Fastify({
    logger: options.logger ?? false,
    schemaController: ZOD_SCHEMA_CONTROLLER,
    // No automatic HEAD twin for every GET: ~60 JSON routes would each get a second route context
    // (~0.35 MB of heap and ~10 ms of start-up, docs/profiling.md round 8). Routes a monitor or a
    // browser may HEAD ask for one themselves (`/api/health`, TinyOffice's pages).
    exposeHeadRoutes: false,
    // Our own ids (a client's X-Request-Id is not trusted); 5xx answers carry them and the log line has the stack.
    requestIdHeader: false,
    genReqId: () => randomBytes(6).toString('hex'),
    bodyLimit: ctx.limits.bodyBytes,
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
  // Delivery hears of every channel client the guard authenticated (its replies are held for it).
  installChannelClientSignIn(app, ctx);
  installRateLimits(app, ctx);
  await app.register(fastifySSE, { heartbeatInterval: ctx.limits.sseKeepAliveMs });
  registerContractRoutes(app, ctx, {
    ...systemRoutes(ctx),
    ...messageRoutes(ctx),
    ...queueRoutes(ctx),
    ...outboxRoutes(ctx),
    ...conversationRoutes(ctx),
    ...agentRoutes(ctx),
    ...teamRoutes(ctx),
    ...providerRoutes(ctx),
    ...kindRoutes(ctx.env),
    ...quotaRoutes(ctx),
    ...sessionRoutes(ctx),
    ...approvalRoutes(ctx),
    ...approvalBatchRoutes(ctx),
    ...runToolRoutes(ctx),
    ...memoryRoutes(ctx),
    ...settingsRoutes(ctx),
    ...pairingRoutes(ctx),
    ...scheduleRoutes(ctx),
    ...taskRoutes(ctx),
    ...usageRoutes(ctx),
    ...workflowRoutes(ctx),
  });
  // A task flow made here (no daemon passed one): tasks whose step a stop interrupted resume once the server is up (docs/git-tasks.md);
  // a Checking in flight finishes (its checks are bounded by their timeouts) before the stores close.
  if (ctx.ownsTaskFlow) {
    app.addHook('onReady', () => ctx.taskFlow.start());
    app.addHook('onClose', () => ctx.taskFlow.stop());
  }
  if (ctx.ownsWorkflows) {
    app.addHook('onReady', () => ctx.workflows.start());
    app.addHook('onClose', () => ctx.workflows.stop());
  }
  registerEventStream(app, ctx);
  if (options.mcp) registerMcpEndpoint(app, options.mcp, ctx.log);
  registerApiDocs(app, ctx);
  if (ctx.officeDir !== undefined) registerOfficeStatic(app, ctx);

  return app as unknown as TinyServer;
}

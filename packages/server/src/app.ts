/**
 * buildServer: the Fastify app with every route, without listening (tests use `inject` and real
 * sockets alike; the daemon calls startServer).
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import { fastifySSE } from '@fastify/sse';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { effectiveServer } from '@tinyagi/core';
import { createContext, type ServerContext } from './context.ts';
import { RequestError } from './errors.ts';
import { installErrorHandling, parseJsonBody, toErrorReply } from './error-handler.ts';
import type { BuildServerOptions } from './options.ts';
import { registerContractRoutes } from './routing.ts';
import { registerOfficeStatic } from './office-static.ts';
import { isAllowedOrigin } from './security/host-origin.ts';
import { installAuthGuard, installHostOriginGuard, listeningPort } from './security/guard.ts';
import { agentRoutes } from './routes/agents.ts';
import { conversationRoutes } from './routes/conversations.ts';
import { registerEventStream } from './routes/events.ts';
import { messageRoutes } from './routes/messages.ts';
import { outboxRoutes } from './routes/outbox.ts';
import { pairingRoutes } from './routes/pairing.ts';
import { providerRoutes } from './routes/providers.ts';
import { queueRoutes } from './routes/queue.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { settingsRoutes } from './routes/settings.ts';
import { systemRoutes } from './routes/system.ts';
import { taskRoutes } from './routes/tasks.ts';
import { teamRoutes } from './routes/teams.ts';
import { usageRoutes } from './routes/usage.ts';

/** The docs page's browser globals (the interceptors below run there, not in Node). */
type DocsPage = { tinyagiToken?: string; prompt(message: string): string | null };

/**
 * The docs page (/api/docs/) is static and public; the document it loads (/api/docs/json) needs
 * the token like every other route. These run in the browser (swagger-ui-dist serialises them
 * with toString, so they stay self-contained): the first request asks for the token, keeps it in
 * the page's memory only (never in a URL or in storage) and sends it as a header; a 401 forgets
 * it so a reload asks again.
 */
const DOCS_UI_CONFIG = {
  requestInterceptor: function (request: Record<string, unknown>) {
    const page = globalThis as unknown as DocsPage;
    const headers = request['headers'] as Record<string, string>;
    if (headers['Authorization'] === undefined && headers['authorization'] === undefined) {
      if (!page.tinyagiToken) page.tinyagiToken = page.prompt('TinyAGI API token (the contents of ~/.tinyagi/api-token, or TINYAGI_API_TOKEN):') ?? '';
      if (page.tinyagiToken) headers['Authorization'] = `Bearer ${page.tinyagiToken.trim()}`;
    }
    return request;
  },
  responseInterceptor: function (response: Record<string, unknown>) {
    if (response['status'] === 401) (globalThis as unknown as DocsPage).tinyagiToken = '';
    return response;
  },
};

export interface TinyServer extends FastifyInstance {
  tiny: ServerContext;
}

export async function buildServer(options: BuildServerOptions): Promise<TinyServer> {
  const ctx = createContext(options);
  const app = Fastify({
    logger: options.logger ?? false,
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
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app, ctx.log);

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
  await app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new RequestError('RATE_LIMITED', `Too many requests: at most ${context.max} per minute on this route. Retry in ${Math.ceil(context.ttl / 1000)} s.`),
  });
  await app.register(fastifySSE, { heartbeatInterval: ctx.limits.sseKeepAliveMs });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'TinyAGI API', version: ctx.version, description: 'REST + SSE API of the TinyAGI daemon. Every route except /api/health needs `Authorization: Bearer <token>`.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs', staticCSP: true, uiConfig: DOCS_UI_CONFIG });

  registerContractRoutes(app, ctx, {
    ...systemRoutes(ctx),
    ...messageRoutes(ctx),
    ...queueRoutes(ctx),
    ...outboxRoutes(ctx),
    ...conversationRoutes(ctx),
    ...agentRoutes(ctx),
    ...teamRoutes(ctx),
    ...providerRoutes(ctx),
    ...settingsRoutes(ctx),
    ...pairingRoutes(ctx),
    ...scheduleRoutes(ctx),
    ...taskRoutes(ctx),
    ...usageRoutes(ctx),
  });
  registerEventStream(app, ctx);
  app.get('/api/openapi.json', { schema: { hide: true } }, () => app.swagger());
  if (options.officeDir !== undefined) registerOfficeStatic(app, options.officeDir);

  return app as unknown as TinyServer;
}

/**
 * The OpenAPI document (/api/openapi.json, /api/docs/json|yaml) and the docs page (/api/docs),
 * built on first use. The swagger plugins, their YAML and static-file dependencies and the JSON
 * Schema of every route were a sixth of the daemon's modules and start-up time, for pages most
 * daemons never serve (docs/profiling.md). The first request builds a private Fastify instance
 * holding the swagger plugins and every route's schema (no handlers) and the main app forwards
 * to it with inject; Host, Origin and token checks have already run in the main app (the page
 * and its assets are public, the document needs the token).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { ServerContext } from './context.ts';
import { RequestError } from './errors.ts';
import { contractRouteSchema } from './routing.ts';
import { EVENTS_ROUTE_SCHEMA } from './routes/events.ts';
import { apiContract, EVENTS_PATH, type RouteDef, type RouteName } from '@tinyagi/client/contract';
import { useZodCompilers, ZOD_SCHEMA_CONTROLLER } from './zod-compilers.ts';

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
  requestInterceptor: (request: Record<string, unknown>) => {
    const page = globalThis as unknown as DocsPage;
    const headers = request['headers'] as Record<string, string>;
    if (headers['Authorization'] === undefined && headers['authorization'] === undefined) {
      if (!page.tinyagiToken) page.tinyagiToken = page.prompt('TinyAGI API token (the contents of ~/.tinyagi/api-token, or TINYAGI_API_TOKEN):') ?? '';
      if (page.tinyagiToken) headers['Authorization'] = `Bearer ${page.tinyagiToken.trim()}`;
    }
    return request;
  },
  responseInterceptor: (response: Record<string, unknown>) => {
    if (response['status'] === 401) (globalThis as unknown as DocsPage).tinyagiToken = '';
    return response;
  },
};

/** Request headers the docs instance may act on (caching, ranges); nothing else crosses over. */
const FORWARDED_REQUEST_HEADERS = ['accept', 'if-none-match', 'if-modified-since', 'range'];
/** Set again by the main app's reply. */
const DROPPED_RESPONSE_HEADERS = new Set(['content-length', 'connection', 'transfer-encoding', 'date', 'keep-alive']);

async function buildDocsApp(ctx: ServerContext): Promise<FastifyInstance> {
  const [{ default: Fastify }, { default: fastifySwagger }, { default: fastifySwaggerUi }] = await Promise.all([import('fastify'), import('@fastify/swagger'), import('@fastify/swagger-ui')]);
  const docs = Fastify({ logger: false, schemaController: ZOD_SCHEMA_CONTROLLER });
  useZodCompilers(docs);
  await docs.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'TinyAGI API', version: ctx.version, description: 'REST + SSE API of the TinyAGI daemon. Every route except /api/health needs `Authorization: Bearer <token>`.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await docs.register(fastifySwaggerUi, { routePrefix: '/api/docs', staticCSP: true, uiConfig: DOCS_UI_CONFIG });
  const documentedOnly = async (): Promise<never> => {
    throw new RequestError('NOT_AVAILABLE');
  };
  for (const [name, def] of Object.entries(apiContract) as Array<[RouteName, RouteDef]>) {
    docs.route({ method: def.method, url: def.path, schema: contractRouteSchema(name, def), handler: documentedOnly });
  }
  docs.get(EVENTS_PATH, { schema: EVENTS_ROUTE_SCHEMA, exposeHeadRoute: false }, documentedOnly);
  await docs.ready();
  return docs;
}

export function registerApiDocs(app: FastifyInstance, ctx: ServerContext): void {
  let built: Promise<FastifyInstance> | undefined;
  const docsApp = (): Promise<FastifyInstance> => {
    built ??= buildDocsApp(ctx).catch((err: unknown) => {
      built = undefined;
      throw err;
    });
    return built;
  };
  app.addHook('onClose', async () => {
    if (built) await (await built).close();
  });

  const forward = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const docs = await docsApp();
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const res = await docs.inject({ method: request.method as 'GET' | 'HEAD', url: request.url, headers });
    reply.code(res.statusCode);
    for (const [name, value] of Object.entries(res.headers)) {
      if (!DROPPED_RESPONSE_HEADERS.has(name) && value !== undefined) reply.header(name, value);
    }
    return reply.send(res.rawPayload);
  };

  app.get('/api/openapi.json', async () => (await docsApp()).swagger());
  // The page and its assets are public: no API data in them, and a browser cannot send a header to open a page.
  for (const url of ['/api/docs', '/api/docs/', '/api/docs/static/*']) app.get(url, { config: { auth: 'none' } }, forward);
  for (const url of ['/api/docs/json', '/api/docs/yaml']) app.get(url, forward);
}

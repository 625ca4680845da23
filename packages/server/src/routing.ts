/**
 * Registers the contract's routes: each gets its zod schemas (validation, serialization and the
 * OpenAPI document), its auth mode and rate limit, and a typed handler from a route module.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RequestError } from './errors.ts';
import type { ServerContext } from './context.ts';
import { apiContract, ErrorBodySchema, type ApiContract, type RouteDef, type RouteName } from '@tinyagi/client/contract';
import type { AuthInfo } from './security/guard.ts';

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;
type Field<D, K extends string> = D extends { [P in K]: infer S } ? Out<S> : undefined;

export interface RouteRequest<D> {
  params: Field<D, 'params'>;
  query: Field<D, 'query'>;
  body: Field<D, 'body'>;
  auth: AuthInfo;
  request: FastifyRequest;
  reply: FastifyReply;
}

export type RouteResult<D> = D extends { produces: 'text' } ? string : D extends { response: infer R extends z.ZodType } ? z.output<R> : never;

export type RouteHandler<D> = (req: RouteRequest<D>) => RouteResult<D> | Promise<RouteResult<D>>;

export type RouteHandlers<K extends RouteName> = { [P in K]: RouteHandler<ApiContract[P]> };

/** Names of routes whose params address a conversation that a run-scoped token must own. */
type ScopeResolver = (params: Record<string, unknown>, ctx: ServerContext, auth: Extract<AuthInfo, { kind: 'run' }>) => Promise<string | undefined> | string | undefined;

/** A route where a run token acts as its own run, addressing no other (the route checks what the run's agent may do). */
const ownRun: ScopeResolver = (_params, _ctx, auth) => auth.conversationId;

const RUN_SCOPE: Partial<Record<RouteName, ScopeResolver>> = {
  getConversation: (params) => String(params['id']),
  getRun: async (params, ctx) => (await ctx.stores.runs.getRun(String(params['id'])))?.conversationId,
  spawnRun: async (params, ctx) => (await ctx.stores.runs.getRun(String(params['id'])))?.conversationId,
  declareRunAction: async (params, ctx) => (await ctx.stores.runs.getRun(String(params['id'])))?.conversationId,
  requestRunApproval: async (params, ctx) => (await ctx.stores.runs.getRun(String(params['id'])))?.conversationId,
  askRunHuman: async (params, ctx) => (await ctx.stores.runs.getRun(String(params['id'])))?.conversationId,
  getRunTask: async (params, ctx) => (await ctx.stores.runs.getRun(String(params['id'])))?.conversationId,
  updateRunTask: async (params, ctx) => (await ctx.stores.runs.getRun(String(params['id'])))?.conversationId,
  rememberForRun: async (params, ctx) => (await ctx.stores.runs.getRun(String(params['id'])))?.conversationId,
  recallForRun: async (params, ctx) => (await ctx.stores.runs.getRun(String(params['id'])))?.conversationId,
  forgetForRun: async (params, ctx) => (await ctx.stores.runs.getRun(String(params['id'])))?.conversationId,
  getRunMemoryInjection: async (params, ctx) => (await ctx.stores.runs.getRun(String(params['id'])))?.conversationId,
  // A registered workflow that lists the run's agent; the runs that agent started (routes/workflows.ts).
  startWorkflow: ownRun,
  forecastWorkflow: ownRun,
  getWorkflowRun: ownRun,
};

/** What channel a request of a channel-scoped token addresses (it must be the token's own). */
type ChannelResolver = (req: { params: Record<string, unknown>; query: Record<string, unknown> | undefined; body: Record<string, unknown> | undefined }, ctx: ServerContext) => unknown;

const outboxChannel: ChannelResolver = async ({ params }, ctx) => (await ctx.stores.outbox.get(String(params['id'])))?.channel;
const bodyChannel: ChannelResolver = ({ body }) => body?.['channel'];
/** An approval's channel: the channel its conversation came in through. */
const approvalChannel: ChannelResolver = async ({ params }, ctx) => {
  const approval = await ctx.stores.approvals.get(String(params['id']));
  // A run-less request without a conversation (a task's `task_rounds` may have none) belongs to no channel.
  return approval?.conversationId && (await ctx.stores.runs.getConversation(approval.conversationId))?.channel;
};

/** A memory proposal's channel: the channel its conversation came in through (an entry a person added has none). */
const memoryChannel: ChannelResolver = async ({ params }, ctx) => {
  const entry = await ctx.stores.memory.get(String(params['id']));
  return entry?.provenance.conversationId && (await ctx.stores.runs.getConversation(entry.provenance.conversationId))?.channel;
};

const CHANNEL_SCOPE: Partial<Record<RouteName, ChannelResolver>> = {
  sendMessage: bodyChannel,
  claimOutbox: bodyChannel,
  ackOutbox: outboxChannel,
  failOutbox: outboxChannel,
  checkSender: bodyChannel,
  requestPairing: bodyChannel,
  chatStatus: ({ query }) => query?.['channel'],
  resetChat: bodyChannel,
  cancelConversation: async ({ params }, ctx) => (await ctx.stores.runs.getConversation(String(params['id'])))?.channel,
  listApprovals: ({ query }) => query?.['channel'],
  listApprovalGroups: ({ query }) => query?.['channel'],
  decideApprovals: bodyChannel,
  getApproval: approvalChannel,
  decideApproval: approvalChannel,
  listMemory: ({ query }) => query?.['channel'],
  getMemoryRecord: memoryChannel,
  decideMemory: memoryChannel,
};

/**
 * Query strings and plain-object bodies reject unknown keys, so a typo (`?agnet=`, `{"stauts": …}`)
 * is a 400 that names it instead of a silently ignored field. Loose objects (settings blocks) keep
 * their extra keys.
 */
function rejectUnknownKeys(schema: z.ZodType | undefined): z.ZodType | undefined {
  if (schema instanceof z.ZodObject && schema._zod.def.catchall === undefined) return schema.strict();
  return schema;
}

const EMPTY_QUERY = z.strictObject({});

function isJsonContentType(header: string): boolean {
  return /^application\/json\s*(?:;|$)/i.test(header.trim());
}

/**
 * Routes without a body schema take no body: bytes sent anyway (or a content type other than
 * JSON) are a client mistake, refused instead of silently ignored.
 */
function refuseBody(request: FastifyRequest): void {
  const length = request.headers['content-length'];
  if ((length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined) {
    throw new RequestError('BAD_REQUEST', `${request.method} ${request.routeOptions.url ?? ''} takes no request body; send none.`);
  }
  const type = request.headers['content-type'];
  // Some clients label every request, GETs included; only a write with a foreign type is refused.
  if (type !== undefined && request.method !== 'GET' && !isJsonContentType(type)) {
    throw new RequestError('UNSUPPORTED_MEDIA_TYPE', `${request.method} ${request.routeOptions.url ?? ''} takes no request body; "${type.slice(0, 100)}" is not accepted.`);
  }
}

/** A contract route's schema: validation, serialization and its entry in the OpenAPI document. */
export function contractRouteSchema(name: RouteName, def: RouteDef) {
  const status = def.status ?? 200;
  const success = def.produces === 'text' ? { content: { 'text/markdown': { schema: def.response } } } : def.response;
  return {
    operationId: name,
    summary: def.summary,
    tags: [def.tag],
    ...(def.params ? { params: def.params } : {}),
    querystring: rejectUnknownKeys(def.query) ?? EMPTY_QUERY,
    ...(def.body ? { body: rejectUnknownKeys(def.body) } : {}),
    response: { [status]: success, '4xx': ErrorBodySchema, '5xx': ErrorBodySchema },
    ...(def.auth === 'none' ? { security: [] } : {}),
    ...(def.deprecated ? { deprecated: true } : {}),
  };
}

export function registerContractRoutes(app: FastifyInstance, ctx: ServerContext, handlers: RouteHandlers<RouteName>): void {
  for (const [name, def] of Object.entries(apiContract) as Array<[RouteName, RouteDef]>) {
    const handler = handlers[name] as unknown as RouteHandler<RouteDef>;
    const status = def.status ?? 200;
    app.route({
      method: def.method,
      url: def.path,
      schema: contractRouteSchema(name, def),
      config: {
        auth: def.auth ?? 'token',
        ...(def.rateLimit ? { limit: def.rateLimit } : {}),
      },
      // Uptime monitors probe with HEAD; no other JSON route needs it (buildServer: exposeHeadRoutes).
      ...(def.auth === 'none' && def.method === 'GET' ? { exposeHeadRoute: true } : {}),
      ...(def.body === undefined ? { preValidation: async (request: FastifyRequest) => refuseBody(request) } : {}),
      handler: async (request, reply) => {
        if (request.auth.kind === 'run') {
          const owner = await RUN_SCOPE[name]?.(request.params as Record<string, unknown>, ctx, request.auth);
          if (owner !== request.auth.conversationId) {
            throw new RequestError('SCOPE_FORBIDDEN', 'This run-scoped token belongs to another conversation.');
          }
        }
        if (request.auth.kind === 'channel') {
          const target = await CHANNEL_SCOPE[name]?.(
            { params: request.params as Record<string, unknown>, query: request.query as Record<string, unknown> | undefined, body: request.body as Record<string, unknown> | undefined },
            ctx,
          );
          if (target !== request.auth.channel) {
            throw new RequestError('SCOPE_FORBIDDEN', `This channel-scoped token belongs to channel ${request.auth.channel}; the request addresses another channel (or none).`);
          }
        }
        const result = await handler({ params: request.params, query: request.query, body: request.body, auth: request.auth, request, reply } as RouteRequest<RouteDef>);
        reply.code(status);
        if (def.produces === 'text') reply.type('text/markdown; charset=utf-8');
        return result;
      },
    });
  }
}

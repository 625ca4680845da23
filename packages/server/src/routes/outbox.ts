/**
 * The reply delivery protocol's routes (core's outbox/delivery.ts owns it; these only call it):
 * channel clients list, claim, ack and fail their outbox rows; proactive messages to paired
 * senders; and every request a channel token authenticates tells delivery that the channel has
 * a client (its replies are held for it from then on).
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import { allowedFileRoots, confineFiles } from '../security/file-confinement.ts';

type Names = 'listOutbox' | 'claimOutbox' | 'ackOutbox' | 'failOutbox' | 'sendResponse';

export function outboxRoutes(ctx: ServerContext): RouteHandlers<Names> {
  return {
    listOutbox: ({ query }) => ctx.stores.outbox.list(query),

    claimOutbox: ({ body }) =>
      ctx.delivery.claim({ channel: body.channel, owner: body.owner ?? `api:${body.channel}`, ...(body.limit ? { limit: body.limit } : {}), ...(body.leaseMs ? { leaseMs: body.leaseMs } : {}) }),

    ackOutbox: ({ params }) => ctx.delivery.ack(params.id),

    failOutbox: ({ params, body }) =>
      ctx.delivery.fail(params.id, body.error, {
        ...(body.retryAfterMs !== undefined ? { retryAfterMs: body.retryAfterMs } : {}),
        ...(body.permanent !== undefined ? { permanent: body.permanent } : {}),
      }),

    sendResponse: ({ body }) =>
      ctx.delivery.sendProactive({
        channel: body.channel,
        senderId: body.senderId,
        ...(body.sender ? { sender: body.sender } : {}),
        text: body.message,
        files: () => (body.files ? confineFiles(body.files, allowedFileRoots(ctx.settings(), ctx.home, ctx.env)) : []),
        agentId: body.agent ?? null,
      }),
  };
}

/**
 * After the auth guard: a request authenticated with a channel token means a client of that
 * channel exists, so its replies wait in the outbox for it, whether or not its kind is registered
 * here (a library user's server).
 */
export function installChannelClientSignIn(app: FastifyInstance, ctx: ServerContext): void {
  app.addHook('onRequest', async (request) => {
    if (request.auth.kind === 'channel') ctx.delivery.clientSignedIn(request.auth.channel);
  });
}

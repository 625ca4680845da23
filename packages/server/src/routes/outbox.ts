/** Outbox for channel clients (list, claim, ack, fail) and proactive messages to paired senders. */
import { TinyError, newId } from '@tinyagi/core';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import { allowedFileRoots, confineFiles } from '../security/file-confinement.ts';

type Names = 'listOutbox' | 'claimOutbox' | 'ackOutbox' | 'failOutbox' | 'sendResponse';

export function outboxRoutes(ctx: ServerContext): RouteHandlers<Names> {
  return {
    listOutbox: ({ query }) => ctx.stores.outbox.list(query),

    claimOutbox: ({ body }) =>
      ctx.stores.outbox.claim({ channel: body.channel, owner: body.owner ?? `api:${body.channel}`, ...(body.limit ? { limit: body.limit } : {}), ...(body.leaseMs ? { leaseMs: body.leaseMs } : {}) }),

    ackOutbox: ({ params }) => ctx.stores.outbox.ack(params.id),

    failOutbox: ({ params, body }) =>
      ctx.stores.outbox.fail(params.id, body.error, {
        ...(body.retryAfterMs !== undefined ? { retryAfterMs: body.retryAfterMs } : {}),
        ...(body.permanent !== undefined ? { permanent: body.permanent } : {}),
      }),

    sendResponse: async ({ body }) => {
      // Only channels with a delivering client need a pairing; replies to api/web/cli are stored.
      if (ctx.stores.outbox.hasClient(body.channel) && !(await ctx.pairings.isApproved(body.channel, body.senderId))) {
        throw new TinyError('PAIRING_NOT_FOUND', `Sender ${body.senderId} on ${body.channel} is not paired, so it cannot receive proactive messages.`, {
          hint: 'Approve the sender first (`tinyagi pairing approve <code>`); GET /api/pairing lists approved senders.',
        });
      }
      const files = body.files ? confineFiles(body.files, allowedFileRoots(ctx.settings(), ctx.home, ctx.env)) : [];
      const { row } = await ctx.stores.outbox.enqueue({
        idempotencyKey: newId('proactive'),
        channel: body.channel,
        text: body.message,
        recipient: { senderId: body.senderId, ...(body.sender ? { sender: body.sender } : {}) },
        files,
        agentId: body.agent ?? null,
        meta: { proactive: true },
      });
      return row;
    },
  };
}

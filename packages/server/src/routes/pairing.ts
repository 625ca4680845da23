/** Pairing: list, sender checks and requests (channel clients), approve by code, dismiss pending, revoke approved. */
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { pairingContract } from '@tinyagi/client/contract';

export function pairingRoutes(ctx: ServerContext): RouteHandlers<keyof typeof pairingContract> {
  return {
    listPairings: () => ctx.pairings.list(),
    checkSender: ({ body }) => ctx.pairings.checkSender({ channel: body.channel, senderId: body.senderId, ...(body.sender !== undefined ? { sender: body.sender } : {}) }),
    requestPairing: ({ body }) => ctx.pairings.request({ channel: body.channel, senderId: body.senderId, ...(body.sender !== undefined ? { sender: body.sender } : {}) }),
    approvePairing: ({ body }) => ctx.pairings.approve(body.code),
    dismissPairing: async ({ params }) => {
      await ctx.pairings.dismiss(params.code);
      return { ok: true as const };
    },
    revokePairing: async ({ params }) => {
      await ctx.pairings.revoke(params.channel, params.senderId);
      return { ok: true as const };
    },
  };
}

/** Queue counts, in-flight work and dead letters. */
import { assertValidId } from '@tinyagi/core';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { queueContract } from '@tinyagi/client/contract';

export function queueRoutes(ctx: ServerContext): RouteHandlers<keyof typeof queueContract> {
  return {
    queueStatus: async () => ({ ...(await ctx.stores.queue.counts()), outboxPending: (await ctx.stores.outbox.counts()).pending }),
    queueAgents: () => ctx.stores.queue.countsByAgent(),
    queueProcessing: async () => {
      const now = Date.now();
      return (await ctx.stores.queue.listProcessing()).map((m) => ({ ...m, durationMs: now - m.updatedAt }));
    },
    queueDead: ({ query }) => ctx.stores.queue.listDead(query.limit ?? 100),
    retryDead: ({ params }) => ctx.stores.queue.retryDead(params.id),
    // The agent need not exist any more: dead letters of a removed agent are the usual case.
    purgeDead: async ({ query }) => ({ deleted: await ctx.stores.queue.deleteAllDead(query.agent === undefined ? undefined : assertValidId(query.agent, 'agent id')) }),
    deleteDead: async ({ params }) => {
      await ctx.stores.queue.deleteDead(params.id);
      return { ok: true as const };
    },
  };
}

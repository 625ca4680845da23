/** Queue counts, in-flight work and dead letters. */
import { assertValidId } from '@tinyagi/core';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { queueContract } from '@tinyagi/client/contract';

export function queueRoutes(ctx: ServerContext): RouteHandlers<keyof typeof queueContract> {
  const { queue, outbox } = ctx.stores;
  return {
    queueStatus: async () => ({ ...(await queue.counts()), outboxPending: (await outbox.counts()).pending }),
    queueAgents: () => queue.countsByAgent(),
    queueProcessing: async () => {
      const now = Date.now();
      return (await queue.listProcessing()).map((m) => ({ ...m, durationMs: now - m.updatedAt }));
    },
    queueDead: ({ query }) => queue.listDead(query.limit ?? 100),
    retryDead: ({ params }) => queue.retryDead(params.id),
    // The agent need not exist any more: dead letters of a removed agent are the usual case.
    purgeDead: async ({ query }) => ({ deleted: await queue.deleteAllDead(query.agent === undefined ? undefined : assertValidId(query.agent, 'agent id')) }),
    deleteDead: async ({ params }) => {
      await queue.deleteDead(params.id);
      return { ok: true as const };
    },
  };
}

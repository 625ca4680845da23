/** Queue counts, in-flight work and dead letters. */
import { assertValidId } from '@tinyagi/core';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { queueContract } from '@tinyagi/client/contract';

export function queueRoutes(ctx: ServerContext): RouteHandlers<keyof typeof queueContract> {
  const { queue, outbox } = ctx.stores;
  return {
    queueStatus: () => ({ ...queue.counts(), outboxPending: outbox.counts().pending }),
    queueAgents: () => queue.countsByAgent(),
    queueProcessing: () => {
      const now = Date.now();
      return queue.listProcessing().map((m) => ({ ...m, durationMs: now - m.updatedAt }));
    },
    queueDead: ({ query }) => queue.listDead(query.limit ?? 100),
    retryDead: ({ params }) => queue.retryDead(params.id),
    // The agent need not exist any more: dead letters of a removed agent are the usual case.
    purgeDead: ({ query }) => ({ deleted: ctx.stores.queue.deleteAllDead(query.agent === undefined ? undefined : assertValidId(query.agent, 'agent id')) }),
    deleteDead: ({ params }) => {
      queue.deleteDead(params.id);
      return { ok: true as const };
    },
  };
}

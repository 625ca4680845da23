/** Queue counts, in-flight work and dead letters. */
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';

type Names = 'queueStatus' | 'queueAgents' | 'queueProcessing' | 'queueDead' | 'retryDead' | 'deleteDead';

export function queueRoutes(ctx: ServerContext): RouteHandlers<Names> {
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
    deleteDead: ({ params }) => {
      queue.deleteDead(params.id);
      return { ok: true as const };
    },
  };
}

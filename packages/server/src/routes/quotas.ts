/** Accounts held until their rate limit or quota resets (docs/quotas.md). */
import { quotaHoldViews, resolveInvokeTarget } from '../core-internal.ts';
import type { quotasContract } from '@tinyagi/client/contract';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';

export function quotaRoutes(ctx: ServerContext): RouteHandlers<keyof typeof quotasContract> {
  return {
    // From the table, not one orchestrator's memory: any node answers for every node's holds.
    listQuotas: async () => ({ holds: quotaHoldViews(await ctx.stores.quotas.list(), ctx.settings(), resolveInvokeTarget) }),
  };
}

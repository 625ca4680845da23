/** Usage of runs, grouped. */
import type { ServerContext } from '../context.ts';
import { roundUsd } from '../money.ts';
import type { RouteHandlers } from '../routing.ts';

export function usageRoutes(ctx: ServerContext): RouteHandlers<'usage'> {
  return {
    usage: ({ query }) => {
      const rows = ctx.stores.runs.usage(query.by, {
        ...(query.since !== undefined ? { since: query.since } : {}),
        ...(query.until !== undefined ? { until: query.until } : {}),
      });
      const total = { runs: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
      for (const r of rows) {
        total.runs += r.runs;
        total.inputTokens += r.inputTokens;
        total.outputTokens += r.outputTokens;
        total.costUsd += r.costUsd;
      }
      return {
        by: query.by,
        rows: rows.map((r) => ({ ...r, costUsd: roundUsd(r.costUsd) })),
        total: { ...total, costUsd: roundUsd(total.costUsd) },
      };
    },
  };
}

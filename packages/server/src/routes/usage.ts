/**
 * Usage of runs: grouped, over time (calendar buckets in the caller's time zone, each a range
 * scan of the runs' creation index), the daily budgets in force, and the costliest conversations.
 */
import type { Settings } from '@tinyagi/core';
import { bucketBoundaries, effectiveBudgets, ownEntry } from '../core-internal.ts';
import { MAX_USAGE_BUCKETS, type UsageBudgets, type UsageGroup } from '@tinyagi/client/contract';
import type { ServerContext } from '../context.ts';
import { RequestError } from '../errors.ts';
import { roundUsd } from '../money.ts';
import type { RouteHandlers } from '../routing.ts';

function checkRange(since: number | undefined, until: number | undefined): void {
  if (since !== undefined && until !== undefined && since > until) {
    throw new RequestError('RANGE_INVALID', `since (${since}) is after until (${until}); since must not be after until.`);
  }
}

const cap = (usd: number | undefined, tokens: number | undefined) => ({ ...(usd !== undefined ? { usd } : {}), ...(tokens !== undefined ? { tokens } : {}) });

/** Daily caps to draw: the global one, and per agent when grouping by agent. */
function budgetsFor(settings: Settings, by: UsageGroup, keys: Iterable<string>): UsageBudgets {
  const global = effectiveBudgets(settings);
  const out: UsageBudgets = { global: cap(global.global_daily_usd, global.global_daily_tokens), keys: [] };
  if (by !== 'agent') return out;
  const agents = new Set([...Object.keys(settings.agents ?? {}), ...keys]);
  for (const key of [...agents].sort()) {
    if (!ownEntry(settings.agents, key)) continue;
    const b = effectiveBudgets(settings, { agentId: key });
    if (b.agent_daily_usd !== undefined || b.agent_daily_tokens !== undefined) out.keys.push({ key, ...cap(b.agent_daily_usd, b.agent_daily_tokens) });
  }
  return out;
}

export function usageRoutes(ctx: ServerContext): RouteHandlers<'usage' | 'topConversations'> {
  return {
    usage: async ({ query }) => {
      checkRange(query.since, query.until);
      const runs = ctx.stores.runs;
      const range = {
        ...(query.since !== undefined ? { since: query.since } : {}),
        ...(query.until !== undefined ? { until: query.until } : {}),
      };
      const rows = await runs.usage(query.by, range);
      const total = { runs: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
      for (const r of rows) {
        total.runs += r.runs;
        total.inputTokens += r.inputTokens;
        total.outputTokens += r.outputTokens;
        total.costUsd += r.costUsd;
      }
      const report = {
        by: query.by,
        rows: rows.map((r) => ({ ...r, costUsd: roundUsd(r.costUsd) })),
        total: { ...total, costUsd: roundUsd(total.costUsd) },
        budgets: budgetsFor(
          ctx.settings(),
          query.by,
          rows.map((r) => r.key),
        ),
      };
      if (query.bucket === undefined) return report;
      if (query.by === 'day') throw new RequestError('BAD_REQUEST', 'by=day is itself a bucket; split a series by agent, team, conversation, channel or provider.');
      const tz = query.tz ?? 'UTC';
      const until = query.until ?? Date.now();
      const since = query.since ?? (await runs.firstRunAt()) ?? until;
      checkRange(since, until);
      const b = bucketBoundaries(since, until, query.bucket, tz, MAX_USAGE_BUCKETS);
      if (b === null) {
        throw new RequestError('RANGE_TOO_LARGE', `[since, until) spans more than ${MAX_USAGE_BUCKETS} ${query.bucket} buckets; use a coarser bucket (week, month) or a shorter range.`);
      }
      const series = await runs.usageSeries(query.by, b.edges, { since, until });
      return {
        ...report,
        bucket: query.bucket,
        tz,
        buckets: b.labels.map((label, i) => ({ label, start: b.edges[i]!, end: b.edges[i + 1]! })),
        series: series.map(({ bucket, ...r }) => ({ ...r, bucket: b.labels[bucket]!, costUsd: roundUsd(r.costUsd) })),
      };
    },
    topConversations: async ({ query }) => {
      checkRange(query.since, query.until);
      const rows = await ctx.stores.runs.topConversations({
        ...(query.since !== undefined ? { since: query.since } : {}),
        ...(query.until !== undefined ? { until: query.until } : {}),
        limit: query.limit ?? 10,
      });
      return rows.map((r) => ({ ...r, costUsd: roundUsd(r.costUsd) }));
    },
  };
}

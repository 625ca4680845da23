/**
 * Token and cost usage of runs created in [since, until): grouped by agent, team, conversation,
 * channel, provider or day; with `bucket`, also over time (day, week or month buckets in the
 * time zone `tz`); the daily budgets in force; and the conversations that cost most.
 */
import * as z from 'zod';
import { route } from './route.ts';
import { Int, IntParam, NullableStr, Num, OptionalInt, OptionalNum, OptionalStr, Str } from './common.ts';

export const USAGE_GROUPS = ['agent', 'team', 'conversation', 'channel', 'provider', 'day'] as const;
/** Groups a series can be split by (`day` is itself a bucket). */
export const USAGE_SERIES_GROUPS = ['agent', 'team', 'conversation', 'channel', 'provider'] as const;
export const USAGE_BUCKETS = ['day', 'week', 'month'] as const;
/** The most buckets one answer has; ask for a coarser bucket or a shorter range beyond. */
export const MAX_USAGE_BUCKETS = 1000;

export const UsageRowSchema = z.object({
  key: Str,
  runs: Int,
  inputTokens: Int,
  outputTokens: Int,
  costUsd: Num,
});

export const UsageSeriesRowSchema = UsageRowSchema.extend({
  /** The bucket's label (`YYYY-MM-DD` for day and week, the Monday of the week; `YYYY-MM`). */
  bucket: Str,
});

const DailyCapSchema = z.object({ usd: OptionalNum, tokens: OptionalInt });

export const UsageBudgetsSchema = z.object({
  /** budgets.global_daily_*: all agents together, per UTC day. */
  global: DailyCapSchema,
  /** Per agent (grouping by agent only): the daily cap in force for it (its own, else budgets.agent_daily_*). */
  keys: z.array(DailyCapSchema.extend({ key: Str })),
});

const TimeZone = z
  .string()
  .max(64)
  .refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { error: 'must be an IANA time zone such as UTC or Europe/Berlin' },
  );

export const usageContract = {
  usage: route({
    method: 'GET',
    path: '/api/usage',
    summary: 'Usage of runs created in [since, until), grouped; with bucket, also per day/week/month in tz (400 RANGE_INVALID when since > until, RANGE_TOO_LARGE beyond 1000 buckets)',
    tag: 'usage',
    query: z.object({
      by: z.enum(USAGE_GROUPS).default('agent'),
      since: IntParam(0).optional(),
      until: IntParam(0).optional(),
      /** Adds `series` and `buckets`; `since` defaults to the first run, `until` to now. */
      bucket: z.enum(USAGE_BUCKETS).optional(),
      /** The zone whose calendar the buckets follow (default UTC). */
      tz: TimeZone.optional(),
    }),
    response: z.object({
      by: z.enum(USAGE_GROUPS),
      rows: z.array(UsageRowSchema),
      total: UsageRowSchema.omit({ key: true }),
      /** With `bucket`: every bucket's label in order (empty ones included) and the range they cover. */
      bucket: z.enum(USAGE_BUCKETS).optional(),
      tz: OptionalStr,
      buckets: z.array(z.object({ label: Str, start: Int, end: Int })).optional(),
      /** With `bucket`: usage per bucket and key, only where there was some, ordered by bucket then key. */
      series: z.array(UsageSeriesRowSchema).optional(),
      budgets: UsageBudgetsSchema,
    }),
  }),
  topConversations: route({
    method: 'GET',
    path: '/api/usage/conversations',
    summary: 'The conversations whose runs created in [since, until) cost most (then used most tokens)',
    tag: 'usage',
    query: z.object({
      since: IntParam(0).optional(),
      until: IntParam(0).optional(),
      limit: IntParam(1, 100).optional(),
    }),
    response: z.array(
      UsageRowSchema.extend({
        /** The conversation id. */
        key: Str,
        title: Str,
        rootAgentId: Str,
        teamId: NullableStr,
        channel: Str,
      }),
    ),
  }),
} as const;

export type UsageGroup = (typeof USAGE_GROUPS)[number];
export type UsageSeriesGroup = (typeof USAGE_SERIES_GROUPS)[number];
export type UsageBucket = (typeof USAGE_BUCKETS)[number];
export type UsageRow = z.infer<typeof UsageRowSchema>;
export type UsageSeriesRow = z.infer<typeof UsageSeriesRowSchema>;
export type UsageBudgets = z.infer<typeof UsageBudgetsSchema>;
export type UsageReport = z.infer<typeof usageContract.usage.response>;
export type ConversationUsage = z.infer<typeof usageContract.topConversations.response>[number];

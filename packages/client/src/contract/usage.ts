/** Token and cost usage grouped by agent, team, conversation, channel or day. */
import * as z from 'zod';
import { route } from './route.ts';
import { IntParam } from './common.ts';

export const USAGE_GROUPS = ['agent', 'team', 'conversation', 'channel', 'day'] as const;

export const UsageRowSchema = z.object({
  key: z.string(),
  runs: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  costUsd: z.number(),
});

export const usageContract = {
  usage: route({
    method: 'GET',
    path: '/api/usage',
    summary: 'Usage of runs created in [since, until), grouped',
    tag: 'usage',
    query: z.object({
      by: z.enum(USAGE_GROUPS).default('agent'),
      since: IntParam(0).optional(),
      until: IntParam(0).optional(),
    }),
    response: z.object({ by: z.enum(USAGE_GROUPS), rows: z.array(UsageRowSchema), total: UsageRowSchema.omit({ key: true }) }),
  }),
} as const;

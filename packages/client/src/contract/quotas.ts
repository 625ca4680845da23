/**
 * Quotas (docs/quotas.md): accounts a runtime reported exhausted
 * (Claude Code's `rate_limit_event`, Codex's rate-limit notifications, an HTTP 429 with a reset
 * time). Every agent on a held account waits, unclaimed, until the reset.
 */
import * as z from 'zod';
import { route } from './route.ts';
import { NullableStr, Str, StrArray, TimestampSchema } from './common.ts';

export const QUOTA_STATUSES = ['ok', 'warning', 'exhausted', 'released'] as const;

export const QuotaHoldSchema = z
  .object({
    /** `<runtime>:<fingerprint>`: the runtime and a hash of the credentials (never the secret). */
    account: Str,
    runtime: Str,
    /** For people: runtime, provider and the short fingerprint. */
    label: Str,
    status: z.literal('exhausted'),
    /** When the hold ends. */
    resetsAt: TimestampSchema,
    /** Which limit, as the runtime names it (`five_hour`, `seven_day`, `requests`, …). */
    limit: NullableStr,
    message: NullableStr,
    /** The agent whose run reported it. */
    reportedBy: NullableStr,
    /** The agents on the account (those with a `fallback_provider` on a free account run there meanwhile; the others wait). */
    agents: StrArray,
    createdAt: TimestampSchema,
    updatedAt: TimestampSchema,
  })
  .meta({ id: 'QuotaHold' });
export type QuotaHoldInfo = z.infer<typeof QuotaHoldSchema>;

export const QuotasSchema = z.object({ holds: z.array(QuotaHoldSchema) });
export type Quotas = z.infer<typeof QuotasSchema>;

export const quotasContract = {
  listQuotas: route({
    method: 'GET',
    path: '/api/quotas',
    summary: 'Accounts held until their rate limit or quota resets, with the agents waiting on each',
    tag: 'system',
    response: QuotasSchema,
  }),
} as const;

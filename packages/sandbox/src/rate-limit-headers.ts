/**
 * A model call's answer as a quota report (QuotaReport, quota-report.ts, which the quota board takes:
 * docs/quotas.md), from its status and the provider's rate-limit headers:
 *
 * - Anthropic (https://docs.anthropic.com/en/api/rate-limits#response-headers):
 *   `anthropic-ratelimit-<limit>-limit | -remaining | -reset` (RFC 3339) for `requests`,
 *   `tokens`, `input-tokens`, `output-tokens`, and `retry-after` (seconds) on a 429.
 * - OpenAI (https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers):
 *   `x-ratelimit-limit-<limit>`, `x-ratelimit-remaining-<limit>`, `x-ratelimit-reset-<limit>`
 *   (a duration: `1s`, `6m0s`, `20ms`) for `requests` and `tokens`, and `retry-after`.
 *
 * A 429 whose wait is at least MIN_ERROR_HOLD_MS (the board's hold) says the account is exhausted until
 * then (the board holds it); a shorter one is a warning (the CLI retries it itself). A success
 * says `ok` (a hold ends early on it), or `warning` when a limit has 10 % or less left.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { MIN_ERROR_HOLD_MS, type QuotaReport } from './quota-report.ts';

/** A limit with this share or less left is reported as a warning. */
const WARN_REMAINING = 0.1;

interface HeaderLimit {
  name: string;
  limit: number | undefined;
  remaining: number | undefined;
  resetsAt: number | undefined;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function count(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** OpenAI's reset durations: `1s`, `6m0s`, `1h2m3.5s`, `20ms`. */
export function parseDurationMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    const n = Number(amount);
    ms += unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
  }
  return ms;
}

/** `retry-after`: seconds, or an HTTP date. */
function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function headerLimits(headers: IncomingHttpHeaders, now: number): HeaderLimit[] {
  const out: HeaderLimit[] = [];
  for (const name of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
    const prefix = `anthropic-ratelimit-${name}`;
    const limit = count(header(headers, `${prefix}-limit`));
    const remaining = count(header(headers, `${prefix}-remaining`));
    if (limit === undefined && remaining === undefined) continue;
    const reset = Date.parse(header(headers, `${prefix}-reset`) ?? '');
    out.push({ name, limit, remaining, resetsAt: Number.isNaN(reset) ? undefined : reset });
  }
  for (const name of ['requests', 'tokens']) {
    const limit = count(header(headers, `x-ratelimit-limit-${name}`));
    const remaining = count(header(headers, `x-ratelimit-remaining-${name}`));
    if (limit === undefined && remaining === undefined) continue;
    const reset = parseDurationMs(header(headers, `x-ratelimit-reset-${name}`));
    out.push({ name, limit, remaining, resetsAt: reset === undefined ? undefined : now + reset });
  }
  return out;
}

/** The report a model call's answer makes; undefined when it says nothing about the account (another error). */
export function quotaReportOf(status: number, headers: IncomingHttpHeaders, now = Date.now()): QuotaReport | undefined {
  const limits = headerLimits(headers, now);
  if (status === 429) {
    const spent = limits.filter((l) => l.remaining === 0);
    const latestReset = Math.max(...spent.map((l) => l.resetsAt ?? 0), 0);
    const wait = retryAfterMs(header(headers, 'retry-after'), now) ?? (latestReset > now ? latestReset - now : undefined);
    const limit = spent[0]?.name;
    const base = { ...(limit ? { limit } : {}), message: `the provider answered 429 (rate limited)${wait !== undefined ? `, retry in ${Math.ceil(wait / 1000)} s` : ''}` };
    if (wait !== undefined && wait >= MIN_ERROR_HOLD_MS) return { status: 'exhausted', resetsAt: now + wait, ...base };
    return { status: 'warning', ...(wait !== undefined ? { resetsAt: now + wait } : {}), ...base };
  }
  if (status < 200 || status >= 300) return undefined;
  let tightest: { limit: HeaderLimit; left: number } | undefined;
  for (const limit of limits) {
    if (limit.limit === undefined || limit.remaining === undefined || limit.limit <= 0) continue;
    const left = limit.remaining / limit.limit;
    if (!tightest || left < tightest.left) tightest = { limit, left };
  }
  if (tightest && tightest.left <= WARN_REMAINING) {
    const { limit } = tightest;
    return {
      status: 'warning',
      limit: limit.name,
      utilization: 1 - tightest.left,
      ...(limit.resetsAt !== undefined ? { resetsAt: limit.resetsAt } : {}),
      message: `${limit.remaining} of ${limit.limit} ${limit.name} left`,
    };
  }
  return { status: 'ok' };
}

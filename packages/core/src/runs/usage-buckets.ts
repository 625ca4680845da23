/**
 * Calendar buckets (day, week, month) in an IANA time zone, as UTC millisecond boundaries, for
 * usage over time. A day is local midnight to local midnight, so a DST change makes it 23 or 25
 * hours long; a week starts on Monday (ISO 8601); a month on the 1st. The first bucket starts at
 * the local start of the bucket containing `since`, so the first and last buckets cover whole
 * calendar periods even when [since, until) cuts them (the totals count only runs inside
 * [since, until)).
 */
export const USAGE_BUCKETS = ['day', 'week', 'month'] as const;
export type UsageBucket = (typeof USAGE_BUCKETS)[number];

export interface BucketBoundaries {
  /** n + 1 ascending UTC ms (none for an empty range): bucket i is [edges[i], edges[i + 1]). */
  edges: number[];
  /** n labels in the zone: `YYYY-MM-DD` (day, and the Monday of a week) or `YYYY-MM`. */
  labels: string[];
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(tz, f);
  }
  return f;
}

interface Civil {
  y: number;
  m: number;
  d: number;
}

/** The local wall-clock time of `ts` in `tz`, as if it were UTC (ms). */
function wallClock(ts: number, tz: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(ts)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts['year']!, parts['month']! - 1, parts['day']!, parts['hour']!, parts['minute']!, parts['second']!);
}

/** The first instant of the local date `c` in `tz` (midnight, or the first moment after a gap). */
function startOfLocalDay(c: Civil, tz: string): number {
  const local = Date.UTC(c.y, c.m - 1, c.d);
  let ts = local - (wallClock(local, tz) - local);
  // Once more with the offset at the guess: right on both sides of a DST change.
  ts = local - (wallClock(ts, tz) - ts);
  // Midnight skipped by a DST jump: the day starts at the first instant that is on that date.
  if (wallClock(ts, tz) < local) ts += 3_600_000;
  return ts;
}

function civilOf(ts: number, tz: string): Civil {
  const w = new Date(wallClock(ts, tz));
  return { y: w.getUTCFullYear(), m: w.getUTCMonth() + 1, d: w.getUTCDate() };
}

function addDays(c: Civil, days: number): Civil {
  const t = new Date(Date.UTC(c.y, c.m - 1, c.d + days));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

function bucketStart(c: Civil, bucket: UsageBucket): Civil {
  if (bucket === 'month') return { y: c.y, m: c.m, d: 1 };
  if (bucket === 'week') return addDays(c, -((new Date(Date.UTC(c.y, c.m - 1, c.d)).getUTCDay() + 6) % 7));
  return c;
}

function nextBucket(c: Civil, bucket: UsageBucket): Civil {
  if (bucket === 'month') return c.m === 12 ? { y: c.y + 1, m: 1, d: 1 } : { y: c.y, m: c.m + 1, d: 1 };
  return addDays(c, bucket === 'week' ? 7 : 1);
}

const pad = (n: number): string => String(n).padStart(2, '0');

function labelOf(c: Civil, bucket: UsageBucket): string {
  return bucket === 'month' ? `${c.y}-${pad(c.m)}` : `${c.y}-${pad(c.m)}-${pad(c.d)}`;
}

/**
 * The buckets covering [since, until) in `tz`; at most `max` of them (returns null beyond, so
 * the caller can ask for a coarser bucket instead of a huge answer).
 */
export function bucketBoundaries(since: number, until: number, bucket: UsageBucket, tz: string, max: number): BucketBoundaries | null {
  const edges: number[] = [];
  const labels: string[] = [];
  if (since >= until) return { edges, labels };
  let c = bucketStart(civilOf(since, tz), bucket);
  let start = startOfLocalDay(c, tz);
  while (start < until) {
    if (labels.length === max) return null;
    edges.push(start);
    labels.push(labelOf(c, bucket));
    c = nextBucket(c, bucket);
    start = startOfLocalDay(c, tz);
  }
  edges.push(start);
  return { edges, labels };
}

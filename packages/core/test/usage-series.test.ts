import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStores, type SqliteStores } from '../src/compose/sqlite-stores.ts';
import { bucketBoundaries } from '../src/runs/usage-buckets.ts';
import { isTimeZone } from '../src/time-zone.ts';

const at = (iso: string): number => Date.parse(iso);

describe('bucketBoundaries', () => {
  it('days in UTC cover whole days from the one containing since', () => {
    const b = bucketBoundaries(at('2026-03-01T10:00:00Z'), at('2026-03-03T00:00:00Z'), 'day', 'UTC', 100)!;
    expect(b.labels).toEqual(['2026-03-01', '2026-03-02']);
    expect(b.edges).toEqual([at('2026-03-01T00:00:00Z'), at('2026-03-02T00:00:00Z'), at('2026-03-03T00:00:00Z')]);
  });

  it('local days across a DST change are 23 and 25 hours long (Europe/Berlin)', () => {
    const spring = bucketBoundaries(at('2026-03-28T12:00:00Z'), at('2026-03-30T12:00:00Z'), 'day', 'Europe/Berlin', 100)!;
    expect(spring.labels).toEqual(['2026-03-28', '2026-03-29', '2026-03-30']);
    expect(spring.edges).toEqual([at('2026-03-27T23:00:00Z'), at('2026-03-28T23:00:00Z'), at('2026-03-29T22:00:00Z'), at('2026-03-30T22:00:00Z')]);
    const autumn = bucketBoundaries(at('2026-10-25T12:00:00Z'), at('2026-10-25T13:00:00Z'), 'day', 'Europe/Berlin', 100)!;
    expect(autumn.edges[1]! - autumn.edges[0]!).toBe(25 * 3_600_000);
  });

  it('weeks start on Monday, months on the 1st, in the zone; half-hour zones too', () => {
    // 2026-03-05 is a Thursday.
    const week = bucketBoundaries(at('2026-03-05T12:00:00Z'), at('2026-03-10T00:00:00Z'), 'week', 'UTC', 100)!;
    expect(week.labels).toEqual(['2026-03-02', '2026-03-09']);
    const month = bucketBoundaries(at('2026-01-31T20:00:00Z'), at('2026-03-01T00:00:00Z'), 'month', 'Asia/Kolkata', 100)!;
    // 20:00 UTC on Jan 31 is Feb 1, 01:30 in India.
    expect(month.labels).toEqual(['2026-02', '2026-03']);
    expect(month.edges[0]).toBe(at('2026-01-31T18:30:00Z'));
  });

  it('refuses more than max buckets; an empty range has none', () => {
    expect(bucketBoundaries(0, at('2026-01-01T00:00:00Z'), 'day', 'UTC', 1000)).toBeNull();
    expect(bucketBoundaries(5, 5, 'day', 'UTC', 10)!.labels).toEqual([]);
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});

let dir: string;
let s: SqliteStores;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-usage-'));
  s = openStores({ dbPath: join(dir, 't.db') });
});
afterEach(() => {
  s.close();
  rmSync(dir, { recursive: true, force: true });
});

function spend(input: { conv: string; agent: string; provider: string; team?: string; channel?: string; at: number; tokens: [number, number]; usd: number }): void {
  const run = s.runs.createRun({
    conversationId: input.conv,
    agentId: input.agent,
    provider: input.provider,
    teamId: input.team ?? null,
    channel: input.channel ?? 'api',
    cause: 'user',
    status: 'running',
    createdAt: input.at,
  });
  s.runs.finishRun(run.id, { status: 'completed', usage: { inputTokens: input.tokens[0], outputTokens: input.tokens[1] }, costUsd: input.usd });
}

describe('usage over time (real SQLite)', () => {
  beforeEach(() => {
    const big = s.runs.createConversation({ rootAgentId: 'coder', channel: 'api', title: 'the big one' });
    const small = s.runs.createConversation({ rootAgentId: 'reviewer', channel: 'telegram', title: 'small talk' });
    spend({ conv: big.id, agent: 'coder', provider: 'anthropic', team: 'dev', at: at('2026-03-01T08:00:00Z'), tokens: [100, 10], usd: 1 });
    spend({ conv: big.id, agent: 'coder', provider: 'anthropic', team: 'dev', at: at('2026-03-01T23:30:00Z'), tokens: [200, 20], usd: 2 });
    spend({ conv: big.id, agent: 'reviewer', provider: 'openai', team: 'dev', at: at('2026-03-02T09:00:00Z'), tokens: [50, 5], usd: 0.5 });
    spend({ conv: small.id, agent: 'reviewer', provider: 'openai', channel: 'telegram', at: at('2026-03-09T09:00:00Z'), tokens: [1, 1], usd: 0.01 });
  });

  it('groups by bucket and key in the buckets given, counting only runs in [since, until)', () => {
    const b = bucketBoundaries(at('2026-03-01T00:00:00Z'), at('2026-03-10T00:00:00Z'), 'day', 'UTC', 100)!;
    const byProvider = s.runs.usageSeries('provider', b.edges).map((r) => [b.labels[r.bucket], r.key, r.runs, r.inputTokens, r.outputTokens, r.costUsd]);
    expect(byProvider).toEqual([
      ['2026-03-01', 'anthropic', 2, 300, 30, 3],
      ['2026-03-02', 'openai', 1, 50, 5, 0.5],
      ['2026-03-09', 'openai', 1, 1, 1, 0.01],
    ]);
    // In Berlin the 23:30 UTC run is on March 2nd.
    const berlin = bucketBoundaries(at('2026-03-01T00:00:00Z'), at('2026-03-10T00:00:00Z'), 'day', 'Europe/Berlin', 100)!;
    expect(s.runs.usageSeries('agent', berlin.edges).map((r) => [berlin.labels[r.bucket], r.key, r.runs])).toEqual([
      ['2026-03-01', 'coder', 1],
      ['2026-03-02', 'coder', 1],
      ['2026-03-02', 'reviewer', 1],
      ['2026-03-09', 'reviewer', 1],
    ]);
    const weeks = bucketBoundaries(at('2026-03-01T00:00:00Z'), at('2026-03-10T00:00:00Z'), 'week', 'UTC', 100)!;
    expect(s.runs.usageSeries('team', weeks.edges).map((r) => [weeks.labels[r.bucket], r.key, r.runs])).toEqual([
      ['2026-02-23', 'dev', 2],
      ['2026-03-02', 'dev', 1],
      ['2026-03-09', '', 1],
    ]);
    // since cuts inside the first bucket: the 08:00 run is out.
    expect(s.runs.usageSeries('channel', b.edges, { since: at('2026-03-01T12:00:00Z') }).map((r) => [r.bucket, r.key, r.runs])).toEqual([
      [0, 'api', 1],
      [1, 'api', 1],
      [8, 'telegram', 1],
    ]);
  });

  it('scans the creation index per bucket (one GROUP BY, no full table scan)', () => {
    const plan = s.db
      .prepare(`EXPLAIN QUERY PLAN WITH b(bucket, start, end) AS MATERIALIZED (SELECT CAST(key AS INTEGER), value, LEAD(value) OVER (ORDER BY key) FROM json_each(?))
        SELECT b.bucket, agent_id, COUNT(*) FROM b CROSS JOIN runs ON runs.created_at >= b.start AND runs.created_at < b.end WHERE b.end IS NOT NULL GROUP BY b.bucket, agent_id`)
      .all('[0,1,2]') as Array<{ detail: string }>;
    // The buckets are the outer loop, each a range scan of the creation index.
    expect(plan.map((p) => p.detail).join('\n')).toMatch(/SCAN b\nSEARCH runs USING COVERING INDEX runs_usage_cover \(created_at>\? AND created_at<\?\)/);
  });

  it('ranks conversations by cost in the range, with their titles; usage by provider', () => {
    expect(s.runs.topConversations({ limit: 10 }).map((c) => [c.title, c.rootAgentId, c.runs, c.costUsd])).toEqual([
      ['the big one', 'coder', 3, 3.5],
      ['small talk', 'reviewer', 1, 0.01],
    ]);
    expect(s.runs.topConversations({ since: at('2026-03-05T00:00:00Z'), limit: 1 }).map((c) => c.title)).toEqual(['small talk']);
    expect(s.runs.usage('provider').map((r) => [r.key, r.runs])).toEqual([
      ['anthropic', 2],
      ['openai', 2],
    ]);
    expect(s.runs.firstRunAt()).toBe(at('2026-03-01T08:00:00Z'));
  });
});

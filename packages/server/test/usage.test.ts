/**
 * GET /api/usage over time and GET /api/usage/conversations through real HTTP: a real settings
 * file with budgets, a real SQLite file with runs at planted times, and a real message to a mock
 * agent (its run records the provider it ran on).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import { baseSettings, raw, startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;
const at = (iso: string): number => Date.parse(iso);
let big = '';

beforeAll(async () => {
  h = await startHarness({
    settings: (home) => {
      const s = baseSettings(home);
      return {
        ...s,
        budgets: { global_daily_usd: 50, agent_daily_usd: 5 },
        agents: { ...s.agents, reviewer: { ...s.agents!['reviewer']!, budgets: { daily_usd: 2, daily_tokens: 10_000 } } },
      };
    },
  });
  const runs = h.stores.runs;
  const conv = await runs.createConversation({ rootAgentId: 'coder', channel: 'api', title: 'expensive plan' });
  big = conv.id;
  const plant = async (agentId: string, provider: string, iso: string, tokens: number, usd: number, channel = 'api') => {
    const run = await runs.createRun({ conversationId: conv.id, agentId, provider, teamId: 'dev', channel, cause: 'user', status: 'running', createdAt: at(iso) });
    await runs.finishRun(run.id, { status: 'completed', usage: { inputTokens: tokens, outputTokens: tokens / 10 }, costUsd: usd });
  };
  await plant('coder', 'anthropic', '2026-03-02T10:00:00Z', 1000, 1.5);
  await plant('coder', 'anthropic', '2026-03-03T23:30:00Z', 2000, 3);
  await plant('reviewer', 'openai', '2026-03-16T08:00:00Z', 500, 0.25, 'telegram');
});
afterAll(async () => {
  await h?.close();
});

async function bad(path: string, code: string): Promise<string> {
  const res = await raw(h, 'GET', path);
  const error = (res.body as { error?: { code?: string; message?: string } }).error;
  expect({ status: res.status, code: error?.code }).toEqual({ status: 400, code });
  return error?.message ?? '';
}

const MARCH = { since: at('2026-03-01T00:00:00Z'), until: at('2026-04-01T00:00:00Z') };

describe('usage over time', () => {
  it('a series per day in UTC, with every bucket listed and the daily budgets', async () => {
    const r = await h.client.usage({ query: { by: 'agent', bucket: 'day', ...MARCH } });
    expect(r).toMatchObject({ by: 'agent', bucket: 'day', tz: 'UTC' });
    expect(r.buckets).toHaveLength(31);
    expect(r.buckets?.[0]).toEqual({ label: '2026-03-01', start: MARCH.since, end: MARCH.since + 86_400_000 });
    expect(r.series?.map((s) => [s.bucket, s.key, s.runs, s.inputTokens, s.outputTokens, s.costUsd])).toEqual([
      ['2026-03-02', 'coder', 1, 1000, 100, 1.5],
      ['2026-03-03', 'coder', 1, 2000, 200, 3],
      ['2026-03-16', 'reviewer', 1, 500, 50, 0.25],
    ]);
    expect(r.total).toEqual({ runs: 3, inputTokens: 3500, outputTokens: 350, costUsd: 4.75 });
    expect(r.budgets).toEqual({
      global: { usd: 50 },
      keys: [
        { key: 'coder', usd: 5 },
        { key: 'reviewer', usd: 2, tokens: 10_000 },
      ],
    });
  });

  it('weeks and months in a time zone; by provider, team and channel', async () => {
    const weeks = await h.client.usage({ query: { by: 'provider', bucket: 'week', tz: 'Europe/Berlin', ...MARCH } });
    // 23:30 UTC on Tuesday March 3rd is Wednesday in Berlin: still the week of Monday March 2nd.
    expect(weeks.series?.map((s) => [s.bucket, s.key, s.runs])).toEqual([
      ['2026-03-02', 'anthropic', 2],
      ['2026-03-16', 'openai', 1],
    ]);
    expect(weeks.buckets?.[0]?.label).toBe('2026-02-23');
    const months = await h.client.usage({ query: { by: 'channel', bucket: 'month', ...MARCH } });
    expect(months.series?.map((s) => [s.bucket, s.key, s.costUsd])).toEqual([
      ['2026-03', 'api', 4.5],
      ['2026-03', 'telegram', 0.25],
    ]);
    const teams = await h.client.usage({ query: { by: 'team', bucket: 'month', ...MARCH } });
    expect(teams.series?.map((s) => [s.key, s.runs])).toEqual([['dev', 3]]);
    expect(teams.budgets).toEqual({ global: { usd: 50 }, keys: [] });
  });

  it('without since, buckets start at the first run; without bucket, the answer is as before', async () => {
    const r = await h.client.usage({ query: { by: 'agent', bucket: 'month', tz: 'UTC' } });
    expect(r.buckets?.[0]?.label).toBe('2026-03');
    const plain = await h.client.usage({ query: { by: 'provider' } });
    expect(plain.series).toBeUndefined();
    expect(plain.rows.map((row) => row.key)).toEqual(['anthropic', 'openai']);
  });

  it('a real run records the provider its agent runs on', async () => {
    const sent = await h.client.sendMessage({ body: { message: 'count me', agent: 'coder' } });
    await waitFor(async () => (await h.client.getMessage({ params: { id: sent.messageId } })).run?.status === 'completed', 15_000, 'the run to complete');
    const r = await h.client.usage({ query: { by: 'provider', since: Date.now() - 3_600_000 } });
    expect(r.rows.map((row) => [row.key, row.runs])).toEqual([['mock', 1]]);
  });

  it('top conversations by cost link their title and root agent', async () => {
    const top = await h.client.topConversations({ query: { ...MARCH, limit: 5 } });
    expect(top).toEqual([{ key: big, title: 'expensive plan', rootAgentId: 'coder', teamId: null, channel: 'api', runs: 3, inputTokens: 3500, outputTokens: 350, costUsd: 4.75 }]);
  });

  it('bad input is a 400 with a code', async () => {
    await bad('/api/usage?bucket=hour', 'VALIDATION_FAILED');
    await bad('/api/usage?bucket=day&tz=Mars%2FOlympus', 'VALIDATION_FAILED');
    expect(await bad(`/api/usage?since=${MARCH.until}&until=${MARCH.since}`, 'RANGE_INVALID')).toMatch(/since .* is after until/);
    await bad(`/api/usage?bucket=day&since=${MARCH.until}&until=${MARCH.since}`, 'RANGE_INVALID');
    await bad('/api/usage/conversations?since=10&until=5', 'RANGE_INVALID');
    expect(await bad(`/api/usage?bucket=day&since=0&until=${MARCH.until}`, 'RANGE_TOO_LARGE')).toMatch(/coarser bucket/);
    await bad('/api/usage?by=day&bucket=week', 'BAD_REQUEST');
    await bad('/api/usage/conversations?limit=1000', 'VALIDATION_FAILED');
  });
});

/**
 * Quota-aware scheduling through the real orchestrator and the mock runtime's scripted quota
 * report (docs/quotas.md): a run whose runtime says its account is
 * exhausted holds every agent on that account (their messages are not claimed, no attempt and
 * no rate-limit wait spent) until the reset; an agent on another account runs meanwhile; the
 * run that hit the limit is requeued for the reset; a restart keeps the hold. The holds on
 * PostgreSQL (the store, two nodes, a restart) are core's quotas.pg.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Orchestrator } from '../src/index.ts';
import type { Settings } from '@tinyagi/core';
import { openAi, sendSse, startScriptedServer, waitFor } from '@tinyagi/test-kit';
import { closeAll, eventsOf, harness, waitForCompletion } from './helpers.ts';

// The tests run at once: each waits for a real reset on its own stores and orchestrator, and
// together they take as long as the longest instead of the sum. Everything closes at the end.
afterAll(closeAll);

/** a and b share a login; c has its own. The reset is far enough that the checks run inside the hold on a loaded machine. */
function settings(resetMs: number): Settings {
  const limited = { match: 'LIMIT', quota: { status: 'exhausted', resets_in_ms: resetMs, limit: 'five_hour', message: 'usage limit reached' }, fail: 'rate_limited' };
  return {
    agents: {
      a: { provider: 'mock', mock: { account: 'team-login', rules: [limited] } },
      b: { provider: 'mock', mock: { account: 'team-login' } },
      c: { provider: 'mock', mock: { account: 'other-login' } },
    },
  } as unknown as Settings;
}

describe.concurrent('quota-aware scheduling', () => {
  it('holds every agent on the exhausted account until the reset, runs the others, requeues the limited run for the reset, then releases', async () => {
    const h = await harness(settings(10_000));
    const limited = await h.orchestrator.submit({ agent: 'a', message: 'LIMIT please', senderId: 'u1' });
    const exhausted = await waitFor(async () => (await eventsOf(h.stores, { types: ['runtime.quota'] }))[0], 15_000, 'the quota event');
    expect(exhausted.data).toMatchObject({ runtime: 'mock', status: 'exhausted', limit: 'five_hour', agents: ['a', 'b'] });
    const resetsAt = exhausted.data.resetsAt!;
    // The run that hit the limit waits for the reset (not the mock's 1 s default).
    const retry = await waitFor(async () => (await eventsOf(h.stores, { conversationId: limited.conversationId, types: ['queue.retry'] }))[0], 15_000, 'the retry');
    expect(retry.data).toMatchObject({ kind: 'rate_limited', attempts: 0 });
    expect(retry.data.retryInMs).toBeGreaterThan(2000);
    await h.facets.conversations.cancelMessage(limited.messageId);

    const held = await h.orchestrator.submit({ agent: 'b', message: 'hello b', senderId: 'u1' });
    const other = await h.orchestrator.submit({ agent: 'c', message: 'hello c', senderId: 'u1' });
    await waitForCompletion(h, other.conversationId);
    expect(Date.now()).toBeLessThan(resetsAt);
    expect(h.orchestrator.quotaHolds()).toEqual([expect.objectContaining({ account: exhausted.data.account, agents: ['a', 'b'] })]);
    // b was never claimed: no attempt, no wait, no run started.
    expect(await h.stores.queue.get(held.messageId)).toMatchObject({ status: 'pending', attempts: 0, lastFailure: null });
    expect(await eventsOf(h.stores, { conversationId: held.conversationId, types: ['run.started', 'queue.retry'] })).toEqual([]);

    // At the reset the hold ends and b runs.
    const done = await waitForCompletion(h, held.conversationId, 30_000);
    expect(done.data).toMatchObject({ status: 'completed' });
    const released = (await eventsOf(h.stores, { types: ['runtime.quota'] })).map((e) => e.data.status);
    expect(released).toEqual(['exhausted', 'released']);
    expect(Date.now()).toBeGreaterThanOrEqual(resetsAt);
    expect(h.orchestrator.quotaHolds()).toEqual([]);
  }, 60_000);

  it('a restart keeps the hold: a new orchestrator on the same stores does not claim the held agent until the reset', async () => {
    const h = await harness(settings(12_000));
    const limited = await h.orchestrator.submit({ agent: 'a', message: 'LIMIT', senderId: 'u1' });
    const exhausted = await waitFor(async () => (await eventsOf(h.stores, { types: ['runtime.quota'] }))[0], 15_000, 'the quota event');
    await h.facets.conversations.cancelMessage(limited.messageId);
    await h.orchestrator.stop(2000);

    const next = new Orchestrator({ stores: h.stores, getSettings: () => h.settings, sweepMs: 200 });
    try {
      await next.start();
      expect(next.quotaHolds()).toEqual([expect.objectContaining({ account: exhausted.data.account, agents: ['a', 'b'] })]);
      const held = await next.submit({ agent: 'b', message: 'after restart', senderId: 'u1' });
      const other = await next.submit({ agent: 'c', message: 'other account', senderId: 'u1' });
      await waitForCompletion(h, other.conversationId);
      expect(Date.now()).toBeLessThan(exhausted.data.resetsAt!);
      expect(await h.stores.queue.get(held.messageId)).toMatchObject({ status: 'pending', attempts: 0 });
      await waitForCompletion(h, held.conversationId, 30_000);
      expect(Date.now()).toBeGreaterThanOrEqual(exhausted.data.resetsAt!);
    } finally {
      await next.stop(2000);
    }
  }, 60_000);
});

describe.concurrent('quota failover: fallback_provider', () => {
  it('while the account is held, an agent with a fallback runs on it (a new session with the transcript); one without waits; after the reset it is back on its own', async () => {
    const reply = (text: string) => (_req: unknown, res: Parameters<Parameters<typeof startScriptedServer>[0][number]>[1]) =>
      sendSse(res, [openAi.text(text), openAi.finish('stop'), openAi.usage(12, 3), openAi.done]);
    const server = await startScriptedServer([reply('fallback says hi')]);
    try {
      const limited = { match: 'LIMIT', quota: { status: 'exhausted', resets_in_ms: 10_000, limit: 'five_hour' }, fail: 'rate_limited' };
      const h = await harness({
        custom_providers: { alt: { name: 'Alt', runtime: 'openai-api', base_url: `${server.url}/v1`, api_key: 'sk-alt', model: 'alt-default' } },
        agents: {
          a: { provider: 'mock', mock: { account: 'team-login', rules: [limited] } },
          b: { provider: 'mock', mock: { account: 'team-login', reply: 'b on its own: {{message}}' }, fallback_provider: 'custom:alt', fallback_model: 'alt-model' },
          c: { provider: 'mock', mock: { account: 'team-login' } },
        },
      } as unknown as Settings);
      const first = await h.orchestrator.submit({ agent: 'b', message: 'before the limit', senderId: 'u1' });
      await waitForCompletion(h, first.conversationId);
      const limitedMsg = await h.orchestrator.submit({ agent: 'a', message: 'LIMIT', senderId: 'u1' });
      const exhausted = await waitFor(async () => (await eventsOf(h.stores, { types: ['runtime.quota'] }))[0], 15_000, 'the quota event');
      await h.facets.conversations.cancelMessage(limitedMsg.messageId);

      const onFallback = await h.orchestrator.submit({ agent: 'b', message: 'during the hold', senderId: 'u1' });
      const waiting = await h.orchestrator.submit({ agent: 'c', message: 'during the hold', senderId: 'u1' });
      const done = await waitForCompletion(h, onFallback.conversationId);
      expect(done.data).toMatchObject({ status: 'completed' });
      expect(Date.now()).toBeLessThan(exhausted.data.resetsAt!);
      // The fallback's model got the message, with b's earlier turn as history (a new session: no mock session id to resume).
      expect(server.requests).toHaveLength(1);
      const body = server.requests[0]!.body as { model: string; messages: Array<{ role: string; content: string }> };
      expect(body.model).toBe('alt-model');
      expect(body.messages.map((m) => m.content).join('\n')).toContain('before the limit');
      const statuses = (await eventsOf(h.stores, { conversationId: onFallback.conversationId, types: ['run.progress'] })).map((e) => JSON.stringify(e.data));
      expect(statuses.some((s) => s.includes('uses the fallback custom:alt (alt-model)'))).toBe(true);
      expect(await h.stores.queue.get(waiting.messageId)).toMatchObject({ status: 'pending', attempts: 0 });
      expect([...(h.orchestrator.quotaHolds()[0]?.agents ?? [])].sort()).toEqual(['a', 'b', 'c']);

      await waitForCompletion(h, waiting.conversationId, 30_000);
      const after = await h.orchestrator.submit({ agent: 'b', message: 'after the reset', senderId: 'u1' });
      await waitForCompletion(h, after.conversationId);
      expect(server.requests).toHaveLength(1);
      const replies = await eventsOf(h.stores, { conversationId: after.conversationId, types: ['outbox.enqueued'] });
      expect(replies.map((e) => e.data.text.split('\n')[0])).toEqual(['b on its own: after the reset']);
    } finally {
      await server.close();
    }
  }, 60_000);
});

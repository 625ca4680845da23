/**
 * Under the default `collect` busy policy, messages of different conversations queued behind a
 * busy agent are never answered by one invocation: a failing message ends alone, whatever the
 * failure kind, and the unrelated messages run once and complete. Measured through the
 * queue's final states, not timings. The busy agent's first message is held by a gate the test
 * opens once the others are queued (the real mock provider does the rest).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { invokeAgent, type InvokeRequest, type InvokeResult } from '@tinyagi/core';
import { waitFor } from '@tinyagi/test-kit';
import { closeAll, eventsOf, harness, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

function gatedInvoker(): { invoke: (req: InvokeRequest) => Promise<InvokeResult>; entered: () => boolean; open: () => void; prompts: string[] } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let inside = false;
  const prompts: string[] = [];
  return {
    prompts,
    entered: () => inside,
    open: release,
    invoke: async (req) => {
      prompts.push(req.prompt);
      if (req.prompt.includes('hold')) {
        inside = true;
        await gate;
      }
      return invokeAgent(req);
    },
  };
}

const cases: Array<{ fail: 'permanent' | 'retryable'; maxAttempts: number }> = [
  { fail: 'permanent', maxAttempts: 5 },
  { fail: 'retryable', maxAttempts: 1 },
  { fail: 'retryable', maxAttempts: 2 },
];

describe('poison isolation under collect', () => {
  it.each(cases)('a $fail failure at max_attempts $maxAttempts costs the unrelated messages nothing', async ({ fail, maxAttempts }) => {
    const gate = gatedInvoker();
    const h = await harness(
      { agents: { a: { provider: 'mock', busy_policy: 'collect', max_attempts: maxAttempts, mock: { reply: 'done', replies: [{ match: 'poison', fail }] } } } },
      { invoke: gate.invoke },
    );
    const busy = await h.orchestrator.submit({ message: '@a hold this', senderId: 'u1' });
    await waitFor(gate.entered, 10_000, 'the first message to be running');
    const poison = await h.orchestrator.submit({ message: '@a poison', senderId: 'u2' });
    const first = await h.orchestrator.submit({ message: '@a unrelated one', senderId: 'u3' });
    const second = await h.orchestrator.submit({ message: '@a unrelated two', senderId: 'u4' });
    gate.open();

    for (const sent of [busy, first, second]) await waitForCompletion(h, sent.conversationId);
    const dead = await waitFor(async () => (await h.stores.queue.get(poison.messageId))?.status === 'dead' && (await h.stores.queue.get(poison.messageId)), 20_000, 'the poison message to be dead');
    expect(dead.lastError).toContain('scripted');
    for (const sent of [first, second]) {
      expect(await h.stores.queue.get(sent.messageId)).toMatchObject({ status: 'completed', attempts: 1, lastError: null });
    }
    // Every prompt held one conversation's message: nothing was answered together with the poison.
    expect(gate.prompts.filter((p) => p.includes('poison') && p.includes('unrelated'))).toEqual([]);
    const deadEvents = await eventsOf(h.stores, { types: ['queue.dead'] });
    expect(deadEvents.map((e) => e.conversationId)).toEqual([poison.conversationId]);
  });
});

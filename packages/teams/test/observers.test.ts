/**
 * The observer seam on a real orchestrator (core's observe/, docs/observers.md): what each hook
 * hears and in which order, a throwing observer kept away from the pipeline, removal, and failed
 * attempts with their spend.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { invokeAgent, type InvokeRequest, type NotificationEvents, type NotificationHook, type Observer } from '@tinyagi/core';
import type { StoreTransaction } from '@tinyagi/core/internal';
import { fakeCli, waitFor } from '@tinyagi/test-kit';
import { closeAll, eventsOf, harness, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

type Seen = { [H in NotificationHook]: { hook: H; event: NotificationEvents[H] } }[NotificationHook];

function recorder(name = 'recorder'): { observer: Observer<StoreTransaction>; seen: Seen[] } {
  const seen: Seen[] = [];
  const observer: Observer<StoreTransaction> = {
    name,
    claimed: (event) => seen.push({ hook: 'claimed', event }),
    runStarted: (event) => seen.push({ hook: 'runStarted', event }),
    progress: (event) => seen.push({ hook: 'progress', event }),
    attemptFailed: (event) => seen.push({ hook: 'attemptFailed', event }),
    runEnded: (event) => seen.push({ hook: 'runEnded', event }),
    committed: (event) => seen.push({ hook: 'committed', event }),
  };
  return { observer, seen };
}

const working = {
  provider: 'mock' as const,
  mock: { replies: [{ match: 'work', progress: [{ status: 'reading' }, { tool: 'Edit', input: { file_path: 'a.ts' } }], reply: 'done', usage: { input_tokens: 30, output_tokens: 7 } }] },
};

describe('observers', () => {
  it('hear a queue run in order: claimed, run started, progress (tool use and text), run ended with its usage, committed', async () => {
    const { observer, seen } = recorder();
    const h = await harness({ agents: { bot: working } }, { observers: [observer] });
    const sent = await h.orchestrator.submit({ agent: 'bot', message: 'work please', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    await waitFor(() => seen.find((s) => s.hook === 'committed'), 5000, 'the committed notification');
    const [run] = await h.stores.runs.listRuns(sent.conversationId);

    expect(seen.map((s) => s.hook)).toEqual(['claimed', 'runStarted', 'progress', 'progress', 'progress', 'runEnded', 'committed']);
    const [claimed, started, p1, p2, p3, ended, committed] = seen.map((s) => s.event) as [
      NotificationEvents['claimed'],
      NotificationEvents['runStarted'],
      NotificationEvents['progress'],
      NotificationEvents['progress'],
      NotificationEvents['progress'],
      NotificationEvents['runEnded'],
      NotificationEvents['committed'],
    ];
    expect(claimed).toMatchObject({ agentId: 'bot', conversationId: sent.conversationId, messageIds: [sent.messageId] });
    expect(started).toMatchObject({ run: { id: run!.id }, messageIds: [sent.messageId], changed: true });
    expect([p1, p2, p3].map((p) => p.progress)).toEqual([
      { type: 'status', message: 'reading' },
      { type: 'tool', name: 'Edit', input: { file_path: 'a.ts' } },
      { type: 'text', text: 'done' },
    ]);
    expect(p1.run.id).toBe(run!.id);
    expect(p1.turn).toBe(1);
    expect(ended).toMatchObject({ run: { id: run!.id }, status: 'completed', usage: { inputTokens: 30, outputTokens: 7 }, totals: { inputTokens: 30, outputTokens: 7 }, error: null });
    expect(committed).toEqual({ agentId: 'bot', conversationId: sent.conversationId, runId: run!.id, messageIds: [sent.messageId] });

    // The event log and usage accounting are observers too, ahead of this one: their rows are there.
    const events = await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['run.queued', 'run.started', 'run.progress', 'run.completed'] });
    expect(events.map((e) => e.type)).toEqual(['run.queued', 'run.started', 'run.progress', 'run.progress', 'run.progress', 'run.completed']);
    expect(await h.stores.runs.mustGetConversation(sent.conversationId)).toMatchObject({ inputTokens: 30, outputTokens: 7 });
  });

  it('an observer that throws is caught, counted and logged once; the work and the other observers go on; a removed observer hears nothing more', async () => {
    const broken: Observer<StoreTransaction> = {
      name: 'broken',
      progress: () => {
        throw new Error('observer boom');
      },
    };
    const h = await harness({ agents: { bot: working } }, { observers: [broken] });
    const { observer, seen } = recorder('after-broken');
    const remove = h.orchestrator.addObserver(observer);
    const first = await h.orchestrator.submit({ agent: 'bot', message: 'work one', senderId: 'u1' });
    await waitForCompletion(h, first.conversationId);
    await waitFor(() => seen.find((s) => s.hook === 'committed'), 5000, 'the committed notification');

    expect((await h.stores.runs.listRuns(first.conversationId))[0]).toMatchObject({ status: 'completed', output: 'done' });
    expect(seen.filter((s) => s.hook === 'progress')).toHaveLength(3);
    expect(h.orchestrator.observerFailures()).toEqual([{ name: 'broken', count: 3 }]);
    const notices = (await eventsOf(h.stores, { types: ['system.notice'] })).filter((e) => e.data.where === 'observer broken');
    expect(notices.map((e) => e.data)).toEqual([expect.objectContaining({ level: 'error', where: 'observer broken', error: 'observer boom' })]);

    remove();
    const count = seen.length;
    const second = await h.orchestrator.submit({ agent: 'bot', message: 'work two', senderId: 'u1' });
    await waitForCompletion(h, second.conversationId);
    expect(seen).toHaveLength(count);
    expect(h.orchestrator.observerFailures()).toEqual([{ name: 'broken', count: 6 }]);
  });

  it('hear each failed attempt with its error class and spend, and the run end once, when the queue gives up', async () => {
    const FAKE_CLAUDE = fakeCli('claude');
    const fakeClaude = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: FAKE_CLAUDE } });
    const { observer, seen } = recorder();
    const h = await harness(
      { agents: { cc: { provider: 'anthropic', max_attempts: 2 } } },
      { invoke: fakeClaude, backoff: { baseMs: 20, maxMs: 50, jitter: 0, maxRateLimitWaits: 3 }, observers: [observer] },
    );
    const sent = await h.orchestrator.submit({ agent: 'cc', message: 'FAKE:error-cost', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    await waitFor(() => seen.find((s) => s.hook === 'runEnded'), 5000, 'the run end');

    const failed = seen.filter((s) => s.hook === 'attemptFailed').map((s) => s.event as NotificationEvents['attemptFailed']);
    expect(failed).toHaveLength(2);
    for (const attempt of failed) expect(attempt).toMatchObject({ errorClass: 'crashed', usage: { inputTokens: 1000, outputTokens: 200 }, costUsd: 0.05 });
    expect(seen.filter((s) => s.hook === 'runStarted').map((s) => (s.event as NotificationEvents['runStarted']).changed)).toEqual([true, false]);
    const ended = seen.filter((s) => s.hook === 'runEnded').map((s) => s.event as NotificationEvents['runEnded']);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ status: 'failed', totals: { inputTokens: 2000, outputTokens: 400 } });
    // Usage accounting recorded both attempts on the run and its conversation.
    expect(await h.stores.runs.mustGetConversation(sent.conversationId)).toMatchObject({ inputTokens: 2000, outputTokens: 400 });
  });
});

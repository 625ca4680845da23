/**
 * More shapes of a conversation in one trace: a fan-out (the leader hands off to two members at
 * once) followed by a chain (a member hands off again), and a run a budget refuses before it is
 * invoked (an error span with the limit that refused it as an event).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '@tinyagi/core';
import { waitFor } from '@tinyagi/test-kit';
import { agentsFromSettings, createTraceObserver, runSpanIdOf, traceIdOf } from '../src/index.ts';
import { closeAll, harness } from './harness.ts';
import { httpReceiver, type ReceivedSpan, type Receiver } from './receiver.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await closeAll();
});

async function traced(settings: Settings): Promise<{ receiver: Receiver; h: Awaited<ReturnType<typeof harness>> }> {
  const receiver = await httpReceiver();
  cleanups.push(() => receiver.close());
  const exp = await createTraceObserver({
    url: `${receiver.endpoint}/v1/traces`,
    describeAgent: agentsFromSettings(() => settings),
    workflowIdleMs: 200,
    batch: { maxQueueSize: 100, maxExportBatchSize: 50, scheduledDelayMillis: 20, exportTimeoutMillis: 2000 },
  });
  cleanups.push(() => exp.shutdown());
  const h = await harness(settings, { observers: [exp.observer] });
  cleanups.push(() => h.close());
  return { receiver, h };
}

const one = (spans: ReceivedSpan[], name: string) => {
  const found = spans.filter((s) => s.name === name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
};

describe('conversation shapes', () => {
  it('fan-out then chain: every run under the workflow, each handoff a link to the run that sent it', async () => {
    const settings: Settings = {
      agents: {
        lead: { provider: 'mock', mock: { replies: [{ match: 'launch', reply: 'Splitting. [@writer: draft the post] [@coder: ship the page]' }] } },
        writer: { provider: 'mock', mock: { replies: [{ match: 'draft', reply: 'Drafted. [@editor: polish the draft]' }] } },
        coder: { provider: 'mock', mock: { reply: 'Shipped.' } },
        editor: { provider: 'mock', mock: { reply: 'Polished.' } },
      },
      teams: { launch: { name: 'Launch', agents: ['lead', 'writer', 'coder', 'editor'], leader_agent: 'lead' } },
    };
    const { receiver, h } = await traced(settings);
    const sent = await h.orchestrator.submit({ message: '@launch plan the launch', channel: 'api', senderId: 'u1' });
    await h.waitForConversation(sent.conversationId);
    await waitFor(() => receiver.spans.find((s) => s.name === 'invoke_workflow launch'), 10_000, 'the workflow span');
    const spans = receiver.spans;
    expect(spans.map((s) => s.name).sort()).toEqual(['invoke_agent coder', 'invoke_agent editor', 'invoke_agent lead', 'invoke_agent writer', 'invoke_workflow launch']);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceIdOf(sent.conversationId)]));
    const workflow = one(spans, 'invoke_workflow launch');
    const [lead, writer, coder, editor] = ['lead', 'writer', 'coder', 'editor'].map((a) => one(spans, `invoke_agent ${a}`)) as [ReceivedSpan, ReceivedSpan, ReceivedSpan, ReceivedSpan];
    for (const run of [lead, writer, coder, editor]) expect(run.parentSpanId).toBe(workflow.spanId);
    expect(lead.links).toEqual([]);
    expect(writer.links.map((l) => l.spanId)).toEqual([lead.spanId]);
    expect(coder.links.map((l) => l.spanId)).toEqual([lead.spanId]);
    expect(editor.links.map((l) => l.spanId)).toEqual([writer.spanId]);
    expect(editor.attributes['tinyagi.run.parent_id']).toBe(writer.attributes['tinyagi.run.id']);
  });

  it('a run refused by a budget before it is invoked: an error span with the refusing limit and message as an event', async () => {
    const settings: Settings = {
      agents: { cheap: { provider: 'mock', budgets: { daily_tokens: 50 }, mock: { reply: 'done', usage: { input_tokens: 100, output_tokens: 10 } } } },
    };
    const { receiver, h } = await traced(settings);
    const first = await h.orchestrator.submit({ agent: 'cheap', message: 'one', senderId: 'u1' });
    await h.waitForConversation(first.conversationId);
    const second = await h.orchestrator.submit({ agent: 'cheap', message: 'two', senderId: 'u2' });
    await h.waitForConversation(second.conversationId);
    const [refusedRun] = await h.stores.runs.listRuns(second.conversationId);
    expect(refusedRun!.status).toBe('rejected');
    const refused = await waitFor(() => receiver.spans.find((s) => s.spanId === runSpanIdOf(refusedRun!.id)), 10_000, 'the refused run span');
    expect(refused.traceId).toBe(traceIdOf(second.conversationId));
    expect(refused.status.code).toBe(2); // ERROR
    expect(refused.attributes).toMatchObject({ 'tinyagi.run.status': 'rejected', 'error.type': 'rejected', 'gen_ai.usage.input_tokens': 0 });
    const event = refused.events.find((e) => e.name === 'tinyagi.guard.rejected');
    expect(event?.attributes['limit_name']).toEqual(expect.stringContaining('token'));
    expect(event?.attributes['message']).toEqual(expect.any(String));
  });
});

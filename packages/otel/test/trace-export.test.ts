/**
 * Trace export against a real OTLP receiver: a team conversation on a real orchestrator (SQLite
 * file, mock runtime) with a handoff, a sub-agent, a retried failure and tool calls arrives as
 * exactly the expected span tree with the GenAI attributes, over HTTP/protobuf, HTTP/JSON and gRPC;
 * from this package's sources and from the daemon's bundle of it (packages/cli/dist/otel, built
 * by the CLI's scripts/bundle.mjs: what `tinyagi start` loads).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import { runSpanIdOf, traceIdOf } from '../src/index.ts';
import { bundledOtel, closeAll, runConversation, SECRET, setUp } from './harness.ts';
import { grpcReceiver, httpReceiver, type ReceivedSpan } from './receiver.ts';

afterEach(closeAll);

async function conversationTraced(...args: Parameters<typeof runConversation>) {
  const result = await runConversation(...args);
  await waitFor(() => args[1].spans.find((s) => s.name.startsWith('invoke_workflow')), 10_000, 'the invoke_workflow span');
  return result;
}

function byName(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
}

describe('trace export', () => {
  for (const [protocol, bundled] of [
    ['http/protobuf', false],
    ['http/json', false],
    ['grpc', false],
    ['http/protobuf', true],
    ['http/json', true],
    ['grpc', true],
  ] as const) {
    it(`${protocol}${bundled ? ", the daemon's bundle" : ''}: one conversation is one trace: workflow, agents, sub-agent, handoff link, tools, retry events, GenAI attributes`, async () => {
      const receiver = protocol === 'grpc' ? await grpcReceiver() : await httpReceiver();
      const { h, exp } = await setUp(receiver, protocol, bundled ? { create: (await bundledOtel()).createTraceObserver } : {});
      const { conversationId, lead, scout, writer } = await conversationTraced(h, receiver);
      const spans = receiver.spans;

      // Exactly this tree, all in the conversation's trace.
      expect(spans.map((s) => s.name).sort()).toEqual([
        'execute_tool Grep',
        'execute_tool Read',
        'execute_tool spawn_agent',
        'invoke_agent Lead',
        'invoke_agent scout',
        'invoke_agent writer',
        'invoke_workflow launch',
      ]);
      const traceId = traceIdOf(conversationId);
      expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
      const workflow = byName(spans, 'invoke_workflow launch');
      const leadSpan = byName(spans, 'invoke_agent Lead');
      const scoutSpan = byName(spans, 'invoke_agent scout');
      const writerSpan = byName(spans, 'invoke_agent writer');
      const read = byName(spans, 'execute_tool Read');
      const grep = byName(spans, 'execute_tool Grep');
      expect(workflow.parentSpanId).toBe('');
      expect(leadSpan.parentSpanId).toBe(workflow.spanId);
      expect(writerSpan.parentSpanId).toBe(workflow.spanId);
      expect(scoutSpan.parentSpanId).toBe(leadSpan.spanId);
      expect(read.parentSpanId).toBe(leadSpan.spanId);
      expect(grep.parentSpanId).toBe(leadSpan.spanId);
      // The sub-agent's spawn is a tool call of the lead's too (the sub-agent's run is a child of the lead's run).
      expect(byName(spans, 'execute_tool spawn_agent').parentSpanId).toBe(leadSpan.spanId);
      // Run spans' ids come from the run ids (any process can parent to them).
      expect(leadSpan.spanId).toBe(runSpanIdOf(lead.id));
      expect(scoutSpan.spanId).toBe(runSpanIdOf(scout.id));
      expect(writerSpan.spanId).toBe(runSpanIdOf(writer.id));
      // The handoff is a link from the writer's run to the lead's.
      expect(writerSpan.links).toEqual([{ traceId, spanId: leadSpan.spanId, attributes: { 'tinyagi.link.type': 'handoff' } }]);
      // The workflow spans its runs.
      expect(workflow.startMs).toBeLessThanOrEqual(leadSpan.startMs);
      expect(workflow.endMs).toBeGreaterThanOrEqual(writerSpan.endMs);

      expect(workflow.attributes).toMatchObject({ 'gen_ai.operation.name': 'invoke_workflow', 'gen_ai.workflow.name': 'launch', 'gen_ai.conversation.id': conversationId });
      expect(leadSpan.attributes).toMatchObject({
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.provider.name': 'mock',
        'gen_ai.agent.id': 'lead',
        'gen_ai.agent.name': 'Lead',
        'gen_ai.conversation.id': conversationId,
        'gen_ai.request.model': 'lead-model-1',
        'gen_ai.usage.input_tokens': 120,
        'gen_ai.usage.output_tokens': 30,
        'tinyagi.usage.cost_usd': 0.012,
        'tinyagi.run.id': lead.id,
        'tinyagi.run.cause': 'user',
        'tinyagi.run.status': 'completed',
        'tinyagi.agent.runtime': 'mock',
        'tinyagi.team.id': 'launch',
      });
      expect(leadSpan.events.map((e) => [e.name, e.attributes])).toEqual([['tinyagi.status', { message: 'thinking it over' }]]);
      expect(scoutSpan.attributes).toMatchObject({
        'gen_ai.agent.id': 'scout',
        'tinyagi.run.cause': 'spawn',
        'tinyagi.run.depth': 1,
        'tinyagi.run.parent_id': lead.id,
        'gen_ai.usage.input_tokens': 10,
      });
      expect(read.attributes).toEqual({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'Read', 'gen_ai.tool.type': 'function' });

      // The retried failure: an event with its class and (masked) message, then the attempt that succeeded.
      expect(writerSpan.attributes).toMatchObject({
        'tinyagi.run.cause': 'mention',
        'tinyagi.run.status': 'completed',
        'tinyagi.run.attempts': 2,
        'gen_ai.usage.input_tokens': 50,
        'tinyagi.usage.cost_usd': 0.004,
      });
      expect(writerSpan.events.map((e) => e.name)).toEqual(['tinyagi.attempt.failed', 'tinyagi.attempt.started']);
      const failed = writerSpan.events[0]!.attributes;
      expect(failed['error.type']).toEqual(expect.any(String));
      expect(failed['message']).toContain('upstream overloaded');
      expect(JSON.stringify(spans)).not.toContain(SECRET);
      // No content without the opt-in.
      for (const s of spans) for (const key of Object.keys(s.attributes)) expect(key).not.toMatch(/messages|arguments/);
      expect(spans[0]!.resource['service.name']).toBe('tinyagi');
      // (the receiver holds the spans before the exporter hears its answer)
      await waitFor(() => exp.counts().exported === 7, 5000, 'the export counted');
      expect(exp.counts()).toMatchObject({ exported: 7, dropped: 0 });
    });
  }

  it('capture_content: prompts, replies and tool arguments on the spans, secrets masked', async () => {
    const receiver = await httpReceiver();
    const { h } = await setUp(receiver, 'http/protobuf', { captureContent: true });
    await conversationTraced(h, receiver);
    const read = byName(receiver.spans, 'execute_tool Read');
    expect(JSON.parse(read.attributes['gen_ai.tool.call.arguments'] as string)).toEqual({ file_path: 'notes.md', api_key: '…' });
    const lead = byName(receiver.spans, 'invoke_agent Lead');
    expect(lead.attributes['gen_ai.input.messages']).toContain('plan the launch');
    expect(lead.attributes['gen_ai.output.messages']).toContain('Plan ready.');
    expect(JSON.stringify(receiver.spans)).not.toContain(SECRET);
  });
});

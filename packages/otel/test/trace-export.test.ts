/**
 * Trace export against a real OTLP receiver: a team conversation on a real orchestrator (SQLite
 * file, mock runtime) with a handoff, a sub-agent, a retried failure and tool calls arrives as
 * exactly the expected span tree with the GenAI attributes, over HTTP/protobuf, HTTP/JSON and gRPC.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InvokeError, invokeAgent, type InvokeRequest, type Settings } from '@tinyagi/core';
import { waitFor } from '@tinyagi/test-kit';
import { agentsFromSettings, createTraceObserver, runSpanIdOf, traceIdOf, type OtlpProtocol, type TraceExport } from '../src/index.ts';
import { harness, type Harness } from './harness.ts';
import { grpcReceiver, httpReceiver, type ReceivedSpan, type Receiver } from './receiver.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const SECRET = 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz';

const settings: Settings = {
  agents: {
    lead: {
      name: 'Lead',
      provider: 'mock',
      model: 'lead-model-1',
      mock: {
        rules: [
          {
            match: 'plan',
            progress: [{ tool: 'Read', input: { file_path: 'notes.md', api_key: SECRET } }, { status: 'thinking it over' }, { tool: 'Grep', input: { pattern: 'TODO' } }],
            spawn: [{ agent: 'scout', task: 'find the facts' }],
            reply: 'Plan ready. [@writer: draft the post]',
            usage: { input_tokens: 120, output_tokens: 30, cost_usd: 0.012 },
          },
        ],
      },
    },
    scout: { provider: 'mock', mock: { reply: 'facts found', usage: { input_tokens: 10, output_tokens: 5 } } },
    writer: { provider: 'mock', mock: { reply: 'Post drafted.', usage: { input_tokens: 50, output_tokens: 40, cost_usd: 0.004 } } },
  },
  teams: { launch: { name: 'Launch', agents: ['lead', 'scout', 'writer'], leader_agent: 'lead' } },
};

/** The writer's first attempt fails (retryable); every other call is the real mock runtime. */
function failWriterOnce() {
  let failed = false;
  return (req: InvokeRequest) => {
    if (req.agentId === 'writer' && !failed) {
      failed = true;
      return Promise.reject(new InvokeError('retryable', `writer: upstream overloaded (key ${SECRET})`));
    }
    return invokeAgent(req);
  };
}

async function setUp(receiver: Receiver, protocol: OtlpProtocol, extra: { captureContent?: boolean } = {}): Promise<{ h: Harness; exp: TraceExport }> {
  cleanups.push(() => receiver.close());
  const exp = await createTraceObserver({
    url: protocol === 'grpc' ? receiver.endpoint : `${receiver.endpoint}/v1/traces`,
    protocol,
    describeAgent: agentsFromSettings(() => settings),
    workflowIdleMs: 200,
    batch: { maxQueueSize: 100, maxExportBatchSize: 50, scheduledDelayMillis: 50, exportTimeoutMillis: 2000 },
    exportTimeoutMillis: 2000,
    ...extra,
  });
  cleanups.push(() => exp.shutdown());
  const h = await harness(settings, { observers: [exp.observer], invoke: failWriterOnce() });
  cleanups.push(() => h.close());
  return { h, exp };
}

function byName(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
}

async function runConversation(h: Harness, receiver: Receiver) {
  const sent = await h.orchestrator.submit({ message: '@launch plan the launch', channel: 'api', sender: 'ana', senderId: 'u1' });
  await h.waitForConversation(sent.conversationId);
  await waitFor(() => receiver.spans.find((s) => s.name.startsWith('invoke_workflow')), 10_000, 'the invoke_workflow span');
  const runs = await h.stores.runs.listRuns(sent.conversationId);
  const run = (agent: string) => runs.find((r) => r.agentId === agent)!;
  return { conversationId: sent.conversationId, lead: run('lead'), scout: run('scout'), writer: run('writer') };
}

describe('trace export', () => {
  for (const protocol of ['http/protobuf', 'http/json', 'grpc'] as const) {
    it(`${protocol}: one conversation is one trace: workflow, agents, sub-agent, handoff link, tools, retry events, GenAI attributes`, async () => {
      const receiver = protocol === 'grpc' ? await grpcReceiver() : await httpReceiver();
      const { h, exp } = await setUp(receiver, protocol);
      const { conversationId, lead, scout, writer } = await runConversation(h, receiver);
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
      expect(exp.counts()).toMatchObject({ exported: 7, dropped: 0 });
    });
  }

  it('capture_content: prompts, replies and tool arguments on the spans, secrets masked', async () => {
    const receiver = await httpReceiver();
    const { h } = await setUp(receiver, 'http/protobuf', { captureContent: true });
    await runConversation(h, receiver);
    const read = byName(receiver.spans, 'execute_tool Read');
    expect(JSON.parse(read.attributes['gen_ai.tool.call.arguments'] as string)).toEqual({ file_path: 'notes.md', api_key: '…' });
    const lead = byName(receiver.spans, 'invoke_agent Lead');
    expect(lead.attributes['gen_ai.input.messages']).toContain('plan the launch');
    expect(lead.attributes['gen_ai.output.messages']).toContain('Plan ready.');
    expect(JSON.stringify(receiver.spans)).not.toContain(SECRET);
  });
});

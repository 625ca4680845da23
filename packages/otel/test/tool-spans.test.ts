/**
 * Live activity as spans, against a real OTLP receiver (HTTP/protobuf) and a real orchestrator
 * (SQLite file, mock runtime scripting what a CLI streams): each tool call is an
 * `execute_tool {tool}` child of the run's `invoke_agent` span from its call to the result with
 * the same id (calls with ids may overlap), or to the run's end when no result comes; per-call
 * usage puts the cache reads and the model on the run's span; plan updates are span events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import type { Settings } from '@tinyagi/core';
import { createTraceObserver } from '../src/index.ts';
import { exportOptions, harness, SECRET } from './harness.ts';
import { httpReceiver, type ReceivedSpan } from './receiver.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const settings: Settings = {
  agents: {
    coder: {
      provider: 'mock',
      mock: {
        replies: [
          {
            match: 'fix',
            progress: [
              {
                plan: [
                  { text: 'reproduce', status: 'in_progress' },
                  { text: 'fix it', status: 'pending' },
                ],
              },
              { tool: 'Bash', id: 'call-1', kind: 'command', title: `npm test --token ${SECRET}`, input: { command: 'npm test' } },
              { tool: 'Read', id: 'call-2', kind: 'file_read', title: 'src/a.ts' },
              // A call reported again while open (a runtime updating it as it streams): still one span.
              { tool: 'Bash', id: 'call-1', kind: 'command', title: 'npm test' },
              { usage: { input_tokens: 100, output_tokens: 10, cache_read_tokens: 80, model: 'model-x' } },
              { tool_result: 'Read', id: 'call-2', ok: true, output: 'export const a = 1;', after_ms: 30 },
              { tool_result: 'Bash', id: 'call-1', ok: false, output: `1 failed ${SECRET}`, after_ms: 30 },
              { usage: { input_tokens: 40, output_tokens: 5, cache_read_tokens: 20 } },
              {
                plan: [
                  { text: 'reproduce', status: 'completed' },
                  { text: 'fix it', status: 'in_progress' },
                ],
              },
              { tool: 'mcp__docs__search', id: 'call-3', kind: 'mcp' },
              { text: 'still looking', after_ms: 30 },
            ],
            reply: 'done',
            latency_ms: 30,
            usage: { input_tokens: 140, output_tokens: 15 },
          },
        ],
      },
    },
  },
};

async function traced(captureContent: boolean): Promise<ReceivedSpan[]> {
  const receiver = await httpReceiver();
  cleanups.push(() => receiver.close());
  const exp = await createTraceObserver({ ...exportOptions(receiver, 'http/protobuf', settings), captureContent });
  cleanups.push(() => exp.shutdown());
  const h = await harness(settings, { observers: [exp.observer] });
  cleanups.push(() => h.close());
  const sent = await h.orchestrator.submit({ message: '@coder fix the tests', channel: 'api', sender: 'ana', senderId: 'u1' });
  await h.waitForConversation(sent.conversationId);
  await waitFor(() => receiver.spans.find((s) => s.name.startsWith('invoke_agent')) && receiver.spans.length >= 4, 10_000, 'the spans');
  return receiver.spans;
}

const one = (spans: ReceivedSpan[], name: string): ReceivedSpan => {
  const found = spans.filter((s) => s.name === name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
};

describe('tool call spans', () => {
  it('execute_tool children matched by call id, with the call id and tool type; cache reads and model on the run', async () => {
    const spans = await traced(false);
    expect(spans.map((s) => s.name).sort()).toEqual(['execute_tool Bash', 'execute_tool Read', 'execute_tool mcp__docs__search', 'invoke_agent coder']);
    const run = one(spans, 'invoke_agent coder');
    const bash = one(spans, 'execute_tool Bash');
    const read = one(spans, 'execute_tool Read');
    const mcp = one(spans, 'execute_tool mcp__docs__search');
    for (const tool of [bash, read, mcp]) expect(tool.parentSpanId).toBe(run.spanId);
    expect(bash.attributes).toEqual({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'Bash',
      'gen_ai.tool.type': 'function',
      'gen_ai.tool.call.id': 'call-1',
      'tinyagi.tool.kind': 'command',
      'error.type': 'tool_error',
    });
    expect(bash.status.code).toBe(2); // ERROR
    expect(read.attributes).toMatchObject({ 'gen_ai.tool.call.id': 'call-2', 'gen_ai.tool.type': 'function', 'tinyagi.tool.kind': 'file_read' });
    expect(read.status.code).not.toBe(2);
    // The calls overlapped: Read started after Bash and ended before it (a new call did not end the open one).
    expect(read.startMs).toBeGreaterThanOrEqual(bash.startMs);
    expect(read.endMs).toBeLessThanOrEqual(bash.endMs);
    expect(bash.endMs - bash.startMs).toBeGreaterThanOrEqual(50);
    // An MCP tool is an extension; with no result, it ends with the run (the text in between does not end a call with an id).
    expect(mcp.attributes).toMatchObject({ 'gen_ai.tool.type': 'extension', 'gen_ai.tool.call.id': 'call-3', 'tinyagi.tool.kind': 'mcp' });
    expect(mcp.endMs).toBeGreaterThanOrEqual(run.endMs - 5);
    expect(run.attributes).toMatchObject({
      'gen_ai.usage.input_tokens': 140,
      'gen_ai.usage.output_tokens': 15,
      'gen_ai.usage.cache_read.input_tokens': 100,
      'gen_ai.response.model': 'model-x',
      'tinyagi.usage.model_calls': 2,
    });
    expect(run.events.filter((e) => e.name === 'tinyagi.plan').map((e) => e.attributes)).toEqual([
      { 'tinyagi.plan.steps': 2, 'tinyagi.plan.completed': 0 },
      { 'tinyagi.plan.steps': 2, 'tinyagi.plan.completed': 1 },
    ]);
    // No content without the opt-in (titles and outputs are content).
    for (const s of spans) for (const key of Object.keys(s.attributes)) expect(key).not.toMatch(/description|result|arguments|messages/);
  });

  it('capture_content: the title, arguments, output start and the plan step, secrets masked', async () => {
    const spans = await traced(true);
    const bash = one(spans, 'execute_tool Bash');
    expect(bash.attributes['gen_ai.tool.description']).toContain('npm test --token');
    expect(bash.attributes['gen_ai.tool.call.result']).toContain('1 failed');
    expect(JSON.parse(bash.attributes['gen_ai.tool.call.arguments'] as string)).toEqual({ command: 'npm test' });
    expect(one(spans, 'execute_tool Read').attributes['gen_ai.tool.call.result']).toBe('export const a = 1;');
    const plans = one(spans, 'invoke_agent coder').events.filter((e) => e.name === 'tinyagi.plan');
    expect(plans.map((e) => e.attributes['tinyagi.plan.current'])).toEqual(['reproduce', 'fix it']);
    expect(JSON.stringify(spans)).not.toContain(SECRET);
  });
});

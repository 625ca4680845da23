/**
 * The OpenAI- and Anthropic-compatible HTTP adapters against real loopback servers that stream
 * Server-Sent Events the way those APIs do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { invokeAgent, InvokeError, spendOf, type InvokeProgress, type InvokeRequest, type SpawnAgentArgs } from '../src/invoker/index.ts';
import { anthropic, openAi, sendJson, sendSse, startScriptedServer, type Handler, type ScriptedServer } from '@tinyagi/test-kit';

let workspace: string;
let server: ScriptedServer | undefined;
let events: InvokeProgress[];

beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'tinyagi-invoker-http-'));
  events = [];
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(workspace, { recursive: true, force: true });
});

async function serve(...handlers: Handler[]): Promise<ScriptedServer> {
  server = await startScriptedServer(handlers);
  return server;
}

function request(api: 'openai' | 'anthropic', baseUrl: string, extra: Partial<InvokeRequest> = {}): InvokeRequest {
  return {
    agentId: 'helper',
    target: { runtime: `${api}-api`, provider: `custom:local-${api}`, model: 'test-model', baseUrl, apiKey: 'sk-test' },
    prompt: 'What is six times seven?',
    systemPrompt: 'You are helpful.',
    cwd: workspace,
    session: {
      key: 'shared',
      history: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello!' },
      ],
    },
    onEvent: (e) => events.push(e),
    ...extra,
  };
}

async function invokeError(promise: Promise<unknown>): Promise<InvokeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof InvokeError) return err;
    throw err;
  }
  throw new Error('expected the invocation to fail');
}

function texts(): string[] {
  return events.flatMap((e) => (e.type === 'text' ? [e.text] : []));
}

describe('openai-api runtime', () => {
  it('streams text deltas as progress and returns the answer with usage', async () => {
    const s = await serve((_req, res) => sendSse(res, [openAi.text('It is '), openAi.text('42.'), openAi.finish('stop'), openAi.usage(31, 4), openAi.done]));
    const result = await invokeAgent(request('openai', `${s.url}/v1`));

    expect(result).toEqual({ text: 'It is 42.', usage: { inputTokens: 31, outputTokens: 4 } });
    expect(texts()).toEqual(['It is ', '42.']);
    const sent = s.requests[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe('Bearer sk-test');
    expect(sent.body).toMatchObject({ model: 'test-model', stream: true, stream_options: { include_usage: true } });
    expect(sent.body.messages).toEqual([
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello!' },
      { role: 'user', content: 'What is six times seven?' },
    ]);
    expect(sent.body.tools).toBeUndefined();
  });

  it('offers spawn_agent, runs the sub-agent on a tool call and continues with its result', async () => {
    const s = await serve(
      (_req, res) =>
        sendSse(res, [
          openAi.toolCall(0, { id: 'call_7', name: 'spawn_agent', arguments: '{"agent":"math' }),
          openAi.toolCall(0, { arguments: 'er","task":"compute 6*7"}' }),
          openAi.finish('tool_calls'),
          openAi.usage(40, 12),
          openAi.done,
        ]),
      (_req, res) => sendSse(res, [openAi.text('The mather says 42.'), openAi.finish('stop'), openAi.usage(60, 6), openAi.done]),
    );
    const calls: SpawnAgentArgs[] = [];
    const result = await invokeAgent(
      request('openai', `${s.url}/v1`, {
        tools: {
          spawnAgent: async (args) => {
            calls.push(args);
            return 'six times seven is 42';
          },
        },
      }),
    );

    expect(calls).toEqual([{ agent: 'mather', task: 'compute 6*7' }]);
    expect(result.text).toBe('The mather says 42.');
    expect(result.usage).toEqual({ inputTokens: 100, outputTokens: 18 });
    expect(events).toContainEqual({ type: 'tool', name: 'spawn_agent', input: { agent: 'mather', task: 'compute 6*7' } });
    expect(events).toContainEqual({ type: 'tool_result', name: 'spawn_agent', ok: true });

    const first = s.requests[0]!.body;
    expect(first.tools).toEqual([expect.objectContaining({ type: 'function', function: expect.objectContaining({ name: 'spawn_agent' }) })]);
    const followUp = s.requests[1]!.body.messages as Array<Record<string, unknown>>;
    expect(followUp.at(-2)).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call_7', function: { name: 'spawn_agent' } }] });
    expect(followUp.at(-1)).toEqual({ role: 'tool', tool_call_id: 'call_7', content: 'six times seven is 42' });
  });

  it('asks the steering checkpoint before each later model call; a paused wait is not silence', async () => {
    const s = await serve(
      (_req, res) => sendSse(res, [openAi.toolCall(0, { id: 'c1', name: 'spawn_agent', arguments: '{"agent":"a","task":"t"}' }), openAi.finish('tool_calls'), openAi.done]),
      (_req, res) => sendSse(res, [openAi.text('done, in base 10'), openAi.finish('stop'), openAi.done]),
    );
    let checkpoints = 0;
    const result = await invokeAgent(
      request('openai', `${s.url}/v1`, {
        inactivityMs: 500,
        tools: { spawnAgent: async () => 'child says hi' },
        checkpoint: async () => {
          checkpoints++;
          // Paused by the operator for longer than the inactivity limit.
          await new Promise((r) => setTimeout(r, 1200));
          return '[Message added by the operator while you were working]\nuse base 10';
        },
      }),
    );
    expect(result.text).toBe('done, in base 10');
    expect(checkpoints).toBe(1);
    expect(s.requests[0]!.body.messages).not.toContainEqual(expect.objectContaining({ content: expect.stringContaining('base 10') }));
    const followUp = s.requests[1]!.body.messages as Array<Record<string, unknown>>;
    expect(followUp.slice(-2)).toEqual([
      { role: 'tool', tool_call_id: 'c1', content: 'child says hi' },
      { role: 'user', content: '[Message added by the operator while you were working]\nuse base 10' },
    ]);
  });

  it('a cancel during a paused checkpoint ends the invocation', async () => {
    const s = await serve((_req, res) => sendSse(res, [openAi.toolCall(0, { id: 'c1', name: 'spawn_agent', arguments: '{"agent":"a","task":"t"}' }), openAi.finish('tool_calls'), openAi.done]));
    const controller = new AbortController();
    const pending = invokeAgent(
      request('openai', `${s.url}/v1`, {
        signal: controller.signal,
        tools: { spawnAgent: async () => 'ok' },
        checkpoint: () => {
          setTimeout(() => controller.abort(), 50);
          return new Promise<undefined>(() => {});
        },
      }),
    );
    await expect(pending).rejects.toBeInstanceOf(InvokeError);
    expect(s.requests).toHaveLength(1);
  });

  it('hands a failing sub-agent back to the model as a tool result instead of failing the run', async () => {
    const s = await serve(
      (_req, res) => sendSse(res, [openAi.toolCall(0, { id: 'c1', name: 'spawn_agent', arguments: '{"agent":"deep","task":"x"}' }), openAi.done]),
      (_req, res) => sendSse(res, [openAi.text('Could not delegate.'), openAi.done]),
    );
    const result = await invokeAgent(
      request('openai', s.url, {
        tools: {
          spawnAgent: async () => {
            throw new Error('depth limit reached (5)');
          },
        },
      }),
    );
    expect(result.text).toBe('Could not delegate.');
    const messages = s.requests[1]!.body.messages as Array<Record<string, unknown>>;
    expect(messages.at(-1)).toMatchObject({ role: 'tool', content: 'spawn_agent failed: depth limit reached (5)' });
    expect(events).toContainEqual({ type: 'tool_result', name: 'spawn_agent', ok: false });
  });

  it('does not count a long sub-agent run as silence, and stops waiting for it when cancelled', async () => {
    const spawnRound: Handler = (_req, res) => sendSse(res, [openAi.toolCall(0, { id: 'c', name: 'spawn_agent', arguments: '{"agent":"slow","task":"t"}' }), openAi.done]);
    const s = await serve(spawnRound, (_req, res) => sendSse(res, [openAi.text('done'), openAi.done]), spawnRound);

    const slowChild = async (): Promise<string> => {
      await new Promise((resolve) => setTimeout(resolve, 1200));
      return 'child finished';
    };
    // Wide margins: on a loaded machine an event-loop stall must not look like silence.
    const result = await invokeAgent(request('openai', s.url, { inactivityMs: 500, tools: { spawnAgent: slowChild } }));
    expect(result.text).toBe('done');

    const controller = new AbortController();
    let childSignal: AbortSignal | undefined;
    const run = invokeAgent(
      request('openai', s.url, {
        signal: controller.signal,
        tools: {
          spawnAgent: (_args, { signal }) => {
            childSignal = signal;
            setTimeout(() => controller.abort(), 20);
            return new Promise<string>(() => {});
          },
        },
      }),
    );
    expect((await invokeError(run)).kind).toBe('cancelled');
    expect(childSignal?.aborted).toBe(true);
  });

  it('stops offering tools after maxToolRounds model calls', async () => {
    const toolRound: Handler = (_req, res) => sendSse(res, [openAi.toolCall(0, { id: 'c', name: 'spawn_agent', arguments: '{"agent":"a","task":"t"}' }), openAi.done]);
    const s = await serve(toolRound, (_req, res) => sendSse(res, [openAi.text('final'), openAi.done]));
    const base = request('openai', s.url, { tools: { spawnAgent: async () => 'ok' } });
    const result = await invokeAgent({ ...base, target: { ...base.target, maxToolRounds: 2 } });
    expect(result.text).toBe('final');
    expect(s.requests).toHaveLength(2);
    expect(s.requests[0]!.body.tools).toBeDefined();
    expect(s.requests[1]!.body.tools).toBeUndefined();
  });

  it('classifies 429 with Retry-After as rate_limited', async () => {
    const s = await serve((_req, res) => sendJson(res, 429, { error: { message: 'Rate limit reached' } }, { 'retry-after': '3' }));
    const err = await invokeError(invokeAgent(request('openai', s.url)));
    expect(err.kind).toBe('rate_limited');
    expect(err.retryAfterMs).toBe(3000);
  });

  it('a failure after paid model calls carries their usage, so the attempt is charged', async () => {
    const s = await serve(
      (_req, res) => sendSse(res, [openAi.toolCall(0, { id: 'call_1', name: 'spawn_agent', arguments: '{"agent":"a","task":"t"}' }), openAi.finish('tool_calls'), openAi.usage(40, 12), openAi.done]),
      (_req, res) => sendJson(res, 500, { error: { message: 'boom' } }),
    );
    const failure = await invokeError(invokeAgent(request('openai', `${s.url}/v1`, { tools: { spawnAgent: async () => 'done' } })));
    expect(failure.kind).toBe('retryable');
    expect(spendOf(failure)).toEqual({ usage: { inputTokens: 40, outputTokens: 12 }, costUsd: 0 });
  });

  it('classifies 500 as retryable and 401 as permanent', async () => {
    const s = await serve(
      (_req, res) => sendJson(res, 500, { error: { message: 'boom' } }),
      (_req, res) => sendJson(res, 401, { error: { message: 'invalid api key' } }),
    );
    const serverError = await invokeError(invokeAgent(request('openai', s.url)));
    expect(serverError.kind).toBe('retryable');
    expect(serverError.message).toContain('HTTP 500');
    const authError = await invokeError(invokeAgent(request('openai', s.url)));
    expect(authError.kind).toBe('permanent');
    expect(authError.code).toBe('PROVIDER_CONFIG_INVALID');
    expect(authError.message).toContain('invalid api key');
  });

  it('classifies a refused connection as retryable', async () => {
    const s = await serve();
    const url = s.url;
    await s.close();
    server = undefined;
    const err = await invokeError(invokeAgent(request('openai', url)));
    expect(err.kind).toBe('retryable');
  });

  it('times out a stalled stream (inactivity) and honours abort', async () => {
    const s = await serve(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify(openAi.text('thinking').data)}\n\n`);
      },
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
      },
    );
    const stalled = await invokeError(invokeAgent(request('openai', s.url, { inactivityMs: 300 })));
    expect(stalled.kind).toBe('timeout');
    expect(stalled.message).toContain('no output for 300 ms');
    expect(texts()).toEqual(['thinking']);

    const controller = new AbortController();
    const run = invokeAgent(request('openai', s.url, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 100);
    expect((await invokeError(run)).kind).toBe('cancelled');
  });

  it('refuses to run without a model', async () => {
    const base = request('openai', 'http://127.0.0.1:9');
    const err = await invokeError(invokeAgent({ ...base, target: { ...base.target, model: undefined } }));
    expect(err.kind).toBe('permanent');
    expect(err.code).toBe('PROVIDER_CONFIG_INVALID');
  });
});

describe('anthropic-api runtime', () => {
  it('streams text and reports usage from message_start and message_delta', async () => {
    const s = await serve((_req, res) =>
      sendSse(res, [
        anthropic.start(25, 5),
        anthropic.textBlock(0),
        anthropic.textDelta(0, 'Forty'),
        anthropic.textDelta(0, '-two.'),
        anthropic.blockStop(0),
        anthropic.delta('end_turn', 7),
        anthropic.stop,
      ]),
    );
    const result = await invokeAgent(request('anthropic', s.url));

    expect(result).toEqual({ text: 'Forty-two.', usage: { inputTokens: 30, outputTokens: 7 } });
    expect(texts()).toEqual(['Forty', '-two.']);
    const sent = s.requests[0]!;
    expect(sent.path).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe('sk-test');
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.body).toMatchObject({ model: 'test-model', system: 'You are helpful.', stream: true, max_tokens: 8192 });
    expect(sent.body.messages).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello!' },
      { role: 'user', content: 'What is six times seven?' },
    ]);
  });

  it('runs spawn_agent on tool_use and sends the result back as a tool_result', async () => {
    const s = await serve(
      (_req, res) =>
        sendSse(res, [
          anthropic.start(10),
          anthropic.textBlock(0),
          anthropic.textDelta(0, 'Asking the mather.'),
          anthropic.toolBlock(1, 'toolu_9', 'spawn_agent'),
          anthropic.jsonDelta(1, '{"agent":"mather",'),
          anthropic.jsonDelta(1, '"task":"6*7","session":"calc"}'),
          anthropic.delta('tool_use', 20),
          anthropic.stop,
        ]),
      (_req, res) => sendSse(res, [anthropic.start(50), anthropic.textBlock(0), anthropic.textDelta(0, 'It is 42.'), anthropic.delta('end_turn', 5), anthropic.stop]),
    );
    const calls: SpawnAgentArgs[] = [];
    const result = await invokeAgent(
      request('anthropic', `${s.url}/v1`, {
        tools: {
          spawnAgent: async (a) => {
            calls.push(a);
            return '42';
          },
        },
      }),
    );

    expect(calls).toEqual([{ agent: 'mather', task: '6*7', session: 'calc' }]);
    expect(result).toEqual({ text: 'It is 42.', usage: { inputTokens: 60, outputTokens: 25 } });
    expect(s.requests[0]!.path).toBe('/v1/messages');
    expect(s.requests[0]!.body.tools).toEqual([expect.objectContaining({ name: 'spawn_agent', input_schema: expect.any(Object) })]);
    const messages = s.requests[1]!.body.messages as Array<Record<string, unknown>>;
    expect(messages.at(-2)).toEqual({
      role: 'assistant',
      content: [
        { type: 'text', text: 'Asking the mather.' },
        { type: 'tool_use', id: 'toolu_9', name: 'spawn_agent', input: { agent: 'mather', task: '6*7', session: 'calc' } },
      ],
    });
    expect(messages.at(-1)).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: '42', is_error: false }] });
  });

  it('adds steering input to the user turn that carries the tool results', async () => {
    const s = await serve(
      (_req, res) =>
        sendSse(res, [anthropic.start(1), anthropic.toolBlock(0, 'toolu_1', 'spawn_agent'), anthropic.jsonDelta(0, '{"agent":"a","task":"t"}'), anthropic.delta('tool_use', 1), anthropic.stop]),
      (_req, res) => sendSse(res, [anthropic.start(1), anthropic.textBlock(0), anthropic.textDelta(0, 'ok'), anthropic.delta('end_turn', 1), anthropic.stop]),
    );
    await invokeAgent(request('anthropic', `${s.url}/v1`, { tools: { spawnAgent: async () => '42' }, checkpoint: async () => 'stop after this' }));
    const messages = s.requests[1]!.body.messages as Array<Record<string, unknown>>;
    expect(messages.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: '42', is_error: false },
        { type: 'text', text: 'stop after this' },
      ],
    });
  });

  it('classifies 529 and an overloaded_error event as rate_limited', async () => {
    const s = await serve(
      (_req, res) => sendJson(res, 529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, { 'retry-after': '5' }),
      (_req, res) => sendSse(res, [anthropic.start(10), anthropic.error('overloaded_error', 'Overloaded')]),
    );
    const status = await invokeError(invokeAgent(request('anthropic', s.url)));
    expect(status.kind).toBe('rate_limited');
    expect(status.retryAfterMs).toBe(5000);
    const midStream = await invokeError(invokeAgent(request('anthropic', s.url)));
    expect(midStream.kind).toBe('rate_limited');
    expect(midStream.message).toContain('overloaded_error');
  });

  it('classifies a 400 as permanent', async () => {
    const s = await serve((_req, res) => sendJson(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens too large' } }));
    const err = await invokeError(invokeAgent(request('anthropic', s.url)));
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain('max_tokens too large');
  });
});

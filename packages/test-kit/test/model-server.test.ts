/**
 * The stand-in model API and the deny-all proxy, over real HTTP: the stream events each API
 * defines, in order; tool calls in each API's shape; errors as the APIs send them; the kill of
 * the client process; refusals recorded. (The real CLIs drive them in packages/real-cli-test.)
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { afterEach, expect, it } from 'vitest';
import { exitOf, startDenyProxy, startModelServer, type ModelServer, type ModelServerOptions } from '../src/index.ts';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function server(respond?: ModelServerOptions['respond']): Promise<ModelServer> {
  const s = await startModelServer(respond ? { respond } : {});
  open.push(s);
  return s;
}

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** SSE frames as [event, data] (data parsed unless it is [DONE]). */
function frames(text: string): Array<[string | undefined, unknown]> {
  return text
    .split('\n\n')
    .filter((f) => f.trim() !== '')
    .map((f) => {
      const event = /^event: (.*)$/m.exec(f)?.[1];
      const data = /^data: (.*)$/m.exec(f)?.[1] ?? '';
      return [event, data === '[DONE]' ? data : JSON.parse(data)];
    });
}

it('Anthropic Messages: a streamed reply has the documented events in order, with the usage served', async () => {
  const s = await server(() => ({ reply: 'hi there', usage: { inputTokens: 120, outputTokens: 7, cacheReadTokens: 30 } }));
  const res = await post(`${s.url}/v1/messages?beta=true`, { model: 'm', stream: true, system: [{ type: 'text', text: 'SYS' }], messages: [{ role: 'user', content: 'hello' }] });
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const events = frames(await res.text());
  expect(events.map(([e]) => e)).toEqual(['message_start', 'ping', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  expect((events[0]![1] as { message: { usage: unknown } }).message.usage).toEqual({ input_tokens: 120, cache_creation_input_tokens: 0, cache_read_input_tokens: 30, output_tokens: 1 });
  expect(events[3]![1]).toEqual({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi there' } });
  expect(events[5]![1]).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } });
  expect(s.calls[0]!.request.entries).toEqual([
    { role: 'system', text: 'SYS' },
    { role: 'user', text: 'hello' },
  ]);
});

it("a shell action becomes a call of the CLI's own shell tool in each API's shape", async () => {
  const s = await server(() => ({ shell: 'echo hi' }));
  const anthropic = await (await post(`${s.url}/v1/messages`, { model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [{ name: 'Bash' }] })).json();
  expect(anthropic).toMatchObject({ stop_reason: 'tool_use', content: [{ type: 'tool_use', name: 'Bash', input: { command: 'echo hi' } }] });

  const events = frames(await (await post(`${s.url}/v1/responses`, { model: 'm', stream: true, input: 'x', tools: [{ type: 'function', name: 'exec_command' }] })).text());
  expect(events.map(([e]) => e)).toEqual([
    'response.created',
    'response.in_progress',
    'response.output_item.added',
    'response.function_call_arguments.delta',
    'response.function_call_arguments.done',
    'response.output_item.done',
    'response.completed',
  ]);
  const done = events[5]![1] as { item: { type: string; name: string; arguments: string }; sequence_number: number };
  expect(done.item).toMatchObject({ type: 'function_call', name: 'exec_command' });
  expect(JSON.parse(done.item.arguments)).toMatchObject({ cmd: 'echo hi' });
  expect(done.sequence_number).toBe(5);

  const chat = frames(
    await (
      await post(`${s.url}/v1/chat/completions`, {
        model: 'm',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'function', function: { name: 'bash' } }],
      })
    ).text(),
  );
  expect(chat.at(-1)![1]).toBe('[DONE]');
  expect(chat.at(-2)![1]).toMatchObject({ choices: [], usage: { prompt_tokens: 1200, completion_tokens: 40, total_tokens: 1240 } });
  expect(chat.some(([, d]) => JSON.stringify(d).includes('"finish_reason":"tool_calls"'))).toBe(true);
  // No shell tool offered: a 500 that says so, not a malformed answer.
  const none = await post(`${s.url}/v1/chat/completions`, { model: 'm', messages: [{ role: 'user', content: 'x' }] });
  expect(none.status).toBe(500);
  expect(await none.text()).toContain('no shell tool');
});

it("tool results are parsed as the tool's output in each API", async () => {
  const s = await server();
  await post(`${s.url}/v1/messages`, { model: 'm', messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'OUT-A' }] }] }] });
  await post(`${s.url}/v1/responses`, { model: 'm', instructions: 'I', input: [{ type: 'function_call_output', call_id: 'c', output: 'OUT-B' }] });
  await post(`${s.url}/v1/chat/completions`, { model: 'm', messages: [{ role: 'tool', tool_call_id: 'c', content: 'OUT-C' }] });
  expect(s.calls.map((c) => c.request.entries.at(-1))).toEqual([
    { role: 'tool', text: 'OUT-A' },
    { role: 'tool', text: 'OUT-B' },
    { role: 'tool', text: 'OUT-C' },
  ]);
});

it('errors have each API’s shape and serve no usage; other paths are 404 and recorded', async () => {
  const s = await server(() => ({ status: 429, retryAfterS: 0 }));
  const a = await post(`${s.url}/v1/messages`, { model: 'm', messages: [] });
  expect(a.status).toBe(429);
  expect(a.headers.get('retry-after')).toBe('0');
  expect(await a.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  const o = await post(`${s.url}/v1/responses`, { model: 'm', input: 'x' });
  expect(await o.json()).toMatchObject({ error: { type: 'rate_limit_exceeded', code: 'rate_limit_exceeded' } });
  expect(s.calls.map((c) => c.served)).toEqual([
    { inputTokens: 0, outputTokens: 0 },
    { inputTokens: 0, outputTokens: 0 },
  ]);
  expect((await fetch(`${s.url}/v1/models`)).status).toBe(404);
  expect(s.unknown).toEqual([{ method: 'GET', path: '/v1/models' }]);
});

it('Gemini API: the request parsed from its Content parts; a streamed answer as GenerateContentResponse chunks, the last with the finish reason and usage; functionCall, countTokens and errors', async () => {
  const s = await server((request) =>
    request.entries.at(-1)?.role === 'tool'
      ? { reply: 'done', usage: { inputTokens: 900, outputTokens: 12, cacheReadTokens: 300, thoughtTokens: 5 } }
      : request.entries.at(-1)?.text === 'fail'
        ? { status: 429 }
        : { shell: 'echo hi', text: 'Running it.' },
  );
  const gemini = (model: string, method: string): string => `${s.url}/v1beta/models/${model}:${method}`;
  const tools = [{ functionDeclarations: [{ name: 'run_shell_command', parametersJsonSchema: { type: 'object' } }, { name: 'mcp_tinyagi_call_agent' }] }];
  const call = frames(
    await (
      await post(`${gemini('gemini-2.5-pro', 'streamGenerateContent')}?alt=sse`, {
        systemInstruction: { parts: [{ text: 'SYS' }] },
        contents: [{ role: 'user', parts: [{ text: 'context' }, { text: 'run it' }] }],
        tools,
      })
    ).text(),
  );
  expect(call.map(([e]) => e)).toEqual([undefined, undefined]);
  expect(call[0]![1]).toMatchObject({ candidates: [{ content: { role: 'model', parts: [{ text: 'Running it.' }] }, index: 0 }], modelVersion: 'gemini-2.5-pro' });
  expect(call[0]![1]).not.toHaveProperty('usageMetadata');
  expect(call[1]![1]).toMatchObject({
    candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'run_shell_command', args: { command: 'echo hi' } } }] }, finishReason: 'STOP' }],
    usageMetadata: { promptTokenCount: 1200, candidatesTokenCount: 40, totalTokenCount: 1240 },
  });
  expect(s.calls[0]!.request).toMatchObject({ api: 'gemini', model: 'gemini-2.5-pro', stream: true, tools: ['run_shell_command', 'mcp_tinyagi_call_agent'] });
  expect(s.calls[0]!.request.entries).toEqual([
    { role: 'system', text: 'SYS' },
    { role: 'user', text: 'context' },
    { role: 'user', text: 'run it' },
  ]);

  const answer = await (
    await post(gemini('gemini-2.5-pro', 'generateContent'), {
      contents: [
        { role: 'user', parts: [{ text: 'run it' }] },
        { role: 'model', parts: [{ text: 'thinking…', thought: true }, { functionCall: { name: 'run_shell_command', args: { command: 'echo hi' } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'run_shell_command', response: { output: 'hi' } } }] },
      ],
    })
  ).json();
  expect(answer).toMatchObject({
    candidates: [{ content: { parts: [{ text: 'done' }] }, finishReason: 'STOP' }],
    usageMetadata: { promptTokenCount: 900, cachedContentTokenCount: 300, candidatesTokenCount: 12, thoughtsTokenCount: 5, totalTokenCount: 917 },
  });
  expect(s.calls[1]!.request.entries).toEqual([
    { role: 'user', text: 'run it' },
    { role: 'assistant', text: '{"command":"echo hi"}' },
    { role: 'tool', text: 'hi' },
  ]);

  const counted = await post(gemini('gemini-2.5-pro', 'countTokens'), { contents: [{ role: 'user', parts: [{ text: 'x' }] }] });
  expect(await counted.json()).toEqual({ totalTokens: 1200 });
  const refused = await post(gemini('gemini-2.5-pro', 'generateContent'), { contents: [{ role: 'user', parts: [{ text: 'fail' }] }] });
  expect(refused.status).toBe(429);
  expect(await refused.json()).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
  expect(s.calls).toHaveLength(3);
});

it('kill: the process holding the connection is killed with SIGKILL', async () => {
  const s = await server(() => ({ kill: true }));
  const child = spawn(process.execPath, [
    '-e',
    `fetch(${JSON.stringify(`${s.url}/v1/messages`)}, { method: 'POST', body: '{"model":"m","stream":true,"messages":[]}' }).then(() => setTimeout(() => {}, 60000))`,
  ]);
  const exit = await exitOf(child);
  expect(exit.signal).toBe('SIGKILL');
  expect(s.calls[0]!.killedPid).toBe(child.pid);
});

it('the deny proxy refuses CONNECT and plain proxied requests and records their hosts', async () => {
  const proxy = await startDenyProxy();
  open.push(proxy);
  const { port } = new URL(proxy.url);
  const connect = await new Promise<number | undefined>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'CONNECT', path: 'api.example.com:443' });
    req.on('connect', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
  expect(connect).toBe(403);
  const plain = await new Promise<number | undefined>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: 'http://plain.example.org/x?y=1', headers: { host: 'plain.example.org' } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
  expect(plain).toBe(403);
  expect(proxy.hosts()).toEqual(['api.example.com', 'plain.example.org']);
  expect(proxy.refused.map(({ at: _, ...r }) => r)).toEqual([
    { method: 'CONNECT', host: 'api.example.com', port: 443 },
    { method: 'GET', host: 'plain.example.org', port: 80, url: 'http://plain.example.org/x?y=1' },
  ]);
  expect(proxy.env()).toMatchObject({ HTTPS_PROXY: proxy.url, https_proxy: proxy.url, NO_PROXY: '127.0.0.1,localhost,::1' });
});

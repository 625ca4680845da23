/**
 * The model proxy (sandbox/model-proxy.ts, docs/sandbox.md#the-model-proxy) against the test
 * kit's stand-in model server on real loopback HTTP, for the three APIs streamed and not: the
 * real key goes in the header the provider takes and the placeholder never leaves; a wrong or
 * missing placeholder, a route outside the model API and the other API's prefix are refused in
 * the provider's error format with nothing forwarded; usage metered from the response equals
 * what the stand-in served; a budget refusal is the provider's error format; a 429 reaches the
 * quota board; the stream passes unbuffered. Then the wiring (invoker/through-model-proxy.ts):
 * the HTTP runtimes invoked through it, and the CLI runtimes' targets with the real key nowhere.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startModelServer, waitFor, type ModelAction, type ModelServer, type ModelUsage } from '@tinyagi/test-kit';
import { openStores, type SqliteStores } from '../src/compose/sqlite-stores.ts';
import { invokeAgent } from '../src/invoker/invoke.ts';
import { planModelRoute } from '../src/invoker/launch-plan.ts';
import { invokeThroughModelProxy, proxiedTarget, proxiedUpstream } from '../src/invoker/through-model-proxy.ts';
import type { InvokeTarget, QuotaReport } from '../src/invoker/types.ts';
import { resolveInvokeTarget } from '../src/invoker/resolve-target.ts';
import { QuotaBoard } from '../src/quotas/board.ts';
import { modelPrice, ModelProxy, type BudgetQuery, type MeteredCall, type ModelUpstream, quotaReportOf } from '@tinyagi/sandbox';

const REAL_KEY = 'sk-real-key-0123456789abcdef';
const SERVED: ModelUsage = { inputTokens: 1200, outputTokens: 40, cacheReadTokens: 300, cacheWriteTokens: 100 };

let dir: string;
let model: ModelServer;
let proxy: ModelProxy;
let next: ModelAction[] = [];
const metered: MeteredCall[] = [];
let refusal: string | undefined;
const budgetQueries: BudgetQuery[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-model-proxy-'));
  model = await startModelServer({ respond: () => next.shift() ?? { reply: 'hello', usage: SERVED } });
  proxy = await ModelProxy.start({
    dir: join(dir, 'run', 'sandbox'),
    budget: (query) => {
      budgetQueries.push(query);
      return refusal;
    },
    onCall: (call) => void metered.push(call),
  });
});

afterAll(async () => {
  await proxy?.stop();
  await model?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  next = [];
  refusal = undefined;
  metered.length = 0;
  budgetQueries.length = 0;
  model.calls.length = 0;
  model.unknown.length = 0;
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** A raw HTTP request (no URL normalization: `..` stays as written), over TCP or a Unix socket. */
function send(options: { path: string; method?: string; headers?: Record<string, string>; body?: unknown; socketPath?: string; url?: string }): Promise<Answer> {
  const target = new URL(options.url ?? proxy.url);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        ...(options.socketPath ? { socketPath: options.socketPath } : { host: target.hostname, port: target.port }),
        path: options.path,
        method: options.method ?? 'POST',
        headers: { 'content-type': 'application/json', ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The SSE events of a stream, by name (Anthropic, Responses) or `data` (Chat Completions), in order. */
function eventNames(text: string): string[] {
  return text
    .split(/\n\n/)
    .filter((e) => e.trim() !== '')
    .map((e) => /^event: (.+)$/m.exec(e)?.[1] ?? (/^data: (.*)$/m.exec(e)?.[1] === '[DONE]' ? '[DONE]' : 'data'));
}

function dataChunks(text: string): Array<Record<string, unknown>> {
  return [...text.matchAll(/^data: (.+)$/gm)]
    .map((m) => m[1]!)
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d) as Record<string, unknown>);
}

function upstream(family: 'anthropic' | 'openai', auth: ModelUpstream['auth'] = family === 'anthropic' ? 'x-api-key' : 'bearer', key = REAL_KEY): ModelUpstream {
  return { family, baseUrl: family === 'anthropic' ? model.url : `${model.url}/v1`, key, auth };
}

const anthropicBody = (stream: boolean) => ({ model: 'claude-sonnet-4-6', max_tokens: 100, stream, messages: [{ role: 'user', content: 'hi' }] });
const responsesBody = (stream: boolean) => ({ model: 'gpt-5.1', stream, input: 'hi' });
const chatBody = (stream: boolean, includeUsage?: boolean) => ({
  model: 'gpt-5.1',
  stream,
  messages: [{ role: 'user', content: 'hi' }],
  ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
});

/** The key headers the stand-in received on its last call. */
function keyHeaders(): { apiKey: unknown; authorization: unknown } {
  const headers = model.calls.at(-1)!.request.headers;
  return { apiKey: headers['x-api-key'], authorization: headers.authorization };
}

describe('the three APIs through the proxy', () => {
  it('Anthropic Messages, streamed and not: the real key as x-api-key (or a bearer for an auth token), the query kept, usage metered as served', async () => {
    const end = proxy.begin({ agentId: 'ant', runId: 'run_a', conversationId: null, upstream: upstream('anthropic') });
    try {
      const key = proxy.placeholder('ant');
      const direct = await send({ url: model.url, path: '/v1/messages', headers: { 'x-api-key': REAL_KEY }, body: anthropicBody(true) });
      model.calls.length = 0;
      const streamed = await send({ path: '/anthropic/v1/messages?beta=true', headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01' }, body: anthropicBody(true) });
      expect(streamed.status).toBe(200);
      expect(streamed.headers['content-type']).toMatch(/^text\/event-stream/);
      // One connection per call: no agent process keeps an idle connection to the daemon.
      expect(streamed.headers.connection).toBe('close');
      expect(eventNames(streamed.text)).toEqual(eventNames(direct.text));
      expect(model.calls[0]!.request.path).toBe('/v1/messages?beta=true');
      expect(model.calls[0]!.request.headers['anthropic-version']).toBe('2023-06-01');
      expect(keyHeaders()).toEqual({ apiKey: REAL_KEY, authorization: undefined });
      const plain = await send({ path: '/anthropic/v1/messages', headers: { authorization: `Bearer ${key}` }, body: anthropicBody(false) });
      expect(plain.status).toBe(200);
      expect(JSON.parse(plain.text)).toMatchObject({ type: 'message', content: [{ type: 'text', text: 'hello' }] });
      expect(keyHeaders()).toEqual({ apiKey: REAL_KEY, authorization: undefined });
      await waitFor(() => metered.length === 2, 5000, 'both calls metered');
      // Anthropic's input_tokens leave cache reads and writes out: the proxy counts every prompt token.
      const usage = { inputTokens: 1200 + 300 + 100, outputTokens: 40, cacheReadTokens: 300, cacheWriteTokens: 100 };
      expect(metered.map((c) => [c.api, c.streamed, c.status, c.runId, c.model, c.usage])).toEqual([
        ['messages', true, 200, 'run_a', 'claude-sonnet-4-6', usage],
        ['messages', false, 200, 'run_a', 'claude-sonnet-4-6', usage],
      ]);
      for (const call of model.calls) expect(JSON.stringify(call.request.headers)).not.toContain(key);
    } finally {
      end();
    }
    // An auth token (a custom provider's ANTHROPIC_AUTH_TOKEN) goes as a bearer.
    const endBearer = proxy.begin({ agentId: 'ant', runId: null, conversationId: null, upstream: upstream('anthropic', 'bearer') });
    try {
      await send({ path: '/anthropic/v1/messages', headers: { 'x-api-key': proxy.placeholder('ant') }, body: anthropicBody(true) });
      expect(keyHeaders()).toEqual({ apiKey: undefined, authorization: `Bearer ${REAL_KEY}` });
    } finally {
      endBearer();
    }
    // An OAuth token: a bearer, with the upstream's beta flag added to the CLI's own list.
    const endOAuth = proxy.begin({ agentId: 'ant', runId: null, conversationId: null, upstream: { ...upstream('anthropic', 'bearer'), headers: { 'anthropic-beta': 'oauth-2025-04-20' } } });
    try {
      await send({ path: '/anthropic/v1/messages', headers: { 'x-api-key': proxy.placeholder('ant'), 'anthropic-beta': 'fine-grained-tool-streaming-2025-05-14' }, body: anthropicBody(false) });
      expect(keyHeaders()).toEqual({ apiKey: undefined, authorization: `Bearer ${REAL_KEY}` });
      expect(model.calls.at(-1)!.request.headers['anthropic-beta']).toBe('fine-grained-tool-streaming-2025-05-14,oauth-2025-04-20');
    } finally {
      endOAuth();
    }
    // A provider that takes no key (a model server on the host's loopback): none is sent.
    const endNone = proxy.begin({ agentId: 'ant', runId: null, conversationId: null, upstream: upstream('anthropic', 'bearer', '') });
    try {
      await send({ path: '/anthropic/v1/messages', headers: { 'x-api-key': proxy.placeholder('ant') }, body: anthropicBody(false) });
      expect(keyHeaders()).toEqual({ apiKey: undefined, authorization: undefined });
    } finally {
      endNone();
    }
  });

  it('OpenAI Responses, streamed and not: a bearer, the base URL kept, usage from response.completed', async () => {
    const end = proxy.begin({ agentId: 'oai', runId: 'run_o', conversationId: null, upstream: upstream('openai') });
    try {
      const auth = { authorization: `Bearer ${proxy.placeholder('oai')}` };
      const direct = await send({ url: model.url, path: '/v1/responses', body: responsesBody(true) });
      model.calls.length = 0;
      const streamed = await send({ path: '/openai/responses', headers: auth, body: responsesBody(true) });
      expect(eventNames(streamed.text)).toEqual(eventNames(direct.text));
      expect(model.calls[0]!.request.path).toBe('/v1/responses');
      expect(keyHeaders()).toEqual({ apiKey: undefined, authorization: `Bearer ${REAL_KEY}` });
      const plain = await send({ path: '/openai/responses', headers: auth, body: responsesBody(false) });
      expect(JSON.parse(plain.text)).toMatchObject({ object: 'response', status: 'completed' });
      await waitFor(() => metered.length === 2, 5000, 'both calls metered');
      // OpenAI's input_tokens include the cached ones.
      const usage = { inputTokens: 1200, outputTokens: 40, cacheReadTokens: 300, cacheWriteTokens: 0 };
      expect(metered.map((c) => [c.api, c.streamed, c.usage])).toEqual([
        ['responses', true, usage],
        ['responses', false, usage],
      ]);
    } finally {
      end();
    }
  });

  it('Chat Completions: a stream that did not ask for usage is metered and sees no usage chunk; one that asked gets it', async () => {
    const end = proxy.begin({ agentId: 'chat', runId: 'run_c', conversationId: null, upstream: upstream('openai') });
    try {
      const auth = { authorization: `Bearer ${proxy.placeholder('chat')}` };
      const direct = await send({ url: model.url, path: '/v1/chat/completions', body: chatBody(true) });
      model.calls.length = 0;
      const quiet = await send({ path: '/openai/chat/completions', headers: auth, body: chatBody(true) });
      // Asked upstream on the CLI's behalf …
      expect(model.calls[0]!.request.body.stream_options).toEqual({ include_usage: true });
      // … and not passed on: the CLI sees what it would have seen.
      expect(eventNames(quiet.text)).toEqual(eventNames(direct.text));
      expect(dataChunks(quiet.text).some((c) => c.usage !== undefined)).toBe(false);
      const asked = await send({ path: '/openai/chat/completions', headers: auth, body: chatBody(true, true) });
      expect(dataChunks(asked.text).at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 1200, completion_tokens: 40 } });
      const plain = await send({ path: '/openai/chat/completions', headers: auth, body: chatBody(false) });
      expect(JSON.parse(plain.text)).toMatchObject({ object: 'chat.completion', usage: { prompt_tokens: 1200 } });
      await waitFor(() => metered.length === 3, 5000, 'three calls metered');
      const usage = { inputTokens: 1200, outputTokens: 40, cacheReadTokens: 300, cacheWriteTokens: 0 };
      expect(metered.map((c) => [c.api, c.streamed, c.usage])).toEqual([
        ['chat', true, usage],
        ['chat', true, usage],
        ['chat', false, usage],
      ]);
    } finally {
      end();
    }
  });
});

describe('what the proxy refuses', () => {
  it('a wrong or missing placeholder, or the real key itself: 401 in the API format, nothing forwarded', async () => {
    const end = proxy.begin({ agentId: 'ant', runId: null, conversationId: null, upstream: upstream('anthropic') });
    try {
      const cases: Array<[string, Record<string, string>]> = [
        ['/anthropic/v1/messages', { 'x-api-key': 'tinyagi-proxy-00000000000000000000000000000000000000000000' }],
        ['/anthropic/v1/messages', {}],
        ['/anthropic/v1/messages', { 'x-api-key': REAL_KEY }],
        ['/openai/responses', { authorization: `Bearer ${proxy.placeholder('ant')}x` }],
      ];
      for (const [path, headers] of cases) {
        const answer = await send({ path, headers, body: anthropicBody(false) });
        expect(answer.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        const body = JSON.parse(answer.text) as Record<string, unknown>;
        if (path.startsWith('/anthropic')) expect(body).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
        else expect(body).toMatchObject({ error: { type: 'invalid_api_key' } });
      }
      expect(model.calls).toEqual([]);
      expect(metered).toEqual([]);
    } finally {
      end();
    }
  });

  it('only the API’s model routes reach the one configured base URL: other paths, the other API and absolute-form requests are 404s', async () => {
    const endA = proxy.begin({ agentId: 'ant', runId: null, conversationId: null, upstream: upstream('anthropic') });
    const endO = proxy.begin({ agentId: 'oai', runId: null, conversationId: null, upstream: upstream('openai') });
    try {
      const a = { 'x-api-key': proxy.placeholder('ant') };
      const o = { authorization: `Bearer ${proxy.placeholder('oai')}` };
      const refused: Array<[string, string, Record<string, string>, 'anthropic' | 'openai']> = [
        ['POST', '/anthropic/v1/files', a, 'anthropic'],
        ['POST', '/anthropic/v1/messages/../../admin', a, 'anthropic'],
        ['POST', '/anthropic/v1/messages/batches', a, 'anthropic'],
        ['GET', '/anthropic/v1/messages', a, 'anthropic'],
        ['POST', '/openai/responses', a, 'openai'],
        ['POST', '/openai/files', o, 'openai'],
        ['POST', '/openai/%2e%2e/responses', o, 'openai'],
        ['POST', '/anthropic/v1/messages', o, 'anthropic'],
        ['POST', 'http://evil.example/v1/messages', a, 'anthropic'],
        ['POST', '/v1/messages', a, 'anthropic'],
      ];
      for (const [method, path, headers, format] of refused) {
        const answer = await send({ method, path, headers, body: anthropicBody(false) });
        expect(answer.status, `${method} ${path}`).toBe(404);
        const body = JSON.parse(answer.text) as Record<string, unknown>;
        if (format === 'anthropic' && path.startsWith('/anthropic')) expect(body, path).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
        if (path.startsWith('/openai')) expect(body, path).toMatchObject({ error: { type: 'not_found' } });
      }
      expect(model.calls).toEqual([]);
      expect(model.unknown).toEqual([]);
      // The models list is a model route (no usage): forwarded to the same base URL.
      await send({ method: 'GET', path: '/openai/models', headers: o });
      expect(model.unknown).toEqual([{ method: 'GET', path: '/v1/models' }]);
    } finally {
      endA();
      endO();
    }
  });

  it('over budget: a 400 in the API’s error format naming the budget, asked with what the invocation used so far; nothing forwarded', async () => {
    const end = proxy.begin({ agentId: 'ant', runId: 'run_b', conversationId: 'conv_b', upstream: upstream('anthropic') });
    const endO = proxy.begin({ agentId: 'oai', runId: 'run_b2', conversationId: 'conv_b', upstream: upstream('openai') });
    try {
      await send({ path: '/anthropic/v1/messages', headers: { 'x-api-key': proxy.placeholder('ant') }, body: anthropicBody(true) });
      expect(budgetQueries.at(-1)).toEqual({
        agentId: 'ant',
        runId: 'run_b',
        conversationId: 'conv_b',
        inFlight: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 },
      });
      await waitFor(() => metered.length === 1, 5000, 'the call metered');
      refusal = '@ant has used 1640 tokens today, its daily budget is 1000';
      const answer = await send({ path: '/anthropic/v1/messages', headers: { 'x-api-key': proxy.placeholder('ant') }, body: anthropicBody(true) });
      expect(budgetQueries.at(-1)!.inFlight).toEqual({ inputTokens: 1600, outputTokens: 40, cacheReadTokens: 300, cacheWriteTokens: 100, costUsd: metered[0]!.costUsd });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.text)).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: `TinyAGI budget: ${refusal}. The model call was not made.` } });
      const openai = await send({ path: '/openai/chat/completions', headers: { authorization: `Bearer ${proxy.placeholder('oai')}` }, body: chatBody(true) });
      expect(openai.status).toBe(400);
      expect(JSON.parse(openai.text)).toEqual({ error: { message: `TinyAGI budget: ${refusal}. The model call was not made.`, type: 'budget_exceeded', param: null, code: 'budget_exceeded' } });
      expect(model.calls).toHaveLength(1);
    } finally {
      end();
      endO();
    }
  });
  it("each call priced at its model's list price: Anthropic with cache reads and writes, OpenAI with cached input; a model with no price is not priced", async () => {
    const end = proxy.begin({ agentId: 'ant', runId: 'run_p', conversationId: null, upstream: upstream('anthropic') });
    const endO = proxy.begin({ agentId: 'oai', runId: 'run_p2', conversationId: null, upstream: upstream('openai') });
    try {
      const a = { 'x-api-key': proxy.placeholder('ant') };
      const o = { authorization: `Bearer ${proxy.placeholder('oai')}` };
      await send({ path: '/anthropic/v1/messages', headers: a, body: anthropicBody(true) });
      await send({ path: '/anthropic/v1/messages', headers: a, body: anthropicBody(false) });
      await send({ path: '/openai/responses', headers: o, body: responsesBody(true) });
      await send({ path: '/openai/chat/completions', headers: o, body: chatBody(true) });
      await send({ path: '/openai/chat/completions', headers: o, body: { ...chatBody(false), model: 'standin-local-model' } });
      await waitFor(() => metered.length === 5, 5000, 'the calls metered');
      // The stand-in served 1200 uncached input (Anthropic; OpenAI's 1200 include the 300 cached), 40 output, 300 cache reads, 100 cache writes.
      const sonnet = modelPrice('claude-sonnet-4-6')!;
      const gpt = modelPrice('gpt-5.1')!;
      expect([sonnet, gpt]).toEqual([
        { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
        { input: 1.25, output: 10, cacheRead: 0.125, cacheWrite: 0 },
      ]);
      const anthropicUsd = (1200 * sonnet.input + 40 * sonnet.output + 300 * sonnet.cacheRead + 100 * sonnet.cacheWrite) / 1e6;
      const openaiUsd = (900 * gpt.input + 40 * gpt.output + 300 * gpt.cacheRead) / 1e6;
      expect(metered.map((c) => [c.model, c.costUsd])).toEqual([
        ['claude-sonnet-4-6', anthropicUsd],
        ['claude-sonnet-4-6', anthropicUsd],
        ['gpt-5.1', openaiUsd],
        ['gpt-5.1', openaiUsd],
        ['standin-local-model', undefined],
      ]);
      expect(anthropicUsd).toBeCloseTo(0.004665, 12);
      expect(openaiUsd).toBeCloseTo(0.0015625, 12);
    } finally {
      expect(end().costUsd).toBeCloseTo(2 * 0.004665, 12);
      expect(endO().costUsd).toBeCloseTo(2 * 0.0015625, 12);
    }
  });

  it('two runs of one agent at once, each with its own lane: its calls and budget questions are its own; a lane between turns records on no run', async () => {
    // A warm process of conversation A (older) and one of conversation B, both in a turn.
    const endA = proxy.begin({ agentId: 'twin', lane: 'session:A', runId: 'run_A', conversationId: 'conv_A', upstream: upstream('anthropic') });
    const endB = proxy.begin({ agentId: 'twin', lane: 'session:B', runId: 'run_B', conversationId: 'conv_B', upstream: upstream('anthropic') });
    const keyA = { 'x-api-key': proxy.placeholder('twin', 'session:A') };
    const keyB = { 'x-api-key': proxy.placeholder('twin', 'session:B') };
    try {
      expect(keyA['x-api-key']).not.toBe(keyB['x-api-key']);
      await send({ path: '/anthropic/v1/messages', headers: keyA, body: anthropicBody(true) });
      await waitFor(() => metered.length === 1, 5000, "A's call metered");
      await send({ path: '/anthropic/v1/messages', headers: keyB, body: anthropicBody(false) });
      await send({ path: '/anthropic/v1/messages', headers: keyA, body: anthropicBody(false) });
      await waitFor(() => metered.length === 3, 5000, 'the calls metered');
      expect(metered.map((c) => [c.runId, c.conversationId])).toEqual([
        ['run_A', 'conv_A'],
        ['run_B', 'conv_B'],
        ['run_A', 'conv_A'],
      ]);
      // B's first call is asked about with nothing in flight: A's call is A's.
      expect(budgetQueries.map((q) => [q.runId, q.inFlight.inputTokens])).toEqual([
        ['run_A', 0],
        ['run_B', 0],
        ['run_A', 1600],
      ]);
      // A lane's key cannot be made without the proxy's secret: a forged one is refused.
      const forged = `${keyA['x-api-key'].slice(0, -2)}xx`;
      expect((await send({ path: '/anthropic/v1/messages', headers: { 'x-api-key': forged }, body: anthropicBody(false) })).status).toBe(401);
    } finally {
      expect(endB().inputTokens).toBe(1600);
      expect(endA().inputTokens).toBe(3200);
    }
    // B's process between turns (A's turn still in flight, begun again): its call is on no run, not A's.
    const endA2 = proxy.begin({ agentId: 'twin', lane: 'session:A', runId: 'run_A2', conversationId: 'conv_A', upstream: upstream('anthropic') });
    try {
      metered.length = 0;
      await send({ path: '/anthropic/v1/messages', headers: keyB, body: anthropicBody(false) });
      await waitFor(() => metered.length === 1, 5000, "B's call metered");
      expect(metered[0]!.runId).toBeNull();
    } finally {
      endA2();
    }
  });

  it('a provider it cannot reach (https, a closed port): a 502 in the API’s format, the call reported without usage', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const end = proxy.begin({ agentId: 'gone', runId: 'run_g', conversationId: null, upstream: { family: 'openai', baseUrl: `https://127.0.0.1:${port}/v1`, key: REAL_KEY, auth: 'bearer' } });
    try {
      const answer = await send({ path: '/openai/responses', headers: { authorization: `Bearer ${proxy.placeholder('gone')}` }, body: responsesBody(true) });
      expect(answer.status).toBe(502);
      expect(JSON.parse(answer.text)).toMatchObject({ error: { type: 'server_error', message: expect.stringContaining(`127.0.0.1:${port}`) } });
      await waitFor(() => metered.length === 1, 5000, 'the call reported');
      expect(metered[0]).toMatchObject({ agentId: 'gone', runId: 'run_g', status: 0, usage: undefined });
    } finally {
      end();
    }
  });
});

describe('quotas', () => {
  let stores: SqliteStores;
  beforeAll(() => {
    stores = openStores({ dbPath: join(dir, 'quota.db'), durability: 'normal' });
  });
  afterAll(() => stores?.close());

  it('a 429 reaches the quota board: a long wait holds the account, a short one is a warning; the CLI gets the provider’s answer', async () => {
    const settings = { custom_providers: { standin: { name: 'Stand-in', runtime: 'claude-code', base_url: model.url, api_key: REAL_KEY } }, agents: { ant: { provider: 'custom:standin' } } };
    const target = resolveInvokeTarget(settings as never, 'ant', {});
    const board = new QuotaBoard({ store: stores.quotas, events: stores.events, getSettings: () => settings as never, resolveTarget: resolveInvokeTarget, env: {} });
    const reports: QuotaReport[] = [];
    const end = proxy.begin({
      agentId: 'ant',
      runId: null,
      conversationId: null,
      upstream: upstream('anthropic'),
      onQuota: (report) => {
        reports.push(report);
        void board.report('ant', target, report);
      },
    });
    try {
      const key = { 'x-api-key': proxy.placeholder('ant') };
      next = [{ status: 429, retryAfterS: 2, message: 'slow down' }];
      const short = await send({ path: '/anthropic/v1/messages', headers: key, body: anthropicBody(true) });
      expect(short.status).toBe(429);
      expect(JSON.parse(short.text)).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } });
      expect(reports.at(-1)).toMatchObject({ status: 'warning' });
      expect(board.holdOfTarget(target)).toBeUndefined();
      const before = Date.now();
      next = [{ status: 429, retryAfterS: 60, message: 'limit reached' }];
      await send({ path: '/anthropic/v1/messages', headers: key, body: anthropicBody(true) });
      const hold = await waitFor(() => board.holdOfTarget(target), 5000, 'the hold');
      expect(hold.resetsAt).toBeGreaterThanOrEqual(before + 60_000);
      expect(hold.resetsAt).toBeLessThanOrEqual(Date.now() + 60_000);
      expect((await stores.quotas.list()).map((h) => h.account)).toEqual([hold.account]);
      await waitFor(() => metered.length === 2, 5000, 'both calls metered');
      expect(metered.map((c) => [c.status, c.usage])).toEqual([
        [429, undefined],
        [429, undefined],
      ]);
    } finally {
      end();
      board.stop();
    }
  });

  it('rate-limit headers: Anthropic RFC 3339 resets and OpenAI durations; a limit nearly spent is a warning', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(quotaReportOf(200, { 'anthropic-ratelimit-requests-limit': '50', 'anthropic-ratelimit-requests-remaining': '49' }, now)).toEqual({ status: 'ok' });
    expect(
      quotaReportOf(200, { 'anthropic-ratelimit-tokens-limit': '1000', 'anthropic-ratelimit-tokens-remaining': '50', 'anthropic-ratelimit-tokens-reset': '2026-01-01T00:01:00Z' }, now),
    ).toMatchObject({ status: 'warning', limit: 'tokens', resetsAt: now + 60_000 });
    expect(quotaReportOf(429, { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-limit-requests': '60', 'x-ratelimit-reset-requests': '6m0s' }, now)).toMatchObject({
      status: 'exhausted',
      limit: 'requests',
      resetsAt: now + 360_000,
    });
    expect(quotaReportOf(429, { 'retry-after': '1' }, now)).toMatchObject({ status: 'warning', resetsAt: now + 1000 });
    expect(quotaReportOf(500, {}, now)).toBeUndefined();
  });
});

describe('endpoints', () => {
  it("a sandboxed agent's socket: its directory 0700, the socket 0600, the socket names the agent whatever key comes", async () => {
    const path = await proxy.open('boxed');
    expect(path).toBe(join(dir, 'run', 'sandbox', 'boxed', 'model.sock'));
    expect(statSync(join(dir, 'run', 'sandbox', 'boxed')).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const end = proxy.begin({ agentId: 'boxed', runId: 'run_s', conversationId: null, upstream: upstream('anthropic') });
    const endOther = proxy.begin({ agentId: 'other', runId: 'run_x', conversationId: null, upstream: upstream('anthropic', 'x-api-key', 'sk-other-key') });
    try {
      const answer = await send({ socketPath: path, path: '/anthropic/v1/messages', headers: { 'x-api-key': proxy.placeholder('other') }, body: anthropicBody(false) });
      expect(answer.status).toBe(200);
      expect(keyHeaders()).toEqual({ apiKey: REAL_KEY, authorization: undefined });
      await waitFor(() => metered.length === 1, 5000, 'the call metered');
      expect(metered[0]).toMatchObject({ agentId: 'boxed', runId: 'run_s' });
      expect(proxy.endpoint('boxed', 'anthropic', 'sandbox')).toEqual({ baseUrl: 'http://127.0.0.1:45801/anthropic', apiKey: proxy.placeholder('boxed') });
    } finally {
      end();
      endOther();
      await proxy.close('boxed');
    }
    expect(() => statSync(path)).toThrow();
  });

  it('streams unbuffered: the first event reaches the CLI while the provider has not finished', async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const slow = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { model: 'm', usage: { input_tokens: 7, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, output_tokens: 1 } } })}\n\n`,
      );
      void released.then(() => {
        res.write(`event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', delta: {}, usage: { output_tokens: 9 } })}\n\n`);
        res.end('event: message_stop\ndata: {"type":"message_stop"}\n\n');
      });
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const end = proxy.begin({
      agentId: 'slow',
      runId: null,
      conversationId: null,
      upstream: { family: 'anthropic', baseUrl: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`, key: REAL_KEY, auth: 'x-api-key' },
    });
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const req = httpRequest(`${proxy.url}/anthropic/v1/messages`, { method: 'POST', headers: { 'x-api-key': proxy.placeholder('slow') } }, (res) => {
          let all = '';
          res.on('data', (chunk: Buffer) => {
            all += chunk.toString();
            // The provider sends the rest only once the first event came through.
            if (all.includes('message_start')) release();
          });
          res.on('end', () => resolve(all));
        });
        req.on('error', reject);
        req.end(JSON.stringify(anthropicBody(true)));
      });
      expect(eventNames(text)).toEqual(['message_start', 'message_delta', 'message_stop']);
      await waitFor(() => metered.length === 1, 5000, 'the call metered');
      expect(metered[0]!.usage).toEqual({ inputTokens: 7, outputTokens: 9, cacheReadTokens: 0, cacheWriteTokens: 0 });
    } finally {
      end();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });
});

describe('invocations through the proxy (invoker/through-model-proxy.ts)', () => {
  const target = (runtime: string, provider: string, extra: Partial<InvokeTarget> = {}): InvokeTarget => ({ runtime, provider, model: 'm', timeoutMs: 20_000, ...extra });
  /** As a launch plans it on a node with a model proxy (launch-plan.ts): the HTTP runtimes run no process, so the proxy is on the loopback. */
  const request = (t: InvokeTarget, sandbox: 'off' | 'on' = 'off') => ({
    agentId: 'http',
    target: t,
    modelRoute: planModelRoute(t, sandbox, { boundary: false, modelProxy: true }),
    prompt: 'hi',
    systemPrompt: '',
    cwd: dir,
    env: { TINYAGI_RUN_ID: 'run_h', TINYAGI_CONVERSATION_ID: 'conv_h' },
  });

  it('the HTTP runtimes on a custom provider: the stand-in gets the real key from the proxy, usage metered on the run equals served and reported', async () => {
    let sandbox: 'off' | 'on' = 'off';
    const invoke = invokeThroughModelProxy(invokeAgent, { proxy });
    const usage = { inputTokens: 900, outputTokens: 30 };
    next = [{ reply: 'one', usage }];
    const a = await invoke(request(target('anthropic-api', 'custom:standin', { baseUrl: model.url, apiKey: REAL_KEY })));
    expect(a.text).toBe('one');
    expect(keyHeaders()).toEqual({ apiKey: REAL_KEY, authorization: undefined });
    next = [{ reply: 'two', usage }];
    const o = await invoke(request(target('openai-api', 'custom:standin', { baseUrl: `${model.url}/v1`, apiKey: REAL_KEY })));
    expect(o.text).toBe('two');
    expect(keyHeaders()).toEqual({ apiKey: undefined, authorization: `Bearer ${REAL_KEY}` });
    await waitFor(() => metered.length === 2, 5000, 'both calls metered');
    expect(metered.map((c) => [c.agentId, c.runId, c.conversationId, c.usage?.inputTokens, c.usage?.outputTokens])).toEqual([
      ['http', 'run_h', 'conv_h', 900, 30],
      ['http', 'run_h', 'conv_h', 900, 30],
    ]);
    expect([a.usage, o.usage]).toEqual([usage, usage]);
    // A vendor's own key (not a custom provider) goes straight there unless the agent is sandboxed.
    metered.length = 0;
    await invoke(request(target('anthropic-api', 'anthropic-api', { baseUrl: model.url, apiKey: REAL_KEY }), sandbox));
    sandbox = 'on';
    await invoke(request(target('anthropic-api', 'anthropic-api', { baseUrl: model.url, apiKey: REAL_KEY }), sandbox));
    await waitFor(() => metered.length === 1, 5000, 'the sandboxed call metered');
    expect(metered).toHaveLength(1);
    expect(metered[0]).toMatchObject({ agentId: 'http', api: 'messages' });
    expect(model.calls.map((c) => c.request.headers['x-api-key'] ?? c.request.headers.authorization)).toEqual([REAL_KEY, `Bearer ${REAL_KEY}`, REAL_KEY, REAL_KEY]);
  });

  it('two invocations of one agent at once (per message, or warm in two conversations): each run gets its own calls', async () => {
    const calls: string[] = [];
    let begun = (): void => {};
    const bothBegun = new Promise<void>((resolve) => {
      begun = resolve;
    });
    // Each invocation makes its call once both are in flight: the proxy has two of the agent's at once.
    const invoke = invokeThroughModelProxy(
      async (req) => {
        calls.push(req.env!.TINYAGI_RUN_ID!);
        if (calls.length === 2) begun();
        await bothBegun;
        return invokeAgent(req);
      },
      { proxy },
    );
    const custom = target('anthropic-api', 'custom:standin', { baseUrl: model.url, apiKey: REAL_KEY, model: 'claude-sonnet-4-6' });
    const run = (runId: string, warm: boolean, session: string | undefined) =>
      invoke({ ...request({ ...custom, warm }), env: { TINYAGI_RUN_ID: runId, TINYAGI_CONVERSATION_ID: `conv_${runId}` }, ...(session ? { session: { key: session } } : {}) });
    // Per message; then warm, in two conversations (session keys).
    for (const [warm, sessions] of [
      [false, [undefined, undefined]],
      [true, ['thread:a', 'thread:b']],
    ] as const) {
      metered.length = 0;
      calls.length = 0;
      // Which call reaches the stand-in first is up to the event loop: the reply says which usage it served.
      next = [
        { reply: 'served 100', usage: { inputTokens: 100, outputTokens: 1 } },
        { reply: 'served 200', usage: { inputTokens: 200, outputTokens: 1 } },
      ];
      const [one, two] = await Promise.all([run('run_1', warm, sessions[0]), run('run_2', warm, sessions[1])]);
      await waitFor(() => metered.length === 2, 5000, 'both calls metered');
      const recorded = Object.fromEntries(metered.map((c) => [c.runId, [c.conversationId, c.usage?.inputTokens]]));
      expect(recorded).toEqual({
        run_1: ['conv_run_1', Number(one.text.split(' ')[1])],
        run_2: ['conv_run_2', Number(two.text.split(' ')[1])],
      });
    }
  });

  it("the CLI runtimes' targets: the proxy's URL and placeholder, the real key nowhere; subscriptions and own logins untouched", () => {
    const endpoint = { baseUrl: 'http://127.0.0.1:1/anthropic', apiKey: 'tinyagi-proxy-x' };
    const openai = { baseUrl: 'http://127.0.0.1:1/openai', apiKey: 'tinyagi-proxy-x' };
    const cases: Array<[InvokeTarget, 'anthropic' | 'openai', Partial<InvokeTarget>]> = [
      [
        target('claude-code', 'custom:c', { env: { ANTHROPIC_BASE_URL: 'https://llm.example', ANTHROPIC_AUTH_TOKEN: REAL_KEY } }),
        'anthropic',
        { env: { ANTHROPIC_BASE_URL: endpoint.baseUrl, ANTHROPIC_AUTH_TOKEN: endpoint.apiKey } },
      ],
      [
        target('claude-code', 'claude-code', { env: { ANTHROPIC_API_KEY: REAL_KEY, CLAUDE_CONFIG_DIR: '/c' } }),
        'anthropic',
        { env: { CLAUDE_CONFIG_DIR: '/c', ANTHROPIC_BASE_URL: endpoint.baseUrl, ANTHROPIC_AUTH_TOKEN: endpoint.apiKey } },
      ],
      [target('codex', 'custom:c', { baseUrl: 'https://llm.example/v1', apiKey: REAL_KEY, env: {} }), 'openai', { baseUrl: openai.baseUrl, apiKey: openai.apiKey, env: {} }],
      [target('codex', 'codex', { env: { CODEX_API_KEY: REAL_KEY, OPENAI_API_KEY: REAL_KEY } }), 'openai', { env: { OPENAI_BASE_URL: openai.baseUrl, CODEX_API_KEY: openai.apiKey } }],
      [target('opencode', 'custom:c', { baseUrl: 'https://llm.example/v1', apiKey: REAL_KEY, env: {} }), 'openai', { baseUrl: openai.baseUrl, apiKey: openai.apiKey }],
    ];
    for (const [t, family, expected] of cases) {
      const up = proxiedUpstream(t, 'on');
      expect(up, t.runtime).toMatchObject({ family, key: REAL_KEY });
      const routed = proxiedTarget(t, up!, family === 'anthropic' ? endpoint : openai);
      expect(routed, `${t.runtime} ${t.provider}`).toMatchObject(expected);
      expect(JSON.stringify(routed)).not.toContain(REAL_KEY);
    }
    // The upstream each target names: the vendors' defaults when none.
    expect(proxiedUpstream(cases[1]![0], 'on')).toEqual({ family: 'anthropic', baseUrl: 'https://api.anthropic.com', key: REAL_KEY, auth: 'x-api-key' });
    expect(proxiedUpstream(cases[0]![0], 'off')).toEqual({ family: 'anthropic', baseUrl: 'https://llm.example', key: REAL_KEY, auth: 'bearer' });
    expect(proxiedUpstream(cases[3]![0], 'on')).toMatchObject({ baseUrl: 'https://api.openai.com/v1', auth: 'bearer' });
    // Not proxied: a vendor key of an unsandboxed agent, a CLI with no login it keeps in a file.
    const home = mkdtempSync(join(dir, 'home-'));
    expect(proxiedUpstream(cases[1]![0], 'off')).toBeUndefined();
    expect(proxiedUpstream(target('claude-code', 'claude-code', { env: { HOME: home } }), 'on')).toBeUndefined();
    expect(proxiedUpstream(target('codex', 'codex', { env: { HOME: home } }), 'on')).toBeUndefined();
    expect(proxiedUpstream(target('mock', 'mock'), 'on')).toBeUndefined();
  });

  it("a sandboxed agent's own login and CLI config: the proxy carries the token or key, the CLI gets the provider's definition at the proxy", () => {
    const home = mkdtempSync(join(dir, 'home-'));
    const anthropic = { baseUrl: 'http://127.0.0.1:1/anthropic', apiKey: 'tinyagi-proxy-x' };
    const openai = { baseUrl: 'http://127.0.0.1:1/openai', apiKey: 'tinyagi-proxy-x' };
    const oauth = { family: 'anthropic', baseUrl: 'https://api.anthropic.com', auth: 'bearer', headers: { 'anthropic-beta': 'oauth-2025-04-20' } };
    // CLAUDE_CODE_OAUTH_TOKEN (`claude setup-token`): a bearer with the API's OAuth flag; unsandboxed, the CLI keeps it.
    const tokenTarget = target('claude-code', 'claude-code', { env: { HOME: home, CLAUDE_CODE_OAUTH_TOKEN: REAL_KEY } });
    expect(proxiedUpstream(tokenTarget, 'on')).toEqual({ ...oauth, key: REAL_KEY });
    expect(proxiedUpstream(tokenTarget, 'off')).toBeUndefined();
    const routed = proxiedTarget(tokenTarget, proxiedUpstream(tokenTarget, 'on')!, anthropic);
    expect(routed.env).toEqual({ HOME: home, ANTHROPIC_BASE_URL: anthropic.baseUrl, ANTHROPIC_AUTH_TOKEN: anthropic.apiKey });
    // `claude login`'s file: its access token while it has not expired; the file stays where it is.
    mkdirSync(join(home, '.claude'));
    const login = (expiresAt: number): void =>
      writeFileSync(join(home, '.claude', '.credentials.json'), JSON.stringify({ claudeAiOauth: { accessToken: 'sk-ant-oat01-login', refreshToken: 'r', expiresAt, scopes: ['user:inference'] } }));
    const loginTarget = target('claude-code', 'claude-code', { env: { HOME: home } });
    login(Date.now() + 3_600_000);
    expect(proxiedUpstream(loginTarget, 'on')).toEqual({ ...oauth, key: 'sk-ant-oat01-login' });
    login(Date.now() - 1);
    expect(proxiedUpstream(loginTarget, 'on')).toBeUndefined();
    // Codex's own config.toml provider: its base URL and key outside, its definition (and model) as TinyAGI's provider entry at the proxy.
    mkdirSync(join(home, '.codex'));
    const config = ['model = "gpt-own"', 'model_provider = "gw"', '[model_providers.gw]', 'base_url = "http://127.0.0.1:9/v1"', 'env_key = "GW_KEY"'];
    writeFileSync(join(home, '.codex', 'config.toml'), config.join('\n'));
    const own: InvokeTarget = { runtime: 'codex', provider: 'codex', timeoutMs: 20_000, env: { HOME: home, GW_KEY: REAL_KEY } };
    expect(proxiedUpstream(own, 'on')).toEqual({ family: 'openai', baseUrl: 'http://127.0.0.1:9/v1', key: REAL_KEY, auth: 'bearer' });
    expect(proxiedUpstream(own, 'off')).toBeUndefined();
    const ownRouted = proxiedTarget(own, proxiedUpstream(own, 'on')!, openai);
    expect(ownRouted).toMatchObject({ baseUrl: openai.baseUrl, apiKey: openai.apiKey, model: 'gpt-own', env: { HOME: home } });
    expect(JSON.stringify(ownRouted)).not.toContain(REAL_KEY);
    // Its key variable unset: not proxied (the run fails at once naming it, codex-config.ts); no env_key: a server that takes no key.
    expect(proxiedUpstream({ ...own, env: { HOME: home } }, 'on')).toBeUndefined();
    writeFileSync(join(home, '.codex', 'config.toml'), config.slice(0, 4).join('\n'));
    expect(proxiedUpstream(own, 'on')).toMatchObject({ baseUrl: 'http://127.0.0.1:9/v1', key: '' });
    // `codex login --with-api-key`'s auth.json: the key it keeps, as CODEX_API_KEY's.
    rmSync(join(home, '.codex', 'config.toml'));
    writeFileSync(join(home, '.codex', 'auth.json'), JSON.stringify({ OPENAI_API_KEY: REAL_KEY }));
    const codexLogin = target('codex', 'codex', { env: { HOME: home } });
    expect(proxiedUpstream(codexLogin, 'on')).toEqual({ family: 'openai', baseUrl: 'https://api.openai.com/v1', key: REAL_KEY, auth: 'bearer' });
    expect(JSON.stringify(proxiedTarget(codexLogin, proxiedUpstream(codexLogin, 'on')!, openai))).not.toContain(REAL_KEY);
  });
});

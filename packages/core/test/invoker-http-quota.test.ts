/**
 * The HTTP adapters tell the scheduler about a 429 (`InvokeRequest.onQuota`): the reset comes
 * from Retry-After, or from the providers' rate-limit headers (Anthropic's
 * `anthropic-ratelimit-<limit>-remaining/-reset` with RFC 3339 times, OpenAI's
 * `x-ratelimit-remaining-<limit>` / `x-ratelimit-reset-<limit>` durations), against a real
 * loopback server answering as their API references describe.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { invokeAgent, InvokeError, type InvokeRequest, type QuotaReport } from '../src/invoker/index.ts';
import { rateLimitReset, rateLimitState } from '../src/invoker/http-stream.ts';
import { anthropic, openAi, sendJson, sendSse, startScriptedServer, type Handler, type ScriptedServer } from '@tinyagi/test-kit';

let workspace: string;
let server: ScriptedServer | undefined;

beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'tinyagi-http-quota-'));
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

function request(api: 'openai' | 'anthropic', baseUrl: string, reports: QuotaReport[]): InvokeRequest {
  return {
    agentId: 'helper',
    target: { runtime: `${api}-api`, provider: `custom:local-${api}`, model: 'test-model', baseUrl, apiKey: 'sk-test' },
    prompt: 'hi',
    systemPrompt: 'You are helpful.',
    cwd: workspace,
    onQuota: (report) => reports.push(report),
  };
}

async function failure(promise: Promise<unknown>): Promise<InvokeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof InvokeError) return err;
    throw err;
  }
  throw new Error('expected the invocation to fail');
}

describe('HTTP 429 and the account quota', () => {
  it("anthropic: the exhausted limit's reset time is reported and waited for", async () => {
    const resetAt = new Date(Date.now() + 90_000).toISOString();
    const s = await serve((_req, res) =>
      sendJson(
        res,
        429,
        { type: 'error', error: { type: 'rate_limit_error', message: 'This request would exceed your rate limit.' } },
        {
          'retry-after': '30',
          'anthropic-ratelimit-requests-remaining': '12',
          'anthropic-ratelimit-requests-reset': new Date(Date.now() + 5000).toISOString(),
          'anthropic-ratelimit-input-tokens-remaining': '0',
          'anthropic-ratelimit-input-tokens-reset': resetAt,
        },
      ),
    );
    const reports: QuotaReport[] = [];
    const err = await failure(invokeAgent(request('anthropic', s.url, reports)));
    expect(err.kind).toBe('rate_limited');
    expect(err.retryAfterMs).toBe(30_000);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ status: 'exhausted', limit: 'input-tokens' });
    // The later of Retry-After and the limit's reset.
    expect(Math.abs(reports[0]!.resetsAt! - Date.parse(resetAt))).toBeLessThan(1000);
  });

  it('openai: x-ratelimit reset durations without Retry-After', async () => {
    const s = await serve((_req, res) =>
      sendJson(
        res,
        429,
        { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } },
        { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1m30s' },
      ),
    );
    const reports: QuotaReport[] = [];
    const started = Date.now();
    const err = await failure(invokeAgent(request('openai', `${s.url}/v1`, reports)));
    expect(err.retryAfterMs).toBeGreaterThan(85_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(90_000);
    expect(reports[0]).toMatchObject({ status: 'exhausted', limit: 'requests' });
    expect(reports[0]!.resetsAt! - started).toBeGreaterThanOrEqual(89_000);
  });

  it('a 429 without any reset time reports nothing (the queue backs off on its own)', async () => {
    const s = await serve((_req, res) => sendJson(res, 429, { error: { message: 'slow down' } }));
    const reports: QuotaReport[] = [];
    const err = await failure(invokeAgent(request('openai', `${s.url}/v1`, reports)));
    expect(err.kind).toBe('rate_limited');
    expect(reports).toEqual([]);
  });

  it('reads the headers: only limits at 0 count, durations and times parsed, nonsense ignored', () => {
    const now = 1_000_000;
    const h = (o: Record<string, string>) => new Headers(o);
    expect(rateLimitReset(h({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '6m0s' }), now)).toEqual({ resetsAt: now + 360_000, limit: 'tokens' });
    expect(rateLimitReset(h({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '20ms' }), now)).toEqual({ resetsAt: now + 20, limit: 'tokens' });
    expect(rateLimitReset(h({ 'x-ratelimit-remaining-tokens': '5', 'x-ratelimit-reset-tokens': '6m0s' }), now)).toBeUndefined();
    expect(rateLimitReset(h({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': 'soon' }), now)).toBeUndefined();
    expect(rateLimitReset(h({ 'anthropic-ratelimit-tokens-remaining': '0', 'anthropic-ratelimit-tokens-reset': 'not a date' }), now)).toBeUndefined();
  });
});

describe('HTTP answers that got through and the account quota', () => {
  it('openai: less than a tenth of a limit left is a warning with the reset; plenty left is ok', async () => {
    const answer =
      (remaining: string): Handler =>
      (_req, res) => {
        res.setHeader('x-ratelimit-limit-requests', '100');
        res.setHeader('x-ratelimit-remaining-requests', remaining);
        res.setHeader('x-ratelimit-reset-requests', '30s');
        res.setHeader('x-ratelimit-limit-tokens', '10000');
        res.setHeader('x-ratelimit-remaining-tokens', '9000');
        void sendSse(res, [openAi.text('hi'), openAi.finish('stop'), openAi.done]);
      };
    const s = await serve(answer('5'), answer('90'));
    const reports: QuotaReport[] = [];
    const started = Date.now();
    await invokeAgent(request('openai', `${s.url}/v1`, reports));
    await invokeAgent(request('openai', `${s.url}/v1`, reports));
    expect(reports).toHaveLength(2);
    expect(reports[0]).toMatchObject({ status: 'warning', limit: 'requests', utilization: 0.95 });
    expect(reports[0]!.resetsAt! - started).toBeGreaterThanOrEqual(29_000);
    expect(reports[1]).toEqual({ status: 'ok' });
  });

  it('anthropic: the limit headers of a streamed answer; none at all says nothing', async () => {
    const reset = new Date(Date.now() + 45_000).toISOString();
    const s = await serve(
      (_req, res) => {
        res.setHeader('anthropic-ratelimit-input-tokens-limit', '40000');
        res.setHeader('anthropic-ratelimit-input-tokens-remaining', '1000');
        res.setHeader('anthropic-ratelimit-input-tokens-reset', reset);
        void sendSse(res, [anthropic.start(10), anthropic.textBlock(0), anthropic.textDelta(0, 'hi'), anthropic.blockStop(0), anthropic.delta('end_turn', 2), anthropic.stop]);
      },
      (_req, res) => void sendSse(res, [anthropic.start(10), anthropic.textBlock(0), anthropic.textDelta(0, 'hi'), anthropic.blockStop(0), anthropic.delta('end_turn', 2), anthropic.stop]),
    );
    const reports: QuotaReport[] = [];
    await invokeAgent(request('anthropic', s.url, reports));
    await invokeAgent(request('anthropic', s.url, reports));
    expect(reports).toEqual([{ status: 'warning', limit: 'input-tokens', utilization: 0.975, resetsAt: Date.parse(reset) }]);
  });

  it('reads the state: the fullest limit counts, bad numbers are ignored', () => {
    const h = (o: Record<string, string>) => new Headers(o);
    expect(rateLimitState(h({}))).toBeUndefined();
    expect(rateLimitState(h({ 'x-ratelimit-limit-requests': 'x', 'x-ratelimit-remaining-requests': '1' }))).toBeUndefined();
    expect(rateLimitState(h({ 'x-ratelimit-limit-requests': '10', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-limit-tokens': '10', 'x-ratelimit-remaining-tokens': '5' }), 0)).toEqual({
      status: 'warning',
      limit: 'requests',
      utilization: 1,
    });
  });
});

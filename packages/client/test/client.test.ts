/**
 * The client without a daemon: answers that are not the API's, path encoding, the EventSource
 * URL, the SSE parser and the backoff schedule. Against a real server: packages/server/test/
 * client.test.ts and contract.test.ts (the server depends on this package, not the reverse).
 */
import { describe, expect, it } from 'vitest';
import { backoffDelay, createApiClient, SseParser } from '../src/index.ts';

describe('client', () => {
  it('a non-API answer is BAD_RESPONSE', async () => {
    const fake = createApiClient({ baseUrl: 'http://x', fetch: async () => new Response('<html>proxy error</html>', { status: 502 }) });
    await expect(fake.status()).rejects.toMatchObject({ code: 'BAD_RESPONSE', status: 502 });
  });

  it('a body cut off by the network is NETWORK_ERROR (retryable), not BAD_RESPONSE', async () => {
    const cut = createApiClient({
      baseUrl: 'http://x',
      fetch: async () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"ticket":"v1.'));
              controller.error(new TypeError('terminated'));
            },
          }),
          { status: 201 },
        ),
    });
    await expect(cut.createTicket()).rejects.toMatchObject({ code: 'NETWORK_ERROR', status: 0 });
    const garbled = createApiClient({ baseUrl: 'http://x', fetch: async () => new Response('{"ticket":', { status: 201 }) });
    await expect(garbled.createTicket()).rejects.toMatchObject({ code: 'BAD_RESPONSE', status: 201 });
  });

  it('path parameters are encoded', async () => {
    const urls: string[] = [];
    const spy = createApiClient({
      baseUrl: 'http://x',
      fetch: async (url) => {
        urls.push(String(url));
        return new Response('{}', { status: 200 });
      },
    });
    await spy.revokePairing({ params: { channel: 'whatsapp', senderId: '123@s.whatsapp.net/../x' } });
    expect(urls).toEqual(['http://x/api/pairing/approved/whatsapp/123%40s.whatsapp.net%2F..%2Fx']);
  });

  it('eventsUrl carries the ticket, the filters and the resume id', () => {
    const client = createApiClient({ baseUrl: 'http://x/' });
    expect(client.eventsUrl({ ticket: 'v1.1.a.b', types: ['run.completed', 'run.failed'] })).toBe('http://x/api/events?types=run.completed%2Crun.failed&ticket=v1.1.a.b');
    expect(client.eventsUrl({ ticket: 't', conversation: 'c1', lastEventId: 42 })).toBe('http://x/api/events?conversation=c1&lastEventId=42&ticket=t');
  });

  it('the SSE parser handles split chunks, CRLF, multi-line data and comments', () => {
    const parser = new SseParser();
    const out = [...parser.push(': hi\r\nid: 7\r\nevent: x\r\ndata: a\r'), ...parser.push('\ndata: b\n\n'), ...parser.push('data: c\n'), ...parser.push('\n')];
    expect(out).toEqual([
      { id: '7', event: 'x', data: 'a\nb' },
      { id: '7', event: 'message', data: 'c' },
    ]);
  });

  it('backoff doubles per try up to the cap, with jitter in the upper half', () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1000 };
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, options, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, options, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('eventsource without an EventSource is a clear error', () => {
    const client = createApiClient({ baseUrl: 'http://x' });
    const saved = (globalThis as { EventSource?: unknown }).EventSource;
    if (saved !== undefined) return; // a runtime with EventSource: nothing to check
    expect(() => client.subscribe({ transport: 'eventsource' })).toThrow(/EventSource/);
  });
});

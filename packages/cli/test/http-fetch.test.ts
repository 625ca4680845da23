/**
 * The CLI's fetch over node:http (src/http-fetch.ts) against node's own fetch, on the same real
 * loopback server: what @tinyagi/client reads of an answer (status, ok, headers, the body as
 * text and as a stream), the typed client's errors (the daemon's error shape, a refused
 * connection: the same message word for word) and an aborted request.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, createApiClient } from '@tinyagi/client';
import { freePort } from '@tinyagi/test-kit';
import { httpFetch } from '../src/http-fetch.ts';

let server: Server;
let base: string;
const received: Array<{ method: string; url: string; headers: Record<string, unknown>; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (req.url === '/api/status') {
        res.writeHead(200, { 'content-type': 'application/json', 'x-two': ['a', 'b'] });
        res.end(JSON.stringify({ ok: true, version: 'ü-1' }));
      } else if (req.url === '/api/agents/nope') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'AGENT_NOT_FOUND', message: 'No agent "nope".', details: { id: 'nope' } } }));
      } else if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('id: 1\ndata: one\n\n');
        setTimeout(() => res.end('id: 2\ndata: two\n\n'), 20);
      } else if (req.url === '/hang') {
        res.writeHead(200);
        res.write('partial');
      } else {
        res.writeHead(204);
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

async function readStream(body: ReadableStream<Uint8Array>): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
  }
}

describe('httpFetch beside fetch', () => {
  for (const [name, f] of [
    ['fetch', globalThis.fetch],
    ['httpFetch', httpFetch],
  ] as const) {
    it(`${name}: an answer's status, headers and body, and what was sent`, async () => {
      received.length = 0;
      const res = await f(`${base}/api/status`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer t' }, body: '{"a":"é"}' });
      expect([res.ok, res.status, res.statusText, res.headers.get('Content-Type'), res.headers.get('x-two')]).toEqual([true, 200, 'OK', 'application/json', 'a, b']);
      expect(await res.json()).toEqual({ ok: true, version: 'ü-1' });
      expect(received[0]).toMatchObject({ method: 'POST', url: '/api/status', body: '{"a":"é"}', headers: { authorization: 'Bearer t', 'content-length': '10' } });
      const none = await f(`${base}/empty`);
      expect([none.ok, none.status, await none.text()]).toEqual([true, 204, '']);
    });

    it(`${name}: a body read as a stream, as the event stream reads it`, async () => {
      const res = await f(`${base}/stream`, { headers: { accept: 'text/event-stream' } });
      expect(await readStream(res.body!)).toBe('id: 1\ndata: one\n\nid: 2\ndata: two\n\n');
    });

    it(`${name}: an abort before the answer ends the request with an AbortError`, async () => {
      const controller = new AbortController();
      const pending = f(`${base}/slow-never`, { signal: controller.signal });
      controller.abort();
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    });

    it(`${name}: an abort while the body streams ends the read`, async () => {
      const controller = new AbortController();
      const res = await f(`${base}/hang`, { signal: controller.signal });
      const text = res.text();
      controller.abort();
      await expect(text).rejects.toBeDefined();
    });
  }

  it('the typed client: the same results and errors with either', async () => {
    const refusedAt = `http://127.0.0.1:${await freePort()}`;
    for (const [name, f] of [
      ['fetch', globalThis.fetch],
      ['httpFetch', httpFetch],
    ] as const) {
      const client = createApiClient({ baseUrl: base, fetch: f, token: 't' });
      expect(await client.status(), name).toEqual({ ok: true, version: 'ü-1' });
      const missing = await client.getAgent({ params: { id: 'nope' } }).catch((e: unknown) => e);
      expect(missing, name).toBeInstanceOf(ApiError);
      expect({ ...(missing as ApiError), message: (missing as ApiError).message }, name).toMatchObject({ code: 'AGENT_NOT_FOUND', status: 404, message: 'No agent "nope".', details: { id: 'nope' } });
      const refused = await createApiClient({ baseUrl: refusedAt, fetch: f })
        .status()
        .catch((e: unknown) => e);
      expect((refused as ApiError).code, name).toBe('NETWORK_ERROR');
      expect((refused as ApiError).message, name).toBe(
        `Cannot reach the TinyAGI server at ${refusedAt} (connect ECONNREFUSED ${refusedAt.slice('http://'.length)}). Is the daemon running? Start it with \`tinyagi start\`.`,
      );
    }
  });
});

/**
 * patientFetch (src/patient-fetch.ts): the fetch `tinyagi call` and `tinyagi mcp` use for answers
 * that may take longer than fetch waits. Against a real loopback server: method, headers and body
 * go out as given, the status, headers and body come back, a 204 has no body, an abort ends a
 * request the server holds, a held answer that arrives later is still read, and a 503 (a task's
 * disk node down: NODE_UNAVAILABLE) is answered as it came, asked once, never retried.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patientFetch } from '../src/patient-fetch.ts';

let base = '';
const held: ServerResponse[] = [];
let refusals = 0;
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/empty') {
      res.writeHead(204).end();
      return;
    }
    if (req.url === '/hold') {
      held.push(res);
      return;
    }
    if (req.url === '/node-down') {
      refusals++;
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'NODE_UNAVAILABLE', message: 'node wk1 is down' } }));
      return;
    }
    res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
    res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization ?? null, body: Buffer.concat(chunks).toString('utf8') }));
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of held) res.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('patientFetch', () => {
  it('sends the method, headers and body and reads status, headers and body back', async () => {
    const res = await patientFetch(`${base}/echo`, { method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body: '{"x":1}' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('set-cookie')).toContain('a=1');
    expect(await res.json()).toEqual({ method: 'POST', auth: 'Bearer t', body: '{"x":1}' });
  });

  it('keeps an error status and a 204 without a body', async () => {
    expect((await patientFetch(`${base}/missing`)).status).toBe(404);
    const empty = await patientFetch(`${base}/empty`, { method: 'DELETE' });
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
  });

  it('reads an answer the server held back, and an abort ends a held request', async () => {
    const late = patientFetch(`${base}/hold`);
    await expect.poll(() => held.length).toBe(1);
    held[0]!.writeHead(200, { 'content-type': 'text/plain' }).end('at last');
    expect(await (await late).text()).toBe('at last');

    const controller = new AbortController();
    const aborted = patientFetch(`${base}/hold`, { signal: controller.signal });
    await expect.poll(() => held.length).toBe(2);
    controller.abort();
    await expect(aborted).rejects.toThrow(/abort/i);
  });

  it('answers a 503 as it came, after one request: a refusal is not retried', async () => {
    const res = await patientFetch(`${base}/node-down`, { method: 'POST', body: '{}' });
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code, refusals]).toEqual([503, 'NODE_UNAVAILABLE', 1]);
  });

  it('refuses a body that is not a string instead of sending something else', async () => {
    await expect(patientFetch(`${base}/echo`, { method: 'POST', body: new Uint8Array([1]) })).rejects.toThrow(/string bodies only/);
  });
});

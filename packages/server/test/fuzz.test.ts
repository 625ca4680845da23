/**
 * Fuzz: a few thousand malformed requests (random params, query strings, bodies, content types
 * and methods) across every route, with a valid token so they reach validation and handlers.
 * No answer may be a 5xx, every error must have the registry shape, and the server must still
 * serve real work afterwards.
 */
import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiContract, type RouteDef } from '@tinyagi/client/contract';
import { waitFor } from '@tinyagi/test-kit';
import { secretLeaks, startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;

beforeAll(async () => {
  h = await startHarness({
    limits: { pairingPerMinute: 100_000 },
    daemon: {
      restart: async () => {},
      channels: { status: () => [{ name: 'telegram', running: false }], start: () => {}, stop: () => {}, restart: () => {} },
    },
  });
});
afterAll(async () => {
  await h?.close();
});

const routes = Object.entries(apiContract) as Array<[string, RouteDef]>;

/** Field names the contract knows, so mutated bodies hit real keys with wrong values. Paths on disk are left out on purpose. */
const FIELDS = [
  'message',
  'agent',
  'team',
  'sender',
  'senderId',
  'channel',
  'threadKey',
  'idempotencyKey',
  'attachments',
  'files',
  'command',
  'payload',
  'task',
  'session',
  'name',
  'provider',
  'model',
  'heartbeat',
  'agents',
  'leader_agent',
  'reply_mode',
  'runtime',
  'harness',
  'base_url',
  'api_key',
  'code',
  'label',
  'cron',
  'timezone',
  'runAt',
  'enabled',
  'missedPolicy',
  'title',
  'description',
  'status',
  'projectId',
  'assigneeAgent',
  'assigneeTeam',
  'position',
  'columns',
  'content',
  'author',
  'prefix',
  'error',
  'retryAfterMs',
  'permanent',
  'limit',
  'leaseMs',
  'owner',
  'interval',
  'make_default',
  'makeDefault',
  'models',
  'server',
  'limits',
];
const KNOWN_IDS = ['coder', 'reviewer', 'dev', 'acme', 'anthropic', 'openai', 'telegram', 'start', 'restart', '1', '0', '-1', 'ABCDEFGH'];

const weirdString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', '..', '../../etc/passwd', '%00', '\u0000', 'null', 'undefined', '-1', '1e309', 'NaN', '😀', 'a'.repeat(600), 'Robert"); DROP TABLE messages;--'),
  fc.constantFrom(...KNOWN_IDS),
);

const jsonValue = fc.jsonValue({ maxDepth: 3 });

const body = fc.oneof(
  { weight: 3, arbitrary: fc.dictionary(fc.constantFrom(...FIELDS), jsonValue, { maxKeys: 5 }).map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: jsonValue.map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '{', '{"message":', '[]', 'null', '"x"', '{"__proto__":{"a":1}}', '{"constructor":{"prototype":{}}}', '[['.repeat(5000), '{"a":1}garbage', '\uFEFF{}') },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 10 }), jsonValue, { maxKeys: 4 }).map((o) => JSON.stringify(o)) },
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  undefined,
);

const query = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      'limit',
      'lines',
      'status',
      'channel',
      'agent',
      'team',
      'by',
      'since',
      'until',
      'after',
      'sinceId',
      'before',
      'afterSeq',
      'projectId',
      'assignee',
      'conversation',
      'types',
      'lastEventId',
      'ticket',
    ),
    fc.string({ maxLength: 8 }),
  ),
  weirdString,
  { maxKeys: 3 },
);

const requestSpec = fc.record({
  route: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...routes) }, { weight: 1, arbitrary: fc.constant(['events', { method: 'GET', path: '/api/events' } as RouteDef] as [string, RouteDef]) }),
  params: fc.array(weirdString, { minLength: 3, maxLength: 3 }),
  rawParam: fc.boolean(),
  query,
  body,
  contentType,
  method: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') }),
});

type Spec = typeof requestSpec extends fc.Arbitrary<infer T> ? T : never;

function pathOf(spec: Spec): string {
  let i = 0;
  const path = spec.route[1].path.replace(/:([A-Za-z]+)/g, () => {
    const value = spec.params[i++] ?? 'x';
    // Occasionally send the raw (possibly malformed) percent-encoding.
    return spec.rawParam ? value.replace(/[^\x21-\x7e]/g, '%') || '%' : encodeURIComponent(value);
  });
  const search = new URLSearchParams(spec.query).toString();
  return search ? `${path}?${search}` : path;
}

function send(spec: Spec): Promise<{ status: number; text: string }> {
  const method = spec.method ?? spec.route[1].method;
  const withBody = method !== 'GET' && method !== 'HEAD';
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: h.port,
        method,
        path: pathOf(spec),
        // A fresh connection per request: a reset is then the server's doing, never a keep-alive race.
        agent: false,
        headers: {
          authorization: `Bearer ${h.token}`,
          accept: spec.route[0] === 'events' ? 'application/json' : '*/*',
          ...(withBody && spec.contentType ? { 'content-type': spec.contentType } : {}),
          ...(withBody ? { 'content-length': String(Buffer.byteLength(spec.body)) } : {}),
        },
      },
      (res) => {
        if (spec.route[0] === 'events' && res.statusCode === 200) {
          // A valid stream never ends: its status is the answer.
          req.destroy();
          resolve({ status: 200, text: '' });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    if (withBody) req.write(spec.body);
    req.end();
  });
}

describe('fuzz', () => {
  it('thousands of malformed requests: no 5xx, errors in the registry shape, the server stays up', async () => {
    const failures: string[] = [];
    let count = 0;
    await fc.assert(
      fc.asyncProperty(requestSpec, async (spec) => {
        count++;
        const res = await send(spec).catch((err: unknown) => {
          throw new Error(`${spec.method ?? spec.route[1].method} ${pathOf(spec)} ${JSON.stringify(spec.body.slice(0, 100))} ${spec.contentType}: ${String(err)}`);
        });
        if (res.status >= 500) failures.push(`${spec.method ?? spec.route[1].method} ${pathOf(spec)} ${spec.body.slice(0, 200)} -> ${res.status} ${res.text.slice(0, 300)}`);
        if (res.status >= 400 && spec.method !== 'HEAD') {
          const parsed = JSON.parse(res.text) as { error?: { code?: unknown; message?: unknown } };
          if (typeof parsed.error?.code !== 'string' || typeof parsed.error.message !== 'string') failures.push(`bad error shape: ${res.text.slice(0, 200)}`);
        }
        return true;
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 3000), seed: Number(process.env.FUZZ_SEED ?? 4242) },
    );
    expect(count).toBe(Number(process.env.FUZZ_RUNS ?? 3000));
    expect(failures.slice(0, 20)).toEqual([]);

    // Still healthy and still doing real work.
    expect(await h.client.health()).toMatchObject({ ok: true });
    await h.client.putAgent({ params: { id: 'afterfuzz' }, body: { name: 'After', provider: 'mock' } });
    const sent = await h.client.sendMessage({ body: { message: 'still alive?', agent: 'afterfuzz' } });
    await waitFor(async () => (await h.client.getMessage({ params: { id: sent.messageId } })).message.status === 'completed', 30_000, 'a message after the fuzz run');
    expect(secretLeaks).toEqual([]);
  });
});

/**
 * `@tinyagi/client` against a real server on 127.0.0.1: error mapping, an unreachable daemon,
 * and the event subscription — resume across connections the server (here: a proxy in front of
 * it) drops in the middle of an event, reconnect with backoff while the server is down, the
 * connection state, fatal answers, and the browser's EventSource with tickets (a real child
 * process with Node's EventSource). docs/api.md lists every route. The client's own tests
 * (parser, bundle) are in packages/client/test.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings, type EventOf } from '@tinyagi/core';
import { Orchestrator } from '@tinyagi/teams';
import { ApiError, backoffDelay, createApiClient, isApiError, type ConnectionInfo, type ConnectionState, type TinyEvent } from '@tinyagi/client';
import { apiContract, type RouteDef } from '@tinyagi/client/contract';
import { startServer, type RunningServer } from '../src/index.ts';
import { waitFor } from '@tinyagi/test-kit';
import { baseSettings, startHarness, testStores, type ServerHarness } from './harness.ts';
import { startDroppingProxy, type DroppingProxy } from './proxy.ts';

const here = dirname(fileURLToPath(import.meta.url));

let h: ServerHarness;
let proxy: DroppingProxy;
/** Requests the server answered, by route (to see tickets being taken). */
const served: string[] = [];
beforeAll(async () => {
  h = await startHarness({
    configure: (app) => {
      app.addHook('onRequest', async (request) => {
        served.push(`${request.method} ${request.url.split('?')[0]}${request.url.includes('ticket=') ? ' (ticket)' : ''}`);
      });
    },
  });
  proxy = await startDroppingProxy(h.port);
});
afterAll(async () => {
  await proxy?.close();
  await h?.close();
});

describe('client', () => {
  it('maps error bodies to ApiError with code, status, message and details', async () => {
    const err = await h.client.putTeam({ params: { id: 'x' }, body: { agents: ['ghost'], leader_agent: 'ghost' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', status: 400 });
    expect((err as ApiError).message).toContain('ghost');
    expect(isApiError(err, 'CONFIG_INVALID')).toBe(true);
    expect(isApiError(err, 'AGENT_NOT_FOUND')).toBe(false);
  });

  it('a wrong token is AUTH_INVALID; no token is AUTH_REQUIRED', async () => {
    await expect(createApiClient({ baseUrl: h.url, token: 'wrong-token-wrong-token' }).status()).rejects.toMatchObject({ code: 'AUTH_INVALID', status: 401 });
    await expect(createApiClient({ baseUrl: h.url }).status()).rejects.toMatchObject({ code: 'AUTH_REQUIRED', status: 401 });
    expect(await createApiClient({ baseUrl: `${h.url}/` }).health()).toMatchObject({ ok: true });
  });

  it('an unreachable daemon is NETWORK_ERROR with a hint', async () => {
    const dead = createApiClient({ baseUrl: 'http://127.0.0.1:1', token: 't' });
    const err = (await dead.status().catch((e: unknown) => e)) as ApiError;
    expect(err).toMatchObject({ code: 'NETWORK_ERROR', status: 0 });
    expect(err.message).toContain('tinyagi start');
  });
});

/** Appends `count` system notices in small bursts (committed appends and group-committed emits); returns their ids. */
async function produce(count: number, tag: string, last = false): Promise<number[]> {
  for (let i = 0; i < count; i++) {
    const data = { n: i, tag, pad: 'x'.repeat(100), ...(last && i === count - 1 ? { last: true } : {}) };
    if (i % 4 === 0) h.stores.events.emit({ type: 'system.notice', data });
    else await h.stores.events.append({ type: 'system.notice', data });
    if (i % 9 === 0) await new Promise((r) => setImmediate(r));
  }
  await h.stores.events.flush();
  return (await h.stores.events.readSince(0, { types: ['system.notice'] }, 1_000_000)).filter((e) => e.data['tag'] === tag).map((e) => e.id);
}

function watch(sub: { onStateChange(l: (s: ConnectionState, i: ConnectionInfo) => void): unknown; onEvent(l: (e: TinyEvent) => void): unknown }) {
  const states: Array<{ state: ConnectionState } & ConnectionInfo> = [];
  const events: TinyEvent[] = [];
  sub.onStateChange((state, info) => states.push({ state, ...info }));
  sub.onEvent((e) => events.push(e));
  return { states, events };
}

describe('subscribe', () => {
  it('resumes after the server drops the connection mid-event: every event exactly once, in order', async () => {
    const client = createApiClient({ baseUrl: proxy.url, token: h.token });
    const start = await h.stores.events.lastId();
    // Each connection is cut somewhere in its first 1.5–6 KB: inside an event, most of the time.
    proxy.cutAfterBytes = () => 1500 + Math.floor(Math.random() * 4500);
    const cutsBefore = proxy.cuts;
    const sub = client.subscribe({ types: ['system.notice'], lastEventId: start, reconnect: { initialDelayMs: 5, maxDelayMs: 50 } });
    const seen = watch(sub);
    try {
      const ids = await produce(400, 'drops');
      await waitFor(() => seen.events.at(-1)?.id === ids.at(-1), 30_000, 'the last event through the dropping proxy');
      // A cut the proxy made after the last event reaches the client a moment later: every cut is followed by a retry.
      const reconnects = () => seen.states.filter((s) => s.state === 'reconnecting');
      await waitFor(() => reconnects().length >= proxy.cuts - cutsBefore, 10_000, 'a retry after every cut');
      sub.close();
      await sub.closed;
      expect(seen.events.map((e) => e.id)).toEqual(ids);
      const cuts = proxy.cuts - cutsBefore;
      expect(cuts).toBeGreaterThan(5);
      expect(reconnects().length).toBeGreaterThanOrEqual(cuts);
      // A drop after an open connection retries after the first step of the backoff.
      expect(reconnects().every((s) => s.retryInMs !== undefined && s.retryInMs <= 50)).toBe(true);
      expect(seen.states[0]?.state).toBe('open');
      expect(seen.states.at(-1)?.state).toBe('closed');
      expect(sub.state).toBe('closed');
      expect(sub.lastEventId).toBe(ids.at(-1));
    } finally {
      proxy.cutAfterBytes = undefined;
      sub.close();
    }
  });

  it('while the server is down it retries with growing, jittered delays, then resumes without loss', async () => {
    const client = createApiClient({ baseUrl: proxy.url, token: h.token });
    const start = await h.stores.events.lastId();
    proxy.refuse = true;
    const backoff = { initialDelayMs: 10, maxDelayMs: 80 };
    const sub = client.subscribe({ types: ['system.notice'], lastEventId: start, reconnect: backoff });
    const seen = watch(sub);
    try {
      await waitFor(() => seen.states.filter((s) => s.state === 'reconnecting').length >= 6, 10_000, 'six failed tries');
      const ids = await produce(30, 'down');
      proxy.refuse = false;
      await waitFor(() => seen.events.at(-1)?.id === ids.at(-1), 10_000, 'the events produced while down');
      expect(seen.events.map((e) => e.id)).toEqual(ids);
      const tries = seen.states.filter((s) => s.state === 'reconnecting').slice(0, 6);
      expect(tries.map((s) => s.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
      for (const t of tries) {
        expect(t.error?.code).toBe('NETWORK_ERROR');
        // Within [half, all] of the doubled step (capped).
        expect(t.retryInMs).toBeGreaterThanOrEqual(backoffDelay(t.attempt - 1, backoff, () => 0));
        expect(t.retryInMs).toBeLessThanOrEqual(backoffDelay(t.attempt - 1, backoff, () => 1));
      }
      expect(seen.states.some((s) => s.state === 'open')).toBe(true);
    } finally {
      proxy.refuse = false;
      sub.close();
    }
  });

  it('without lastEventId it starts from now: a drop before the first event loses nothing', async () => {
    const client = createApiClient({ baseUrl: proxy.url, token: h.token });
    const sub = client.subscribe({ types: ['system.notice'], reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
    const seen = watch(sub);
    try {
      await waitFor(() => seen.states.some((s) => s.state === 'open'), 10_000, 'the first connection');
      const before = await produce(3, 'from-now-1');
      await waitFor(() => seen.events.length === 3, 10_000, 'the first events');
      // The server goes away; events happen while the client reconnects.
      proxy.refuse = true;
      proxy.dropAll();
      await waitFor(() => seen.states.some((s) => s.state === 'reconnecting'), 10_000, 'the drop to be noticed');
      const during = await produce(5, 'from-now-2');
      proxy.refuse = false;
      await waitFor(() => seen.events.length === 8, 10_000, 'the events of the outage');
      expect(seen.events.map((e) => e.id)).toEqual([...before, ...during]);
    } finally {
      proxy.refuse = false;
      sub.close();
    }
  });

  it('a drop before any event still resumes from the position taken at subscribe time', async () => {
    const client = createApiClient({ baseUrl: proxy.url, token: h.token });
    const sub = client.subscribe({ types: ['system.notice'], reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
    const seen = watch(sub);
    try {
      await waitFor(() => seen.states.some((s) => s.state === 'open'), 10_000, 'the first connection');
      proxy.refuse = true;
      proxy.dropAll();
      await waitFor(() => seen.states.some((s) => s.state === 'reconnecting'), 10_000, 'the drop to be noticed');
      const during = await produce(5, 'before-first');
      proxy.refuse = false;
      await waitFor(() => seen.events.length === 5, 10_000, 'the events of the outage');
      expect(seen.events.map((e) => e.id)).toEqual(during);
    } finally {
      proxy.refuse = false;
      sub.close();
    }
  });

  it('an answer retrying cannot fix closes the subscription with its ApiError; for await throws it', async () => {
    const wrong = createApiClient({ baseUrl: h.url, token: 'wrong-token-wrong-token' }).subscribe({ reconnect: { initialDelayMs: 1 } });
    const seen = watch(wrong);
    await expect(wrong.closed).rejects.toMatchObject({ code: 'AUTH_INVALID', status: 401 });
    expect(seen.states.map((s) => s.state)).toEqual(['closed']);
    expect(seen.states[0]?.error?.code).toBe('AUTH_INVALID');

    const iterate = async (): Promise<void> => {
      for await (const _event of h.client.subscribe({ types: ['run.exploded' as 'run.failed'] })) {
        // never reached
      }
    };
    await expect(iterate()).rejects.toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
  });

  it('for await: typed events narrow on type; leaving the loop closes the subscription', async () => {
    const start = await h.stores.events.lastId();
    const ids = await produce(5, 'loop');
    const sub = h.client.subscribe({ types: ['system.notice'], lastEventId: start });
    const got: Array<EventOf<'system.notice'>> = [];
    for await (const event of sub) {
      if (event.type === 'system.notice') got.push(event);
      if (got.length === 3) break;
    }
    expect(got.map((e) => e.id)).toEqual(ids.slice(0, 3));
    expect(sub.state).toBe('closed');
  });

  it('EventSource (a browser without headers) takes a ticket per connection and resumes across drops exactly once', async () => {
    const start = await h.stores.events.lastId();
    served.length = 0;
    proxy.cutAfterBytes = () => 1500 + Math.floor(Math.random() * 3000);
    const child = spawn(
      process.execPath,
      ['--experimental-eventsource', '--no-warnings', '--conditions=tinyagi-source', join(here, 'fixtures/eventsource-subscriber.ts'), proxy.url, h.token, String(start)],
      {
        cwd: join(here, '..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const lines: Array<{ id?: number; state?: ConnectionState }> = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as { id?: number; state?: ConnectionState }));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => lines.some((l) => l.state === 'open') || stderr !== '', 10_000, 'the EventSource to open');
      const ids = await produce(200, 'eventsource', true);
      expect(await exited, stderr).toBe(0);
      expect(stderr).toBe('');
      expect(lines.filter((l) => l.id !== undefined).map((l) => l.id)).toEqual(ids);
      const opens = lines.filter((l) => l.state === 'open').length;
      expect(opens).toBeGreaterThan(2);
      // A fresh ticket for every connection; the stream itself was authorised by the ticket.
      expect(served.filter((s) => s === 'POST /api/auth/ticket').length).toBeGreaterThanOrEqual(opens);
      expect(served.filter((s) => s === 'GET /api/events (ticket)').length).toBeGreaterThanOrEqual(opens);
    } finally {
      proxy.cutAfterBytes = undefined;
      child.kill();
    }
  });
});

describe('docs/api.md', () => {
  it('lists every route of the contract and the event stream', () => {
    const doc = readFileSync(join(here, '../../../docs/api.md'), 'utf8');
    const missing = (Object.entries(apiContract) as Array<[string, RouteDef]>).filter(([name, d]) => !doc.includes(`\`${d.method} ${d.path}\` | \`${name}\``)).map(([name]) => name);
    expect(missing).toEqual([]);
    expect(doc).toContain('`GET /api/events`');
  });
});

describe('startServer', () => {
  let running: RunningServer | undefined;
  let home: string;
  afterAll(async () => {
    await running?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 by default and serves the API', async () => {
    home = mkdtempSync(join(tmpdir(), 'tinyagi-listen-'));
    const settingsFile = join(home, 'settings.json');
    writeFileSync(settingsFile, JSON.stringify({ ...baseSettings(home), server: { port: 0 } }));
    const opened = await testStores(join(home, 'tinyagi.db'));
    const stores = opened.stores;
    const getSettings = () => loadSettings(settingsFile).settings;
    running = await startServer({ stores, orchestrator: new Orchestrator({ stores, getSettings }), home, settingsFile, token: 'listen-test-token-0123456789', version: '1.2.3' });
    expect(running.host).toBe('127.0.0.1');
    expect(running.port).toBeGreaterThan(0);
    expect(running.url).toBe(`http://127.0.0.1:${running.port}`);
    expect(await createApiClient({ baseUrl: running.url }).health()).toEqual({ ok: true, version: '1.2.3' });
    await running.close();
    running = undefined;
    await opened.close();
  });
});

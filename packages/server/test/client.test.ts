/**
 * The typed client on its own: error mapping, unreachable daemon, the import graph of the
 * `./client` entry (no fastify, no core, no node built-ins at runtime), and docs/api.md listing
 * every route of the contract.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings, openStores } from '@tinyagi/core';
import { Orchestrator } from '@tinyagi/teams';
import { apiContract, createApiClient, isApiError, startServer, type RouteDef, type RunningServer } from '../src/index.ts';
import { ApiError, SseParser } from '../src/client/index.ts';
import { baseSettings, startHarness, type ServerHarness } from './harness.ts';

const here = dirname(fileURLToPath(import.meta.url));

let h: ServerHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
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

  it('a non-API answer is BAD_RESPONSE', async () => {
    const fake = createApiClient({ baseUrl: 'http://x', fetch: async () => new Response('<html>proxy error</html>', { status: 502 }) });
    await expect(fake.status()).rejects.toMatchObject({ code: 'BAD_RESPONSE', status: 502 });
  });

  it('path parameters are encoded', async () => {
    const urls: string[] = [];
    const spy = createApiClient({ baseUrl: 'http://x', fetch: async (url) => (urls.push(String(url)), new Response('{}', { status: 200 })) });
    await spy.revokePairing({ params: { channel: 'whatsapp', senderId: '123@s.whatsapp.net/../x' } });
    expect(urls).toEqual(['http://x/api/pairing/approved/whatsapp/123%40s.whatsapp.net%2F..%2Fx']);
  });

  it('eventsUrl carries the ticket and filters', () => {
    expect(h.client.eventsUrl({ ticket: 'v1.1.a.b', types: ['run.completed', 'run.failed'] })).toBe(`${h.url}/api/events?types=run.completed%2Crun.failed&ticket=v1.1.a.b`);
  });

  it('the SSE parser handles split chunks, CRLF, multi-line data and comments', () => {
    const parser = new SseParser();
    const out = [...parser.push(': hi\r\nid: 7\r\nevent: x\r\ndata: a\r'), ...parser.push('\ndata: b\n\n'), ...parser.push('data: c\n'), ...parser.push('\n')];
    expect(out).toEqual([
      { id: '7', event: 'x', data: 'a\nb' },
      { id: '7', event: 'message', data: 'c' },
    ]);
  });
});

describe('the ./client entry', () => {
  it('imports nothing but zod at runtime (no fastify, no core, no node built-ins)', () => {
    const seen = new Set<string>();
    const external = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)';/gms)) {
        const spec = match[1]!;
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
        else external.add(spec);
      }
    };
    visit(join(here, '../src/client/index.ts'));
    expect([...external]).toEqual(['zod']);
    expect(seen.size).toBeGreaterThan(10);
  });

  it('the package exports map has the client entry', () => {
    const pkg = JSON.parse(readFileSync(join(here, '../package.json'), 'utf8')) as { exports: Record<string, Record<string, unknown>> };
    const entry = pkg.exports['./client'];
    expect(entry).toEqual({
      types: { 'tinyagi-source': './src/client/index.ts', default: './dist/client/index.d.ts' },
      'tinyagi-source': './src/client/index.ts',
      default: './dist/client/index.js',
    });
    // `types` first (TypeScript reads conditions in order).
    expect(Object.keys(entry ?? {})).toEqual(['types', 'tinyagi-source', 'default']);
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
    const stores = openStores({ dbPath: join(home, 'tinyagi.db'), durability: 'normal' });
    const getSettings = () => loadSettings(settingsFile).settings;
    running = await startServer({ stores, orchestrator: new Orchestrator({ stores, getSettings }), home, settingsFile, token: 'listen-test-token-0123456789', version: '1.2.3' });
    expect(running.host).toBe('127.0.0.1');
    expect(running.port).toBeGreaterThan(0);
    expect(running.url).toBe(`http://127.0.0.1:${running.port}`);
    expect(await createApiClient({ baseUrl: running.url }).health()).toEqual({ ok: true, version: '1.2.3' });
    await running.close();
    running = undefined;
    stores.close();
  });
});

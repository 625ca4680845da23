/**
 * The app the daemon's start-up snapshot holds (app.ts `prepareApp`, late-server.ts): built and
 * made ready before its context and its http server exist, then bound. Building must read
 * nothing of the context (whatever it read would be the empty object the snapshot froze), and
 * the bound app must serve as buildServer's does: public and token routes, bodies, errors,
 * TinyOffice's pages, the event stream, a clean close.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareApp, type PreparedApp } from '../src/app.ts';
import type { ServerContext } from '../src/context.ts';
import { lateServer } from '../src/late-server.ts';
import { alsoListenOn, startServer } from '../src/listen.ts';
import { Orchestrator } from '@tinyagi/teams';
import { loadSettings } from '@tinyagi/core';
import { waitFor } from '@tinyagi/test-kit';
import { httpRequest, raw, startHarness, testStores, type ServerHarness } from './harness.ts';

/** A context that fails every read until `open` is set: what the snapshot's empty object would silently give. */
function guardedContext(): { ctx: ServerContext; reads: string[]; open(): void } {
  const reads: string[] = [];
  let building = true;
  const ctx = new Proxy({} as ServerContext, {
    get(target, key, receiver) {
      // Fastify's decorate asks any value whether it is an accessor ({ getter, setter }).
      if (building && typeof key === 'string' && key !== 'getter' && key !== 'setter') {
        reads.push(key);
        throw new Error(`the server context's "${key}" was read while the app was being built`);
      }
      return Reflect.get(target, key, receiver);
    },
  });
  return { ctx, reads, open: () => (building = false) };
}

describe('an app prepared before its context and http server exist', () => {
  let h: ServerHarness;
  let officeDir: string;
  const guard = guardedContext();
  let prepared: PreparedApp | undefined;

  beforeAll(async () => {
    officeDir = mkdtempSync(join(tmpdir(), 'tinyagi-prepared-office-'));
    writeFileSync(join(officeDir, 'index.html'), '<!doctype html><title>office home</title>');
    h = await startHarness({
      officeDir,
      prepare: async (shape) => {
        prepared = await prepareApp(shape, guard.ctx);
        // The snapshot makes its app ready while building: plugins boot, hooks and routes are final.
        await prepared.app.ready();
        guard.open();
        return prepared;
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    rmSync(officeDir, { recursive: true, force: true });
  });

  it('read nothing of the context while building and booting', () => {
    expect(guard.reads).toEqual([]);
    expect(prepared).toBeDefined();
  });

  it('serves public and token routes, refuses a missing token, and validates bodies', async () => {
    expect(await raw(h, 'GET', '/api/health', { auth: false })).toMatchObject({ status: 200, body: { ok: true } });
    expect((await raw(h, 'GET', '/api/agents', { auth: false })).status).toBe(401);
    const agents = await h.client.listAgents();
    expect(agents.map((a) => a.id).sort()).toEqual(['coder', 'reviewer']);
    const bad = await raw(h, 'POST', '/api/message', { body: '{"agent": 3}' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    const tooDeep = await raw(h, 'POST', '/api/message', { body: `${'['.repeat(100)}${']'.repeat(100)}` });
    expect(tooDeep.status).toBe(400);
  });

  it('answers a message end to end and serves TinyOffice from the bound folder', async () => {
    const sent = await h.client.sendMessage({ body: { agent: 'reviewer', message: 'look', sender: 'test', senderId: 'test' } });
    expect(sent.conversationId).toMatch(/^conv_/);
    await waitFor(async () => (await h.client.listOutbox({ query: { conversationId: sent.conversationId } })).some((m) => m.text.includes('reviewed')), 10_000, 'the reply in the outbox');
    const page = await httpRequest(h.port, { method: 'GET', path: '/' });
    expect(page.status).toBe(200);
    expect(page.text).toContain('office home');
    expect(page.headers['content-security-policy']).toBeDefined();
  });

  it('a prepared app binds once', () => {
    expect(() => prepared!.bind({} as never)).toThrow(/bound already/);
  });
});

describe('the late http server', () => {
  it('moves the listeners Fastify added while building, refuses to listen before it has a server, and attaches once', () => {
    const late = lateServer();
    const standIn = late.factory(() => {});
    const seen: string[] = [];
    standIn.on('clientError', () => seen.push('clientError'));
    expect(typeof standIn.closeAllConnections).toBe('function');
    expect(standIn.address()).toBeNull();
    expect(() => standIn.listen(0)).toThrow(/no http server yet/);
    let real: Server | undefined;
    late.attach((handler) => (real = createServer(handler)), { keepAliveTimeout: 5000, requestTimeout: 7000, connectionTimeout: 0 });
    expect(real!.listenerCount('clientError')).toBe(1);
    real!.emit('clientError', new Error('x'), null);
    expect(seen).toEqual(['clientError']);
    expect(real!.keepAliveTimeout).toBe(5000);
    expect(real!.requestTimeout).toBe(7000);
    expect(standIn.keepAliveTimeout).toBe(5000);
    expect(() => late.attach(() => createServer(), { keepAliveTimeout: 1, requestTimeout: 1, connectionTimeout: 0 })).toThrow(/already has its http server/);
    expect(() => late.factory(() => {})).toThrow(/second server/);
  });
});

describe('more addresses than Fastify binds', () => {
  it('`localhost` is served on every loopback address it names here', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tinyagi-localhost-'));
    const settingsFile = join(home, 'settings.json');
    writeFileSync(settingsFile, JSON.stringify({ workspace: { path: join(home, 'ws') }, models: { provider: 'mock' }, agents: {}, channels: { enabled: [] } }));
    const opened = await testStores(join(home, 'tinyagi.db'));
    const getSettings = () => loadSettings(settingsFile).settings;
    const orchestrator = new Orchestrator({ stores: opened.stores, getSettings });
    const server = await startServer({ stores: opened.stores, orchestrator, home, settingsFile, getSettings, token: 't'.repeat(32), version: 'test', host: 'localhost', port: 0 });
    const addresses = (await lookup('localhost', { all: true })).map((a) => a.address);
    try {
      for (const address of addresses) {
        if (await canBind(address)) expect((await fetch(`${urlOf(address, server.port)}/api/health`)).status).toBe(200);
      }
    } finally {
      await server.close();
      await opened.close();
      rmSync(home, { recursive: true, force: true });
    }
    for (const address of addresses) await expect(fetch(`${urlOf(address, server.port)}/api/health`)).rejects.toThrow();
  });

  it('an extra address answers like the first (malformed HTTP included) and closes with the app; one that cannot be bound is left out', async () => {
    const extra = await startHarness();
    try {
      // 192.0.2.1 (TEST-NET-1) is on no interface here: it cannot be bound.
      const ipv6 = await canBind('::1');
      expect(await alsoListenOn(extra.app, ['192.0.2.1', '::1'], extra.port)).toEqual(ipv6 ? ['::1'] : []);
      const second = ipv6 ? '::1' : '127.0.0.1';
      expect((await fetch(`${urlOf(second, extra.port)}/api/health`)).status).toBe(200);
      expect(await rawHttp(second, extra.port, 'GET / HTTP/1.1\r\nHost: localhost\r\nBroken header line\r\n\r\n')).toMatch(/^HTTP\/1\.1 400[\s\S]*"code":"BAD_REQUEST"/);
    } finally {
      await extra.close();
    }
    await expect(fetch(`${urlOf('::1', extra.port)}/api/health`)).rejects.toThrow();
    await expect(fetch(`${urlOf('127.0.0.1', extra.port)}/api/health`)).rejects.toThrow();
  });
});

function urlOf(address: string, port: number): string {
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** Bytes written to a socket as they are, and everything the server answers until it closes. */
function rawHttp(host: string, port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => socket.end(bytes));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

function canBind(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host: address, port: 0 }, () => probe.close(() => resolve(true)));
  });
}

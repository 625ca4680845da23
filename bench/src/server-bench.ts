/**
 * B6 (SSE fan-out) and B7 (REST req/s vs a bare Fastify route), real sockets on loopback,
 * clients in a separate process.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { openStores, type Settings } from '@tinyagi/core';
import { fileSettingsSource } from '@tinyagi/core/internal';
import { Orchestrator } from '@tinyagi/teams';
import { startServer } from '@tinyagi/server';
import { percentile } from './machine.ts';

const CLIENT = new URL('./http-client.ts', import.meta.url).pathname;

export async function withServer<T>(fn: (s: { url: string; token: string; stores: ReturnType<typeof openStores> }) => Promise<T>): Promise<T> {
  const home = mkdtempSync(join(tmpdir(), 'tinyagi-bench-srv-'));
  const settingsFile = join(home, 'settings.json');
  const settings = { workspace: { path: join(home, 'ws') }, agents: { a: { name: 'a', provider: 'mock' } } } as unknown as Settings;
  writeFileSync(settingsFile, JSON.stringify(settings));
  const stores = openStores({ dbPath: join(home, 'tinyagi.db') });
  const orchestrator = new Orchestrator({ stores, getSettings: () => settings });
  const token = 'bench-token-0123456789abcdef0123456789';
  const server = await startServer({
    stores,
    orchestrator,
    home,
    settingsFile,
    settings: fileSettingsSource({ file: settingsFile, watch: true }),
    token,
    version: 'bench',
    port: 0,
    host: '127.0.0.1',
    limits: { sseClientBuffer: 10_000 },
  });
  try {
    return await fn({ url: server.url, token, stores });
  } finally {
    await server.close();
    stores.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/** What the client process (http-client.ts) reports. */
interface ClientMessage {
  type: 'connected' | 'done' | 'error';
  latencies?: number[];
  results?: Record<string, number>;
  message?: string;
}

function client(config: object): { child: ReturnType<typeof fork>; next: () => Promise<ClientMessage> } {
  const child = fork(CLIENT, [JSON.stringify(config)], { execArgv: [] });
  const queue: ClientMessage[] = [];
  const waiters: Array<(m: ClientMessage) => void> = [];
  child.on('message', (message) => {
    const m = message as ClientMessage;
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const next = (): Promise<ClientMessage> => {
    const m = queue.shift();
    return m ? Promise.resolve(m) : new Promise((r) => waiters.push(r));
  };
  return { child, next };
}

export async function benchB6(subscribers = 1000, events = 50): Promise<string> {
  return withServer(async ({ url, token, stores }) => {
    globalThis.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const c = client({ mode: 'sse', url: `${url}/api/events?types=system.notice`, token, subscribers, expect: events });
    const first = await c.next();
    if (first.type !== 'connected') throw new Error(JSON.stringify(first));
    await new Promise((r) => setTimeout(r, 500));
    const rssConnected = process.memoryUsage().rss;
    for (let i = 0; i < events; i++) {
      stores.events.append({ type: 'system.notice', data: { sentAt: Date.now(), i } });
      await new Promise((r) => setTimeout(r, 20));
    }
    const done = await c.next();
    if (done.type !== 'done') throw new Error(JSON.stringify(done));
    const lat = (done.latencies as number[]).sort((a, b) => a - b);
    return [
      '| subscribers | events each | deliveries | latency p50 | latency p99 | server RSS per subscriber |',
      '|---|---|---|---|---|---|',
      `| ${subscribers} | ${events} | ${lat.length} | ${percentile(lat, 50)} ms | ${percentile(lat, 99)} ms | ${((rssConnected - rssBefore) / subscribers / 1024).toFixed(1)} KiB |`,
    ].join('\n');
  });
}

export async function benchB7(seconds = 5, connections = 32): Promise<string> {
  const bare = Fastify();
  bare.get('/bare', async () => ({ ok: true }));
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}/bare`;
  try {
    return await withServer(async ({ url, token }) => {
      const c = client({
        mode: 'load',
        urls: [
          { name: 'bare', url: bareUrl },
          { name: 'queue', url: `${url}/api/queue/status` },
        ],
        token,
        connections,
        seconds,
      });
      const r = (await c.next()).results as Record<string, number>;
      return [
        `| route | req/s (${connections} keep-alive connections, ${seconds} s) |`,
        '|---|---|',
        `| bare Fastify \`GET /bare\` (same process) | ${r.bare!.toFixed(0)} |`,
        `| \`GET /api/queue/status\` (auth, Host/Origin checks, SQLite counts) | ${r.queue!.toFixed(0)} (${((r.queue! / r.bare!) * 100).toFixed(0)}% of bare) |`,
      ].join('\n');
    });
  } finally {
    await bare.close();
  }
}

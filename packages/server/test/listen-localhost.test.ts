/**
 * startServer on `localhost`: served on every loopback address the name resolves to here
 * (Fastify binds the others beside the first), each closed with the app.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { lookup } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from '../src/listen.ts';
import { Orchestrator } from '@tinyagi/teams';
import { loadSettings } from '@tinyagi/core';
import { testStores } from './harness.ts';

describe('listening on localhost', () => {
  it('`localhost` is served on every loopback address it names here', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tinyagi-localhost-'));
    const settingsFile = join(home, 'settings.json');
    writeFileSync(settingsFile, JSON.stringify({ workspace: { path: join(home, 'ws') }, models: { provider: 'mock' }, agents: {}, channels: { enabled: [] } }));
    const opened = await testStores(join(home, 'tinyagi.db'));
    const orchestrator = new Orchestrator({ stores: opened.stores, getSettings: () => loadSettings(settingsFile).settings });
    const server = await startServer({ stores: opened.stores, orchestrator, home, settingsFile, token: 't'.repeat(32), version: 'test', host: 'localhost', port: 0 });
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
});

function urlOf(address: string, port: number): string {
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

function canBind(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host: address, port: 0 }, () => probe.close(() => resolve(true)));
  });
}

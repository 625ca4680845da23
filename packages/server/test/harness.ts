/**
 * Test fixtures: a temp TINYAGI_HOME with a real settings.json and SQLite file, the real
 * orchestrator (agents use core's scripted mock provider), and the server listening on
 * 127.0.0.1 with an ephemeral port. Waits poll with a short interval and a deadline.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings, openStores, type Settings, type Stores, type TinyEvent } from '@tinyagi/core';
import { Orchestrator } from '@tinyagi/teams';
import { createApiClient, mintRunToken, startServer, type ApiClient, type BuildServerOptions, type RunningServer, type ServerLimits } from '../src/index.ts';

/** Planted in settings; no response body may ever contain them. */
export const SECRETS = {
  anthropic: 'sk-ant-PLANTED-anthropic-0123456789abcdef',
  telegram: '123456:PLANTED-telegram-bot-token-abcdefghij',
  custom: 'sk-PLANTED-custom-provider-key-9876543210',
  openai: 'sk-PLANTED-openai-key-ABCDEFGHIJKLMNOP',
} as const;

export function baseSettings(home: string): Settings {
  return {
    workspace: { path: join(home, 'workspace') },
    models: { provider: 'mock', anthropic: { api_key: SECRETS.anthropic }, openai: { api_key: SECRETS.openai } },
    channels: { enabled: [], telegram: { bot_token: SECRETS.telegram } },
    custom_providers: { acme: { name: 'Acme', harness: 'openai', base_url: 'http://127.0.0.1:9/v1', api_key: SECRETS.custom } },
    agents: {
      coder: { name: 'Coder', provider: 'mock', mock: { reply: 'coder done: {{message}}', rules: [{ match: 'slow', latency_ms: 3000, reply: 'slow done' }] } },
      reviewer: { name: 'Reviewer', provider: 'mock', mock: { reply: 'reviewed' } },
    },
    teams: { dev: { name: 'Dev', agents: ['coder', 'reviewer'], leader_agent: 'coder' } },
  };
}

export interface ServerHarness {
  home: string;
  settingsFile: string;
  token: string;
  stores: Stores;
  orchestrator: Orchestrator;
  server: RunningServer;
  url: string;
  port: number;
  client: ApiClient;
  settings(): Settings;
  close(): Promise<void>;
}

export interface HarnessOptions {
  settings?: (home: string) => Settings;
  limits?: Partial<ServerLimits>;
  services?: BuildServerOptions['services'];
  logFile?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<ServerHarness> {
  const home = mkdtempSync(join(tmpdir(), 'tinyagi-server-'));
  const settingsFile = join(home, 'settings.json');
  writeFileSync(settingsFile, `${JSON.stringify((options.settings ?? baseSettings)(home), null, 2)}\n`, { mode: 0o600 });
  const token = randomBytes(24).toString('base64url');
  const stores = openStores({ dbPath: join(home, 'tinyagi.db'), durability: 'normal' });
  const getSettings = (): Settings => loadSettings(settingsFile).settings;
  const orchestrator = new Orchestrator({ stores, getSettings, sweepMs: 100, issueRunToken: (runId, conversationId) => mintRunToken(token, runId, conversationId) });
  orchestrator.start();
  const server = await startServer({
    stores,
    orchestrator,
    home,
    settingsFile,
    getSettings,
    token,
    version: '0.0.0-test',
    host: '127.0.0.1',
    port: 0,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.services ? { services: options.services } : {}),
    ...(options.logFile ? { logFile: join(home, 'logs', 'daemon.log') } : {}),
  });
  return {
    home,
    settingsFile,
    token,
    stores,
    orchestrator,
    server,
    url: server.url,
    port: server.port,
    client: createApiClient({ baseUrl: server.url, token }),
    settings: getSettings,
    async close() {
      await server.close();
      await orchestrator.stop(1000);
      stores.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export async function waitFor<T>(probe: () => T | undefined | false | null | Promise<T | undefined | false | null>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function eventsOf(stores: Stores, filter: { conversationId?: string; types?: TinyEvent['type'][] } = {}): TinyEvent[] {
  stores.events.flush();
  return stores.events.readSince(0, filter, 100_000);
}

/** A raw request (for bodies and headers the typed client would never send). */
export async function raw(h: { url: string; token: string }, method: string, path: string, init: { body?: string; headers?: Record<string, string>; auth?: boolean } = {}): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const res = await fetch(`${h.url}${path}`, {
    method,
    headers: { ...(init.auth === false ? {} : { authorization: `Bearer ${h.token}` }), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // text body
  }
  return { status: res.status, body, text, headers: res.headers };
}

/**
 * Test fixtures: a temp TINYAGI_HOME with a real settings.json, the stores on this run's backend
 * (the SQLite file in the home, or with TINYAGI_TEST_BACKEND=postgres a fresh PostgreSQL schema:
 * `@tinyagi/test-kit/stores`), the real orchestrator (agents use core's scripted mock provider), and the server listening on
 * 127.0.0.1 with an ephemeral port. Waits: waitFor from @tinyagi/test-kit.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { EventOf, EventType, Settings } from '@tinyagi/core';
import { fileSettingsSource, openStores, type StoreSet } from '@tinyagi/core/internal';
import { openPgStores } from '@tinyagi/core/pg';
import { openTestStores, type TestStores } from '@tinyagi/test-kit/stores';
import { waitFor } from '@tinyagi/test-kit';
import { type NodeInfoSource, Orchestrator, TaskFlow } from '@tinyagi/teams';
import { createApiClient, type ApiClient } from '@tinyagi/client';
import { buildServer, type BuildServerOptions, type ServerLimits, type TinyServer } from '../src/index.ts';
import { mintRunToken } from '../src/internal.ts';

/** Planted in settings; no response body may ever contain them. */
export const SECRETS = {
  anthropic: 'sk-ant-PLANTED-anthropic-0123456789abcdef',
  telegram: '123456:PLANTED-telegram-bot-token-abcdefghij',
  custom: 'sk-PLANTED-custom-provider-key-9876543210',
  openai: 'sk-PLANTED-openai-key-ABCDEFGHIJKLMNOP',
  /** The password in storage.url (a URL value, not a secret-named key). */
  database: 'PLANTED-db-password-0123456789',
} as const;

/** In settings only: the harness hands the server its stores itself, so nothing connects to it. */
export const DATABASE_URL = `postgres://tiny:${SECRETS.database}@db.example:5432/tinyagi?sslmode=require`;

export function baseSettings(home: string): Settings {
  return {
    workspace: { path: join(home, 'workspace') },
    models: { provider: 'mock', anthropic: { api_key: SECRETS.anthropic }, openai: { api_key: SECRETS.openai } },
    channels: { enabled: [], telegram: { bot_token: SECRETS.telegram } },
    custom_providers: { acme: { name: 'Acme', harness: 'openai', base_url: 'http://127.0.0.1:9/v1', api_key: SECRETS.custom } },
    agents: {
      // A "slow" message works until it is cancelled: it waits at a gate no test opens (not 3 s, which a loaded machine could use up mid-test).
      coder: { name: 'Coder', provider: 'mock', mock: { reply: 'coder done: {{message}}', gate_dir: join(home, 'mock-gates'), replies: [{ match: 'slow', gate: 'never', reply: 'slow done' }] } },
      reviewer: { name: 'Reviewer', provider: 'mock', mock: { reply: 'reviewed' } },
    },
    teams: { dev: { name: 'Dev', agents: ['coder', 'reviewer'], leader_agent: 'coder' } },
    storage: { url: DATABASE_URL },
  };
}

export interface ServerHarness {
  home: string;
  settingsFile: string;
  token: string;
  stores: StoreSet;
  orchestrator: Orchestrator;
  app: TinyServer;
  url: string;
  port: number;
  client: ApiClient;
  settings(): Settings;
  close(): Promise<void>;
}

export interface HarnessOptions {
  settings?: (home: string) => Settings;
  limits?: Partial<ServerLimits>;
  daemon?: BuildServerOptions['daemon'];
  /** Where 5xx answers and warnings are logged (default: stderr). */
  log?: BuildServerOptions['log'];
  /** TinyOffice's static export to serve at /. */
  officeDir?: string;
  /** Runs before the server listens (add hooks). */
  configure?: (app: TinyServer) => void;
  /** The orchestrator's invoker (default: core's `invokeAgent`), e.g. pointing an agent at a fake CLI. */
  invoke?: ConstructorParameters<typeof Orchestrator>[0]['invoke'];
  /** The daemon's environment beyond HOME (a forge's token variable). */
  env?: Record<string, string>;
  /** The stores to serve instead of a fresh set (a node on a PostgreSQL schema another harness shares); `close` closes them. */
  stores?: StoreSet;
  /** This harness as one node of several (its task flow runs each step on the node that holds the disk); its sweep runs when the test asks. */
  taskNode?: NodeInfoSource;
  /** The server's facets, built on the harness's orchestrator, under the option's name (the current one or the deprecated one); default: the server makes them. */
  facets?: { option: 'orchestratorFacets' | 'orchestratorServices'; build: (orchestrator: Orchestrator) => NonNullable<BuildServerOptions['orchestratorFacets']> };
}

/** Every response body the harness servers sent that contained a planted secret. */
export const secretLeaks: Array<{ method: string; url: string; secret: string }> = [];

/** operationId -> statuses answered, across the test file. */
export const answered = new Map<string, Set<number>>();

/** `METHOD /path` of every request the harness's typed client sent, across the test file. */
export const clientCalls: string[] = [];

export const recordingFetch: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  clientCalls.push(`${init?.method ?? 'GET'} ${url.pathname}`);
  return fetch(input, init);
};

function watch(app: TinyServer): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '';
    for (const secret of Object.values(SECRETS)) {
      if (text.includes(secret)) secretLeaks.push({ method: request.method, url: request.url, secret });
    }
    const op = (request.routeOptions.schema as { operationId?: string } | undefined)?.operationId;
    if (op) {
      const set = answered.get(op) ?? new Set<number>();
      set.add(reply.statusCode);
      answered.set(op, set);
    }
    return payload;
  });
}

export async function startHarness(options: HarnessOptions = {}): Promise<ServerHarness> {
  const home = mkdtempSync(join(tmpdir(), 'tinyagi-server-'));
  const settingsFile = join(home, 'settings.json');
  writeFileSync(settingsFile, `${JSON.stringify((options.settings ?? baseSettings)(home), null, 2)}\n`, { mode: 0o600 });
  const token = randomBytes(24).toString('base64url');
  const given = options.stores;
  const opened = given === undefined ? await testStores(join(home, 'tinyagi.db')) : { stores: given, close: async () => void (await given.close()) };
  const stores = opened.stores;
  // The one settings path (core's file source): read by the orchestrator and the routes, edited by the routes.
  const source = fileSettingsSource({ file: settingsFile, env: { HOME: home }, events: stores.events });
  const getSettings = (): Settings => source.get();
  const orchestrator = new Orchestrator({
    stores,
    getSettings,
    sweepMs: 100,
    // The test's home: what a run keeps there (held folders) stays in it.
    env: { ...process.env, TINYAGI_HOME: join(home, '.tinyagi') },
    issueRunToken: (runId, conversationId) => mintRunToken(token, runId, conversationId),
    ...(options.invoke ? { invoke: options.invoke } : {}),
  });
  orchestrator.start();
  const env = { HOME: home, ...options.env };
  const log = options.log ?? { warn: (m: string) => process.stderr.write(`WARN  [tasks] ${m}\n`), error: (m: string) => process.stderr.write(`ERROR [tasks] ${m}\n`) };
  const taskFlow = options.taskNode ? new TaskFlow({ stores, orchestrator, home, env, settings: getSettings, log, sweepMs: 3_600_000, node: options.taskNode }) : undefined;
  const buildOptions: BuildServerOptions = {
    stores,
    orchestrator,
    home,
    settingsFile,
    settings: source,
    token,
    version: '0.0.0-test',
    env,
    ...(taskFlow ? { taskFlow } : {}),
    logFile: join(home, 'logs', 'daemon.log'),
    // The task flow's sweep only when a test asks for it: a test drives `taskFlow.sweep` itself.
    limits: { taskSweepMs: 3_600_000, ...options.limits },
    ...(options.daemon ? { daemon: options.daemon } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.officeDir ? { officeDir: options.officeDir } : {}),
    ...(options.facets ? { [options.facets.option]: options.facets.build(orchestrator) } : {}),
  };
  const app = await buildServer(buildOptions);
  watch(app);
  options.configure?.(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  await taskFlow?.start();
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    home,
    settingsFile,
    token,
    stores,
    orchestrator,
    app,
    url,
    port,
    client: createApiClient({ baseUrl: url, token, fetch: recordingFetch }),
    settings: getSettings,
    async close() {
      await taskFlow?.stop();
      await app.close();
      await orchestrator.stop(1000);
      await opened.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The stores at `dbPath` on SQLite, or in a fresh PostgreSQL schema (dropped by `close`) on that run. */
export function testStores(dbPath: string): Promise<TestStores<StoreSet>> {
  return openTestStores<StoreSet>(
    dbPath,
    {
      sqlite: (file) => openStores({ dbPath: file, durability: 'normal' }),
      postgres: ({ url, schema }) => openPgStores({ url, schema, poolSize: 6 }),
    },
    'server',
  );
}

export async function eventsOf<T extends EventType = EventType>(stores: StoreSet, filter: { conversationId?: string; types?: T[] } = {}): Promise<Array<EventOf<T>>> {
  await stores.events.flush();
  return stores.events.readSince(0, filter, 100_000);
}

/** A raw request (for bodies and headers the typed client would never send). */
export async function raw(
  h: { url: string; token: string },
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string>; auth?: boolean } = {},
): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
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

/** A request over node:http, which (unlike fetch) lets tests set any Host header. */
export function httpRequest(
  port: number,
  options: { method: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: options.method, path: options.path, headers: options.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** A typed client that authenticates like TinyOffice's page: the session cookie, sent same-origin. */
export function sessionClient(h: ServerHarness, cookie: string): ApiClient {
  const sameOrigin: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('cookie', cookie);
    headers.set('origin', h.url);
    headers.set('sec-fetch-site', 'same-origin');
    return recordingFetch(input, { ...init, headers });
  };
  return createApiClient({ baseUrl: h.url, fetch: sameOrigin });
}

/**
 * A live run of `agent` (its "slow" message waits at a mock gate no test opens) and a client with
 * that run's own token. Made once per agent and harness: the agent's next message would wait behind it.
 */
export function liveRunClient(h: ServerHarness, agent = 'coder'): Promise<{ client: ApiClient; conversationId: string }> {
  const key = `${h.url} ${agent}`;
  let live = liveRuns.get(key);
  if (!live) {
    live = (async () => {
      const after = await h.stores.events.lastId();
      const sent = await h.client.sendMessage({ body: { message: 'slow: keep working', agent, channel: 'api', sender: 'test', senderId: 'test' } });
      const started = await waitFor(
        async () => (await h.stores.events.readSince(after, { conversationId: sent.conversationId, types: ['run.started'] }, 100))[0] as EventOf<'run.started'> | undefined,
        15_000,
        `${agent}'s run to start`,
      );
      return { client: createApiClient({ baseUrl: h.url, token: mintRunToken(h.token, started.runId!, sent.conversationId) }), conversationId: sent.conversationId };
    })();
    liveRuns.set(key, live);
  }
  return live;
}

const liveRuns = new Map<string, Promise<{ client: ApiClient; conversationId: string }>>();

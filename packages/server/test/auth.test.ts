/**
 * The security matrix: every route except health (and the static docs page) refuses a missing token, a wrong token, a
 * disallowed Origin and a foreign Host (before any handler runs); tickets only open the event
 * stream; run-scoped tokens only reach their own conversation's run routes; rate and body limits.
 */
import { createContext, runInContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiContract, type RouteDef } from '@tinyagi/client/contract';
import { createTicket, mintRunToken } from '../src/internal.ts';
import { waitFor } from '@tinyagi/test-kit';
import { baseSettings, httpRequest, secretLeaks, startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;
beforeAll(async () => {
  h = await startHarness({
    limits: { pairingPerMinute: 2, bodyBytes: 64 * 1024 },
    // The matrix below sends a hundred requests without a valid token; rate-limit.test.ts covers that limit.
    settings: (home) => {
      const base = baseSettings(home);
      // A reviewer's "break" message fails at once (a run that ended failed).
      base.agents!['reviewer']!.mock = { reply: 'reviewed', replies: [{ match: 'break', fail: 'permanent', reply: '' }] };
      return { ...base, server: { rate_limit: { message_burst: 3, messages_per_second: 0.01, auth_failures_per_minute: 100_000 } } };
    },
  });
});
afterAll(async () => {
  await h?.close();
  expect(secretLeaks).toEqual([]);
});

const SAMPLE_PARAMS: Record<string, string> = { action: 'start', name: 'anthropic', id: '1', code: 'ABCDEFGH', channel: 'discord', senderId: 'u1' };

function concretePath(path: string): string {
  return path.replace(/:([A-Za-z]+)/g, (_m, name: string) => SAMPLE_PARAMS[name] ?? 'x');
}

/** Every protected route (the contract's plus the event stream), as method + concrete path. */
function protectedRoutes(): Array<{ name: string; method: string; path: string }> {
  const routes = (Object.entries(apiContract) as Array<[string, RouteDef]>).filter(([, def]) => def.auth !== 'none').map(([name, def]) => ({ name, method: def.method, path: concretePath(def.path) }));
  return [
    ...routes,
    { name: 'events', method: 'GET', path: '/api/events' },
    // The OpenAPI document and its copies for the docs page.
    { name: 'openapi', method: 'GET', path: '/api/openapi.json' },
    { name: 'docsJson', method: 'GET', path: '/api/docs/json' },
    { name: 'docsYaml', method: 'GET', path: '/api/docs/yaml' },
  ];
}

function codeOf(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

describe('auth matrix', () => {
  const host = (): string => `127.0.0.1:${h.port}`;
  const bodyFor = (method: string) => (method === 'GET' || method === 'DELETE' ? {} : { body: '{}', headers: { 'content-type': 'application/json' } });

  it('every protected route refuses requests without a token', async () => {
    const answers = await Promise.all(
      protectedRoutes().map(async (r) => {
        const res = await httpRequest(h.port, { method: r.method, path: r.path, headers: { host: host(), ...bodyFor(r.method).headers }, ...(bodyFor(r.method).body ? { body: '{}' } : {}) });
        return `${r.name} ${res.status} ${codeOf(res.text)}`;
      }),
    );
    expect(answers.filter((a) => !a.endsWith(' 401 AUTH_REQUIRED'))).toEqual([]);
    expect(answers.length).toBeGreaterThan(80);
  });

  it('every protected route refuses a wrong token', async () => {
    const answers = await Promise.all(
      protectedRoutes().map(async (r) => {
        const res = await httpRequest(h.port, { method: r.method, path: r.path, headers: { host: host(), authorization: `Bearer ${h.token}x` } });
        return `${r.name} ${res.status} ${codeOf(res.text)}`;
      }),
    );
    expect(answers.filter((a) => !a.endsWith(' 401 AUTH_INVALID'))).toEqual([]);
  });

  it('every route (health included) refuses a disallowed Origin, even with the right token', async () => {
    const all = [...protectedRoutes(), { name: 'health', method: 'GET', path: '/api/health' }];
    const answers = await Promise.all(
      all.map(async (r) => {
        const res = await httpRequest(h.port, { method: r.method, path: r.path, headers: { host: host(), authorization: `Bearer ${h.token}`, origin: 'https://evil.example' } });
        return `${r.name} ${res.status} ${codeOf(res.text)}`;
      }),
    );
    expect(answers.filter((a) => !a.endsWith(' 403 ORIGIN_NOT_ALLOWED'))).toEqual([]);
  });

  it('every route (health included) refuses a foreign Host header (DNS rebinding), even with the right token', async () => {
    const all = [...protectedRoutes(), { name: 'health', method: 'GET', path: '/api/health' }, { name: 'docsPage', method: 'GET', path: '/api/docs/' }];
    for (const foreign of [`evil.example:${h.port}`, 'evil.example', `127.0.0.1.nip.io:${h.port}`, `localhost:${h.port + 1}`]) {
      const answers = await Promise.all(
        all.map(async (r) => {
          const res = await httpRequest(h.port, { method: r.method, path: r.path, headers: { host: foreign, authorization: `Bearer ${h.token}` } });
          return `${r.name} ${res.status} ${codeOf(res.text)}`;
        }),
      );
      expect(answers.filter((a) => !a.endsWith(' 403 HOST_NOT_ALLOWED'))).toEqual([]);
    }
  });

  it('the same GET routes succeed past the guard with the token, a loopback Host and an allowed Origin', async () => {
    const gets = protectedRoutes().filter((r) => r.method === 'GET' && r.name !== 'events');
    for (const hostHeader of [`127.0.0.1:${h.port}`, `localhost:${h.port}`, `[::1]:${h.port}`]) {
      const answers = await Promise.all(
        gets.map(async (r) => {
          const res = await httpRequest(h.port, { method: r.method, path: r.path, headers: { host: hostHeader, authorization: `Bearer ${h.token}`, origin: 'http://localhost:3000' } });
          return { name: r.name, status: res.status, code: codeOf(res.text), cors: res.headers['access-control-allow-origin'] };
        }),
      );
      expect(answers.filter((a) => a.status === 401 || a.status === 403)).toEqual([]);
      expect(answers.filter((a) => a.status >= 500)).toEqual([]);
      expect(answers.every((a) => a.cors === 'http://localhost:3000')).toBe(true);
    }
  });

  it('health needs no token; the OpenAPI document does, wherever it is served', async () => {
    expect((await httpRequest(h.port, { method: 'GET', path: '/api/health', headers: { host: host() } })).status).toBe(200);
    // Monitors probe with HEAD: health answers it (headers only); JSON routes have no HEAD twin.
    const head = await httpRequest(h.port, { method: 'HEAD', path: '/api/health', headers: { host: host() } });
    expect({ status: head.status, body: head.text, type: head.headers['content-type'] }).toEqual({ status: 200, body: '', type: 'application/json; charset=utf-8' });
    const agentsHead = await httpRequest(h.port, { method: 'HEAD', path: '/api/agents', headers: { host: host(), authorization: `Bearer ${h.token}` } });
    expect(agentsHead.status).toBe(404);
    for (const path of ['/api/openapi.json', '/api/docs/json', '/api/docs/yaml']) {
      const none = await httpRequest(h.port, { method: 'GET', path, headers: { host: host() } });
      expect({ path, status: none.status, code: codeOf(none.text) }).toEqual({ path, status: 401, code: 'AUTH_REQUIRED' });
      expect(none.text).not.toContain('/api/agents');
      const wrong = await httpRequest(h.port, { method: 'GET', path, headers: { host: host(), authorization: `Bearer ${h.token}x` } });
      expect({ path, status: wrong.status }).toEqual({ path, status: 401 });
      const ok = await httpRequest(h.port, { method: 'GET', path, headers: { host: host(), authorization: `Bearer ${h.token}` } });
      expect({ path, status: ok.status }).toEqual({ path, status: 200 });
      expect(ok.text).toContain('/api/agents');
    }
    const doc = await httpRequest(h.port, { method: 'GET', path: '/api/openapi.json', headers: { host: host(), authorization: `Bearer ${h.token}` } });
    expect((JSON.parse(doc.text) as { components: { securitySchemes: object } }).components.securitySchemes).toHaveProperty('bearer');
  });

  it('the docs page is static and public, holds no API data, and sends the token the user types as a header only', async () => {
    const page = await httpRequest(h.port, { method: 'GET', path: '/api/docs/', headers: { host: host() } });
    expect(page.status).toBe(200);
    expect(page.text).toContain('swagger-initializer.js');
    expect(page.text).not.toContain('/api/agents');
    const script = await httpRequest(h.port, { method: 'GET', path: '/api/docs/static/swagger-initializer.js', headers: { host: host() } });
    expect(script.status).toBe(200);
    expect(script.text).not.toContain(h.token);

    // Run the served initializer in a sandbox with the browser globals it uses; SwaggerUIBundle
    // only records the configuration it is given.
    let config:
      | { url: string; requestInterceptor(r: { url: string; headers: Record<string, string> }): { url: string; headers: Record<string, string> }; responseInterceptor(r: { status: number }): unknown }
      | undefined;
    const prompts: string[] = [];
    let typed = `  ${h.token}\n`;
    const SwaggerUIBundle = Object.assign(
      (c: typeof config) => {
        config = c;
        return { initOAuth() {} };
      },
      { presets: { apis: {} }, plugins: { DownloadUrl: {} } },
    );
    const sandbox: Record<string, unknown> = {
      SwaggerUIBundle,
      SwaggerUIStandalonePreset: {},
      location: { href: `${h.url}/api/docs/` },
      document: {
        createElement: () => ({
          set href(v: string) {
            this._href = new URL(v).href;
          },
          get href() {
            return this._href;
          },
          _href: '',
        }),
        // The logo swap looks for swagger's top bar.
        querySelector: () => ({ innerHTML: '', appendChild() {} }),
      },
      prompt: (message: string) => {
        prompts.push(message);
        return typed;
      },
    };
    sandbox['window'] = sandbox;
    const context = createContext(sandbox);
    runInContext(script.text, context);
    (sandbox['onload'] as () => void)();
    expect(config?.url).toBe(`${h.url}/api/docs/json`);

    // The spec request gets the token as a header; the URL is left alone; the user is asked once.
    const first = config!.requestInterceptor({ url: config!.url, headers: {} });
    expect(first).toEqual({ url: `${h.url}/api/docs/json`, headers: { Authorization: `Bearer ${h.token}` } });
    expect(config!.requestInterceptor({ url: `${h.url}/api/status`, headers: {} }).headers).toEqual({ Authorization: `Bearer ${h.token}` });
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain('api-token');
    // The header it builds is accepted by the server.
    const fetched = await fetch(first.url, { headers: first.headers });
    expect(fetched.status).toBe(200);
    // A header set through swagger's "Authorize" button is kept.
    expect(config!.requestInterceptor({ url: 'x', headers: { Authorization: 'Bearer other' } }).headers).toEqual({ Authorization: 'Bearer other' });
    // A 401 forgets the token, so the next request asks again.
    config!.responseInterceptor({ status: 401 });
    typed = 'second';
    expect(config!.requestInterceptor({ url: 'x', headers: {} }).headers).toEqual({ Authorization: 'Bearer second' });
    expect(prompts).toHaveLength(2);
  });

  it('CORS preflight: allowed origin gets the headers, others are refused', async () => {
    const ok = await httpRequest(h.port, {
      method: 'OPTIONS',
      path: '/api/message',
      headers: { host: `127.0.0.1:${h.port}`, origin: 'http://127.0.0.1:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('http://127.0.0.1:3000');
    const refused = await httpRequest(h.port, {
      method: 'OPTIONS',
      path: '/api/message',
      headers: { host: `127.0.0.1:${h.port}`, origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(refused.status).toBe(403);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });

  it("the daemon's own loopback origin is allowed (the /api/docs page's Try it out), another port's is not", async () => {
    const post = (origin: string) => httpRequest(h.port, { method: 'POST', path: '/api/auth/ticket', headers: { host: `127.0.0.1:${h.port}`, authorization: `Bearer ${h.token}`, origin } });
    for (const origin of [`http://127.0.0.1:${h.port}`, `http://localhost:${h.port}`, `http://[::1]:${h.port}`]) {
      const res = await post(origin);
      expect({ origin, status: res.status, cors: res.headers['access-control-allow-origin'] }).toEqual({ origin, status: 201, cors: origin });
    }
    for (const origin of [`http://127.0.0.1:${h.port + 1}`, `https://127.0.0.1:${h.port}`, `http://evil.example:${h.port}`]) {
      const res = await post(origin);
      expect({ origin, status: res.status, code: codeOf(res.text) }).toEqual({ origin, status: 403, code: 'ORIGIN_NOT_ALLOWED' });
    }
  });

  it('a malformed Authorization header is 401, not 500', async () => {
    for (const header of ['Basic abc', 'Bearer', `Bearer ${h.token} extra`, 'bearer']) {
      const res = await httpRequest(h.port, { method: 'GET', path: '/api/status', headers: { host: `127.0.0.1:${h.port}`, authorization: header } });
      expect(res.status).toBe(401);
    }
  });
});

describe('event-stream tickets', async () => {
  async function openEvents(query: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; code: string | undefined }> {
    const controller = new AbortController();
    const res = await fetch(`${h.url}/api/events${query}`, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
    const type = res.headers.get('content-type');
    const code = res.ok ? undefined : codeOf(await res.text());
    controller.abort();
    return { status: res.status, type, code };
  }

  it('a fresh ticket opens the stream without the token', async () => {
    const { ticket } = await h.client.createTicket();
    expect(await openEvents(`?ticket=${encodeURIComponent(ticket)}`)).toMatchObject({ status: 200, type: 'text/event-stream' });
  });

  it('expired, forged and raw-token tickets are refused', async () => {
    const expired = createTicket(h.token, Date.now() - 120_000).ticket;
    expect(await openEvents(`?ticket=${encodeURIComponent(expired)}`)).toMatchObject({ status: 401, code: 'TICKET_INVALID' });
    const forged = createTicket('another-token-entirely-0000').ticket;
    expect(await openEvents(`?ticket=${encodeURIComponent(forged)}`)).toMatchObject({ status: 401, code: 'TICKET_INVALID' });
    expect(await openEvents(`?ticket=${encodeURIComponent(h.token)}`)).toMatchObject({ status: 401, code: 'TICKET_INVALID' });
  });

  it('a ticket is no credential for any other route', async () => {
    const { ticket } = await h.client.createTicket();
    const res = await fetch(`${h.url}/api/status?ticket=${encodeURIComponent(ticket)}`);
    expect(res.status).toBe(401);
  });
});

describe('run-scoped tokens', () => {
  /** A run that completed, and one of another conversation that failed. */
  let own: { runId: string; conversationId: string };
  let other: { runId: string; conversationId: string };
  /** A run at work (coder's "slow" message waits until it is cancelled). */
  let running: { runId: string; conversationId: string };

  const runOf = async (message: string, agent: string, until: (status: string) => boolean) => {
    const sent = await h.client.sendMessage({ body: { message, agent } });
    const run = await waitFor(async () => (await h.client.getMessage({ params: { id: sent.messageId } })).run ?? undefined, 10_000, 'run');
    await waitFor(async () => until((await h.client.getRun({ params: { id: run.id } })).run.status) || undefined, 10_000, `the run of "${message}"`);
    return { runId: run.id, conversationId: sent.conversationId };
  };

  beforeAll(async () => {
    own = await runOf('first', 'reviewer', (s) => s === 'completed');
    other = await runOf('break it', 'reviewer', (s) => s === 'failed');
    running = await runOf('slow parent', 'coder', (s) => s === 'running');
  });
  /** The running run's call of a sub-agent that works until cancelled: answered once the conversation is cancelled. */
  let parentCall: Promise<unknown> | undefined;
  afterAll(async () => {
    await h.client.cancelConversation({ params: { id: running.conversationId } });
    await parentCall;
  });

  const withToken = (token: string) => (method: string, path: string, body?: string) =>
    httpRequest(h.port, {
      method,
      path,
      headers: { host: `127.0.0.1:${h.port}`, authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body } : {}),
    });
  const tokenOf = (run: { runId: string; conversationId: string }) => withToken(mintRunToken(h.token, run.runId, run.conversationId));

  it('reads its own conversation and runs, spawns children of itself and declares its own actions while its run runs', async () => {
    const call = tokenOf(running);
    expect((await call('GET', `/api/runs/${running.runId}`)).status).toBe(200);
    expect((await call('GET', `/api/conversations/${running.conversationId}`)).status).toBe(200);
    const spawn = await call('POST', `/api/runs/${running.runId}/spawn`, '{"agent":"reviewer","task":"help"}');
    expect({ status: spawn.status, body: JSON.parse(spawn.text) }).toMatchObject({ status: 200, body: { ok: true, text: 'reviewed' } });
    const declared = await call('POST', `/api/runs/${running.runId}/actions`, '{"type":"send_file","path":"notes.md"}');
    expect({ status: declared.status, accepted: (JSON.parse(declared.text) as { accepted?: boolean }).accepted }).toEqual({ status: 200, accepted: true });
  });

  it("a child run's token acts for the child only: it spawns under itself, never under its parent", async () => {
    parentCall = tokenOf(running)('POST', `/api/runs/${running.runId}/spawn`, '{"agent":"coder","task":"slow child"}');
    const childRun = await waitFor(
      async () => (await h.client.getRun({ params: { id: running.runId } })).children.find((c) => c.agentId === 'coder' && c.status === 'running'),
      10_000,
      'the child run to start',
    );
    const child = tokenOf({ runId: childRun.id, conversationId: running.conversationId });
    for (const [method, path, body] of [
      ['POST', `/api/runs/${running.runId}/spawn`, '{"agent":"reviewer","task":"as my parent"}'],
      ['POST', `/api/runs/${running.runId}/actions`, '{"type":"send_file","path":"notes.md"}'],
      ['POST', `/api/runs/${running.runId}/ask`, '{"question":"which one?"}'],
      ['POST', `/api/runs/${running.runId}/approval`, '{"tool":"Bash","input":{"command":"ls"}}'],
      ['PATCH', `/api/runs/${running.runId}/task`, '{"comment":"x"}'],
    ] as const) {
      const res = await child(method, path, body);
      expect({ path, status: res.status, code: codeOf(res.text) }).toEqual({ path, status: 403, code: 'SCOPE_FORBIDDEN' });
    }
    const own = await child('POST', `/api/runs/${childRun.id}/spawn`, '{"agent":"reviewer","task":"as myself"}');
    expect({ status: own.status, body: JSON.parse(own.text) }).toMatchObject({ status: 200, body: { ok: true, text: 'reviewed' } });
    // Reading stays the conversation's: the child may read its parent's run.
    expect((await child('GET', `/api/runs/${running.runId}`)).status).toBe(200);
  });

  it('stops working once its run ended (completed, failed, cancelled): 403 RUN_ENDED on every run route', async () => {
    // Through the orchestrator: the API's message burst is spent by now.
    const sent = await h.orchestrator.submit({ message: 'slow, then cancelled', agent: 'coder' });
    const cancelled = await waitFor(async () => (await h.client.getMessage({ params: { id: sent.messageId } })).run ?? undefined, 10_000, 'the run to start');
    await h.client.cancelRun({ params: { id: cancelled.id } });
    await waitFor(async () => (await h.client.getRun({ params: { id: cancelled.id } })).run.status === 'cancelled' || undefined, 10_000, 'the run to be cancelled');
    for (const ended of [own, other, { runId: cancelled.id, conversationId: sent.conversationId }]) {
      const call = tokenOf(ended);
      for (const [method, path, body] of [
        ['GET', `/api/runs/${ended.runId}`],
        ['GET', `/api/conversations/${ended.conversationId}`],
        ['POST', `/api/runs/${ended.runId}/spawn`, '{"agent":"reviewer","task":"after the end"}'],
        ['POST', `/api/runs/${ended.runId}/actions`, '{"type":"send_file","path":"notes.md"}'],
        ['POST', `/api/runs/${ended.runId}/ask`, '{"question":"still there?"}'],
        ['POST', `/api/runs/${ended.runId}/approval`, '{"tool":"Bash","input":{"command":"ls"}}'],
        ['GET', `/api/runs/${ended.runId}/task`],
        ['PATCH', `/api/runs/${ended.runId}/task`, '{"comment":"x"}'],
      ] as const) {
        const res = await call(method, path, body);
        expect({ path, status: res.status, code: codeOf(res.text) }).toEqual({ path, status: 403, code: 'RUN_ENDED' });
      }
    }
  });

  it('a permission request naming more paths than the rules judge (100) is 413 INPUT_TOO_LARGE, asked of nobody', async () => {
    const paths = Array.from({ length: 500 }, (_, i) => `src/${'deeper/'.repeat(5)}file${i}.ts`);
    const res = await tokenOf(running)('POST', `/api/runs/${running.runId}/approval`, JSON.stringify({ tool: 'Edit', input: { paths } }));
    expect({ status: res.status, code: codeOf(res.text) }).toEqual({ status: 413, code: 'INPUT_TOO_LARGE' });
    expect(JSON.parse(res.text).error.message).toContain('500 paths');
    expect((await h.client.listApprovals({ query: { conversationId: running.conversationId } })).length).toBe(0);
  });

  it('declares actions with a run token only, never with the API token', async () => {
    const withApiToken = await withToken(h.token)('POST', `/api/runs/${running.runId}/actions`, '{"type":"send_file","path":"notes.md"}');
    expect({ status: withApiToken.status, code: codeOf(withApiToken.text) }).toEqual({ status: 403, code: 'SCOPE_FORBIDDEN' });
  });

  it('is refused on another conversation', async () => {
    const call = tokenOf(running);
    for (const [method, path, body] of [
      ['GET', `/api/runs/${other.runId}`],
      ['GET', `/api/conversations/${other.conversationId}`],
      ['POST', `/api/runs/${other.runId}/spawn`, '{"agent":"coder","task":"x"}'],
      ['POST', `/api/runs/${other.runId}/actions`, '{"type":"send_file","path":"/etc/passwd"}'],
      ['POST', `/api/runs/${other.runId}/ask`, '{"question":"which one?"}'],
      ['GET', `/api/runs/${other.runId}/task`],
      ['PATCH', `/api/runs/${other.runId}/task`, '{"comment":"x"}'],
    ] as const) {
      const res = await call(method, path, body);
      expect({ path, status: res.status, code: codeOf(res.text) }).toEqual({ path, status: 403, code: 'SCOPE_FORBIDDEN' });
    }
  });

  it('is refused on every route not declared for run tokens', async () => {
    const call = tokenOf(running);
    const routes = protectedRoutes().filter(
      (r) =>
        ![
          'getRun',
          'spawnRun',
          'getConversation',
          'declareRunAction',
          'requestRunApproval',
          'askRunHuman',
          'getRunTask',
          'updateRunTask',
          'rememberForRun',
          'recallForRun',
          'forgetForRun',
          'getRunMemoryInjection',
          // A registered workflow that lists the run's agent (started or forecast), and the runs it started (workflows-registered.test.ts).
          'startWorkflow',
          'forecastWorkflow',
          'getWorkflowRun',
        ].includes(r.name),
    );
    const answers = await Promise.all(routes.map(async (r) => `${r.name} ${codeOf((await call(r.method, r.path)).text)}`));
    expect(answers.filter((a) => !a.endsWith(' SCOPE_FORBIDDEN'))).toEqual([]);
  });

  it('a forged or mismatched run token is 401', async () => {
    const forged = withToken(mintRunToken('not-the-server-token-000000', running.runId, running.conversationId));
    expect((await forged('GET', `/api/runs/${running.runId}`)).status).toBe(401);
    const mismatched = withToken(mintRunToken(h.token, running.runId, other.conversationId));
    expect((await mismatched('GET', `/api/runs/${running.runId}`)).status).toBe(401);
    const unknownRun = withToken(mintRunToken(h.token, 'run_unknown', running.conversationId));
    expect((await unknownRun('GET', `/api/runs/${running.runId}`)).status).toBe(401);
  });
});

describe('limits', () => {
  it('POST /api/message is rate limited (429 RATE_LIMITED, retry hint)', async () => {
    const statuses: number[] = [];
    let last = '';
    for (let i = 0; i < 5; i++) {
      const res = await httpRequest(h.port, {
        method: 'POST',
        path: '/api/message',
        headers: { host: `127.0.0.1:${h.port}`, authorization: `Bearer ${h.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: `burst ${i}`, agent: 'reviewer' }),
      });
      statuses.push(res.status);
      last = res.text;
    }
    // Three messages were already sent by the run-token tests within this minute.
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
    expect(statuses.every((s) => s === 202 || s === 429)).toBe(true);
    expect(codeOf(last)).toBe('RATE_LIMITED');
    expect(JSON.parse(last).error.message).toMatch(/Retry in \d+ s/);
    expect(JSON.parse(last).error.message).toContain('server.rate_limit');
  });

  it('pairing requests and approvals are rate limited', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await httpRequest(h.port, {
        method: 'POST',
        path: '/api/pairing/approve',
        headers: { host: `127.0.0.1:${h.port}`, authorization: `Bearer ${h.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ code: 'ZZZZZZZZ' }),
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([404, 404, 429, 429]);
  });

  it('bodies above the limit are 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await httpRequest(h.port, {
      method: 'PUT',
      path: '/api/agents/coder/system-prompt',
      headers: { host: `127.0.0.1:${h.port}`, authorization: `Bearer ${h.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'x'.repeat(100 * 1024) }),
    });
    expect({ status: res.status, code: codeOf(res.text) }).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
  });
});

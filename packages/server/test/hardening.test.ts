/**
 * Hardening against input that used to get through (issue 11): prototype keys as ids, NUL bytes
 * in paths, deeply nested bodies, bodies and query values the routes do not take; and 5xx
 * answers are logged. Everything goes through real HTTP against a real server, orchestrator and
 * settings file.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiContract, type RouteDef } from '@tinyagi/client/contract';
import { waitFor } from '@tinyagi/test-kit';
import { httpRequest, raw, startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;
beforeAll(async () => {
  h = await startHarness({
    limits: { pairingPerMinute: 100_000 },
    daemon: { restart: async () => {}, channels: { status: () => [], start: () => {}, stop: () => {}, restart: () => {} } },
  });
});
afterAll(async () => {
  await h?.close();
});

function codeOf(body: unknown): string | undefined {
  return (body as { error?: { code?: string } } | null)?.error?.code;
}

const PROTO_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'];

/** PUTs that create the entity their path names: an own entry named `constructor` is then legitimate. */
const CREATING = new Set(['putAgent', 'putTeam', 'putCustomProvider']);

describe('prototype keys as ids', () => {
  it('every route addressed by __proto__, constructor, toString, hasOwnProperty … answers 4xx, never 2xx or 5xx', async () => {
    const routes = (Object.entries(apiContract) as Array<[string, RouteDef]>).filter(([name, def]) => def.path.includes('/:') && !CREATING.has(name));
    expect(routes.length).toBeGreaterThan(30);
    const unexpected: string[] = [];
    for (const [name, def] of routes) {
      for (const key of PROTO_KEYS) {
        const path = def.path.replace(/:[A-Za-z]+/g, encodeURIComponent(key));
        const res = await raw(h, def.method, path, def.method === 'GET' || def.method === 'DELETE' || def.body === undefined ? {} : { body: '{}' });
        if (res.status < 400 || res.status >= 500) unexpected.push(`${name} ${def.method} ${path} -> ${res.status} ${res.text.slice(0, 120)}`);
      }
    }
    expect(unexpected).toEqual([]);
  });

  it('a prototype key as the agent or team of a message, schedule or task is refused and nothing is queued or stored', async () => {
    const before = (await h.client.queueStatus()).pending;
    const refused: string[] = [];
    for (const key of PROTO_KEYS) {
      const bodies: Array<[string, object]> = [
        ['/api/message', { message: 'hi', agent: key }],
        ['/api/message', { message: 'hi', team: key }],
        ['/api/schedules', { message: 'hi', agent: key, cron: '0 9 * * *' }],
        ['/api/schedules', { message: 'hi', team: key, cron: '0 9 * * *' }],
        ['/api/tasks', { title: 't', assigneeAgent: key, status: 'in_progress' }],
        ['/api/tasks', { title: 't', assigneeTeam: key, status: 'in_progress' }],
      ];
      for (const [path, body] of bodies) {
        const res = await raw(h, 'POST', path, { body: JSON.stringify(body) });
        if (res.status < 400 || res.status >= 500) refused.push(`${path} ${JSON.stringify(body)} -> ${res.status}`);
      }
    }
    expect(refused).toEqual([]);
    expect((await h.client.queueStatus()).pending).toBe(before);
    expect(await h.client.listSchedules()).toEqual([]);
    expect(await h.client.listTasks()).toEqual([]);
  });

  it('an agent really named "constructor" is an own entry like any other', async () => {
    await h.client.putAgent({ params: { id: 'constructor' }, body: { name: 'Builder', provider: 'mock' } });
    expect(await h.client.getAgent({ params: { id: 'constructor' } })).toMatchObject({ id: 'constructor', name: 'Builder' });
    const sent = await h.client.sendMessage({ body: { message: 'hello', agent: 'constructor' } });
    await waitFor(async () => (await h.client.getMessage({ params: { id: sent.messageId } })).message.status === 'completed', 20_000, 'the message to constructor');
    await h.client.deleteAgent({ params: { id: 'constructor' }, query: { workspace: 'delete' } });
    expect((await raw(h, 'GET', '/api/agents/constructor')).status).toBe(404);
  });
});

describe('NUL bytes in paths and partial writes', () => {
  const settingsText = (): string => readFileSync(h.settingsFile, 'utf8');

  it('a NUL byte in working_directory, prompt_file or workspace.path is a 400 and settings.json is unchanged', async () => {
    const before = settingsText();
    const attempts: Array<[string, string, string]> = [
      ['PUT', '/api/agents/nulagent', JSON.stringify({ provider: 'mock', working_directory: 'a\u0000b' })],
      ['PUT', '/api/agents/nulagent', JSON.stringify({ provider: 'mock', prompt_file: 'p\u0000.md' })],
      ['PATCH', '/api/agents/coder', JSON.stringify({ working_directory: 'a\u0000b' })],
      ['PATCH', '/api/agents/coder', JSON.stringify({ prompt_file: '/tmp/x\u0000' })],
      ['PATCH', '/api/settings', JSON.stringify({ workspace: { path: `${h.home}/w\u0000s` } })],
      ['PATCH', '/api/settings', JSON.stringify({ agents: { coder: { working_directory: 'x\u0000' } } })],
    ];
    for (const [method, path, body] of attempts) {
      const res = await raw(h, method, path, { body });
      expect({ method, path, status: res.status, nul: /NUL byte/.test(res.text) }).toEqual({ method, path, status: 400, nul: true });
    }
    expect(settingsText()).toBe(before);
    // The agent still works: no PUT of it is broken afterwards.
    expect((await raw(h, 'PUT', '/api/agents/coder', { body: JSON.stringify({ name: 'Coder' }) })).status).toBe(200);
  });

  it('a PUT whose workspace cannot be created is a 4xx and leaves settings.json as it was', async () => {
    const before = settingsText();
    // A directory below a regular file cannot be created (ENOTDIR).
    const res = await raw(h, 'PUT', '/api/agents/badplace', { body: JSON.stringify({ provider: 'mock', working_directory: `${h.settingsFile}/ws` }) });
    expect({ status: res.status, code: codeOf(res.body) }).toEqual({ status: 400, code: 'INVALID_PATH' });
    expect(settingsText()).toBe(before);
    expect((await raw(h, 'GET', '/api/agents/badplace')).status).toBe(404);
  });

  it('a configuration error at invocation is permanent: the message goes dead after one attempt', async () => {
    await h.client.putAgent({ params: { id: 'misconfigured' }, body: { provider: 'mock', prompt_file: 'no-such-prompt.md', max_attempts: 5 } });
    const sent = await h.client.sendMessage({ body: { message: 'hello', agent: 'misconfigured' } });
    const message = await waitFor(
      async () => {
        const m = (await h.client.getMessage({ params: { id: sent.messageId } })).message;
        return m.status === 'dead' ? m : undefined;
      },
      20_000,
      'the message to go dead',
    );
    expect(message.attempts).toBe(1);
    expect(message.lastError).toMatch(/prompt_file "no-such-prompt.md" does not exist/);
  });
});

describe('deeply nested bodies', () => {
  const nested = (levels: number): unknown => JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);

  it('PATCH /api/settings with a 1,500- or 2,000-deep value is 400 JSON_TOO_DEEP and settings.json is unchanged', async () => {
    const before = readFileSync(h.settingsFile, 'utf8');
    for (const levels of [1500, 2000, 64]) {
      const res = await raw(h, 'PATCH', '/api/settings', { body: JSON.stringify({ extra: nested(levels) }) });
      expect({ levels, status: res.status, code: codeOf(res.body) }).toEqual({ levels, status: 400, code: 'JSON_TOO_DEEP' });
    }
    expect(readFileSync(h.settingsFile, 'utf8')).toBe(before);
  });

  it('every JSON body is bounded: arrays too, on any route; a body within the bound still works', async () => {
    const deepArray = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    for (const [method, path] of [
      ['POST', '/api/message'],
      ['PUT', '/api/agents/coder'],
      ['POST', '/api/tasks'],
    ]) {
      const res = await raw(h, method!, path!, { body: deepArray });
      expect({ path, status: res.status, code: codeOf(res.body) }).toEqual({ path, status: 400, code: 'JSON_TOO_DEEP' });
    }
    const ok = await raw(h, 'PATCH', '/api/settings', { body: JSON.stringify({ extra: nested(20) }) });
    expect(ok.status).toBe(200);
    await raw(h, 'PATCH', '/api/settings', { body: JSON.stringify({ extra: null }) });
  });
});

describe('strictness', () => {
  const bodiless = (Object.entries(apiContract) as Array<[string, RouteDef]>).filter(([, def]) => def.body === undefined && def.method !== 'GET' && def.auth !== 'none');

  it('routes without a body refuse a body (400) and a non-JSON content type (415)', async () => {
    expect(bodiless.map(([name]) => name)).toEqual(expect.arrayContaining(['restartDaemon', 'createTicket', 'resetAgent', 'cancelMessage']));
    const wrong: string[] = [];
    for (const [name, def] of bodiless) {
      const path = def.path.replace(/:[A-Za-z]+/g, 'coder');
      for (const [headers, body, status] of [
        [{ 'content-type': 'application/json' }, '{}', 400],
        [{ 'content-type': 'application/json' }, '{"force":true}', 400],
        [{ 'content-type': 'text/plain' }, 'hello', 400],
        [{ 'content-type': 'text/plain' }, undefined, 415],
      ] as Array<[Record<string, string>, string | undefined, number]>) {
        const res = await httpRequest(h.port, {
          method: def.method,
          path,
          headers: { host: `127.0.0.1:${h.port}`, authorization: `Bearer ${h.token}`, ...headers },
          ...(body !== undefined ? { body } : {}),
        });
        if (res.status !== status) wrong.push(`${name} ${def.method} ${path} ${headers['content-type']} ${JSON.stringify(body)} -> ${res.status} (want ${status}) ${res.text.slice(0, 100)}`);
      }
    }
    expect(wrong).toEqual([]);
    // Without a body they still work.
    expect((await raw(h, 'POST', '/api/auth/ticket')).status).toBe(201);
    expect((await raw(h, 'POST', '/api/agents/coder/reset', { headers: { 'content-type': 'application/json' } })).status).toBe(200);
  });

  it('integer query and path values must be written in digits: 0x1F, +1, 1e3, blanks and 1.5 are 400', async () => {
    for (const value of ['0x1F', '+1', '1e3', ' ', '', '1.5', '-1', '0b1', ' 7', 'Infinity']) {
      for (const [method, path] of [
        ['GET', `/api/agents/coder/messages?limit=${encodeURIComponent(value)}`],
        ['GET', `/api/usage?since=${encodeURIComponent(value)}`],
        ['GET', `/api/logs?lines=${encodeURIComponent(value)}`],
        ['DELETE', `/api/comments/${encodeURIComponent(value) || '%20'}`],
      ] as const) {
        const res = await raw(h, method, path);
        expect({ path, status: res.status, code: codeOf(res.body) }).toEqual({ path, status: 400, code: 'VALIDATION_FAILED' });
      }
    }
    expect((await raw(h, 'GET', '/api/agents/coder/messages?limit=31')).status).toBe(200);
    expect((await h.client.agentMessages({ params: { id: 'coder' }, query: { limit: 5, sinceId: 0 } })).messages).toEqual([]);
  });

  it('GET /api/events refuses unknown query parameters', async () => {
    const res = await httpRequest(h.port, { method: 'GET', path: '/api/events?agnet=coder', headers: { host: `127.0.0.1:${h.port}`, authorization: `Bearer ${h.token}` } });
    expect({ status: res.status, code: codeOf(JSON.parse(res.text)) }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(res.text).toContain('agnet');
  });
});

describe('5xx answers are logged', () => {
  it('a broken settings.json: reads keep the last good settings; an edit is refused, naming the file, and leaves it as it is', async () => {
    const own = await startHarness({ log: { warn: () => {}, error: () => {} } });
    try {
      const broken = '{ "agents": { "coder": ';
      writeFileSync(own.settingsFile, broken);
      const read = await raw(own, 'GET', '/api/agents');
      expect(read.status).toBe(200);
      expect((read.body as Array<{ id: string }>).map((a) => a.id)).toContain('coder');
      const edit = await raw(own, 'PATCH', '/api/settings', { body: JSON.stringify({ queue: { concurrency: 2 } }) });
      expect(edit.status).toBe(500);
      expect(edit.body).toMatchObject({ error: { code: 'CONFIG_PARSE_FAILED' } });
      expect(readFileSync(own.settingsFile, 'utf8')).toBe(broken);
    } finally {
      await own.close();
    }
  });

  it('a 5xx names its request id in the answer, and the log has that id with the stack; the answer has no stack', async () => {
    const lines: string[] = [];
    const own = await startHarness({ log: { warn: (m) => lines.push(`WARN ${m}`), error: (m) => lines.push(`ERROR ${m}`) } });
    try {
      // settings.json replaced by a directory: an edit, which reads it under the lock, fails
      // (CONFIG_IO, 500) — a fault on the server's side. (A read keeps the last good settings.)
      rmSync(own.settingsFile);
      mkdirSync(own.settingsFile);
      const res = await raw(own, 'PATCH', '/api/settings?', { body: '{}' });
      expect(res.status).toBe(500);
      const id = res.headers.get('x-request-id');
      expect(id).toMatch(/^[0-9a-f]{12}$/);
      expect(res.text).not.toMatch(/\n\s+at /);
      const line = lines.find((l) => l.includes(id!));
      expect(line).toMatch(new RegExp(`^ERROR request ${id} PATCH /api/settings failed with CONFIG_IO: .*EISDIR`, 's'));
      expect(line).toMatch(/\n\s+at /);
    } finally {
      rmSync(own.settingsFile, { recursive: true, force: true });
      await own.close();
    }
  });
});

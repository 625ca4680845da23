/**
 * Hardening against input that used to get through (issue 11): prototype keys as ids, NUL bytes
 * in paths, deeply nested bodies, bodies and query values the routes do not take. Everything
 * goes through real HTTP against a real server, orchestrator and settings file.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiContract, type RouteDef } from '../src/index.ts';
import { httpRequest, raw, startHarness, waitFor, type ServerHarness } from './harness.ts';

let h: ServerHarness;
beforeAll(async () => {
  h = await startHarness({
    limits: { messagesPerMinute: 100_000, pairingPerMinute: 100_000 },
    services: { restart: async () => {}, channels: { status: () => [], start: () => {}, stop: () => {}, restart: () => {} } },
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

  it('a message to a prototype key as agent or team is refused and nothing is queued', async () => {
    const before = (await h.client.queueStatus()).pending;
    for (const key of PROTO_KEYS) {
      for (const field of ['agent', 'team'] as const) {
        const res = await raw(h, 'POST', '/api/message', { body: JSON.stringify({ message: 'hi', [field]: key }) });
        expect({ key, field, status: res.status >= 400 && res.status < 500 }).toEqual({ key, field, status: true });
      }
    }
    expect((await h.client.queueStatus()).pending).toBe(before);
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

/**
 * An `egress` approval through the API (docs/sandbox.md#egress, docs/approvals.md): the agent's
 * sandboxed process connects through core's real EgressProxy to a host off its list; the request
 * is listed (`GET /api/approvals?kind=egress`) with its host and port, answered with
 * `POST /api/approvals/:id/decision`. `allow_always` lets the connection through and adds the host
 * to the agent's `egress_allow` in settings.json through the settings writer, so the next
 * connection asks nobody; `allow_session` is refused (400); `deny` refuses the connection with
 * the reason.
 */
import { readFileSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Settings } from '@tinyagi/core';
import { EgressProxy } from '@tinyagi/core/internal';
import { orchestratorFacets } from '@tinyagi/teams';
import { waitFor } from '@tinyagi/test-kit';
import { baseSettings, eventsOf, raw, startHarness, type ServerHarness } from './harness.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function connectVia(socketPath: string, target: string): Promise<{ status: number; body: string; socket?: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'CONNECT', path: target });
    req.on('connect', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      if (res.statusCode === 200) {
        socket.destroy();
        return resolve({ status: 200, body: '' });
      }
      let body = head.toString();
      socket.on('data', (d) => (body += d.toString()));
      socket.on('close', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function withFetchingCoder(home: string): Settings {
  const settings = baseSettings(home);
  const coder = settings.agents!['coder']!;
  coder.mock = { ...(coder.mock as Record<string, unknown>), replies: [{ match: 'fetch', progress: [{ status: 'fetching' }], gate: 'never', reply: 'fetched' }] };
  return settings;
}

async function setUp(): Promise<{ h: ServerHarness; port: number; path: string }> {
  const h = await startHarness({ settings: withFetchingCoder });
  cleanups.push(() => h.close());
  const echo = createServer((s) => s.on('data', (d) => s.write(d)));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => echo.close(r)));
  const facets = orchestratorFacets(h.orchestrator);
  const proxy = new EgressProxy({ dir: join(h.home, 'run', 'sandbox'), getSettings: h.settings, resolve: async () => ['127.0.0.1'], ask: (ask) => facets.approvals.askEgress(ask) });
  cleanups.push(() => proxy.stop());
  const path = await proxy.open('coder');
  const sent = await h.client.sendMessage({ body: { message: 'fetch the package', agent: 'coder', sender: 'Ada', senderId: 'ada' } });
  await waitFor(async () => (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['run.progress'] }))[0], 10_000, 'the turn to start');
  return { h, port: (echo.address() as AddressInfo).port, path };
}

it('the API lists an egress request and allow_always lets it through and adds the host to egress_allow', async () => {
  const { h, port, path } = await setUp();
  const tunnel = connectVia(path, `pkg.example.test:${port}`);
  const [listed] = await waitFor(async () => {
    const list = await h.client.listApprovals({ query: { status: 'pending', kind: 'egress' } });
    return list.length > 0 ? list : undefined;
  });
  expect(listed).toMatchObject({ kind: 'egress', agentId: 'coder', tool: 'egress', input: { host: 'pkg.example.test', port }, status: 'pending' });
  expect(listed!.summary).toContain(`Connect to pkg.example.test:${port}`);
  expect(await h.client.getApproval({ params: { id: listed!.id } })).toMatchObject({ kind: 'egress' });

  const session = await raw(h, 'POST', `/api/approvals/${listed!.id}/decision`, { body: '{"decision":"allow_session"}' });
  expect(session.status).toBe(400);
  expect(session.body).toMatchObject({ error: { code: 'APPROVAL_DECISION_INVALID' } });

  const decided = await h.client.decideApproval({ params: { id: listed!.id }, body: { decision: 'allow_always', by: 'cli' } });
  expect(decided).toMatchObject({ status: 'allowed', decision: 'allow_always', decidedBy: 'cli' });
  expect((await tunnel).status).toBe(200);
  const onDisk = JSON.parse(readFileSync(h.settingsFile, 'utf8')) as Settings;
  expect(onDisk.agents!['coder']!.egress_allow).toEqual(['pkg.example.test']);
  await waitFor(() => h.settings().agents?.['coder']?.egress_allow?.includes('pkg.example.test'));
  // On the list now: connected without a request.
  expect((await connectVia(path, `pkg.example.test:${port}`)).status).toBe(200);
  expect(await h.client.listApprovals({ query: { kind: 'egress' } })).toHaveLength(1);
});

it('deny through the API refuses the connection with who denied and the reason', async () => {
  const { h, port, path } = await setUp();
  const tunnel = connectVia(path, `evil.example.test:${port}`);
  const [listed] = await waitFor(async () => {
    const list = await h.client.listApprovals({ query: { status: 'pending', kind: 'egress' } });
    return list.length > 0 ? list : undefined;
  });
  await h.client.decideApproval({ params: { id: listed!.id }, body: { decision: 'deny', reason: 'not for this task', by: 'cli' } });
  expect(await tunnel).toMatchObject({ status: 403, body: expect.stringContaining('denied by cli: not for this task') });
  expect((JSON.parse(readFileSync(h.settingsFile, 'utf8')) as Settings).agents!['coder']!.egress_allow).toBeUndefined();
});

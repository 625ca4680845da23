/**
 * A sandboxed agent's connection off its egress list is an approval of kind `egress`
 * (docs/sandbox.md#egress): core's real EgressProxy asks the orchestrator's Approvals service,
 * which puts the request on the agent's run in progress (its conversation, so every surface that
 * follows the conversation sees it) and waits on the real desk. Allow once opens the tunnel to a
 * real TCP server; deny and expiry refuse with a 403 saying who and why; a cancelled run cancels
 * its request; with no run in progress nobody is asked. (allow_always, which writes the host into
 * the agent's settings, is the answer's route: the server's egress test.)
 */
import { type IncomingMessage, request } from 'node:http';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { SettingsSchema, TinyError } from '@tinyagi/core';
import { EgressProxy } from '@tinyagi/core/internal';
import { tempDir, waitFor } from '@tinyagi/test-kit';
import { closeAll, eventsOf, gates, harness } from './helpers.ts';

afterEach(closeAll);

/** CONNECT through the agent's socket: the status, a refusal's body, the tunnel when it opened. */
function connectVia(socketPath: string, target: string): Promise<{ status: number; body: string; socket?: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'CONNECT', path: target });
    req.on('connect', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      if (res.statusCode === 200) return resolve({ status: 200, body: '', socket });
      let body = head.toString();
      socket.on('data', (d) => (body += d.toString()));
      socket.on('close', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function setUp(expiresS = 60, onExpiry: 'allow' | 'deny' = 'deny', more: { coderAllows?: string[]; boss?: Record<string, unknown> } = {}) {
  const gate = gates();
  const echo = createServer((s) => s.on('data', (d) => s.write(`echo:${d.toString()}`)));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const port = (echo.address() as AddressInfo).port;
  const h = await harness(
    SettingsSchema.parse({
      agents: {
        coder: {
          provider: 'mock',
          permissions: { expires_s: expiresS, on_expiry: onExpiry },
          mock: { gate_dir: gate.dir, replies: [{ match: 'fetch', progress: [{ status: 'fetching' }], gate: 'done', reply: 'fetched' }] },
          ...(more.coderAllows ? { egress_allow: more.coderAllows } : {}),
        },
        ...(more.boss ? { boss: more.boss } : {}),
      },
      ...(more.coderAllows ? { sandbox: { egress_defaults: [] } } : {}),
      ...(more.boss ? { teams: { dev: { name: 'dev', agents: ['boss', 'coder'], leader_agent: 'boss' } } } : {}),
    }),
  );
  const proxy = new EgressProxy({
    dir: join(tempDir('tinyagi-egress-teams-'), 'sandbox'),
    getSettings: () => h.settings,
    resolve: async () => ['127.0.0.1'],
    ask: (ask) => h.facets.approvals.askEgress(ask),
    confiners: (agentId) => h.facets.approvals.confinersOf(agentId),
  });
  const path = await proxy.open('coder');
  const close = async (): Promise<void> => {
    await proxy.stop();
    await new Promise((r) => echo.close(r));
  };
  return { h, gate, port, path, close };
}

/** A message to the agent whose run stays in progress (at its gate) until the test opens it. */
async function runInProgress(h: Awaited<ReturnType<typeof harness>>) {
  const sent = await h.orchestrator.submit({ message: '@coder fetch the package', senderId: 'u1' });
  // Its first progress comes from inside the turn: the run can ask from then on.
  await waitFor(async () => (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['run.progress'] }))[0], 10_000, 'the turn to start');
  const run = h.orchestrator.status().running.find((r) => r.agentId === 'coder')!;
  return { sent, run };
}

it("allow once: the request is on the agent's run and conversation, and the connection goes through", async () => {
  const { h, gate, port, path, close } = await setUp();
  const { sent, run } = await runInProgress(h);
  const tunnel = connectVia(path, `pkg.example.test:${port}`);
  const row = await waitFor(async () => (await h.stores.approvals.list({ status: 'pending', kind: 'egress' }))[0], 10_000, 'the egress request');
  expect(row).toMatchObject({
    kind: 'egress',
    agentId: 'coder',
    runId: run.runId,
    conversationId: sent.conversationId,
    tool: 'egress',
    input: { host: 'pkg.example.test', port },
    summary: `Connect to pkg.example.test:${port} (resolves to 127.0.0.1 (a loopback address: this machine))`,
  });
  // A connection has no session: that answer is refused, the request still waits.
  await expect(h.facets.approvals.decide(row.id, 'allow_session', 'cli')).rejects.toThrow(TinyError);
  await expect(h.facets.approvals.decide(row.id, 'answer', 'cli', undefined, 'x')).rejects.toMatchObject({ code: 'APPROVAL_DECISION_INVALID' });
  await h.facets.approvals.decide(row.id, 'allow_once', 'cli');
  const open = await tunnel;
  expect(open.status).toBe(200);
  const reply = new Promise<string>((r) => open.socket!.once('data', (d) => r(d.toString())));
  open.socket!.write('ping\n');
  expect(await reply).toBe('echo:ping\n');
  open.socket!.destroy();
  const types = (await eventsOf(h.stores, { conversationId: sent.conversationId, types: ['approval.requested', 'approval.decided'] })).map((e) => e.type);
  expect(types).toEqual(['approval.requested', 'approval.decided']);
  gate.open('done');
  await close();
});

it('deny: a 403 saying who denied and why; expiry: refused once the request expires, whatever on_expiry says', async () => {
  const { h, port, path, close, gate } = await setUp(1, 'allow');
  await runInProgress(h);
  const denied = connectVia(path, `deny.example.test:${port}`);
  const row = await waitFor(async () => (await h.stores.approvals.list({ status: 'pending', kind: 'egress' }))[0], 10_000, 'the egress request');
  await h.facets.approvals.decide(row.id, 'deny', 'tinyoffice', 'use the mirror');
  expect(await denied).toMatchObject({
    status: 403,
    body: `TinyAGI egress proxy: deny.example.test:${port} is not on @coder's egress list (agents.coder.egress_allow); denied by tinyoffice: use the mirror.\n`,
  });
  const started = Date.now();
  const expired = await connectVia(path, `slow.example.test:${port}`);
  expect(expired.status).toBe(403);
  expect(expired.body).toContain('denied: nobody answered within 1 s');
  expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  expect((await h.stores.approvals.list({ kind: 'egress', status: 'expired' })).map((r) => r.input)).toEqual([{ host: 'slow.example.test', port }]);
  gate.open('done');
  await close();
});

it('a run cancelled while it waits cancels its request; with no run in progress nobody is asked', async () => {
  const { h, port, path, close } = await setUp();
  const { run } = await runInProgress(h);
  const waiting = connectVia(path, `cancel.example.test:${port}`);
  await waitFor(async () => (await h.stores.approvals.list({ status: 'pending', kind: 'egress' }))[0], 10_000, 'the egress request');
  await h.facets.conversations.cancelRun(run.runId, 'user pressed stop');
  expect(await waiting).toMatchObject({ status: 403, body: expect.stringContaining('denied: the run was cancelled') });
  expect(await h.stores.approvals.list({ kind: 'egress' })).toMatchObject([{ status: 'cancelled' }]);
  await waitFor(() => h.orchestrator.status().running.length === 0, 10_000, 'the run to end');
  const nobody = await connectVia(path, `idle.example.test:${port}`);
  expect(nobody).toMatchObject({ status: 403, body: expect.stringContaining('denied: @coder has no run in progress on this node to ask a person for') });
  expect(await h.stores.approvals.list({ kind: 'egress' })).toHaveLength(1);
  await close();
});

it("a sandboxed caller's list holds its callee's connections too: a host only the callee lists asks a person, who is told why", async () => {
  const boss = { provider: 'mock', sandbox: 'on', egress_allow: [], mock: { reply: '[@coder: fetch the package]' } };
  const { h, gate, port, path, close } = await setUp(60, 'deny', { coderAllows: ['pkg.example.test'], boss });
  // Unconfined, @coder's own list lets it through with nobody asked.
  const own = await connectVia(path, `pkg.example.test:${port}`);
  expect(own.status).toBe(200);
  own.socket!.destroy();
  expect(h.facets.approvals.confinersOf('coder')).toEqual([]);
  // Handed the work by the sandboxed @boss (its team's leader), its run is confined by @boss, whose list is empty.
  await h.orchestrator.submit({ message: '@dev get the package', senderId: 'u1' });
  await waitFor(() => h.facets.approvals.confinersOf('coder').includes('boss'), 10_000, "@coder's confined run");
  const held = connectVia(path, `pkg.example.test:${port}`);
  const row = await waitFor(async () => (await h.stores.approvals.list({ status: 'pending', kind: 'egress' }))[0], 10_000, 'the egress request');
  expect(row.summary).toContain('@coder works for @boss, whose egress list must hold it too');
  await h.facets.approvals.decide(row.id, 'deny', 'cli', 'not for the boss');
  expect(await held).toMatchObject({ status: 403 });
  gate.open('done');
  await close();
});

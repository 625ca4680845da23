/**
 * Egress by allowlist on the built daemon (docs/sandbox.md#egress): an agent with `sandbox: "on"`
 * gets its egress proxy socket (`<home>/run/sandbox/<agent>/egress.sock`, directory 0700) when
 * the daemon starts; while its run is in progress, a connection through it to a host off its list
 * (`localhost`, the system resolver's answer, to a TCP server of the test) waits as an approval of
 * kind `egress`. `tinyagi send --wait` without a terminal says how to answer it, `tinyagi
 * approvals` lists it, `tinyagi approve` lets the connection through, `tinyagi approve --always`
 * adds the host to the agent's `egress_allow` (the next connection asks nobody), `--session` is
 * refused, and `tinyagi deny` refuses the connection with the reason.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import type { Approval } from '@tinyagi/client';
import { createDaemon, exitOf, spawnCli, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';

let daemon: TestDaemon;
let echoPort = 0;
const echo = createServer((s) => {
  s.on('data', (d) => s.write(`echo:${d.toString()}`));
  s.on('error', () => {});
});

beforeAll(async () => {
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as AddressInfo).port;
  daemon = await createDaemon({
    prefix: 'tinyagi-egress-',
    settings: ({ root, home }) => ({
      workspace: { path: `${root}/workspace` },
      models: { provider: 'mock' },
      channels: { enabled: [] },
      agents: {
        coder: {
          provider: 'mock',
          sandbox: 'on',
          mock: { gate_dir: join(home, 'gates'), replies: [{ match: 'fetch', progress: [{ status: 'fetching the package' }], gate: 'done', reply: 'fetched' }] },
        },
      },
    }),
  });
  await daemon.start();
});

afterAll(async () => {
  await daemon?.cleanup();
  await new Promise((r) => echo.close(r));
});

/** CONNECT through the agent's socket: the status, a refusal's body, the tunnel when it opened. */
function connectVia(target: string): Promise<{ status: number; body: string; socket?: Socket }> {
  const socketPath = join(daemon.home, 'run', 'sandbox', 'coder', 'egress.sock');
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

async function echoes(socket: Socket): Promise<string> {
  const reply = new Promise<string>((r) => socket.once('data', (d) => r(d.toString())));
  socket.write('ping\n');
  const text = await reply;
  socket.destroy();
  return text;
}

async function nextPending(seen: Set<string>): Promise<Approval> {
  const found = await waitFor(async () => (await daemon.api.listApprovals({ query: { status: 'pending', kind: 'egress' } })).find((a) => !seen.has(a.id)), 30_000, 'an egress request');
  seen.add(found.id);
  return found;
}

it('a connection off the list waits as an egress request, answered from the CLI', async () => {
  const dir = join(daemon.home, 'run', 'sandbox', 'coder');
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  expect(statSync(join(dir, 'egress.sock')).isSocket()).toBe(true);

  // The run stays in progress at its gate; its progress line says the turn started.
  const send = spawnCli(['send', '--agent', 'coder', '--wait', '--timeout', '120', 'fetch the package'], daemon.env, { build: 'built' });
  await waitFor(() => send.output().includes('fetching the package'), 30_000, 'the turn to start');
  const seen = new Set<string>();
  const target = `localhost:${echoPort}`;

  const first = connectVia(target);
  const once = await nextPending(seen);
  expect(once).toMatchObject({ agentId: 'coder', tool: 'egress', input: { host: 'localhost', port: echoPort } });
  const listed = await daemon.cliOk(['approvals']);
  expect(listed).toContain(once.id);
  expect(listed).toContain(`Connect to localhost:${echoPort}`);
  expect(listed).toContain('A connection ("Connect to …") is allowed once or --always (its host joins the agent\'s egress_allow); it has no session.');
  expect(await daemon.cliOk(['approve', once.id])).toContain(`Allowed once by cli: @coder Connect to localhost:${echoPort}`);
  const opened = await first;
  expect(opened.status).toBe(200);
  expect(await echoes(opened.socket!)).toBe('echo:ping\n');

  // Once was this connection only: the next asks again; --session is refused, --always adds the host.
  const second = connectVia(target);
  const always = await nextPending(seen);
  const session = await daemon.cli(['approve', always.id, '--session']);
  expect(session.code).not.toBe(0);
  expect(session.stderr).toContain('a connection has no session to allow it for');
  expect(await daemon.cliOk(['approve', always.id, '--always'])).toMatch(/^Allowed always by cli: @coder Connect to localhost:\d+ .*\(the host was added to the agent's egress list\)\.$/m);
  expect((await second).status).toBe(200);
  const settings = JSON.parse(readFileSync(join(daemon.home, 'settings.json'), 'utf8')) as { agents: { coder: { egress_allow?: string[] } } };
  expect(settings.agents.coder.egress_allow).toEqual(['localhost']);
  const third = await connectVia(target);
  expect(third.status).toBe(200);
  third.socket!.destroy();

  // Deny: the connection is refused with who denied and why.
  const refused = connectVia(`127.0.0.2:${echoPort}`);
  const denied = await nextPending(seen);
  await daemon.cliOk(['deny', denied.id, '--reason', 'not needed for this task']);
  expect(await refused).toMatchObject({ status: 403, body: expect.stringContaining('denied by cli: not needed for this task') });
  expect(await daemon.api.listApprovals({ query: { kind: 'egress' } })).toHaveLength(3);

  // `send --wait` without a terminal said how to answer each request.
  writeGate('done');
  expect((await exitOf(send.child)).code, send.output()).toBe(0);
  expect(send.output()).toContain(`answer with \`tinyagi approve ${once.id}\` (--always) or \`tinyagi deny ${once.id} --reason "…"\``);
}, 90_000);

/** Opens the mock's gate (a file in its gate_dir): the run completes. */
function writeGate(name: string): void {
  mkdirSync(join(daemon.home, 'gates'), { recursive: true });
  writeFileSync(join(daemon.home, 'gates', name), '');
}

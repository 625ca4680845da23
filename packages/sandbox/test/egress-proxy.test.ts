/**
 * The egress proxy (core's sandbox/egress-proxy.ts, docs/sandbox.md#egress) with real sockets: a
 * client speaks HTTP to the agent's Unix socket (CONNECT, and plain requests in absolute form),
 * the proxy connects to real TCP servers on 127.0.0.1. Names reach those servers through the
 * proxy's `resolve` option (the test's own table, not a mock of our code): the proxy resolves
 * every name itself and connects to the address it was given, so a name mapped to 127.0.0.1 is a
 * name on the loopback interface. The person is the `ask` option, answered by the test as the
 * desk would answer (its real self is exercised by teams' and the server's tests).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { type IncomingMessage, createServer as createHttpServer, request } from 'node:http';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import type { EgressSettings as Settings } from '../src/egress-proxy.ts';
import { type EgressAnswer, type EgressAsk, type EgressDecision, EgressProxy, confinedEgressMatch, egressList, egressMatch } from '../src/egress-proxy.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP server answering each line with `echo:<line>`. */
async function echoServer(): Promise<{ port: number; connections: () => number }> {
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    socket.on('data', (d) => socket.write(`echo:${d.toString()}`));
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { port: (server.address() as AddressInfo).port, connections: () => count };
}

interface Asked extends EgressAsk {
  answer(a: EgressAnswer): void;
}

function setup(settings: Settings, names: Record<string, string[]> = {}, daemonPorts: number[] = [], confiners: Record<string, string[]> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-egress-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const asked: Asked[] = [];
  const decisions: EgressDecision[] = [];
  const current = { settings };
  const proxy = new EgressProxy({
    dir: join(dir, 'run', 'sandbox'),
    getSettings: () => current.settings,
    resolve: async (host) => {
      const found = names[host];
      if (!found) throw Object.assign(new Error(`no such name ${host}`), { code: 'ENOTFOUND' });
      return found;
    },
    daemonPorts: () => daemonPorts,
    ask: (ask) => new Promise<EgressAnswer>((resolve) => asked.push({ ...ask, answer: resolve })),
    onDecision: (d) => decisions.push(d),
    confiners: (agentId) => confiners[agentId] ?? [],
  });
  cleanups.push(() => proxy.stop());
  return { proxy, asked, decisions, current, dir };
}

/** CONNECT through the proxy's socket: the status, the body of a refusal, and the tunnel when it opened. */
function connectVia(socketPath: string, target: string): Promise<{ status: number; body: string; socket?: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'CONNECT', path: target, headers: { host: target } });
    req.on('connect', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      if (res.statusCode === 200) return resolve({ status: 200, body: '', socket });
      // What the parser read past the head is the body's start.
      let body = head.toString();
      socket.on('data', (d) => (body += d.toString()));
      socket.on('close', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A line sent through an open tunnel, and what came back. */
async function roundTrip(socket: Socket, line: string): Promise<string> {
  const reply = new Promise<string>((r) => socket.once('data', (d) => r(d.toString())));
  socket.write(line);
  const text = await reply;
  socket.destroy();
  return text;
}

/** A plain-HTTP request in absolute form through the proxy. */
function getVia(socketPath: string, url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: IncomingMessage['headers'] }> {
  return new Promise((resolve, reject) => {
    const host = URL.canParse(url) ? new URL(url).host : 'localhost';
    const req = request({ socketPath, method: 'GET', path: url, headers: { host, ...headers } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const agent = (egress_allow: string[]): Settings => ({ agents: { coder: { egress_allow } } }) as Settings;

describe('egress proxy: the lists', () => {
  it('matches exact names and wildcards without regard to case; the defaults apply unless sandbox.egress_defaults replaces them', () => {
    expect(egressMatch(['GitHub.com'], 'github.com.')).toBe('exact');
    expect(egressMatch(['*.example.com'], 'a.b.Example.com')).toBe('wildcard');
    expect(egressMatch(['*.example.com'], 'example.com')).toBeUndefined();
    expect(egressMatch(['*.example.com'], 'badexample.com')).toBeUndefined();
    expect(egressMatch(['example.com'], 'sub.example.com')).toBeUndefined();
    expect(egressList(agent(['pkg.test']), 'coder')).toEqual(expect.arrayContaining(['pkg.test', 'registry.npmjs.org', 'proxy.golang.org']));
    expect(egressList({ ...agent(['pkg.test']), sandbox: { egress_defaults: ['mirror.test'] } } as Settings, 'coder')).toEqual(['pkg.test', 'mirror.test']);
    expect(egressList({ sandbox: { egress_defaults: [] } } as Settings, 'other')).toEqual([]);
  });
});

describe('egress proxy: a run confined by its caller', () => {
  // @coder lists pkg.test; @boss (a sandboxed caller whose call @coder is working on) lists only *.test.
  const lists = { agents: { coder: { egress_allow: ['pkg.test', 'cdn.test'] }, boss: { egress_allow: ['*.test'] } }, sandbox: { egress_defaults: [] } } as unknown as Settings;

  it('holds a host to the weakest of the lists: off any one list is off, a wildcard in any is a wildcard match', () => {
    expect(confinedEgressMatch(lists, ['coder'], 'pkg.test')).toBe('exact');
    expect(confinedEgressMatch(lists, ['coder', 'boss'], 'pkg.test')).toBe('wildcard');
    expect(confinedEgressMatch(lists, ['coder', 'boss'], 'other.test')).toBeUndefined();
    expect(confinedEgressMatch({ ...lists, agents: { ...lists.agents, boss: { egress_allow: [] } } } as Settings, ['coder', 'boss'], 'pkg.test')).toBeUndefined();
  });

  it("asks a person for a host on the callee's list but not on its caller's, saying whose list lacks it; unconfined it tunnels", async () => {
    const echo = await echoServer();
    const narrow = { ...lists, agents: { ...lists.agents, boss: { egress_allow: ['cdn.test'] } } } as unknown as Settings;
    const confinement: Record<string, string[]> = { coder: ['boss'] };
    const { proxy, asked } = setup(narrow, { 'pkg.test': ['127.0.0.1'], 'cdn.test': ['127.0.0.1'] }, [], confinement);
    const path = await proxy.open('coder');
    // On both lists: through, nobody asked.
    const both = await connectVia(path, `cdn.test:${echo.port}`);
    expect(both.status).toBe(200);
    expect(await roundTrip(both.socket!, 'a')).toBe('echo:a');
    // On the callee's list only: a person is asked, and told why.
    const held = connectVia(path, `pkg.test:${echo.port}`);
    await waitFor(() => asked.length === 1);
    expect(asked[0]!.summary).toContain('@coder works for @boss, whose egress list must hold it too');
    asked[0]!.answer({ allow: false, decidedBy: 'person', reason: 'denied by a person' });
    expect((await held).status).toBe(403);
    expect(echo.connections()).toBe(1);
    // The call over, @coder's own list is enough again.
    delete confinement['coder'];
    const free = await connectVia(path, `pkg.test:${echo.port}`);
    expect(free.status).toBe(200);
    free.socket!.destroy();
    expect(asked).toHaveLength(1);
  });
});

describe('egress proxy: the socket', () => {
  it("is the agent's own, in a 0700 directory, and goes when it is closed", async () => {
    const { proxy, dir } = setup(agent([]));
    const path = await proxy.open('coder');
    expect(path).toBe(join(dir, 'run', 'sandbox', 'coder', 'egress.sock'));
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(join(dir, 'run', 'sandbox', 'coder')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'run', 'sandbox')).mode & 0o777).toBe(0o700);
    await proxy.reconcile(['coder', 'reviewer']);
    expect(proxy.agents().sort()).toEqual(['coder', 'reviewer']);
    await proxy.reconcile(['reviewer']);
    expect(proxy.agents()).toEqual(['reviewer']);
    expect(statSync(path, { throwIfNoEntry: false })).toBeUndefined();
  });
});

describe('egress proxy: hosts on the list', () => {
  it('tunnels CONNECT to an exactly listed host, a name on this machine included, and nobody is asked', async () => {
    const echo = await echoServer();
    const { proxy, asked, decisions } = setup(agent(['pkg.test']), { 'pkg.test': ['127.0.0.1'] });
    const path = await proxy.open('coder');
    const tunnel = await connectVia(path, `pkg.test:${echo.port}`);
    expect(tunnel.status).toBe(200);
    expect(await roundTrip(tunnel.socket!, 'hello\n')).toBe('echo:hello\n');
    expect(asked).toHaveLength(0);
    expect(decisions).toEqual([{ agentId: 'coder', host: 'pkg.test', port: echo.port, allowed: true, by: 'list' }]);
  });

  it('uses the documented defaults unless sandbox.egress_defaults replaces them', async () => {
    const echo = await echoServer();
    const names = { 'registry.npmjs.org': ['127.0.0.1'], 'mirror.test': ['127.0.0.1'] };
    const { proxy, asked, current } = setup(agent([]), names);
    const path = await proxy.open('coder');
    expect((await connectVia(path, `registry.npmjs.org:${echo.port}`)).status).toBe(200);
    current.settings = { ...agent([]), sandbox: { egress_defaults: ['mirror.test'] } } as Settings;
    expect((await connectVia(path, `mirror.test:${echo.port}`)).status).toBe(200);
    // No longer on any list: asked.
    const off = connectVia(path, `registry.npmjs.org:${echo.port}`);
    await waitFor(() => asked.length === 1);
    asked[0]!.answer({ allow: false, decidedBy: 'cli', reason: 'denied by cli' });
    expect((await off).status).toBe(403);
  });

  it('forwards a plain-HTTP request in absolute form, without the proxy headers', async () => {
    const seen: IncomingMessage['headers'][] = [];
    const web = createHttpServer((req, res) => {
      seen.push(req.headers);
      res.setHeader('x-path', req.url ?? '');
      res.end('hello from the web');
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => web.close(r)));
    const port = (web.address() as AddressInfo).port;
    const { proxy } = setup(agent(['web.test']), { 'web.test': ['127.0.0.1'] });
    const path = await proxy.open('coder');
    const res = await getVia(path, `http://web.test:${port}/a/b?c=1`, { 'proxy-authorization': 'Basic eDp5', accept: 'text/plain' });
    expect(res).toMatchObject({ status: 200, body: 'hello from the web' });
    expect(res.headers['x-path']).toBe('/a/b?c=1');
    expect(seen[0]).toMatchObject({ host: `web.test:${port}`, accept: 'text/plain' });
    expect(seen[0]!['proxy-authorization']).toBeUndefined();
  });
});

describe('egress proxy: refusals without asking', () => {
  it('a wildcard entry never reaches a loopback, private or link-local address', async () => {
    const echo = await echoServer();
    const names = { 'api.corp.test': ['127.0.0.1'], 'db.corp.test': ['10.1.2.3'], 'meta.corp.test': ['169.254.169.254'] };
    const { proxy, asked } = setup(agent(['*.corp.test']), names);
    const path = await proxy.open('coder');
    const loopback = await connectVia(path, `api.corp.test:${echo.port}`);
    expect(loopback.status).toBe(403);
    expect(loopback.body).toContain('resolves to 127.0.0.1 (a loopback address: this machine)');
    expect(loopback.body).toContain('agents.coder.egress_allow');
    expect((await connectVia(path, 'db.corp.test:5432')).body).toContain('10.1.2.3 (a private address');
    expect((await connectVia(path, 'meta.corp.test:80')).body).toContain('169.254.169.254 (a link-local address');
    const plain = await getVia(path, `http://api.corp.test:${echo.port}/`);
    expect(plain.status).toBe(403);
    expect(asked).toHaveLength(0);
    expect(echo.connections()).toBe(0);
  });

  it("the daemon's own port on this machine is refused even for a listed host or address", async () => {
    const api = await echoServer();
    const { proxy, asked } = setup(agent(['daemon.test', '127.0.0.1']), { 'daemon.test': ['127.0.0.1'] }, [api.port]);
    const path = await proxy.open('coder');
    for (const target of [`daemon.test:${api.port}`, `127.0.0.1:${api.port}`, `[::ffff:127.0.0.1]:${api.port}`]) {
      const res = await connectVia(path, target);
      expect(res.status, target).toBe(403);
      expect(res.body).toContain('is the TinyAGI daemon itself');
    }
    expect(asked).toHaveLength(0);
    expect(api.connections()).toBe(0);
  });

  it('a request that is no proxy request is a 400, a name that does not resolve a 502', async () => {
    const { proxy } = setup(agent([]));
    const path = await proxy.open('coder');
    expect((await connectVia(path, 'no-port')).status).toBe(400);
    expect((await connectVia(path, '*.evil.test:443')).status).toBe(400);
    const origin = await getVia(path, '/api/status');
    expect(origin.status).toBe(400);
    expect(origin.body).toContain('absolute URL');
    const missing = await connectVia(path, 'nowhere.test:443');
    expect(missing.status).toBe(502);
    expect(missing.body).toContain('could not be resolved (ENOTFOUND)');
  });
});

describe('egress proxy: any other host asks a person', () => {
  it('allow once: this connection, and the ones made while it waited; the next asks again', async () => {
    const echo = await echoServer();
    const { proxy, asked } = setup(agent([]), { 'new.test': ['127.0.0.1'] });
    const path = await proxy.open('coder');
    const first = connectVia(path, `new.test:${echo.port}`);
    await waitFor(() => asked.length === 1);
    const second = connectVia(path, `new.test:${echo.port}`);
    expect(asked[0]).toMatchObject({ agentId: 'coder', host: 'new.test', port: echo.port, addresses: ['127.0.0.1'] });
    expect(asked[0]!.summary).toBe(`Connect to new.test:${echo.port} (resolves to 127.0.0.1 (a loopback address: this machine))`);
    // Both connections wait on the one request.
    await waitFor(() => proxy.waiting()[0]?.connections === 2);
    expect(proxy.waiting()).toEqual([{ agentId: 'coder', target: `new.test:${echo.port}`, connections: 2 }]);
    asked[0]!.answer({ allow: true, decidedBy: 'cli' });
    const [a, b] = await Promise.all([first, second]);
    expect(await roundTrip(a.socket!, 'one\n')).toBe('echo:one\n');
    expect(await roundTrip(b.socket!, 'two\n')).toBe('echo:two\n');
    expect(asked).toHaveLength(1);
    const third = connectVia(path, `new.test:${echo.port}`);
    await waitFor(() => asked.length === 2);
    asked[1]!.answer({ allow: true, decidedBy: 'tinyoffice' });
    expect((await third).status).toBe(200);
  });

  it('allow always: once the host is on the list (what the answer writes), later connections are not asked', async () => {
    const echo = await echoServer();
    const { proxy, asked, current } = setup(agent([]), { 'always.test': ['127.0.0.1'] });
    const path = await proxy.open('coder');
    const first = connectVia(path, `always.test:${echo.port}`);
    await waitFor(() => asked.length === 1);
    // The answer's route adds the host to egress_allow through the settings writer (server test); the proxy reads the list at every connection.
    current.settings = agent(['always.test']);
    asked[0]!.answer({ allow: true, decidedBy: 'cli' });
    expect((await first).status).toBe(200);
    expect((await connectVia(path, `always.test:${echo.port}`)).status).toBe(200);
    expect(asked).toHaveLength(1);
  });

  it('deny: a 403 whose body says who denied and why, for CONNECT and plain HTTP alike; nothing connects', async () => {
    const echo = await echoServer();
    const { proxy, asked, decisions } = setup(agent([]), { 'deny.test': ['127.0.0.1'] });
    const path = await proxy.open('coder');
    const tunnel = connectVia(path, `deny.test:${echo.port}`);
    await waitFor(() => asked.length === 1);
    asked[0]!.answer({ allow: false, decidedBy: 'cli', reason: 'denied by cli: not needed for this task' });
    const refused = await tunnel;
    expect(refused.status).toBe(403);
    expect(refused.body).toBe(`TinyAGI egress proxy: deny.test:${echo.port} is not on @coder's egress list (agents.coder.egress_allow); denied by cli: not needed for this task.\n`);
    const plain = getVia(path, `http://deny.test:${echo.port}/x`);
    await waitFor(() => asked.length === 2);
    asked[1]!.answer({ allow: false, decidedBy: 'telegram:42', reason: 'denied by telegram:42' });
    expect(await plain).toMatchObject({ status: 403, body: expect.stringContaining('denied by telegram:42') });
    expect(echo.connections()).toBe(0);
    expect(decisions.map((d) => [d.allowed, d.by])).toEqual([
      [false, 'cli'],
      [false, 'telegram:42'],
    ]);
  });

  it('a connection that goes away while it waits withdraws the request (the asker is told why)', async () => {
    const { proxy, asked } = setup(agent([]), { 'gone.test': ['127.0.0.1'] });
    const path = await proxy.open('coder');
    const req = request({ socketPath: path, method: 'CONNECT', path: 'gone.test:443' });
    req.on('error', () => {});
    req.end();
    await waitFor(() => asked.length === 1);
    req.destroy();
    await waitFor(() => asked[0]!.signal.aborted);
    expect(asked[0]!.signal.reason).toBe('denied: the connection was closed before an answer');
    const plain = request({ socketPath: path, method: 'GET', path: 'http://gone.test/x', headers: { host: 'gone.test' } });
    plain.on('error', () => {});
    plain.end();
    await waitFor(() => asked.length === 2);
    plain.destroy();
    await waitFor(() => asked[1]!.signal.aborted);
  });

  it('closing the agent withdraws its requests and refuses what waited', async () => {
    const { proxy, asked } = setup(agent([]), { 'late.test': ['127.0.0.1'] });
    const path = await proxy.open('coder');
    const waiting = connectVia(path, 'late.test:443').catch((err: Error) => ({ status: -1, body: err.message }));
    await waitFor(() => asked.length === 1);
    const closing = proxy.close('coder');
    await waitFor(() => asked[0]!.signal.aborted);
    expect(asked[0]!.signal.reason).toBe('denied: the egress proxy stopped');
    asked[0]!.answer({ allow: false, decidedBy: 'cancelled', reason: 'denied: the egress proxy stopped' });
    await closing;
    expect((await waiting).status).not.toBe(200);
  });
});

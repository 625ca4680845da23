/**
 * Egress by allowlist (docs/sandbox.md#egress): an HTTP proxy per sandboxed agent, on a Unix
 * socket of its own (`<TINYAGI_HOME>/run/sandbox/<agent>/egress.sock`, its directory 0700; the
 * boundary bridges the sandbox's 127.0.0.1:45802 to it), so the socket a connection came in on
 * is the agent it speaks for. It answers `CONNECT host:port` (a tunnel: TLS passes through
 * untouched) and plain-HTTP requests in absolute form (`GET http://host/path`).
 *
 * Contract, per connection:
 * - the host is matched against the agent's `egress_allow` and `sandbox.egress_defaults`
 *   (DEFAULT_EGRESS_ALLOW when absent): an exact entry (`github.com`, `10.0.0.5`) or a wildcard
 *   (`*.example.com`: names under it, not the domain itself), without regard to case, any port;
 * - the name is resolved once, here, and the connection goes to those addresses (no second
 *   look-up a rebinding name could answer differently). A wildcard entry never reaches a
 *   private, loopback, link-local or otherwise non-public address (refused, 403): only a host
 *   named exactly may; an address of this machine on one of the daemon's own ports (its API,
 *   `daemonPorts`) is refused whatever the lists or a person say;
 * - any other host is asked (`ask`: an approval of kind `egress`, the desk's), the request
 *   naming any non-public address it resolves to. Connections to the same host and port made
 *   while it waits share the one request and its answer. Allowed: connected; refused, expired or
 *   cancelled: `403` with a body saying who refused and why. `allow_always` adds the host to the
 *   agent's `egress_allow` (the answer's route writes it: server routes/approvals.ts);
 * - anything else (a request in origin form, a bad target, a scheme other than http) is a 400;
 *   a host that does not resolve or connect, a 502.
 *
 * Imports nothing of the invoker: the desk is reached through `ask`, DNS through `resolve` (a
 * test maps names to its own servers with it).
 */
import { chmodSync, lstatSync, mkdirSync, rmSync, unlinkSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { lookup } from 'node:dns/promises';
import { type Socket, connect, isIP } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { EGRESS_HOST_PATTERN } from '@tinyagi/client/contract';
import { addressClass, describeAddress, isThisMachine } from './addresses.ts';
import { makeRunDir, runDirIn } from './spec.ts';

/**
 * node:http, loaded when first used, through `process.getBuiltinModule`: an ESM import of node:http
 * makes Node 24 load undici, http2 and tls with it, which an idle daemon does not (the daemon-flags
 * e2e test), and the snapshot build defers node:http behind a stand-in without named exports.
 */
const http = (): typeof import('node:http') => process.getBuiltinModule('node:http');

/**
 * The hosts every sandboxed agent may reach when `sandbox.egress_defaults` is not set: the
 * package registries and git hosts an agent installs from (npm, Yarn, PyPI, GitHub, crates.io,
 * the Go module proxy).
 */
export const DEFAULT_EGRESS_ALLOW: readonly string[] = [
  'registry.npmjs.org',
  'registry.yarnpkg.com',
  'pypi.org',
  'files.pythonhosted.org',
  'github.com',
  'codeload.github.com',
  'objects.githubusercontent.com',
  'raw.githubusercontent.com',
  'crates.io',
  'static.crates.io',
  'index.crates.io',
  'proxy.golang.org',
  'sum.golang.org',
];

/** What the proxy asks a person about (the desk makes it an approval of kind `egress`). */
export interface EgressAsk {
  agentId: string;
  host: string;
  port: number;
  /** The addresses the host resolved to, as the connection would reach them. */
  addresses: string[];
  /** One line for people: `Connect to example.com:443`, naming a non-public address. */
  summary: string;
  /** Aborted when every connection waiting on the answer went away, or the proxy stops (the reason starts `denied: `). */
  signal: AbortSignal;
}

export type EgressAnswer = { allow: true; decidedBy: string } | { allow: false; decidedBy: string; reason: string };

/** What the proxy reads of the daemon's settings: `agents.<id>.egress_allow` and `sandbox.egress_defaults` (core's settings schema). */
export interface EgressSettings {
  agents?: Readonly<Record<string, { egress_allow?: readonly string[] | undefined } | undefined>> | undefined;
  sandbox?: { egress_defaults?: readonly string[] | undefined } | undefined;
}

export interface EgressProxyOptions {
  /** Where the agents' directories are made: `<TINYAGI_HOME>/run/sandbox`. */
  dir: string;
  getSettings: () => EgressSettings;
  /** A person decides (the approval desk); rejecting counts as a refusal with the error's message. */
  ask: (ask: EgressAsk) => Promise<EgressAnswer>;
  /** A name's addresses (default: the system resolver, every address). */
  resolve?: (host: string) => Promise<string[]>;
  /** The daemon's own ports (its API): never reached on this machine through the proxy. */
  daemonPorts?: () => readonly number[];
  /** How long a connection to the upstream may take (default 10 s). */
  connectTimeoutMs?: number;
  /** Each connection's outcome, for the daemon's log. */
  onDecision?: (decision: EgressDecision) => void;
  /**
   * The agents whose runs confine the agent's runs in progress (a sandboxed caller's call,
   * handoff or fan-out; teams' guards/confinement.ts): their lists must hold a host too.
   */
  confiners?: (agentId: string) => readonly string[];
}

export interface EgressDecision {
  agentId: string;
  host: string;
  port: number;
  allowed: boolean;
  /** `list` (an entry allowed it), `refused` (the rules refused it at once), or who answered the request. */
  by: string;
  /** Why it was refused. */
  reason?: string;
}

type Verdict = { ok: true; addresses: string[] } | { ok: false; status: 400 | 403 | 502; text: string };

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** `example.com` as matched: lower case, no trailing dot, no IPv6 brackets. */
function normalizeHost(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

/** `exact`, `wildcard`, or undefined: how the lists name `host`. */
export function egressMatch(entries: readonly string[], host: string): 'exact' | 'wildcard' | undefined {
  const h = normalizeHost(host);
  let found: 'wildcard' | undefined;
  for (const raw of entries) {
    const entry = normalizeHost(raw);
    if (entry === h) return 'exact';
    if (entry.startsWith('*.') && h.endsWith(entry.slice(1)) && h.length > entry.length - 1) found = 'wildcard';
  }
  return found;
}

/** The agent's list: its `egress_allow`, then `sandbox.egress_defaults` (DEFAULT_EGRESS_ALLOW when absent). */
export function egressList(settings: EgressSettings, agentId: string): string[] {
  const agents = settings.agents;
  const own = (agents !== undefined && Object.hasOwn(agents, agentId) ? agents[agentId]?.egress_allow : undefined) ?? [];
  return [...own, ...(settings.sandbox?.egress_defaults ?? DEFAULT_EGRESS_ALLOW)];
}

/**
 * How the lists of the agent and of each agent confining it name `host`: the weakest of their
 * matches (a host off any one list is off the lists; a wildcard in any makes it a wildcard match).
 */
export function confinedEgressMatch(settings: EgressSettings, agentIds: readonly string[], host: string): 'exact' | 'wildcard' | undefined {
  let weakest: 'exact' | 'wildcard' = 'exact';
  for (const id of agentIds) {
    const match = egressMatch(egressList(settings, id), host);
    if (match === undefined) return undefined;
    if (match === 'wildcard') weakest = 'wildcard';
  }
  return weakest;
}

/** A host an `egress_allow` entry could name exactly (what allowing it always adds): a name or an IP address, never a wildcard. */
function listable(host: string): boolean {
  return host !== '' && !host.startsWith('*') && (isIP(host) !== 0 || EGRESS_HOST_PATTERN.test(host));
}

/** `host:port`, `[v6]:port`. */
function hostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** `example.com:443` from a CONNECT target; undefined when it is not one. */
function parseAuthority(target: string | undefined): { host: string; port: number } | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/@]+):(\d{1,5})$/.exec(target ?? '');
  if (!m) return undefined;
  const port = Number(m[2]);
  const host = normalizeHost(m[1]!);
  return port >= 1 && port <= 65_535 && listable(host) ? { host, port } : undefined;
}

interface Pending {
  answer: Promise<EgressAnswer>;
  controller: AbortController;
  waiting: number;
}

interface AgentSocket {
  server: Server;
  path: string;
  sockets: Set<Duplex>;
}

export class EgressProxy {
  readonly #opts: EgressProxyOptions;
  readonly #agents = new Map<string, AgentSocket>();
  /** `agent\0host:port` → the request being asked, shared by the connections waiting on it. */
  readonly #pending = new Map<string, Pending>();
  readonly #resolve: (host: string) => Promise<string[]>;

  constructor(opts: EgressProxyOptions) {
    this.#opts = opts;
    this.#resolve = opts.resolve ?? (async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address));
  }

  /** The agents with an open socket. */
  agents(): string[] {
    return [...this.#agents.keys()];
  }

  /** The requests waiting for a person, with how many connections wait on each. */
  waiting(): Array<{ agentId: string; target: string; connections: number }> {
    return [...this.#pending].map(([key, p]) => {
      const [agentId, target] = key.split('\u0000') as [string, string];
      return { agentId, target, connections: p.waiting };
    });
  }

  /** The socket path of `agentId` (whether open or not). */
  socketPath(agentId: string): string {
    return join(runDirIn(this.#opts.dir, agentId), 'egress.sock');
  }

  /** Opens the agent's socket (its directory made 0700); a second call returns the open one. */
  async open(agentId: string): Promise<string> {
    const open = this.#agents.get(agentId);
    if (open) return open.path;
    mkdirSync(this.#opts.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.#opts.dir, 0o700);
    const dir = runDirIn(this.#opts.dir, agentId);
    makeRunDir(dir);
    const path = join(dir, 'egress.sock');
    // Left by a daemon that was killed: this home's instance lock says no other daemon serves it.
    if (lstatSync(path, { throwIfNoEntry: false })?.isSocket()) unlinkSync(path);
    const sockets = new Set<Duplex>();
    // No request timeout: a request may wait for a person for as long as the approval lasts.
    const server = http().createServer({ requestTimeout: 0 });
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.#tunnel(agentId, req, socket, head, sockets));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.#forward(agentId, req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    this.#agents.set(agentId, { server, path, sockets });
    return path;
  }

  /** Closes the agent's socket: its open tunnels end, its requests waiting for a person are withdrawn. */
  async close(agentId: string): Promise<void> {
    const open = this.#agents.get(agentId);
    if (!open) return;
    this.#agents.delete(agentId);
    for (const [key, pending] of this.#pending) if (key.startsWith(`${agentId}\u0000`)) pending.controller.abort('denied: the egress proxy stopped');
    for (const socket of open.sockets) socket.destroy();
    await new Promise<void>((resolve) => open.server.close(() => resolve()));
    rmSync(open.path, { force: true });
  }

  /** Exactly these agents have a socket: the others' are closed, missing ones opened. */
  async reconcile(agentIds: readonly string[]): Promise<void> {
    const wanted = new Set(agentIds);
    for (const id of this.agents()) if (!wanted.has(id)) await this.close(id);
    for (const id of wanted) await this.open(id);
  }

  async stop(): Promise<void> {
    for (const id of this.agents()) await this.close(id);
  }

  /** Whether `host:port` may be reached by the agent, asking a person when no entry says so. */
  async #decide(agentId: string, host: string, port: number, gone: AbortSignal): Promise<Verdict> {
    const { getSettings, daemonPorts } = this.#opts;
    const target = hostPort(host, port);
    const confiners = this.#opts.confiners?.(agentId).filter((id) => id !== agentId) ?? [];
    const match = confinedEgressMatch(getSettings(), [agentId, ...confiners], host);
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : await this.#resolve(host);
    } catch (err) {
      return { ok: false, status: 502, text: `${host} could not be resolved (${(err as { code?: string }).code ?? String(err)}).` };
    }
    if (addresses.length === 0) return { ok: false, status: 502, text: `${host} has no address.` };
    const refuse = (reason: string): Verdict => {
      this.#opts.onDecision?.({ agentId, host, port, allowed: false, by: 'refused', reason });
      return { ok: false, status: 403, text: `${target} refused: ${reason}` };
    };
    const own = daemonPorts?.() ?? [];
    if (own.includes(port)) {
      const local = addresses.find((a) => isThisMachine(a));
      if (local !== undefined) return refuse(`${describeAddress(local)} on port ${port} is the TinyAGI daemon itself, never reachable from a sandbox.`);
    }
    const nonPublic = addresses.filter((a) => addressClass(a) !== 'public');
    if (match === 'exact') return this.#allowed(agentId, host, port, addresses, 'list');
    if (match === 'wildcard') {
      if (nonPublic.length > 0) {
        return refuse(`${host} resolves to ${describeAddress(nonPublic[0]!)}; a wildcard entry never reaches such an address, only a host named exactly in agents.${agentId}.egress_allow.`);
      }
      return this.#allowed(agentId, host, port, addresses, 'list');
    }
    const answer = await this.#ask(agentId, host, port, addresses, nonPublic, gone, confiners);
    if (answer.allow) return this.#allowed(agentId, host, port, addresses, answer.decidedBy);
    this.#opts.onDecision?.({ agentId, host, port, allowed: false, by: answer.decidedBy, reason: answer.reason });
    return { ok: false, status: 403, text: `${target} is not on @${agentId}'s egress list (agents.${agentId}.egress_allow); ${answer.reason}.` };
  }

  #allowed(agentId: string, host: string, port: number, addresses: string[], by: string): Verdict {
    this.#opts.onDecision?.({ agentId, host, port, allowed: true, by });
    return { ok: true, addresses };
  }

  /** One request per agent, host and port at a time: later connections wait on the same answer. */
  async #ask(agentId: string, host: string, port: number, addresses: string[], nonPublic: string[], gone: AbortSignal, confiners: readonly string[]): Promise<EgressAnswer> {
    if (gone.aborted) return { allow: false, decidedBy: 'proxy', reason: 'denied: the connection was closed before an answer' };
    const key = `${agentId}\u0000${hostPort(host, port)}`;
    let pending = this.#pending.get(key);
    if (!pending) {
      const controller = new AbortController();
      const resolves = nonPublic.length > 0 ? ` (resolves to ${describeAddress(nonPublic[0]!)})` : '';
      // A confined run: the host must be on the callers' lists too, and the summary says why it asks.
      const working = confiners.length > 0 ? `; @${agentId} works for ${confiners.map((c) => `@${c}`).join(', ')}, whose egress list must hold it too` : '';
      const note = `${resolves}${working}`;
      const answer = Promise.resolve()
        .then(() => this.#opts.ask({ agentId, host, port, addresses, summary: `Connect to ${hostPort(host, port)}${note}`, signal: controller.signal }))
        .catch((err: unknown): EgressAnswer => ({ allow: false, decidedBy: 'proxy', reason: `denied: ${err instanceof Error ? err.message : String(err)}` }))
        .finally(() => {
          if (this.#pending.get(key) === created) this.#pending.delete(key);
        });
      const created: Pending = { answer, controller, waiting: 0 };
      pending = created;
      this.#pending.set(key, created);
    }
    const shared = pending;
    shared.waiting++;
    const leave = (): void => {
      shared.waiting--;
      if (shared.waiting === 0) shared.controller.abort('denied: the connection was closed before an answer');
    };
    gone.addEventListener('abort', leave, { once: true });
    try {
      return await shared.answer;
    } finally {
      if (!gone.aborted) {
        gone.removeEventListener('abort', leave);
        shared.waiting--;
      }
    }
  }

  async #tunnel(agentId: string, req: IncomingMessage, client: Duplex, head: Buffer, sockets: Set<Duplex>): Promise<void> {
    sockets.add(client);
    const gone = new AbortController();
    client.once('close', () => {
      sockets.delete(client);
      gone.abort();
    });
    // The server's sockets are half-open: a client that ends its side while it waits is gone too.
    const ended = (): void => gone.abort();
    client.once('end', ended);
    client.on('error', () => client.destroy());
    const target = parseAuthority(req.url);
    if (!target) return void refuseRaw(client, 400, `"${req.url ?? ''}" is not a CONNECT target: a host name or IP address, a colon and a port.`);
    const verdict = await this.#decide(agentId, target.host, target.port, gone.signal);
    if (client.destroyed) return;
    if (!verdict.ok) return void refuseRaw(client, verdict.status, verdict.text);
    let upstream: Socket;
    try {
      upstream = await this.#connect(verdict.addresses, target.port);
    } catch (err) {
      return void refuseRaw(client, 502, `${hostPort(target.host, target.port)} could not be reached: ${(err as Error).message}.`);
    }
    if (client.destroyed) return void upstream.destroy();
    sockets.add(upstream);
    upstream.once('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
    client.off('end', ended);
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async #forward(agentId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      return refuseHttp(res, 400, 'This is an HTTP proxy: a request names its absolute URL (GET http://host/path), or tunnels with CONNECT host:port.');
    }
    if (url.protocol !== 'http:') return refuseHttp(res, 400, `${url.protocol} is not proxied in plain form: use CONNECT (HTTPS_PROXY) for https.`);
    const host = normalizeHost(url.hostname);
    const port = url.port === '' ? 80 : Number(url.port);
    if (!listable(host)) return refuseHttp(res, 400, `"${url.hostname}" is not a host name or IP address the egress list could name.`);
    const verdict = await this.#decide(agentId, host, port, gone.signal);
    if (res.destroyed) return;
    if (!verdict.ok) return refuseHttp(res, verdict.status, verdict.text);
    let socket: Socket;
    try {
      socket = await this.#connect(verdict.addresses, port);
    } catch (err) {
      return refuseHttp(res, 502, `${hostPort(host, port)} could not be reached: ${(err as Error).message}.`);
    }
    const headers = withoutHopByHop(req.headers);
    headers.host = url.host;
    const upstream = http().request({ createConnection: () => socket, method: req.method, path: `${url.pathname}${url.search}`, headers, setHost: false });
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, withoutHopByHop(answer.headers));
      answer.pipe(res);
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) refuseHttp(res, 502, `${hostPort(host, port)} failed: ${err.message}.`);
      else res.destroy();
    });
    res.once('close', () => upstream.destroy());
    req.pipe(upstream);
  }

  /** The first of `addresses` that accepts a connection on `port`. */
  async #connect(addresses: string[], port: number): Promise<Socket> {
    const timeoutMs = this.#opts.connectTimeoutMs ?? 10_000;
    let last: Error = new Error('no address');
    for (const address of addresses) {
      try {
        return await new Promise<Socket>((resolve, reject) => {
          const socket = connect({ host: address, port });
          const timer = setTimeout(() => socket.destroy(new Error(`no connection to ${address} within ${timeoutMs} ms`)), timeoutMs);
          socket.once('connect', () => {
            clearTimeout(timer);
            socket.off('error', reject);
            resolve(socket);
          });
          socket.once('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
        });
      } catch (err) {
        last = err as Error;
      }
    }
    throw last;
  }
}

function withoutHopByHop(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase()),
  );
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name) && !named.has(name)) out[name] = value;
  return out;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 502: 'Bad Gateway' };

function body(text: string): string {
  return `TinyAGI egress proxy: ${text}\n`;
}

/** An answer to a CONNECT that is not a tunnel: a status line, the reason as the body, then the connection closes. */
function refuseRaw(client: Duplex, status: 400 | 403 | 502, text: string): void {
  const content = Buffer.from(body(text));
  client.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${content.length}\r\nconnection: close\r\n\r\n${content.toString()}`);
}

function refuseHttp(res: ServerResponse, status: 400 | 403 | 502, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(body(text));
}

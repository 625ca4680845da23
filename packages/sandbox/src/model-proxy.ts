/**
 * The model proxy (docs/sandbox.md#the-model-proxy): agents reach their model provider through
 * the daemon, holding a placeholder key; the proxy puts the real key in and forwards the call to
 * that provider's configured base URL only. Every model call passing here is metered from the
 * provider's own response (model-usage.ts), checked against the agent's budget before it is
 * forwarded, and its 429s and rate-limit headers are reported to the quota board.
 *
 * Endpoints:
 * - a loopback TCP port (`url`) for agents that run unconfined: a request names its agent and
 *   lane by its placeholder key (`x-api-key`, or `Authorization: Bearer`);
 * - per sandboxed agent a Unix socket, `<dir>/<agent>/model.sock` (its directory 0700, the
 *   socket 0600; the boundary bridges the sandbox's 127.0.0.1:45801 to it): the socket names the
 *   agent whatever key the request carries, the key its lane when it is one of that agent's.
 * A lane is what one process of an agent makes calls for: one invocation (a CLI per message, an
 *   HTTP runtime's call) or one warm process, pointed at each turn's run (`begin` with its lane).
 *   Its placeholder key is an HMAC of agent and lane under a secret random per proxy start: it
 *   holds no state, stays valid as long as a warm process lives, and cannot be made for another
 *   agent or lane.
 * Each API is under a prefix of its own: `/anthropic` (an Anthropic base URL, as in
 * ANTHROPIC_BASE_URL: the client adds `/v1/messages`) and `/openai` (an OpenAI base URL, as in
 * `https://api.openai.com/v1`: the client adds `/responses` or `/chat/completions`).
 *
 * Contract, per request:
 * - the agent's upstream is the one its lane's invocation in flight gave (`begin`; the agent's
 *   last one given when none is in flight: a warm process between turns): API, base URL, real key and the header
 *   the provider takes it in (`x-api-key` or `Authorization: Bearer`). The request's own key
 *   headers are dropped; the real key goes in that one header. Nothing else is ever reached: the
 *   path is one of the API's model routes appended to that base URL, the query string kept;
 * - model routes: Anthropic `POST /v1/messages`, `POST /v1/messages/count_tokens`,
 *   `GET /v1/models[/<id>]`; OpenAI `POST /responses`, `POST /chat/completions`,
 *   `GET /models[/<id>]`. Any other path, a prefix that is not the agent's API, an unknown or
 *   missing placeholder: refused with a 4xx in the API's own error format;
 * - before a model call is forwarded the budget is asked (`budget`): a refusal is a 400 in the
 *   API's error format (Anthropic `invalid_request_error`, as its own low-credit refusal; OpenAI
 *   `budget_exceeded`) whose message says which budget, so the CLI shows it and stops;
 * - the response streams back as it comes (no buffering: each chunk is written when it
 *   arrives), read on the way for its usage; a Chat Completions stream that did not ask for usage
 *   is asked for it upstream (`stream_options.include_usage`) and the usage chunk the CLI did not
 *   ask for is not passed on, so the CLI sees what it would have seen;
 * - each request is a connection of its own (`Connection: close`): no agent process holds an idle
 *   connection to the daemon between calls;
 * - each model call (`/messages`, `/responses`, `/chat/completions`) is reported once it ends
 *   (`onCall`): agent, the run in flight in its lane (none between a warm process's turns),
 *   status, usage as the provider reported it (undefined when it reported none) and its price
 *   (model-prices.ts; undefined for a model the table does not know). Its status and headers become a quota report for the invocation's
 *   `onQuota` (rate-limit-headers.ts).
 *
 * Imports nothing of the invoker but its types.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, rmSync, unlinkSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { QuotaReport } from './quota-report.ts';
import { callCostUsd } from './model-prices.ts';
import { type ModelCallApi, type ModelCallUsage, usageMeter } from './model-usage.ts';
import { type ModelApiFamily, type ModelUpstream, SANDBOX_MODEL_ADDRESS } from './model-upstream.ts';
import { quotaReportOf } from './rate-limit-headers.ts';
import { makeRunDir, runDirIn } from './spec.ts';

export type { ModelCallApi, ModelCallUsage } from './model-usage.ts';

/**
 * node:http and node:https, loaded when first used, through `process.getBuiltinModule`: an ESM
 * import of node:http makes Node 24 load undici, http2 and tls with it, which an idle daemon does
 * not load (docs/profiling.md, fix 25), and the daemon's start-up snapshot can hold neither.
 */
const http = (): typeof import('node:http') => process.getBuiltinModule('node:http');
const https = (): typeof import('node:https') => process.getBuiltinModule('node:https');
export { DEFAULT_BASE_URLS, SANDBOX_MODEL_ADDRESS, type ModelApiFamily, type ModelUpstream } from './model-upstream.ts';

/** An invocation of an agent whose model calls go through the proxy (`begin`). */
export interface ProxyInvocation {
  agentId: string;
  /** The agent's process the calls come from (its placeholder key: `placeholder(agentId, lane)`); absent: the agent's lane-less key. */
  lane?: string | undefined;
  /** The run the calls are recorded on (null: none, e.g. core used without the orchestrator). */
  runId: string | null;
  conversationId: string | null;
  upstream: ModelUpstream;
  /** The invocation's quota reports (InvokeRequest.onQuota: the quota board). */
  onQuota?: ((report: QuotaReport) => void) | undefined;
}

/** One model call through the proxy, once it ended. */
export interface MeteredCall {
  agentId: string;
  runId: string | null;
  conversationId: string | null;
  api: ModelCallApi;
  /** The provider's host, for logs. */
  host: string;
  model: string | undefined;
  streamed: boolean;
  /** The provider's status (0: no answer, the connection failed or was cut before one). */
  status: number;
  /** As the provider reported it; undefined when it reported none (an error, a cut stream). */
  usage: ModelCallUsage | undefined;
  /** The usage at the model's list price (model-prices.ts); undefined when not priced. */
  costUsd: number | undefined;
  startedAt: number;
  endedAt: number;
}

/** What the budget check knows of a call. */
export interface BudgetQuery {
  agentId: string;
  runId: string | null;
  conversationId: string | null;
  /** What the calls of this invocation used so far and their price (not yet recorded on the run: its usage is written when it ends). */
  inFlight: MeteredSpend;
}

/** Usage and its price, summed over calls (a call not priced adds no cost). */
export interface MeteredSpend extends ModelCallUsage {
  costUsd: number;
}

export interface ModelProxyOptions {
  /** Where the agents' socket directories are made: `<TINYAGI_HOME>/run/sandbox`. */
  dir: string;
  /** The loopback port (default 0: any free port). */
  port?: number;
  /** A refusal's message when the agent is over a budget, else undefined (asked before each model call is forwarded). */
  budget?: (query: BudgetQuery) => string | undefined | Promise<string | undefined>;
  /** Each model call once it ended (record it on its run). */
  onCall?: (call: MeteredCall) => void | Promise<void>;
  /** A request refused or failed, for the daemon's log. */
  onRefused?: (agentId: string | undefined, status: number, message: string) => void;
  onError?: (err: unknown) => void;
}

interface Flight {
  invocation: ProxyInvocation;
  used: MeteredSpend;
}

interface Listener {
  server: Server;
  sockets: Set<Socket>;
  path?: string;
}

/**
 * An over-budget call's status: 400, as Anthropic's own "credit balance is too low" refusal, so
 * the CLIs show the body's message and do not retry (Codex retries a 403 five times; Claude
 * Code says "Failed to authenticate" for one).
 */
const BUDGET_REFUSAL_STATUS = 400;

const ZERO: MeteredSpend = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 };
const KEY_PREFIX = 'tinyagi-proxy-';

/** Request headers never passed on: hop-by-hop, the agent's own credentials, and what the proxy sets itself. */
const DROPPED_REQUEST_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'x-api-key',
  'authorization',
  'accept-encoding',
  'content-length',
]);
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-authenticate', 'trailer', 'upgrade']);

interface Route {
  family: ModelApiFamily;
  /** The path after the prefix, without the query string. */
  path: string;
  query: string;
  /** A model call (metered, budget-checked), or another model route (count_tokens, models). */
  api: ModelCallApi | undefined;
}

function routeOf(method: string, url: string): Route | { family: ModelApiFamily | undefined; refused: string } {
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  const match = /^\/(anthropic|openai)(\/.*)?$/.exec(pathname);
  if (!match) return { family: undefined, refused: `${method} ${pathname} is not a model API route of this proxy` };
  const family = match[1] as ModelApiFamily;
  const path = match[2] ?? '/';
  if (path.includes('..') || path.includes('//') || path.includes('%')) return { family, refused: `${method} ${path}: not a model API route` };
  if (family === 'anthropic') {
    if (method === 'POST' && path === '/v1/messages') return { family, path, query, api: 'messages' };
    if (method === 'POST' && path === '/v1/messages/count_tokens') return { family, path, query, api: undefined };
    if (method === 'GET' && /^\/v1\/models(\/[A-Za-z0-9._:@-]+)?$/.test(path)) return { family, path, query, api: undefined };
  } else {
    if (method === 'POST' && path === '/responses') return { family, path, query, api: 'responses' };
    if (method === 'POST' && path === '/chat/completions') return { family, path, query, api: 'chat' };
    if (method === 'GET' && /^\/models(\/[A-Za-z0-9._:@-]+)?$/.test(path)) return { family, path, query, api: undefined };
  }
  return { family, refused: `${method} ${path} is not one of the ${family === 'anthropic' ? 'Anthropic' : 'OpenAI'} API's model routes the proxy forwards` };
}

/** An error body in the API's own format (what its clients show). */
export function apiError(family: ModelApiFamily | undefined, status: number, message: string, openaiCode?: string): string {
  if (family === 'openai') {
    const type = openaiCode ?? (status === 401 ? 'invalid_api_key' : status === 404 ? 'not_found' : status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error');
    return JSON.stringify({ error: { message, type, param: null, code: openaiCode ?? type } });
  }
  const type =
    status === 401
      ? 'authentication_error'
      : status === 403
        ? 'permission_error'
        : status === 404
          ? 'not_found_error'
          : status === 429
            ? 'rate_limit_error'
            : status >= 500
              ? 'api_error'
              : 'invalid_request_error';
  return JSON.stringify({ type: 'error', error: { type, message } });
}

function keyOf(headers: IncomingHttpHeaders): string | undefined {
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') return apiKey;
  const auth = headers.authorization;
  const bearer = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
  return bearer;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The upstream URL of a route: the base URL's path with the route's appended (an Anthropic base ending in /v1 takes the route without its /v1). */
function upstreamUrl(upstream: ModelUpstream, route: Route): URL {
  const url = new URL(upstream.baseUrl);
  const base = url.pathname.replace(/\/+$/, '');
  const path = upstream.family === 'anthropic' && /\/v1$/.test(base) && route.path.startsWith('/v1/') ? route.path.slice(3) : route.path;
  url.pathname = `${base}${path}`;
  url.search = route.query;
  url.hash = '';
  return url;
}

export class ModelProxy {
  readonly #opts: ModelProxyOptions;
  readonly #tcp: Listener;
  readonly #sockets = new Map<string, Listener>();
  /** What placeholder keys are an HMAC under. */
  readonly #secret = randomBytes(32);
  /** agent → its invocations in flight, oldest first. */
  readonly #flights = new Map<string, Flight[]>();
  /** agent → the upstream its last invocation gave. */
  readonly #upstreams = new Map<string, ModelUpstream>();
  readonly #http = new (http().Agent)({ keepAlive: true });
  /** Made at the first https upstream: an idle daemon does not load TLS. */
  #https: import('node:https').Agent | undefined;
  #port = 0;

  private constructor(opts: ModelProxyOptions) {
    this.#opts = opts;
    this.#tcp = this.#listener(undefined);
  }

  /** Listens on 127.0.0.1 (`options.port`, default any free port). */
  static async start(options: ModelProxyOptions): Promise<ModelProxy> {
    const proxy = new ModelProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.#tcp.server.once('error', reject);
      proxy.#tcp.server.listen(options.port ?? 0, '127.0.0.1', () => {
        proxy.#tcp.server.off('error', reject);
        resolve();
      });
    });
    proxy.#port = (proxy.#tcp.server.address() as AddressInfo).port;
    return proxy;
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** The placeholder key of the agent's lane (absent: its lane-less key): worth nothing outside this proxy, the same for as long as it runs. */
  placeholder(agentId: string, lane?: string): string {
    const payload = Buffer.from(JSON.stringify(lane === undefined ? [agentId] : [agentId, lane])).toString('base64url');
    return `${KEY_PREFIX}${payload}.${this.#mac(payload)}`;
  }

  #mac(payload: string): string {
    return createHmac('sha256', this.#secret).update(payload).digest('base64url');
  }

  /** The agent and lane a placeholder key names, or undefined when it is not one of this proxy's. */
  #laneOf(key: string): { agentId: string; lane: string | undefined } | undefined {
    const dot = key.lastIndexOf('.');
    if (!key.startsWith(KEY_PREFIX) || dot === -1) return undefined;
    const payload = key.slice(KEY_PREFIX.length, dot);
    if (!sameSecret(key.slice(dot + 1), this.#mac(payload))) return undefined;
    const [agentId, lane] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [string, string?];
    return { agentId, lane };
  }

  /**
   * What an agent's CLI is given in place of the provider's base URL and key: the loopback port
   * (`loopback`: the agent runs unconfined) or the boundary's bridged address (`sandbox`).
   */
  endpoint(agentId: string, family: ModelApiFamily, where: 'loopback' | 'sandbox' = 'loopback', lane?: string): { baseUrl: string; apiKey: string } {
    const root = where === 'sandbox' ? `http://${SANDBOX_MODEL_ADDRESS}` : this.url;
    return { baseUrl: `${root}/${family}`, apiKey: this.placeholder(agentId, lane) };
  }

  /**
   * An invocation of the agent begins: the model calls of its lane go to `upstream` and are
   * recorded on its run (the newest invocation in flight of a lane takes its calls). Returns the
   * function that ends it, which says what its calls used.
   */
  begin(invocation: ProxyInvocation): () => MeteredSpend {
    const flight: Flight = { invocation, used: { ...ZERO } };
    const list = this.#flights.get(invocation.agentId) ?? [];
    list.push(flight);
    this.#flights.set(invocation.agentId, list);
    this.#upstreams.set(invocation.agentId, invocation.upstream);
    return () => {
      const current = this.#flights.get(invocation.agentId) ?? [];
      const rest = current.filter((f) => f !== flight);
      if (rest.length > 0) this.#flights.set(invocation.agentId, rest);
      else this.#flights.delete(invocation.agentId);
      return { ...flight.used };
    };
  }

  /** The socket path of `agentId` (whether open or not). */
  socketPath(agentId: string): string {
    return join(runDirIn(this.#opts.dir, agentId), 'model.sock');
  }

  /** The agents with an open socket. */
  agents(): string[] {
    return [...this.#sockets.keys()];
  }

  /** Opens the agent's socket (its directory made 0700, the socket 0600); a second call returns the open one. */
  async open(agentId: string): Promise<string> {
    const open = this.#sockets.get(agentId);
    if (open?.path) return open.path;
    mkdirSync(this.#opts.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.#opts.dir, 0o700);
    const dir = runDirIn(this.#opts.dir, agentId);
    makeRunDir(dir);
    const path = join(dir, 'model.sock');
    // Left by a daemon that was killed: this home's instance lock says no other daemon serves it.
    if (lstatSync(path, { throwIfNoEntry: false })?.isSocket()) unlinkSync(path);
    const listener = this.#listener(agentId);
    await new Promise<void>((resolve, reject) => {
      listener.server.once('error', reject);
      listener.server.listen(path, () => {
        listener.server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    listener.path = path;
    this.#sockets.set(agentId, listener);
    return path;
  }

  /** Closes the agent's socket (its calls under way are cut). */
  async close(agentId: string): Promise<void> {
    const open = this.#sockets.get(agentId);
    if (!open) return;
    this.#sockets.delete(agentId);
    await closeListener(open);
    if (open.path) rmSync(open.path, { force: true });
  }

  /** Exactly these agents have a socket: the others' are closed, missing ones opened. */
  async reconcile(agentIds: readonly string[]): Promise<void> {
    const wanted = new Set(agentIds);
    for (const id of this.agents()) if (!wanted.has(id)) await this.close(id);
    for (const id of wanted) await this.open(id);
  }

  async stop(): Promise<void> {
    for (const id of this.agents()) await this.close(id);
    await closeListener(this.#tcp);
    this.#http.destroy();
    this.#https?.destroy();
  }

  #listener(agentId: string | undefined): Listener {
    const sockets = new Set<Socket>();
    // A model call may stream for many minutes; the CLI's own timeouts apply, not the server's.
    const server = http().createServer({ requestTimeout: 0 });
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      // One connection per call: no agent process holds an idle connection to the daemon between
      // calls (on loopback a new connection costs a fraction of a millisecond).
      res.shouldKeepAlive = false;
      this.#handle(agentId, req, res).catch((err: unknown) => {
        this.#opts.onError?.(err);
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end(apiError(undefined, 502, 'the model proxy failed'));
        else res.destroy();
      });
    });
    return { server, sockets };
  }

  #refuse(res: ServerResponse, family: ModelApiFamily | undefined, agentId: string | undefined, status: number, message: string, openaiCode?: string): void {
    this.#opts.onRefused?.(agentId, status, message);
    res.writeHead(status, { 'content-type': 'application/json' }).end(apiError(family, status, message, openaiCode));
  }

  async #handle(socketAgent: string | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const route = routeOf(method, req.url ?? '/');
    // The agent: the socket's, else the placeholder's; the lane: the placeholder's, when of that agent.
    const key = keyOf(req.headers);
    const named = key === undefined ? undefined : this.#laneOf(key);
    let agentId = socketAgent;
    if (agentId === undefined) {
      const found = named?.agentId;
      if (found === undefined) {
        req.resume();
        return this.#refuse(
          res,
          route.family,
          undefined,
          401,
          key === undefined ? 'No API key: the model proxy takes the placeholder key the agent was given.' : 'Unknown API key: not a placeholder key of this TinyAGI daemon.',
        );
      }
      agentId = found;
    }
    if ('refused' in route) {
      req.resume();
      return this.#refuse(res, route.family, agentId, 404, route.refused);
    }
    const lane = named?.agentId === agentId ? named.lane : undefined;
    const flight = this.#flights
      .get(agentId)
      ?.filter((f) => f.invocation.lane === lane)
      .at(-1);
    const upstream = flight?.invocation.upstream ?? this.#upstreams.get(agentId);
    if (!upstream) {
      req.resume();
      return this.#refuse(res, route.family, agentId, 403, `Agent "${agentId}" has no provider the model proxy knows of (no invocation of it began).`);
    }
    if (upstream.family !== route.family) {
      req.resume();
      return this.#refuse(res, route.family, agentId, 404, `Agent "${agentId}" uses the ${upstream.family === 'anthropic' ? 'Anthropic' : 'OpenAI'} API, not this one.`);
    }
    const invocation = flight?.invocation;
    const runId = invocation?.runId ?? null;
    const conversationId = invocation?.conversationId ?? null;
    if (route.api !== undefined && this.#opts.budget) {
      const refusal = await this.#opts.budget({ agentId, runId, conversationId, inFlight: { ...(flight?.used ?? ZERO) } });
      if (refusal !== undefined) {
        req.resume();
        return this.#refuse(res, route.family, agentId, BUDGET_REFUSAL_STATUS, `TinyAGI budget: ${refusal}. The model call was not made.`, 'budget_exceeded');
      }
    }
    await this.#forward({ agentId, runId, conversationId, route, upstream, flight, req, res });
  }

  async #forward(call: {
    agentId: string;
    runId: string | null;
    conversationId: string | null;
    route: Route;
    upstream: ModelUpstream;
    flight: Flight | undefined;
    req: IncomingMessage;
    res: ServerResponse;
  }): Promise<void> {
    const { route, upstream, req, res } = call;
    const url = upstreamUrl(upstream, route);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || DROPPED_REQUEST_HEADERS.has(name)) continue;
      headers[name] = value;
    }
    headers['accept-encoding'] = 'identity';
    // A provider that takes no key (empty) gets none.
    if (upstream.key !== '' && upstream.auth === 'x-api-key') headers['x-api-key'] = upstream.key;
    else if (upstream.key !== '') headers.authorization = `Bearer ${upstream.key}`;
    addUpstreamHeaders(headers, upstream.headers);

    // Chat Completions: a stream that does not ask for usage is asked for it upstream; the usage chunk is then not passed on.
    let body: Buffer | undefined;
    let hideUsage = false;
    if (route.api === 'chat') {
      body = await readAll(req);
      const parsed = parseObject(body);
      if (parsed && parsed.stream === true) {
        const options = parsed.stream_options;
        const asked = typeof options === 'object' && options !== null && (options as Record<string, unknown>).include_usage === true;
        if (!asked) {
          hideUsage = true;
          parsed.stream_options = { ...(typeof options === 'object' && options !== null ? options : {}), include_usage: true };
          body = Buffer.from(JSON.stringify(parsed));
        }
      }
    }
    if (body !== undefined) headers['content-length'] = String(body.length);
    else if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length'];

    const startedAt = Date.now();
    const secure = url.protocol === 'https:';
    const options = { method: req.method, headers };
    if (secure && this.#https === undefined) this.#https = new (https().Agent)({ keepAlive: true });
    const upstreamReq = secure ? https().request(url, { ...options, agent: this.#https }) : http().request(url, { ...options, agent: this.#http });
    let finished = false;
    const report = (status: number, streamed: boolean, meter: { usage: ModelCallUsage | undefined; model: string | undefined } | undefined): void => {
      if (finished || route.api === undefined) return;
      finished = true;
      const usage = meter?.usage;
      const costUsd = usage ? callCostUsd(meter?.model, usage) : undefined;
      if (usage && call.flight) addTo(call.flight.used, usage, costUsd);
      const metered: MeteredCall = {
        agentId: call.agentId,
        runId: call.runId,
        conversationId: call.conversationId,
        api: route.api,
        host: url.host,
        model: meter?.model,
        streamed,
        status,
        usage,
        costUsd,
        startedAt,
        endedAt: Date.now(),
      };
      void Promise.resolve()
        .then(() => this.#opts.onCall?.(metered))
        .catch((err: unknown) => this.#opts.onError?.(err));
    };
    // The CLI went away (killed, cancelled): the provider's call is cut too.
    res.once('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    upstreamReq.once('error', (err) => {
      report(0, false, undefined);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      this.#refuse(res, route.family, call.agentId, 502, `The model proxy could not reach ${url.host}: ${err.message}`);
    });
    upstreamReq.once('response', (up) => {
      const status = up.statusCode ?? 502;
      const streamed = /^text\/event-stream/i.test(String(up.headers['content-type'] ?? ''));
      if (route.api !== undefined) {
        const quota = quotaReportOf(status, up.headers);
        if (quota) call.flight?.invocation.onQuota?.(quota);
      }
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(up.headers)) {
        if (value === undefined || DROPPED_RESPONSE_HEADERS.has(name)) continue;
        if (hideUsage && streamed && name === 'content-length') continue;
        out[name] = value;
      }
      res.writeHead(status, up.statusMessage, out);
      res.flushHeaders();
      const meter = route.api !== undefined && status >= 200 && status < 300 ? usageMeter(route.api, streamed) : undefined;
      const filter = hideUsage && streamed ? new UsageChunkFilter() : undefined;
      up.on('data', (chunk: Buffer) => {
        meter?.push(chunk);
        const passed = filter ? filter.push(chunk) : chunk;
        if (passed.length > 0 && !res.write(passed)) {
          up.pause();
          res.once('drain', () => up.resume());
        }
      });
      up.once('end', () => {
        if (filter) {
          const rest = filter.end();
          if (rest.length > 0) res.write(rest);
        }
        res.end();
        report(status, streamed, meter);
      });
      up.once('error', () => {
        report(status, streamed, meter);
        res.destroy();
      });
      up.once('close', () => {
        // Cut before its end: what the stream said so far is all there is.
        if (!up.complete) {
          report(status, streamed, meter);
          res.destroy();
        }
      });
    });
    if (body !== undefined) upstreamReq.end(body);
    else req.pipe(upstreamReq);
  }
}

/** The upstream's own headers: a value the request's header (a comma-separated list, as `anthropic-beta`) lacks is added to it. */
function addUpstreamHeaders(headers: Record<string, string | string[]>, extra: Readonly<Record<string, string>> | undefined): void {
  for (const [name, value] of Object.entries(extra ?? {})) {
    const key = name.toLowerCase();
    const had = headers[key];
    const items = (Array.isArray(had) ? had.join(',') : (had ?? ''))
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    headers[key] = items.includes(value) ? items.join(',') : [...items, value].join(',');
  }
}

function addTo(total: MeteredSpend, more: ModelCallUsage, costUsd: number | undefined): void {
  total.costUsd += costUsd ?? 0;
  total.inputTokens += more.inputTokens;
  total.outputTokens += more.outputTokens;
  total.cacheReadTokens += more.cacheReadTokens;
  total.cacheWriteTokens += more.cacheWriteTokens;
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function parseObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function closeListener(listener: Listener): Promise<void> {
  for (const socket of listener.sockets) socket.destroy();
  return new Promise<void>((resolve) => listener.server.close(() => resolve()));
}

/**
 * A Chat Completions stream passed on event by event, without the usage-only chunk (`choices: []`
 * and a `usage`) the proxy asked for on the CLI's behalf. Each event is written once its blank
 * line arrives (an event is one chunk of the model's output: nothing waits for more than that).
 */
class UsageChunkFilter {
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';

  push(chunk: Buffer): Buffer {
    this.#pending += this.#decoder.write(chunk);
    let out = '';
    for (;;) {
      const match = /\r?\n\r?\n/.exec(this.#pending);
      if (!match) break;
      const end = match.index + match[0].length;
      const event = this.#pending.slice(0, end);
      this.#pending = this.#pending.slice(end);
      if (!isUsageOnlyChunk(event)) out += event;
    }
    return Buffer.from(out);
  }

  end(): Buffer {
    const rest = this.#pending + this.#decoder.end();
    this.#pending = '';
    return Buffer.from(rest);
  }
}

function isUsageOnlyChunk(event: string): boolean {
  if (!event.includes('"usage"')) return false;
  const data = event
    .split(/\r?\n/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5))
    .join('\n');
  try {
    const chunk = JSON.parse(data) as { choices?: unknown; usage?: unknown };
    return Array.isArray(chunk.choices) && chunk.choices.length === 0 && typeof chunk.usage === 'object' && chunk.usage !== null;
  } catch {
    return false;
  }
}

/**
 * Slack's HTTP Events API, the option beside Socket Mode (docs/channels.md, Slack): Slack POSTs
 * each event (and each interactivity payload, e.g. a button press) to a URL of ours, signed with
 * the app's signing secret. This receiver speaks that protocol and emits what the Socket Mode
 * client emits, with the same arguments, so the adapter handles both modes with one set of
 * handlers:
 *
 * - `event_callback` → `<event.type>` and `slack_event` (`type: 'events_api'`), with `ack`, `body`,
 *   `event`, `envelope_id` (the event id) and `retry_num` (`X-Slack-Retry-Num`);
 * - an interactivity payload (form field `payload`) → `interactive` and `slack_event`;
 * - `url_verification` is answered with its challenge (Slack's check of the Request URL);
 * - an event or interaction from another workspace than the bot's is answered 200 and dropped
 *   (`acceptOnly`): an app installed in several workspaces signs all their events with one
 *   signing secret, but the bot token answers in its own workspace only.
 *
 * Slack's rules, as published (api.slack.com/authentication/verifying-requests-from-slack and
 * api.slack.com/apis/events-api):
 * - every request carries `X-Slack-Request-Timestamp` and `X-Slack-Signature` =
 *   `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the signing secret; a bad
 *   signature is 401, a timestamp more than 5 minutes away is refused too (replays);
 * - the answer must come within 3 seconds, else Slack retries the event (up to 3 times, with
 *   `X-Slack-Retry-Num` / `X-Slack-Retry-Reason`). The HTTP answer is sent when the handler acks;
 *   an event not acked within `ackTimeoutMs` is answered 503, so Slack delivers it again, as an
 *   unacked Socket Mode envelope would be.
 *
 * The server listens on 127.0.0.1 by default: put the public URL (a reverse proxy or tunnel with
 * TLS) in front of it, as Slack only calls https URLs.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type SlackWorkspace, SlackWorkspaceFilter } from './workspace.ts';

export type { SlackWorkspace } from './workspace.ts';

export interface SlackEventsHttpOptions {
  signingSecret: string;
  port: number;
  host?: string;
  /** The path Slack's Request URL (events and interactivity) points at. */
  path?: string;
  /** How long an event may wait for its ack before it is answered 503 (Slack waits 3 s). */
  ackTimeoutMs?: number;
  /** The largest body taken (Slack's events are far smaller). */
  maxBodyBytes?: number;
  /** Clock skew allowed for X-Slack-Request-Timestamp, in seconds (Slack: 5 minutes). */
  maxSkewS?: number;
  log?: (level: 'info' | 'warn', message: string) => void;
}

const DEFAULT_PATH = '/slack/events';

/** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`: Slack's request signature. */
export function slackSignature(signingSecret: string, timestamp: string, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export class SlackEventsHttpReceiver extends EventEmitter {
  readonly #o: Required<Omit<SlackEventsHttpOptions, 'log' | 'host'>> & { host: string; log: NonNullable<SlackEventsHttpOptions['log']> };
  #server: Server | undefined;
  readonly #workspace: SlackWorkspaceFilter;

  constructor(options: SlackEventsHttpOptions) {
    super();
    this.#o = {
      signingSecret: options.signingSecret,
      port: options.port,
      host: options.host ?? '127.0.0.1',
      path: options.path ?? DEFAULT_PATH,
      ackTimeoutMs: options.ackTimeoutMs ?? 2500,
      maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
      maxSkewS: options.maxSkewS ?? 300,
      log: options.log ?? (() => {}),
    };
    this.#workspace = new SlackWorkspaceFilter((level, message) => this.#o.log(level, message));
  }

  /**
   * Takes events and interactions of this workspace only, as Slack's wrapper names it (an event's
   * `team_id`, an interaction's `team.id`; `enterprise_id` / `enterprise.id` for an org-wide
   * install): others are answered 200, so Slack does not deliver them again, and dropped.
   */
  acceptOnly(workspace: SlackWorkspace): void {
    this.#workspace.acceptOnly(workspace);
  }

  /** The port it listens on (the one given, or the one the system chose for 0). */
  get port(): number {
    return (this.#server?.address() as AddressInfo | null)?.port ?? this.#o.port;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.#handle(req, res));
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#o.port, this.#o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.emit('connected');
  }

  async disconnect(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const answer = (status: number, body = '', type = 'text/plain; charset=utf-8'): void => {
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const url = new URL(req.url ?? '/', 'http://slack.invalid');
    if (url.pathname !== this.#o.path) return answer(404, 'not found');
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return answer(405, 'method not allowed');
    }
    let raw: string;
    try {
      raw = await readBody(req, this.#o.maxBodyBytes);
    } catch (err) {
      return answer(413, err instanceof Error ? err.message : 'body too large');
    }
    const refused = this.#verify(req, raw);
    if (refused) {
      this.#o.log('warn', `slack events: refused a request (${refused})`);
      return answer(401, refused);
    }
    let body: Record<string, unknown>;
    const contentType = String(req.headers['content-type'] ?? '');
    try {
      if (contentType.startsWith('application/x-www-form-urlencoded')) {
        const payload = new URLSearchParams(raw).get('payload');
        if (payload === null) return answer(400, 'no payload');
        body = JSON.parse(payload) as Record<string, unknown>;
        if (!this.#workspace.accepts(body)) return answer(200);
        return this.#dispatch(answer, 'interactive', body, undefined, undefined);
      }
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return answer(400, 'the body is not JSON');
    }
    if (body.type === 'url_verification' && typeof body.challenge === 'string') return answer(200, JSON.stringify({ challenge: body.challenge }), 'application/json');
    if (body.type !== 'event_callback' || body.event === null || typeof body.event !== 'object') return answer(200);
    if (!this.#workspace.accepts(body)) return answer(200);
    const retry = Number(req.headers['x-slack-retry-num']);
    return this.#dispatch(answer, 'events_api', body, Number.isFinite(retry) ? retry : undefined, headerText(req.headers['x-slack-retry-reason']));
  }

  /** Emits what the Socket Mode client emits for this envelope; the HTTP answer waits for the ack. */
  #dispatch(
    answer: (status: number, body?: string, type?: string) => void,
    type: 'events_api' | 'interactive',
    body: Record<string, unknown>,
    retryNum: number | undefined,
    retryReason: string | undefined,
  ): void {
    let acked = false;
    const timer = setTimeout(() => {
      if (!acked) answer(503, 'not taken yet');
    }, this.#o.ackTimeoutMs);
    const ack = async (response?: Record<string, unknown>): Promise<void> => {
      if (acked) return;
      acked = true;
      clearTimeout(timer);
      if (response && Object.keys(response).length > 0) answer(200, JSON.stringify(response), 'application/json');
      else answer(200);
    };
    const envelope_id = typeof body.event_id === 'string' ? body.event_id : typeof body.trigger_id === 'string' ? body.trigger_id : '';
    const event = type === 'events_api' ? (body.event as { type?: unknown }) : undefined;
    const common = { ack, envelope_id, body, retry_num: retryNum, retry_reason: retryReason, accepts_response_payload: false };
    const taken = event && typeof event.type === 'string' ? this.emit(event.type, { ...common, event }) : type === 'interactive' ? this.emit('interactive', common) : false;
    const seen = this.emit('slack_event', { ...common, type });
    // Nobody listens for it: acked, so Slack does not deliver it again.
    if (!taken && !seen) void ack();
  }

  #verify(req: IncomingMessage, raw: string): string | undefined {
    const timestamp = headerText(req.headers['x-slack-request-timestamp']);
    const signature = headerText(req.headers['x-slack-signature']);
    if (!timestamp || !signature) return 'no X-Slack-Request-Timestamp or X-Slack-Signature';
    const seconds = Number(timestamp);
    if (!Number.isInteger(seconds) || Math.abs(Date.now() / 1000 - seconds) > this.#o.maxSkewS) return 'the request timestamp is too far from now';
    const expected = Buffer.from(slackSignature(this.#o.signingSecret, timestamp, raw));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'the signature does not match the signing secret';
    return undefined;
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error(`the body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

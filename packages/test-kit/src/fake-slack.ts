/**
 * A local fake of Slack, written from its published docs (docs.slack.dev: apis/events-api/using-socket-mode,
 * reference/methods/*, apis/web-api/rate-limits, apis/web-api (errors), messaging/formatting-message-text)
 * and checked against what the official SDK (@slack/socket-mode 3, @slack/web-api 8) sends and expects:
 * the SDK is pointed at it through `slackApiUrl` (`apiUrl`), and the socket URL is what
 * apps.connections.open answers.
 *
 * Web API (`POST <url>/api/<method>`, form-encoded or JSON, the token as `Authorization: Bearer`):
 * auth.test, apps.connections.open (app-level token only), chat.postMessage / chat.update /
 * chat.delete, reactions.add / reactions.remove, the files.uploadV2 flow (files.getUploadURLExternal,
 * the upload to the returned URL, files.completeUploadExternal), conversations.open /
 * conversations.history / conversations.replies (with message metadata), users.info. Answers are
 * HTTP 200 with `{ok:true,…}` or `{ok:false,error:"…"}` (invalid_auth, not_authed,
 * not_allowed_token_type, channel_not_found, message_not_found, already_reacted, no_reaction,
 * msg_too_long, no_text, unknown_method).
 * - Rate limits per method and tier (chat.postMessage: per channel, 1 a second with a short
 *   burst; tier 3 ~50 a minute; tier 4 ~100 a minute; apps.connections.open tier 1 with a burst):
 *   past them, HTTP 429 with `Retry-After` (seconds) and `{ok:false,error:"ratelimited"}`
 *   (counted in `rateLimited` per method).
 * - `failNext` injects a 429 with a given Retry-After on one method, a 5xx (optionally after the
 *   message was created: an answer lost on the way back) or a Slack error.
 * - `hold` creates a matching message and keeps its answer back until released (a crash mid-send).
 * - Private files (`url_private_download`) are served only with the bot token as Bearer; without
 *   it Slack answers its HTML sign-in page with 200, and so does this fake.
 *
 * Socket Mode (`ws://…/link/?ticket=…`, one ticket per apps.connections.open): `hello` first;
 * every event is an `events_api` envelope with an `envelope_id` the app must ack
 * (`{"envelope_id":…}`); an envelope not acked within `ackTimeoutMs`, or whose socket closed, is
 * delivered again with `retry_attempt` + 1 and a `retry_reason` (up to `maxRetries` times, then
 * Slack gives up: `undelivered`). `requestDisconnect('refresh_requested' | 'warning' |
 * 'link_disabled')` sends `{type:"disconnect"}`, `drop` cuts every socket. The server pings every
 * `pingMs`; the client's pings are answered (ws does).
 *
 * Block Kit and interactivity (docs.slack.dev: reference/block-kit/blocks, …/block-elements/button-element,
 * interactivity/handling-user-interaction, reference/interaction-payloads/block_actions-payload,
 * reference/methods/chat.postEphemeral): chat.postMessage and chat.update take `blocks` (at most
 * 50; a section's text up to 3,000 characters; an actions block of up to 25 elements; a button's
 * text up to 75, its action_id up to 255 and unique in the block, its value up to 2,000, style
 * `primary` or `danger`), else `invalid_blocks`; chat.update without `blocks` keeps the message's
 * blocks. `press` is a user pressing a button: an `interactive` envelope (Socket Mode) or a
 * form-encoded `payload` POST (Request URL) of type `block_actions`, with the user, the
 * container (channel, message ts, thread ts), the message and the action; it is never
 * redelivered, and one not acked within `ackTimeoutMs` is counted in `unackedInteractions` (the
 * user sees Slack's warning). chat.postEphemeral (tier 4) shows a message to one user only:
 * `ephemerals`, never in `messages`.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { waitOnEvents } from './wait.ts';

export const SLACK_TEAM = 'T0FAKE001';
export const SLACK_APP = 'A0FAKE001';
export const SLACK_BOT_USER = 'U0BOT0001';
export const SLACK_BOT_ID = 'B0BOT0001';
export const SLACK_CHANNEL = 'C0GENERAL1';
export const SLACK_OTHER_CHANNEL = 'C0RANDOM01';

/** The DM channel between the bot and a user. */
export const slackDmOf = (userId: string): string => `D${userId.slice(1)}`;

export interface SlackMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  user: string;
  bot_id?: string;
  text: string;
  /** Block Kit blocks, as they read now. */
  blocks?: Array<Record<string, unknown>>;
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  files: Array<{ id: string; name: string; bytes: Buffer }>;
  deleted: boolean;
  edits: string[];
  at: number;
}

export interface SlackReaction {
  method: 'reactions.add' | 'reactions.remove';
  channel: string;
  ts: string;
  name: string;
}

/** One injected failure of a Web API method (only in `channel` when given: its `channel` / `channel_id` argument). */
export type SlackFailure = { method: string; channel?: string; times?: number } & (
  | { kind: 'rate_limit'; retryAfterS: number }
  | { kind: 'server_error'; status?: 500 | 502 | 503 | 504; afterEffect?: boolean }
  | { kind: 'error'; error: string }
);

export interface FakeSlackOptions {
  /** An envelope not acked within this long is sent again (Slack: a few seconds). */
  ackTimeoutMs?: number;
  /** Redeliveries of an unacked envelope before Slack gives up (Slack: 3). */
  maxRetries?: number;
  /** How often the server pings each socket. */
  pingMs?: number;
  /** chat.postMessage per channel: a burst of this many, then one a second. */
  postBurst?: number;
}

interface Envelope {
  id: string;
  event: Record<string, unknown>;
  /** An interactivity payload (a button press) instead of an event: never redelivered. */
  interactive?: Record<string, unknown>;
  /** The workspace the envelope comes from (another one where the same app is installed); the bot's by default. */
  teamId?: string;
  attempt: number;
  reason: string;
  socket: WebSocket | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** Requests a minute (and the burst) per tier, as documented; chat.postMessage is per channel. */
const TIERS: Record<string, { perMinute: number; burst: number }> = {
  'apps.connections.open': { perMinute: 1, burst: 20 },
  'auth.test': { perMinute: 100, burst: 100 },
  'chat.update': { perMinute: 50, burst: 50 },
  'chat.delete': { perMinute: 50, burst: 50 },
  'reactions.add': { perMinute: 50, burst: 50 },
  'reactions.remove': { perMinute: 50, burst: 50 },
  'conversations.open': { perMinute: 50, burst: 50 },
  'conversations.history': { perMinute: 50, burst: 50 },
  'conversations.replies': { perMinute: 50, burst: 50 },
  'files.getUploadURLExternal': { perMinute: 100, burst: 100 },
  'files.completeUploadExternal': { perMinute: 100, burst: 100 },
  'users.info': { perMinute: 100, burst: 100 },
  'chat.postEphemeral': { perMinute: 100, burst: 100 },
};

class Bucket {
  tokens: number;
  at = Date.now();
  readonly burst: number;
  readonly perSecond: number;
  constructor(burst: number, perSecond: number) {
    this.burst = burst;
    this.perSecond = perSecond;
    this.tokens = burst;
  }
  /** 0 when a call may go now (and takes it), else the seconds until it may. */
  take(): number {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond));
  }
}

const SIGN_IN_PAGE = '<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to your workspace</body></html>';

export class FakeSlack {
  readonly botToken = `xoxb-1-${randomUUID()}`;
  readonly appToken = `xapp-1-${SLACK_APP}-${randomUUID()}`;
  /** Every message in every conversation, in order (bots' and users'). */
  readonly messages: SlackMessage[] = [];
  readonly reactions: SlackReaction[] = [];
  /** chat.update and chat.delete calls that changed a message, with when. */
  readonly updates: Array<{ channel: string; ts: string; text: string; at: number }> = [];
  readonly deletions: Array<{ channel: string; ts: string; at: number }> = [];
  readonly requests: Array<{ method: string; status: number; error?: string; at: number }> = [];
  readonly rateLimited = new Map<string, number>();
  /** Envelope ids the app acked, in order, and the envelopes Slack gave up on. */
  readonly acks: string[] = [];
  readonly undelivered: Array<Record<string, unknown>> = [];
  /** Every envelope sent on a socket (first deliveries and redeliveries). */
  readonly sentEnvelopes: Array<{ id: string; attempt: number; reason: string }> = [];
  /** Messages shown to one user only (chat.postEphemeral). */
  readonly ephemerals: Array<{ channel: string; user: string; text: string; thread_ts?: string; at: number }> = [];
  /** Interactivity envelopes (button presses) the app did not ack in time. */
  readonly unackedInteractions: string[] = [];
  connectionsOpened = 0;
  helloSent = 0;
  /**
   * The HTTP Events API instead of Socket Mode: when set, events are POSTed to this Request URL,
   * signed with `signingSecret` (X-Slack-Signature v0, X-Slack-Request-Timestamp); an answer
   * other than 2xx within `ackTimeoutMs` is retried with X-Slack-Retry-Num / X-Slack-Retry-Reason
   * (`http_timeout`, `http_error`), at once here rather than Slack's 1 and 5 minutes.
   */
  requestUrl: string | undefined;
  readonly signingSecret = randomUUID().replaceAll('-', '');
  /** Every HTTP delivery's answer (status 0: no answer in time or no connection). */
  readonly httpDeliveries: Array<{ id: string; attempt: number; status: number }> = [];
  readonly #options: Required<FakeSlackOptions>;
  readonly #server: Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sockets = new Set<WebSocket>();
  readonly #tickets = new Set<string>();
  readonly #pending = new Map<string, Envelope>();
  readonly #buckets = new Map<string, Bucket>();
  readonly #failures: SlackFailure[] = [];
  readonly #holds: Array<{ pattern: RegExp; arrived: () => void; released: Promise<void> }> = [];
  readonly #listeners = new Set<() => void>();
  readonly #uploads = new Map<string, { name: string; length: number; bytes?: Buffer }>();
  readonly #files = new Map<string, { name: string; bytes: Buffer }>();
  readonly #users = new Map<string, string>();
  #ping: NodeJS.Timeout | undefined;
  #ts = 0;
  #fileSeq = 0;
  url = '';

  constructor(options: FakeSlackOptions = {}) {
    this.#options = { ackTimeoutMs: options.ackTimeoutMs ?? 3000, maxRetries: options.maxRetries ?? 3, pingMs: options.pingMs ?? 5000, postBurst: options.postBurst ?? 5 };
    this.#server = createServer((req, res) => void this.#http(req, res));
    this.#server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const ticket = url.searchParams.get('ticket') ?? '';
      if (url.pathname !== '/link/' || !this.#tickets.delete(ticket)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connected(ws));
    });
  }

  /** The Web API base to give the SDK (`slackApiUrl`, the channel's `api_url`). */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  get connected(): boolean {
    return [...this.#sockets].some((s) => s.readyState === s.OPEN);
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    this.#ping = setInterval(() => {
      for (const s of this.#sockets) if (s.readyState === s.OPEN) s.ping();
    }, this.#options.pingMs);
    return this.url;
  }

  async close(): Promise<void> {
    clearInterval(this.#ping);
    for (const e of this.#pending.values()) clearTimeout(e.timer);
    for (const s of this.#sockets) s.terminate();
    this.#wss.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Waits (on the fake's own events, no polling) until `probe` holds. */
  until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
    return waitOnEvents(
      this.#listeners,
      probe,
      timeoutMs,
      () =>
        `timed out after ${timeoutMs} ms waiting for ${what}; last requests: ${this.requests
          .slice(-15)
          .map((r) => `${r.method} ${r.status}${r.error ? ` ${r.error}` : ''}`)
          .join(', ')}`,
    );
  }

  #changed(): void {
    for (const l of [...this.#listeners]) l();
  }

  setUserName(userId: string, name: string): void {
    this.#users.set(userId, name);
  }

  // --- what users do -------------------------------------------------------------------------

  /** A user writes to the bot directly; returns the message's ts. */
  dm(input: { user: string; text: string; threadTs?: string; files?: Array<{ name: string; bytes: Buffer }> }): string {
    return this.#userMessage({ channel: slackDmOf(input.user), channelType: 'im', ...input, mention: false });
  }

  /** A user writes in a channel, mentioning the bot (`<@bot>` put first unless the text has it) or not. */
  channelMessage(input: { user: string; channel: string; text: string; mention?: boolean; threadTs?: string; files?: Array<{ name: string; bytes: Buffer }> }): string {
    return this.#userMessage({ ...input, channelType: 'channel', mention: input.mention ?? true });
  }

  /**
   * Any event, as Slack would put it in an envelope (edits, bot messages, joins, …); `teamId`: as
   * from another workspace where the same app is installed (one connection carries them all).
   */
  event(event: Record<string, unknown>, options: { teamId?: string } = {}): void {
    this.#deliver({ event_ts: event['ts'] ?? this.#nextTs(), ...event }, options.teamId);
  }

  #userMessage(input: {
    user: string;
    channel: string;
    channelType: string;
    text: string;
    mention: boolean;
    threadTs?: string | undefined;
    files?: Array<{ name: string; bytes: Buffer }> | undefined;
  }): string {
    const ts = this.#nextTs();
    let text = input.text;
    if (input.mention && !text.includes(`<@${SLACK_BOT_USER}>`)) text = `<@${SLACK_BOT_USER}> ${text}`;
    const files = (input.files ?? []).map((f) => this.#hostFile(f.name, f.bytes));
    this.messages.push({
      channel: input.channel,
      ts,
      ...(input.threadTs ? { thread_ts: input.threadTs } : {}),
      user: input.user,
      text,
      files: files.map((f) => ({ id: f.id, name: f.name, bytes: this.#files.get(f.id)!.bytes })),
      deleted: false,
      edits: [],
      at: Date.now(),
    });
    const base = {
      user: input.user,
      text,
      ts,
      channel: input.channel,
      team: SLACK_TEAM,
      event_ts: ts,
      ...(input.threadTs ? { thread_ts: input.threadTs } : {}),
      ...(files.length > 0 ? { files, upload: false } : {}),
      blocks: [],
    };
    // Subscribed to message.channels and app_mention, an app gets both for a mention in a channel.
    this.#deliver({ type: 'message', ...(files.length > 0 ? { subtype: 'file_share' } : {}), channel_type: input.channelType, ...base });
    if (input.mention) this.#deliver({ type: 'app_mention', ...base });
    return ts;
  }

  #hostFile(name: string, bytes: Buffer): { id: string; name: string } & Record<string, unknown> {
    const id = `F${String(++this.#fileSeq).padStart(8, '0')}`;
    this.#files.set(id, { name, bytes });
    const url = `${this.url}/files-pri/${SLACK_TEAM}-${id}/download/${encodeURIComponent(name)}`;
    return { id, name, title: name, mimetype: 'application/octet-stream', filetype: 'binary', size: bytes.length, mode: 'hosted', url_private: url, url_private_download: url };
  }

  #nextTs(): string {
    const seconds = Math.floor(Date.now() / 1000);
    return `${seconds}.${String(++this.#ts).padStart(6, '0')}`;
  }

  /**
   * A user presses a button of a message (`block_actions`); returns the envelope id. Throws when
   * the message (as it reads now) has no such button.
   */
  press(input: { user: string; channel: string; ts: string; actionId: string; teamId?: string }): string {
    const message = this.messages.find((m) => m.channel === input.channel && m.ts === input.ts && !m.deleted);
    if (message === undefined) throw new Error(`fake slack: no message ${input.ts} in ${input.channel}`);
    const found = this.buttonsOf(input.channel, input.ts).find((b) => b.action_id === input.actionId);
    if (found === undefined) throw new Error(`fake slack: message ${input.ts} has no button ${input.actionId}`);
    const { block_id: blockId, ...button } = found;
    const name = this.#users.get(input.user) ?? `user-${input.user.toLowerCase()}`;
    const payload = {
      type: 'block_actions',
      user: { id: input.user, username: name, name, team_id: input.teamId ?? SLACK_TEAM },
      api_app_id: SLACK_APP,
      token: 'verification-token',
      container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false, ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}) },
      trigger_id: `${Date.now()}.${randomUUID().slice(0, 8)}`,
      team: { id: input.teamId ?? SLACK_TEAM, domain: 'fake' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: message.channel, name: message.channel.startsWith('D') ? 'directmessage' : 'general' },
      message: messageJson(message),
      state: { values: {} },
      response_url: `${this.url}/actions/${randomUUID()}`,
      actions: [{ ...button, block_id: blockId, type: 'button', action_ts: this.#nextTs() }],
    };
    const envelope: Envelope = { id: randomUUID(), event: {}, interactive: payload, attempt: 0, reason: '', socket: undefined, timer: undefined };
    this.#pending.set(envelope.id, envelope);
    this.#send(envelope);
    return envelope.id;
  }

  /** The buttons a message shows now (with their actions block's id). */
  buttonsOf(channel: string, ts: string): Array<Record<string, unknown> & { action_id: string; block_id: string }> {
    const message = this.messages.find((m) => m.channel === channel && m.ts === ts && !m.deleted);
    return (message?.blocks ?? []).flatMap((block) =>
      block['type'] === 'actions'
        ? ((block['elements'] ?? []) as Array<Record<string, unknown>>)
            .filter((e) => e['type'] === 'button')
            .map((e) => ({ ...e, action_id: String(e['action_id']), block_id: String(block['block_id'] ?? '') }))
        : [],
    );
  }

  // --- faults ------------------------------------------------------------------------------

  failNext(failure: SlackFailure): void {
    this.#failures.push({ times: 1, ...failure });
  }

  /** The next chat.postMessage whose text matches is created, but its answer waits for `release`. */
  hold(pattern: RegExp): { arrived: Promise<void>; release: () => void } {
    let release!: () => void;
    let arrived!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const arrivedP = new Promise<void>((r) => (arrived = r));
    this.#holds.push({ pattern, arrived, released });
    return { arrived: arrivedP, release };
  }

  /** Sends Socket Mode's `disconnect` message on every open socket. */
  requestDisconnect(reason: 'refresh_requested' | 'warning' | 'link_disabled' = 'refresh_requested'): void {
    for (const s of this.#sockets) if (s.readyState === s.OPEN) s.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'fake-slack' } }));
  }

  /** Cuts every socket without a word (a network failure). */
  drop(): void {
    for (const s of this.#sockets) s.terminate();
  }

  // --- what the bot did ----------------------------------------------------------------------

  /** The bot's messages in a conversation (a thread: its replies), as they read now, deleted ones left out. */
  botMessages(channel: string, threadTs?: string): SlackMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.bot_id === SLACK_BOT_ID && !m.deleted && (threadTs === undefined ? true : m.thread_ts === threadTs));
  }

  // --- Socket Mode ---------------------------------------------------------------------------

  #connected(ws: WebSocket): void {
    this.#sockets.add(ws);
    ws.on('message', (data) => {
      let msg: { envelope_id?: string };
      try {
        msg = JSON.parse(String(data)) as { envelope_id?: string };
      } catch {
        return;
      }
      const envelope = msg.envelope_id === undefined ? undefined : this.#pending.get(msg.envelope_id);
      if (envelope !== undefined) {
        clearTimeout(envelope.timer);
        this.#pending.delete(envelope.id);
        this.acks.push(envelope.id);
      }
      this.#changed();
    });
    ws.on('close', () => {
      this.#sockets.delete(ws);
      // What this socket had not acked goes to the next connection.
      for (const e of this.#pending.values()) {
        if (e.socket === ws) {
          clearTimeout(e.timer);
          e.socket = undefined;
          this.#retry(e, 'socket_closed');
        }
      }
      this.#changed();
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.#sockets.size,
        debug_info: { host: 'fake-slack', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: SLACK_APP },
      }),
    );
    this.helloSent += 1;
    // Envelopes waiting for a connection go out now.
    for (const e of this.#pending.values()) if (e.socket === undefined) this.#send(e);
    this.#changed();
  }

  #deliver(event: Record<string, unknown>, teamId?: string): void {
    const envelope: Envelope = { id: randomUUID(), event, ...(teamId !== undefined ? { teamId } : {}), attempt: 0, reason: '', socket: undefined, timer: undefined };
    this.#pending.set(envelope.id, envelope);
    this.#send(envelope);
  }

  #send(e: Envelope): void {
    if (this.requestUrl !== undefined) return void this.#post(e, this.requestUrl);
    const socket = [...this.#sockets].find((s) => s.readyState === s.OPEN);
    if (socket === undefined) return;
    e.socket = socket;
    if (e.interactive !== undefined) {
      socket.send(JSON.stringify({ envelope_id: e.id, payload: e.interactive, type: 'interactive', accepts_response_payload: false }));
      this.sentEnvelopes.push({ id: e.id, attempt: 0, reason: '' });
      e.timer = setTimeout(() => this.#retry(e, 'timeout'), this.#options.ackTimeoutMs);
      this.#changed();
      return;
    }
    socket.send(
      JSON.stringify({
        envelope_id: e.id,
        payload: {
          token: 'verification-token',
          team_id: e.teamId ?? SLACK_TEAM,
          api_app_id: SLACK_APP,
          event: e.event,
          type: 'event_callback',
          event_id: `Ev${e.id.slice(0, 8).toUpperCase()}`,
          event_time: Math.floor(Date.now() / 1000),
          authorizations: [{ enterprise_id: null, team_id: e.teamId ?? SLACK_TEAM, user_id: SLACK_BOT_USER, is_bot: true, is_enterprise_install: false }],
          is_ext_shared_channel: false,
        },
        type: 'events_api',
        accepts_response_payload: false,
        retry_attempt: e.attempt,
        retry_reason: e.reason,
      }),
    );
    this.sentEnvelopes.push({ id: e.id, attempt: e.attempt, reason: e.reason });
    e.timer = setTimeout(() => {
      e.socket = undefined;
      this.#retry(e, 'timeout');
    }, this.#options.ackTimeoutMs);
    this.#changed();
  }

  /** One delivery over the HTTP Events API (api.slack.com/apis/events-api#responding, /authentication/verifying-requests-from-slack). */
  async #post(e: Envelope, url: string): Promise<void> {
    const interactive = e.interactive !== undefined;
    const body = interactive
      ? new URLSearchParams({ payload: JSON.stringify(e.interactive) }).toString()
      : JSON.stringify({
          token: 'verification-token',
          team_id: e.teamId ?? SLACK_TEAM,
          api_app_id: SLACK_APP,
          event: e.event,
          type: 'event_callback',
          event_id: `Ev${e.id.slice(0, 8).toUpperCase()}`,
          event_time: Math.floor(Date.now() / 1000),
          authorizations: [{ enterprise_id: null, team_id: e.teamId ?? SLACK_TEAM, user_id: SLACK_BOT_USER, is_bot: true, is_enterprise_install: false }],
          is_ext_shared_channel: false,
        });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = `v0=${createHmac('sha256', this.signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    let status = 0;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': interactive ? 'application/x-www-form-urlencoded' : 'application/json',
          'x-slack-request-timestamp': timestamp,
          'x-slack-signature': signature,
          ...(e.attempt > 0 ? { 'x-slack-retry-num': String(e.attempt), 'x-slack-retry-reason': e.reason } : {}),
        },
        body,
        signal: AbortSignal.timeout(this.#options.ackTimeoutMs),
      });
      status = res.status;
      await res.arrayBuffer();
    } catch {
      status = 0;
    }
    this.httpDeliveries.push({ id: e.id, attempt: e.attempt, status });
    this.sentEnvelopes.push({ id: e.id, attempt: e.attempt, reason: e.reason });
    if (status >= 200 && status < 300) {
      this.#pending.delete(e.id);
      this.acks.push(e.id);
      this.#changed();
      return;
    }
    this.#retry(e, status === 0 ? 'http_timeout' : 'http_error');
    this.#changed();
  }

  #retry(e: Envelope, reason: string): void {
    if (!this.#pending.has(e.id)) return;
    // A button press is not delivered again: the user sees Slack's warning instead.
    if (e.interactive !== undefined) {
      this.#pending.delete(e.id);
      this.unackedInteractions.push(e.id);
      this.#changed();
      return;
    }
    if (e.attempt >= this.#options.maxRetries) {
      this.#pending.delete(e.id);
      this.undelivered.push(e.event);
      this.#changed();
      return;
    }
    e.attempt += 1;
    e.reason = reason;
    this.#send(e);
  }

  // --- Web API -------------------------------------------------------------------------------

  async #http(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    try {
      if (req.method === 'GET' && url.pathname.startsWith('/files-pri/')) return this.#download(req, res, url);
      if (req.method === 'POST' && url.pathname.startsWith('/upload/')) return await this.#upload(req, res, url, raw);
      if (req.method === 'POST' && url.pathname.startsWith('/api/')) return await this.#api(req, res, url.pathname.slice(5), raw);
      res.writeHead(404).end();
    } finally {
      this.#changed();
    }
  }

  #download(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const id = /^\/files-pri\/[^-]+-([^/]+)\//.exec(url.pathname)?.[1] ?? '';
    const file = this.#files.get(id);
    if (req.headers.authorization !== `Bearer ${this.botToken}`) {
      res.writeHead(200, { 'content-type': 'text/html' }).end(SIGN_IN_PAGE);
      return;
    }
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.bytes.length }).end(file.bytes);
  }

  async #upload(req: IncomingMessage, res: ServerResponse, url: URL, raw: Buffer): Promise<void> {
    const id = url.pathname.slice('/upload/'.length);
    const upload = this.#uploads.get(id);
    if (upload === undefined) {
      res.writeHead(404).end();
      return;
    }
    const type = req.headers['content-type'] ?? '';
    let bytes = raw;
    if (type.startsWith('multipart/form-data')) {
      const form = await new Request('http://x', { method: 'POST', headers: { 'content-type': type }, body: raw }).formData();
      for (const value of form.values()) {
        if (typeof value !== 'string') {
          bytes = Buffer.from(await value.arrayBuffer());
          break;
        }
      }
    }
    upload.bytes = bytes;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${bytes.length}`);
  }

  async #api(req: IncomingMessage, res: ServerResponse, method: string, raw: Buffer): Promise<void> {
    const reply = (status: number, body: Record<string, unknown> | string, headers: Record<string, string> = {}): void => {
      const error = typeof body === 'object' && body['ok'] === false ? String(body['error']) : undefined;
      this.requests.push({ method, status, ...(error ? { error } : {}), at: Date.now() });
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/html' : 'application/json; charset=utf-8', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const args = parseArgs(req.headers['content-type'] ?? '', raw);
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? (typeof args['token'] === 'string' ? args['token'] : undefined);
    if (token === undefined) return reply(200, { ok: false, error: 'not_authed' });
    if (token !== this.botToken && token !== this.appToken) return reply(200, { ok: false, error: 'invalid_auth' });
    if (method === 'apps.connections.open' ? token !== this.appToken : token === this.appToken) return reply(200, { ok: false, error: 'not_allowed_token_type' });

    const failure = this.#failures.find((f) => f.method === method && (f.channel === undefined || f.channel === String(args['channel'] ?? args['channel_id'] ?? '')));
    let afterEffect = false;
    if (failure !== undefined) {
      failure.times = (failure.times ?? 1) - 1;
      if (failure.times <= 0) this.#failures.splice(this.#failures.indexOf(failure), 1);
      if (failure.kind === 'rate_limit') {
        this.rateLimited.set(method, (this.rateLimited.get(method) ?? 0) + 1);
        return reply(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(failure.retryAfterS) });
      }
      if (failure.kind === 'error') return reply(200, { ok: false, error: failure.error });
      if (!failure.afterEffect) return reply(failure.status ?? 503, '<html><body>Slack is having trouble</body></html>');
      afterEffect = true;
    }
    const limited = this.#limit(method, String(args['channel'] ?? ''));
    if (limited > 0) {
      this.rateLimited.set(method, (this.rateLimited.get(method) ?? 0) + 1);
      return reply(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(limited) });
    }
    const answer = await this.#method(method, args);
    if (afterEffect) return reply((failure as { status?: number }).status ?? 503, '<html><body>Slack is having trouble</body></html>');
    if (answer.hold !== undefined) await answer.hold;
    reply(200, answer.body);
  }

  #limit(method: string, channel: string): number {
    let key = method;
    let bucket: Bucket | undefined;
    if (method === 'chat.postMessage') {
      key = `${method}:${channel}`;
      bucket = this.#buckets.get(key) ?? new Bucket(this.#options.postBurst, 1);
    } else {
      const tier = TIERS[method];
      if (tier === undefined) return 0;
      bucket = this.#buckets.get(key) ?? new Bucket(tier.burst, tier.perMinute / 60);
    }
    this.#buckets.set(key, bucket);
    return bucket.take();
  }

  #conversationOf(id: string): string | undefined {
    if (/^[UW]/.test(id)) return slackDmOf(id);
    if (/^[CDG][A-Z0-9]+$/.test(id)) return id;
    return undefined;
  }

  async #method(method: string, args: Record<string, unknown>): Promise<{ body: Record<string, unknown>; hold?: Promise<void> }> {
    const ok = (body: Record<string, unknown> = {}) => ({ body: { ok: true, ...body } });
    const fail = (error: string) => ({ body: { ok: false, error } });
    const find = (channel: string, ts: string) => this.messages.find((m) => m.channel === channel && m.ts === ts && !m.deleted);
    switch (method) {
      case 'auth.test':
        return ok({ url: 'https://fake.slack.com/', team: 'Fake', user: 'tinybot', team_id: SLACK_TEAM, user_id: SLACK_BOT_USER, bot_id: SLACK_BOT_ID, is_enterprise_install: false });
      case 'apps.connections.open': {
        const ticket = randomUUID();
        this.#tickets.add(ticket);
        this.connectionsOpened += 1;
        return ok({ url: `${this.url.replace(/^http/, 'ws')}/link/?ticket=${ticket}&app_id=${SLACK_APP}` });
      }
      case 'users.info': {
        const user = String(args['user'] ?? '');
        if (!/^[UW]/.test(user)) return fail('user_not_found');
        const name = this.#users.get(user) ?? `user-${user.toLowerCase()}`;
        return ok({ user: { id: user, team_id: SLACK_TEAM, name, real_name: name, profile: { display_name: name, real_name: name } } });
      }
      case 'conversations.open': {
        const users = String(args['users'] ?? '');
        if (!/^[UW][A-Z0-9]+$/.test(users)) return fail('user_not_found');
        return ok({ channel: { id: slackDmOf(users) } });
      }
      case 'chat.postMessage': {
        const channel = this.#conversationOf(String(args['channel'] ?? ''));
        if (channel === undefined) return fail('channel_not_found');
        const text = typeof args['text'] === 'string' ? args['text'] : '';
        if (text === '' && args['blocks'] === undefined) return fail('no_text');
        if (text.length > 40_000) return fail('msg_too_long');
        const blocks = parseBlocks(args['blocks']);
        if (blocks === 'invalid') return fail('invalid_blocks');
        const message = this.#botMessage(channel, text, args);
        if (blocks !== undefined) message.blocks = blocks;
        const held = this.#holds.find((h) => h.pattern.test(text));
        if (held !== undefined) {
          this.#holds.splice(this.#holds.indexOf(held), 1);
          held.arrived();
        }
        return { body: { ok: true, channel, ts: message.ts, message: messageJson(message) }, ...(held ? { hold: held.released } : {}) };
      }
      case 'chat.update': {
        const channel = String(args['channel'] ?? '');
        const message = find(channel, String(args['ts'] ?? ''));
        if (message === undefined) return fail('message_not_found');
        if (message.bot_id !== SLACK_BOT_ID) return fail('cant_update_message');
        const text = typeof args['text'] === 'string' ? args['text'] : '';
        if (text.length > 40_000) return fail('msg_too_long');
        const blocks = parseBlocks(args['blocks']);
        if (blocks === 'invalid') return fail('invalid_blocks');
        // Without `blocks` the message keeps the ones it has.
        if (blocks !== undefined) message.blocks = blocks;
        message.edits.push(text);
        message.text = text;
        this.updates.push({ channel, ts: message.ts, text, at: Date.now() });
        return ok({ channel, ts: message.ts, text });
      }
      case 'chat.postEphemeral': {
        const channel = this.#conversationOf(String(args['channel'] ?? ''));
        if (channel === undefined || !/^[CDG]/.test(String(args['channel'] ?? ''))) return fail('channel_not_found');
        const user = String(args['user'] ?? '');
        if (!/^[UW][A-Z0-9]+$/.test(user)) return fail('user_not_found');
        const text = typeof args['text'] === 'string' ? args['text'] : '';
        if (text === '' && args['blocks'] === undefined) return fail('no_text');
        if (text.length > 40_000) return fail('msg_too_long');
        const thread = args['thread_ts'] === undefined || args['thread_ts'] === '' ? undefined : String(args['thread_ts']);
        this.ephemerals.push({ channel, user, text, ...(thread ? { thread_ts: thread } : {}), at: Date.now() });
        return ok({ message_ts: this.#nextTs() });
      }
      case 'chat.delete': {
        const channel = String(args['channel'] ?? '');
        const message = find(channel, String(args['ts'] ?? ''));
        if (message === undefined) return fail('message_not_found');
        if (message.bot_id !== SLACK_BOT_ID) return fail('cant_delete_message');
        message.deleted = true;
        this.deletions.push({ channel, ts: message.ts, at: Date.now() });
        return ok({ channel, ts: message.ts });
      }
      case 'reactions.add':
      case 'reactions.remove': {
        const channel = String(args['channel'] ?? '');
        const ts = String(args['timestamp'] ?? '');
        const name = String(args['name'] ?? '');
        if (find(channel, ts) === undefined) return fail('message_not_found');
        const has = this.#reactionsOn(channel, ts).has(name);
        if (method === 'reactions.add' && has) return fail('already_reacted');
        if (method === 'reactions.remove' && !has) return fail('no_reaction');
        this.reactions.push({ method, channel, ts, name });
        return ok();
      }
      case 'files.getUploadURLExternal': {
        const filename = String(args['filename'] ?? '');
        const length = Number(args['length']);
        if (filename === '' || !Number.isInteger(length) || length <= 0) return fail('invalid_arguments');
        const id = `F${String(++this.#fileSeq).padStart(8, '0')}`;
        this.#uploads.set(id, { name: filename, length });
        return ok({ upload_url: `${this.url}/upload/${id}`, file_id: id });
      }
      case 'files.completeUploadExternal': {
        let files: Array<{ id: string; title?: string }>;
        try {
          files = (typeof args['files'] === 'string' ? JSON.parse(args['files']) : args['files']) as Array<{ id: string; title?: string }>;
        } catch {
          return fail('invalid_arguments');
        }
        const done: Array<{ id: string; name: string; bytes: Buffer }> = [];
        for (const f of files) {
          const upload = this.#uploads.get(f.id);
          if (upload?.bytes === undefined) return fail('file_not_found');
          done.push({ id: f.id, name: upload.name, bytes: upload.bytes });
        }
        const channelId = args['channel_id'] === undefined ? undefined : this.#conversationOf(String(args['channel_id']));
        if (args['channel_id'] !== undefined && channelId === undefined) return fail('channel_not_found');
        if (channelId !== undefined) {
          const message = this.#botMessage(channelId, typeof args['initial_comment'] === 'string' ? args['initial_comment'] : '', args);
          message.files = done;
        }
        for (const f of files) this.#uploads.delete(f.id);
        return ok({ files: done.map((f) => ({ id: f.id, title: f.name })) });
      }
      case 'conversations.history':
      case 'conversations.replies': {
        const channel = String(args['channel'] ?? '');
        if (this.#conversationOf(channel) === undefined) return fail('channel_not_found');
        const ts = String(args['ts'] ?? '');
        const limit = Number(args['limit'] ?? 100) || 100;
        const all = this.messages.filter(
          (m) => m.channel === channel && !m.deleted && (method === 'conversations.replies' ? m.ts === ts || m.thread_ts === ts : m.thread_ts === undefined || m.thread_ts === m.ts),
        );
        if (method === 'conversations.replies' && all.length === 0) return fail('thread_not_found');
        const withMeta = args['include_all_metadata'] === true || args['include_all_metadata'] === 'true';
        const listed = (method === 'conversations.history' ? all.slice(-limit).reverse() : all.slice(0, limit)).map((m) => messageJson(m, withMeta));
        return ok({ messages: listed, has_more: false });
      }
      default:
        return fail('unknown_method');
    }
  }

  #botMessage(channel: string, text: string, args: Record<string, unknown>): SlackMessage {
    let metadata: SlackMessage['metadata'];
    try {
      const raw = typeof args['metadata'] === 'string' ? JSON.parse(args['metadata']) : args['metadata'];
      if (raw !== undefined && raw !== null) metadata = raw as SlackMessage['metadata'];
    } catch {}
    const thread = args['thread_ts'] === undefined || args['thread_ts'] === '' ? undefined : String(args['thread_ts']);
    const message: SlackMessage = {
      channel,
      ts: this.#nextTs(),
      ...(thread ? { thread_ts: thread } : {}),
      user: SLACK_BOT_USER,
      bot_id: SLACK_BOT_ID,
      text,
      ...(metadata ? { metadata } : {}),
      files: [],
      deleted: false,
      edits: [],
      at: Date.now(),
    };
    this.messages.push(message);
    return message;
  }

  #reactionsOn(channel: string, ts: string): Set<string> {
    const names = new Set<string>();
    for (const r of this.reactions) {
      if (r.channel !== channel || r.ts !== ts) continue;
      if (r.method === 'reactions.add') names.add(r.name);
      else names.delete(r.name);
    }
    return names;
  }

  /** The reactions a message has now. */
  reactionsOn(channel: string, ts: string): string[] {
    return [...this.#reactionsOn(channel, ts)];
  }
}

function messageJson(m: SlackMessage, withMetadata = true): Record<string, unknown> {
  return {
    type: 'message',
    user: m.user,
    ...(m.bot_id ? { bot_id: m.bot_id } : {}),
    text: m.text,
    ts: m.ts,
    ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
    ...(m.metadata && withMetadata ? { metadata: m.metadata } : {}),
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.files.length > 0 ? { files: m.files.map((f) => ({ id: f.id, name: f.name })) } : {}),
  };
}

/** The Web API takes form-encoded or JSON arguments; form values that are JSON stay strings, as Slack reads them. */
function parseArgs(type: string, raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  if (type.startsWith('application/json')) {
    try {
      return JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
}

/** `blocks` as given (a JSON string when form-encoded), checked against Block Kit's limits: undefined when absent, 'invalid' when Slack would refuse them. */
function parseBlocks(raw: unknown): Array<Record<string, unknown>> | undefined | 'invalid' {
  if (raw === undefined) return undefined;
  let blocks: unknown;
  try {
    blocks = typeof raw === 'string' ? JSON.parse(raw) : raw;
  } catch {
    return 'invalid';
  }
  if (!Array.isArray(blocks) || blocks.length > 50) return 'invalid';
  const blockIds = new Set<string>();
  for (const block of blocks as Array<Record<string, unknown>>) {
    if (typeof block !== 'object' || block === null) return 'invalid';
    const id = block['block_id'];
    if (id !== undefined) {
      if (typeof id !== 'string' || id.length > 255 || blockIds.has(id)) return 'invalid';
      blockIds.add(id);
    }
    if (block['type'] === 'section') {
      const text = block['text'] as { type?: string; text?: unknown } | undefined;
      if (text === undefined || (text.type !== 'mrkdwn' && text.type !== 'plain_text') || typeof text.text !== 'string' || text.text.length === 0 || text.text.length > 3000) return 'invalid';
    } else if (block['type'] === 'actions') {
      const elements = block['elements'];
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > 25) return 'invalid';
      const actionIds = new Set<string>();
      for (const e of elements as Array<Record<string, unknown>>) {
        if (e['type'] !== 'button') return 'invalid';
        const text = e['text'] as { type?: string; text?: unknown } | undefined;
        if (text?.type !== 'plain_text' || typeof text.text !== 'string' || text.text.length === 0 || text.text.length > 75) return 'invalid';
        const actionId = e['action_id'];
        if (actionId !== undefined && (typeof actionId !== 'string' || actionId.length > 255 || actionIds.has(actionId))) return 'invalid';
        if (typeof actionId === 'string') actionIds.add(actionId);
        if (e['value'] !== undefined && (typeof e['value'] !== 'string' || e['value'].length > 2000)) return 'invalid';
        if (e['style'] !== undefined && e['style'] !== 'primary' && e['style'] !== 'danger') return 'invalid';
      }
    } else {
      return 'invalid';
    }
  }
  return blocks as Array<Record<string, unknown>>;
}

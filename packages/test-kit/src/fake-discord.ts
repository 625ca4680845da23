/**
 * A local fake of Discord, written from its published API docs (discord.com/developers/docs:
 * topics/gateway, topics/opcodes-and-status-codes, topics/rate-limits, resources/message) and
 * checked against what discord.js 14 (@discordjs/rest 2, @discordjs/ws 1) sends and expects.
 * discord.js is pointed at it through `rest.api`; the gateway URL is what /gateway/bot answers.
 *
 * REST (`<url>/api/v10/…`): gateway/bot, the application (its flags say whether the Message Content
 * intent is on), channels, users, DM creation, typing, messages (JSON or
 * multipart with files), a channel's history (GET messages with `after` and `limit`: everything
 * ever written, also while the bot was away), attachment downloads.
 * - Every message send answers the per-channel bucket's headers (X-RateLimit-Limit, -Remaining,
 *   -Reset, -Reset-After, -Bucket; 5 per 5 s by default) and a client that sends past them gets
 *   a 429 (counted in `unexpected429`: discord.js must never cause one).
 * - `failNext` injects a 429 (Retry-After, X-RateLimit-Scope, X-RateLimit-Global with a global
 *   block on every route while it lasts, the JSON body with retry_after and global), or a 5xx
 *   (JSON or Cloudflare's HTML page), optionally after the message was created (an answer lost
 *   on the way back).
 * - `nonce` with `enforce_nonce`: a nonce the bot used within the nonce window returns the message
 *   created first and creates none (`deduplicated` counts them).
 * - `hold` creates a message and keeps its answer back until released (a crash mid-send).
 * - Live replies: PATCH and DELETE of a bot's message (`edits`, `deletions`; 404 Unknown Message
 *   10008 when it is not there), each with its own per-channel bucket of the same size as sends;
 *   `channelView` is what the channel shows now (deleted messages gone, edited ones as they read).
 * - Components (resources/message, interactions/message-components): a message may carry action
 *   rows of buttons (at most 5 rows of 5; custom_id 1-100 characters, unique in the message;
 *   label up to 80; a style of 1-4 with a custom_id), else 400 Invalid Form Body 50035. A PATCH
 *   with `components` replaces them (`[]` removes them). `componentsOf` shows a message's buttons.
 * - Interactions (interactions/receiving-and-responding): `press` is a user pressing a button:
 *   INTERACTION_CREATE (type 3, component_type 2, the message, the user — `member.user` in a
 *   guild — and a token). The answer goes to POST /interactions/{id}/{token}/callback without
 *   the bot token (type 4 reply, 5 deferred reply, 6 deferred update, 7 update; flag 64 is
 *   ephemeral): only once (400 40060 after), within 3 s of the press (404 10062 Unknown
 *   interaction after). Then the interaction's webhook, also without the bot token:
 *   PATCH/DELETE /webhooks/{application}/{token}/messages/@original (the reply) and POST
 *   /webhooks/{application}/{token} (a follow-up). What each presser sees is `repliesTo(id)`;
 *   ephemeral replies never show in `channelView`.
 *
 * Gateway (uncompressed JSON): HELLO 10, IDENTIFY 2 (a wrong token closes 4004; the Message
 * Content intent without `messageContentIntent` closes 4014), READY / GUILD_CREATE / RESUMED /
 * MESSAGE_CREATE dispatches 0 with a session sequence, HEARTBEAT 1 -> HEARTBEAT_ACK 11, RESUME 6
 * (replays what the session missed, or INVALID_SESSION when the session is gone). A session
 * outlives its connection, so what is dispatched while the bot is disconnected is replayed on
 * RESUME; a new IDENTIFY starts an empty session beside the others (Discord does not redeliver;
 * two processes with one token both get every event). `drop`,
 * `closeWith`, `requestReconnect` (op 7) and `invalidateSession` (op 9) are the faults.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { waitOnEvents } from './wait.ts';

export interface DiscordSent {
  channelId: string;
  id: string;
  content?: string;
  nonce?: string;
  files: Array<{ name: string; bytes: Buffer }>;
  at: number;
}

/** One injected failure of POST /channels/{id}/messages. */
export type DiscordFailure = { channelId?: string; times?: number } & (
  | { kind: 'rate_limit'; retryAfterS: number; global?: boolean; scope?: 'user' | 'shared' }
  | { kind: 'server_error'; status?: 500 | 502 | 503 | 504; html?: boolean; afterCreate?: boolean }
);

/** A button press and what the app answered to it. */
export interface DiscordInteraction {
  id: string;
  token: string;
  userId: string;
  channelId: string;
  messageId: string;
  customId: string;
  at: number;
  /** The callback's type (4, 5, 6, 7) once answered. */
  callback?: number;
  /** The replies (the original, then follow-ups) as the presser sees them now; `ephemeral`: only they do. */
  replies: Array<{ id: string; content: string; ephemeral: boolean; deleted: boolean; deferred: boolean }>;
}

/** Interaction callback types (interactions/receiving-and-responding). */
const CALLBACK_REPLY = 4;
const CALLBACK_DEFERRED_REPLY = 5;
const CALLBACK_DEFERRED_UPDATE = 6;
const CALLBACK_UPDATE = 7;
const EPHEMERAL = 1 << 6;

export interface FakeDiscordOptions {
  /** The per-channel message bucket (Discord: 5 per 5 s). */
  bucketLimit?: number;
  bucketWindowS?: number;
  /** How long a nonce is remembered ("the past few minutes"). */
  nonceWindowMs?: number;
  /** How long after a press its callback is taken (Discord: 3 s). */
  interactionWindowMs?: number;
}

export const BOT = { id: '900000000000000001', username: 'tinybot', discriminator: '0', global_name: 'Tiny', avatar: null, bot: true };
export const GUILD = '800000000000000001';
export const GUILD_CHANNEL = '810000000000000001';
export const OTHER_CHANNEL = '810000000000000002';
export const THREAD = '820000000000000001';
/** GatewayIntentBits.MessageContent (privileged). */
export const MESSAGE_CONTENT_INTENT = 1 << 15;

/** The DM channel between the bot and a user (a snowflake of its own). */
export const dmChannelOf = (userId: string): string => `6${userId.slice(1)}`;

let snowflake = 1_000_000_000_000_000n;
const nextId = (): string => String(++snowflake);

const CLOUDFLARE_502 = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n';

interface Session {
  id: string;
  seq: number;
  /** Every dispatch of the session, for RESUME. */
  dispatched: Array<{ s: number; payload: string }>;
  socket: WebSocket | undefined;
}

interface Hold {
  match: RegExp;
  arrive: () => void;
  released: Promise<void>;
}

export class FakeDiscord {
  /** The bot's token (a `resetToken()` replaces it, as the Developer Portal's Reset Token does). */
  token = 'FAKE.discord.bot-token';
  readonly sent: DiscordSent[] = [];
  readonly typing: string[] = [];
  readonly edits: Array<{ channelId: string; id: string; content: string; at: number }> = [];
  readonly deletions: Array<{ channelId: string; id: string; at: number }> = [];
  readonly identified: Array<Record<string, unknown>> = [];
  /** Every button press, with the app's answers. */
  readonly interactions: DiscordInteraction[] = [];
  readonly resumes: Array<Record<string, unknown>> = [];
  /** Every REST request: method, path (without /api/vN), status answered, when. */
  readonly requests: Array<{ method: string; path: string; status: number; at: number }> = [];
  /** Gateway connections opened so far. */
  connections = 0;
  /** Sends that a nonce turned into the existing message. */
  deduplicated = 0;
  /** 429s the client caused by ignoring the bucket headers (never injected ones). */
  unexpected429 = 0;
  /** The Developer Portal switch: off, IDENTIFY with the Message Content intent closes 4014. */
  messageContentIntent = true;
  url = '';
  readonly #o: Required<FakeDiscordOptions>;
  #server: Server;
  #wss: WebSocketServer;
  #sockets = new Set<WebSocket>();
  /** Every gateway session by id: Discord lets several run at once (each gets every event). */
  #sessions = new Map<string, Session>();
  #channels = new Map<string, Record<string, unknown>>();
  #files = new Map<string, Buffer>();
  /** Every message of each channel, oldest first (users' and the bot's). */
  #history = new Map<string, Array<Record<string, unknown>>>();
  #listeners = new Set<() => void>();
  #failures: Array<DiscordFailure & { times: number }> = [];
  #holds: Hold[] = [];
  #buckets = new Map<string, { used: number; resetAt: number }>();
  #nonces = new Map<string, { message: Record<string, unknown>; at: number }>();
  #globalUntil = 0;

  constructor(options: FakeDiscordOptions = {}) {
    this.#o = { bucketLimit: 5, bucketWindowS: 5, nonceWindowMs: 5 * 60_000, interactionWindowMs: 3000, ...options };
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#wss = new WebSocketServer({ server: this.#server });
    this.#wss.on('connection', (socket) => this.#connect(socket));
    this.#channels.set(GUILD_CHANNEL, { id: GUILD_CHANNEL, type: 0, guild_id: GUILD, name: 'general', position: 0, permission_overwrites: [] });
    this.#channels.set(OTHER_CHANNEL, { id: OTHER_CHANNEL, type: 0, guild_id: GUILD, name: 'random', position: 1, permission_overwrites: [] });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.terminate();
    this.#wss.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** A session is attached to an open connection (after READY or RESUMED). */
  get connected(): boolean {
    return [...this.#sessions.values()].some((session) => session.socket !== undefined);
  }

  /** A user's DM to the bot; returns the message id. */
  dm(input: { userId: string; content: string; attachment?: { name: string; bytes: Buffer } }): string {
    const channelId = dmChannelOf(input.userId);
    this.#channels.set(channelId, { id: channelId, type: 1, recipients: [this.#user(input.userId)] });
    return this.#message(channelId, undefined, input.userId, input.content, [], input.attachment);
  }

  /** A user's message in a guild channel or thread; `mention` adds the bot's mention. */
  guildMessage(input: { userId: string; channelId: string; content: string; mention?: boolean }): string {
    const content = input.mention ? `<@${BOT.id}> ${input.content}` : input.content;
    return this.#message(input.channelId, GUILD, input.userId, content, input.mention ? [BOT] : []);
  }

  /** The buttons a message shows now (none once they were removed or the message is gone). */
  componentsOf(channelId: string, messageId: string): Array<{ customId: string; label: string; style: number; row: number }> {
    const message = (this.#history.get(channelId) ?? []).find((m) => m['id'] === messageId && m['deleted'] !== true);
    const rows = (message?.['components'] ?? []) as Array<{ components?: Array<Record<string, unknown>> }>;
    return rows.flatMap((row, i) => (row.components ?? []).map((b) => ({ customId: String(b['custom_id']), label: String(b['label'] ?? ''), style: Number(b['style']), row: i })));
  }

  /** A message as it reads now. */
  messageOf(channelId: string, messageId: string): { content: string; components: number } | undefined {
    const message = (this.#history.get(channelId) ?? []).find((m) => m['id'] === messageId && m['deleted'] !== true);
    if (message === undefined) return undefined;
    return { content: String(message['content'] ?? ''), components: ((message['components'] ?? []) as unknown[]).length };
  }

  /** A user presses a button of a message (INTERACTION_CREATE); returns the interaction. */
  press(input: { userId: string; channelId: string; messageId: string; customId: string }): DiscordInteraction {
    const message = (this.#history.get(input.channelId) ?? []).find((m) => m['id'] === input.messageId && m['deleted'] !== true);
    if (message === undefined) throw new Error(`fake discord: no message ${input.messageId} in ${input.channelId}`);
    if (!this.componentsOf(input.channelId, input.messageId).some((b) => b.customId === input.customId)) throw new Error(`fake discord: message ${input.messageId} has no button ${input.customId}`);
    const channel = this.#channels.get(input.channelId) ?? (input.channelId === THREAD ? { id: THREAD, type: 11, guild_id: GUILD, parent_id: GUILD_CHANNEL } : undefined);
    const guildId = channel?.['guild_id'] as string | undefined;
    const interaction: DiscordInteraction = { id: nextId(), token: `aW50ZXJhY3Rpb246${nextId()}`, ...input, at: Date.now(), replies: [] };
    this.interactions.push(interaction);
    const user = this.#user(input.userId);
    this.#dispatch('INTERACTION_CREATE', {
      id: interaction.id,
      application_id: BOT.id,
      type: 3,
      data: { custom_id: input.customId, component_type: 2 },
      ...(guildId ? { guild_id: guildId, member: { user, roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0, permissions: '68608' } } : { user }),
      channel_id: input.channelId,
      channel: { id: input.channelId, type: channel?.['type'] ?? 1, ...(guildId ? { guild_id: guildId } : {}) },
      message,
      token: interaction.token,
      version: 1,
      app_permissions: '68608',
      locale: 'en-US',
      ...(guildId ? { guild_locale: 'en-US' } : {}),
      entitlements: [],
      authorizing_integration_owners: { '0': guildId ?? input.userId },
      context: guildId ? 0 : 1,
      attachment_size_limit: 10_485_760,
    });
    return interaction;
  }

  /** What the presser of an interaction sees of the app's answers (the ones deleted left out). */
  repliesTo(interactionId: string): Array<{ content: string; ephemeral: boolean; deferred: boolean }> {
    const interaction = this.interactions.find((i) => i.id === interactionId);
    return (interaction?.replies ?? []).filter((r) => !r.deleted).map(({ content, ephemeral, deferred }) => ({ content, ephemeral, deferred }));
  }

  sentTo(channelId: string): DiscordSent[] {
    return this.sent.filter((s) => s.channelId === channelId);
  }

  /** The next `times` (default 1) message sends (to `channelId`, or any) fail this way. */
  failNext(failure: DiscordFailure): void {
    this.#failures.push({ ...failure, times: failure.times ?? 1 });
  }

  /** The next send whose content matches is created, but its answer waits for `release()`. */
  hold(match: RegExp): { arrived: Promise<void>; release(): void } {
    let arrive!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((r) => (arrive = r));
    const released = new Promise<void>((r) => (release = r));
    this.#holds.push({ match, arrive, released });
    return { arrived, release };
  }

  /** The connection breaks without a close frame (1006): the session stays resumable. */
  drop(): void {
    for (const socket of this.#open()) socket.terminate();
  }

  /** Discord closes the connection with a gateway close code (4000 resumable … 4014 fatal). */
  closeWith(code: number, reason = ''): void {
    for (const socket of this.#open()) socket.close(code, reason);
  }

  /** Opcode 7: the client must reconnect and resume. */
  requestReconnect(): void {
    for (const socket of this.#open()) this.#send(socket, { op: 7, d: null, s: null, t: null });
  }

  /** The token is reset: the old one fails on REST (401) and IDENTIFY (4004); sessions end (op 9). */
  resetToken(): void {
    this.token = `FAKE.discord.reset-${nextId()}`;
    this.invalidateSession(false);
  }

  /** Opcode 9: `resumable` false ends the session (what it missed is gone), true lets it resume. */
  invalidateSession(resumable: boolean): void {
    for (const session of [...this.#sessions.values()].filter((s) => s.socket !== undefined)) {
      if (!resumable) this.#sessions.delete(session.id);
      this.#send(session.socket, { op: 9, d: resumable, s: null, t: null });
    }
  }

  until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
    return waitOnEvents(
      this.#listeners,
      probe,
      timeoutMs,
      () =>
        `fake discord: timed out waiting for ${what}; last requests: ${this.requests
          .slice(-15)
          .map((r) => `${r.method} ${r.path} ${r.status}`)
          .join(', ')}`,
    );
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }

  #user(id: string): Record<string, unknown> {
    return { id, username: `user${id.slice(-4)}`, discriminator: '0', global_name: `User ${id.slice(-4)}`, avatar: null };
  }

  /** The messages of a channel as a user sees them now (oldest first; deleted ones gone, edited ones with their latest text). */
  channelView(channelId: string): Array<{ id: string; content: string; bot: boolean }> {
    return (this.#history.get(channelId) ?? [])
      .filter((m) => m['deleted'] !== true)
      .map((m) => ({ id: String(m['id']), content: String(m['content'] ?? ''), bot: (m['author'] as { id?: string } | undefined)?.id === BOT.id }));
  }

  /** PATCH (edit) or DELETE of a message in `channelId`, with their own per-channel buckets. */
  #changeMessage(
    method: 'PATCH' | 'DELETE',
    channelId: string,
    messageId: string,
    raw: Buffer,
    res: ServerResponse,
    json: (status: number, body: unknown, headers?: Record<string, string>) => void,
  ): void {
    const { headers, limited } = this.#bucket(`${channelId}:${method}`, true);
    headers['x-ratelimit-bucket'] = `fake-${method.toLowerCase()}-${channelId}`;
    if (limited > 0) {
      this.unexpected429 += 1;
      this.#tooManyRequests(res, limited / 1000, false, 'user', headers);
      return;
    }
    const message = (this.#history.get(channelId) ?? []).find((m) => m['id'] === messageId && m['deleted'] !== true);
    if (message === undefined) {
      json(404, { message: 'Unknown Message', code: 10_008 }, headers);
      return;
    }
    if ((message['author'] as { id?: string }).id !== BOT.id) {
      json(403, { message: 'Cannot edit a message authored by another user', code: 50_005 }, headers);
      return;
    }
    if (method === 'DELETE') {
      message['deleted'] = true;
      this.deletions.push({ channelId, id: messageId, at: Date.now() });
      res.writeHead(204, headers).end();
      return;
    }
    const body = JSON.parse(raw.toString() || '{}') as Record<string, unknown>;
    if (typeof body['content'] === 'string') {
      if (body['content'].length > 2000) {
        json(400, { message: 'Invalid Form Body', code: 50_035 }, headers);
        return;
      }
      message['content'] = body['content'];
    }
    if (body['components'] !== undefined) {
      const invalid = componentsError(body['components']);
      if (invalid !== undefined) {
        json(400, { message: 'Invalid Form Body', code: 50_035, errors: { components: { _errors: [{ code: 'INVALID', message: invalid }] } } }, headers);
        return;
      }
      message['components'] = body['components'];
    }
    message['edited_timestamp'] = new Date().toISOString();
    this.edits.push({ channelId, id: messageId, content: String(message['content']), at: Date.now() });
    json(200, message, headers);
  }

  #remember(message: Record<string, unknown>): void {
    const channelId = String(message['channel_id']);
    this.#history.set(channelId, [...(this.#history.get(channelId) ?? []), message]);
  }

  #message(channelId: string, guildId: string | undefined, userId: string, content: string, mentions: unknown[], attachment?: { name: string; bytes: Buffer }): string {
    const id = nextId();
    const attachments = [];
    if (attachment) {
      const fileId = nextId();
      this.#files.set(fileId, attachment.bytes);
      const url = `${this.url}/attachments/${channelId}/${fileId}/${encodeURIComponent(attachment.name)}`;
      attachments.push({ id: fileId, filename: attachment.name, size: attachment.bytes.length, url, proxy_url: url, content_type: 'text/plain' });
    }
    const message = {
      id,
      channel_id: channelId,
      // What the gateway sends so a client can build an uncached channel (a DM's first message).
      channel_type: guildId === undefined ? 1 : channelId === THREAD ? 11 : 0,
      ...(guildId ? { guild_id: guildId, member: { roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 } } : {}),
      author: this.#user(userId),
      content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions,
      mention_roles: [],
      attachments,
      embeds: [],
      pinned: false,
      type: 0,
    };
    this.#remember(message);
    this.#dispatch('MESSAGE_CREATE', message);
    return id;
  }

  #send(socket: WebSocket | undefined, payload: Record<string, unknown>): void {
    if (socket?.readyState === 1) socket.send(JSON.stringify(payload));
  }

  /** The connections sessions are attached to. */
  #open(): WebSocket[] {
    return [...this.#sessions.values()].flatMap((session) => (session.socket ? [session.socket] : []));
  }

  /** A dispatch to one session (or every one): sent if it is connected, kept for RESUME either way. */
  #dispatch(type: string, data: unknown, only?: Session): void {
    for (const session of only ? [only] : this.#sessions.values()) {
      const s = ++session.seq;
      const payload = JSON.stringify({ op: 0, t: type, s, d: data });
      session.dispatched.push({ s, payload });
      if (session.socket?.readyState === 1) session.socket.send(payload);
    }
  }

  #connect(socket: WebSocket): void {
    this.#sockets.add(socket);
    this.connections += 1;
    socket.on('close', () => {
      this.#sockets.delete(socket);
      for (const session of this.#sessions.values()) if (session.socket === socket) session.socket = undefined;
      this.#notify();
    });
    this.#send(socket, { op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null });
    socket.on('message', (raw) => {
      const packet = JSON.parse(String(raw)) as { op: number; d: Record<string, unknown> };
      if (packet.op === 1) this.#send(socket, { op: 11, d: null, s: null, t: null });
      if (packet.op === 2) this.#identify(socket, packet.d);
      if (packet.op === 6) this.#resume(socket, packet.d);
      this.#notify();
    });
  }

  #identify(socket: WebSocket, d: Record<string, unknown>): void {
    this.identified.push(d);
    if (d['token'] !== this.token) {
      socket.close(4004, 'Authentication failed.');
      return;
    }
    if ((Number(d['intents']) & MESSAGE_CONTENT_INTENT) !== 0 && !this.messageContentIntent) {
      socket.close(4014, 'Disallowed intent(s).');
      return;
    }
    // A new session, beside any other (what an old one had not delivered stays with it).
    const session: Session = { id: `session-${nextId()}`, seq: 0, dispatched: [], socket };
    this.#sessions.set(session.id, session);
    this.#dispatch(
      'READY',
      {
        v: 10,
        user: BOT,
        guilds: [{ id: GUILD, unavailable: true }],
        session_id: session.id,
        resume_gateway_url: this.url.replace('http', 'ws'),
        shard: [0, 1],
        application: { id: BOT.id, flags: 0 },
      },
      session,
    );
    this.#dispatch('GUILD_CREATE', this.#guild(), session);
  }

  #resume(socket: WebSocket, d: Record<string, unknown>): void {
    this.resumes.push(d);
    const session = this.#sessions.get(String(d['session_id']));
    if (d['token'] !== this.token) {
      socket.close(4004, 'Authentication failed.');
      return;
    }
    if (session === undefined) {
      this.#send(socket, { op: 9, d: false, s: null, t: null });
      return;
    }
    if (session.socket !== socket) session.socket?.terminate();
    session.socket = socket;
    const from = Number(d['seq']);
    for (const missed of session.dispatched.filter((e) => e.s > from)) socket.send(missed.payload);
    this.#dispatch('RESUMED', {}, session);
  }

  #guild(): Record<string, unknown> {
    return {
      id: GUILD,
      name: 'Fake Guild',
      icon: null,
      owner_id: '1',
      unavailable: false,
      member_count: 2,
      joined_at: new Date().toISOString(),
      large: false,
      roles: [{ id: GUILD, name: '@everyone', permissions: '68608', position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 }],
      emojis: [],
      stickers: [],
      features: [],
      members: [],
      presences: [],
      voice_states: [],
      stage_instances: [],
      guild_scheduled_events: [],
      channels: [...this.#channels.values()].filter((c) => c['guild_id'] === GUILD),
      threads: [
        {
          id: THREAD,
          type: 11,
          guild_id: GUILD,
          parent_id: GUILD_CHANNEL,
          name: 'a thread',
          owner_id: '1',
          thread_metadata: { archived: false, auto_archive_duration: 60, archive_timestamp: new Date().toISOString(), locked: false },
        },
      ],
    };
  }

  /** The bucket headers of a message send in `channelId` (counting this request when `use`). */
  #bucket(channelId: string, use: boolean): { headers: Record<string, string>; limited: number } {
    const now = Date.now();
    let bucket = this.#buckets.get(channelId);
    if (bucket === undefined || now >= bucket.resetAt) {
      bucket = { used: 0, resetAt: now + this.#o.bucketWindowS * 1000 };
      this.#buckets.set(channelId, bucket);
    }
    const limited = bucket.used >= this.#o.bucketLimit ? bucket.resetAt - now : 0;
    if (use && limited === 0) bucket.used += 1;
    const headers = {
      'x-ratelimit-limit': String(this.#o.bucketLimit),
      'x-ratelimit-remaining': String(Math.max(0, this.#o.bucketLimit - bucket.used)),
      'x-ratelimit-reset': (bucket.resetAt / 1000).toFixed(3),
      'x-ratelimit-reset-after': ((bucket.resetAt - now) / 1000).toFixed(3),
      'x-ratelimit-bucket': `fake-messages-${channelId}`,
    };
    return { headers, limited };
  }

  #tooManyRequests(res: ServerResponse, retryAfterS: number, global: boolean, scope: string, headers: Record<string, string> = {}): void {
    res
      .writeHead(429, {
        'content-type': 'application/json',
        // The header is whole seconds rounded up; the body has the precise value.
        'retry-after': String(Math.ceil(retryAfterS)),
        'x-ratelimit-scope': scope,
        ...(global ? { 'x-ratelimit-global': 'true' } : {}),
        ...headers,
      })
      .end(JSON.stringify({ message: 'You are being rate limited.', retry_after: retryAfterS, global }));
  }

  #failureFor(channelId: string): (DiscordFailure & { times: number }) | undefined {
    const index = this.#failures.findIndex((f) => f.channelId === undefined || f.channelId === channelId);
    if (index < 0) return undefined;
    const failure = this.#failures[index]!;
    failure.times -= 1;
    if (failure.times <= 0) this.#failures.splice(index, 1);
    return failure;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const path = url.pathname.replace(/^\/api\/v\d+/, '');
    const entry = { method: req.method ?? 'GET', path, status: 0, at: Date.now() };
    this.requests.push(entry);
    res.once('finish', () => {
      entry.status = res.statusCode;
      this.#notify();
    });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body === undefined ? undefined : JSON.stringify(body));
    };
    const file = /^\/attachments\/[^/]+\/([^/]+)\//.exec(url.pathname);
    if (file) {
      const bytes = this.#files.get(file[1]!);
      if (!bytes) return json(404, { message: 'Unknown Attachment', code: 10_000 });
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes);
      return;
    }
    // The interaction endpoints take no bot token: the interaction's own token is in the path.
    const callback = req.method === 'POST' ? /^\/interactions\/([^/]+)\/([^/]+)\/callback$/.exec(path) : null;
    if (callback) return this.#interactionCallback(callback[1]!, callback[2]!, raw, res, json);
    const hook = /^\/webhooks\/([^/]+)\/([^/]+)(?:\/messages\/([^/]+))?$/.exec(path);
    if (hook && hook[1] === BOT.id) return this.#interactionWebhook(req.method ?? 'GET', hook[2]!, hook[3] === undefined ? undefined : decodeURIComponent(hook[3]), raw, res, json);
    if (req.headers.authorization !== `Bot ${this.token}`) return json(401, { message: '401: Unauthorized', code: 0 });
    if (Date.now() < this.#globalUntil) {
      this.unexpected429 += 1;
      return this.#tooManyRequests(res, (this.#globalUntil - Date.now()) / 1000, true, 'global');
    }
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && path === '/gateway/bot') {
      return json(200, { url: this.url.replace('http', 'ws'), shards: 1, session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 } });
    }
    if (req.method === 'GET' && path === '/applications/@me') {
      // The Developer Portal's switch shows in the flags: GATEWAY_MESSAGE_CONTENT_LIMITED (1 << 19).
      return json(200, {
        id: BOT.id,
        name: BOT.username,
        icon: null,
        description: '',
        bot_public: true,
        bot_require_code_grant: false,
        verify_key: '',
        flags: this.messageContentIntent ? 1 << 19 : 0,
      });
    }
    m = req.method === 'GET' ? /^\/channels\/([^/]+)$/.exec(path) : null;
    if (m) {
      const channel = this.#channels.get(m[1]!) ?? (m[1] === THREAD ? { id: THREAD, type: 11, guild_id: GUILD, parent_id: GUILD_CHANNEL, name: 'a thread' } : undefined);
      return channel ? json(200, channel) : json(404, { message: 'Unknown Channel', code: 10_003 });
    }
    m = req.method === 'GET' ? /^\/channels\/([^/]+)\/messages$/.exec(path) : null;
    if (m) {
      // The `limit` (1-100, default 50) oldest messages after `after`, newest first, as Discord answers.
      const after = BigInt(url.searchParams.get('after') ?? '0');
      const limit = Math.min(100, Number(url.searchParams.get('limit') ?? 50));
      const newer = (this.#history.get(m[1]!) ?? []).filter((message) => message['deleted'] !== true && BigInt(String(message['id'])) > after);
      return json(200, newer.slice(0, limit).reverse());
    }
    m = req.method === 'GET' ? /^\/users\/([^/]+)$/.exec(path) : null;
    if (m) return json(200, this.#user(m[1]!));
    if (req.method === 'POST' && path === '/users/@me/channels') {
      const recipient = (JSON.parse(raw.toString()) as { recipient_id: string }).recipient_id;
      const channel = { id: dmChannelOf(recipient), type: 1, recipients: [this.#user(recipient)] };
      this.#channels.set(channel.id, channel);
      return json(200, channel);
    }
    m = req.method === 'POST' ? /^\/channels\/([^/]+)\/typing$/.exec(path) : null;
    if (m) {
      this.typing.push(m[1]!);
      res.writeHead(204).end();
      return;
    }
    m = req.method === 'POST' ? /^\/channels\/([^/]+)\/messages$/.exec(path) : null;
    if (m) return this.#createMessage(m[1]!, req, res, raw, json);
    m = req.method === 'PATCH' || req.method === 'DELETE' ? /^\/channels\/([^/]+)\/messages\/([^/]+)$/.exec(path) : null;
    if (m) return this.#changeMessage(req.method as 'PATCH' | 'DELETE', m[1]!, m[2]!, raw, res, json);
    return json(404, { message: `fake discord has no ${req.method} ${path}`, code: 0 });
  }

  #interactionCallback(id: string, token: string, raw: Buffer, res: ServerResponse, json: (status: number, body: unknown) => void) {
    const interaction = this.interactions.find((i) => i.id === id && i.token === token);
    if (interaction === undefined || Date.now() - interaction.at > this.#o.interactionWindowMs) return json(404, { message: 'Unknown interaction', code: 10_062 });
    if (interaction.callback !== undefined) return json(400, { message: 'Interaction has already been acknowledged.', code: 40_060 });
    const body = JSON.parse(raw.toString() || '{}') as { type?: number; data?: Record<string, unknown> };
    const data = body.data ?? {};
    const ephemeral = (Number(data['flags'] ?? 0) & EPHEMERAL) !== 0;
    if (body.type === CALLBACK_REPLY || body.type === CALLBACK_DEFERRED_REPLY) {
      const content = typeof data['content'] === 'string' ? data['content'] : '';
      if (content.length > 2000) return json(400, { message: 'Invalid Form Body', code: 50_035 });
      interaction.replies.push({ id: nextId(), content, ephemeral, deleted: false, deferred: body.type === CALLBACK_DEFERRED_REPLY });
    } else if (body.type === CALLBACK_UPDATE) {
      const message = (this.#history.get(interaction.channelId) ?? []).find((m) => m['id'] === interaction.messageId);
      if (message !== undefined && typeof data['content'] === 'string') message['content'] = data['content'];
      if (message !== undefined && data['components'] !== undefined) message['components'] = data['components'];
    } else if (body.type !== CALLBACK_DEFERRED_UPDATE) {
      return json(400, { message: 'Invalid Form Body', code: 50_035 });
    }
    interaction.callback = body.type;
    res.writeHead(204).end();
  }

  #interactionWebhook(method: string, token: string, messageId: string | undefined, raw: Buffer, res: ServerResponse, json: (status: number, body: unknown) => void) {
    const interaction = this.interactions.find((i) => i.token === token);
    if (interaction === undefined) return json(404, { message: 'Unknown Webhook', code: 10_015 });
    if (interaction.callback === undefined) return json(404, { message: 'Unknown Webhook', code: 10_015 });
    const body = JSON.parse(raw.toString() || '{}') as Record<string, unknown>;
    const content = typeof body['content'] === 'string' ? body['content'] : undefined;
    if (content !== undefined && content.length > 2000) return json(400, { message: 'Invalid Form Body', code: 50_035 });
    const asMessage = (reply: DiscordInteraction['replies'][number]) => ({
      id: reply.id,
      channel_id: interaction.channelId,
      author: BOT,
      content: reply.content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      type: 19,
      flags: reply.ephemeral ? EPHEMERAL : 0,
      application_id: BOT.id,
      webhook_id: BOT.id,
    });
    if (messageId === undefined) {
      if (method !== 'POST') return json(405, { message: '405: Method Not Allowed', code: 0 });
      const reply = { id: nextId(), content: content ?? '', ephemeral: (Number(body['flags'] ?? 0) & EPHEMERAL) !== 0, deleted: false, deferred: false };
      interaction.replies.push(reply);
      return json(200, asMessage(reply));
    }
    const reply = messageId === '@original' ? interaction.replies[0] : interaction.replies.find((r) => r.id === messageId);
    if (reply === undefined || reply.deleted) return json(404, { message: 'Unknown Message', code: 10_008 });
    if (method === 'DELETE') {
      reply.deleted = true;
      res.writeHead(204).end();
      return;
    }
    if (method !== 'PATCH') return json(405, { message: '405: Method Not Allowed', code: 0 });
    if (content !== undefined) reply.content = content;
    reply.deferred = false;
    return json(200, asMessage(reply));
  }

  async #createMessage(channelId: string, req: IncomingMessage, res: ServerResponse, raw: Buffer, json: (status: number, body: unknown, headers?: Record<string, string>) => void): Promise<void> {
    const failure = this.#failureFor(channelId);
    if (failure?.kind === 'rate_limit') {
      if (failure.global) this.#globalUntil = Date.now() + failure.retryAfterS * 1000;
      return this.#tooManyRequests(
        res,
        failure.retryAfterS,
        failure.global ?? false,
        failure.global ? 'global' : (failure.scope ?? 'user'),
        failure.global ? {} : this.#bucket(channelId, false).headers,
      );
    }
    const { headers, limited } = this.#bucket(channelId, true);
    if (limited > 0) {
      this.unexpected429 += 1;
      return this.#tooManyRequests(res, limited / 1000, false, 'user', headers);
    }
    const serverError = (): void => {
      const status = failure?.kind === 'server_error' ? (failure.status ?? 502) : 502;
      if (failure?.kind === 'server_error' && failure.html) res.writeHead(status, { 'content-type': 'text/html' }).end(CLOUDFLARE_502);
      else json(status, { message: 'Internal Server Error', code: 0 });
    };
    if (failure?.kind === 'server_error' && !failure.afterCreate) return serverError();

    const type = req.headers['content-type'] ?? '';
    let body: Record<string, unknown> = {};
    const files: Array<{ name: string; bytes: Buffer }> = [];
    if (type.startsWith('multipart/form-data')) {
      const form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': type }, body: raw }).formData();
      for (const [key, value] of form.entries()) {
        if (key === 'payload_json' && typeof value === 'string') body = JSON.parse(value) as Record<string, unknown>;
        else if (typeof value !== 'string') files.push({ name: value.name, bytes: Buffer.from(await value.arrayBuffer()) });
      }
    } else {
      body = JSON.parse(raw.toString()) as Record<string, unknown>;
    }
    const content = typeof body['content'] === 'string' ? body['content'] : undefined;
    if (content !== undefined && content.length > 2000) return json(400, { message: 'Invalid Form Body', code: 50_035 }, headers);
    const invalid = body['components'] === undefined ? undefined : componentsError(body['components']);
    if (invalid !== undefined) return json(400, { message: 'Invalid Form Body', code: 50_035, errors: { components: { _errors: [{ code: 'INVALID', message: invalid }] } } }, headers);
    const nonce = typeof body['nonce'] === 'string' || typeof body['nonce'] === 'number' ? String(body['nonce']) : undefined;
    if (nonce !== undefined && nonce.length > 25) return json(400, { message: 'Invalid Form Body', code: 50_035, errors: { nonce: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } } }, headers);
    const known = nonce !== undefined && body['enforce_nonce'] === true ? this.#nonces.get(nonce) : undefined;
    let message: Record<string, unknown>;
    if (known !== undefined && Date.now() - known.at < this.#o.nonceWindowMs) {
      this.deduplicated += 1;
      message = known.message;
    } else {
      const id = nextId();
      message = {
        id,
        channel_id: channelId,
        author: BOT,
        content: content ?? '',
        timestamp: new Date().toISOString(),
        edited_timestamp: null,
        tts: false,
        mention_everyone: false,
        mentions: [],
        mention_roles: [],
        attachments: [],
        embeds: [],
        pinned: false,
        type: 0,
        ...(Array.isArray(body['components']) ? { components: body['components'] } : {}),
        ...(nonce !== undefined ? { nonce } : {}),
      };
      if (nonce !== undefined) this.#nonces.set(nonce, { message, at: Date.now() });
      this.#remember(message);
      this.sent.push({ channelId, id, ...(content !== undefined ? { content } : {}), ...(nonce !== undefined ? { nonce } : {}), files, at: Date.now() });
      // The bot's own message comes back on the gateway too (discord.js ignores it as a bot's).
      this.#dispatch('MESSAGE_CREATE', { ...message, ...(this.#channels.get(channelId)?.['guild_id'] ? { guild_id: GUILD } : {}) });
    }
    const hold = content === undefined ? undefined : this.#holds.find((h) => h.match.test(content));
    if (hold !== undefined) {
      this.#holds.splice(this.#holds.indexOf(hold), 1);
      hold.arrive();
      this.#notify();
      await hold.released;
    }
    if (failure?.kind === 'server_error') return serverError();
    json(200, message, headers);
  }
}

/** Why a message's `components` break Discord's rules (undefined: they do not). */
function componentsError(components: unknown): string | undefined {
  if (!Array.isArray(components)) return 'components must be an array';
  if (components.length > 5) return 'at most 5 action rows';
  const ids = new Set<string>();
  for (const row of components as Array<Record<string, unknown>>) {
    if (row['type'] !== 1 || !Array.isArray(row['components'])) return 'a top-level component must be an action row';
    const buttons = row['components'] as Array<Record<string, unknown>>;
    if (buttons.length === 0 || buttons.length > 5) return 'an action row holds 1 to 5 buttons';
    for (const b of buttons) {
      if (b['type'] !== 2) return 'only buttons are supported here';
      const id = b['custom_id'];
      if (typeof id !== 'string' || id.length === 0 || id.length > 100) return 'custom_id must be 1 to 100 characters';
      if (ids.has(id)) return 'custom_id must be unique in the message';
      ids.add(id);
      if (typeof b['label'] === 'string' && b['label'].length > 80) return 'label must be at most 80 characters';
      if (![1, 2, 3, 4].includes(Number(b['style']))) return 'a button with a custom_id has style 1 to 4';
    }
  }
  return undefined;
}

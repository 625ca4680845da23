/**
 * A local fake of Discord: the REST API (`<url>/api/v10/…`: gateway/bot, channels, messages,
 * typing, DM creation, attachment downloads) and the gateway WebSocket speaking the real
 * opcodes (HELLO 10, IDENTIFY 2, READY / GUILD_CREATE / MESSAGE_CREATE dispatches 0,
 * HEARTBEAT 1 -> HEARTBEAT_ACK 11), uncompressed JSON. discord.js is pointed at it through
 * `rest.api`; the gateway URL is what /gateway/bot answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { waitOnEvents } from './wait.ts';

export interface DiscordSent {
  channelId: string;
  content?: string;
  nonce?: string;
  files: Array<{ name: string; bytes: Buffer }>;
  at: number;
}

export const BOT = { id: '900000000000000001', username: 'tinybot', discriminator: '0', global_name: 'Tiny', avatar: null, bot: true };
export const GUILD = '800000000000000001';
export const GUILD_CHANNEL = '810000000000000001';
export const OTHER_CHANNEL = '810000000000000002';
export const THREAD = '820000000000000001';

/** The DM channel between the bot and a user (a snowflake of its own). */
export const dmChannelOf = (userId: string): string => `6${userId.slice(1)}`;

let snowflake = 1_000_000_000_000_000n;
const nextId = (): string => String(++snowflake);

export class FakeDiscord {
  readonly token = 'FAKE.discord.bot-token';
  readonly sent: DiscordSent[] = [];
  readonly typing: string[] = [];
  readonly identified: Array<Record<string, unknown>> = [];
  url = '';
  #server: Server;
  #wss: WebSocketServer;
  #sockets = new Set<WebSocket>();
  #seq = 0;
  #channels = new Map<string, Record<string, unknown>>();
  #files = new Map<string, Buffer>();
  #listeners = new Set<() => void>();

  constructor() {
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

  get connected(): boolean {
    return this.identified.length > 0 && this.#sockets.size > 0;
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

  sentTo(channelId: string): DiscordSent[] {
    return this.sent.filter((s) => s.channelId === channelId);
  }

  until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
    return waitOnEvents(this.#listeners, probe, timeoutMs, () => `fake discord: timed out waiting for ${what}`);
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }

  #user(id: string): Record<string, unknown> {
    return { id, username: `user${id.slice(-4)}`, discriminator: '0', global_name: `User ${id.slice(-4)}`, avatar: null };
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
    this.#dispatch('MESSAGE_CREATE', {
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
    });
    return id;
  }

  #send(socket: WebSocket, payload: Record<string, unknown>): void {
    socket.send(JSON.stringify(payload));
  }

  #dispatch(type: string, data: unknown): void {
    for (const socket of this.#sockets) this.#send(socket, { op: 0, t: type, s: ++this.#seq, d: data });
  }

  #connect(socket: WebSocket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    this.#send(socket, { op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null });
    socket.on('message', (raw) => {
      const packet = JSON.parse(String(raw)) as { op: number; d: Record<string, unknown> };
      if (packet.op === 1) this.#send(socket, { op: 11, d: null, s: null, t: null });
      if (packet.op === 2) {
        this.identified.push(packet.d);
        this.#send(socket, {
          op: 0,
          t: 'READY',
          s: ++this.#seq,
          d: {
            v: 10,
            user: BOT,
            guilds: [{ id: GUILD, unavailable: true }],
            session_id: 'fake-session',
            resume_gateway_url: this.url.replace('http', 'ws'),
            shard: [0, 1],
            application: { id: BOT.id, flags: 0 },
          },
        });
        this.#send(socket, {
          op: 0,
          t: 'GUILD_CREATE',
          s: ++this.#seq,
          d: {
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
          },
        });
        this.#notify();
      }
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(body === undefined ? undefined : JSON.stringify(body));
      this.#notify();
    };
    const file = /^\/attachments\/[^/]+\/([^/]+)\//.exec(url.pathname);
    if (file) {
      const bytes = this.#files.get(file[1]!);
      if (!bytes) return json(404, { message: 'Unknown Attachment', code: 10_000 });
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes);
      return;
    }
    if (req.headers.authorization !== `Bot ${this.token}`) return json(401, { message: '401: Unauthorized', code: 0 });
    const path = url.pathname.replace(/^\/api\/v\d+/, '');
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && path === '/gateway/bot') {
      return json(200, { url: this.url.replace('http', 'ws'), shards: 1, session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 } });
    }
    m = req.method === 'GET' ? /^\/channels\/([^/]+)$/.exec(path) : null;
    if (m) {
      const channel = this.#channels.get(m[1]!) ?? (m[1] === THREAD ? { id: THREAD, type: 11, guild_id: GUILD, parent_id: GUILD_CHANNEL, name: 'a thread' } : undefined);
      return channel ? json(200, channel) : json(404, { message: 'Unknown Channel', code: 10_003 });
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
      this.#notify();
      return;
    }
    m = req.method === 'POST' ? /^\/channels\/([^/]+)\/messages$/.exec(path) : null;
    if (m) {
      const channelId = m[1]!;
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
      if (content !== undefined && content.length > 2000) return json(400, { message: 'Invalid Form Body', code: 50_035 });
      const nonce = typeof body['nonce'] === 'string' ? body['nonce'] : undefined;
      this.sent.push({ channelId, ...(content !== undefined ? { content } : {}), ...(nonce !== undefined ? { nonce } : {}), files, at: Date.now() });
      return json(200, {
        id: nextId(),
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
      });
    }
    return json(404, { message: `fake discord has no ${req.method} ${path}`, code: 0 });
  }
}

/**
 * WhatsApp through Baileys 7 (the multi-device WebSocket protocol; no browser). Routes are chat
 * JIDs (`<number>@s.whatsapp.net`, `<id>@g.us`); a proactive message's sender id is a JID too.
 *
 * - Login: the QR code is printed to the log (`tinyagi logs whatsapp -f`) and written to
 *   `channels/whatsapp/qr.txt` (0600) until the phone scanned it; the auth state lives in
 *   `channels/whatsapp/auth/` (the runner makes every file it creates private). The login state
 *   (`connecting`, `qr` with the code, `open`, `closed`, `logged_out`) is kept in
 *   `channels/whatsapp/state.json`, which `GET /api/channels/whatsapp/login` and
 *   `tinyagi channel login whatsapp` read.
 * - A closed connection reconnects with exponential backoff (1 s, 2 s, 4 s … 60 s, reset once
 *   open). A session WhatsApp logged out is fatal: `onFatal` says how to log in again.
 * - 1:1 chats always reach the host; in groups only messages that mention the bot (by its phone
 *   number or its LID) do, without the mention. Own messages, status broadcasts and newsletters
 *   are skipped. Messages delivered while the device was offline (Baileys' `append` upserts) are
 *   handled like live ones (`notify`); wrappers (disappearing, view-once, document with caption)
 *   are unwrapped the way Baileys' normalizeMessageContent does.
 * - A send resolves once Baileys wrote it to the socket (it does not wait for the server's ack),
 *   and Baileys sends the delivery receipt before it hands a message over: neither direction has
 *   a platform redelivery to fall back on.
 * - Live replies: typing, and one short status message while a run works longer than a moment,
 *   deleted for everyone once the answer is there (phones show "This message was deleted" in its
 *   place). It is never edited: WhatsApp's edits arrive unreliably on older and linked devices.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PermanentSendError, type ChannelAdapter, type InboundFile, type InboundMessage, type InboundSink, type LiveReplyAdapter, type OutboundMessage } from '../adapter.ts';
import type { ChannelLog } from '../host.ts';
import { errorWithCauses } from '../retry.ts';

export const WHATSAPP_MAX_MESSAGE = 65_000;
const LOGGED_OUT = 401;

/** The part of a Baileys message this adapter reads. */
export interface WhatsAppMessage {
  key: { remoteJid?: string | null; fromMe?: boolean | null; id?: string | null; participant?: string | null };
  pushName?: string | null;
  message?: Record<string, unknown> | null;
}

/** The part of Baileys' socket this adapter uses (its boundary; tests pass a fake). */
export interface WhatsAppSocket {
  ev: {
    on(event: 'connection.update', listener: (update: { connection?: string; qr?: string; lastDisconnect?: { error?: unknown } }) => void): void;
    on(event: 'messages.upsert', listener: (upsert: { messages: WhatsAppMessage[]; type: string }) => void): void;
    on(event: 'creds.update', listener: (...args: unknown[]) => void): void;
  };
  /** The linked account: phone-number JID and (Baileys 7) its LID. */
  user?: { id: string; lid?: string | undefined } | undefined;
  sendMessage(jid: string, content: Record<string, unknown>): Promise<unknown>;
  sendPresenceUpdate(type: 'composing' | 'paused', jid: string): Promise<void>;
  end(error: Error | undefined): void;
}

export interface WhatsAppSocketFactory {
  /** Opens a socket with the auth state in `authDir`; `saveCreds` must run on every creds.update. */
  open(authDir: string): Promise<{ socket: WhatsAppSocket; saveCreds: () => Promise<void> }>;
  download(message: WhatsAppMessage): Promise<Uint8Array>;
}

export interface WhatsAppAdapterOptions {
  /** TINYAGI_HOME/channels/whatsapp. */
  stateDir: string;
  factory?: WhatsAppSocketFactory;
  log?: ChannelLog;
  /** Shows a QR code (default: printed with qrcode-terminal). */
  showQr?: (qr: string) => void;
  /** Called once when the session cannot continue (logged out). */
  onFatal?: (message: string) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** The real Baileys socket, loaded only when used (tests never load it). */
export const baileysFactory: WhatsAppSocketFactory = {
  async open(authDir) {
    const baileys = await import('baileys');
    const { state, saveCreds } = await baileys.useMultiFileAuthState(authDir);
    const socket = baileys.makeWASocket({ auth: state, browser: baileys.Browsers.appropriate('TinyAGI') }) as unknown as WhatsAppSocket;
    return { socket, saveCreds };
  },
  async download(message) {
    const baileys = await import('baileys');
    return (await baileys.downloadMediaMessage(message as never, 'buffer', {})) as Uint8Array;
  },
};

/**
 * A socket factory from a module (`channels.whatsapp.socket_module`), whose
 * `createSocketFactory(block)` replaces Baileys' network socket: for tests, which run Baileys
 * above a loopback transport (WhatsApp's Noise handshake cannot be faked). Loaded on first use.
 */
export function moduleSocketFactory(path: string, block: Record<string, unknown>): WhatsAppSocketFactory {
  let loaded: Promise<WhatsAppSocketFactory> | undefined;
  const load = (): Promise<WhatsAppSocketFactory> =>
    (loaded ??= import(pathToFileURL(path).href).then((m: { createSocketFactory: (b: Record<string, unknown>) => WhatsAppSocketFactory }) => m.createSocketFactory(block)));
  return { open: async (dir) => (await load()).open(dir), download: async (message) => (await load()).download(message) };
}

/** A QR code as terminal text (qrcode-terminal, loaded when needed). */
export async function renderQr(text: string): Promise<string> {
  // qrcode-terminal ships no types: its one function, typed here.
  const specifier: string = 'qrcode-terminal';
  const { default: qrcode } = (await import(specifier)) as { default: { generate(text: string, options: { small: boolean }, callback: (output: string) => void): void } };
  return new Promise((resolve) => qrcode.generate(text, { small: true }, resolve));
}

function statusCodeOf(error: unknown): number | undefined {
  const output = (error as { output?: { statusCode?: unknown } } | undefined)?.output;
  return typeof output?.statusCode === 'number' ? output.statusCode : undefined;
}

/** `123:4@s.whatsapp.net` -> `123@s.whatsapp.net` (the device suffix is not part of the user). */
function normalizeJid(jid: string): string {
  const [user, server] = jid.split('@');
  return `${(user ?? '').split(':')[0]}@${server ?? ''}`;
}

/** The wrappers Baileys' normalizeMessageContent unwraps (edits come as protocol messages: ignored). */
const WRAPPERS = ['ephemeralMessage', 'viewOnceMessage', 'documentWithCaptionMessage', 'viewOnceMessageV2', 'viewOnceMessageV2Extension'];

function normalizeContent(message: Record<string, unknown>): Record<string, unknown> {
  let content = message;
  for (let depth = 0; depth < 5; depth++) {
    const wrapper = WRAPPERS.map((key) => content[key]).find(
      (v): v is { message: Record<string, unknown> } => typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'object',
    );
    if (wrapper === undefined) break;
    content = wrapper.message;
  }
  return content;
}

const MEDIA: Array<{ key: string; name: (id: string, m: Record<string, unknown>) => string }> = [
  { key: 'imageMessage', name: (id) => `image_${id}.jpg` },
  { key: 'documentMessage', name: (id, m) => (typeof m['fileName'] === 'string' ? m['fileName'] : `document_${id}`) },
  { key: 'audioMessage', name: (id) => `audio_${id}.ogg` },
  { key: 'videoMessage', name: (id) => `video_${id}.mp4` },
];

export class WhatsAppAdapter implements ChannelAdapter {
  readonly name = 'whatsapp';
  readonly maxMessageLength = WHATSAPP_MAX_MESSAGE;
  readonly #o: WhatsAppAdapterOptions;
  readonly #factory: WhatsAppSocketFactory;
  #socket: WhatsAppSocket | undefined;
  #sink: InboundSink | undefined;
  #attempt = 0;
  #delays: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #connected: (() => void) | undefined;

  constructor(options: WhatsAppAdapterOptions) {
    this.#o = options;
    this.#factory = options.factory ?? baileysFactory;
  }

  get authDir(): string {
    return join(this.#o.stateDir, 'auth');
  }

  get qrFile(): string {
    return join(this.#o.stateDir, 'qr.txt');
  }

  get stateFile(): string {
    return join(this.#o.stateDir, 'state.json');
  }

  #writeState(state: 'connecting' | 'qr' | 'open' | 'closed' | 'logged_out', qr: string | null = null): void {
    const tmp = `${this.stateFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ state, qr, at: Date.now() }), { mode: 0o600 });
    renameSync(tmp, this.stateFile);
  }

  /** Resolves once connected (after the QR code was scanned, on a first login). */
  async start(sink: InboundSink): Promise<void> {
    this.#sink = sink;
    mkdirSync(this.authDir, { recursive: true, mode: 0o700 });
    await new Promise<void>((resolve) => {
      this.#connected = resolve;
      void this.#open();
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#socket?.end(undefined);
  }

  async send(route: string, message: OutboundMessage): Promise<void> {
    const socket = this.#socket;
    if (socket === undefined) throw new Error('WhatsApp is not connected');
    if (message.text.trim() !== '') await socket.sendMessage(route, { text: message.text });
    for (const path of message.files) {
      const ext = extname(path).toLowerCase();
      if (['.jpg', '.jpeg', '.png', '.webp'].includes(ext)) await socket.sendMessage(route, { image: { url: path } });
      else if (ext === '.ogg' || ext === '.opus') await socket.sendMessage(route, { audio: { url: path }, mimetype: 'audio/ogg; codecs=opus', ptt: true });
      else await socket.sendMessage(route, { document: { url: path }, fileName: basename(path), mimetype: 'application/octet-stream' });
    }
  }

  async sendTyping(route: string): Promise<void> {
    await this.#socket?.sendPresenceUpdate('composing', route);
  }

  readonly live: LiveReplyAdapter = {
    editIntervalMs: 0,
    editable: false,
    edit: () => Promise.reject(new PermanentSendError('WhatsApp status messages are not edited')),
    post: async (route, text) => {
      const socket = this.#socket;
      if (socket === undefined) throw new Error('WhatsApp is not connected');
      const sent = (await socket.sendMessage(route, { text })) as { key?: { id?: string | null } } | undefined;
      const id = sent?.key?.id;
      if (typeof id !== 'string' || id === '') throw new Error('WhatsApp gave the status message no id');
      return id;
    },
    remove: async (route, messageId) => {
      const socket = this.#socket;
      if (socket === undefined) throw new Error('WhatsApp is not connected');
      await socket.sendMessage(route, { delete: { remoteJid: route, fromMe: true, id: messageId } });
    },
  };

  async #open(): Promise<void> {
    const log = this.#o.log ?? (() => {});
    this.#writeState('connecting');
    let opened: Awaited<ReturnType<WhatsAppSocketFactory['open']>>;
    try {
      opened = await this.#factory.open(this.authDir);
    } catch (err) {
      log('error', `whatsapp: could not open a connection: ${err instanceof Error ? err.message : String(err)}`);
      this.#sink?.connection?.('reconnecting', `whatsapp: could not open a connection: ${errorWithCauses(err)}`);
      this.#reconnect();
      return;
    }
    const { socket, saveCreds } = opened;
    this.#socket = socket;
    socket.ev.on('creds.update', () => void saveCreds().catch((err: unknown) => log('error', `whatsapp: could not save the session: ${String(err)}`)));
    socket.ev.on('connection.update', (update) => {
      if (socket !== this.#socket) return;
      if (update.qr !== undefined) this.#showQr(update.qr);
      if (update.connection === 'open') {
        this.#attempt = 0;
        rmSync(this.qrFile, { force: true });
        this.#writeState('open');
        log('info', `whatsapp connected as ${socket.user?.id ?? '?'}`);
        this.#sink?.connection?.('connected');
        this.#connected?.();
        this.#connected = undefined;
      }
      if (update.connection === 'close') {
        const code = statusCodeOf(update.lastDisconnect?.error);
        if (code === LOGGED_OUT) {
          this.#stopped = true;
          this.#writeState('logged_out');
          const message = 'WhatsApp logged this device out. Run `tinyagi channel reset whatsapp`, then scan the new QR code (`tinyagi logs whatsapp -f`).';
          log('error', message);
          this.#o.onFatal?.(message);
          return;
        }
        this.#writeState('closed');
        log('warn', `whatsapp connection closed (${code ?? 'no status'}); reconnecting`);
        this.#sink?.connection?.('reconnecting', `whatsapp connection closed (${code ?? 'no status'}${update.lastDisconnect?.error ? `: ${errorWithCauses(update.lastDisconnect.error)}` : ''})`);
        this.#reconnect();
      }
    });
    socket.ev.on('messages.upsert', (upsert) => {
      // 'append' is also what Baileys gives messages that waited while the device was offline.
      if (upsert.type !== 'notify' && upsert.type !== 'append') return;
      for (const message of upsert.messages) {
        const inbound = this.#toInbound(message);
        if (inbound !== undefined) this.#sink?.receive(inbound).catch((err: unknown) => log('error', `whatsapp message ${inbound.platformMessageId}: ${String(err)}`));
      }
    });
  }

  /** Exponential backoff; a connection that opens resets it. */
  #reconnect(): void {
    if (this.#stopped) return;
    const min = this.#o.minBackoffMs ?? 1000;
    const delay = Math.min(this.#o.maxBackoffMs ?? 60_000, min * 2 ** this.#attempt);
    this.#attempt += 1;
    this.#delays = [...this.#delays.slice(-9), delay];
    this.#timer = setTimeout(() => void this.#open(), delay);
    this.#timer.unref();
  }

  /** Exposed for tests: how many reconnects since the last open connection. */
  get reconnectAttempts(): number {
    return this.#attempt;
  }

  /** Exposed for tests: the waits before the last reconnects (ms, at most ten, oldest first). */
  get reconnectDelaysMs(): readonly number[] {
    return this.#delays;
  }

  #showQr(qr: string): void {
    writeFileSync(this.qrFile, qr, { mode: 0o600 });
    this.#writeState('qr', qr);
    if (this.#o.showQr) {
      this.#o.showQr(qr);
      return;
    }
    void renderQr(qr).then((out) => (this.#o.log ?? (() => {}))('info', `scan this QR code with WhatsApp (Linked devices):\n${out}`));
  }

  #toInbound(message: WhatsAppMessage): InboundMessage | undefined {
    const jid = message.key.remoteJid;
    const id = message.key.id;
    if (!jid || !id || message.key.fromMe || message.message == null || jid === 'status@broadcast' || jid.endsWith('@newsletter')) return undefined;
    const m = normalizeContent(message.message);
    const sub = (key: string): Record<string, unknown> | undefined => (typeof m[key] === 'object' && m[key] !== null ? (m[key] as Record<string, unknown>) : undefined);
    const caption = ['imageMessage', 'documentMessage', 'videoMessage'].map((k) => sub(k)?.['caption']).find((c) => typeof c === 'string') as string | undefined;
    let text = (typeof m['conversation'] === 'string' ? m['conversation'] : undefined) ?? (sub('extendedTextMessage')?.['text'] as string | undefined) ?? caption ?? '';
    const isGroup = jid.endsWith('@g.us');
    if (isGroup) {
      const user = this.#socket?.user;
      if (user === undefined) return undefined;
      // Groups address members by LID (Baileys 7) or by phone number: either names the bot.
      const own = [user.id, user.lid].filter((j): j is string => typeof j === 'string').map(normalizeJid);
      const mentions = ['extendedTextMessage', 'imageMessage', 'videoMessage', 'documentMessage'].flatMap((k) => {
        const listed = (sub(k)?.['contextInfo'] as { mentionedJid?: unknown } | undefined)?.mentionedJid;
        return Array.isArray(listed) ? listed.filter((j): j is string => typeof j === 'string') : [];
      });
      if (!mentions.some((j) => own.includes(normalizeJid(j)))) return undefined;
      for (const mine of own) text = text.replace(new RegExp(`@${mine.split('@')[0]}\\b`, 'g'), '');
      text = text.trim();
    }
    const files: InboundFile[] = [];
    for (const media of MEDIA) {
      const body = sub(media.key);
      if (body === undefined) continue;
      const size = Number(body['fileLength']);
      files.push({ name: media.name(id, body), ...(Number.isFinite(size) ? { size } : {}), download: () => this.#factory.download(message) });
    }
    if (text === '' && files.length === 0) return undefined;
    const sender = isGroup ? (message.key.participant ?? jid) : jid;
    // In a group the pairing code goes to the sender's own chat (its JID is the senderId).
    return { platformMessageId: id, senderId: sender, sender: message.pushName ?? sender.split('@')[0] ?? sender, route: jid, text, files, isPrivate: !isGroup };
  }
}

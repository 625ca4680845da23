/**
 * Baileys at its socket boundary: a fake of the socket the WhatsApp adapter gets from
 * makeWASocket (an event emitter with connection.update, messages.upsert and creds.update;
 * sendMessage; sendPresenceUpdate; end), plus the factory that opens one per connection.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { WhatsAppMessage, WhatsAppSocket, WhatsAppSocketFactory } from '../../src/index.ts';
import { waitFor } from '@tinyagi/test-kit';

export const BOT_JID = '15550000001:7@s.whatsapp.net';
let nextId = 1;

export class FakeWASocket implements WhatsAppSocket {
  readonly emitter = new EventEmitter();
  readonly ev = { on: (event: string, listener: (...args: never[]) => void) => void this.emitter.on(event, listener as (...args: unknown[]) => void) } as WhatsAppSocket['ev'];
  user: { id: string } | undefined;
  ended = false;
  readonly sent: Array<{ jid: string; content: Record<string, unknown> }>;
  readonly presence: Array<{ type: string; jid: string }>;
  constructor(sent: Array<{ jid: string; content: Record<string, unknown> }>, presence: Array<{ type: string; jid: string }>) {
    this.sent = sent;
    this.presence = presence;
  }
  async sendMessage(jid: string, content: Record<string, unknown>): Promise<unknown> {
    if (this.ended) throw new Error('Connection Closed');
    const stored = { ...content };
    const media = (content['document'] ?? content['image'] ?? content['audio']) as { url?: string } | undefined;
    if (media?.url) stored['bytes'] = readFileSync(media.url);
    this.sent.push({ jid, content: stored });
    return { key: { id: `sent-${nextId++}` } };
  }
  async sendPresenceUpdate(type: 'composing' | 'paused', jid: string): Promise<void> {
    this.presence.push({ type, jid });
  }
  end(): void {
    this.ended = true;
  }
}

export class FakeWhatsApp implements WhatsAppSocketFactory {
  readonly sockets: FakeWASocket[] = [];
  readonly sent: Array<{ jid: string; content: Record<string, unknown> }> = [];
  readonly presence: Array<{ type: string; jid: string }> = [];
  readonly opened: number[] = [];
  readonly media = new Map<string, Buffer>();
  /** What a new socket does once opened: show a QR code first (a first login), or connect. */
  onOpen: (socket: FakeWASocket) => void = (socket) => this.connect(socket);

  async open(): Promise<{ socket: WhatsAppSocket; saveCreds: () => Promise<void> }> {
    const socket = new FakeWASocket(this.sent, this.presence);
    this.sockets.push(socket);
    this.opened.push(Date.now());
    // Like the real socket: connection events come after makeWASocket returned (on network I/O).
    setImmediate(() => {
      this.onOpen(socket);
    });
    return { socket, saveCreds: async () => {} };
  }

  async download(message: WhatsAppMessage): Promise<Uint8Array> {
    const bytes = this.media.get(message.key.id ?? '');
    if (!bytes) throw new Error('no media');
    return bytes;
  }

  get current(): FakeWASocket {
    return this.sockets.at(-1)!;
  }

  connect(socket = this.current): void {
    socket.user = { id: BOT_JID };
    socket.emitter.emit('connection.update', { connection: 'open' });
  }

  close(statusCode: number, socket = this.current): void {
    socket.ended = true;
    socket.emitter.emit('connection.update', { connection: 'close', lastDisconnect: { error: Object.assign(new Error('closed'), { output: { statusCode } }) } });
  }

  /** A message in a chat; `mention` marks the bot as mentioned (groups). */
  incoming(input: { jid: string; text?: string; participant?: string; mention?: boolean; document?: { name: string; bytes: Buffer }; fromMe?: boolean }): string {
    const id = `MSG${nextId++}`;
    const own = `${BOT_JID.split(':')[0]}@s.whatsapp.net`;
    let message: Record<string, unknown>;
    if (input.document) {
      this.media.set(id, input.document.bytes);
      message = { documentMessage: { fileName: input.document.name, fileLength: input.document.bytes.length, ...(input.text ? { caption: input.text } : {}) } };
    } else if (input.mention) {
      message = { extendedTextMessage: { text: `@${own.split('@')[0]} ${input.text ?? ''}`, contextInfo: { mentionedJid: [own] } } };
    } else {
      message = { conversation: input.text ?? '' };
    }
    this.current.emitter.emit('messages.upsert', {
      type: 'notify',
      messages: [{ key: { remoteJid: input.jid, id, fromMe: input.fromMe ?? false, ...(input.participant ? { participant: input.participant } : {}) }, pushName: 'Wanda', message }],
    });
    return id;
  }

  textsTo(jid: string): string[] {
    return this.sent.filter((s) => s.jid === jid && typeof s.content['text'] === 'string').map((s) => s.content['text'] as string);
  }

  /** Polls `probe` (the adapter reacts in its own callbacks, not through the fake). */
  until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
    return waitFor(probe, timeoutMs, `fake whatsapp: ${what}`, 10);
  }
}

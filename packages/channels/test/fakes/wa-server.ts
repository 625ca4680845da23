/**
 * WhatsApp's servers and its users' phones, for the linked device of wa-socket.ts. Everything on
 * the wire is what WhatsApp carries: stanzas are WA binary nodes (Baileys' encodeBinaryNode /
 * decodeBinaryNode), message bodies are proto.Message padded and Signal-encrypted by each phone's
 * own libsignal repository (pkmsg for a first message, msg after, a sender key (skmsg) plus its
 * distribution message in groups), and media is encrypted by Baileys' encryptedStream and served
 * over HTTP on loopback. Only the transport is simplified (see wa-socket.ts).
 *
 * The server keeps what a real one keeps: whether the device is linked (QR scan, pair-success,
 * then the 515 restart WhatsApp asks for), messages for a device that is offline (delivered with
 * `offline` on its next connection, then the `offline` marker), receipts, and the replies the
 * phones decrypted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, rm } from 'node:fs/promises';
import {
  addTransactionCapability,
  decodeBinaryNode,
  downloadContentFromMessage,
  encodeBinaryNode,
  encodeWAMessage,
  encryptedStream,
  initAuthCreds,
  DEFAULT_CONNECTION_CONFIG,
  proto,
  unpadRandomMax16,
  type BinaryNode,
  type MediaType,
  type SignalDataSet,
  type SignalDataTypeMap,
} from 'baileys';
import { WebSocketServer, type WebSocket } from 'ws';
import { waitFor } from '@tinyagi/test-kit';
import { silentLogger } from './wa-socket.ts';

/** The Signal repository makeWASocket uses (libsignal). */
const makeSignalRepository = DEFAULT_CONNECTION_CONFIG.makeSignalRepository;

export const BOT_NUMBER = '15550000001';
export const BOT_JID = `${BOT_NUMBER}:7@s.whatsapp.net`;
export const BOT_LID = '88000000000001:7@lid';

type Repository = ReturnType<typeof makeSignalRepository>;
interface Phone {
  jid: string;
  name: string;
  creds: ReturnType<typeof initAuthCreds>;
  repository: Repository;
}
interface BotBundle {
  registrationId: number;
  identityKey: string;
  signedPreKey: { keyId: number; publicKey: string; signature: string };
}
export interface Received {
  to: string;
  id: string;
  message: proto.IMessage;
}

/** Signal keys in memory (what a phone keeps). */
function memoryKeys() {
  const data = new Map<string, unknown>();
  return {
    async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const out: Record<string, SignalDataTypeMap[T]> = {};
      for (const id of ids) {
        const value = data.get(`${type}:${id}`);
        if (value !== undefined) out[id] = value as SignalDataTypeMap[T];
      }
      return out;
    },
    async set(set: SignalDataSet) {
      for (const [type, values] of Object.entries(set)) {
        for (const [id, value] of Object.entries(values ?? {})) {
          if (value === null) data.delete(`${type}:${id}`);
          else data.set(`${type}:${id}`, value);
        }
      }
    },
  };
}

const signalKey = (raw: Uint8Array): Buffer => Buffer.concat([Buffer.from([5]), Buffer.from(raw)]);
let nextId = 1;

export class FakeWhatsAppServer {
  url = '';
  http = '';
  /** Whether a device is linked to the bot's account (a QR code was scanned). */
  linked = false;
  /** Connections the device opened, and what each said in its hello. */
  readonly hellos: Array<{ me: { id: string } | null; at: number }> = [];
  readonly received: Received[] = [];
  readonly receipts = new Set<string>();
  readonly presence: Array<{ type: string; jid: string }> = [];
  readonly #phones = new Map<string, Phone>();
  readonly #media = new Map<string, Buffer>();
  /** Each group's members: whoever wrote in it. */
  readonly #groups = new Map<string, Set<string>>();
  #server: Server;
  #wss: WebSocketServer;
  #bot: { ws: WebSocket; ready: boolean } | undefined;
  #bundle: BotBundle | undefined;
  /** Stanzas for the device while it is not connected. */
  #offline: BinaryNode[] = [];
  #loggedOut = false;
  #refuse: { times: number; statusCode: number } | undefined;
  #inbound: Promise<void> = Promise.resolve();
  #qr = 0;

  constructor() {
    this.#server = createServer(async (req, res) => {
      const path = req.url ?? '/';
      if (req.method === 'POST') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        this.#media.set(path, Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      const blob = this.#media.get(path);
      if (blob === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length }).end(blob);
    });
    this.#wss = new WebSocketServer({ server: this.#server });
    this.#wss.on('connection', (ws) => this.#connect(ws));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const port = (this.#server.address() as AddressInfo).port;
    this.http = `http://127.0.0.1:${port}`;
    this.url = `ws://127.0.0.1:${port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The device is connected and past its offline messages. */
  get connected(): boolean {
    return this.#bot?.ready === true;
  }

  /** The phone scans the QR code: pair-success, then WhatsApp closes with 515 (restart required). */
  scan(): void {
    const bot = this.#bot;
    if (bot === undefined) throw new Error('no device is showing a QR code');
    this.linked = true;
    bot.ws.send(JSON.stringify({ t: 'pair-success', jid: BOT_JID, lid: BOT_LID }));
    bot.ws.close(4515, 'restart required');
  }

  /** WhatsApp closes the device's connection with a status (428 closed, 408 lost, 401 logged out, 515 restart). */
  disconnect(statusCode: number): void {
    if (statusCode === 401) {
      this.#loggedOut = true;
      this.linked = false;
    }
    this.#bot?.ws.close(4000 + statusCode, 'closed');
  }

  /** The next `times` logins are closed at once with `statusCode` (408 timed out, 428 closed, 503 unavailable). */
  refuseNext(times: number, statusCode: number): void {
    this.#refuse = { times, statusCode };
  }

  phone(jid: string, name = 'Wanda'): Phone {
    let phone = this.#phones.get(jid);
    if (phone === undefined) {
      const creds = initAuthCreds();
      phone = { jid, name, creds, repository: makeSignalRepository({ creds, keys: addTransactionCapability(memoryKeys(), silentLogger, DEFAULT_CONNECTION_CONFIG.transactionOpts) }, silentLogger) };
      this.#phones.set(jid, phone);
    }
    return phone;
  }

  /** A text from a phone to the bot, in a 1:1 chat or (with `group`) a group; `mention` @-mentions the bot. */
  async text(from: string, text: string, options: { group?: string; mention?: boolean; ephemeral?: boolean } = {}): Promise<string> {
    let message: proto.IMessage = options.mention
      ? { extendedTextMessage: { text: `@${BOT_NUMBER} ${text}`, contextInfo: { mentionedJid: [`${BOT_NUMBER}@s.whatsapp.net`] } } }
      : { conversation: text };
    if (options.ephemeral) message = { ephemeralMessage: { message } };
    return this.send(from, message, options.group);
  }

  /** A media message: encrypted and stored like WhatsApp's media servers do; `caption` on a document wraps it as modern clients do. */
  async media(from: string, input: { type: 'image' | 'document' | 'audio'; bytes: Buffer; fileName?: string; caption?: string; mimetype?: string }): Promise<string> {
    const enc = await encryptedStream(input.bytes, input.type as MediaType);
    let blob: Buffer;
    try {
      blob = await readFile(enc.encFilePath);
    } finally {
      await rm(enc.encFilePath, { force: true });
    }
    const path = `/mms/${input.type}/${nextId++}.enc`;
    this.#media.set(path, blob);
    // No directPath: Baileys builds an https:// URL from one, and this media host is plain HTTP.
    const media = {
      url: `${this.http}${path}`,
      mediaKey: enc.mediaKey,
      fileSha256: enc.fileSha256,
      fileEncSha256: enc.fileEncSha256,
      fileLength: enc.fileLength,
      mimetype: input.mimetype ?? 'application/octet-stream',
    };
    let message: proto.IMessage;
    if (input.type === 'image') message = { imageMessage: { ...media, ...(input.caption ? { caption: input.caption } : {}) } };
    else if (input.type === 'audio') message = { audioMessage: { ...media, ptt: true } };
    else {
      const doc = { documentMessage: { ...media, fileName: input.fileName ?? 'file', ...(input.caption ? { caption: input.caption } : {}) } };
      message = input.caption ? { documentWithCaptionMessage: { message: doc } } : doc;
    }
    return this.send(from, message);
  }

  /** Encrypts `message` from the phone `from` and delivers it (or keeps it for the device's next connection). */
  async send(from: string, message: proto.IMessage, group?: string): Promise<string> {
    const phone = this.phone(from);
    const bundle = this.#bundle;
    if (bundle === undefined) throw new Error('the device never connected: there is no key bundle to encrypt to');
    if (!(await phone.repository.validateSession(BOT_JID)).exists) {
      await phone.repository.injectE2ESession({
        jid: BOT_JID,
        session: {
          registrationId: bundle.registrationId,
          identityKey: signalKey(Buffer.from(bundle.identityKey, 'base64')),
          signedPreKey: {
            keyId: bundle.signedPreKey.keyId,
            publicKey: signalKey(Buffer.from(bundle.signedPreKey.publicKey, 'base64')),
            signature: Buffer.from(bundle.signedPreKey.signature, 'base64'),
          },
        } as never,
      });
    }
    const id = `3EB0${String(nextId++).padStart(16, '0')}`;
    const attrs: Record<string, string> = { id, type: 'text', t: String(Math.floor(Date.now() / 1000)), notify: phone.name };
    const content: BinaryNode[] = [];
    if (group === undefined) {
      attrs['from'] = from;
      const { type, ciphertext } = await phone.repository.encryptMessage({ jid: BOT_JID, data: encodeWAMessage(message) });
      content.push({ tag: 'enc', attrs: { v: '2', type }, content: ciphertext });
    } else {
      attrs['from'] = group;
      attrs['participant'] = from;
      this.#groups.set(group, new Set([...(this.#groups.get(group) ?? []), from]));
      const { senderKeyDistributionMessage, ciphertext } = await phone.repository.encryptGroupMessage({ group, data: encodeWAMessage(message), meId: from });
      const distribution = await phone.repository.encryptMessage({
        jid: BOT_JID,
        data: encodeWAMessage({ senderKeyDistributionMessage: { groupId: group, axolotlSenderKeyDistributionMessage: senderKeyDistributionMessage } }),
      });
      content.push({ tag: 'enc', attrs: { v: '2', type: distribution.type }, content: distribution.ciphertext });
      content.push({ tag: 'enc', attrs: { v: '2', type: 'skmsg' }, content: ciphertext });
    }
    const node: BinaryNode = { tag: 'message', attrs, content };
    if (this.#bot?.ready) this.#bot.ws.send(encodeBinaryNode(node));
    else this.#offline.push(node);
    return id;
  }

  /** The texts the bot sent to `jid` (decrypted by that phone). */
  textsTo(jid: string): string[] {
    return this.received.filter((r) => r.to === jid).map((r) => r.message.conversation ?? r.message.extendedTextMessage?.text ?? '');
  }

  /** Downloads and decrypts a media message the bot sent, as the phone would. */
  async downloadSent(received: Received): Promise<{ type: string; bytes: Buffer; fileName?: string }> {
    const [key, value] = Object.entries(received.message).find(([k]) => k.endsWith('Message'))! as [string, proto.Message.IDocumentMessage];
    const type = key.replace('Message', '');
    const chunks: Buffer[] = [];
    // The URL the bot's upload answered (this host is plain HTTP; a directPath would make it https).
    const stream = await downloadContentFromMessage({ url: value.url!, mediaKey: value.mediaKey! }, type as MediaType);
    for await (const c of stream) chunks.push(c as Buffer);
    return { type, bytes: Buffer.concat(chunks), ...(value.fileName ? { fileName: value.fileName } : {}) };
  }

  until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
    return waitFor(probe, timeoutMs, `fake whatsapp: ${what}`, 10);
  }

  #connect(ws: WebSocket): void {
    ws.on('message', (raw: Buffer, isBinary: boolean) => {
      if (isBinary) {
        // In order, as a Signal session must decrypt.
        this.#inbound = this.#inbound.then(() => this.#fromBot(raw)).catch((err: unknown) => silentLogger.error(err, 'fake server: a stanza from the device'));
        return;
      }
      const frame = JSON.parse(String(raw)) as Record<string, unknown>;
      if (frame['t'] === 'hello') this.#hello(ws, frame);
      if (frame['t'] === 'receipt') this.receipts.add(String(frame['id']));
      if (frame['t'] === 'presence') this.presence.push({ type: String(frame['type']), jid: String(frame['jid']) });
      if (frame['t'] === 'group') ws.send(JSON.stringify({ t: 'group', jid: frame['jid'], members: [...(this.#groups.get(String(frame['jid'])) ?? [])] }));
      if (frame['t'] === 'bundle') {
        const phone = this.phone(String(frame['jid']));
        const { creds } = phone;
        ws.send(
          JSON.stringify({
            t: 'bundle',
            jid: phone.jid,
            bundle: {
              registrationId: creds.registrationId,
              identityKey: signalKey(creds.signedIdentityKey.public).toString('base64'),
              signedPreKey: {
                keyId: creds.signedPreKey.keyId,
                publicKey: signalKey(creds.signedPreKey.keyPair.public).toString('base64'),
                signature: Buffer.from(creds.signedPreKey.signature).toString('base64'),
              },
            },
          }),
        );
      }
    });
    ws.on('close', () => {
      if (this.#bot?.ws === ws) this.#bot = undefined;
    });
  }

  #hello(ws: WebSocket, frame: Record<string, unknown>): void {
    const me = frame['me'] as { id: string } | null;
    this.hellos.push({ me, at: Date.now() });
    this.#bundle = { registrationId: Number(frame['registrationId']), identityKey: String(frame['identityKey']), signedPreKey: frame['signedPreKey'] as BotBundle['signedPreKey'] };
    this.#bot = { ws, ready: false };
    if (me === null) {
      ws.send(JSON.stringify({ t: 'qr', ref: `2@fake-ref-${++this.#qr}` }));
      return;
    }
    if (this.#loggedOut || !this.linked) {
      ws.close(4401, 'logged out');
      return;
    }
    if (this.#refuse !== undefined && this.#refuse.times > 0) {
      this.#refuse.times -= 1;
      ws.close(4000 + this.#refuse.statusCode, 'refused');
      return;
    }
    ws.send(JSON.stringify({ t: 'success' }));
    const offline = this.#offline.splice(0);
    for (const node of offline) ws.send(encodeBinaryNode({ ...node, attrs: { ...node.attrs, offline: '1' } }));
    ws.send(JSON.stringify({ t: 'offline', count: offline.length }));
    this.#bot.ready = true;
  }

  async #fromBot(raw: Buffer): Promise<void> {
    const node = await decodeBinaryNode(raw);
    if (node.tag !== 'message' || !Array.isArray(node.content)) return;
    const to = node.attrs['to']!;
    const enc = node.content.find((c) => c.tag === 'enc')!;
    const decrypt = async (phone: Phone, e: BinaryNode) =>
      proto.Message.decode(unpadRandomMax16(await phone.repository.decryptMessage({ jid: BOT_JID, type: e.attrs['type'] as 'pkmsg' | 'msg', ciphertext: e.content as Uint8Array })));
    if (!to.endsWith('@g.us')) {
      this.received.push({ to, id: node.attrs['id']!, message: await decrypt(this.phone(to), enc) });
      return;
    }
    // A group: each member takes the sender key from its own copy, then reads the one skmsg.
    const members = (node.content.find((c) => c.tag === 'participants')?.content ?? []) as BinaryNode[];
    let message: proto.IMessage | undefined;
    for (const member of members) {
      const phone = this.phone(member.attrs['jid']!);
      const distribution = await decrypt(phone, (member.content as BinaryNode[])[0]!);
      await phone.repository.processSenderKeyDistributionMessage({ authorJid: BOT_JID, item: distribution.senderKeyDistributionMessage! });
      message = proto.Message.decode(unpadRandomMax16(await phone.repository.decryptGroupMessage({ group: to, authorJid: BOT_JID, msg: enc.content as Uint8Array })));
    }
    if (message === undefined) throw new Error(`a group message to ${to} for no member`);
    this.received.push({ to, id: node.attrs['id']!, message });
  }
}

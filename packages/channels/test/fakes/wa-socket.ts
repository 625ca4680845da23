/**
 * The linked device's side of the fake WhatsApp (wa-server.ts): a WhatsAppSocket that is Baileys'
 * own code above the transport. What makeWASocket would do with a stanza is done here with
 * Baileys' functions: the auth state is useMultiFileAuthState's files, the events go through
 * makeEventBuffer (buffered while offline messages arrive, flushed after), inbound stanzas are WA
 * binary nodes decoded by decodeBinaryNode and decrypted by decryptMessageNode with libsignal
 * (pkmsg/msg, and skmsg for groups), and replies are built by generateWAMessage (media encrypted
 * and uploaded) and Signal-encrypted before they go out as binary nodes.
 *
 * Only the transport differs: a plain loopback WebSocket with small JSON control frames
 * (hello/qr/pair-success/success/offline/close) instead of the Noise-encrypted stream to
 * web.whatsapp.com, whose handshake checks WhatsApp's root certificate and cannot be faked.
 *
 * The channel process loads it through `channels.whatsapp.socket_module` (with `fake_url` in the
 * same block); it imports nothing but Baileys, ws and node, and is plain erasable TypeScript.
 */
import { readFile } from 'node:fs/promises';
import {
  addTransactionCapability,
  decodeBinaryNode,
  decryptMessageNode,
  downloadMediaMessage,
  encodeBinaryNode,
  cleanMessage,
  encodeWAMessage,
  generateWAMessage,
  makeEventBuffer,
  DEFAULT_CONNECTION_CONFIG,
  useMultiFileAuthState,
  type BinaryNode,
  type WAMessage,
} from 'baileys';
import WebSocket from 'ws';
import type { WhatsAppMessage, WhatsAppSocket, WhatsAppSocketFactory } from '../../src/whatsapp/adapter.ts';

/** The Signal repository makeWASocket uses (libsignal). */
const makeSignalRepository = DEFAULT_CONNECTION_CONFIG.makeSignalRepository;

type Logger = Parameters<typeof makeEventBuffer>[0];
export const silentLogger: Logger = {
  level: 'silent',
  child: () => silentLogger,
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  // Baileys' errors (a stanza it could not decrypt, …) go to stderr: the channel log shows them.
  error: (obj: unknown, msg?: string) => console.error('baileys:', msg ?? '', obj instanceof Error ? obj.message : JSON.stringify(obj, (_k, v) => (v instanceof Error ? v.message : v))),
};

/** A Boom-shaped close error, as Baileys gives `lastDisconnect.error`. */
function closeError(statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { isBoom: true, output: { statusCode, payload: { statusCode, message } } });
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

export function createSocketFactory(block: Record<string, unknown>): WhatsAppSocketFactory {
  const url = String(block['fake_url']);
  const http = url.replace(/^ws/, 'http');
  return {
    async open(authDir) {
      const { state, saveCreds } = await useMultiFileAuthState(authDir);
      const ev = makeEventBuffer(silentLogger);
      // As makeWASocket does: the key store with transactions, under the default options.
      const keys = addTransactionCapability(state.keys, silentLogger, DEFAULT_CONNECTION_CONFIG.transactionOpts);
      const repository = makeSignalRepository({ creds: state.creds, keys }, silentLogger);
      const ws = new WebSocket(url);
      let ended = false;
      const socket: WhatsAppSocket & { user?: { id: string; lid?: string } } = {
        ev: ev as unknown as WhatsAppSocket['ev'],
        user: undefined,
        async sendMessage(jid, content) {
          if (ended || ws.readyState !== WebSocket.OPEN) throw closeError(428, 'Connection Closed');
          const me = state.creds.me!;
          const message = await generateWAMessage(jid, content as never, {
            userJid: me.id,
            logger: silentLogger,
            upload: async (encFilePath, { mediaType, fileEncSha256B64 }) => {
              const path = `/mms/${mediaType}/${encodeURIComponent(fileEncSha256B64)}`;
              const res = await fetch(`${http}${path}`, { method: 'POST', body: await readFile(encFilePath) });
              if (!res.ok) throw new Error(`media upload answered ${res.status}`);
              return { mediaUrl: `${http}${path}`, directPath: path };
            },
          });
          const attrs = { to: jid, id: message.key.id!, type: 'text', t: String(Math.floor(Date.now() / 1000)) };
          const sessionWith = async (peer: string): Promise<void> => {
            if (!(await repository.validateSession(peer)).exists) await repository.injectE2ESession(await bundleOf(peer));
          };
          let node: BinaryNode;
          if (jid.endsWith('@g.us')) {
            // As relayMessage does for a group: one sender-key message, and the sender key's
            // distribution message encrypted to each member.
            const { ciphertext, senderKeyDistributionMessage } = await repository.encryptGroupMessage({ group: jid, data: encodeWAMessage(message.message!), meId: me.id });
            const distribution = encodeWAMessage({ senderKeyDistributionMessage: { groupId: jid, axolotlSenderKeyDistributionMessage: senderKeyDistributionMessage } });
            const to: BinaryNode[] = [];
            for (const member of await membersOf(jid)) {
              await sessionWith(member);
              const enc = await repository.encryptMessage({ jid: member, data: distribution });
              to.push({ tag: 'to', attrs: { jid: member }, content: [{ tag: 'enc', attrs: { v: '2', type: enc.type }, content: enc.ciphertext }] });
            }
            node = {
              tag: 'message',
              attrs,
              content: [
                { tag: 'participants', attrs: {}, content: to },
                { tag: 'enc', attrs: { v: '2', type: 'skmsg' }, content: ciphertext },
              ],
            };
          } else {
            await sessionWith(jid);
            const { type, ciphertext } = await repository.encryptMessage({ jid, data: encodeWAMessage(message.message!) });
            node = { tag: 'message', attrs, content: [{ tag: 'enc', attrs: { v: '2', type }, content: ciphertext }] };
          }
          // Like Baileys' relayMessage: sent once written to the socket (no wait for the server's ack).
          ws.send(encodeBinaryNode(node));
          return message;
        },
        async sendPresenceUpdate(type, jid) {
          if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ t: 'presence', type, jid }));
        },
        end(error) {
          if (ended) return;
          ended = true;
          ws.close();
          ev.emit('connection.update', { connection: 'close', lastDisconnect: { error: error ?? closeError(428, 'Connection Closed'), date: new Date() } });
        },
      };
      const pendingMembers = new Map<string, (members: string[]) => void>();
      const membersOf = (group: string) =>
        new Promise<string[]>((resolve) => {
          pendingMembers.set(group, resolve);
          ws.send(JSON.stringify({ t: 'group', jid: group }));
        });
      const pendingBundles = new Map<string, (bundle: Parameters<typeof repository.injectE2ESession>[0]) => void>();
      const bundleOf = (jid: string) =>
        new Promise<Parameters<typeof repository.injectE2ESession>[0]>((resolve) => {
          pendingBundles.set(jid, resolve);
          ws.send(JSON.stringify({ t: 'bundle', jid }));
        });
      // Each stanza is handled in order, like Baileys' message mutex.
      let queue: Promise<void> = Promise.resolve();
      const upsert = ev.createBufferedFunction(async (message: WAMessage, type: 'notify' | 'append') => {
        ev.emit('messages.upsert', { messages: [message], type });
      });
      ev.on('creds.update', (update) => Object.assign(state.creds, update));

      ws.on('open', () => {
        // A linked device starts buffering at once; the offline messages come before `offline`.
        if (state.creds.me?.id) ev.buffer();
        ev.emit('connection.update', { connection: 'connecting', receivedPendingNotifications: false, qr: undefined });
        // What the device's prekey upload gives the server (no one-time prekeys: the signed one serves).
        ws.send(
          JSON.stringify({
            t: 'hello',
            me: state.creds.me ?? null,
            registrationId: state.creds.registrationId,
            identityKey: b64(state.creds.signedIdentityKey.public),
            signedPreKey: { keyId: state.creds.signedPreKey.keyId, publicKey: b64(state.creds.signedPreKey.keyPair.public), signature: b64(state.creds.signedPreKey.signature) },
          }),
        );
      });
      ws.on('message', (raw: Buffer, isBinary: boolean) => {
        if (isBinary) {
          queue = queue.then(() => onStanza(raw)).catch((err: unknown) => silentLogger.error(err, 'stanza'));
          return;
        }
        const frame = JSON.parse(String(raw)) as Record<string, unknown>;
        queue = queue.then(() => onControl(frame)).catch((err: unknown) => silentLogger.error(err, 'control frame'));
      });
      ws.on('close', (code: number) => {
        if (ended) return;
        ended = true;
        ev.emit('connection.update', { connection: 'close', lastDisconnect: { error: closeError(code >= 4000 ? code - 4000 : 428, 'Connection Closed'), date: new Date() } });
      });
      ws.on('error', () => {});

      async function onControl(frame: Record<string, unknown>): Promise<void> {
        if (frame['t'] === 'qr') {
          // The QR code Baileys shows: ref, noise key, identity key and ADV secret.
          const qr = [frame['ref'], b64(state.creds.noiseKey.public), b64(state.creds.signedIdentityKey.public), state.creds.advSecretKey].join(',');
          ev.emit('connection.update', { qr });
        }
        if (frame['t'] === 'pair-success') {
          ev.emit('creds.update', { me: { id: String(frame['jid']), lid: String(frame['lid']), name: '~' }, registered: true, platform: 'fake' });
          await saveCreds();
        }
        if (frame['t'] === 'success') {
          const me = state.creds.me!;
          socket.user = { id: me.id, ...(me.lid ? { lid: me.lid } : {}) };
          ev.emit('connection.update', { connection: 'open' });
        }
        if (frame['t'] === 'offline') {
          if (ev.isBuffering()) ev.flush();
          ev.emit('connection.update', { receivedPendingNotifications: true });
        }
        if (frame['t'] === 'group') pendingMembers.get(String(frame['jid']))?.(frame['members'] as string[]);
        if (frame['t'] === 'bundle') {
          const bundle = frame['bundle'] as { registrationId: number; identityKey: string; signedPreKey: { keyId: number; publicKey: string; signature: string } };
          pendingBundles.get(String(frame['jid']))?.({
            jid: String(frame['jid']),
            session: {
              registrationId: bundle.registrationId,
              identityKey: Buffer.from(bundle.identityKey, 'base64'),
              signedPreKey: { keyId: bundle.signedPreKey.keyId, publicKey: Buffer.from(bundle.signedPreKey.publicKey, 'base64'), signature: Buffer.from(bundle.signedPreKey.signature, 'base64') },
            } as never,
          });
        }
      }

      async function onStanza(raw: Buffer): Promise<void> {
        const node = await decodeBinaryNode(raw);
        if (node.tag !== 'message') return;
        const me = state.creds.me!;
        const { fullMessage, decrypt } = decryptMessageNode(node, me.id, me.lid ?? '', repository, silentLogger);
        await decrypt();
        // Baileys receipts the stanza before the upsert: from here on the server considers it delivered.
        ws.send(JSON.stringify({ t: 'receipt', id: node.attrs['id'] }));
        cleanMessage(fullMessage, me.id, me.lid ?? '');
        await upsert(fullMessage, node.attrs['offline'] ? 'append' : 'notify');
      }

      return { socket, saveCreds };
    },
    async download(message: WhatsAppMessage) {
      return (await downloadMediaMessage(message as never, 'buffer', {})) as Uint8Array;
    },
  };
}

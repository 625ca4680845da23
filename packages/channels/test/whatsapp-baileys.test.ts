/**
 * The WhatsApp adapter on Baileys' own code (test/fakes/wa-socket.ts) against a fake WhatsApp
 * (test/fakes/wa-server.ts): real WA binary stanzas, Signal-encrypted by each phone's libsignal
 * and decrypted by Baileys' decryptMessageNode, Baileys' event buffer with offline delivery,
 * generateWAMessage and media encryption both ways, the QR link and the 515 restart after it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@tinyagi/test-kit';
import { renderQr, WhatsAppAdapter, type InboundMessage } from '../src/index.ts';
import { BOT_JID, BOT_LID, BOT_NUMBER, FakeWhatsAppServer } from './fakes/wa-server.ts';
import { createSocketFactory } from './fakes/wa-socket.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ALICE = '15551230001@s.whatsapp.net';
const BOB = '15551230002@s.whatsapp.net';
const GROUP = '120363000000000001@g.us';

async function setup(options: { linked?: boolean } = {}) {
  const server = new FakeWhatsAppServer();
  await server.start();
  cleanups.push(() => server.close());
  const stateDir = mkdtempSync(join(tmpdir(), 'tinyagi-wa-baileys-'));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const received: InboundMessage[] = [];
  const qr: string[] = [];
  const fatal: string[] = [];
  const adapter = new WhatsAppAdapter({
    stateDir,
    factory: createSocketFactory({ fake_url: server.url }),
    minBackoffMs: 20,
    maxBackoffMs: 200,
    showQr: (code) => qr.push(code),
    onFatal: (message) => fatal.push(message),
  });
  cleanups.push(() => adapter.stop());
  const sink = { receive: async (m: InboundMessage) => void received.push(m) };
  if (options.linked !== false) {
    const starting = adapter.start(sink);
    await waitFor(() => qr.length > 0, 20_000, 'the QR code');
    server.scan();
    await starting;
  }
  return { server, adapter, received, qr, fatal, sink, stateDir };
}

describe('whatsapp on Baileys (fake WhatsApp server)', () => {
  it('links with a QR code in Baileys’ format, restarts after pair-success (515) and logs in with the saved credentials', async () => {
    const { server, adapter, qr, sink, stateDir } = await setup({ linked: false });
    const starting = adapter.start(sink);
    const code = await waitFor(() => qr[0], 20_000, 'the QR code');
    // ref, noise key, identity key, ADV secret (what the phone's scanner reads).
    expect(code.split(',')).toHaveLength(4);
    expect(code.startsWith('2@fake-ref-1,')).toBe(true);
    expect(JSON.parse(readFileSync(adapter.stateFile, 'utf8'))).toMatchObject({ state: 'qr', qr: code });
    server.scan();
    await starting;
    expect(server.hellos.map((h) => h.me?.id ?? null)).toEqual([null, BOT_JID]);
    expect(JSON.parse(readFileSync(adapter.stateFile, 'utf8'))).toMatchObject({ state: 'open' });
    expect(existsSync(adapter.qrFile)).toBe(false);
    expect(readFileSync(join(stateDir, 'auth', 'creds.json'), 'utf8')).toContain(BOT_JID);
    expect(statSync(join(stateDir, 'auth')).mode & 0o777).toBe(0o700);
    expect(await renderQr(code)).toMatch(/▄|█/);
  });

  it('a dropped connection reconnects with growing backoff (refused twice), resets it once open, and receives again', async () => {
    const { server, adapter, received } = await setup();
    const before = server.hellos.length;
    server.refuseNext(2, 408);
    server.disconnect(428);
    await server.until(() => server.connected && server.hellos.length === before + 3, 'the third reconnect to open');
    const [, second, third] = server.hellos.slice(before).map((h) => h.at);
    // 20 ms, then 40 ms, then 80 ms (minBackoffMs 20): the waits it scheduled, and the last one
    // seen by the server (a lower bound only: a handshake on a loaded machine may take longer).
    expect(adapter.reconnectDelaysMs.slice(-3)).toEqual([20, 40, 80]);
    expect(third! - second!).toBeGreaterThanOrEqual(70);
    await waitFor(() => adapter.reconnectAttempts === 0, 10_000, 'the backoff reset');
    await server.text(ALICE, 'after the reconnects');
    await waitFor(() => received.some((m) => m.text === 'after the reconnects'), 20_000, 'a message after the reconnects');
  });

  it('a text round trip: the phone’s Signal message is decrypted by Baileys, the reply is Signal-encrypted back', async () => {
    const { server, adapter, received } = await setup();
    await server.text(ALICE, 'hello whatsapp');
    const inbound = await waitFor(() => received[0], 20_000, 'the inbound message');
    expect(inbound).toMatchObject({ senderId: ALICE, route: ALICE, text: 'hello whatsapp', sender: 'Wanda', files: [] });
    await server.until(() => server.receipts.has(inbound.platformMessageId), 'the receipt');
    await adapter.sendTyping(ALICE);
    await adapter.send(ALICE, { text: 'hello back', files: [], idempotencyKey: 'out:0' });
    await adapter.send(ALICE, { text: 'and again', files: [], idempotencyKey: 'out:1' });
    await server.until(() => server.textsTo(ALICE).length === 2, 'the replies');
    expect(server.textsTo(ALICE)).toEqual(['hello back', 'and again']);
    expect(server.presence).toContainEqual({ type: 'composing', jid: ALICE });
  });

  it('messages written while the device was offline arrive on reconnect (Baileys’ "append" upserts) and are handed over, in order', async () => {
    const { server, received } = await setup();
    await server.text(ALICE, 'before');
    await waitFor(() => received.length === 1, 20_000, 'the first message');
    server.disconnect(428);
    await server.until(() => !server.connected, 'the device to be disconnected');
    await server.text(ALICE, 'while offline one');
    await server.text(BOB, 'while offline two');
    await waitFor(() => received.length === 3, 20_000, 'the offline messages after the reconnect');
    expect(received.map((m) => m.text)).toEqual(['before', 'while offline one', 'while offline two']);
  });

  it('a disappearing-mode text and a document with a caption (wrapped messages) are unwrapped; the file downloads and decrypts through Baileys', async () => {
    const { server, received } = await setup();
    await server.text(ALICE, 'vanishing soon', { ephemeral: true });
    const report = Buffer.from('quarterly numbers: 1, 2, 3\n'.repeat(50));
    await server.media(ALICE, { type: 'document', bytes: report, fileName: 'report.txt', caption: 'see the report', mimetype: 'text/plain' });
    await waitFor(() => received.length === 2, 20_000, 'both messages');
    expect(received[0]).toMatchObject({ text: 'vanishing soon', files: [] });
    expect(received[1]).toMatchObject({ text: 'see the report' });
    expect(received[1]!.files.map((f) => ({ name: f.name, size: f.size }))).toEqual([{ name: 'report.txt', size: report.length }]);
    expect(Buffer.from(await received[1]!.files[0]!.download()).equals(report)).toBe(true);
  });

  it('a photo and a voice note without a caption are media messages with their files', async () => {
    const { server, received } = await setup();
    const photo = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    await server.media(ALICE, { type: 'image', bytes: photo, mimetype: 'image/jpeg' });
    await server.media(ALICE, { type: 'audio', bytes: Buffer.from('OggS fake voice'), mimetype: 'audio/ogg; codecs=opus' });
    await waitFor(() => received.length === 2, 20_000, 'both media messages');
    expect(received.map((m) => [m.text, m.files.map((f) => f.name.split('_')[0])])).toEqual([
      ['', ['image']],
      ['', ['audio']],
    ]);
    expect(received[0]!.files[0]!.size).toBe(photo.length);
    expect(Buffer.from(await received[0]!.files[0]!.download()).equals(photo)).toBe(true);
  });

  it('in a group (sender keys both ways), only a mention of the bot by phone number or by LID gets through, without the mention', async () => {
    const { server, adapter, received } = await setup();
    await server.text(ALICE, 'not for the bot', { group: GROUP });
    await server.text(ALICE, 'by number', { group: GROUP, mention: true });
    const lid = BOT_LID.replace(':7', '');
    await server.send(BOB, { extendedTextMessage: { text: `@${lid.split('@')[0]} by lid`, contextInfo: { mentionedJid: [lid] } } }, GROUP);
    await waitFor(() => received.length === 2, 20_000, 'the two mentions');
    expect(received.map((m) => ({ text: m.text, route: m.route, senderId: m.senderId }))).toEqual([
      { text: 'by number', route: GROUP, senderId: ALICE },
      { text: 'by lid', route: GROUP, senderId: BOB },
    ]);
    expect(received.some((m) => m.text.includes(BOT_NUMBER))).toBe(false);
    // The reply is one sender-key message; both members take the key from their own copy.
    await adapter.send(GROUP, { text: 'hello group', files: [], idempotencyKey: 'g:0' });
    await server.until(() => server.textsTo(GROUP).includes('hello group'), 'the group reply');
  });

  it('files go out through generateWAMessage (encrypted and uploaded): the phone downloads what was sent', async () => {
    const { server, adapter, received, stateDir } = await setup();
    await server.text(ALICE, 'send me files');
    await waitFor(() => received.length === 1, 20_000, 'the request');
    const doc = join(stateDir, 'notes.txt');
    const image = join(stateDir, 'chart.png');
    writeFileSync(doc, 'the notes');
    writeFileSync(image, Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    await adapter.send(ALICE, { text: 'here', files: [doc, image], idempotencyKey: 'files:0' });
    await server.until(() => server.received.filter((r) => r.to === ALICE).length === 3, 'the text and two files');
    const [, sentDoc, sentImage] = server.received.filter((r) => r.to === ALICE);
    expect(server.textsTo(ALICE)[0]).toBe('here');
    expect(await server.downloadSent(sentDoc!)).toEqual({ type: 'document', bytes: Buffer.from('the notes'), fileName: 'notes.txt' });
    expect((await server.downloadSent(sentImage!)).bytes).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
  });

  it('a proactive message to someone who never wrote fetches their key bundle first', async () => {
    const { server, adapter } = await setup();
    server.phone(BOB, 'Bob');
    await adapter.send(BOB, { text: 'hello first', files: [], idempotencyKey: 'p:0' });
    await server.until(() => server.textsTo(BOB).length === 1, 'the proactive message');
    expect(server.textsTo(BOB)).toEqual(['hello first']);
  });

  it('logged out by WhatsApp (401): fatal, state logged_out, no reconnect', async () => {
    const { server, adapter, fatal } = await setup();
    const hellos = server.hellos.length;
    server.disconnect(401);
    await waitFor(() => fatal.length === 1, 20_000, 'the fatal report');
    expect(fatal[0]).toContain('tinyagi channel reset whatsapp');
    expect(JSON.parse(readFileSync(adapter.stateFile, 'utf8'))).toMatchObject({ state: 'logged_out' });
    expect(server.hellos.length).toBe(hellos);
  });
});

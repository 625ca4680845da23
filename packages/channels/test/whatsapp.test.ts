/**
 * WhatsApp with Baileys at its socket boundary (a fake socket): QR login, a message round trip,
 * reconnect after a close with backoff, and a logged-out session that stops with a clear status.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderQr, WhatsAppAdapter, type InboundMessage } from '../src/index.ts';
import { FakeWhatsApp } from './fakes/fake-whatsapp.ts';

const dirs: string[] = [];
const adapters: WhatsAppAdapter[] = [];
afterEach(async () => {
  for (const a of adapters.splice(0)) await a.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(options: { onFatal?: (m: string) => void; qr?: string[] } = {}) {
  const stateDir = mkdtempSync(join(tmpdir(), 'tinyagi-wa-'));
  dirs.push(stateDir);
  const fake = new FakeWhatsApp();
  const received: InboundMessage[] = [];
  const adapter = new WhatsAppAdapter({
    stateDir,
    factory: fake,
    minBackoffMs: 20,
    maxBackoffMs: 80,
    showQr: (qr) => options.qr?.push(qr),
    ...(options.onFatal ? { onFatal: options.onFatal } : {}),
  });
  adapters.push(adapter);
  const sink = { receive: async (m: InboundMessage) => void received.push(m) };
  return { stateDir, fake, adapter, received, sink };
}

describe('whatsapp adapter', () => {
  it('a first login shows the QR code (and writes it, 0600) until the phone scanned it, then connects', async () => {
    const qr: string[] = [];
    const { fake, adapter, sink, stateDir } = setup({ qr });
    fake.onOpen = (socket) => socket.emitter.emit('connection.update', { qr: '2@fake-qr-code' });
    let started = false;
    const starting = adapter.start(sink).then(() => (started = true));
    await fake.until(() => qr.length > 0, 'the QR code');
    expect(qr).toEqual(['2@fake-qr-code']);
    expect(readFileSync(adapter.qrFile, 'utf8')).toBe('2@fake-qr-code');
    expect(statSync(adapter.qrFile).mode & 0o777).toBe(0o600);
    expect(started).toBe(false);
    expect(JSON.parse(readFileSync(adapter.stateFile, 'utf8'))).toMatchObject({ state: 'qr', qr: '2@fake-qr-code' });
    fake.connect();
    await starting;
    expect(existsSync(adapter.qrFile)).toBe(false);
    expect(JSON.parse(readFileSync(adapter.stateFile, 'utf8'))).toMatchObject({ state: 'open', qr: null });
    expect(await renderQr('2@fake-qr-code')).toMatch(/▄|█/);
    expect(statSync(join(stateDir, 'auth')).mode & 0o777).toBe(0o700);
  });

  it('a message round trip: inbound text to the host, the reply and typing to the chat', async () => {
    const { fake, adapter, sink, received } = setup();
    await adapter.start(sink);
    const jid = '15551234567@s.whatsapp.net';
    fake.incoming({ jid, text: 'hello whatsapp' });
    fake.incoming({ jid, text: 'my own echo', fromMe: true });
    await fake.until(() => received.length > 0, 'the inbound message');
    expect(received).toEqual([expect.objectContaining({ senderId: jid, route: jid, text: 'hello whatsapp', sender: 'Wanda' })]);
    await adapter.sendTyping(jid);
    await adapter.send(jid, { text: 'hello back', files: [], idempotencyKey: 'out:0' });
    expect(fake.textsTo(jid)).toEqual(['hello back']);
    expect(fake.presence).toEqual([{ type: 'composing', jid }]);
  });

  it('reconnects after a close with growing backoff, and receives on the new connection', async () => {
    const { fake, adapter, sink, received } = setup();
    await adapter.start(sink);
    fake.onOpen = () => {}; // the next two connections do not open
    fake.close(428);
    await fake.until(() => fake.sockets.length === 2, 'a second connection');
    fake.close(408);
    await fake.until(() => fake.sockets.length === 3, 'a third connection');
    expect(adapter.reconnectAttempts).toBe(2);
    const gaps = [fake.opened[2]! - fake.opened[1]!];
    // The second wait is at least the doubled delay (40 ms); the first was 20 ms.
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    fake.connect();
    expect(adapter.reconnectAttempts).toBe(0);
    const jid = '15559876543@s.whatsapp.net';
    fake.incoming({ jid, text: 'after the reconnect' });
    await fake.until(() => received.some((m) => m.text === 'after the reconnect'), 'the message after reconnecting');
  });

  it('a logged-out session stops reconnecting and says how to log in again', async () => {
    const fatal: string[] = [];
    const { fake, adapter, sink } = setup({ onFatal: (m) => fatal.push(m) });
    await adapter.start(sink);
    fake.close(401);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toContain('tinyagi channel reset whatsapp');
    expect(JSON.parse(readFileSync(adapter.stateFile, 'utf8'))).toMatchObject({ state: 'logged_out' });
    expect(fake.sockets).toHaveLength(1);
  });
});

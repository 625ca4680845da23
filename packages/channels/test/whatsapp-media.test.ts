/**
 * The real inbound media path: `baileysFactory.download` (Baileys' downloadMediaMessage, not a
 * fake) fetches an encrypted blob from a media server on loopback and decrypts it with the
 * message's mediaKey. The blob is made by Baileys' own `encryptedStream` (what its upload path
 * uses), so this proves the adapter's call works with the format Baileys writes.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptedStream, type MediaType } from 'baileys';
import { afterEach, describe, expect, it } from 'vitest';
import { baileysFactory, type InboundMessage, WhatsAppAdapter, type WhatsAppMessage } from '../src/index.ts';
import { FakeWhatsApp } from './fakes/fake-whatsapp.ts';

const servers: Server[] = [];
const dirs: string[] = [];
const adapters: WhatsAppAdapter[] = [];
afterEach(async () => {
  for (const a of adapters.splice(0)) await a.stop();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A media host on 127.0.0.1 serving `blobs` by path (404 otherwise); records the paths asked for. */
async function mediaServer(blobs: Map<string, Buffer>): Promise<{ base: string; requested: string[] }> {
  const requested: string[] = [];
  const server = createServer((req, res) => {
    requested.push(req.url ?? '');
    const blob = blobs.get(req.url ?? '');
    if (!blob) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length }).end(blob);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requested };
}

/** Encrypts `plain` the way WhatsApp media is stored (Baileys' own encryptedStream). */
async function encrypt(plain: Buffer, type: MediaType) {
  const enc = await encryptedStream(plain, type);
  try {
    return { ...enc, blob: await readFile(enc.encFilePath) };
  } finally {
    await rm(enc.encFilePath, { force: true });
  }
}

function mediaMessage(id: string, key: 'imageMessage' | 'documentMessage', fields: Record<string, unknown>): WhatsAppMessage {
  return { key: { remoteJid: '15551230000@s.whatsapp.net', id, fromMe: false }, pushName: 'Wanda', message: { [key]: fields } };
}

describe('whatsapp media download (real Baileys)', () => {
  it('downloads and decrypts an image and a document (lengths not a multiple of the AES block)', async () => {
    const image = randomBytes(200_003);
    const doc = Buffer.from('quarterly numbers: 1, 2, 3\n');
    const encImage = await encrypt(image, 'image');
    const encDoc = await encrypt(doc, 'document');
    const { base, requested } = await mediaServer(
      new Map([
        ['/m/image.enc', encImage.blob],
        ['/m/doc.enc', encDoc.blob],
      ]),
    );

    const gotImage = await baileysFactory.download(
      mediaMessage('IMG1', 'imageMessage', {
        url: `${base}/m/image.enc`,
        mimetype: 'image/jpeg',
        mediaKey: encImage.mediaKey,
        fileSha256: encImage.fileSha256,
        fileEncSha256: encImage.fileEncSha256,
        fileLength: encImage.fileLength,
      }),
    );
    const gotDoc = await baileysFactory.download(
      mediaMessage('DOC1', 'documentMessage', {
        url: `${base}/m/doc.enc`,
        mimetype: 'text/plain',
        fileName: 'numbers.txt',
        mediaKey: encDoc.mediaKey,
        fileSha256: encDoc.fileSha256,
        fileEncSha256: encDoc.fileEncSha256,
        fileLength: encDoc.fileLength,
      }),
    );

    expect(Buffer.from(gotImage).equals(image)).toBe(true);
    expect(Buffer.from(gotDoc).equals(doc)).toBe(true);
    expect(requested).toEqual(['/m/image.enc', '/m/doc.enc']);
  });

  it('an inbound file from the adapter downloads through the real path', async () => {
    const plain = randomBytes(5_000);
    const enc = await encrypt(plain, 'document');
    const { base } = await mediaServer(new Map([['/d/report.enc', enc.blob]]));
    const stateDir = mkdtempSync(join(tmpdir(), 'tinyagi-wa-media-'));
    dirs.push(stateDir);
    const fake = new FakeWhatsApp();
    // The socket is the fake; the download is Baileys'.
    const adapter = new WhatsAppAdapter({ stateDir, factory: { open: () => fake.open(), download: baileysFactory.download } });
    adapters.push(adapter);
    const received: InboundMessage[] = [];
    await adapter.start({ receive: async (m) => void received.push(m) });
    await fake.until(() => fake.current.user !== undefined, 'the connection');

    const message = mediaMessage('DOC2', 'documentMessage', {
      url: `${base}/d/report.enc`,
      mimetype: 'application/octet-stream',
      fileName: 'report.bin',
      mediaKey: enc.mediaKey,
      fileSha256: enc.fileSha256,
      fileEncSha256: enc.fileEncSha256,
      fileLength: enc.fileLength,
    });
    fake.current.emitter.emit('messages.upsert', { type: 'notify', messages: [message] });
    const inbound = await fake.until(() => received[0], 'the inbound message');

    expect(inbound.files.map((f) => ({ name: f.name, size: f.size }))).toEqual([{ name: 'report.bin', size: plain.length }]);
    const bytes = await inbound.files[0]!.download();
    expect(Buffer.from(bytes).equals(plain)).toBe(true);
  });

  it('a media URL that is gone (404) rejects instead of returning bytes', async () => {
    const enc = await encrypt(randomBytes(64), 'image');
    const { base } = await mediaServer(new Map());
    await expect(
      baileysFactory.download(mediaMessage('IMG404', 'imageMessage', { url: `${base}/gone.enc`, mimetype: 'image/jpeg', mediaKey: enc.mediaKey, fileLength: enc.fileLength })),
    ).rejects.toThrow(/Failed to fetch stream/);
  });
});

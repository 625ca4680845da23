/**
 * The real inbound media path: `baileysFactory.download` (Baileys' downloadMediaMessage, not a
 * fake) fetches an encrypted blob from a media server on loopback and decrypts it with the
 * message's mediaKey. The blob is made by Baileys' own `encryptedStream` (what its upload path
 * uses), so this proves the adapter's call works with the format Baileys writes. (The adapter's
 * files going through it: whatsapp-baileys.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encryptedStream, type MediaType } from 'baileys';
import { afterEach, describe, expect, it } from 'vitest';
import { baileysFactory, type WhatsAppMessage } from '../src/index.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
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

  it('a media URL that is gone (404) rejects instead of returning bytes', async () => {
    const enc = await encrypt(randomBytes(64), 'image');
    const { base } = await mediaServer(new Map());
    await expect(
      baileysFactory.download(mediaMessage('IMG404', 'imageMessage', { url: `${base}/gone.enc`, mimetype: 'image/jpeg', mediaKey: enc.mediaKey, fileLength: enc.fileLength })),
    ).rejects.toThrow(/Failed to fetch stream/);
  });
});

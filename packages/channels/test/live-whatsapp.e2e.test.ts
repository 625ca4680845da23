/**
 * Live replies on WhatsApp, end to end (the built daemon, the real channel process, Baileys' own
 * message code against the fake WhatsApp of whatsapp.e2e.test.ts): a run that works longer than
 * a moment gets one short status message (never edited: WhatsApp's edits are unreliable), which
 * is deleted for everyone once the answer — delivered once — is there.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { proto } from 'baileys';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';
import { FakeWhatsAppServer } from './fakes/wa-server.ts';

const ALICE = '15551239077@s.whatsapp.net';
const socketModule = join(dirname(fileURLToPath(import.meta.url)), 'fakes', 'wa-socket.ts');

let server: FakeWhatsAppServer;
let d: TestDaemon;

beforeAll(async () => {
  server = new FakeWhatsAppServer();
  await server.start();
  d = await createChannelDaemon({
    coder: () => ({
      mock: {
        reply: 'coder done: {{message}}',
        rules: [{ match: 'slow job', progress: Array.from({ length: 12 }, (_, i) => ({ status: `slow step ${i + 1}`, after_ms: 300 })), reply: 'slow job finished' }],
      },
    }),
    channels: { enabled: ['whatsapp'], whatsapp: { socket_module: socketModule, fake_url: server.url } },
  });
  await d.start();
  await waitFor(async () => (await d.api.channelLogin({ params: { name: 'whatsapp' } })).state === 'qr', 60_000, 'the QR code');
  server.scan();
  await server.until(() => server.connected, 'the device connected', 60_000);
  await server.text(ALICE, 'hello');
  const code = await server.until(() => /pairing code is ([A-Z2-9]{8})/.exec(server.textsTo(ALICE).join('\n'))?.[1], 'the pairing code', 60_000);
  await d.api.approvePairing({ body: { code } });
  await server.until(() => server.textsTo(ALICE).some((t) => /coder done: hello/.test(t)), 'the first answer', 60_000);
}, 180_000);

afterAll(async () => {
  await d?.cleanup();
  await server?.close();
});

it('a slow run: one short status message, never edited, deleted for everyone once the answer is there', async () => {
  const before = server.received.length;
  await server.text(ALICE, 'slow job');
  await server.until(() => server.textsTo(ALICE).some((t) => /slow job finished/.test(t)), 'the answer', 90_000);
  const mine = () => server.received.slice(before).filter((r) => r.to === ALICE);
  const status = mine().find((r) => /^⏳ working/.test(r.message.conversation ?? r.message.extendedTextMessage?.text ?? ''));
  expect(status).toBeDefined();
  const revoke = await server.until(
    () => mine().find((r) => r.message.protocolMessage?.type === proto.Message.ProtocolMessage.Type.REVOKE && r.message.protocolMessage.key?.id === status!.id),
    'the status message to be deleted for everyone',
    30_000,
  );
  expect(revoke.message.protocolMessage?.key?.fromMe).toBe(true);
  // Never edited; the answer once.
  expect(mine().filter((r) => r.message.protocolMessage?.type === proto.Message.ProtocolMessage.Type.MESSAGE_EDIT)).toEqual([]);
  expect(server.textsTo(ALICE).filter((t) => /slow job finished/.test(t))).toHaveLength(1);
  expect(server.textsTo(ALICE).filter((t) => /^⏳ working/.test(t))).toHaveLength(1);
}, 120_000);

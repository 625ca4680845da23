/**
 * WhatsApp end to end: the real daemon starts the real channel process, whose adapter runs on
 * Baileys' own code (test/fakes/wa-socket.ts, loaded through channels.whatsapp.socket_module)
 * against the fake WhatsApp (test/fakes/wa-server.ts): QR login, pairing, replies, files both
 * ways, a group mention, and crashes (channel SIGKILL, daemon SIGKILL) with the phones writing
 * while nothing is connected: WhatsApp keeps those messages and Baileys delivers them as offline
 * messages on the next connection, so none is lost.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { isGone, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';
import { BOT_LID, FakeWhatsAppServer } from './fakes/wa-server.ts';

const ALICE = '15551239001@s.whatsapp.net';
const GROUP = '120363000000000009@g.us';
const socketModule = join(dirname(fileURLToPath(import.meta.url)), 'fakes', 'wa-socket.ts');

let server: FakeWhatsAppServer;
let d: TestDaemon;

beforeAll(async () => {
  server = new FakeWhatsAppServer();
  await server.start();
  d = await createChannelDaemon({
    coder: (home) => ({
      mock: {
        reply: 'coder done: {{message}}',
        rules: [
          { match: 'send the report', reply: `Here. [send_file: ${join(home, 'files', 'report.txt')}]` },
          { match: 'slow one', latency_ms: 1500, reply: 'coder done: slow one' },
        ],
      },
    }),
    // Short leases, so what a killed process held comes back within the test.
    channels: { enabled: ['whatsapp'], whatsapp: { socket_module: socketModule, fake_url: server.url, lease_ms: 1500 } },
    extra: { queue: { lease_ms: 1500, sweep_ms: 200 } },
  });
  await d.start();
}, 120_000);

afterEach((context) => {
  // A failure shows what the channel process said (the temp home is gone after the run).
  if (context.task.result?.state === 'fail') console.error(`--- logs/whatsapp.log ---\n${readLog('whatsapp.log')}\n${d.logs()}`);
});

function readLog(name: string): string {
  try {
    return readFileSync(join(d.home, 'logs', name), 'utf8').slice(-4000);
  } catch {
    return '(none)';
  }
}

afterAll(async () => {
  await d?.cleanup();
  await server?.close();
});

const replies = (pattern: RegExp, jid = ALICE) => server.textsTo(jid).filter((t) => pattern.test(t)).length;

async function channelPid(): Promise<number> {
  return waitFor(async () => (await d.api.listChannels()).find((c) => c.name === 'whatsapp' && c.state === 'running')?.pid ?? undefined, 30_000, 'a running whatsapp channel');
}

it('a first login shows the QR code through the API; once scanned (and restarted, 515) the channel is open', async () => {
  const login = await waitFor(
    async () => {
      const state = await d.api.channelLogin({ params: { name: 'whatsapp' } });
      return state.state === 'qr' ? state : undefined;
    },
    60_000,
    'the QR code on GET /api/channels/whatsapp/login',
  );
  expect(String(login.qr).split(',')).toHaveLength(4);
  server.scan();
  await waitFor(async () => (await d.api.channelLogin({ params: { name: 'whatsapp' } })).state === 'open', 30_000, 'the open state');
  await server.until(() => server.connected, 'the device connected');
});

it('a new sender is paired; the held message is answered, Signal-encrypted to the phone', async () => {
  await server.text(ALICE, 'hello whatsapp');
  const code = await server.until(() => /pairing code is ([A-Z2-9]{8})/.exec(server.textsTo(ALICE).join('\n'))?.[1], 'the pairing code');
  await d.api.approvePairing({ body: { code } });
  await server.until(() => replies(/coder done: hello whatsapp/) === 1, 'the answer to the held message');
});

it('a document with a caption comes in to files/, and a [send_file] goes out as a document the phone can decrypt', async () => {
  await server.media(ALICE, { type: 'document', bytes: Buffer.from('whatsapp notes'), fileName: 'notes.txt', caption: 'see file', mimetype: 'text/plain' });
  await server.until(() => replies(/coder done: see file/) === 1, 'the answer to the document');
  const stored = readdirSync(join(d.home, 'files')).find((f) => f.endsWith('notes.txt'))!;
  expect(readFileSync(join(d.home, 'files', stored), 'utf8')).toBe('whatsapp notes');

  mkdirSync(join(d.home, 'files'), { recursive: true });
  writeFileSync(join(d.home, 'files', 'report.txt'), 'whatsapp report');
  await server.text(ALICE, 'send the report');
  const sent = await server.until(() => server.received.find((r) => r.to === ALICE && r.message.documentMessage), 'the document');
  expect(await server.downloadSent(sent)).toEqual({ type: 'document', bytes: Buffer.from('whatsapp report'), fileName: 'report.txt' });
});

it('in a group, a mention of the bot by its LID is answered in the group', async () => {
  const lid = BOT_LID.replace(':7', '');
  await server.send(ALICE, { extendedTextMessage: { text: `@${lid.split('@')[0]} in the group`, contextInfo: { mentionedJid: [lid] } } }, GROUP);
  await server.until(() => replies(/coder done: in the group/, GROUP) === 1, 'the group answer');
});

it('an unknown sender in a group gets the pairing code in their own chat; the group only hears that approval is needed', async () => {
  const bob = '15551239002@s.whatsapp.net';
  await server.text(bob, 'who are you', { group: GROUP, mention: true });
  await server.until(() => /pairing code is [A-Z2-9]{8}/.test(server.textsTo(bob).join('\n')), 'the pairing code in the 1:1 chat');
  const notice = await server.until(() => server.textsTo(GROUP).find((t) => /approved senders only/.test(t)), 'the notice in the group');
  expect(notice).not.toMatch(/[A-Z2-9]{8}/);
});

it('the connection drops while a reply is on its way (two logins refused): the send fails, is retried, and the reply arrives once after the reconnect', async () => {
  const id = await server.text(ALICE, 'slow one');
  await server.until(() => server.receipts.has(id), 'the receipt');
  server.refuseNext(2, 408);
  server.disconnect(428);
  await server.until(() => replies(/coder done: slow one/) === 1, 'the reply after the reconnect', 60_000);
  await waitFor(async () => (await d.api.listOutbox({ query: { channel: 'whatsapp', limit: 500 } })).find((r) => /slow one/.test(r.text))?.status === 'delivered', 30_000, 'the reply acked');
  expect(replies(/coder done: slow one/)).toBe(1);
  expect(server.hellos.filter((h) => h.me !== null).length).toBeGreaterThanOrEqual(4);
});

it('the channel process SIGKILLed: what the phone wrote meanwhile arrives as offline messages on the restarted process and is answered once', async () => {
  const pid = await channelPid();
  process.kill(pid, 'SIGKILL');
  await waitFor(() => isGone(pid), 10_000, 'the channel process to die');
  await server.until(() => !server.connected, 'the device disconnected');
  await server.text(ALICE, 'while the channel is down one');
  await server.text(ALICE, 'while the channel is down two');
  await server.until(() => replies(/coder done: while the channel is down (one|two)/) === 2, 'both answers after the restart', 60_000);
  expect(await channelPid()).not.toBe(pid);
});

it('the daemon SIGKILLed and restarted: messages written while it was down are answered once', async () => {
  const pid = await channelPid();
  await d.kill();
  await waitFor(() => isGone(pid), 20_000, 'the orphaned channel process to exit');
  await server.until(() => !server.connected, 'the device disconnected');
  await server.text(ALICE, 'while the daemon is down');
  await d.start();
  await server.until(() => replies(/coder done: while the daemon is down/) === 1, 'the answer after the restart', 60_000);
  await waitFor(async () => (await d.api.listOutbox({ query: { channel: 'whatsapp', limit: 500 } })).every((r) => r.status === 'delivered'), 60_000, 'every reply acked');
  expect(replies(/coder done: while the daemon is down/)).toBe(1);
  expect(replies(/coder done: hello whatsapp/)).toBe(1);
});

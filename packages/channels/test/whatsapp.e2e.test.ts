/**
 * WhatsApp through the real processes: the built daemon starts the real channel process, whose
 * adapter runs on Baileys' own code (test/fakes/wa-socket.ts, loaded through
 * channels.whatsapp.socket_module) against the fake WhatsApp (test/fakes/wa-server.ts): the QR
 * login through the daemon's API, a new sender's message to the agent and the reply back, and
 * crashes (channel SIGKILL, daemon SIGKILL) with the phones writing while nothing is connected:
 * WhatsApp keeps those messages and Baileys delivers them as offline messages on the next
 * connection, so none is lost. Everything else the channel does runs in-process (host-*.test.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { isGone, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';
import { FakeWhatsAppServer } from './fakes/wa-server.ts';
/** A case that restarts a process waits for the daemon's start (60 s at most on a loaded machine), the channel process's, then its own steps. */
const RESTART_TIMEOUT_MS = 180_000;

const ALICE = '15551239001@s.whatsapp.net';
const socketModule = join(dirname(fileURLToPath(import.meta.url)), 'fakes', 'wa-socket.ts');

let server: FakeWhatsAppServer;
let d: TestDaemon;

beforeAll(async () => {
  server = new FakeWhatsAppServer();
  await server.start();
  d = await createChannelDaemon({
    // Short leases, so what a killed process held comes back within the test.
    channels: { enabled: ['whatsapp'], whatsapp: { socket_module: socketModule, fake_url: server.url, lease_ms: 1500 } },
    extra: { queue: { lease_ms: 1500, sweep_ms: 200 } },
  });
  await d.start();
}, 120_000);

afterEach((context) => {
  // A failure shows what the channel process said (the temp home is gone after the run).
  if (context.task.result?.state !== 'fail') return;
  let log = '(none)';
  try {
    log = readFileSync(join(d.home, 'logs', 'whatsapp.log'), 'utf8').slice(-4000);
  } catch {}
  console.error(`--- logs/whatsapp.log ---\n${log}\n${d.logs()}`);
});

afterAll(async () => {
  await d?.cleanup();
  await server?.close();
});

const replies = (pattern: RegExp) => server.textsTo(ALICE).filter((t) => pattern.test(t)).length;

async function running(): Promise<number> {
  return waitFor(async () => (await d.api.listChannels()).find((c) => c.name === 'whatsapp' && c.running)?.pid ?? undefined, 30_000, 'a running whatsapp channel');
}

it(
  'a first login shows the QR code through the API; once scanned (and restarted, 515) the channel is open',
  async () => {
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
  },
  RESTART_TIMEOUT_MS,
);

it("a new sender's message reaches the agent once the sender is paired; the reply is Signal-encrypted to the phone", async () => {
  await server.text(ALICE, 'hello whatsapp');
  const code = await server.until(() => /pairing code is ([A-Z2-9]{8})/.exec(server.textsTo(ALICE).join('\n'))?.[1], 'the pairing code');
  await d.api.approvePairing({ body: { code } });
  await server.until(() => replies(/coder done: hello whatsapp/) === 1, 'the answer to the held message');
});

it(
  'the channel process SIGKILLed: what the phone wrote meanwhile arrives as offline messages on the restarted process and is answered once',
  async () => {
    const pid = await running();
    process.kill(pid, 'SIGKILL');
    await waitFor(() => isGone(pid), 10_000, 'the channel process to die');
    await server.until(() => !server.connected, 'the device disconnected');
    await server.text(ALICE, 'while the channel is down one');
    await server.text(ALICE, 'while the channel is down two');
    await server.until(() => replies(/coder done: while the channel is down (one|two)/) === 2, 'both answers after the restart', 60_000);
    expect(await running()).not.toBe(pid);
  },
  RESTART_TIMEOUT_MS,
);

it(
  'the daemon SIGKILLed and restarted: messages written while it was down are answered once',
  async () => {
    const pid = await running();
    await d.kill();
    await waitFor(() => isGone(pid), 20_000, 'the orphaned channel process to exit');
    await server.until(() => !server.connected, 'the device disconnected');
    await server.text(ALICE, 'while the daemon is down');
    await d.start();
    await server.until(() => replies(/coder done: while the daemon is down/) === 1, 'the answer after the restart', 60_000);
    await waitFor(async () => (await d.api.listOutbox({ query: { channel: 'whatsapp', limit: 500 } })).every((r) => r.status === 'delivered'), 60_000, 'every reply acked');
    expect(replies(/coder done: while the daemon is down/)).toBe(1);
    expect(replies(/coder done: hello whatsapp/)).toBe(1);
  },
  RESTART_TIMEOUT_MS,
);

/**
 * Discord through the real processes: the built daemon supervises the real channel process (the
 * built runner, discord.js) against the fake Discord. A new sender's DM reaches the agent and the
 * reply comes back; and what only processes show: the channel process SIGKILLed after Discord
 * created a reply but before its answer arrived (the restarted process resends with the same
 * nonce: one message), while a DM is written (read from the history after the restart), and
 * mid-run (its progress message deleted by the next process); the daemon SIGKILLed between
 * Discord's answer and the ack (the sent ledger: no resend); and a bot without the Message Content
 * intent, whose process exits with code 2 and is restarted until the intent is on. Everything else
 * the channel does runs in-process (host-*.test.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { FakeDiscord, dmChannelOf } from '@tinyagi/test-kit/fake-discord';
import { isGone, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

/** A case that restarts a process waits for the daemon's start (60 s at most on a loaded machine), the channel process's, then its own steps. */
const RESTART_TIMEOUT_MS = 180_000;

const USER = '700000000000000051';
const DM = dmChannelOf(USER);
/** A tool call, then 40 pieces of ~90 characters, one every `everyMs`. */
const pieces = (tag: string, everyMs: number) => [
  { tool: 'Read', after_ms: everyMs },
  ...Array.from({ length: 40 }, (_, i) => ({ text: `${tag} sentence ${String(i + 1).padStart(2, '0')} ${'lorem ipsum dolor sit amet '.repeat(3)}`, after_ms: everyMs })),
];

let fake: FakeDiscord;
let d: TestDaemon;

beforeAll(async () => {
  fake = new FakeDiscord();
  await fake.start();
  d = await createChannelDaemon({
    coder: () => ({ mock: { reply: 'coder done: {{message}}', replies: [{ match: 'crash it', progress: pieces('crashing', 250), reply: 'crash finished' }] } }),
    // Short leases, so what a killed process held comes back within the test.
    channels: { enabled: ['discord'], discord: { bot_token: fake.token, rest_api: `${fake.url}/api`, lease_ms: 1500, live_replies: 'text' } },
    extra: { queue: { lease_ms: 1500, sweep_ms: 200 } },
  });
  await d.start();
}, 120_000);

afterEach((context) => {
  // A failure shows what the channel process said (the temp home is gone after the run).
  if (context.task.result?.state !== 'fail') return;
  console.error(
    `--- logs/discord.log ---\n${channelLog().slice(-4000)}\n${d.logs()}\nrequests: ${fake.requests
      .slice(-60)
      .map((r) => `${r.method} ${r.path} ${r.status} ${r.at}`)
      .join(', ')}`,
  );
});

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

const channelLog = (): string => {
  const file = join(d.home, 'logs', 'discord.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
};
const count = (pattern: RegExp) => fake.sentTo(DM).filter((m) => pattern.test(m.content ?? '')).length;
const outbox = async () => d.api.listOutbox({ query: { channel: 'discord', limit: 500 } });

async function running(): Promise<number> {
  return waitFor(async () => (await d.api.listChannels()).find((c) => c.name === 'discord' && c.state === 'connected')?.pid ?? undefined, 30_000, 'a running discord channel');
}

async function allDelivered(pattern: RegExp, rows: number): Promise<void> {
  await waitFor(
    async () => {
      const all = (await outbox()).filter((r) => pattern.test(r.text));
      return all.length === rows && all.every((r) => r.status === 'delivered');
    },
    60_000,
    `${rows} replies matching ${pattern} to be acked`,
  );
}

it("identifies with the Message Content intent; a new sender's DM reaches the agent once the sender is paired, and the reply comes back", async () => {
  await fake.until(() => fake.connected, 'the bot to identify on the gateway', 60_000);
  const intents = Number(fake.identified[0]!['intents']);
  expect(intents & (1 << 15)).toBe(1 << 15);
  expect(fake.identified[0]!['token']).toBe(fake.token);
  fake.dm({ userId: USER, content: 'hello discord' });
  const code = await fake.until(
    () =>
      /pairing code is ([A-Z2-9]{8})/.exec(
        fake
          .sentTo(DM)
          .map((m) => m.content ?? '')
          .join('\n'),
      )?.[1],
    'the pairing code',
  );
  await d.api.approvePairing({ body: { code } });
  await fake.until(() => count(/coder done: hello discord/) === 1, 'the held message to be answered');
});

it(
  'the channel process SIGKILLed after Discord created a reply but before its answer arrived: the supervisor restarts it, the resend is de-duplicated by the nonce, nothing is lost',
  async () => {
    const held = fake.hold(/coder done: kill one/);
    fake.dm({ userId: USER, content: 'kill one' });
    fake.dm({ userId: USER, content: 'kill two' });
    await held.arrived;
    // Both messages are in the daemon before the kill (a DM that arrives while no channel process
    // is connected is read from the history after the restart: the next case).
    await waitFor(async () => (await outbox()).some((r) => /kill two/.test(r.text)), 60_000, 'the second reply in the outbox');
    const pid = await running();
    process.kill(pid, 'SIGKILL');
    await waitFor(() => isGone(pid), 10_000, 'the channel process to die');
    held.release();

    await allDelivered(/coder done: kill (one|two)/, 2);
    expect(count(/coder done: kill one/)).toBe(1);
    expect(count(/coder done: kill two/)).toBe(1);
    expect(fake.deduplicated).toBeGreaterThanOrEqual(1);
    expect(await running()).not.toBe(pid);
  },
  RESTART_TIMEOUT_MS,
);

it(
  'a DM written while the channel process is down (Discord does not redeliver it) is read from the history after the restart and answered once',
  async () => {
    const pid = await running();
    process.kill(pid, 'SIGKILL');
    await waitFor(() => isGone(pid), 10_000, 'the channel process to die');
    await fake.until(() => !fake.connected, 'the gateway connection to drop');
    fake.dm({ userId: USER, content: 'written while down' });
    await fake.until(() => count(/coder done: written while down/) === 1, 'the answer after the restart', 60_000);
    await allDelivered(/coder done: written while down/, 1);
    expect(count(/coder done: written while down/)).toBe(1);
  },
  RESTART_TIMEOUT_MS,
);

it(
  'kill -9 of the channel process mid-run: the stale progress message is deleted after the restart; the answer comes once',
  async () => {
    const start = Date.now();
    // A process restarted while its predecessor's sends still fill a bucket can meet one 429 before
    // discord.js has learnt that bucket (after the SIGKILL of the second case here): counted from now.
    const limited = fake.unexpected429;
    const progressPosts = () => fake.sentTo(DM).filter((m) => m.at >= start && /^⏳ working/.test(m.content ?? ''));
    fake.dm({ userId: USER, content: 'crash it' });
    const post = await fake.until(() => progressPosts()[0], 'the progress message', 60_000);
    // Killed once the process recorded it (a kill between Discord's answer and that write is the documented window).
    const live = join(d.home, 'channels', 'discord', 'live.json');
    await waitFor(
      () => existsSync(live) && (JSON.parse(readFileSync(live, 'utf8')) as { messages: Array<{ id: string }> }).messages.some((m) => m.id === post.id),
      30_000,
      'the progress message recorded in live.json',
    );
    process.kill(await running(), 'SIGKILL');
    await fake.until(() => fake.deletions.find((x) => x.id === post.id), 'the stale progress message to be deleted', 60_000);
    await fake.until(() => count(/crash finished/) > 0, 'the answer after the restart', 60_000);
    await waitFor(() => fake.channelView(DM).every((m) => !(m.bot && /^⏳ working/.test(m.content))), 30_000, 'no progress message left in the DM');
    expect(count(/crash finished/)).toBe(1);
    expect(fake.unexpected429).toBe(limited);
  },
  RESTART_TIMEOUT_MS,
);

it(
  'the daemon SIGKILLed between Discord’s answer and the ack: after the restart every reply arrives, none twice',
  async () => {
    const held = fake.hold(/coder done: crash one/);
    fake.dm({ userId: USER, content: 'crash one' });
    fake.dm({ userId: USER, content: 'crash two' });
    await held.arrived;
    await waitFor(async () => (await outbox()).some((r) => /crash two/.test(r.text)), 60_000, 'the second reply in the outbox');
    const pid = await running();
    await d.kill();
    // Discord answers only now, with the daemon gone: the ack cannot get through.
    held.release();
    await waitFor(() => isGone(pid), 20_000, 'the orphaned channel process to exit');

    await d.start();
    await allDelivered(/coder done: crash (one|two)/, 2);
    expect(count(/coder done: crash one/)).toBe(1);
    expect(count(/coder done: crash two/)).toBe(1);
  },
  RESTART_TIMEOUT_MS,
);

// After the daemon's restart (the case before), the supervisor's backoff starts afresh (1 s, 2 s, …).
it(
  'the Message Content intent switched off: the channel log and status say plainly what to turn on, the process exits with code 2 and its restarts check the flags without identifying; once the intent is on the bot answers',
  async () => {
    const identified = fake.identified.length;
    fake.messageContentIntent = false;
    // The next IDENTIFY (a session Discord invalidated) is closed with 4014.
    fake.invalidateSession(false);
    await waitFor(
      () => /ERROR Discord refused the Message Content intent \(gateway close 4014, disallowed intents\).*Privileged Gateway Intents/.test(channelLog()),
      60_000,
      'the plain error in logs/discord.log',
    );
    // First the dropped gateway (reconnecting in the process), then the process's exit with the plain reason.
    const status = await waitFor(
      async () => (await d.api.listChannels()).find((c) => c.name === 'discord' && c.state === 'reconnecting' && /^Discord refused/.test(c.lastError ?? '')),
      30_000,
      'the channel reconnecting with the reason',
    );
    expect(status.lastError).toMatch(/^Discord refused the Message Content intent \(gateway close 4014/);
    expect(d.logs()).toMatch(/channel discord: reconnecting \(exited: code 2,/);
    // The restarts ask the application's flags over REST: no IDENTIFY per restart.
    await waitFor(() => /checked without connecting/.test(channelLog()), 30_000, 'a restart that checked the flags');
    expect(fake.identified).toHaveLength(identified + 1);
    expect(fake.requests.some((r) => r.path === '/applications/@me')).toBe(true);

    fake.messageContentIntent = true;
    await fake.until(() => fake.connected, 'the bot connected once the intent is on', 60_000);
    fake.dm({ userId: USER, content: 'intent is back' });
    await fake.until(() => count(/coder done: intent is back/) === 1, 'the reply', 60_000);
  },
  RESTART_TIMEOUT_MS,
);

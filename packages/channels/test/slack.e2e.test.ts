/**
 * Slack through the real processes: the built daemon supervises the real channel process (the
 * built runner, the real Slack SDK) against the fake Slack. A new sender's DM reaches the agent
 * and the reply comes back; and what only processes show: the channel process SIGKILLed after
 * Slack created a reply whose answer never came back (the restarted process finds it by its
 * metadata), while a DM is written (Slack redelivers the unacked envelope after the restart) and
 * mid-run (its progress message deleted by the next process), and the daemon SIGKILLed between
 * Slack's answer and the ack: every reply lands exactly once. Everything else the channel does
 * runs in-process (host-*.test.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { FakeSlack, slackDmOf } from '@tinyagi/test-kit/fake-slack';
import { isGone, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

/** A case that restarts a process waits for the daemon's start (60 s at most on a loaded machine), the channel process's, then its own steps. */
const RESTART_TIMEOUT_MS = 180_000;

const USER = 'U0ALICE042';
const DM = slackDmOf(USER);
/** A tool call, then 40 pieces of ~90 characters, one every `everyMs`. */
const pieces = (tag: string, everyMs: number) => [
  { tool: 'Read', after_ms: everyMs },
  ...Array.from({ length: 40 }, (_, i) => ({ text: `${tag} sentence ${String(i + 1).padStart(2, '0')} ${'lorem ipsum dolor sit amet '.repeat(3)}`, after_ms: everyMs })),
];

let fake: FakeSlack;
let d: TestDaemon;

beforeAll(async () => {
  fake = new FakeSlack();
  await fake.start();
  d = await createChannelDaemon({
    coder: () => ({ mock: { reply: 'coder done: {{message}}', replies: [{ match: 'crash it', progress: pieces('crashing', 250), reply: 'crash finished' }] } }),
    // Short leases, so what a killed process held comes back within the test.
    channels: { enabled: ['slack'], slack: { bot_token: fake.botToken, app_token: fake.appToken, api_url: fake.apiUrl, lease_ms: 1500, live_replies: 'text' } },
    extra: { queue: { lease_ms: 1500, sweep_ms: 200 } },
  });
  await d.start();
}, 120_000);

afterEach((context) => {
  if (context.task.result?.state !== 'fail') return;
  console.error(
    `--- logs/slack.log ---\n${channelLog().slice(-4000)}\n${d.logs()}\nrequests: ${fake.requests
      .slice(-20)
      .map((r) => `${r.method} ${r.status} ${r.error ?? ''}`)
      .join(', ')}`,
  );
});

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

const channelLog = (): string => {
  const file = join(d.home, 'logs', 'slack.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
};
const texts = () => fake.botMessages(DM).map((m) => m.text);
const count = (pattern: RegExp) => texts().filter((t) => pattern.test(t)).length;
const outbox = async () => d.api.listOutbox({ query: { channel: 'slack', limit: 500 } });

async function running(): Promise<number> {
  return waitFor(async () => (await d.api.listChannels()).find((c) => c.name === 'slack' && c.state === 'connected')?.pid ?? undefined, 30_000, 'a running slack channel');
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

it("a new sender's DM reaches the agent once the sender is paired, and the reply comes back", async () => {
  await fake.until(() => fake.connected, 'the channel on the Socket Mode connection', 60_000);
  fake.dm({ user: USER, text: 'hello slack' });
  const code = await fake.until(() => /pairing code is ([A-Z2-9]{8})/.exec(texts().join('\n'))?.[1], 'the pairing code', 60_000);
  await d.api.approvePairing({ body: { code } });
  await fake.until(() => count(/coder done: hello slack/) === 1, 'the held message to be answered', 60_000);
});

it(
  'the channel process SIGKILLed after Slack created a reply but before its answer arrived: restarted, the resend finds it, nothing lost or doubled',
  async () => {
    const held = fake.hold(/coder done: kill one/);
    fake.dm({ user: USER, text: 'kill one' });
    fake.dm({ user: USER, text: 'kill two' });
    await held.arrived;
    await waitFor(async () => (await outbox()).some((r) => /kill two/.test(r.text)), 60_000, 'the second reply in the outbox');
    const pid = await running();
    process.kill(pid, 'SIGKILL');
    await waitFor(() => isGone(pid), 10_000, 'the channel process to die');
    held.release();
    await allDelivered(/coder done: kill (one|two)/, 2);
    expect(count(/coder done: kill one/)).toBe(1);
    expect(count(/coder done: kill two/)).toBe(1);
    expect(await running()).not.toBe(pid);
    // The resend was the new process's, and it found the message by its metadata.
    expect(channelLog()).toMatch(/was posted before its confirmation was lost; not sent again/);
  },
  RESTART_TIMEOUT_MS,
);

it(
  'a DM written while the channel process is down is delivered by Slack after the restart (unacked envelopes come again) and answered once',
  async () => {
    const pid = await running();
    process.kill(pid, 'SIGKILL');
    await waitFor(() => isGone(pid), 10_000, 'the channel process to die');
    await fake.until(() => !fake.connected, 'the socket to drop');
    fake.dm({ user: USER, text: 'written while down' });
    await allDelivered(/coder done: written while down/, 1);
    expect(count(/coder done: written while down/)).toBe(1);
  },
  RESTART_TIMEOUT_MS,
);

it(
  'kill -9 of the channel process mid-run: the stale progress message is deleted after the restart; the answer comes once',
  async () => {
    const start = Date.now();
    fake.dm({ user: USER, text: 'crash it' });
    // `messages` keeps deleted ones; a progress message's first text says it is one.
    const post = await fake.until(() => fake.messages.find((m) => m.channel === DM && m.bot_id !== undefined && m.at >= start && /working/.test(m.edits[0] ?? m.text)), 'the progress message', 60_000);
    // Killed once the process recorded it in live.json (a kill between Slack's answer and that write
    // is the documented window; one before Slack's answer is found by its metadata key, slack-adapter.test.ts).
    const live = join(d.home, 'channels', 'slack', 'live.json');
    await waitFor(
      () => existsSync(live) && (JSON.parse(readFileSync(live, 'utf8')) as { messages: Array<{ id: string }> }).messages.some((m) => m.id === `${DM}/${post.ts}`),
      30_000,
      'the progress message recorded in live.json',
    );
    process.kill(await running(), 'SIGKILL');
    await fake.until(() => fake.deletions.find((x) => x.ts === post.ts), 'the stale progress message to be deleted', 60_000);
    await fake.until(() => count(/crash finished/) > 0, 'the answer after the restart', 60_000);
    await waitFor(() => texts().every((t) => !/working/.test(t) || /coder done|finished/.test(t)), 30_000, 'no progress message left in the DM');
    expect(count(/crash finished/)).toBe(1);
  },
  RESTART_TIMEOUT_MS,
);

it(
  'the daemon SIGKILLed between Slack’s answer and the ack: after the restart every reply arrives, none twice',
  async () => {
    const held = fake.hold(/coder done: crash one/);
    fake.dm({ user: USER, text: 'crash one' });
    fake.dm({ user: USER, text: 'crash two' });
    await held.arrived;
    await waitFor(async () => (await outbox()).some((r) => /crash two/.test(r.text)), 60_000, 'the second reply in the outbox');
    const pid = await running();
    await d.kill();
    held.release();
    await waitFor(() => isGone(pid), 20_000, 'the orphaned channel process to exit');
    await d.start();
    await allDelivered(/coder done: crash (one|two)/, 2);
    expect(count(/coder done: crash one/)).toBe(1);
    expect(count(/coder done: crash two/)).toBe(1);
  },
  RESTART_TIMEOUT_MS,
);

/**
 * Slack faults through the real daemon and channel process (the fake Slack drives the real SDK):
 * a 429 with Retry-After in one chat waited out there alone while another chat is answered, a 5xx
 * after Slack created the reply (found again by its metadata, not posted twice), a socket refresh
 * and a cut socket with messages in flight, and a file too large to download.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack, SLACK_CHANNEL, slackDmOf } from '@tinyagi/test-kit/fake-slack';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

const ALICE = 'U0ALICE061';
const BOB = 'U0BOB00061';

let fake: FakeSlack;
let d: TestDaemon;

const channelLog = (): string => {
  const file = join(d.home, 'logs', 'slack.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
};
const texts = (user: string) => fake.botMessages(slackDmOf(user)).map((m) => m.text);
const count = (user: string, pattern: RegExp) => texts(user).filter((t) => pattern.test(t)).length;

async function pair(user: string): Promise<void> {
  fake.dm({ user, text: 'hi' });
  const code = await fake.until(() => /pairing code is ([A-Z2-9]{8})/.exec(texts(user).join('\n'))?.[1], `the pairing code of ${user}`, 60_000);
  await d.api.approvePairing({ body: { code } });
  await fake.until(() => count(user, /coder done: hi/) === 1, `the first reply to ${user}`, 60_000);
}

beforeAll(async () => {
  fake = new FakeSlack();
  await fake.start();
  d = await createChannelDaemon({
    channels: { enabled: ['slack'], slack: { bot_token: fake.botToken, app_token: fake.appToken, api_url: fake.apiUrl, max_file_bytes: 1024 } },
  });
  await d.start();
  await fake.until(() => fake.connected, 'the channel on the Socket Mode connection', 60_000);
  await pair(ALICE);
  await pair(BOB);
}, 180_000);

afterEach((context) => {
  if (context.task.result?.state !== 'fail') return;
  console.error(`--- logs/slack.log ---\n${channelLog().slice(-4000)}\n${d.logs()}`);
});

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

describe('slack faults, end to end', () => {
  it("a 429 with Retry-After in one chat is waited out in that chat alone: the other chat's reply goes first, each once", async () => {
    fake.failNext({ method: 'chat.postMessage', channel: slackDmOf(ALICE), kind: 'rate_limit', retryAfterS: 3 });
    fake.dm({ user: ALICE, text: 'limited one' });
    await fake.until(() => (fake.rateLimited.get('chat.postMessage') ?? 0) >= 1, 'the 429');
    const limitedAt = Date.now();
    fake.dm({ user: BOB, text: 'free one' });
    await fake.until(() => count(BOB, /coder done: free one/) === 1, "the other chat's reply", 60_000);
    const bobAt = fake.botMessages(slackDmOf(BOB)).find((m) => /free one/.test(m.text))!.at;
    await fake.until(() => count(ALICE, /coder done: limited one/) === 1, 'the limited reply after its wait', 60_000);
    const aliceAt = fake.botMessages(slackDmOf(ALICE)).find((m) => /limited one/.test(m.text))!.at;
    expect(bobAt).toBeLessThan(aliceAt);
    expect(aliceAt - limitedAt).toBeGreaterThanOrEqual(2500);
    expect(channelLog()).toMatch(/slack asked to retry after 3000 ms/);
    expect(count(ALICE, /coder done: limited one/)).toBe(1);
  });

  it('a 5xx after Slack created the reply: the retry finds it by its metadata, the reply is there once', async () => {
    fake.failNext({ method: 'chat.postMessage', channel: slackDmOf(ALICE), kind: 'server_error', status: 502, afterEffect: true });
    fake.dm({ user: ALICE, text: 'lost answer' });
    await waitFor(async () => (await d.api.listOutbox({ query: { channel: 'slack', limit: 500 } })).some((r) => /lost answer/.test(r.text) && r.status === 'delivered'), 60_000, 'the reply acked');
    expect(count(ALICE, /coder done: lost answer/)).toBe(1);
    expect(channelLog()).toMatch(/was posted before its confirmation was lost; not sent again/);
  });

  it('a socket refresh and a cut socket with messages in flight: every message answered once', async () => {
    fake.dm({ user: ALICE, text: 'flight 1' });
    fake.requestDisconnect('refresh_requested');
    fake.dm({ user: ALICE, text: 'flight 2' });
    fake.dm({ user: BOB, text: 'flight 3' });
    await fake.until(() => fake.connected && fake.connectionsOpened >= 2, 'the new connection', 60_000);
    fake.drop();
    fake.dm({ user: BOB, text: 'flight 4' });
    for (const [user, n] of [
      [ALICE, 1],
      [ALICE, 2],
      [BOB, 3],
      [BOB, 4],
    ] as const) {
      await fake.until(() => count(user, new RegExp(`coder done: flight ${n}\\b`)) === 1, `the reply to flight ${n}`, 60_000);
    }
    const rows = (await d.api.listOutbox({ query: { channel: 'slack', limit: 500 } })).filter((r) => /flight \d/.test(r.text));
    expect(rows).toHaveLength(4);
    for (const n of [1, 2]) expect(count(ALICE, new RegExp(`coder done: flight ${n}\\b`))).toBe(1);
    for (const n of [3, 4]) expect(count(BOB, new RegExp(`coder done: flight ${n}\\b`))).toBe(1);
  });

  it('an unknown sender mentioning the bot in a channel gets the pairing code in a DM; the thread only hears that approval is needed', async () => {
    const stranger = 'U0STRANGE1';
    const top = fake.channelMessage({ user: stranger, channel: SLACK_CHANNEL, text: 'who are you' });
    await fake.until(() => texts(stranger).some((t) => /pairing code is [A-Z2-9]{8}/.test(t)), 'the pairing code in the DM', 60_000);
    const notice = await fake.until(() => fake.botMessages(SLACK_CHANNEL, top).find((m) => /approved senders only/.test(m.text)), 'the notice in the thread', 60_000);
    expect(notice.text).not.toMatch(/[A-Z2-9]{8}/);
    expect(fake.botMessages(SLACK_CHANNEL).every((m) => m.thread_ts === top)).toBe(true);
  });

  it('a file above max_file_bytes is not downloaded; the agent is told', async () => {
    fake.dm({ user: BOB, text: 'big file', files: [{ name: 'big.bin', bytes: Buffer.alloc(4096, 1) }] });
    await fake.until(() => texts(BOB).find((t) => /coder done: big file/.test(t)), 'the reply', 60_000);
    const row = (await d.api.listOutbox({ query: { channel: 'slack', limit: 500 } })).find((r) => /big file/.test(r.text))!;
    expect(row.text).toMatch(/big\.bin/);
  });
});

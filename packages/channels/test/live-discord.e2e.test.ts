/**
 * Live replies on Discord, end to end (the built daemon, the real channel process, discord.js
 * against the fake Discord), in the `text` mode: the progress message streams the agent's text
 * so far (its end, within Discord's 2,000 characters), edited no more often than the adapter's
 * interval and never past a rate-limit bucket; the answer comes once, and the progress message
 * is deleted. A kill -9 of the channel process mid-run leaves no stale progress message.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeDiscord, dmChannelOf } from '@tinyagi/test-kit/fake-discord';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

/** DISCORD_EDIT_INTERVAL_MS of the adapter. */
const EDIT_INTERVAL_MS = 1500;
const USER = '700000000000000077';
const DM = dmChannelOf(USER);
/** 40 pieces of ~90 characters, one every `everyMs`: the text outgrows one Discord message. */
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
    coder: () => ({
      mock: {
        reply: 'coder done: {{message}}',
        rules: [
          { match: 'stream it', progress: pieces('streamed', 150), reply: 'stream finished' },
          { match: 'crash it', progress: pieces('crashing', 250), reply: 'crash finished' },
        ],
      },
    }),
    channels: { enabled: ['discord'], discord: { bot_token: fake.token, rest_api: `${fake.url}/api`, live_replies: 'text' } },
  });
  await d.start();
  await fake.until(() => fake.connected, 'the bot to identify on the gateway', 60_000);
  fake.dm({ userId: USER, content: 'hello' });
  const code = await fake.until(
    () =>
      fake
        .sentTo(DM)
        .map((m) => /pairing code is ([A-Z2-9]{8})/.exec(m.content ?? '')?.[1])
        .find(Boolean),
    'the pairing code',
    60_000,
  );
  await d.api.approvePairing({ body: { code } });
  await fake.until(() => fake.sentTo(DM).some((m) => /coder done: hello/.test(m.content ?? '')), 'the first reply', 60_000);
}, 120_000);

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

const answers = (pattern: RegExp) => fake.sentTo(DM).filter((m) => pattern.test(m.content ?? ''));
const progressPosts = (after: number) => fake.sentTo(DM).filter((m) => m.at >= after && /^⏳ working/.test(m.content ?? ''));
const stale = () => fake.channelView(DM).filter((m) => m.bot && /^⏳ working/.test(m.content));
/** The channel process wrote the progress message's id to its state (what a restarted process removes). */
const recorded = (id: string) => {
  const file = join(d.home, 'channels', 'discord', 'live.json');
  return existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { messages: Array<{ id: string }> }).messages.some((m) => m.id === id);
};

it('text mode streams the text so far within 2,000 characters, edits within the limit, the answer once, the progress message deleted', async () => {
  const start = Date.now();
  fake.dm({ userId: USER, content: 'stream it' });
  const post = await fake.until(() => progressPosts(start)[0], 'the progress message', 60_000);
  await fake.until(() => answers(/stream finished/)[0], 'the answer', 90_000);
  const removal = await fake.until(() => fake.deletions.find((x) => x.id === post.id), 'the progress message to be deleted', 30_000);

  const edits = fake.edits.filter((e) => e.id === post.id);
  expect(edits.length).toBeGreaterThan(1);
  // The text so far, its end when it outgrew the message, always within Discord's limit.
  expect(edits.some((e) => /streamed sentence \d\d/.test(e.content))).toBe(true);
  expect(edits.some((e) => e.content.includes('\n…'))).toBe(true);
  for (const e of edits) expect(e.content.length).toBeLessThanOrEqual(2000);
  // Within the limits: no 429 from any bucket, the interval kept, no more edits than the time allows.
  expect(fake.unexpected429).toBe(0);
  for (const [i, e] of edits.entries()) if (i > 0) expect(e.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(EDIT_INTERVAL_MS - 50);
  expect(edits.length).toBeLessThanOrEqual(Math.ceil((removal.at - post.at) / EDIT_INTERVAL_MS) + 2);
  expect(progressPosts(start)).toHaveLength(1);
  expect(answers(/stream finished/)).toHaveLength(1);
  expect(stale()).toEqual([]);
}, 120_000);

it('kill -9 of the channel process mid-run: the stale progress message is deleted after the restart; the answer comes once', async () => {
  const start = Date.now();
  fake.dm({ userId: USER, content: 'crash it' });
  const post = await fake.until(() => progressPosts(start)[0], 'the progress message', 60_000);
  // Killed once the process recorded it (a kill between Discord's answer and that write is the documented window).
  await waitFor(() => recorded(post.id), 30_000, 'the progress message recorded in live.json');
  const before = (await d.api.listChannels()).find((c) => c.name === 'discord')!;
  process.kill(before.pid!, 'SIGKILL');
  await fake.until(() => fake.deletions.find((x) => x.id === post.id), 'the stale progress message to be deleted', 60_000);
  await fake.until(() => answers(/crash finished/)[0], 'the answer after the restart', 90_000);
  await waitFor(() => stale().length === 0, 30_000, 'no progress message left in the DM');
  expect(answers(/crash finished/)).toHaveLength(1);
  expect(fake.unexpected429).toBe(0);
}, 180_000);

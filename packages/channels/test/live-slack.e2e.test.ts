/**
 * Live replies on Slack, end to end (the built daemon, the real channel process, the Slack SDK
 * against the fake Slack), in the `text` mode: one progress message posted in the conversation,
 * edited with chat.update no more often than the adapter's interval and never answered 429 (the
 * fake enforces chat.update's tier 3), the answer once, the progress message deleted with
 * chat.delete. A kill -9 of the channel process mid-run leaves no stale progress message.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeSlack, slackDmOf } from '@tinyagi/test-kit/fake-slack';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

/** The Slack adapter's live.editIntervalMs. */
const EDIT_INTERVAL_MS = 1500;
const USER = 'U0LIVE0077';
const DM = slackDmOf(USER);
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
    coder: () => ({
      mock: {
        reply: 'coder done: {{message}}',
        rules: [
          { match: 'stream it', progress: pieces('streamed', 150), reply: 'stream finished' },
          { match: 'crash it', progress: pieces('crashing', 250), reply: 'crash finished' },
        ],
      },
    }),
    channels: { enabled: ['slack'], slack: { bot_token: fake.botToken, app_token: fake.appToken, api_url: fake.apiUrl, live_replies: 'text' } },
  });
  await d.start();
  await fake.until(() => fake.connected, 'the channel on the Socket Mode connection', 60_000);
  fake.dm({ user: USER, text: 'hello' });
  const code = await fake.until(
    () =>
      fake
        .botMessages(DM)
        .map((m) => /pairing code is ([A-Z2-9]{8})/.exec(m.text)?.[1])
        .find(Boolean),
    'the pairing code',
    60_000,
  );
  await d.api.approvePairing({ body: { code } });
  await fake.until(() => fake.botMessages(DM).some((m) => /coder done: hello/.test(m.text)), 'the first reply', 60_000);
}, 120_000);

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

const answers = (pattern: RegExp) => fake.botMessages(DM).filter((m) => pattern.test(m.text));
/** Every progress message posted since `after` (deleted ones too: `messages` keeps them). */
const progressPosts = (after: number) => fake.messages.filter((m) => m.channel === DM && m.bot_id !== undefined && m.at >= after && /working/.test(m.edits[0] ?? m.text));
const stale = () => fake.botMessages(DM).filter((m) => /working/.test(m.text) && !/coder done|finished/.test(m.text));

it('text mode: one progress message edited within chat.update’s limits, the answer once, the progress message deleted', async () => {
  const start = Date.now();
  fake.dm({ user: USER, text: 'stream it' });
  const post = await fake.until(() => progressPosts(start)[0], 'the progress message', 60_000);
  await fake.until(() => answers(/stream finished/)[0], 'the answer', 90_000);
  const removal = await fake.until(() => fake.deletions.find((x) => x.ts === post.ts), 'the progress message to be deleted', 30_000);

  const edits = fake.updates.filter((e) => e.ts === post.ts);
  expect(edits.length).toBeGreaterThan(1);
  expect(edits.some((e) => /streamed sentence \d\d/.test(e.text))).toBe(true);
  for (const e of edits) expect(e.text.length).toBeLessThanOrEqual(4000 + 200);
  expect(fake.rateLimited.get('chat.update') ?? 0).toBe(0);
  expect(fake.rateLimited.get('chat.postMessage') ?? 0).toBe(0);
  for (const [i, e] of edits.entries()) if (i > 0) expect(e.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(EDIT_INTERVAL_MS - 50);
  expect(edits.length).toBeLessThanOrEqual(Math.ceil((removal.at - post.at) / EDIT_INTERVAL_MS) + 2);
  expect(progressPosts(start)).toHaveLength(1);
  expect(answers(/stream finished/)).toHaveLength(1);
  expect(stale()).toEqual([]);
}, 120_000);

it('kill -9 of the channel process mid-run: the stale progress message is deleted after the restart; the answer comes once', async () => {
  const start = Date.now();
  fake.dm({ user: USER, text: 'crash it' });
  const post = await fake.until(() => progressPosts(start)[0], 'the progress message', 60_000);
  const before = (await d.api.listChannels()).find((c) => c.name === 'slack')!;
  process.kill(before.pid!, 'SIGKILL');
  await fake.until(() => fake.deletions.find((x) => x.ts === post.ts), 'the stale progress message to be deleted', 60_000);
  await fake.until(() => answers(/crash finished/)[0], 'the answer after the restart', 90_000);
  await waitFor(() => stale().length === 0, 30_000, 'no progress message left in the DM');
  expect(answers(/crash finished/)).toHaveLength(1);
}, 180_000);

/**
 * Live replies on Telegram, end to end (the built daemon, the real channel process, grammY
 * against the fake Bot API): while a mock agent works through scripted progress, the chat shows
 * one silent progress message edited in place within Telegram's edit limits; the answer comes
 * once, as a message of its own, and the progress message is gone. A kill -9 of the channel
 * process or of the daemon mid-run leaves nothing stale; `live_replies: "off"` posts no progress.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeTelegram, type SentCall } from '@tinyagi/test-kit/fake-telegram';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

/** TELEGRAM_EDIT_INTERVAL_MS of the adapter. */
const EDIT_INTERVAL_MS = 1500;
/** `count` status steps, one every `everyMs`. */
const steps = (what: string, count: number, everyMs: number) => Array.from({ length: count }, (_, i) => ({ status: `${what} step ${i + 1} of ${count}`, after_ms: everyMs }));

let fake: FakeTelegram;
let d: TestDaemon;
const USER = 6161;

beforeAll(async () => {
  fake = new FakeTelegram();
  await fake.start();
  d = await createChannelDaemon({
    coder: () => ({
      mock: {
        reply: 'coder done: {{message}}',
        rules: [
          // 40 progress events over ~8 s: far more than Telegram lets one message be edited.
          { match: 'long job', progress: steps('long', 40, 200), reply: 'long job finished' },
          { match: 'crash job', progress: steps('crash', 30, 300), reply: 'crash job finished' },
          { match: 'quiet job', progress: steps('quiet', 12, 300), reply: 'quiet job finished' },
          { match: 'daemon job', progress: steps('daemon', 20, 300), reply: 'daemon job finished' },
          { match: 'draft job', progress: steps('draft', 20, 250), reply: 'draft job finished: {{message}}' },
        ],
      },
    }),
    channels: { enabled: ['telegram'], telegram: { bot_token: fake.token, api_root: fake.url } },
  });
  await d.start();
  fake.userMessage({ chatId: USER, text: 'hi' });
  const code = await fake.until(
    () =>
      /pairing code is ([A-Z2-9]{8})/.exec(
        fake
          .messagesTo(USER)
          .map((m) => m.text)
          .join('\n'),
      )?.[1],
    'the pairing code',
    60_000,
  );
  await d.api.approvePairing({ body: { code } });
  await fake.until(() => fake.messagesTo(USER).some((m) => /coder done: hi/.test(m.text ?? '')), 'the first reply', 60_000);
}, 120_000);

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

const answers = (pattern: RegExp): SentCall[] => fake.messagesTo(USER).filter((m) => pattern.test(m.text ?? ''));
const progressPosts = (after: number): SentCall[] => fake.messagesTo(USER).filter((m) => m.at > after && m.silent === true && /working/.test(m.text ?? ''));
const editsOf = (messageId: number): SentCall[] => fake.sent.filter((s) => s.method === 'editMessageText' && s.messageId === messageId);
const deleted = (messageId: number): SentCall | undefined => fake.sent.find((s) => s.method === 'deleteMessage' && s.messageId === messageId);
const staleProgress = () => fake.chatView(USER).filter((m) => /working/.test(m.text));
/** The channel process wrote the progress message's id to its state (what a stopping or restarted process removes). */
const recorded = (messageId: number) => {
  const file = join(d.home, 'channels', 'telegram', 'live.json');
  return existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { messages: Array<{ id: string }> }).messages.some((m) => m.id === String(messageId));
};

it('a long run shows one progress message, edited within the limit, replaced by the answer delivered once', async () => {
  const start = performance.timeOrigin + performance.now();
  fake.userMessage({ chatId: USER, text: 'long job' });
  const post = await fake.until(() => progressPosts(start)[0], 'the progress message', 60_000);
  expect(post.text).toMatch(/^⏳ working… \d+s\n@coder: /);
  await fake.until(() => answers(/long job finished/)[0], 'the answer', 90_000);
  const removal = await fake.until(() => deleted(post.messageId!), 'the progress message to be removed', 30_000);

  const edits = editsOf(post.messageId!);
  // The progress showed: edits carried the steps as they came.
  expect(edits.length).toBeGreaterThan(1);
  expect(edits.some((e) => /@coder: long step \d+ of 40/.test(e.text ?? ''))).toBe(true);
  // Within the limit: never two edits closer than the interval (the fake 429s closer than 1 s), and no more than the time allows.
  expect(fake.unexpected429).toBe(0);
  for (const [i, e] of edits.entries()) if (i > 0) expect(e.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(EDIT_INTERVAL_MS - 50);
  expect(edits.length).toBeLessThanOrEqual(Math.ceil((removal.at - post.at) / EDIT_INTERVAL_MS) + 2);
  // One progress message, the answer exactly once, and nothing stale left in the chat.
  expect(progressPosts(start)).toHaveLength(1);
  expect(answers(/long job finished/)).toHaveLength(1);
  expect(staleProgress()).toEqual([]);
  // The answer is a message of its own (it notifies); the progress message was silent.
  expect(answers(/long job finished/)[0]!.silent).toBeUndefined();
}, 120_000);

it('a quick answer gets no progress message at all', async () => {
  const start = performance.timeOrigin + performance.now();
  fake.userMessage({ chatId: USER, text: 'quick one' });
  await fake.until(() => answers(/coder done: quick one/)[0], 'the answer', 60_000);
  expect(progressPosts(start)).toEqual([]);
}, 90_000);

it('kill -9 of the channel process mid-run: the restarted process removes the stale progress message; the answer comes once', async () => {
  const start = performance.timeOrigin + performance.now();
  fake.userMessage({ chatId: USER, text: 'crash job' });
  const post = await fake.until(() => progressPosts(start)[0], 'the progress message', 60_000);
  // Killed once the process recorded it (a kill between Telegram's answer and that write is the documented window).
  await waitFor(() => recorded(post.messageId!), 30_000, 'the progress message recorded in live.json');
  const before = (await d.api.listChannels()).find((c) => c.name === 'telegram')!;
  process.kill(before.pid!, 'SIGKILL');
  // The supervisor restarts the channel; its new process removes what the killed one left.
  await fake.until(() => deleted(post.messageId!), 'the stale progress message to be removed', 60_000);
  await fake.until(() => answers(/crash job finished/)[0], 'the answer after the restart', 90_000);
  await waitFor(() => staleProgress().length === 0, 30_000, 'no progress message left in the chat');
  const after = (await d.api.listChannels()).find((c) => c.name === 'telegram')!;
  expect(after.pid).not.toBe(before.pid);
  expect(answers(/crash job finished/)).toHaveLength(1);
  expect(fake.unexpected429).toBe(0);
}, 180_000);

it('kill -9 of the daemon mid-run: the progress message goes, the retried run answers once, nothing stale', async () => {
  const start = performance.timeOrigin + performance.now();
  fake.userMessage({ chatId: USER, text: 'daemon job' });
  const post = await fake.until(() => progressPosts(start)[0], 'the progress message', 60_000);
  await waitFor(() => recorded(post.messageId!), 30_000, 'the progress message recorded in live.json');
  await d.kill();
  // The channel process exits with its daemon, removing its progress message on the way out (or, failing that, the next one does).
  await d.start();
  await fake.until(() => deleted(post.messageId!), 'the progress message of the killed daemon to be removed', 60_000);
  await fake.until(() => answers(/daemon job finished/)[0], 'the answer of the retried run', 120_000);
  await waitFor(() => staleProgress().length === 0, 30_000, 'no progress message left in the chat');
  expect(answers(/daemon job finished/)).toHaveLength(1);
  expect(fake.unexpected429).toBe(0);
}, 240_000);

it('live_replies "off": typing only, no progress message', async () => {
  await d.api.patchSettings({ body: { channels: { telegram: { live_replies: 'off' } } } });
  await restartChannel();
  const start = performance.timeOrigin + performance.now();
  fake.userMessage({ chatId: USER, text: 'quiet job' });
  await fake.until(() => answers(/quiet job finished/)[0], 'the answer', 90_000);
  expect(progressPosts(start)).toEqual([]);
  expect(fake.sent.filter((s) => s.at > start && s.method === 'sendChatAction').length).toBeGreaterThan(0);
  expect(answers(/quiet job finished/)).toHaveLength(1);
}, 180_000);

/** Restarts the channel (after a settings change) and waits until the new process polls. */
async function restartChannel(): Promise<void> {
  const before = (await d.api.listChannels()).find((c) => c.name === 'telegram')!;
  await d.api.channelAction({ params: { name: 'telegram', action: 'restart' } });
  await waitFor(async () => (await d.api.listChannels()).find((c) => c.name === 'telegram' && c.state === 'running' && c.pid !== before.pid), 60_000, 'the channel to restart');
  await fake.until(() => fake.calls.lastIndexOf('getUpdates') > fake.calls.lastIndexOf('deleteWebhook'), 'the restarted channel to poll', 60_000);
}

it('live_drafts: a private chat gets a message draft updated in place, gone with the answer; nothing to delete', async () => {
  await d.api.patchSettings({ body: { channels: { telegram: { live_replies: 'status', live_drafts: true } } } });
  await restartChannel();
  const start = performance.timeOrigin + performance.now();
  fake.userMessage({ chatId: USER, text: 'draft job one' });
  await fake.until(() => fake.draftView(USER)?.text.includes('draft step'), 'the draft with a step', 60_000);
  await fake.until(() => answers(/draft job finished: draft job one/)[0], 'the answer', 90_000);
  const drafts = fake.sent.filter((s) => s.method === 'sendMessageDraft' && s.at > start);
  expect(drafts.length).toBeGreaterThan(1);
  // One draft, updated in place (the same id), no closer than the interval.
  expect(new Set(drafts.map((x) => x.draftId)).size).toBe(1);
  for (const [i, x] of drafts.entries()) if (i > 0) expect(x.at - drafts[i - 1]!.at).toBeGreaterThanOrEqual(EDIT_INTERVAL_MS - 50);
  // No progress message, nothing deleted; the answer (a message) ended the draft.
  expect(progressPosts(start)).toEqual([]);
  expect(fake.sent.some((x) => x.at > start && x.method === 'deleteMessage')).toBe(false);
  expect(fake.draftView(USER)).toBeUndefined();
  expect(answers(/draft job finished: draft job one/)).toHaveLength(1);
}, 180_000);

it('live_drafts on a Bot API server without drafts: an edited message instead, removed after the answer', async () => {
  fake.drafts = false;
  const start = performance.timeOrigin + performance.now();
  fake.userMessage({ chatId: USER, text: 'draft job two' });
  const post = await fake.until(() => progressPosts(start)[0], 'the progress message instead of a draft', 60_000);
  await fake.until(() => answers(/draft job finished: draft job two/)[0], 'the answer', 90_000);
  await fake.until(() => deleted(post.messageId!), 'the progress message to be removed', 30_000);
  expect(staleProgress()).toEqual([]);
  expect(answers(/draft job finished: draft job two/)).toHaveLength(1);
}, 180_000);

it('the settings check refuses a live_replies value that is not a mode', async () => {
  await expect(d.api.patchSettings({ body: { channels: { telegram: { live_replies: 'loud' } } } })).rejects.toThrow(/live_replies/);
});

/**
 * Telegram through the real processes: the built daemon (from its start-up snapshot) supervises
 * the real channel process (the built runner, grammY) against the fake Bot API. A new sender's
 * message reaches the agent and the reply comes back; the process holds a token scoped to its
 * channel; a settings change reaches it when it is restarted; and what only processes show: the
 * channel process SIGKILLed with a reply claimed or mid-run, restarted by the supervisor, and the
 * daemon SIGKILLed between a confirmed send and its ack or mid-run, its orphaned channel process
 * exiting at once. Everything else the channel does runs in-process (host-*.test.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeTelegram, type SentCall } from '@tinyagi/test-kit/fake-telegram';
import { isGone, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

/** A case that restarts a process waits for the daemon's start (60 s at most on a loaded machine), the channel process's, then its own steps. */
const RESTART_TIMEOUT_MS = 180_000;

/** `count` status steps, one every `everyMs`. */
const steps = (what: string, count: number, everyMs: number) => Array.from({ length: count }, (_, i) => ({ status: `${what} step ${i + 1} of ${count}`, after_ms: everyMs }));

let fake: FakeTelegram;
let d: TestDaemon;
const USER = 5151;
const OTHER = 5252;

beforeAll(async () => {
  fake = new FakeTelegram();
  await fake.start();
  d = await createChannelDaemon({
    coder: () => ({
      mock: {
        reply: 'coder done: {{message}}',
        replies: [
          { match: 'crash job', progress: steps('crash', 30, 300), reply: 'crash job finished' },
          { match: 'daemon job', progress: steps('daemon', 20, 300), reply: 'daemon job finished' },
          { match: 'quiet job', progress: steps('quiet', 12, 300), reply: 'quiet job finished' },
        ],
      },
    }),
    // The channel's lease is the default (120 s): what a killed channel process held must come back
    // by the supervisor's hand-back, within seconds. A retried run comes back within the test.
    channels: { enabled: ['telegram'], telegram: { bot_token: fake.token, api_root: fake.url } },
    extra: { queue: { lease_ms: 1500, sweep_ms: 200 } },
  });
  await d.start();
}, 120_000);

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

const now = () => performance.timeOrigin + performance.now();
const replyTo = (chatId: number, pattern: RegExp) => () => fake.messagesTo(chatId).find((m) => pattern.test(m.text ?? ''));
const count = (chatId: number, pattern: RegExp) => fake.messagesTo(chatId).filter((m) => pattern.test(m.text ?? '')).length;
const outbox = async () => d.api.listOutbox({ query: { channel: 'telegram', limit: 500 } });
const progressPosts = (after: number): SentCall[] => fake.messagesTo(USER).filter((m) => m.at > after && m.silent === true && /working/.test(m.text ?? ''));
const deleted = (messageId: number) => fake.sent.find((s) => s.method === 'deleteMessage' && s.messageId === messageId);
const staleProgress = () => fake.chatView(USER).filter((m) => /working/.test(m.text));
/** The channel process wrote the progress message's id to its state (what a stopping or restarted process removes). */
const recorded = (messageId: number) => {
  const file = join(d.home, 'channels', 'telegram', 'live.json');
  return existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { messages: Array<{ id: string }> }).messages.some((m) => m.id === String(messageId));
};
async function running(): Promise<number> {
  return waitFor(async () => (await d.api.listChannels()).find((c) => c.name === 'telegram' && c.state === 'connected')?.pid ?? undefined, 30_000, 'a running telegram channel');
}

it("runs supervised; a new sender's message reaches the agent once the sender is paired, and the reply comes back", async () => {
  expect(await running()).toBeGreaterThan(0);
  await fake.until(() => fake.calls.includes('getUpdates'), 'the channel process to poll', 60_000);
  for (const chat of [USER, OTHER]) {
    fake.userMessage({ chatId: chat, text: 'hello there' });
    const code = await fake.until(
      () =>
        /pairing code is ([A-Z2-9]{8})/.exec(
          fake
            .messagesTo(chat)
            .map((m) => m.text)
            .join('\n'),
        )?.[1],
      'the pairing code',
    );
    await d.api.approvePairing({ body: { code } });
    await fake.until(replyTo(chat, /You are approved/), 'the approval notice');
    await fake.until(replyTo(chat, /coder done: hello there/), 'the held message to be answered');
  }
});

it('the channel process holds a token scoped to its channel, never the API token', async () => {
  const environ = readFileSync(`/proc/${await running()}/environ`, 'utf8').split('\0');
  const token = environ.find((e) => e.startsWith('TINYAGI_API_TOKEN='))?.slice('TINYAGI_API_TOKEN='.length) ?? '';
  expect(token.startsWith('channel.telegram.')).toBe(true);
  expect(environ.join('\n')).not.toContain(d.token());
});

it(
  "a SIGKILLed channel process's claimed reply goes out again within seconds, not after its 120 s lease",
  async () => {
    const held = fake.hold('sendMessage', /coder done: kill the channel/);
    fake.userMessage({ chatId: OTHER, text: 'kill the channel' });
    await held.arrived;
    const before = await running();
    process.kill(before, 'SIGKILL');
    const killedAt = now();
    await waitFor(() => isGone(before), 10_000, 'the channel process to die');
    // The held request never completes (its process is gone): only a hand-back sends the reply.
    const reply = await fake.until(replyTo(OTHER, /coder done: kill the channel/), 'the reply after the restart', 20_000);
    expect(reply.at - killedAt).toBeLessThan(10_000);
    await waitFor(async () => (await outbox()).find((r) => r.text.includes('kill the channel'))?.status === 'delivered', 10_000, 'the row acked');
    expect((await outbox()).filter((r) => r.text.includes('kill the channel'))).toHaveLength(1);
    expect(await running()).not.toBe(before);
  },
  RESTART_TIMEOUT_MS,
);

it(
  'kill -9 of the channel process mid-run: the restarted process removes the stale progress message; the answer comes once',
  async () => {
    const start = now();
    fake.userMessage({ chatId: USER, text: 'crash job' });
    const post = await fake.until(() => progressPosts(start)[0], 'the progress message', 60_000);
    // Killed once the process recorded it (a kill between Telegram's answer and that write is the documented window).
    await waitFor(() => recorded(post.messageId!), 30_000, 'the progress message recorded in live.json');
    const before = await running();
    process.kill(before, 'SIGKILL');
    // The supervisor restarts the channel; its new process removes what the killed one left.
    await fake.until(() => deleted(post.messageId!), 'the stale progress message to be removed', 60_000);
    await fake.until(replyTo(USER, /crash job finished/), 'the answer after the restart', 60_000);
    await waitFor(() => staleProgress().length === 0, 30_000, 'no progress message left in the chat');
    expect(await running()).not.toBe(before);
    expect(count(USER, /crash job finished/)).toBe(1);
    expect(fake.unexpected429).toBe(0);
  },
  RESTART_TIMEOUT_MS,
);

it(
  'the daemon SIGKILLed between a confirmed send and its ack: after the restart every reply arrives, none twice; the orphaned channel process exits at once',
  async () => {
    const held = fake.hold('sendMessage', /coder done: crash one/);
    fake.userMessage({ chatId: USER, text: 'crash one' });
    fake.userMessage({ chatId: USER, text: 'crash two' });
    await held.arrived;
    const channelPid = await running();
    await d.kill();
    const killedAt = performance.now();
    // Telegram confirms the send only now, with the daemon gone: the ack cannot get through.
    held.release();
    await waitFor(() => isGone(channelPid), 20_000, 'the orphaned channel process to exit');
    // It noticed its daemon's death through its stdin pipe at once (docs: within a second; 1.5 s on a loaded machine).
    expect(performance.now() - killedAt).toBeLessThan(1500);

    const restartedAt = performance.now();
    await d.start();
    await fake.until(() => count(USER, /coder done: crash two/) > 0, 'the second reply after the restart', 60_000);
    await waitFor(
      async () => {
        const rows = (await outbox()).filter((r) => /crash (one|two)/.test(r.text));
        return rows.length === 2 && rows.every((r) => r.status === 'delivered');
      },
      60_000,
      'every reply to be acked',
    );
    expect(count(USER, /coder done: crash one/)).toBe(1);
    expect(count(USER, /coder done: crash two/)).toBe(1);
    // Nothing waited for the 120 s lease of the killed channel: the restarted daemon handed its rows back.
    expect(performance.now() - restartedAt).toBeLessThan(30_000);
  },
  RESTART_TIMEOUT_MS,
);

it(
  'kill -9 of the daemon mid-run: the progress message goes, the retried run answers once, nothing stale',
  async () => {
    const start = now();
    fake.userMessage({ chatId: USER, text: 'daemon job' });
    const post = await fake.until(() => progressPosts(start)[0], 'the progress message', 60_000);
    await waitFor(() => recorded(post.messageId!), 30_000, 'the progress message recorded in live.json');
    await d.kill();
    // The channel process exits with its daemon, removing its progress message on the way out (or, failing that, the next one does).
    await d.start();
    await fake.until(() => deleted(post.messageId!), 'the progress message of the killed daemon to be removed', 60_000);
    await fake.until(replyTo(USER, /daemon job finished/), 'the answer of the retried run', 60_000);
    await waitFor(() => staleProgress().length === 0, 30_000, 'no progress message left in the chat');
    expect(count(USER, /daemon job finished/)).toBe(1);
    expect(fake.unexpected429).toBe(0);
  },
  RESTART_TIMEOUT_MS,
);

it(
  'a settings change reaches the channel process when it restarts: live_replies "off", typing only',
  async () => {
    const before = await running();
    await d.api.patchSettings({ body: { channels: { telegram: { live_replies: 'off' } } } });
    await d.api.channelAction({ params: { name: 'telegram', action: 'restart' } });
    await waitFor(async () => (await d.api.listChannels()).find((c) => c.name === 'telegram' && c.state === 'connected' && c.pid !== before), 60_000, 'the channel to restart');
    await fake.until(() => fake.calls.lastIndexOf('getUpdates') > fake.calls.lastIndexOf('deleteWebhook'), 'the restarted channel to poll', 60_000);
    const start = now();
    fake.userMessage({ chatId: USER, text: 'quiet job' });
    await fake.until(replyTo(USER, /quiet job finished/), 'the answer', 60_000);
    expect(progressPosts(start)).toEqual([]);
    expect(fake.sent.filter((s) => s.at > start && s.method === 'sendChatAction').length).toBeGreaterThan(0);
    expect(count(USER, /quiet job finished/)).toBe(1);
  },
  RESTART_TIMEOUT_MS,
);

/**
 * One chat's trouble never holds up another, and a failure never waits for the 30 s sweep: the
 * shipped daemon (from its snapshot) and its Telegram channel against the stand-in Bot API
 * answering a 500, nginx's HTML 502 page, a reset connection, a 429 with retry_after in one chat,
 * a flood of unknown senders on the daemon's pairing rate limit, and a SIGKILLed channel process.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeTelegram, type FakeFailure } from '@tinyagi/test-kit/fake-telegram';
import { isGone, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

let fake: FakeTelegram;
let d: TestDaemon;
const A = 1001;
const B = 1002;
const KNOWN = 1003;

const replyTo = (chatId: number, pattern: RegExp) => () => fake.messagesTo(chatId).find((m) => pattern.test(m.text ?? ''));
const failedAt = (pattern: RegExp) => () => fake.sent.find((s) => s.method === 'sendMessage:failed' && pattern.test(s.text ?? ''))?.at;

async function pair(chatId: number): Promise<void> {
  fake.userMessage({ chatId, text: 'hi' });
  const code = await fake.until(
    () =>
      /pairing code is ([A-Z2-9]{8})/.exec(
        fake
          .messagesTo(chatId)
          .map((m) => m.text)
          .join('\n'),
      )?.[1],
    `the pairing code of ${chatId}`,
    60_000,
  );
  await d.api.approvePairing({ body: { code } });
  await fake.until(replyTo(chatId, /coder done: hi/), `the first reply to ${chatId}`);
}

beforeAll(async () => {
  fake = new FakeTelegram();
  await fake.start();
  // A retry_after over 5 s hands the chat's replies back to the outbox (the default waits up to 30 s in place).
  d = await createChannelDaemon({ channels: { enabled: ['telegram'], telegram: { bot_token: fake.token, api_root: fake.url, max_inline_retry_ms: 5000 } } });
  await d.start();
  for (const chat of [A, B, KNOWN]) await pair(chat);
}, 120_000);

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

it.each<[string, string, Omit<FakeFailure, 'method'>]>([
  ['a JSON 500', 'json500', { errorCode: 500, description: 'Internal Server Error' }],
  ["nginx's HTML 502 page", 'html502', { kind: 'html', errorCode: 502 }],
  ['a reset connection', 'reset', { kind: 'reset' }],
])('a send that meets %s is retried at once (backoff with jitter), not after the 30 s sweep', async (_, tag, failure) => {
  const text = `flaky ${tag}`;
  fake.failNext({ method: 'sendMessage', match: new RegExp(`coder done: ${text}`), ...failure });
  fake.userMessage({ chatId: A, text });
  const refused = await fake.until(failedAt(new RegExp(text)), 'the failed send');
  const delivered = await fake.until(replyTo(A, new RegExp(`coder done: ${text}`)), 'the retried reply', 10_000);
  expect(delivered.at - refused).toBeLessThan(5000);
  expect(fake.messagesTo(A).filter((m) => m.text?.includes(`coder done: ${text}`))).toHaveLength(1);
});

it("a 429 with retry_after in one chat never holds up another chat's replies", async () => {
  fake.failNext({ method: 'sendMessage', match: /coder done: slow down/, errorCode: 429, description: 'Too Many Requests: retry after 4', retryAfter: 4 });
  fake.userMessage({ chatId: A, text: 'slow down' });
  const refused = await fake.until(failedAt(/slow down/), "chat A's 429");
  fake.userMessage({ chatId: B, text: 'meanwhile in B' });
  const other = await fake.until(replyTo(B, /coder done: meanwhile in B/), "chat B's reply", 10_000);
  const waited = await fake.until(replyTo(A, /coder done: slow down/), "chat A's reply after its retry_after", 15_000);
  expect(other.at).toBeLessThan(refused + 3000);
  expect(waited.at - refused).toBeGreaterThanOrEqual(4000);
  expect(other.at).toBeLessThan(waited.at);
});

it("a retry_after too long to wait in place hands the chat's replies back with it, and they still arrive in order", async () => {
  fake.failNext({ method: 'sendMessage', match: /coder done: first in line/, errorCode: 429, description: 'Too Many Requests: retry after 6', retryAfter: 6 });
  fake.userMessage({ chatId: A, text: 'first in line' });
  const refused = await fake.until(failedAt(/first in line/), 'the 429');
  fake.userMessage({ chatId: A, text: 'second in line' });
  fake.userMessage({ chatId: B, text: 'B is not held' });
  const other = await fake.until(replyTo(B, /coder done: B is not held/), "chat B's reply");
  const second = await fake.until(replyTo(A, /coder done: second in line/), 'the second reply', 20_000);
  const first = fake.messagesTo(A).find((m) => /coder done: first in line/.test(m.text ?? ''))!;
  expect(first.at - refused).toBeGreaterThanOrEqual(6000);
  expect(first.at).toBeLessThan(second.at);
  expect(other.at).toBeLessThan(first.at);
  const rows = await d.api.listOutbox({ query: { channel: 'telegram', limit: 500 } });
  expect(rows.find((r) => r.text.includes('coder done: first in line'))?.lastError).toMatch(/^handed back: Too Many Requests/);
});

it('35 unknown senders on the pairing rate limit never delay a known sender', async () => {
  for (let i = 0; i < 35; i++) fake.userMessage({ chatId: 50_000 + i, text: `let me in ${i}` });
  // The known sender writes right behind them: grammY hands updates over one at a time.
  const sentAt = performance.timeOrigin + performance.now();
  fake.userMessage({ chatId: KNOWN, text: 'I am known' });
  const reply = await fake.until(replyTo(KNOWN, /coder done: I am known/), "the known sender's reply", 20_000);
  expect(reply.at - sentAt).toBeLessThan(5000);
  // The strangers are not forgotten: each gets its code once the rate limit allows.
  await fake.until(
    () => Array.from({ length: 35 }, (_, i) => 50_000 + i).every((chat) => fake.messagesTo(chat).some((m) => /pairing code is/.test(m.text ?? ''))) || undefined,
    'every stranger to get a pairing code',
    120_000,
  );
}, 150_000);

it("a SIGKILLed channel's claimed reply goes out again within seconds, not after its 120 s lease", async () => {
  const held = fake.hold('sendMessage', /coder done: kill the channel/);
  fake.userMessage({ chatId: B, text: 'kill the channel' });
  await held.arrived;
  const before = (await d.api.listChannels()).find((c) => c.name === 'telegram')!.pid!;
  process.kill(before, 'SIGKILL');
  const killedAt = performance.timeOrigin + performance.now();
  await waitFor(() => isGone(before), 10_000, 'the channel process to die');
  // The held request never completes (its process is gone): only a hand-back sends the reply.
  const reply = await fake.until(replyTo(B, /coder done: kill the channel/), 'the reply after the restart', 20_000);
  expect(reply.at - killedAt).toBeLessThan(10_000);
  const rows = await d.api.listOutbox({ query: { channel: 'telegram', limit: 500 } });
  await waitFor(async () => (await d.api.listOutbox({ query: { channel: 'telegram', limit: 500 } })).find((r) => r.text.includes('kill the channel'))?.status === 'delivered', 10_000, 'the row acked');
  expect(rows.filter((r) => r.text.includes('kill the channel'))).toHaveLength(1);
});

/**
 * Platform faults met by each channel, run in-process (the channel's adapter and host as the
 * channel process builds them, against the platform's fake) under one built daemon: one chat's
 * rate limit never holds up another, a limit too long to wait in place hands the chat's replies
 * back in order, a reply the platform created before its answer was lost arrives once, a failed
 * send is retried at once; then each platform's own faults (Telegram's 5xx pages and resets and a
 * flood of strangers, Discord's gateway, Slack's socket, WhatsApp's dropped connection). Crashes
 * of the channel process and of the daemon are *.e2e.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { dmChannelOf } from '@tinyagi/test-kit/fake-discord';
import { slackDmOf } from '@tinyagi/test-kit/fake-slack';
import type { FakeFailure } from '@tinyagi/test-kit/fake-telegram';
import { createChannelDaemon, openGate } from './daemon.ts';
import { describeInOrder, hostPlatforms, pair, type ChatPlatform, type PlatformName } from './platforms.ts';

const { tg, dc, sl, wa, platforms, channels, close } = hostPlatforms(4200);
let d: TestDaemon;

beforeAll(async () => {
  await Promise.all(platforms.map((p) => p.start()));
  d = await createChannelDaemon({ coder: () => ({ mock: { reply: 'coder done: {{message}}', replies: [{ match: 'slow one', gate: 'slow-one', reply: 'coder done: slow one' }] } }) });
  await d.start();
  // A retry_after over 5 s hands the chat's replies back to the outbox (the default waits up to 30 s in place).
  const blocks: Partial<Record<PlatformName, Record<string, unknown>>> = { telegram: { max_inline_retry_ms: 5000 }, discord: { max_inline_retry_ms: 5000 } };
  // Each case has users of its own (the cases run side by side).
  const users: Record<PlatformName, number> = { telegram: 6, discord: 4, slack: 5, whatsapp: 1 };
  await Promise.all(
    platforms.map(async (p) => {
      channels.set(p.name, await p.startChannel(d, blocks[p.name]));
      for (let n = 1; n <= users[p.name]; n++) await pair(d, p, p.user(n));
    }),
  );
}, 120_000);

afterAll(() => close(d));

const log = (name: PlatformName) => channels.get(name)!.logs.join('\n');
const outbox = async (channel: PlatformName) => d.api.listOutbox({ query: { channel, limit: 500 } });
/** When the reply matching `pattern` reached `user`'s private chat (the fake's clock: epoch ms). */
const arrivedAt: Record<'telegram' | 'discord' | 'slack', (user: string, pattern: RegExp) => number | undefined> = {
  telegram: (user, pattern) => tg.fake.messagesTo(Number(user)).find((m) => pattern.test(m.text ?? ''))?.at,
  discord: (user, pattern) => dc.fake.sentTo(dmChannelOf(user)).find((m) => pattern.test(m.content ?? ''))?.at,
  slack: (user, pattern) => sl.fake.botMessages(slackDmOf(user)).find((m) => pattern.test(m.text))?.at,
};
const count = (p: ChatPlatform, user: string, pattern: RegExp) => p.texts(user).filter((t) => pattern.test(t)).length;
const replyTo = (chatId: number, pattern: RegExp) => () => tg.fake.messagesTo(chatId).find((m) => pattern.test(m.text ?? ''));

/** A rate limit of `retryAfterS` on the next reply matching `match` in `user`'s chat; resolves with when the platform refused it. */
const rateLimit: Record<'telegram' | 'discord' | 'slack', (user: string, match: RegExp, retryAfterS: number) => Promise<number>> = {
  async telegram(user, match, retryAfterS) {
    tg.fake.failNext({ method: 'sendMessage', chatId: Number(user), match, errorCode: 429, description: `Too Many Requests: retry after ${retryAfterS}`, retryAfter: retryAfterS });
    return tg.until(() => tg.fake.sent.find((s) => s.method === 'sendMessage:failed' && match.test(s.text ?? ''))?.at, 'the 429');
  },
  async discord(user, _match, retryAfterS) {
    const before = dc.fake.requests.filter((r) => r.status === 429).length;
    dc.fake.failNext({ kind: 'rate_limit', retryAfterS, scope: 'shared', channelId: dmChannelOf(user) });
    return dc.until(() => dc.fake.requests.filter((r) => r.status === 429)[before]?.at, 'the 429');
  },
  async slack(user, _match, retryAfterS) {
    const before = sl.fake.rateLimited.get('chat.postMessage') ?? 0;
    sl.fake.failNext({ method: 'chat.postMessage', channel: slackDmOf(user), kind: 'rate_limit', retryAfterS });
    await sl.until(() => (sl.fake.rateLimited.get('chat.postMessage') ?? 0) > before, 'the 429');
    return Date.now();
  },
};

// The cases that touch nothing but their own chats run side by side; those that a whole channel
// meets (its connection cut, its pairing requests used up) run after them, one platform's in
// order, the platforms side by side.
describe('each chat on its own', { concurrent: true }, () => {
  describe.each([
    ['telegram', tg, 4, [1, 2]],
    ['slack', sl, 3, [1, 2]],
  ] as const)('%s, in-process: a rate limit waited out in place', (name, p, retryAfterS, [a, b]) => {
    it("a retry_after in one chat is waited out in that chat alone: the other chat's reply goes first, each reply once", async ({ expect }) => {
      const [limited, other] = [p.user(a), p.user(b)];
      const refusing = rateLimit[name](limited, /coder done: limited one/, retryAfterS);
      await p.dm(limited, 'limited one');
      const refusedAt = await refusing;
      await p.dm(other, 'free one');
      const otherAt = await p.until(() => arrivedAt[name](other, /coder done: free one/), "the other chat's reply");
      const limitedAt = await p.until(() => arrivedAt[name](limited, /coder done: limited one/), 'the limited reply after its wait', 30_000);
      expect(otherAt).toBeLessThan(limitedAt);
      // The other chat is not held: its reply comes well within the limit (3 s of a 4 s limit; on a loaded machine the agent's turn takes part of it).
      if (name === 'telegram') expect(otherAt).toBeLessThan(refusedAt + 3000);
      expect(limitedAt - refusedAt).toBeGreaterThanOrEqual(retryAfterS * 1000 - 500);
      expect(log(name)).toMatch(new RegExp(`${name} asked to retry after ${retryAfterS}000 ms`));
      expect(count(p, limited, /coder done: limited one/)).toBe(1);
      expect(count(p, other, /coder done: free one/)).toBe(1);
    });
  });

  describe.each([
    ['telegram', tg, 6, [3, 4]],
    ['discord', dc, 11, [1, 2]],
  ] as const)('%s, in-process: a rate limit too long to wait in place', (name, p, retryAfterS, [a, b]) => {
    // Discord: past the 10 s discord.js waits out itself, so the limit reaches the host.
    it("hands the chat's replies back with it; they arrive after it, in order, while another chat is not held", async ({ expect }) => {
      const [limited, other] = [p.user(a), p.user(b)];
      const refusing = rateLimit[name](limited, /coder done: first in line/, retryAfterS);
      await p.dm(limited, 'first in line');
      const refusedAt = await refusing;
      await p.dm(limited, 'second in line');
      await p.dm(other, 'not held');
      const otherAt = await p.until(() => arrivedAt[name](other, /coder done: not held/), "the other chat's reply");
      const secondAt = await p.until(() => arrivedAt[name](limited, /coder done: second in line/), 'the second reply', 40_000);
      const firstAt = arrivedAt[name](limited, /coder done: first in line/)!;
      expect(firstAt - refusedAt).toBeGreaterThanOrEqual(retryAfterS * 1000 - 500);
      expect(firstAt).toBeLessThan(secondAt);
      expect(otherAt).toBeLessThan(firstAt);
      expect((await outbox(name)).find((r) => r.text.includes('coder done: first in line'))?.lastError).toMatch(/^handed back: /);
      expect(count(p, limited, /coder done: first in line/)).toBe(1);
      expect(count(p, limited, /coder done: second in line/)).toBe(1);
    });
  });

  describe.each([
    ['discord', dc, 3],
    ['slack', sl, 3],
  ] as const)('%s, in-process: an answer lost after the platform created the reply', (name, p, n) => {
    it('the retry finds the reply already there: it arrives exactly once', async ({ expect }) => {
      const user = p.user(n);
      const deduplicated = dc.fake.deduplicated;
      if (name === 'discord') {
        // A 429 first (waited out by discord.js), then a 502 page after the message was created.
        dc.fake.failNext({ kind: 'rate_limit', retryAfterS: 1, channelId: dmChannelOf(user) });
        dc.fake.failNext({ kind: 'server_error', status: 502, html: true, afterCreate: true, channelId: dmChannelOf(user) });
      } else sl.fake.failNext({ method: 'chat.postMessage', channel: slackDmOf(user), kind: 'server_error', status: 502, afterEffect: true });
      await p.dm(user, 'through the faults');
      await waitFor(async () => (await outbox(name)).find((r) => /through the faults/.test(r.text))?.status === 'delivered', 30_000, 'the reply to be acked');
      expect(count(p, user, /coder done: through the faults/)).toBe(1);
      if (name === 'discord') {
        // Discord returned the message it had for the resent nonce; discord.js never went past a limit.
        expect(dc.fake.deduplicated).toBe(deduplicated + 1);
        expect(dc.fake.unexpected429).toBe(0);
      } else expect(log('slack')).toMatch(/was posted before its confirmation was lost; not sent again/);
    });
  });

  describe('telegram, in-process', () => {
    const fake = tg.fake;

    it.for<[string, string, Omit<FakeFailure, 'method'>]>([
      ['a JSON 500', 'json500', { errorCode: 500, description: 'Internal Server Error' }],
      ["nginx's HTML 502 page", 'html502', { kind: 'html', errorCode: 502 }],
      ['a reset connection', 'reset', { kind: 'reset' }],
    ])('a send that meets %s is retried at once (backoff with jitter), not after the 30 s sweep', async ([, tag, failure], { expect }) => {
      const chat = Number(tg.user(5));
      const text = `flaky ${tag}`;
      fake.failNext({ method: 'sendMessage', match: new RegExp(`coder done: ${text}`), ...failure });
      fake.userMessage({ chatId: chat, text });
      const refused = await fake.until(() => fake.sent.find((s) => s.method === 'sendMessage:failed' && s.text?.includes(text))?.at, 'the failed send');
      const delivered = await fake.until(replyTo(chat, new RegExp(`coder done: ${text}`)), 'the retried reply', 10_000);
      expect(delivered.at - refused).toBeLessThan(5000);
      expect(fake.messagesTo(chat).filter((m) => m.text?.includes(`coder done: ${text}`))).toHaveLength(1);
    });
  });
});

describe('what the whole channel meets', () => {
  describe('telegram, in-process', { concurrent: true }, () => {
    const fake = tg.fake;
    // The strangers use up the channel's pairing requests for a minute: every other sender here was paired before.
    it('35 unknown senders on the pairing rate limit never delay a known sender', async ({ expect }) => {
      const known = Number(tg.user(6));
      for (let i = 0; i < 35; i++) fake.userMessage({ chatId: 50_000 + i, text: `let me in ${i}` });
      // The known sender writes right behind them: grammY hands updates over one at a time.
      fake.userMessage({ chatId: known, text: 'I am known' });
      await fake.until(replyTo(known, /coder done: I am known/), "the known sender's reply", 20_000);
      // Not behind them: the limit (30 a minute, burst 30) lets the last five strangers through 2 s
      // apart, so a known sender queued behind the strangers would be answered only after the last
      // stranger's code. An order of events rather than a clock; its margin is the 10 s those five
      // take, against one mock run for the known sender (6.4 s seen at a load average of 10).
      const coded = Array.from({ length: 35 }, (_, i) => 50_000 + i).filter((chat) => fake.messagesTo(chat).some((m) => /pairing code is/.test(m.text ?? '')));
      expect(coded.length).toBeLessThan(35);
      // The strangers are not forgotten: each gets its code once the rate limit allows.
      await fake.until(
        () => Array.from({ length: 35 }, (_, i) => 50_000 + i).every((chat) => fake.messagesTo(chat).some((m) => /pairing code is/.test(m.text ?? ''))) || undefined,
        'every stranger to get a pairing code',
        120_000,
      );
    }, 150_000);
  });

  describeInOrder('discord, in-process: the gateway', () => {
    const fake = dc.fake;
    const USER = dc.user(4);

    it('the gateway drops: the session resumes, and a DM written meanwhile is answered once', async () => {
      const identified = fake.identified.length;
      fake.drop();
      fake.dm({ userId: USER, content: 'written while dropped' });
      await fake.until(() => count(dc, USER, /coder done: written while dropped/) === 1, 'the reply to the replayed DM');
      expect(fake.identified).toHaveLength(identified);
      expect(fake.resumes.length).toBeGreaterThanOrEqual(1);
      await waitFor(() => /discord gateway resumed \(\d+ missed events replayed\)/.test(log('discord')), 10_000, 'the resume in the channel log');
    });

    it('a session Discord invalidates is identified anew and the next DM is answered', async () => {
      const identified = fake.identified.length;
      fake.invalidateSession(false);
      await fake.until(() => fake.identified.length === identified + 1 && fake.connected, 'a new IDENTIFY', 30_000);
      fake.dm({ userId: USER, content: 'on the new session' });
      await fake.until(() => count(dc, USER, /coder done: on the new session/) === 1, 'the reply on the new session');
    });
  });

  describe('slack, in-process', { concurrent: true }, () => {
    it('a socket refresh and a cut socket with messages in flight: every message answered once', async ({ expect }) => {
      const fake = sl.fake;
      const [ALICE, BOB] = [sl.user(4), sl.user(5)];
      const opened = fake.connectionsOpened;
      fake.dm({ user: ALICE, text: 'flight 1' });
      fake.requestDisconnect('refresh_requested');
      fake.dm({ user: ALICE, text: 'flight 2' });
      fake.dm({ user: BOB, text: 'flight 3' });
      await fake.until(() => fake.connected && fake.connectionsOpened > opened, 'the new connection');
      fake.drop();
      fake.dm({ user: BOB, text: 'flight 4' });
      for (const [user, n] of [
        [ALICE, 1],
        [ALICE, 2],
        [BOB, 3],
        [BOB, 4],
      ] as const) {
        await fake.until(() => count(sl, user, new RegExp(`coder done: flight ${n}\\b`)) === 1, `the reply to flight ${n}`, 60_000);
      }
      expect((await outbox('slack')).filter((r) => /flight \d/.test(r.text))).toHaveLength(4);
      for (const n of [1, 2]) expect(count(sl, ALICE, new RegExp(`coder done: flight ${n}\\b`))).toBe(1);
      for (const n of [3, 4]) expect(count(sl, BOB, new RegExp(`coder done: flight ${n}\\b`))).toBe(1);
    }, 120_000);
  });

  describe('whatsapp, in-process', { concurrent: true }, () => {
    it('the connection drops while a reply is on its way (two logins refused): the send fails, is retried, and the reply arrives once after the reconnect', async ({ expect }) => {
      const server = wa.fake;
      const ALICE = wa.user(1);
      const hellos = server.hellos.filter((h) => h.me !== null).length;
      const id = await server.text(ALICE, 'slow one');
      await server.until(() => server.receipts.has(id), 'the receipt');
      server.refuseNext(2, 408);
      server.disconnect(428);
      // The reply is produced only now, while the session is down (the mock's gate, docs/cli.md).
      openGate(d, 'slow-one');
      await server.until(() => count(wa, ALICE, /coder done: slow one/) === 1, 'the reply after the reconnect', 60_000);
      await waitFor(async () => (await outbox('whatsapp')).find((r) => /slow one/.test(r.text))?.status === 'delivered', 30_000, 'the reply acked');
      expect(count(wa, ALICE, /coder done: slow one/)).toBe(1);
      // The refused logins and the one that got through.
      expect(server.hellos.filter((h) => h.me !== null).length - hellos).toBeGreaterThanOrEqual(3);
    }, 120_000);
  });
});

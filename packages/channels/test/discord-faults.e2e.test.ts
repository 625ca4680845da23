/**
 * Discord faults through the real daemon and channel process (the fake Discord drives the real
 * discord.js Client): gateway drops and resumes, 429s and 5xx on the way out, and a bot without
 * the Message Content intent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDiscord, dmChannelOf, GUILD_CHANNEL } from '@tinyagi/test-kit/fake-discord';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';
import { pairedDiscordDaemon } from './fakes/discord-daemon.ts';

const USER = '700000000000000061';
const DM = dmChannelOf(USER);

const channelLog = (d: TestDaemon): string => {
  const file = join(d.home, 'logs', 'discord.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
};

describe('discord faults, end to end', () => {
  let fake: FakeDiscord;
  let d: TestDaemon;
  beforeAll(async () => {
    fake = new FakeDiscord();
    await fake.start();
    d = await pairedDiscordDaemon(fake, USER);
  }, 120_000);
  afterAll(async () => {
    await d?.cleanup();
    await fake?.close();
  });

  const count = (pattern: RegExp) => fake.sentTo(DM).filter((m) => pattern.test(m.content ?? '')).length;

  it('the gateway drops: the session resumes, and a DM written meanwhile is answered once', async () => {
    fake.drop();
    fake.dm({ userId: USER, content: 'written while dropped' });
    await fake.until(() => count(/coder done: written while dropped/) === 1, 'the reply to the replayed DM');
    expect(fake.identified).toHaveLength(1);
    expect(fake.resumes.length).toBeGreaterThanOrEqual(1);
    await waitFor(() => /discord gateway resumed \(\d+ missed events replayed\)/.test(channelLog(d)), 10_000, 'the resume in the channel log');
  });

  it('a session Discord invalidates is identified anew and the next DM is answered', async () => {
    fake.invalidateSession(false);
    await fake.until(() => fake.identified.length === 2 && fake.connected, 'a new IDENTIFY', 30_000);
    fake.dm({ userId: USER, content: 'on the new session' });
    await fake.until(() => count(/coder done: on the new session/) === 1, 'the reply on the new session');
  });

  it('a reply that meets a 429 and then a 502 after Discord created it arrives exactly once', async () => {
    fake.failNext({ kind: 'rate_limit', retryAfterS: 1, channelId: DM });
    fake.failNext({ kind: 'server_error', status: 502, html: true, afterCreate: true, channelId: DM });
    const deduplicated = fake.deduplicated;
    fake.dm({ userId: USER, content: 'through the faults' });
    await waitFor(
      async () => (await d.api.listOutbox({ query: { channel: 'discord', limit: 500 } })).find((r) => /through the faults/.test(r.text))?.status === 'delivered',
      60_000,
      'the reply to be acked',
    );
    expect(count(/coder done: through the faults/)).toBe(1);
    expect(fake.deduplicated).toBe(deduplicated + 1);
    expect(fake.unexpected429).toBe(0);
  });

  it('an unknown sender in a guild channel gets the pairing code in a DM; the channel only hears that approval is needed', async () => {
    const stranger = '700000000000000062';
    fake.guildMessage({ userId: stranger, channelId: GUILD_CHANNEL, content: 'who are you', mention: true });
    await fake.until(() => fake.sentTo(dmChannelOf(stranger)).some((m) => /pairing code is [A-Z2-9]{8}/.test(m.content ?? '')), 'the pairing code in the DM');
    const notice = await fake.until(() => fake.sentTo(GUILD_CHANNEL).find((m) => /approved senders only/.test(m.content ?? '')), 'the notice in the channel');
    expect(notice.content).not.toMatch(/[A-Z2-9]{8}/);
  });

  it('a rate limit longer than discord.js waits out in place goes back to the host, which sends after it, once', async () => {
    fake.failNext({ kind: 'rate_limit', retryAfterS: 11, scope: 'shared', channelId: DM });
    const asked = Date.now();
    fake.dm({ userId: USER, content: 'after a long limit' });
    await fake.until(() => count(/coder done: after a long limit/) === 1, 'the reply after the limit', 60_000);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(10_500);
    expect(channelLog(d)).toMatch(/retry after 11\d{3} ms/);
    expect(count(/coder done: after a long limit/)).toBe(1);
  });
});

describe('discord without the Message Content intent, end to end', () => {
  let fake: FakeDiscord;
  let d: TestDaemon;
  beforeAll(async () => {
    fake = new FakeDiscord();
    fake.messageContentIntent = false;
    await fake.start();
    d = await createChannelDaemon({ channels: { enabled: ['discord'], discord: { bot_token: fake.token, rest_api: `${fake.url}/api` } } });
    await d.start();
  }, 120_000);
  afterAll(async () => {
    await d?.cleanup();
    await fake?.close();
  });

  it('the channel log and the channel status say plainly what to turn on, and once the intent is on the bot answers', async () => {
    await waitFor(
      () => /ERROR Discord refused the Message Content intent \(gateway close 4014, disallowed intents\).*Privileged Gateway Intents/.test(channelLog(d)),
      60_000,
      'the plain error in logs/discord.log',
    );
    const status = await waitFor(async () => (await d.api.listChannels()).find((c) => c.name === 'discord' && c.lastError != null && c.state === 'backoff'), 30_000, 'the channel in backoff');
    expect(status.lastError).toMatch(/^Discord refused the Message Content intent \(gateway close 4014/);
    // The restarts ask the application's flags over REST: no IDENTIFY per restart.
    await waitFor(() => /checked without connecting/.test(channelLog(d)), 30_000, 'a restart that checked the flags');
    expect(fake.identified).toHaveLength(1);
    expect(fake.requests.some((r) => r.path === '/applications/@me')).toBe(true);

    fake.messageContentIntent = true;
    await fake.until(() => fake.connected, 'the bot connected once the intent is on', 60_000);
    fake.dm({ userId: USER, content: 'hello' });
    await fake.until(
      () =>
        /pairing code is/.test(
          fake
            .sentTo(DM)
            .map((m) => m.content ?? '')
            .join('\n'),
        ),
      'the pairing code',
    );
  });
});

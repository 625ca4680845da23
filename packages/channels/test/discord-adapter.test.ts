/**
 * The Discord adapter with the real discord.js Client against the fake Discord (REST and gateway
 * on loopback): rate limits, 5xx, the nonce de-duplication, gateway resume / re-identify, and
 * the close codes no reconnect can fix.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { FakeDiscord, dmChannelOf } from '@tinyagi/test-kit/fake-discord';
import { waitFor } from '@tinyagi/test-kit';
import { DiscordAdapter, isCredentialsRejected, PermanentSendError, RetryAfterError, type InboundMessage } from '../src/index.ts';
import { ChannelConfigError } from '../src/config.ts';
import { undoLater, type Later } from './undo.ts';

const USER = '700000000000000077';
const OTHER = '700000000000000078';
const DM = `ch:${dmChannelOf(USER)}`;
const OTHER_DM = `ch:${dmChannelOf(OTHER)}`;

async function setup(later: Later, options: { intent?: boolean; token?: string; fake?: FakeDiscord; stateDir?: string } = {}) {
  const fake = options.fake ?? new FakeDiscord();
  if (options.fake === undefined) {
    await fake.start();
    later(() => fake.close());
  }
  if (options.intent === false) fake.messageContentIntent = false;
  const received: InboundMessage[] = [];
  const logs: string[] = [];
  const fatal: string[] = [];
  const adapter = new DiscordAdapter({
    token: options.token ?? fake.token,
    restApi: `${fake.url}/api`,
    log: (level, message) => logs.push(`${level} ${message}`),
    onFatal: (message) => fatal.push(message),
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
  });
  later(() => adapter.stop());
  const sink = { receive: async (m: InboundMessage) => void received.push(m) };
  return { fake, adapter, received, logs, fatal, sink };
}

async function connected(later: Later, options?: Parameters<typeof setup>[1]) {
  const s = await setup(later, options);
  await s.adapter.start(s.sink);
  // Both DM channels exist on the platform (a user wrote first).
  s.fake.dm({ userId: USER, content: 'first' });
  s.fake.dm({ userId: OTHER, content: 'first' });
  await waitFor(() => s.received.length === 2, 20_000, 'the first two DMs');
  return s;
}

const out = (text: string, key: string) => ({ text, files: [], idempotencyKey: key });

describe.concurrent('discord REST faults (real discord.js)', () => {
  it('a 429 longer than the inline limit is thrown at once as RetryAfterError with Discord’s delay, not waited out in the send', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter } = await connected(later);
    fake.failNext({ kind: 'rate_limit', retryAfterS: 60, channelId: dmChannelOf(USER) });
    const started = Date.now();
    const error = await adapter.send(DM, out('later please', 'row-429:0')).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RetryAfterError);
    expect((error as RetryAfterError).retryAfterMs).toBeGreaterThanOrEqual(59_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(fake.sentTo(dmChannelOf(USER))).toEqual([]);
  });

  it('a short 429 (bucket headers, Retry-After) is waited out by discord.js and sent once', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter } = await connected(later);
    fake.failNext({ kind: 'rate_limit', retryAfterS: 1, channelId: dmChannelOf(USER) });
    const started = Date.now();
    await adapter.send(DM, out('after the wait', 'row-short:0'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(fake.sentTo(dmChannelOf(USER)).map((m) => m.content)).toEqual(['after the wait']);
    expect(fake.unexpected429).toBe(0);
  });

  it('a global 429 holds every route until it ends; nothing reaches Discord meanwhile', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter, logs } = await connected(later);
    fake.failNext({ kind: 'rate_limit', retryAfterS: 1.5, global: true });
    const firstAt = Date.now();
    const one = adapter.send(DM, out('one', 'g1:0'));
    await waitFor(() => logs.some((l) => /^warn discord rate limit \(global\)/.test(l)), 20_000, 'discord.js to take in the global limit');
    const limited = fake.requests.find((r) => r.status === 429)!;
    // Another channel's send, started while the global limit lasts, waits for it too.
    await Promise.all([one, adapter.send(OTHER_DM, out('two', 'g2:0'))]);
    const during = fake.requests.filter((r) => r.at > limited.at && r.at < limited.at + 1400);
    expect(during).toEqual([]);
    expect(fake.unexpected429).toBe(0);
    expect(Date.now() - firstAt).toBeGreaterThanOrEqual(1400);
    expect(fake.sent.filter((m) => m.content === 'one' || m.content === 'two')).toHaveLength(2);
  });

  it('bursts stay within the bucket the headers announce (5 per 5 s per channel)', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter } = await connected(later);
    for (let i = 0; i < 7; i++) await adapter.send(DM, out(`burst ${i}`, `b${i}:0`));
    expect(fake.sentTo(dmChannelOf(USER)).map((m) => m.content)).toEqual(Array.from({ length: 7 }, (_, i) => `burst ${i}`));
    expect(fake.unexpected429).toBe(0);
  });

  it('5xx answers (JSON and Cloudflare’s HTML page) are retried by discord.js; the message is created once', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter } = await connected(later);
    fake.failNext({ kind: 'server_error', status: 500, channelId: dmChannelOf(USER) });
    fake.failNext({ kind: 'server_error', status: 502, html: true, channelId: dmChannelOf(USER) });
    await adapter.send(DM, out('through the errors', 'row-5xx:0'));
    expect(fake.sentTo(dmChannelOf(USER)).map((m) => m.content)).toEqual(['through the errors']);
  });

  it('a 5xx that persists fails the send as retryable (neither permanent nor a rate limit)', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter } = await connected(later);
    fake.failNext({ kind: 'server_error', status: 503, times: 10, channelId: dmChannelOf(USER) });
    const error = await adapter.send(DM, out('never', 'row-503:0')).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(PermanentSendError);
    expect(error).not.toBeInstanceOf(RetryAfterError);
    expect(String((error as Error).message)).toMatch(/503|Service Unavailable/);
  });

  it('the nonce: a retry after an answer lost on the way back, and a resend of the same part after a crash, create no second message', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter } = await connected(later);
    // Discord created the message, but the client saw a 502: discord.js resends the same body.
    fake.failNext({ kind: 'server_error', status: 502, afterCreate: true, channelId: dmChannelOf(USER) });
    await adapter.send(DM, out('exactly once', 'row-n:0'));
    expect(fake.sentTo(dmChannelOf(USER)).map((m) => m.content)).toEqual(['exactly once']);
    expect(fake.deduplicated).toBe(1);
    // The host resends a part it has no ledger entry for (same outbox id and index).
    await adapter.send(DM, out('exactly once', 'row-n:0'));
    expect(fake.sentTo(dmChannelOf(USER))).toHaveLength(1);
    expect(fake.deduplicated).toBe(2);
    // Another part of the row, or the same text in another row, is a message of its own.
    await adapter.send(DM, out('exactly once', 'row-n:1'));
    await adapter.send(DM, out('exactly once', 'row-m:0'));
    expect(fake.sentTo(dmChannelOf(USER))).toHaveLength(3);
    expect(new Set(fake.sentTo(dmChannelOf(USER)).map((m) => m.nonce)).size).toBe(3);
  });
});

describe.concurrent('discord gateway faults (real discord.js)', () => {
  it('a dropped connection resumes the session and replays what was sent meanwhile, once', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, received } = await connected(later);
    fake.drop();
    fake.dm({ userId: USER, content: 'while disconnected' });
    await fake.until(() => fake.resumes.length === 1 && fake.connected, 'the resume');
    await waitFor(() => received.some((m) => m.text === 'while disconnected'), 20_000, 'the replayed message');
    expect(fake.identified).toHaveLength(1);
    fake.dm({ userId: USER, content: 'after the resume' });
    await waitFor(() => received.some((m) => m.text === 'after the resume'), 20_000, 'a new message');
    expect(received.filter((m) => m.text === 'while disconnected')).toHaveLength(1);
  });

  it('op 7 (reconnect), a resumable close code (4000) and a resumable op 9 all resume without a new IDENTIFY', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, received } = await connected(later);
    fake.requestReconnect();
    await fake.until(() => fake.resumes.length === 1 && fake.connected, 'the resume after op 7');
    fake.closeWith(4000, 'Unknown error');
    fake.dm({ userId: USER, content: 'during 4000' });
    await fake.until(() => fake.resumes.length === 2 && fake.connected, 'the resume after 4000');
    fake.invalidateSession(true);
    await fake.until(() => fake.resumes.length === 3 && fake.connected, 'the resume after op 9 (resumable)');
    await waitFor(() => received.some((m) => m.text === 'during 4000'), 20_000, 'the replayed message');
    expect(fake.identified).toHaveLength(1);
  });

  it('a session Discord invalidates (op 9, not resumable) is identified anew, and messages flow again', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, received, fatal } = await connected(later);
    fake.invalidateSession(false);
    await fake.until(() => fake.identified.length === 2 && fake.connected, 'a new IDENTIFY', 30_000);
    fake.dm({ userId: USER, content: 'new session' });
    await waitFor(() => received.some((m) => m.text === 'new session'), 20_000, 'a message on the new session');
    expect(fatal).toEqual([]);
  });

  it('the Message Content intent missing (4014) at start fails with a ChannelConfigError that says how to turn it on; one IDENTIFY, no retries', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter, sink } = await setup(later, { intent: false });
    const error = await adapter.start(sink).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ChannelConfigError);
    expect((error as Error).message).toMatch(/Message Content intent \(gateway close 4014/);
    expect((error as Error).message).toContain('Privileged Gateway Intents');
    expect(fake.identified).toHaveLength(1);
  });

  it('after a 4014, the next start asks the application’s flags over REST and does not IDENTIFY until the intent is on', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const dir = mkdtempSync(join(tmpdir(), 'tinyagi-discord-intent-'));
    later(() => rmSync(dir, { recursive: true, force: true }));
    const first = await setup(later, { intent: false, stateDir: dir });
    expect(await first.adapter.start(first.sink).catch((err: unknown) => err)).toBeInstanceOf(ChannelConfigError);
    await first.adapter.stop();
    const second = await setup(later, { fake: first.fake, stateDir: dir });
    const error = await second.adapter.start(second.sink).catch((err: unknown) => err);
    expect((error as Error).message).toMatch(/Message Content intent.*checked without connecting/);
    expect(first.fake.identified).toHaveLength(1);
    await second.adapter.stop();
    first.fake.messageContentIntent = true;
    const third = await setup(later, { fake: first.fake, stateDir: dir });
    await third.adapter.start(third.sink);
    expect(first.fake.identified).toHaveLength(2);
  });

  it('a token reset while running (the next IDENTIFY closes 4004) is logged plainly and reported as fatal', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, fatal } = await connected(later);
    fake.resetToken();
    await waitFor(() => fatal.length > 0, 30_000, 'the fatal report');
    expect(fatal).toEqual([expect.stringMatching(/^Discord rejected the bot token \(gateway close 4004, authentication failed\): set a valid token in DISCORD_BOT_TOKEN/)]);
    expect(fake.identified).toHaveLength(2);
  });

  it('a wrong token fails at start as rejected credentials (the channel is then not restarted), naming the settings to fix', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { adapter, sink } = await setup(later, { token: 'not-the-token' });
    const error = await adapter.start(sink).catch((err: unknown) => err);
    expect(isCredentialsRejected(error)).toBe(true);
    expect((error as Error).message).toMatch(/rejected the bot token.*DISCORD_BOT_TOKEN/);
  });

  it('4014 on a later IDENTIFY (the intent switched off while running) is logged plainly and reported as fatal, not left disconnected in silence', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, logs, fatal } = await connected(later);
    fake.messageContentIntent = false;
    fake.invalidateSession(false);
    await waitFor(() => fatal.length > 0 && fake.identified.length === 2, 30_000, 'the fatal report');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatch(/Message Content intent \(gateway close 4014/);
    expect(logs.some((l) => l.startsWith('error Discord refused the Message Content intent'))).toBe(true);
  });
});

describe.concurrent('discord catch-up (Discord does not redeliver)', () => {
  const stateDir = (later: Later): string => {
    const dir = mkdtempSync(join(tmpdir(), 'tinyagi-discord-seen-'));
    later(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'discord');
  };

  it('a DM written while no channel process was connected is read from the history at the next start, once', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const dir = stateDir(later);
    const first = await setup(later, { stateDir: dir });
    await first.adapter.start(first.sink);
    first.fake.dm({ userId: USER, content: 'before the restart' });
    await waitFor(() => first.received.length === 1, 20_000, 'the first DM');
    await first.adapter.stop();
    first.fake.dm({ userId: USER, content: 'while stopped one' });
    first.fake.dm({ userId: USER, content: 'while stopped two' });

    const second = await setup(later, { stateDir: dir, fake: first.fake });
    await second.adapter.start(second.sink);
    await waitFor(() => second.received.length === 2, 20_000, 'the missed DMs');
    expect(second.received.map((m) => m.text)).toEqual(['while stopped one', 'while stopped two']);
    second.fake.dm({ userId: USER, content: 'live again' });
    await waitFor(() => second.received.length === 3, 20_000, 'a live DM');
    expect(second.received.map((m) => m.text)).toEqual(['while stopped one', 'while stopped two', 'live again']);
  });

  it('a message written while Discord invalidated the session is read after the new READY', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const s = await setup(later, { stateDir: stateDir(later) });
    await s.adapter.start(s.sink);
    s.fake.dm({ userId: USER, content: 'first' });
    await waitFor(() => s.received.length === 1, 20_000, 'the first DM');
    s.fake.invalidateSession(false);
    s.fake.dm({ userId: USER, content: 'between the sessions' });
    await waitFor(() => s.received.some((m) => m.text === 'between the sessions'), 30_000, 'the message from the history');
    expect(s.received.filter((m) => m.text === 'between the sessions')).toHaveLength(1);
  });
});

/**
 * The Slack adapter with the real SDK (@slack/socket-mode, @slack/web-api) against the fake Slack
 * (Socket Mode and the Web API on loopback): DMs, mentions and threads, files both ways, the
 * status reactions, live-reply messages, 429 per method with Retry-After, 5xx, a socket refresh
 * mid-stream, redelivered envelopes, a lost answer after Slack created the message, bad tokens.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { FakeSlack, SLACK_BOT_USER, SLACK_CHANNEL, SLACK_OTHER_CHANNEL, slackDmOf } from '@tinyagi/test-kit/fake-slack';
import { waitFor } from '@tinyagi/test-kit';
import { PermanentSendError, RetryAfterError, type InboundMessage } from '../src/adapter.ts';
import { ChannelConfigError } from '../src/config.ts';
import { SlackAdapter } from '../src/slack/adapter.ts';
import { undoLater, type Later } from './undo.ts';

const USER = 'U0ALICE001';
const OTHER = 'U0BOB00001';
const DM = slackDmOf(USER);

function tempDir(later: Later): string {
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-slack-'));
  later(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function setup(
  later: Later,
  options: { fake?: FakeSlack; botToken?: string; appToken?: string; stateDir?: string; receive?: (m: InboundMessage) => Promise<void>; allowedChannels?: string[] } = {},
) {
  const fake = options.fake ?? new FakeSlack();
  if (options.fake === undefined) {
    await fake.start();
    later(() => fake.close());
  }
  const received: InboundMessage[] = [];
  const logs: string[] = [];
  const adapter = new SlackAdapter({
    botToken: options.botToken ?? fake.botToken,
    appToken: options.appToken ?? fake.appToken,
    apiUrl: fake.apiUrl,
    log: (level, message) => logs.push(`${level} ${message}`),
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
    ...(options.allowedChannels ? { allowedChannels: options.allowedChannels } : {}),
  });
  later(() => adapter.stop());
  const sink = { receive: options.receive ?? (async (m: InboundMessage) => void received.push(m)) };
  return { fake, adapter, received, logs, sink };
}

async function connected(later: Later, options?: Parameters<typeof setup>[1]) {
  const s = await setup(later, options);
  await s.adapter.start(s.sink);
  return s;
}

const out = (text: string, key: string, files: string[] = []) => ({ text, files, idempotencyKey: key });

describe.concurrent('slack inbound (real SDK over Socket Mode)', () => {
  it('a DM reaches the host (private, routed to the DM, the sender named), acked once taken', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, received } = await connected(later);
    fake.setUserName(USER, 'Alice');
    const ts = fake.dm({ user: USER, text: 'hello &amp; welcome <https://example.com|the site>' });
    await waitFor(() => received.length === 1, 20_000, 'the DM');
    expect(received[0]).toMatchObject({ platformMessageId: `${DM}:${ts}`, senderId: USER, sender: 'Alice', route: DM, text: 'hello & welcome the site (https://example.com)', isPrivate: true });
    await fake.until(() => fake.acks.length >= 1, 'the ack');
    // `@bot /stop` in a DM reaches the host as the command (Slack's client keeps a leading `/` for itself).
    fake.dm({ user: USER, text: `<@${SLACK_BOT_USER}> /stop` });
    await waitFor(() => received.length === 2, 20_000, 'the command');
    expect(received[1]!.text).toBe('/stop');
  });

  it('in a channel only a mention reaches the host, without the mention, and starts a thread on that message; a thread reply stays in its thread', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, received } = await connected(later);
    fake.channelMessage({ user: USER, channel: SLACK_CHANNEL, text: 'no mention here', mention: false });
    const top = fake.channelMessage({ user: USER, channel: SLACK_CHANNEL, text: '@coder fix the build' });
    await waitFor(() => received.length === 1, 20_000, 'the mention');
    expect(received[0]).toMatchObject({ route: `${SLACK_CHANNEL}:${top}`, text: '@coder fix the build', isPrivate: false });
    fake.channelMessage({ user: USER, channel: SLACK_CHANNEL, text: `and the tests <@${SLACK_BOT_USER}> too`, threadTs: top });
    await waitFor(() => received.length === 2, 20_000, 'the thread reply');
    expect(received[1]).toMatchObject({ route: `${SLACK_CHANNEL}:${top}`, text: 'and the tests too' });
    // Both events of a mention (message and app_mention) are acked; nothing else reached the host.
    await fake.until(() => fake.sentEnvelopes.length > 0 && fake.acks.length === new Set(fake.sentEnvelopes.map((e) => e.id)).size, 'every envelope acked');
    expect(received).toHaveLength(2);
  });

  it('a reply in a thread the bot was asked in needs no mention (kept across a restart); other threads and top-level messages still do', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const stateDir = tempDir(later);
    const fake = new FakeSlack();
    await fake.start();
    later(() => fake.close());
    const first = await connected(later, { fake, stateDir });
    const top = fake.channelMessage({ user: USER, channel: SLACK_CHANNEL, text: 'start here' });
    await waitFor(() => first.received.length === 1, 20_000, 'the mention');
    fake.channelMessage({ user: OTHER, channel: SLACK_CHANNEL, text: 'follow-up without mention', mention: false, threadTs: top });
    await waitFor(() => first.received.length === 2, 20_000, 'the follow-up');
    expect(first.received[1]).toMatchObject({ route: `${SLACK_CHANNEL}:${top}`, text: 'follow-up without mention', senderId: OTHER, isPrivate: false });
    fake.channelMessage({ user: USER, channel: SLACK_CHANNEL, text: 'not for the bot', mention: false, threadTs: '1600000000.000001' });
    fake.channelMessage({ user: USER, channel: SLACK_CHANNEL, text: 'top level, no mention', mention: false });
    fake.channelMessage({ user: USER, channel: SLACK_CHANNEL, text: 'mentioned in the thread', threadTs: top });
    await waitFor(() => first.received.length === 3, 20_000, 'the mention in the thread');
    await fake.until(() => fake.acks.length === new Set(fake.sentEnvelopes.map((e) => e.id)).size, 'every envelope acked');
    expect(first.received.map((m) => m.text)).toEqual(['start here', 'follow-up without mention', 'mentioned in the thread']);
    await first.adapter.stop();
    const second = await connected(later, { fake, stateDir });
    fake.channelMessage({ user: USER, channel: SLACK_CHANNEL, text: 'after the restart', mention: false, threadTs: top });
    await waitFor(() => second.received.length === 1, 20_000, 'the follow-up after the restart');
    expect(second.received[0]!.text).toBe('after the restart');
  });

  it('allowed_channels limits the channels (DMs always pass)', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, received } = await connected(later, { allowedChannels: [SLACK_CHANNEL] });
    fake.channelMessage({ user: USER, channel: SLACK_OTHER_CHANNEL, text: 'elsewhere' });
    fake.channelMessage({ user: USER, channel: SLACK_CHANNEL, text: 'here' });
    fake.dm({ user: USER, text: 'direct' });
    await waitFor(() => received.length === 2, 20_000, 'two messages');
    expect(received.map((m) => m.text).sort()).toEqual(['direct', 'here']);
  });

  it("ignores the bot's own messages, other bots and subtypes that are not a person writing", async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, received } = await connected(later);
    const ts = '1700000000.000001';
    fake.event({ type: 'message', channel: DM, channel_type: 'im', user: SLACK_BOT_USER, text: 'my own', ts });
    fake.event({ type: 'message', channel: DM, channel_type: 'im', user: OTHER, bot_id: 'B0OTHER', text: 'a bot', ts: '1700000000.000002' });
    fake.event({ type: 'message', subtype: 'message_changed', channel: DM, channel_type: 'im', ts: '1700000000.000003', message: { text: 'edited', user: USER } });
    fake.event({ type: 'message', subtype: 'channel_join', channel: SLACK_CHANNEL, channel_type: 'channel', user: USER, text: 'joined', ts: '1700000000.000004' });
    fake.dm({ user: USER, text: 'the real one' });
    await waitFor(() => received.length === 1, 20_000, 'the real DM');
    await fake.until(() => fake.acks.length === 5, 'all five acked');
    expect(received.map((m) => m.text)).toEqual(['the real one']);
  });

  it('a file comes in as a download with the bot token (size told up front)', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, received } = await connected(later);
    fake.dm({ user: USER, text: 'see file', files: [{ name: 'notes.txt', bytes: Buffer.from('slack notes') }] });
    await waitFor(() => received.length === 1, 20_000, 'the DM with a file');
    const file = received[0]!.files[0]!;
    expect(file).toMatchObject({ name: 'notes.txt', size: 11 });
    expect(Buffer.from(await file.download()).toString()).toBe('slack notes');
  });

  it('an envelope not acked in time is redelivered (retry_attempt) and handed over once; one still being handed over is not taken twice', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const fake = new FakeSlack({ ackTimeoutMs: 300 });
    await fake.start();
    later(() => fake.close());
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const received: InboundMessage[] = [];
    const { adapter, sink } = await setup(later, {
      fake,
      receive: async (m) => {
        received.push(m);
        if (m.text === 'slow one') await slow;
      },
    });
    await adapter.start(sink);
    fake.dm({ user: USER, text: 'slow one' });
    await fake.until(() => fake.sentEnvelopes.some((e) => e.attempt >= 2), 'two redeliveries while the first is handed over');
    release();
    await fake.until(() => fake.acks.length >= 1, 'the ack');
    expect(received.filter((m) => m.text === 'slow one')).toHaveLength(1);
    expect(fake.sentEnvelopes.filter((e) => e.attempt > 0).every((e) => e.reason === 'timeout')).toBe(true);
  });

  it('a refresh mid-stream: the SDK reconnects (a new apps.connections.open), nothing is lost or doubled', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, received } = await connected(later);
    for (let i = 0; i < 5; i++) fake.dm({ user: USER, text: `before ${i}` });
    fake.requestDisconnect('warning');
    fake.requestDisconnect('refresh_requested');
    for (let i = 0; i < 5; i++) fake.dm({ user: USER, text: `after ${i}` });
    await waitFor(() => received.length >= 10, 60_000, 'all ten messages');
    await fake.until(() => fake.connectionsOpened >= 2 && fake.connected, 'the reconnection');
    const texts = received.map((m) => m.text).sort();
    expect(texts).toEqual([...Array.from({ length: 5 }, (_, i) => `after ${i}`), ...Array.from({ length: 5 }, (_, i) => `before ${i}`)].sort());
    // A dropped socket too: what it had not acked comes again on the next one, and is not doubled.
    fake.drop();
    fake.dm({ user: USER, text: 'after the drop' });
    await waitFor(() => received.some((m) => m.text === 'after the drop'), 60_000, 'the message after the drop');
    await fake.until(() => fake.connected, 'connected again');
    expect(received.filter((m) => m.text === 'after the drop')).toHaveLength(1);
  });

  it('a message the host could not take is left unacked: Slack redelivers it and it gets through', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const fake = new FakeSlack({ ackTimeoutMs: 300 });
    await fake.start();
    later(() => fake.close());
    let failures = 1;
    const received: InboundMessage[] = [];
    const { adapter, sink } = await setup(later, {
      fake,
      receive: async (m) => {
        if (failures-- > 0) throw new Error('daemon unreachable');
        received.push(m);
      },
    });
    await adapter.start(sink);
    fake.dm({ user: USER, text: 'try again' });
    await waitFor(() => received.length === 1, 20_000, 'the redelivered message');
    expect(fake.sentEnvelopes.length).toBeGreaterThanOrEqual(2);
  });
});

describe.concurrent('slack outbound (Web API)', () => {
  it('replies into the thread in mrkdwn; a DM top-level; a proactive message opens the DM', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter } = await connected(later);
    await adapter.send(`${SLACK_CHANNEL}:1700000000.000100`, out('**done** with `a<b` & [docs](https://x.example/a?b=1&c=2)', 'r1:0'));
    await adapter.send(DM, out('plain', 'r2:0'));
    await adapter.send(OTHER, out('proactive', 'r3:0'));
    const [thread] = fake.botMessages(SLACK_CHANNEL, '1700000000.000100');
    expect(thread!.text).toBe('*done* with `a&lt;b` &amp; <https://x.example/a?b=1&amp;c=2|docs>');
    expect(thread!.metadata).toEqual({ event_type: 'tinyagi_reply', event_payload: { key: 'r1:0' } });
    expect(fake.botMessages(DM).map((m) => [m.text, m.thread_ts])).toEqual([['plain', undefined]]);
    expect(fake.botMessages(slackDmOf(OTHER)).map((m) => m.text)).toEqual(['proactive']);
  });

  it('files go out with the upload flow into the thread', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter } = await connected(later);
    const dir = tempDir(later);
    writeFileSync(join(dir, 'report.txt'), 'slack report');
    await adapter.send(`${SLACK_CHANNEL}:1700000000.000200`, out('here', 'f1:0', [join(dir, 'report.txt')]));
    const messages = fake.botMessages(SLACK_CHANNEL, '1700000000.000200');
    expect(messages.map((m) => m.text)).toEqual(['here', '']);
    expect(messages[1]!.files.map((f) => [f.name, f.bytes.toString()])).toEqual([['report.txt', 'slack report']]);
  });

  it('a 429 becomes RetryAfterError with Slack’s Retry-After, holds that method in that channel only, and the send goes through after it', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter } = await connected(later);
    fake.failNext({ method: 'chat.postMessage', kind: 'rate_limit', retryAfterS: 2 });
    const err = await adapter.send(`${SLACK_CHANNEL}:1.1`, out('one', 'a:0')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryAfterError);
    expect((err as RetryAfterError).retryAfterMs).toBe(2000);
    // The same method and channel: refused here at once, Slack is not asked again.
    const calls = fake.requests.filter((r) => r.method === 'chat.postMessage').length;
    const again = await adapter.send(`${SLACK_CHANNEL}:1.1`, out('one', 'a:0')).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(RetryAfterError);
    expect((again as RetryAfterError).retryAfterMs).toBeLessThanOrEqual(2000);
    expect(fake.requests.filter((r) => r.method === 'chat.postMessage').length).toBe(calls);
    // Other chats and other methods go on meanwhile.
    await adapter.send(DM, out('other chat', 'b:0'));
    await adapter.live.post(DM, 'working…');
    expect(fake.botMessages(DM).map((m) => m.text)).toEqual(['other chat', 'working…']);
    await new Promise((r) => setTimeout(r, (again as RetryAfterError).retryAfterMs));
    await adapter.send(`${SLACK_CHANNEL}:1.1`, out('one', 'a:0'));
    expect(fake.botMessages(SLACK_CHANNEL).map((m) => m.text)).toEqual(['one']);
  });

  it("a burst past chat.postMessage's per-channel limit is answered 429 by Slack and told as RetryAfterError", async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter } = await connected(later);
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => adapter.send(DM, out(`burst ${i}`, `burst:${i}`))));
    const limited = results.filter((r) => r.status === 'rejected');
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(RetryAfterError);
    expect(fake.rateLimited.get('chat.postMessage')).toBeGreaterThanOrEqual(1);
  });

  it('a 5xx is thrown for the host to retry; a gone channel is PermanentSendError', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter } = await connected(later);
    fake.failNext({ method: 'chat.postMessage', kind: 'server_error', status: 503 });
    const err = await adapter.send(DM, out('x', 'c:0')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(PermanentSendError);
    expect(err).not.toBeInstanceOf(RetryAfterError);
    expect(String(err)).toMatch(/HTTP 503/);
    await adapter.send(DM, out('x', 'c:0'));
    expect(fake.botMessages(DM).map((m) => m.text)).toEqual(['x']);
    fake.failNext({ method: 'chat.postMessage', kind: 'error', error: 'channel_not_found' });
    await expect(adapter.send('C0GONE0001', out('y', 'd:0'))).rejects.toBeInstanceOf(PermanentSendError);
  });

  it('an answer lost after Slack created the message (5xx after the effect): the retry finds it by its metadata and does not post it again, also from a new process', async ({
    onTestFinished,
    expect,
  }) => {
    const later = undoLater(onTestFinished);
    const fake = new FakeSlack();
    await fake.start();
    later(() => fake.close());
    const stateDir = tempDir(later);
    const first = await connected(later, { fake, stateDir });
    fake.failNext({ method: 'chat.postMessage', kind: 'server_error', status: 500, afterEffect: true });
    await expect(first.adapter.send(`${SLACK_CHANNEL}:1.5`, out('once only', 'lost:0'))).rejects.toThrow(/HTTP 500/);
    expect(JSON.parse(readFileSync(join(stateDir, 'unconfirmed.json'), 'utf8'))).toEqual(['lost:0']);
    await first.adapter.stop();
    // A new process (the old one crashed) retries the same send.
    const second = await connected(later, { fake, stateDir });
    await second.adapter.send(`${SLACK_CHANNEL}:1.5`, out('once only', 'lost:0'));
    expect(fake.botMessages(SLACK_CHANNEL, '1.5').map((m) => m.text)).toEqual(['once only']);
    expect(JSON.parse(readFileSync(join(stateDir, 'unconfirmed.json'), 'utf8'))).toEqual([]);
  });

  it('status reactions: :eyes: while working on the message, :white_check_mark: once the reply is out', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter, received } = await connected(later);
    const ts = fake.dm({ user: USER, text: 'work on this' });
    await waitFor(() => received.length === 1, 20_000, 'the DM');
    await fake.until(() => fake.acks.length === 1, 'the ack');
    await adapter.sendTyping(DM);
    await adapter.sendTyping(DM);
    expect(fake.reactionsOn(DM, ts)).toEqual(['eyes']);
    await adapter.send(DM, out('done', 'e:0'));
    expect(fake.reactionsOn(DM, ts)).toEqual(['white_check_mark']);
    expect(fake.reactions.filter((r) => r.method === 'reactions.add' && r.name === 'eyes')).toHaveLength(1);
  });

  it('live replies: post, edit (chat.update), remove (chat.delete); removing one already gone is fine', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { fake, adapter } = await connected(later);
    const route = `${SLACK_CHANNEL}:1700000000.000300`;
    const id = await adapter.live.post(route, 'working…');
    await adapter.live.edit(route, id, 'reading **files**');
    // The same text again is no error (Slack answers ok).
    await adapter.live.edit(route, id, 'reading **files**');
    const [message] = fake.botMessages(SLACK_CHANNEL, '1700000000.000300');
    expect(message!.edits).toEqual(['reading *files*', 'reading *files*']);
    await adapter.live.remove(route, id);
    expect(fake.botMessages(SLACK_CHANNEL, '1700000000.000300')).toEqual([]);
    await adapter.live.remove(route, id);
    expect(adapter.live.editIntervalMs).toBeGreaterThanOrEqual(1000);
    // A post whose answer was lost (Slack created it): the retry with the same key gets that message, no second one.
    fake.failNext({ method: 'chat.postMessage', kind: 'server_error', status: 503, afterEffect: true });
    await expect(adapter.live.post(route, 'working again…', 'live-1')).rejects.toThrow(/HTTP 503/);
    const again = await adapter.live.post(route, 'working again…', 'live-1');
    expect(fake.botMessages(SLACK_CHANNEL, '1700000000.000300').map((m) => `${SLACK_CHANNEL}/${m.ts}`)).toEqual([again]);
  });
});

describe.concurrent('slack progress message of a process killed before Slack answered', () => {
  it('the next process finds it by its key and deletes it', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const fake = new FakeSlack();
    await fake.start();
    later(() => fake.close());
    const stateDir = tempDir(later);
    const first = await connected(later, { fake, stateDir });
    const held = fake.hold(/working/);
    const route = `${SLACK_CHANNEL}:1700000000.000400`;
    void first.adapter.live.post(route, '⏳ working…', 'p-1').catch(() => {});
    await held.arrived;
    // The process "dies" here: Slack created the message, its answer never arrived.
    expect(fake.botMessages(SLACK_CHANNEL, '1700000000.000400')).toHaveLength(1);
    const second = await connected(later, { fake, stateDir });
    await fake.until(() => fake.botMessages(SLACK_CHANNEL, '1700000000.000400').length === 0, 'the stale progress message deleted');
    await waitFor(() => second.logs.some((l) => /removed a progress message whose post was never confirmed/.test(l)), 10_000, 'the log line');
    expect(JSON.parse(readFileSync(join(stateDir, 'unconfirmed.json'), 'utf8'))).toEqual([]);
    held.release();
  });
});

describe.concurrent('slack socket down for good', () => {
  it('the socket down longer than reconnectTimeoutMs (Slack unreachable; the SDK stops reconnecting after a network error): onFatal, so the supervisor restarts the channel', async ({
    onTestFinished,
    expect,
  }) => {
    const later = undoLater(onTestFinished);
    const fake = new FakeSlack();
    await fake.start();
    const fatal: string[] = [];
    const adapter = new SlackAdapter({ botToken: fake.botToken, appToken: fake.appToken, apiUrl: fake.apiUrl, reconnectTimeoutMs: 1000, onFatal: (m) => fatal.push(m) });
    later(() => adapter.stop());
    await adapter.start({ receive: async () => {} });
    await fake.close();
    await waitFor(() => fatal.length === 1, 60_000, 'onFatal');
    expect(fatal[0]).toMatch(/slack socket down for \d+ s and not reconnecting/);
  });
});

describe.concurrent('slack tokens', () => {
  it('a wrong bot token is a configuration error naming what to set', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const { adapter, sink } = await setup(later, { botToken: 'xoxb-wrong' });
    const err = await adapter.start(sink).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelConfigError);
    expect(String(err)).toMatch(/invalid_auth.*SLACK_BOT_TOKEN/);
  });

  it('a bot token where the app-level token belongs is a configuration error naming SLACK_APP_TOKEN', async ({ onTestFinished, expect }) => {
    const later = undoLater(onTestFinished);
    const fake = new FakeSlack();
    await fake.start();
    later(() => fake.close());
    const { adapter, sink } = await setup(later, { fake, appToken: fake.botToken });
    const err = await adapter.start(sink).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelConfigError);
    expect(String(err)).toMatch(/must start with xapp- \(this one starts with xoxb-\).*SLACK_APP_TOKEN/);
  });
});

/**
 * Chats through each platform's channel, run in-process (the channel's adapter and host as the
 * channel process builds them, against the platform's fake, with the channel-scoped token) under
 * one built daemon: pairing, a stranger in a group, files both ways and long replies, the same on
 * every platform; then what each platform does its own way (Telegram's Markdown, commands and
 * topics, Discord's guild channels and threads, Slack's threads, mrkdwn and reactions, WhatsApp's
 * mentions by LID). The path through the real channel process is *.e2e.test.ts.
 */
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { GUILD_CHANNEL, OTHER_CHANNEL, THREAD } from '@tinyagi/test-kit/fake-discord';
import { SLACK_CHANNEL, slackDmOf } from '@tinyagi/test-kit/fake-slack';
import { createChannelDaemon, openGate } from './daemon.ts';
import { BOT_LID } from './fakes/wa-server.ts';
import { hostPlatforms, type PlatformName } from './platforms.ts';

/** What an agent writes (Markdown), and what the Telegram user must read. */
const FORMATTED = '**Done**: renamed snake_case to my_var in `src/a_b.py` (2 * 3 = 6) 👨‍👩‍👧‍👦 — see [the docs](https://example.com/x_y?a=1&b=2)\n```py\nprint(a_b < 2)\n```';
const FORMATTED_SEEN = 'Done: renamed snake_case to my_var in src/a_b.py (2 * 3 = 6) 👨‍👩‍👧‍👦 — see the docs\nprint(a_b < 2)';
/** Long replies past each platform's limit: paragraphs for Telegram (cut on paragraph breaks), lines for the others. */
const LONG = {
  telegram: Array.from({ length: 95 }, (_, i) => `Paragraph ${i}: ${'lorem ipsum dolor sit amet '.repeat(3).trim()}.`).join('\n\n'),
  discord: Array.from({ length: 50 }, (_, i) => `Line ${i}: ${'the quick brown fox jumps over the lazy dog '.repeat(2).trim()}`).join('\n'),
  slack: Array.from({ length: 120 }, (_, i) => `Line ${i}: ${'the quick brown fox jumps over the lazy dog '.repeat(2).trim()}`).join('\n'),
};

const { tg, dc, sl, wa, platforms, channels, close } = hostPlatforms(4100);
let d: TestDaemon;

beforeAll(async () => {
  await Promise.all(platforms.map((p) => p.start()));
  d = await createChannelDaemon({
    coder: (home) => ({
      session_mode: 'per-thread',
      mock: {
        reply: 'coder done: {{message}}',
        replies: [
          ...Object.entries(LONG).map(([name, reply]) => ({ match: `long answer on ${name}`, reply })),
          { match: 'format check', reply: FORMATTED },
          { match: 'slack format', gate: 'slack-format', reply: '**Done** with `a<b` & [docs](https://example.com/?a=1&b=2)' },
          { match: 'take your time', latency_ms: 60_000, reply: 'finally done' },
          { match: 'send the report', reply: `Here it is. [send_file: ${join(home, 'files', 'report.txt')}]` },
        ],
      },
    }),
    agents: {
      reviewer: { provider: 'mock', mock: { reply: 'reviewer says: {{message}}' } },
      // p1 and p2 hand work back and forth until the ping-pong guard holds it for the person.
      p1: { provider: 'mock', mock: { reply: 'Over to you. [@p2: your turn]' } },
      p2: { provider: 'mock', mock: { reply: 'Back at you. [@p1: yours]' } },
    },
    extra: { teams: { pp: { agents: ['p1', 'p2'], leader_agent: 'p1', limits: { ping_pong_max: 2 } } } },
  });
  await d.start();
  mkdirSync(join(d.home, 'files'), { recursive: true });
  writeFileSync(join(d.home, 'files', 'report.txt'), 'the report');
  const blocks: Partial<Record<PlatformName, Record<string, unknown>>> = {
    discord: { allowed_channels: [GUILD_CHANNEL] },
    slack: { max_file_bytes: 1024 },
  };
  for (const p of platforms) channels.set(p.name, await p.startChannel(d, blocks[p.name]));
}, 120_000);

afterAll(() => close(d));

const outbox = async (channel: PlatformName) => d.api.listOutbox({ query: { channel, limit: 500 } });
const storedFile = (channel: PlatformName, suffix: string) => readdirSync(join(d.home, 'files')).find((f) => f.startsWith(`${channel}_`) && f.endsWith(suffix));

describe.each(platforms.map((p) => [p.name, p] as const))('%s, in-process', (_, p) => {
  const user = p.user(1);

  it('a new sender gets a pairing code in private; once approved, the held message is answered', async () => {
    await p.dm(user, 'hello there');
    const code = await p.until(() => /pairing code is ([A-Z2-9]{8})/.exec(p.texts(user).join('\n'))?.[1], 'the pairing code');
    expect(p.texts(user).join('\n')).toContain(`tinyagi pairing approve ${code}`);
    expect(p.texts(user).some((t) => /coder done/.test(t))).toBe(false);
    await d.api.approvePairing({ body: { code } });
    await p.until(() => p.texts(user).some((t) => /You are approved/.test(t)), 'the approval notice');
    await p.until(() => p.texts(user).some((t) => /coder done: hello there/.test(t)), 'the held message to be answered');
  });

  it('a sender revoked while the channel still trusts it is asked to pair again (the daemon refuses its message); its message is held and answered once approved', async () => {
    const approved = (await d.api.listPairings()).approved.filter((a) => a.channel === p.name);
    expect(approved).toHaveLength(1);
    await d.api.revokePairing({ params: { channel: p.name, senderId: approved[0]!.senderId } });
    const codes = () =>
      Array.from(
        p
          .texts(user)
          .join('\n')
          .matchAll(/pairing code is ([A-Z2-9]{8})/g),
        (m) => m[1]!,
      );
    const before = codes().length;
    // Within a minute of its last check: the channel process trusts the sender, the daemon does not.
    await p.dm(user, 'after the revoke');
    const code = await p.until(() => codes()[before], 'a new pairing code');
    expect(p.texts(user).some((t) => /could not be handed to the agents/.test(t))).toBe(false);
    expect(p.texts(user).some((t) => /coder done: after the revoke/.test(t))).toBe(false);
    await d.api.approvePairing({ body: { code } });
    await p.until(() => p.texts(user).some((t) => /coder done: after the revoke/.test(t)), 'the held message to be answered');
  });

  it('in a group, an unknown sender gets the pairing code privately; the group only hears that approval is needed', async () => {
    const stranger = p.user(2);
    await p.mention(stranger, 'who are you');
    await p.until(() => p.texts(stranger).some((t) => /pairing code is [A-Z2-9]{8}/.test(t)), 'the pairing code in private');
    const notice = await p.until(() => p.groupTexts().find((t) => /approved senders only/.test(t)), 'the notice in the group');
    expect(notice).toMatch(/: this bot answers approved senders only\. I sent you a pairing code privately\.$/);
    expect(notice).not.toMatch(/[A-Z2-9]{8}/);
    expect(p.groupTexts().some((t) => /pairing code is|tinyagi pairing approve/.test(t))).toBe(false);
    if (p === sl) {
      // On Slack the notice goes to the thread of the mention, not the channel's top level.
      const top = sl.fake.messages.find((m) => m.user === stranger && m.channel === SLACK_CHANNEL)!.ts;
      expect(
        sl.fake
          .botMessages(SLACK_CHANNEL)
          .filter((m) => /approved senders only/.test(m.text))
          .map((m) => m.thread_ts),
      ).toEqual([top]);
    }
  });

  it('an inbound file is stored under files/ and given to the agent; a [send_file] goes out as a file the user downloads', async () => {
    await p.dm(user, 'see attached', { name: 'notes.txt', bytes: Buffer.from(`${p.name} notes`) });
    await p.until(() => p.texts(user).some((t) => /coder done: see attached/.test(t)), 'the reply to the file');
    const stored = storedFile(p.name, 'notes.txt');
    expect(stored).toBeDefined();
    expect(readFileSync(join(d.home, 'files', stored!), 'utf8')).toBe(`${p.name} notes`);
    const row = (await outbox(p.name)).find((r) => r.text.includes('see attached'))!;
    expect(row.text).toContain('coder done: see attached');

    await p.dm(user, 'send the report please');
    const sent = await p
      .until(() => p.texts(user).some((t) => /Here it is/.test(t)) || undefined, 'the reply with the file')
      .then(async () => waitFor(async () => (await p.files(user)).find((f) => f.name === 'report.txt'), 30_000, 'the file'));
    expect(sent.bytes.toString()).toBe('the report');
  });
});

describe.each([
  ['telegram', tg],
  ['discord', dc],
  ['slack', sl],
] as const)('%s, in-process: long replies', (name, p) => {
  it("a reply longer than the platform's limit arrives in several messages, each within it, nothing lost", async () => {
    const user = p.user(1);
    const before = p.texts(user).length;
    await p.dm(user, `please write a long answer on ${name}`);
    await waitFor(async () => (await outbox(name)).find((r) => r.text.startsWith(LONG[name].slice(0, 20)))?.status === 'delivered', 30_000, 'the long reply delivered');
    const row = (await outbox(name)).find((r) => r.text.startsWith(LONG[name].slice(0, 20)))!;
    const chunks = p.texts(user).slice(before);
    expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(row.text.length / p.maxMessageLength));
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(p.maxMessageLength);
    // Cut on line or paragraph breaks: joined back, the chunks are the reply.
    expect(chunks.join('\n').replace(/\s+/g, ' ')).toBe(row.text.replace(/\s+/g, ' '));
    if (name === 'telegram') expect(chunks.join('\n\n')).toBe(row.text);
    if (name === 'discord') {
      const sent = dc.fake.sentTo(dc.fake.sent.find((m) => m.content === chunks[0])!.channelId).slice(-chunks.length);
      expect(new Set(sent.map((m) => m.nonce)).size).toBe(chunks.length);
    }
  });
});

describe('telegram, in-process', () => {
  const fake = tg.fake;
  const USER = Number(tg.user(1));
  const replyTo = (chatId: number, pattern: RegExp) => () => fake.messagesTo(chatId).find((m) => pattern.test(m.text ?? ''));
  const readHeld = (): Array<{ senderId: string }> => {
    try {
      return JSON.parse(readFileSync(join(d.home, 'channels', 'telegram', 'held.json'), 'utf8')) as Array<{ senderId: string }>;
    } catch {
      return [];
    }
  };

  it('sets the command menu', () => {
    expect((fake.commands as Array<{ command: string }>).map((c) => c.command)).toEqual(['agent', 'team', 'status', 'stop', 'reset', 'answer', 'deny', 'accept', 'keep', 'reject']);
  });

  it("the agent's Markdown arrives as written: code, paths, snake_case, asterisks, links and emoji, with Telegram's entities", async () => {
    fake.userMessage({ chatId: USER, text: 'format check' });
    const reply = await fake.until(replyTo(USER, /renamed snake/), 'the formatted reply');
    expect(reply.text).toBe(`${FORMATTED_SEEN}\n\n— @coder`);
    const entities = (reply.entities ?? []).map((e) => `${e.type}:${reply.text!.slice(e.offset, e.offset + e.length)}`);
    expect(entities).toEqual(['bold:Done', 'code:src/a_b.py', 'text_link:the docs', 'pre:print(a_b < 2)']);
  });

  it('a reply Telegram cannot parse as Markdown is sent again as plain text', async () => {
    fake.failNext({
      method: 'sendMessage',
      match: /coder done: under_score \*star/,
      errorCode: 400,
      description: "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 20",
    });
    fake.userMessage({ chatId: USER, text: 'under_score *star' });
    const plain = await fake.until(replyTo(USER, /coder done: under_score \*star/), 'the plain-text reply');
    expect(plain.parseMode).toBeUndefined();
    expect(fake.sent.some((s) => s.method === 'sendMessage:failed' && /under_score/.test(s.text ?? ''))).toBe(true);
  });

  it('a photo or a voice note sent without a caption is a message: it is answered', async () => {
    fake.userMessage({ chatId: USER, photo: Buffer.from('jpeg bytes') });
    await fake.until(replyTo(USER, /^coder done: \(sent without a caption: \S+_photo_\d+\.jpg\)/), 'the reply to the photo');
    fake.userMessage({ chatId: USER, voice: Buffer.from('ogg bytes') });
    await fake.until(replyTo(USER, /^coder done: \(sent without a caption: \S+_voice_\d+\.ogg\)/), 'the reply to the voice note');
  });

  it("an inbound document's name cannot lead out of files/", async () => {
    fake.userMessage({ chatId: USER, text: 'see the evil one', document: { name: '../../evil name.txt', bytes: Buffer.from('attached content') } });
    await fake.until(replyTo(USER, /coder done: see the evil one/), 'the reply to the document');
    expect(readFileSync(join(d.home, 'files', storedFile('telegram', 'evil_name.txt')!), 'utf8')).toBe('attached content');
  });

  it('a message the daemon refuses gets a reply saying why', async () => {
    fake.userMessage({ chatId: USER, text: '@nobody are you there?' });
    await fake.until(replyTo(USER, /^Your message could not be handed to the agents: No agent or team named "@nobody"/), 'the refusal');
  });

  it("a held photo without a caption is delivered after approval, and never stops the sender's later held messages", async () => {
    const NEWCOMER = Number(tg.user(3));
    fake.userMessage({ chatId: NEWCOMER, photo: Buffer.from('held photo') });
    const codeMessage = await fake.until(replyTo(NEWCOMER, /pairing code is [A-Z2-9]{8}/), 'the pairing code');
    fake.userMessage({ chatId: NEWCOMER, text: 'and a held text' });
    await fake.until(() => readHeld().filter((m) => m.senderId === String(NEWCOMER)).length === 2 || undefined, 'both messages to be held');
    await d.api.approvePairing({ body: { code: /pairing code is ([A-Z2-9]{8})/.exec(codeMessage.text!)![1]! } });
    await fake.until(replyTo(NEWCOMER, /^coder done: \(sent without a caption: \S+_photo_\d+\.jpg\)/), 'the held photo to be answered');
    await fake.until(replyTo(NEWCOMER, /^coder done: and a held text/), 'the later held message to be answered');
  });

  it('an approval given while the channel was stopped is caught up when it starts again', async () => {
    const LATE = Number(tg.user(4));
    fake.userMessage({ chatId: LATE, text: 'while you were out' });
    const codeMessage = await fake.until(replyTo(LATE, /pairing code is [A-Z2-9]{8}/), 'the pairing code');
    await channels.get('telegram')!.stop();
    await d.api.approvePairing({ body: { code: /pairing code is ([A-Z2-9]{8})/.exec(codeMessage.text!)![1]! } });
    channels.set('telegram', await tg.startChannel(d));
    await fake.until(replyTo(LATE, /You are approved/), 'the approval notice after the restart');
    await fake.until(replyTo(LATE, /coder done: while you were out/), 'the held message to be answered');
  });

  it('a private message gets its reply; a redelivered update is enqueued once', async () => {
    const id = fake.userMessage({ chatId: USER, text: 'what is up' });
    await fake.until(replyTo(USER, /coder done: what is up/), 'the reply');
    fake.redeliver(id);
    // A later message is handled after the redelivery (grammY handles updates in order).
    fake.userMessage({ chatId: USER, text: 'after the redelivery' });
    await fake.until(replyTo(USER, /coder done: after the redelivery/), 'the later reply');
    expect(fake.messagesTo(USER).filter((m) => /coder done: what is up/.test(m.text ?? ''))).toHaveLength(1);
    expect((await outbox('telegram')).filter((r) => r.text.includes('coder done: what is up'))).toHaveLength(1);
  });

  it('in a group, a message without a mention is ignored and one with a mention is answered (mention removed)', async () => {
    const GROUP = -100123;
    fake.userMessage({ chatId: GROUP, fromId: USER, chatType: 'supergroup', text: 'just chatting among humans' });
    fake.userMessage({ chatId: GROUP, fromId: USER, chatType: 'supergroup', text: '@tiny_test_bot ping from the group' });
    await fake.until(replyTo(GROUP, /coder done: ping from the group/), 'the group reply');
    expect(fake.messagesTo(GROUP).map((m) => m.text)).toEqual([expect.stringMatching(/^coder done: ping from the group\b/)]);
  });

  it('a forum topic is its own thread: the reply goes to the topic', async () => {
    const FORUM = -100777;
    fake.userMessage({ chatId: FORUM, fromId: USER, chatType: 'supergroup', threadId: 42, text: '@tiny_test_bot hello topic' });
    const reply = await fake.until(replyTo(FORUM, /coder done: hello topic/), 'the topic reply');
    expect(reply.threadId).toBe(42);
  });

  it("/stop cancels the chat's running conversation and says so; its reply never comes", async () => {
    const typingBefore = fake.sent.filter((s) => s.method === 'sendChatAction').length;
    fake.userMessage({ chatId: USER, text: 'take your time' });
    // The run is under way once the daemon accepted the message and typing started for it.
    await fake.until(() => fake.sent.filter((s) => s.method === 'sendChatAction').length > typingBefore, 'typing for the slow message');
    fake.userMessage({ chatId: USER, text: '/status' });
    await fake.until(replyTo(USER, /^Active conversation with @coder: .*Send \/stop to cancel it\.$/), 'the status of the running conversation');
    fake.userMessage({ chatId: USER, text: '/stop' });
    await fake.until(replyTo(USER, /^Stopped\.$/), 'the stop notice');
    const slow = (await d.api.listConversations({ query: { limit: 50 } })).find((c) => c.title.includes('take your time'));
    expect(slow?.status).toBe('cancelled');
    expect((await outbox('telegram')).some((r) => r.text.includes('finally done'))).toBe(false);
    expect(fake.sent.some((s) => s.method === 'sendChatAction' && s.chatId === USER && s.action === 'typing')).toBe(true);
  });

  it('/status after the stop says nothing is running and how the last conversation ended', async () => {
    fake.userMessage({ chatId: USER, text: '/status' });
    await fake.until(replyTo(USER, /^Nothing running here\. The last conversation ended cancelled\.$/), 'the idle status');
  });

  it('/status while a guard holds the work says it waits for a decision and how to give it', async () => {
    fake.userMessage({ chatId: USER, text: '@pp start the rally' });
    await fake.until(replyTo(USER, /^I held back a message from @p\d/), 'the guard note');
    fake.userMessage({ chatId: USER, text: '/status' });
    await fake.until(
      // `continue` and `stop` arrive as code entities (the Markdown is converted), not with backticks.
      replyTo(USER, /^The conversation with #pp waits for your decision: a guard held work back\. Reply continue to raise its limits and go on, or stop to end it\.$/),
      'the waiting status',
    );
    fake.userMessage({ chatId: USER, text: 'stop' });
    await fake.until(replyTo(USER, /^Stopped\. \d+ outstanding runs? cancelled\.$/), 'the stop answer');
  });

  it("/reset clears the sender's default target and the chat's agent sessions", async () => {
    // A finished turn leaves a per-thread session; `/agent coder` sets a default target.
    fake.userMessage({ chatId: USER, text: 'remember me' });
    await fake.until(replyTo(USER, /coder done: remember me/), 'the reply');
    fake.userMessage({ chatId: USER, text: '/agent coder' });
    await fake.until(replyTo(USER, /now go to @coder/), 'the default target confirmation');
    fake.userMessage({ chatId: USER, text: '/reset' });
    await fake.until(replyTo(USER, /^Fresh start: your default target is cleared, \d+ agent sessions? of this chat forgotten\./), 'the reset notice');
    const resets = () => fake.messagesTo(USER).filter((m) => /^Fresh start/.test(m.text ?? '')).length;
    fake.userMessage({ chatId: USER, text: `/reset@${fake.bot.username}` });
    await fake.until(() => resets() === 2, 'the second reset notice');
    expect(fake.messagesTo(USER).at(-1)?.text).toMatch(/^Fresh start: no default target was set, 0 agent sessions of this chat forgotten\./);
  });

  it('the channel keeps its state private (0700 directory, 0600 files)', () => {
    const dir = join(d.home, 'channels', 'telegram');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'sent.log')).mode & 0o777).toBe(0o600);
  });
});

describe('discord, in-process', () => {
  const fake = dc.fake;
  const USER = dc.user(1);
  const replyIn = (channelId: string, pattern: RegExp) => () => fake.sentTo(channelId).find((m) => pattern.test(m.content ?? ''));

  it('in a guild, only messages that mention the bot in an allowed channel are answered', async () => {
    fake.guildMessage({ userId: USER, channelId: GUILD_CHANNEL, content: 'no mention here' });
    fake.guildMessage({ userId: USER, channelId: OTHER_CHANNEL, content: 'mentioned elsewhere', mention: true });
    fake.guildMessage({ userId: USER, channelId: GUILD_CHANNEL, content: 'ping guild', mention: true });
    await fake.until(replyIn(GUILD_CHANNEL, /coder done: ping guild/), 'the guild reply');
    expect((await outbox('discord')).some((r) => /no mention here|mentioned elsewhere/.test(r.text))).toBe(false);
    expect(fake.sentTo(OTHER_CHANNEL)).toEqual([]);
  });

  it('a thread is its own session and gets its reply in the thread', async () => {
    fake.guildMessage({ userId: USER, channelId: THREAD, content: 'in the thread', mention: true });
    await fake.until(replyIn(THREAD, /coder done: in the thread/), 'the thread reply');
    const rows = await outbox('discord');
    const thread = rows.find((r) => r.text.includes('in the thread'))!;
    const guild = rows.find((r) => r.text.includes('ping guild'))!;
    expect(thread.conversationId).not.toBe(guild.conversationId);
    expect(thread.recipient['threadId']).toBe(`ch:${THREAD}`);
  });

  it('typing is shown in the DM while the agent works', () => {
    expect(fake.typing).toContain(fake.sent.find((m) => /coder done: hello there/.test(m.content ?? ''))!.channelId);
  });
});

describe('slack, in-process', () => {
  const fake = sl.fake;
  const USER = sl.user(1);
  const DM = slackDmOf(USER);
  const texts = (channel: string, thread?: string) => fake.botMessages(channel, thread).map((m) => m.text);
  const count = (channel: string, pattern: RegExp) => texts(channel).filter((t) => pattern.test(t)).length;

  it('a mention in a channel is answered once, in the thread started on it; @agent routes; the thread is its own conversation', async () => {
    const top = fake.channelMessage({ user: USER, channel: SLACK_CHANNEL, text: 'ping channel' });
    await fake.until(() => texts(SLACK_CHANNEL, top).some((t) => /coder done: ping channel/.test(t)), 'the reply in the thread');
    fake.channelMessage({ user: USER, channel: SLACK_CHANNEL, text: '@reviewer look at this', threadTs: top });
    await fake.until(() => texts(SLACK_CHANNEL, top).some((t) => /reviewer says: look at this/.test(t)), 'the reviewer in the thread');
    // Nothing of this went to the channel's top level, and the mention's two events made one message.
    expect(
      fake
        .botMessages(SLACK_CHANNEL)
        .filter((m) => /ping channel|look at this/.test(m.text))
        .every((m) => m.thread_ts === top),
    ).toBe(true);
    expect(texts(SLACK_CHANNEL, top).filter((t) => /coder done: ping channel/.test(t))).toHaveLength(1);
    const rows = await outbox('slack');
    const thread = rows.find((r) => r.text.includes('ping channel'))!;
    const dm = rows.find((r) => r.text.includes('hello there'))!;
    expect(thread.recipient['threadId']).toBe(`${SLACK_CHANNEL}:${top}`);
    expect(thread.conversationId).not.toBe(dm.conversationId);
  });

  it('formatting arrives as mrkdwn, and the message worked on gets :eyes: then :white_check_mark:', async () => {
    const ts = fake.dm({ user: USER, text: 'slack format' });
    // The run holds (the mock's gate) until the status reaction is there, then replies.
    await fake.until(() => fake.reactions.some((r) => r.ts === ts && r.name === 'eyes' && r.method === 'reactions.add'), 'the :eyes: status');
    openGate(d, 'slack-format');
    await fake.until(() => texts(DM).find((t) => t.startsWith('*Done*')), 'the formatted reply');
    expect(texts(DM).find((t) => t.startsWith('*Done*'))).toMatch(/^\*Done\* with `a&lt;b` &amp; <https:\/\/example\.com\/\?a=1&amp;b=2\|docs>/);
    await fake.until(() => fake.reactionsOn(DM, ts).includes('white_check_mark'), 'the done reaction');
    expect(fake.reactions.some((r) => r.ts === ts && r.name === 'eyes' && r.method === 'reactions.add')).toBe(true);
    expect(fake.reactionsOn(DM, ts)).toEqual(['white_check_mark']);
    // A reply faster than the first status leaves no :eyes: behind either.
    const quick = fake.dm({ user: USER, text: 'quick one' });
    await waitFor(async () => (await outbox('slack')).find((r) => r.text.includes('coder done: quick one'))?.status === 'delivered', 30_000, 'the quick reply acked');
    expect(count(DM, /coder done: quick one/)).toBe(1);
    expect(fake.reactionsOn(DM, quick)).not.toContain('eyes');
  });

  it('a file above max_file_bytes is not downloaded; the agent is told', async () => {
    fake.dm({ user: USER, text: 'big file', files: [{ name: 'big.bin', bytes: Buffer.alloc(4096, 1) }] });
    await fake.until(() => texts(DM).find((t) => /coder done: big file/.test(t)), 'the reply');
    const row = (await outbox('slack')).find((r) => /big file/.test(r.text))!;
    expect(row.text).toMatch(/big\.bin/);
    expect(storedFile('slack', 'big.bin')).toBeUndefined();
  });
});

describe('whatsapp, in-process', () => {
  it('in a group, a mention of the bot by its LID is answered in the group', async () => {
    const server = wa.fake;
    const group = '120363000000000009@g.us';
    const lid = BOT_LID.replace(':7', '');
    await server.send(wa.user(1), { extendedTextMessage: { text: `@${lid.split('@')[0]} in the group`, contextInfo: { mentionedJid: [lid] } } }, group);
    await server.until(() => server.textsTo(group).some((t) => /coder done: in the group/.test(t)), 'the group answer');
  });
});

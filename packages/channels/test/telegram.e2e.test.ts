import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '@tinyagi/test-kit/fake-telegram';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

/** What an agent writes (Markdown), and what the Telegram user must read. */
const FORMATTED = '**Done**: renamed snake_case to my_var in `src/a_b.py` (2 * 3 = 6) 👨‍👩‍👧‍👦 — see [the docs](https://example.com/x_y?a=1&b=2)\n```py\nprint(a_b < 2)\n```';
const FORMATTED_SEEN = 'Done: renamed snake_case to my_var in src/a_b.py (2 * 3 = 6) 👨‍👩‍👧‍👦 — see the docs\nprint(a_b < 2)';
const LONG_REPLY = Array.from({ length: 95 }, (_, i) => `Paragraph ${i}: ${'lorem ipsum dolor sit amet '.repeat(3).trim()}.`).join('\n\n');

let fake: FakeTelegram;
let d: TestDaemon;
const USER = 4242;

beforeAll(async () => {
  fake = new FakeTelegram();
  await fake.start();
  d = await createChannelDaemon({
    coder: (home) => ({
      session_mode: 'per-thread',
      mock: {
        reply: 'coder done: {{message}}',
        rules: [
          { match: 'write a long answer', reply: LONG_REPLY },
          { match: 'format check', reply: FORMATTED },
          { match: 'take your time', latency_ms: 60_000, reply: 'finally done' },
          { match: 'send the report', reply: `Here it is. [send_file: ${join(home, 'files', 'report.txt')}]` },
        ],
      },
    }),
    // p1 and p2 hand work back and forth until the ping-pong guard holds it for the person.
    agents: {
      p1: { provider: 'mock', mock: { reply: 'Over to you. [@p2: your turn]' } },
      p2: { provider: 'mock', mock: { reply: 'Back at you. [@p1: yours]' } },
    },
    channels: { enabled: ['telegram'], telegram: { bot_token: fake.token, api_root: fake.url } },
    extra: { teams: { pp: { agents: ['p1', 'p2'], leader_agent: 'p1', limits: { ping_pong_max: 2 } } } },
  });
  await d.start();
  await fake.until(() => fake.calls.includes('getUpdates'), 'the channel to start polling', 60_000);
}, 120_000);

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

const readHeld = (): Array<{ senderId: string }> => {
  try {
    return JSON.parse(readFileSync(join(d.home, 'channels', 'telegram', 'held.json'), 'utf8')) as Array<{ senderId: string }>;
  } catch {
    return [];
  }
};
const replyTo = (chatId: number, pattern: RegExp) => () => fake.messagesTo(chatId).find((m) => pattern.test(m.text ?? ''));

describe('telegram channel, end to end', () => {
  it('runs as a supervised channel with the command menu set', async () => {
    const status = await waitFor(async () => (await d.api.listChannels()).find((c) => c.name === 'telegram' && c.state === 'running'), 20_000, 'telegram to be running');
    expect(status.pid).toBeGreaterThan(0);
    expect((fake.commands as Array<{ command: string }>).map((c) => c.command)).toEqual(['agent', 'team', 'status', 'stop', 'reset', 'answer', 'deny']);
  });

  it('the channel process holds a token scoped to its channel, never the API token', async () => {
    const status = (await d.api.listChannels()).find((c) => c.name === 'telegram')!;
    const environ = readFileSync(`/proc/${status.pid}/environ`, 'utf8').split('\0');
    const token = environ.find((e) => e.startsWith('TINYAGI_API_TOKEN='))?.slice('TINYAGI_API_TOKEN='.length) ?? '';
    expect(token.startsWith('channel.telegram.')).toBe(true);
    expect(environ.join('\n')).not.toContain(d.token());
  });

  it('a new sender gets a pairing code; after approval it is told and its held message is answered', async () => {
    fake.userMessage({ chatId: USER, text: 'hello there', firstName: 'Ada' });
    const codeMessage = await fake.until(replyTo(USER, /pairing code is [A-Z2-9]{8}/), 'the pairing code');
    expect(fake.messagesTo(USER).some((m) => /coder done/.test(m.text ?? ''))).toBe(false);
    const code = /pairing code is ([A-Z2-9]{8})/.exec(codeMessage.text!)![1]!;
    expect(codeMessage.text).toContain(`tinyagi pairing approve ${code}`);
    await d.api.approvePairing({ body: { code } });
    await fake.until(replyTo(USER, /You are approved/), 'the approval notice');
    await fake.until(replyTo(USER, /coder done: hello there/), 'the held message to be answered');
  });

  it("the agent's Markdown arrives as written: code, paths, snake_case, asterisks, links and emoji, with Telegram's entities", async () => {
    fake.userMessage({ chatId: USER, text: 'format check' });
    const reply = await fake.until(replyTo(USER, /renamed snake/), 'the formatted reply');
    expect(reply.text).toBe(`${FORMATTED_SEEN}\n\n— @coder`);
    const entities = (reply.entities ?? []).map((e) => `${e.type}:${reply.text!.slice(e.offset, e.offset + e.length)}`);
    expect(entities).toEqual(['bold:Done', 'code:src/a_b.py', 'text_link:the docs', 'pre:print(a_b < 2)']);
  });

  it('a photo or a voice note sent without a caption is a message: it is answered', async () => {
    fake.userMessage({ chatId: USER, photo: Buffer.from('jpeg bytes') });
    await fake.until(replyTo(USER, /^coder done: \(sent without a caption: \S+_photo_\d+\.jpg\)/), 'the reply to the photo');
    fake.userMessage({ chatId: USER, voice: Buffer.from('ogg bytes') });
    await fake.until(replyTo(USER, /^coder done: \(sent without a caption: \S+_voice_\d+\.ogg\)/), 'the reply to the voice note');
  });

  it('a message the daemon refuses gets a reply saying why', async () => {
    fake.userMessage({ chatId: USER, text: '@nobody are you there?' });
    await fake.until(replyTo(USER, /^Your message could not be handed to the agents: No agent or team named "@nobody"/), 'the refusal');
  });

  it("a held photo without a caption is delivered after approval, and never stops the sender's later held messages", async () => {
    const NEWCOMER = 6060;
    fake.userMessage({ chatId: NEWCOMER, photo: Buffer.from('held photo') });
    const codeMessage = await fake.until(replyTo(NEWCOMER, /pairing code is [A-Z2-9]{8}/), 'the pairing code');
    fake.userMessage({ chatId: NEWCOMER, text: 'and a held text' });
    await fake.until(() => readHeld().filter((m) => m.senderId === String(NEWCOMER)).length === 2 || undefined, 'both messages to be held');
    await d.api.approvePairing({ body: { code: /pairing code is ([A-Z2-9]{8})/.exec(codeMessage.text!)![1]! } });
    await fake.until(replyTo(NEWCOMER, /^coder done: \(sent without a caption: \S+_photo_\d+\.jpg\)/), 'the held photo to be answered');
    await fake.until(replyTo(NEWCOMER, /^coder done: and a held text/), 'the later held message to be answered');
  });

  it('in a group, an unknown sender gets the pairing code privately; the group only hears that approval is needed', async () => {
    const GROUP = -100555;
    const STRANGER = 7070;
    fake.userMessage({ chatId: GROUP, fromId: STRANGER, firstName: 'Eve', chatType: 'supergroup', text: '@tiny_test_bot let me in' });
    await fake.until(replyTo(STRANGER, /pairing code is [A-Z2-9]{8}/), 'the private pairing code');
    const inGroup = await fake.until(replyTo(GROUP, /approved senders only/), 'the group notice');
    expect(inGroup.text).toBe('Eve: this bot answers approved senders only. I sent you a pairing code privately.');
    expect(fake.messagesTo(GROUP).some((m) => /pairing code is|tinyagi pairing approve/.test(m.text ?? ''))).toBe(false);
  });

  it('a private message gets its reply; a redelivered update is enqueued once', async () => {
    const id = fake.userMessage({ chatId: USER, text: 'what is up' });
    await fake.until(replyTo(USER, /coder done: what is up/), 'the reply');
    fake.redeliver(id);
    // A later message is handled after the redelivery (grammY handles updates in order).
    fake.userMessage({ chatId: USER, text: 'after the redelivery' });
    await fake.until(replyTo(USER, /coder done: after the redelivery/), 'the later reply');
    expect(fake.messagesTo(USER).filter((m) => /coder done: what is up/.test(m.text ?? ''))).toHaveLength(1);
    const rows = await d.api.listOutbox({ query: { channel: 'telegram', limit: 500 } });
    expect(rows.filter((r) => r.text.includes('coder done: what is up'))).toHaveLength(1);
  });

  it('a reply longer than 4,096 characters arrives as several messages, each within the limit, nothing lost', async () => {
    const before = fake.messagesTo(USER).length;
    fake.userMessage({ chatId: USER, text: 'please write a long answer' });
    await fake.until(replyTo(USER, /Paragraph 94:/), 'the last chunk');
    const chunks = fake
      .messagesTo(USER)
      .slice(before)
      .filter((m) => /Paragraph|@coder/.test(m.text ?? ''));
    const row = (await d.api.listOutbox({ query: { channel: 'telegram', limit: 500 } })).find((r) => r.text.includes('Paragraph 94:'))!;
    expect(row.text.length).toBeGreaterThan(9000);
    expect(chunks).toHaveLength(3);
    for (const chunk of chunks) expect(chunk.text!.length).toBeLessThanOrEqual(4096);
    // Cut on paragraph breaks: joined back, the chunks are the reply.
    expect(chunks.map((c) => c.text).join('\n\n')).toBe(row.text);
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

  it('an inbound document is stored under files/ and given to the agent; an outbound file is sent as a document', async () => {
    fake.userMessage({ chatId: USER, text: 'see attached', document: { name: '../../evil name.txt', bytes: Buffer.from('attached content') } });
    await fake.until(replyTo(USER, /coder done: see attached/), 'the reply to the document');
    const stored = readdirSync(join(d.home, 'files')).find((f) => f.endsWith('evil_name.txt'));
    expect(stored).toBeDefined();
    expect(readFileSync(join(d.home, 'files', stored!), 'utf8')).toBe('attached content');

    mkdirSync(join(d.home, 'files'), { recursive: true });
    writeFileSync(join(d.home, 'files', 'report.txt'), 'the report');
    fake.userMessage({ chatId: USER, text: 'send the report please' });
    const doc = await fake.until(() => fake.sent.find((s) => s.method === 'sendDocument' && s.chatId === USER), 'the document');
    expect(doc.file?.name).toBe('report.txt');
    expect(doc.file?.bytes.toString()).toBe('the report');
  });

  it('a 429 is retried after retry_after, and the reply is delivered once', async () => {
    fake.failNext({ method: 'sendMessage', match: /coder done: retry me/, errorCode: 429, description: 'Too Many Requests: retry after 1', retryAfter: 1 });
    fake.userMessage({ chatId: USER, text: 'retry me' });
    const delivered = await fake.until(replyTo(USER, /coder done: retry me/), 'the retried reply');
    const refused = fake.sent.find((s) => s.method === 'sendMessage:failed' && /retry me/.test(s.text ?? ''));
    expect(refused).toBeDefined();
    expect(delivered.at - refused!.at).toBeGreaterThanOrEqual(1000);
    expect(fake.messagesTo(USER).filter((m) => /coder done: retry me/.test(m.text ?? ''))).toHaveLength(1);
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

  it('an approval given while the channel was stopped is caught up when it starts again', async () => {
    const LATE = 9090;
    fake.userMessage({ chatId: LATE, text: 'while you were out' });
    const codeMessage = await fake.until(replyTo(LATE, /pairing code is [A-Z2-9]{8}/), 'the pairing code');
    const code = /pairing code is ([A-Z2-9]{8})/.exec(codeMessage.text!)![1]!;
    await d.api.channelAction({ params: { name: 'telegram', action: 'stop' } });
    await waitFor(async () => (await d.api.listChannels()).find((c) => c.name === 'telegram' && !c.running && c.pid === null), 20_000, 'telegram to stop');
    await d.api.approvePairing({ body: { code } });
    await d.api.channelAction({ params: { name: 'telegram', action: 'start' } });
    await fake.until(replyTo(LATE, /You are approved/), 'the approval notice after the restart');
    await fake.until(replyTo(LATE, /coder done: while you were out/), 'the held message to be answered');
  });

  it("/stop cancels the chat's running conversation and says so; its reply never comes", async () => {
    fake.userMessage({ chatId: USER, text: 'take your time' });
    const rows = async () => d.api.listOutbox({ query: { channel: 'telegram', limit: 500 } });
    // The run is under way once the daemon accepted the message and typing started for it.
    const typingBefore = fake.sent.filter((s) => s.method === 'sendChatAction').length;
    await fake.until(() => fake.sent.filter((s) => s.method === 'sendChatAction').length > typingBefore, 'typing for the slow message');
    fake.userMessage({ chatId: USER, text: '/status' });
    await fake.until(replyTo(USER, /^Active conversation with @coder: .*Send \/stop to cancel it\.$/), 'the status of the running conversation');
    fake.userMessage({ chatId: USER, text: '/stop' });
    await fake.until(replyTo(USER, /^Stopped\.$/), 'the stop notice');
    const conversations = await d.api.listConversations({ query: { limit: 20 } });
    const slow = conversations.find((c) => c.title.includes('take your time'));
    expect(slow?.status).toBe('cancelled');
    expect((await rows()).some((r) => r.text.includes('finally done'))).toBe(false);
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
    await fake.until(replyTo(USER, /^Fresh start: your default target is cleared, 1 agent session of this chat forgotten\./), 'the reset notice');
    const resets = () => fake.messagesTo(USER).filter((m) => /^Fresh start/.test(m.text ?? '')).length;
    fake.userMessage({ chatId: USER, text: `/reset@${fake.bot.username}` });
    await fake.until(() => resets() === 2, 'the second reset notice');
    expect(fake.messagesTo(USER).at(-1)?.text).toMatch(/^Fresh start: no default target was set, 0 agent sessions of this chat forgotten\./);
  });

  it('typing is shown while the agent works', () => {
    expect(fake.sent.some((s) => s.method === 'sendChatAction' && s.chatId === USER && s.action === 'typing')).toBe(true);
  });

  it('the channel keeps its state private (0700 directory, 0600 files)', () => {
    const dir = join(d.home, 'channels', 'telegram');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'sent.log')).mode & 0o777).toBe(0o600);
  });
});

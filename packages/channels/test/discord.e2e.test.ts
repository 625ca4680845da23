import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDiscord, dmChannelOf, GUILD_CHANNEL, OTHER_CHANNEL, THREAD } from '@tinyagi/test-kit/fake-discord';
import type { TestDaemon } from '@tinyagi/test-kit';
import { createChannelDaemon } from './daemon.ts';

const LONG_REPLY = Array.from({ length: 50 }, (_, i) => `Line ${i}: ${'the quick brown fox jumps over the lazy dog '.repeat(2).trim()}`).join('\n');
const USER = '700000000000000042';
const DM = dmChannelOf(USER);

let fake: FakeDiscord;
let d: TestDaemon;

beforeAll(async () => {
  fake = new FakeDiscord();
  await fake.start();
  d = await createChannelDaemon({
    coder: (home) => ({
      mock: {
        reply: 'coder done: {{message}}',
        rules: [
          { match: 'long one', reply: LONG_REPLY },
          { match: 'send the report', reply: `Here. [send_file: ${join(home, 'files', 'report.txt')}]` },
        ],
      },
    }),
    channels: { enabled: ['discord'], discord: { bot_token: fake.token, rest_api: `${fake.url}/api`, allowed_channels: [GUILD_CHANNEL] } },
  });
  await d.start();
  await fake.until(() => fake.connected, 'the bot to identify on the gateway', 60_000);
}, 120_000);

afterAll(async () => {
  await d?.cleanup();
  await fake?.close();
});

const replyIn = (channelId: string, pattern: RegExp) => () => fake.sentTo(channelId).find((m) => pattern.test(m.content ?? ''));

describe('discord channel, end to end', () => {
  it('identifies with the message-content intent', () => {
    const intents = Number(fake.identified[0]!['intents']);
    expect(intents & (1 << 15)).toBe(1 << 15);
    expect(fake.identified[0]!['token']).toBe(fake.token);
  });

  it('a DM from a new sender is paired, then the held message is answered in the DM', async () => {
    fake.dm({ userId: USER, content: 'hello discord' });
    const codeMessage = await fake.until(replyIn(DM, /pairing code is [A-Z2-9]{8}/), 'the pairing code');
    const code = /pairing code is ([A-Z2-9]{8})/.exec(codeMessage.content!)![1]!;
    await d.api.approvePairing({ body: { code } });
    await fake.until(replyIn(DM, /coder done: hello discord/), 'the held message to be answered');
  });

  it('in a guild, only messages that mention the bot in an allowed channel are answered', async () => {
    fake.guildMessage({ userId: USER, channelId: GUILD_CHANNEL, content: 'no mention here' });
    fake.guildMessage({ userId: USER, channelId: OTHER_CHANNEL, content: 'mentioned elsewhere', mention: true });
    fake.guildMessage({ userId: USER, channelId: GUILD_CHANNEL, content: 'ping guild', mention: true });
    await fake.until(replyIn(GUILD_CHANNEL, /coder done: ping guild/), 'the guild reply');
    // The DM and the guild are separate sessions; the other two never reached the agent.
    const rows = await d.api.listOutbox({ query: { channel: 'discord', limit: 500 } });
    expect(rows.some((r) => /no mention here|mentioned elsewhere/.test(r.text))).toBe(false);
    expect(fake.sentTo(OTHER_CHANNEL)).toEqual([]);
  });

  it('a thread is its own session and gets its reply in the thread', async () => {
    fake.guildMessage({ userId: USER, channelId: THREAD, content: 'in the thread', mention: true });
    await fake.until(replyIn(THREAD, /coder done: in the thread/), 'the thread reply');
    const rows = await d.api.listOutbox({ query: { channel: 'discord', limit: 500 } });
    const thread = rows.find((r) => r.text.includes('in the thread'))!;
    const guild = rows.find((r) => r.text.includes('ping guild'))!;
    expect(thread.conversationId).not.toBe(guild.conversationId);
    expect(thread.recipient['threadId']).toBe(`ch:${THREAD}`);
  });

  it('a reply over 2,000 characters arrives in chunks within the limit, each with its own nonce', async () => {
    const before = fake.sentTo(DM).length;
    fake.dm({ userId: USER, content: 'a long one please' });
    await fake.until(replyIn(DM, /Line 49:/), 'the last chunk');
    await fake.until(
      () =>
        fake
          .sentTo(DM)
          .slice(before)
          .some((m) => /— @coder$/.test(m.content ?? '')),
      'the signature chunk',
    );
    const chunks = fake.sentTo(DM).slice(before);
    expect(chunks.length).toBe(3);
    for (const c of chunks) expect(c.content!.length).toBeLessThanOrEqual(2000);
    expect(new Set(chunks.map((c) => c.nonce)).size).toBe(3);
    const row = (await d.api.listOutbox({ query: { channel: 'discord', limit: 500 } })).find((r) => r.text.includes('Line 49:'))!;
    expect(chunks.map((c) => c.content).join('\n')).toBe(row.text);
  });

  it('an attachment comes in to files/ and a [send_file] goes out as an attachment; typing is shown', async () => {
    fake.dm({ userId: USER, content: 'see file', attachment: { name: 'notes.txt', bytes: Buffer.from('discord notes') } });
    await fake.until(replyIn(DM, /coder done: see file/), 'the reply');
    const stored = readdirSync(join(d.home, 'files')).find((f) => f.endsWith('notes.txt'))!;
    expect(readFileSync(join(d.home, 'files', stored), 'utf8')).toBe('discord notes');

    mkdirSync(join(d.home, 'files'), { recursive: true });
    writeFileSync(join(d.home, 'files', 'report.txt'), 'discord report');
    fake.dm({ userId: USER, content: 'send the report' });
    const withFile = await fake.until(() => fake.sentTo(DM).find((m) => m.files.length > 0), 'the attachment');
    expect(withFile.files[0]).toMatchObject({ name: 'report.txt' });
    expect(withFile.files[0]!.bytes.toString()).toBe('discord report');
    expect(fake.typing).toContain(DM);
  });
});

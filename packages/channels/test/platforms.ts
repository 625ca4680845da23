/**
 * The four chat platforms as the in-process host tests (host-*.test.ts) drive them, one driver
 * each around its fake (test-kit's fake-telegram, fake-discord, fake-slack; the WhatsApp server
 * and Baileys' own socket code in fakes/): the channel's settings block pointing at the fake, what
 * a user does (a private message, a mention in a group, a file), and what the user sees of the bot.
 * What only one platform has stays with that platform's own tests.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';
import type { TestDaemon } from '@tinyagi/test-kit';
import { FakeDiscord, dmChannelOf, GUILD_CHANNEL } from '@tinyagi/test-kit/fake-discord';
import { FakeSlack, SLACK_CHANNEL, slackDmOf } from '@tinyagi/test-kit/fake-slack';
import { FakeTelegram } from '@tinyagi/test-kit/fake-telegram';
import { startChannel, type InProcessChannel } from './daemon.ts';
import { FakeWhatsAppServer } from './fakes/wa-server.ts';

export type PlatformName = 'telegram' | 'discord' | 'slack' | 'whatsapp';

export interface SentFile {
  name: string;
  bytes: Buffer;
}

export interface ChatPlatform<Fake = unknown> {
  readonly name: PlatformName;
  readonly fake: Fake;
  /** The platform's longest message (what the adapter cuts replies to). */
  readonly maxMessageLength: number;
  start(): Promise<void>;
  close(): Promise<void>;
  /** Starts the channel in-process against `d` (`block`: more settings of the channel). */
  startChannel(d: TestDaemon, block?: Record<string, unknown>): Promise<InProcessChannel>;
  /** The `n`-th user's id as the channel reports its sender (ids differ per test file through `base`). */
  user(n: number): string;
  /** A private message from `user` to the bot, with a file if given. */
  dm(user: string, text: string, file?: SentFile): Promise<void>;
  /** A message in the group chat mentioning the bot. */
  mention(user: string, text: string): Promise<void>;
  /** The bot's texts in `user`'s private chat, and in the group chat (every thread). */
  texts(user: string): string[];
  groupTexts(): string[];
  /** The files the bot sent to `user`'s private chat (as the user downloads them). */
  files(user: string): Promise<SentFile[]>;
  until<T>(probe: () => T | undefined | false, what: string, timeoutMs?: number): Promise<T>;
}

const SOCKET_MODULE = join(dirname(fileURLToPath(import.meta.url)), 'fakes', 'wa-socket.ts');

export function telegram(base = 4000): ChatPlatform<FakeTelegram> {
  const fake = new FakeTelegram();
  const group = -100_000 - base;
  return {
    name: 'telegram',
    fake,
    maxMessageLength: 4096,
    start: async () => void (await fake.start()),
    close: () => fake.close(),
    async startChannel(d, block = {}) {
      const channel = await startChannel(d, 'telegram', { bot_token: fake.token, api_root: fake.url, ...block });
      await fake.until(() => fake.calls.includes('getUpdates'), 'the channel to poll');
      return channel;
    },
    user: (n) => String(base + n),
    dm: async (user, text, file) => void fake.userMessage({ chatId: Number(user), text, ...(file ? { document: file } : {}) }),
    mention: async (user, text) => void fake.userMessage({ chatId: group, fromId: Number(user), firstName: `User ${user}`, chatType: 'supergroup', text: `@${fake.bot.username} ${text}` }),
    texts: (user) => fake.messagesTo(Number(user)).map((m) => m.text ?? ''),
    groupTexts: () => fake.messagesTo(group).map((m) => m.text ?? ''),
    files: async (user) => fake.sent.filter((s) => s.method === 'sendDocument' && String(s.chatId) === user && s.file !== undefined).map((s) => s.file!),
    until: (probe, what, timeoutMs) => fake.until(probe, what, timeoutMs),
  };
}

export function discord(base = 4000): ChatPlatform<FakeDiscord> {
  const fake = new FakeDiscord();
  return {
    name: 'discord',
    fake,
    maxMessageLength: 2000,
    start: async () => void (await fake.start()),
    close: () => fake.close(),
    async startChannel(d, block = {}) {
      const channel = await startChannel(d, 'discord', { bot_token: fake.token, rest_api: `${fake.url}/api`, ...block });
      await fake.until(() => fake.connected, 'the bot on the gateway');
      return channel;
    },
    // Snowflakes: 18 digits, the base and the number in the last ones.
    user: (n) => `7000000000000${String(base + n).padStart(5, '0')}`,
    dm: async (user, text, file) => void fake.dm({ userId: user, content: text, ...(file ? { attachment: file } : {}) }),
    mention: async (user, text) => void fake.guildMessage({ userId: user, channelId: GUILD_CHANNEL, content: text, mention: true }),
    texts: (user) => fake.sentTo(dmChannelOf(user)).map((m) => m.content ?? ''),
    groupTexts: () => fake.sentTo(GUILD_CHANNEL).map((m) => m.content ?? ''),
    files: async (user) => fake.sentTo(dmChannelOf(user)).flatMap((m) => m.files),
    until: (probe, what, timeoutMs) => fake.until(probe, what, timeoutMs),
  };
}

export function slack(base = 4000): ChatPlatform<FakeSlack> {
  const fake = new FakeSlack();
  return {
    name: 'slack',
    fake,
    maxMessageLength: 4000,
    start: async () => void (await fake.start()),
    close: () => fake.close(),
    async startChannel(d, block = {}) {
      const channel = await startChannel(d, 'slack', { bot_token: fake.botToken, app_token: fake.appToken, api_url: fake.apiUrl, ...block });
      await fake.until(() => fake.connected, 'the Socket Mode connection');
      return channel;
    },
    user: (n) => `U0${String(base + n).padStart(8, '0')}`,
    dm: async (user, text, file) => void fake.dm({ user, text, ...(file ? { files: [file] } : {}) }),
    mention: async (user, text) => void fake.channelMessage({ user, channel: SLACK_CHANNEL, text }),
    texts: (user) => fake.botMessages(slackDmOf(user)).map((m) => m.text),
    groupTexts: () => fake.botMessages(SLACK_CHANNEL).map((m) => m.text),
    files: async (user) => fake.botMessages(slackDmOf(user)).flatMap((m) => m.files.map((f) => ({ name: f.name, bytes: f.bytes }))),
    until: (probe, what, timeoutMs) => fake.until(probe, what, timeoutMs),
  };
}

export function whatsapp(base = 4000): ChatPlatform<FakeWhatsAppServer> {
  const server = new FakeWhatsAppServer();
  const group = `1203630000${String(base).padStart(8, '0')}@g.us`;
  // Each phone's messages are encrypted in turn on its Signal session, as a phone sends them.
  let sending: Promise<unknown> = Promise.resolve();
  const send = (work: () => Promise<unknown>): Promise<void> => {
    const next = sending.then(work);
    sending = next.catch(() => {});
    return next.then(() => {});
  };
  return {
    name: 'whatsapp',
    fake: server,
    maxMessageLength: 65_000,
    start: async () => void (await server.start()),
    close: () => server.close(),
    startChannel: (d, block = {}) =>
      // The first start shows a QR code (channels/whatsapp/qr.txt) and waits until it is scanned; later ones log in with the saved session.
      startChannel(d, 'whatsapp', { socket_module: SOCKET_MODULE, fake_url: server.url, ...block }, async (stateDir) => {
        if (server.linked) return;
        await server.until(() => existsSync(join(stateDir, 'qr.txt')), 'the QR code');
        server.scan();
      }),
    user: (n) => `1555${String(base + n).padStart(7, '0')}@s.whatsapp.net`,
    dm: (user, text, file) => send(() => (file ? server.media(user, { type: 'document', bytes: file.bytes, fileName: file.name, caption: text, mimetype: 'text/plain' }) : server.text(user, text))),
    mention: (user, text) => send(() => server.text(user, text, { group, mention: true })),
    texts: (user) => server.textsTo(user),
    groupTexts: () => server.textsTo(group),
    files: async (user) => {
      const sent = server.received.filter((r) => r.to === user && r.message.documentMessage);
      return Promise.all(sent.map(async (r) => ({ name: r.message.documentMessage!.fileName ?? '', bytes: (await server.downloadSent(r)).bytes })));
    },
    until: (probe, what, timeoutMs) => server.until(probe, what, timeoutMs),
  };
}

/** Pairs `user` the way a new sender is paired (a private 'hi', its code approved) and waits for the reply to 'hi'. */
export async function pair(d: TestDaemon, platform: ChatPlatform, user: string): Promise<void> {
  await platform.dm(user, 'hi');
  const code = await platform.until(() => /pairing code is ([A-Z2-9]{8})/.exec(platform.texts(user).join('\n'))?.[1], `the pairing code of ${user}`);
  await d.api.approvePairing({ body: { code } });
  await platform.until(() => platform.texts(user).some((t) => /coder done: hi\b/.test(t)), `the reply to ${user}'s first message`);
}

/**
 * A suite of cases that run one after another (they restart a channel or cut its connection)
 * beside the file's other concurrent suites: vitest runs sibling suites marked concurrent
 * together, and a suite's cases inherit the mark unless an inner suite says otherwise.
 */
export function describeInOrder(name: string, cases: () => void): void {
  describe(name, { concurrent: true }, () => {
    describe('in order', { concurrent: false }, cases);
  });
}

/** One host test file's four fake platforms (ports from `base`) and the in-process channels it starts on them. */
export interface HostPlatforms {
  tg: ChatPlatform<FakeTelegram>;
  dc: ChatPlatform<FakeDiscord>;
  sl: ChatPlatform<FakeSlack>;
  wa: ChatPlatform<FakeWhatsAppServer>;
  platforms: ChatPlatform[];
  channels: Map<PlatformName, InProcessChannel>;
  /** Stops the channels, then the daemon (if started), then the fakes. */
  close(d: TestDaemon | undefined): Promise<void>;
}

export function hostPlatforms(base: number): HostPlatforms {
  const tg = telegram(base);
  const dc = discord(base);
  const sl = slack(base);
  const wa = whatsapp(base);
  const platforms: ChatPlatform[] = [tg, dc, sl, wa];
  const channels = new Map<PlatformName, InProcessChannel>();
  return {
    tg,
    dc,
    sl,
    wa,
    platforms,
    channels,
    async close(d) {
      for (const channel of channels.values()) await channel.stop();
      await d?.cleanup();
      await Promise.all(platforms.map((p) => p.close()));
    },
  };
}

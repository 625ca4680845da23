/**
 * The ChannelAdapter contract, run against every adapter with its platform fake: what the host
 * relies on, whatever the platform.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordAdapter, TelegramAdapter, WhatsAppAdapter, type ChannelAdapter, type InboundMessage } from '../src/index.ts';
import { FakeDiscord, dmChannelOf, GUILD_CHANNEL } from '@tinyagi/test-kit/fake-discord';
import { FakeTelegram } from '@tinyagi/test-kit/fake-telegram';
import { FakeWhatsAppServer } from './fakes/wa-server.ts';
import { createSocketFactory } from './fakes/wa-socket.ts';

interface Driver {
  adapter: ChannelAdapter;
  /** The user's id on the platform (a proactive message's route). */
  userId: string;
  start(): Promise<void>;
  close(): Promise<void>;
  privateMessage(text: string, file?: { name: string; bytes: Buffer }): void;
  groupMessage(text: string, mention: boolean): void;
  /** Texts the bot sent to the user's private chat, and the files. */
  privateTexts(): string[];
  privateFiles(): string[];
  /** The bot's texts the user's private chat shows now (deleted ones gone, edited ones as they read now). */
  privateView(): string[];
  typingSeen(): boolean;
  until<T>(probe: () => T | undefined | false, what: string): Promise<T>;
}

function telegramDriver(): Driver {
  const fake = new FakeTelegram();
  const user = 31337;
  const d: Driver = {
    adapter: undefined as unknown as ChannelAdapter,
    userId: String(user),
    async start() {
      await fake.start();
      d.adapter = new TelegramAdapter({ token: fake.token, apiRoot: fake.url });
    },
    close: () => fake.close(),
    privateMessage: (text, file) => void fake.userMessage({ chatId: user, text, ...(file ? { document: file } : {}) }),
    groupMessage: (text, mention) => void fake.userMessage({ chatId: -1001, fromId: user, chatType: 'supergroup', text: mention ? `@${fake.bot.username} ${text}` : text }),
    privateTexts: () => fake.messagesTo(user).map((m) => m.text ?? ''),
    privateFiles: () => fake.sent.filter((s) => s.file !== undefined && String(s.chatId) === String(user)).map((s) => s.file!.name),
    privateView: () => fake.chatView(user).map((m) => m.text),
    typingSeen: () => fake.sent.some((s) => s.method === 'sendChatAction' && String(s.chatId) === String(user)),
    until: (probe, what) => fake.until(probe, what),
  };
  return d;
}

function discordDriver(): Driver {
  const fake = new FakeDiscord();
  const user = '700000000000000099';
  const d: Driver = {
    adapter: undefined as unknown as ChannelAdapter,
    userId: user,
    async start() {
      await fake.start();
      d.adapter = new DiscordAdapter({ token: fake.token, restApi: `${fake.url}/api` });
    },
    close: () => fake.close(),
    privateMessage: (text, file) => void fake.dm({ userId: user, content: text, ...(file ? { attachment: file } : {}) }),
    groupMessage: (text, mention) => void fake.guildMessage({ userId: user, channelId: GUILD_CHANNEL, content: text, mention }),
    privateTexts: () => fake.sentTo(dmChannelOf(user)).map((m) => m.content ?? ''),
    privateFiles: () => fake.sentTo(dmChannelOf(user)).flatMap((m) => m.files.map((f) => f.name)),
    privateView: () =>
      fake
        .channelView(dmChannelOf(user))
        .filter((m) => m.bot)
        .map((m) => m.content),
    typingSeen: () => fake.typing.includes(dmChannelOf(user)),
    until: (probe, what) => fake.until(probe, what),
  };
  return d;
}

/** Baileys' own code (wa-socket.ts) against the fake WhatsApp; the QR code is scanned when shown. */
function whatsappDriver(): Driver {
  const server = new FakeWhatsAppServer();
  const user = '15557654321@s.whatsapp.net';
  // Each message is encrypted in turn on the phone's Signal session, like a phone sends them.
  let sending: Promise<unknown> = Promise.resolve();
  const send = (work: () => Promise<unknown>): void => {
    sending = sending.then(work);
  };
  const d: Driver = {
    adapter: undefined as unknown as ChannelAdapter,
    userId: user,
    async start() {
      await server.start();
      d.adapter = new WhatsAppAdapter({ stateDir: join(tmp, 'whatsapp'), factory: createSocketFactory({ fake_url: server.url }), minBackoffMs: 20, showQr: () => server.scan() });
    },
    close: () => server.close(),
    privateMessage: (text, file) =>
      send(() => (file ? server.media(user, { type: 'document', bytes: file.bytes, fileName: file.name, caption: text, mimetype: 'text/plain' }) : server.text(user, text))),
    groupMessage: (text, mention) => send(() => server.text(user, text, { group: '120363000000000777@g.us', mention })),
    privateTexts: () => server.textsTo(user),
    privateFiles: () => server.received.filter((r) => r.to === user && r.message.documentMessage).map((r) => r.message.documentMessage!.fileName ?? ''),
    privateView: () => {
      const mine = server.received.filter((r) => r.to === user);
      const revoked = new Set(mine.map((r) => r.message.protocolMessage?.key?.id).filter((id) => typeof id === 'string'));
      return mine.filter((r) => !revoked.has(r.id)).map((r) => r.message.conversation ?? r.message.extendedTextMessage?.text ?? '');
    },
    typingSeen: () => server.presence.some((p) => p.jid === user),
    until: (probe, what) => server.until(probe, what),
  };
  return d;
}

const tmp = mkdtempSync(join(tmpdir(), 'tinyagi-contract-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each([
  ['telegram', telegramDriver],
  ['discord', discordDriver],
  ['whatsapp', whatsappDriver],
] as const)('ChannelAdapter contract: %s', (_name, makeDriver) => {
  const driver = makeDriver();
  const received: InboundMessage[] = [];
  const waiters = new Set<() => void>();
  const until = async <T>(probe: () => T | undefined, what: string): Promise<T> => {
    const found = probe();
    if (found !== undefined) return found;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 30_000);
      const check = (): void => {
        const value = probe();
        if (value === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(value);
      };
      waiters.add(check);
    });
  };

  beforeAll(async () => {
    await driver.start();
    await driver.adapter.start({
      receive: async (message) => {
        received.push(message);
        for (const w of [...waiters]) w();
      },
    });
  }, 60_000);

  afterAll(async () => {
    await driver.adapter.stop();
    await driver.close();
  });

  it('declares its platform limit', () => {
    expect(driver.adapter.maxMessageLength).toBeGreaterThanOrEqual(2000);
  });

  it('delivers a private message with its sender, a route and a platform id', async () => {
    driver.privateMessage('contract hello');
    const message = await until(() => received.find((m) => m.text === 'contract hello'), 'the private message');
    expect(message.senderId).toBe(driver.userId);
    expect(message.route).not.toBe('');
    expect(message.platformMessageId).not.toBe('');
    expect(message.files).toEqual([]);
  });

  it('gives every message its own platform id', async () => {
    driver.privateMessage('first of two');
    driver.privateMessage('second of two');
    const [a, b] = await until(() => {
      const first = received.find((m) => m.text === 'first of two');
      const second = received.find((m) => m.text === 'second of two');
      return first && second ? [first, second] : undefined;
    }, 'both messages');
    expect(a!.platformMessageId).not.toBe(b!.platformMessageId);
  });

  it('in a group, passes on only messages that mention the bot, without the mention', async () => {
    driver.groupMessage('not for the bot', false);
    driver.groupMessage('for the bot', true);
    const message = await until(() => received.find((m) => m.text === 'for the bot'), 'the mentioned message');
    expect(message.senderId).toBe(driver.userId);
    expect(received.some((m) => m.text.includes('not for the bot'))).toBe(false);
  });

  it('hands over an attachment that downloads to its bytes', async () => {
    driver.privateMessage('with a file', { name: 'data.txt', bytes: Buffer.from('file bytes') });
    const message = await until(() => received.find((m) => m.text === 'with a file'), 'the message with a file');
    expect(message.files).toHaveLength(1);
    expect(message.files[0]!.name).toBe('data.txt');
    expect(Buffer.from(await message.files[0]!.download()).toString()).toBe('file bytes');
  });

  it('sends text and files to a route, and shows typing there', async () => {
    const route = received.find((m) => m.text === 'contract hello')!.route;
    const file = join(tmp, `${_name}-out.txt`);
    writeFileSync(file, 'outbound');
    await driver.adapter.send(route, { text: 'contract reply', files: [file], idempotencyKey: `${_name}:1:0` });
    await driver.adapter.sendTyping?.(route);
    // Baileys resolves a send once written to its socket, not on the server's answer: wait for it.
    await driver.until(() => driver.privateTexts().includes('contract reply') && driver.privateFiles().includes(`${_name}-out.txt`) && driver.typingSeen(), 'the reply, its file and typing');
  });

  it('live replies: posts a progress message, edits it in place where it can, removes it (a second time is no error)', async () => {
    const live = driver.adapter.live;
    expect(live).toBeDefined();
    expect(live!.editIntervalMs).toBeGreaterThanOrEqual(0);
    const route = received.find((m) => m.text === 'contract hello')!.route;
    const id = await live!.post(route, '⏳ contract progress', `${_name}:live:1`);
    expect(id).not.toBe('');
    await driver.until(() => driver.privateView().includes('⏳ contract progress'), 'the progress message');
    if (live!.editable !== false) {
      await live!.edit(route, id, '⏳ contract progress, edited');
      // The same text again (Telegram answers "message is not modified") is no error.
      await live!.edit(route, id, '⏳ contract progress, edited');
      await driver.until(() => driver.privateView().includes('⏳ contract progress, edited') && !driver.privateView().includes('⏳ contract progress'), 'the edit in place');
    }
    await live!.remove(route, id);
    await driver.until(() => !driver.privateView().some((t) => t.startsWith('⏳ contract progress')), 'the removal');
    await live!.remove(route, id);
  });

  it("sends a proactive message to the sender's id when there is no route", async () => {
    await driver.adapter.send(driver.userId, { text: 'proactive hello', files: [], idempotencyKey: `${_name}:2:0` });
    await driver.until(() => driver.privateTexts().includes('proactive hello'), 'the proactive message');
  });
});

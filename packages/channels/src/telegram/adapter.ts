/**
 * Telegram through grammY, long polling. `api_root` points it at a self-hosted Bot API server
 * (or a test's fake). Routes are `<chat id>` or `<chat id>:<topic id>` (a forum topic is its own
 * thread and session); a proactive message with no route goes to the sender's private chat
 * (its user id).
 *
 * - Private chats always reach the host; in groups only a message that mentions the bot
 *   (`@botname`, a `/command@botname`, or a reply to the bot) does, without the mention.
 * - Text goes out as HTML we make from the agent's Markdown (format.ts), so it arrives as written
 *   (Telegram's own Markdown modes mangle `snake_case` or refuse plain punctuation); should
 *   Telegram still refuse the entities, the same text is sent again as plain text.
 * - 429 answers become RetryAfterError(retry_after); a chat that is gone or blocked the bot
 *   (403, any 400) becomes PermanentSendError; anything else (5xx, an HTML error page from a
 *   proxy, a reset connection) is left for the host to retry.
 * - Photos, documents, voice, audio and video come in as files; outbound files go out as a
 *   photo, voice note or document by extension.
 */
import { extname } from 'node:path';
import { Bot, GrammyError, InputFile, type Context } from 'grammy';
import { PermanentSendError, RetryAfterError, type ChannelAdapter, type InboundFile, type InboundMessage, type InboundSink, type OutboundMessage } from '../adapter.ts';
import type { ChannelLog } from '../host.ts';
import { markdownToTelegramHtml } from './format.ts';

export const TELEGRAM_MAX_MESSAGE = 4096;

export interface TelegramAdapterOptions {
  token: string;
  /** A Bot API server other than https://api.telegram.org (no trailing slash). */
  apiRoot?: string;
  log?: ChannelLog;
}

const PHOTO = new Set(['.jpg', '.jpeg', '.png', '.webp']);
const VOICE = new Set(['.ogg', '.oga']);

export const TELEGRAM_COMMANDS = [
  { command: 'agent', description: 'Talk to an agent from now on: /agent <id>' },
  { command: 'team', description: 'Talk to a team from now on: /team <id>' },
  { command: 'status', description: 'What the agents are doing for this chat' },
  { command: 'stop', description: 'Stop what the agents are doing for this chat' },
  { command: 'reset', description: 'Start fresh: no default target, new agent sessions' },
];

function parseRoute(route: string): { chatId: number | string; threadId?: number } {
  const [chat, thread] = route.split(':');
  const chatId = /^-?\d+$/.test(chat ?? '') ? Number(chat) : (chat ?? route);
  return thread !== undefined && /^\d+$/.test(thread) ? { chatId, threadId: Number(thread) } : { chatId };
}

function translateError(err: unknown): unknown {
  if (err instanceof GrammyError) {
    if (err.error_code === 429) return new RetryAfterError(err.description, (err.parameters.retry_after ?? 1) * 1000);
    if (err.error_code === 403 || err.error_code === 400) {
      return new PermanentSendError(err.description);
    }
  }
  return err;
}

function isEntityError(err: unknown): boolean {
  return err instanceof GrammyError && err.error_code === 400 && /can't parse entities|can't find end of the entity/i.test(err.description);
}

export class TelegramAdapter implements ChannelAdapter {
  readonly name = 'telegram';
  readonly maxMessageLength = TELEGRAM_MAX_MESSAGE;
  readonly #bot: Bot;
  readonly #options: TelegramAdapterOptions;
  #polling: Promise<void> | undefined;
  #inflight = 0;
  #stopping = false;
  #unconfirmed = false;

  constructor(options: TelegramAdapterOptions) {
    this.#options = options;
    this.#bot = new Bot(options.token, { client: { ...(options.apiRoot ? { apiRoot: options.apiRoot.replace(/\/+$/, '') } : {}) } });
  }

  async start(sink: InboundSink): Promise<void> {
    const bot = this.#bot;
    const log = this.#options.log ?? (() => {});
    bot.on('message', async (ctx) => {
      const inbound = this.#toInbound(ctx);
      if (inbound === undefined) return;
      this.#inflight += 1;
      try {
        await sink.receive(inbound);
      } catch (err) {
        if (this.#stopping) {
          // Left unconfirmed for the next process: grammY would confirm it with its next
          // getUpdates as soon as this handler returns, so it never returns (the process exits).
          this.#unconfirmed = true;
          log('warn', `telegram update ${ctx.update.update_id} not handed over before the stop: left for Telegram to deliver again`);
          await new Promise<never>(() => {});
        }
        throw err;
      } finally {
        this.#inflight -= 1;
      }
    });
    bot.catch((err) => log('error', `telegram update ${err.ctx.update.update_id}: ${err.error instanceof Error ? err.error.message : String(err.error)}`));
    await bot.init();
    await bot.api.setMyCommands(TELEGRAM_COMMANDS).catch((err: unknown) => log('warn', `could not set the command menu: ${String(err)}`));
    await new Promise<void>((resolve, reject) => {
      this.#polling = bot.start({ onStart: () => resolve(), allowed_updates: ['message'] });
      this.#polling.catch((err: unknown) => {
        reject(err instanceof Error ? err : new Error(String(err)));
        // Polling died after it started (token revoked, another instance): the process exits and is restarted with backoff.
        log('error', `telegram polling stopped: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 1;
        process.kill(process.pid, 'SIGTERM');
      });
    });
    log('info', `telegram connected as @${bot.botInfo.username}`);
  }

  /**
   * grammY's stop confirms every update it fetched. While one is still being handed to the
   * daemon (or failed to because we are stopping), it is left unconfirmed instead: Telegram
   * delivers it again to the next process, and the idempotency key keeps that from doubling it.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#inflight > 0 || this.#unconfirmed || !this.#bot.isRunning()) return;
    await this.#bot.stop().catch(() => {});
    await this.#polling?.catch(() => {});
  }

  async send(route: string, message: OutboundMessage): Promise<void> {
    const { chatId, threadId } = parseRoute(route);
    const extra = threadId !== undefined ? { message_thread_id: threadId } : {};
    try {
      if (message.text.trim() !== '') {
        try {
          await this.#bot.api.sendMessage(chatId, markdownToTelegramHtml(message.text), { ...extra, parse_mode: 'HTML' });
        } catch (err) {
          if (!isEntityError(err)) throw err;
          await this.#bot.api.sendMessage(chatId, message.text, extra);
        }
      }
      for (const path of message.files) {
        const ext = extname(path).toLowerCase();
        const file = new InputFile(path);
        if (PHOTO.has(ext)) await this.#bot.api.sendPhoto(chatId, file, extra);
        else if (VOICE.has(ext)) await this.#bot.api.sendVoice(chatId, file, extra);
        else await this.#bot.api.sendDocument(chatId, file, extra);
      }
    } catch (err) {
      throw translateError(err);
    }
  }

  async sendTyping(route: string): Promise<void> {
    const { chatId, threadId } = parseRoute(route);
    await this.#bot.api.sendChatAction(chatId, 'typing', threadId !== undefined ? { message_thread_id: threadId } : {});
  }

  #toInbound(ctx: Context): InboundMessage | undefined {
    const msg = ctx.message;
    if (msg === undefined || msg.from === undefined || msg.from.is_bot) return undefined;
    const username = this.#bot.botInfo.username;
    let text = msg.text ?? msg.caption ?? '';
    if (msg.chat.type !== 'private') {
      const mention = new RegExp(`@${username}\\b`, 'i');
      const repliesToBot = msg.reply_to_message?.from?.id === this.#bot.botInfo.id;
      if (!mention.test(text) && !repliesToBot) return undefined;
      text = text.replace(new RegExp(`(^|\\s)@${username}\\b`, 'gi'), '$1').trim();
    }
    text = text.replace(new RegExp(`^(/\\w+)@${username}\\b`, 'i'), '$1');
    const files = this.#files(msg);
    if (text === '' && files.length === 0) return undefined;
    const topic = msg.is_topic_message === true && msg.message_thread_id !== undefined ? `:${msg.message_thread_id}` : '';
    const name = [msg.from.first_name, msg.from.last_name].filter(Boolean).join(' ') || msg.from.username || String(msg.from.id);
    return {
      platformMessageId: `${msg.chat.id}:${msg.message_id}`,
      senderId: String(msg.from.id),
      sender: name,
      route: `${msg.chat.id}${topic}`,
      text,
      files,
      isPrivate: msg.chat.type === 'private',
    };
  }

  #files(msg: NonNullable<Context['message']>): InboundFile[] {
    const found: Array<{ id: string; name: string; size?: number | undefined }> = [];
    const largest = msg.photo?.at(-1);
    if (largest) found.push({ id: largest.file_id, name: `photo_${msg.message_id}.jpg`, size: largest.file_size });
    if (msg.document) found.push({ id: msg.document.file_id, name: msg.document.file_name ?? `document_${msg.message_id}`, size: msg.document.file_size });
    if (msg.voice) found.push({ id: msg.voice.file_id, name: `voice_${msg.message_id}.ogg`, size: msg.voice.file_size });
    if (msg.audio) found.push({ id: msg.audio.file_id, name: msg.audio.file_name ?? `audio_${msg.message_id}.mp3`, size: msg.audio.file_size });
    if (msg.video) found.push({ id: msg.video.file_id, name: msg.video.file_name ?? `video_${msg.message_id}.mp4`, size: msg.video.file_size });
    return found.map((f) => ({
      name: f.name,
      ...(f.size !== undefined ? { size: f.size } : {}),
      download: () => this.#download(f.id),
    }));
  }

  async #download(fileId: string): Promise<Uint8Array> {
    const file = await this.#bot.api.getFile(fileId);
    if (file.file_path === undefined) throw new Error('Telegram did not give a file path');
    const root = (this.#options.apiRoot ?? 'https://api.telegram.org').replace(/\/+$/, '');
    const res = await fetch(`${root}/file/bot${this.#options.token}/${file.file_path}`);
    if (!res.ok) throw new Error(`file download answered ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
}

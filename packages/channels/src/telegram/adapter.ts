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
 * - A 401 or 404 to getMe or a poll is Telegram refusing the bot token (CredentialsRejectedError):
 *   the channel is `rejected`, with the fix, and is not tried again (docs/channels.md#channel-states).
 * - Photos, documents, voice, audio and video come in as files; outbound files go out as a
 *   photo, voice note or document by extension.
 * - Live replies: the progress message is a plain-text sendMessage (no notification), edited
 *   with editMessageText at most every 1.5 s, 3 s in groups (Telegram allows about one message
 *   a second per chat, 20 a minute in groups) and removed with deleteMessage. "message is not modified" is
 *   not an error; a message that is gone is PermanentSendError. With `drafts` (`live_drafts`),
 *   a private chat gets a draft instead (sendMessageDraft: an ephemeral preview that vanishes
 *   when the bot sends a message or 30 s after its last update; nothing to delete); a Bot API
 *   server without the method falls back to messages for good.
 * - Approval prompts (docs/approvals.md, "In the chat apps"): a message with an inline keyboard,
 *   one button per answer, callback_data `<approval id>:<token>` (within Telegram's 64 bytes). A
 *   press arrives as a callback_query: handed to the host, which answers it once
 *   (answerCallbackQuery: the little note the presser alone sees); a press the host does not
 *   take is answered empty so the button stops spinning. Settling edits the text to the outcome
 *   and drops the keyboard (editMessageText without reply_markup; editMessageReplyMarkup when
 *   the text is unchanged); `update` edits text and keyboard both (a burst's grouped prompt).
 */
import { extname } from 'node:path';
import { CHANNEL_EXIT_REJECTED } from '@tinyagi/client';
import { Bot, GrammyError, InputFile, type Context } from 'grammy';
import {
  CredentialsRejectedError,
  PermanentSendError,
  RetryAfterError,
  type ApprovalPrompt,
  type ApprovalPromptAdapter,
  type ChannelAdapter,
  type InboundFile,
  type InboundMessage,
  type InboundSink,
  type LiveReplyAdapter,
  type OutboundMessage,
} from '../adapter.ts';
import type { ChannelLog } from '../host.ts';
import { errorWithCauses } from '../retry.ts';
import { markdownToTelegramHtml } from './format.ts';

export const TELEGRAM_MAX_MESSAGE = 4096;
/** How long the start waits for getMe's answer. */
export const TELEGRAM_GETME_TIMEOUT_MS = 30_000;

export interface TelegramAdapterOptions {
  token: string;
  /** A Bot API server other than https://api.telegram.org (no trailing slash). */
  apiRoot?: string;
  log?: ChannelLog;
  /** Live replies in private chats as message drafts (sendMessageDraft) instead of an edited message. */
  drafts?: boolean;
}

/** A live-reply id that names a draft, not a message. */
const DRAFT = 'draft:';

const PHOTO = new Set(['.jpg', '.jpeg', '.png', '.webp']);
const VOICE = new Set(['.ogg', '.oga']);

export const TELEGRAM_COMMANDS = [
  { command: 'agent', description: 'Talk to an agent from now on: /agent <id>' },
  { command: 'team', description: 'Talk to a team from now on: /team <id>' },
  { command: 'status', description: 'What the agents are doing for this chat' },
  { command: 'stop', description: 'Stop what the agents are doing for this chat' },
  { command: 'reset', description: 'Start fresh: no default target, new agent sessions' },
  { command: 'answer', description: "Answer an agent's latest question here: /answer <text>" },
  { command: 'deny', description: "Deny an agent's latest request here: /deny <reason>" },
  { command: 'accept', description: "Accept an agent's latest memory proposal here" },
  { command: 'keep', description: 'Accept the latest memory proposal here, keeping the entry it replaces' },
  { command: 'reject', description: "Reject an agent's latest memory proposal here" },
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

/**
 * Telegram's answer to a bot token it does not take: 401 Unauthorized for a wrong or revoked one,
 * 404 Not Found for one not shaped like a token (every method of `/bot<token>/` is then unknown).
 */
const TOKEN_REJECTED = new Set([401, 404]);

function tokenRejected(err: unknown, method: string): CredentialsRejectedError | undefined {
  if (!(err instanceof GrammyError) || !TOKEN_REJECTED.has(err.error_code)) return undefined;
  return new CredentialsRejectedError(
    `Telegram rejected the bot token (${method} answered ${err.error_code}: ${err.description}); set the right one from @BotFather with \`tinyagi channel setup --telegram-token <token>\``,
  );
}

function isEntityError(err: unknown): boolean {
  return err instanceof GrammyError && err.error_code === 400 && /can't parse entities|can't find end of the entity/i.test(err.description);
}

/** Telegram's limit on editing one message, with room (about 1 a second per chat). */
export const TELEGRAM_EDIT_INTERVAL_MS = 1500;
/** In groups (about 20 messages a minute). */
export const TELEGRAM_GROUP_EDIT_INTERVAL_MS = 3000;

export class TelegramAdapter implements ChannelAdapter {
  readonly name = 'telegram';
  readonly maxMessageLength = TELEGRAM_MAX_MESSAGE;
  readonly live: LiveReplyAdapter = {
    editIntervalMs: TELEGRAM_EDIT_INTERVAL_MS,
    // Groups (negative chat ids) take about 20 messages a minute: one edit every 3 s leaves room for the replies.
    editIntervalFor: (route) => (typeof parseRoute(route).chatId === 'number' && (parseRoute(route).chatId as number) < 0 ? TELEGRAM_GROUP_EDIT_INTERVAL_MS : undefined),
    post: async (route, text) => {
      const { chatId, threadId } = parseRoute(route);
      if (this.#draftsIn(chatId)) {
        const draftId = this.#nextDraft++;
        if (await this.#draft(chatId, threadId, draftId, text)) return `${DRAFT}${draftId}`;
      }
      try {
        const sent = await this.#bot.api.sendMessage(chatId, text, { ...(threadId !== undefined ? { message_thread_id: threadId } : {}), disable_notification: true });
        return String(sent.message_id);
      } catch (err) {
        throw translateError(err);
      }
    },
    edit: async (route, messageId, text) => {
      if (messageId.startsWith(DRAFT)) {
        const { chatId, threadId } = parseRoute(route);
        // The method went away (a different Bot API server): the next post is a message.
        if (!(await this.#draft(chatId, threadId, Number(messageId.slice(DRAFT.length)), text))) throw new PermanentSendError('message drafts are not available');
        return;
      }
      try {
        await this.#bot.api.editMessageText(parseRoute(route).chatId, Number(messageId), text);
      } catch (err) {
        if (err instanceof GrammyError && err.error_code === 400 && /message is not modified/i.test(err.description)) return;
        throw translateError(err);
      }
    },
    remove: async (route, messageId) => {
      // A draft vanishes by itself (the answer, or 30 s without an update).
      if (messageId.startsWith(DRAFT)) return;
      try {
        await this.#bot.api.deleteMessage(parseRoute(route).chatId, Number(messageId));
      } catch (err) {
        // Already gone (or too old to delete: 48 h): nothing left to do.
        if (err instanceof GrammyError && err.error_code === 400) return;
        throw translateError(err);
      }
    },
  };
  readonly approvals: ApprovalPromptAdapter = {
    post: async (route, prompt) => {
      const { chatId, threadId } = parseRoute(route);
      const extra = { ...(threadId !== undefined ? { message_thread_id: threadId } : {}), reply_markup: { inline_keyboard: keyboardOf(prompt) } };
      try {
        try {
          return String((await this.#bot.api.sendMessage(chatId, markdownToTelegramHtml(prompt.text), { ...extra, parse_mode: 'HTML' })).message_id);
        } catch (err) {
          if (!isEntityError(err)) throw err;
          return String((await this.#bot.api.sendMessage(chatId, prompt.text, extra)).message_id);
        }
      } catch (err) {
        throw translateError(err);
      }
    },
    update: async (route, messageId, prompt) => {
      const { chatId } = parseRoute(route);
      const id = Number(messageId);
      const extra = { reply_markup: { inline_keyboard: keyboardOf(prompt) } };
      try {
        try {
          await this.#bot.api.editMessageText(chatId, id, markdownToTelegramHtml(prompt.text), { ...extra, parse_mode: 'HTML' });
        } catch (err) {
          if (!isEntityError(err)) throw err;
          await this.#bot.api.editMessageText(chatId, id, prompt.text, extra);
        }
      } catch (err) {
        // The same text and buttons already: nothing to change.
        if (err instanceof GrammyError && err.error_code === 400 && /message is not modified/i.test(err.description)) return;
        throw translateError(err);
      }
    },
    settle: async (route, messageId, text) => {
      const { chatId } = parseRoute(route);
      const id = Number(messageId);
      try {
        try {
          await this.#bot.api.editMessageText(chatId, id, markdownToTelegramHtml(text), { parse_mode: 'HTML' });
        } catch (err) {
          if (!isEntityError(err)) throw err;
          await this.#bot.api.editMessageText(chatId, id, text);
        }
      } catch (err) {
        if (err instanceof GrammyError && err.error_code === 400 && /message is not modified/i.test(err.description)) {
          // The text says the outcome already: the keyboard alone goes.
          try {
            await this.#bot.api.editMessageReplyMarkup(chatId, id, { reply_markup: { inline_keyboard: [] } });
          } catch (inner) {
            if (inner instanceof GrammyError && inner.error_code === 400) return;
            throw translateError(inner);
          }
          return;
        }
        // Gone (deleted, or too old to edit): nothing left to settle.
        if (err instanceof GrammyError && err.error_code === 400 && /not found|can't be edited/i.test(err.description)) return;
        throw translateError(err);
      }
    },
  };
  readonly #bot: Bot;
  readonly #options: TelegramAdapterOptions;
  #polling: Promise<void> | undefined;
  /** Drafts: off for good once the Bot API server said it has no such method. */
  #draftsOn: boolean;
  #nextDraft = (Date.now() % 1_000_000) + 1;
  #inflight = 0;
  #stopping = false;
  #unconfirmed = false;

  constructor(options: TelegramAdapterOptions) {
    this.#options = options;
    this.#draftsOn = options.drafts === true;
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
    bot.on('callback_query:data', async (ctx) => {
      const query = ctx.callbackQuery;
      const match = /^((?:apr|mem)_[\w-]+):(\w{1,8})$/.exec(query.data);
      const message = query.message;
      let answered = false;
      const answer = async (text?: string): Promise<void> => {
        if (answered) return;
        answered = true;
        await ctx.answerCallbackQuery(text === undefined ? undefined : { text: text.length > 200 ? `${text.slice(0, 199)}…` : text }).catch((err: unknown) => {
          log('warn', `telegram answerCallbackQuery: ${err instanceof Error ? err.message : String(err)}`);
        });
      };
      try {
        if (match === null || message === undefined || sink.click === undefined) return;
        const topic = 'is_topic_message' in message && message.is_topic_message === true && message.message_thread_id !== undefined ? `:${message.message_thread_id}` : '';
        const from = query.from;
        await sink.click({
          approvalId: match[1]!,
          token: match[2]!,
          senderId: String(from.id),
          sender: [from.first_name, from.last_name].filter(Boolean).join(' ') || from.username || String(from.id),
          route: `${message.chat.id}${topic}`,
          notify: (text) => answer(text),
        });
      } finally {
        // A press always gets its answer (else the button spins until Telegram gives up).
        await answer();
      }
    });
    bot.catch((err) => log('error', `telegram update ${err.ctx.update.update_id}: ${err.error instanceof Error ? err.error.message : String(err.error)}`));
    this.#watchPolls(sink);
    await this.#init();
    // One short poll (it confirms nothing: no offset), answered at once; the long polls after it are
    // held up to 30 s when nobody writes, and connected would wait for them.
    await bot.api.getUpdates({ limit: 1, timeout: 0 }).catch(() => {});
    await bot.api.setMyCommands(TELEGRAM_COMMANDS).catch((err: unknown) => log('warn', `could not set the command menu: ${String(err)}`));
    await new Promise<void>((resolve, reject) => {
      this.#polling = bot.start({ onStart: () => resolve(), allowed_updates: ['message', 'callback_query'] });
      this.#polling.catch((err: unknown) => {
        reject(err instanceof Error ? err : new Error(String(err)));
        // Polling died after it started (another instance): the process exits and is restarted with
        // backoff; a token revoked meanwhile is `rejected`, and not restarted.
        const rejected = tokenRejected(err, 'getUpdates');
        log('error', `telegram polling stopped: ${err instanceof Error ? err.message : String(err)}`);
        if (rejected !== undefined) sink.connection?.('rejected', rejected.message);
        process.exitCode = rejected !== undefined ? CHANNEL_EXIT_REJECTED : 1;
        process.kill(process.pid, 'SIGTERM');
      });
    });
    log('info', `telegram connected as @${bot.botInfo.username}`);
  }

  /**
   * getMe once, bounded (grammY's own init retries a network error for ever, silently): a Bot API
   * that cannot be reached, or takes the connection and never answers, fails the start with why.
   */
  async #init(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${TELEGRAM_GETME_TIMEOUT_MS / 1000} s`)), TELEGRAM_GETME_TIMEOUT_MS);
    });
    try {
      this.#bot.botInfo = await Promise.race([this.#bot.api.getMe(), timeout]);
    } catch (err) {
      throw tokenRejected(err, 'getMe') ?? new Error(this.#masked(`cannot reach the Bot API at ${this.#root} (getMe): ${errorWithCauses(err)}`));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Connected once a poll (getUpdates) was answered; reconnecting while polls fail (grammY tries
   * again by itself after a network error), with the error.
   */
  #watchPolls(sink: InboundSink): void {
    this.#bot.api.config.use(async (prev, method, payload, signal) => {
      if (method !== 'getUpdates') return prev(method, payload, signal);
      try {
        const answer = await prev(method, payload, signal);
        if (answer.ok) sink.connection?.('connected');
        else if (!this.#stopping && !TOKEN_REJECTED.has(answer.error_code)) sink.connection?.('reconnecting', `getUpdates answered ${answer.error_code}: ${answer.description}`);
        return answer;
      } catch (err) {
        if (!this.#stopping) sink.connection?.('reconnecting', this.#masked(`cannot reach the Bot API at ${this.#root} (getUpdates): ${errorWithCauses(err)}`));
        throw err;
      }
    });
  }

  /** The bot token never appears in a status or a log (a fetch error names the URL, which holds it). */
  #masked(text: string): string {
    return text.split(this.#options.token).join('<bot token>');
  }

  get #root(): string {
    return (this.#options.apiRoot ?? 'https://api.telegram.org').replace(/\/+$/, '');
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

  /** Drafts go to private chats only (a user's chat id is positive; groups are negative). */
  #draftsIn(chatId: number | string): boolean {
    return this.#draftsOn && typeof chatId === 'number' && chatId > 0;
  }

  /** Shows or updates a draft; false when this Bot API server has no drafts (then never tried again). */
  async #draft(chatId: number | string, threadId: number | undefined, draftId: number, text: string): Promise<boolean> {
    try {
      await this.#bot.api.raw.sendMessageDraft({ chat_id: chatId as number, draft_id: draftId, text, ...(threadId !== undefined ? { message_thread_id: threadId } : {}) });
      return true;
    } catch (err) {
      if (err instanceof GrammyError && (err.error_code === 404 || /method not found|not supported|not available/i.test(err.description))) {
        this.#draftsOn = false;
        this.#options.log?.('warn', `telegram: message drafts are not available (${err.description}); live replies use an edited message instead`);
        return false;
      }
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
    const res = await fetch(`${this.#root}/file/bot${this.#options.token}/${file.file_path}`);
    if (!res.ok) throw new Error(`file download answered ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
}

/** A prompt's inline keyboard: callback data `<id>:<token>` (Telegram's 64 bytes at most); permissions two short buttons a row, a question's choices one a row (they may be long). */
function keyboardOf(prompt: ApprovalPrompt): Array<Array<{ text: string; callback_data: string }>> {
  const buttons = prompt.actions.map((a) => {
    const data = `${prompt.id}:${a.token}`;
    if (Buffer.byteLength(data) > 64) throw new PermanentSendError(`callback data ${data} is longer than Telegram's 64 bytes`);
    return { text: a.label, callback_data: data };
  });
  return prompt.kind === 'permission' ? [buttons.slice(0, 2), buttons.slice(2, 4), buttons.slice(4)].filter((r) => r.length > 0) : buttons.map((b) => [b]);
}

/**
 * A local fake of the Telegram Bot API (HTTP, the real wire format): `POST /bot<token>/<method>`
 * with JSON or multipart bodies, answers `{ ok, result }` or `{ ok: false, error_code,
 * description, parameters }`. getUpdates long-polls (held until an update arrives or the
 * timeout ends; `offset` confirms), files download from `/file/bot<token>/<path>`.
 *
 * Like the real server it parses what the bot sends: `parse_mode` Markdown, MarkdownV2 and HTML
 * become the text the user sees plus entities, or the 400 Telegram answers
 * (telegram-entities.ts); an empty text is refused. A second poller gets 409 Conflict (the older
 * getUpdates is terminated, as Telegram does); in groups, privacy mode (the default for bots)
 * delivers only commands, mentions and replies to the bot. Failures can be JSON errors, an HTML
 * error page from the proxy in front (nginx's 502) or a connection reset.
 *
 * Live replies: editMessageText and deleteMessage of the bot's own messages, with Telegram's
 * answers ("message is not modified", "message to edit not found", "message to delete not
 * found"); edits of one message closer together than `editMinIntervalMs` get a 429 with
 * retry_after (counted in `unexpected429`: the bot must never cause one). `chatView` is what
 * the chat shows now (deleted messages gone, edited ones with their latest text).
 * sendMessageDraft (private chats only, non-zero draft_id, 0-4096 characters): the draft is an
 * ephemeral preview that `draftView` shows until the bot sends a message to the chat or 30 s pass
 * without an update; `drafts = false` makes the fake a Bot API server without the method.
 *
 * Inline keyboards (approval prompts): sendMessage and editMessageText take
 * `reply_markup.inline_keyboard` (callback_data 1-64 bytes, else 400 BUTTON_DATA_INVALID);
 * editMessageText without reply_markup drops the keyboard, as Telegram does;
 * editMessageReplyMarkup replaces it. `userClick` is a person pressing a button (a
 * `callback_query` update); answerCallbackQuery answers it once (a second answer, or an unknown
 * id, is Telegram's 400 "query is too old…"), recorded in `callbackAnswers`.
 *
 * Tests push updates (`userMessage`), script failures (`failNext`) and read what the bot sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseEntities, type TelegramEntity } from './telegram-entities.ts';
import { waitOnEvents } from './wait.ts';

const now = (): number => performance.timeOrigin + performance.now();

export interface SentCall {
  method: string;
  chatId: number | string;
  /** sendMessage: the text as the user sees it (after parse_mode). */
  text?: string;
  /** sendMessage: the text as the bot sent it, and the entities Telegram made of it. */
  raw?: string;
  entities?: TelegramEntity[];
  parseMode?: string;
  threadId?: number;
  /** sendDocument/sendPhoto/sendVoice: the uploaded file's name and bytes. */
  file?: { name: string; bytes: Buffer };
  action?: string;
  /** sendMessage/editMessageText/deleteMessage: the message's id; sendMessage with disable_notification. */
  messageId?: number;
  silent?: boolean;
  /** sendMessageDraft: the draft's id. */
  draftId?: number;
  /** sendMessage/editMessageText/editMessageReplyMarkup: the inline keyboard sent (an empty one removes it). */
  keyboard?: InlineButton[][];
  /** When the fake answered (epoch ms, sub-millisecond). */
  at: number;
}

export interface FakeFailure {
  method: string;
  /** Only calls whose text (or, with `chatId`, chat) matches. */
  match?: RegExp;
  chatId?: number;
  /** HTTP status and description (a JSON error, unless `kind` says otherwise). */
  errorCode?: number;
  description?: string;
  retryAfter?: number;
  times?: number;
  /** 'html': the proxy's HTML error page (nginx 502); 'reset': the connection is cut without an answer. */
  kind?: 'json' | 'html' | 'reset';
}

export interface InlineButton {
  text: string;
  callback_data?: string;
}

const NGINX_502 = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n';

interface Waiter {
  offset: number;
  conflict: () => void;
  resolve: (updates: unknown[]) => void;
  timer: NodeJS.Timeout;
}

type Update = { update_id: number; message?: Record<string, unknown>; callback_query?: Record<string, unknown> };

/**
 * `reply_markup.inline_keyboard` as sent (JSON, or a JSON string in a multipart body): the rows,
 * undefined when there is none, or the 400 description Telegram answers for a bad one.
 */
function inlineKeyboard(markup: unknown): InlineButton[][] | string | undefined {
  const parsed = typeof markup === 'string' ? (JSON.parse(markup) as unknown) : markup;
  if (parsed === undefined || parsed === null) return undefined;
  const rows = (parsed as { inline_keyboard?: unknown }).inline_keyboard;
  if (rows === undefined) return undefined;
  if (!Array.isArray(rows) || !rows.every((r) => Array.isArray(r))) return 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays';
  for (const row of rows as unknown[][]) {
    for (const b of row as Array<{ text?: unknown; callback_data?: unknown }>) {
      if (typeof b.text !== 'string' || b.text === '') return 'Bad Request: text buttons are unallowed in the inline keyboard';
      if (b.callback_data !== undefined) {
        const bytes = typeof b.callback_data === 'string' ? Buffer.byteLength(b.callback_data) : 0;
        if (bytes < 1 || bytes > 64) return 'Bad Request: BUTTON_DATA_INVALID';
      }
    }
  }
  return rows as InlineButton[][];
}

export class FakeTelegram {
  readonly token: string;
  readonly bot = { id: 7_000_001, is_bot: true, first_name: 'Tiny', username: 'tiny_test_bot' };
  readonly sent: SentCall[] = [];
  readonly calls: string[] = [];
  commands: unknown[] = [];
  /** Privacy mode (Telegram's default for bots): in groups, only commands, mentions and replies to the bot reach it. */
  privacy = true;
  /** getUpdates calls answered 409 (another poller took over). */
  conflicts = 0;
  /** The closest two edits of one message may be (Telegram documents no number; about one a second per chat). */
  editMinIntervalMs = 1000;
  /** 429s the bot caused by editing too fast (never injected ones). */
  unexpected429 = 0;
  /** False: a Bot API server without sendMessageDraft (404 method not found). */
  drafts = true;
  /** How long a draft shows without an update (Telegram: 30 s). */
  draftLifetimeMs = 30_000;
  /** The draft each private chat shows now. */
  #drafts = new Map<string, { draftId: number; text: string; at: number }>();
  /** The bot's messages still in their chats: `<chat>:<message id>` → text now, and its last edit. */
  #live = new Map<string, { chatId: string; messageId: number; text: string; editedAt: number; keyboard: InlineButton[][] }>();
  /** Callback queries pushed by `userClick`, and how the bot answered them (answerCallbackQuery). */
  readonly callbackAnswers: Array<{ id: string; text?: string; showAlert?: boolean }> = [];
  #openQueries = new Set<string>();
  #nextQueryId = 1;
  #server: Server;
  #updates: Update[] = [];
  #nextUpdateId = 1;
  #nextMessageId = 1000;
  #confirmed = 0;
  #waiters: Waiter[] = [];
  #failures: FakeFailure[] = [];
  #files = new Map<string, { path: string; bytes: Buffer }>();
  #listeners = new Set<() => void>();
  #holds: Array<{ method: string; match: RegExp; arrive: () => void; released: Promise<void> }> = [];
  url = '';

  constructor(token = '123456:FAKE-telegram-token') {
    this.token = token;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const w of this.#waiters) clearTimeout(w.timer);
    this.#waiters = [];
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** A user's message as a new update; returns its message id. */
  userMessage(input: {
    chatId: number;
    fromId?: number;
    text?: string;
    chatType?: 'private' | 'group' | 'supergroup';
    threadId?: number;
    firstName?: string;
    document?: { name: string; bytes: Buffer };
    /** A photo (largest size last) or a voice note; with `text` as its caption, or none. */
    photo?: Buffer;
    voice?: Buffer;
    replyToBot?: boolean;
    messageId?: number;
  }): number {
    const messageId = input.messageId ?? this.#nextMessageId++;
    const fromId = input.fromId ?? input.chatId;
    const message: Record<string, unknown> = {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      chat:
        input.chatType && input.chatType !== 'private'
          ? { id: input.chatId, type: input.chatType, title: 'Group', ...(input.threadId ? { is_forum: true } : {}) }
          : { id: input.chatId, type: 'private', first_name: input.firstName ?? 'Ada' },
      from: { id: fromId, is_bot: false, first_name: input.firstName ?? 'Ada' },
    };
    const media = input.document !== undefined || input.photo !== undefined || input.voice !== undefined;
    if (input.text !== undefined) message[media ? 'caption' : 'text'] = input.text;
    if (input.threadId !== undefined) Object.assign(message, { message_thread_id: input.threadId, is_topic_message: true });
    if (input.replyToBot) message['reply_to_message'] = { message_id: 1, date: 0, chat: message['chat'], from: this.bot, text: 'earlier' };
    if (input.document) {
      const fileId = `doc-${messageId}`;
      this.#files.set(fileId, { path: `documents/${fileId}.bin`, bytes: input.document.bytes });
      message['document'] = { file_id: fileId, file_unique_id: `u${fileId}`, file_name: input.document.name, file_size: input.document.bytes.length };
    }
    if (input.photo) {
      const fileId = `photo-${messageId}`;
      this.#files.set(fileId, { path: `photos/${fileId}.jpg`, bytes: input.photo });
      message['photo'] = [
        { file_id: `thumb-${messageId}`, file_unique_id: `t${messageId}`, width: 90, height: 90, file_size: 100 },
        { file_id: fileId, file_unique_id: `u${fileId}`, width: 800, height: 600, file_size: input.photo.length },
      ];
    }
    if (input.voice) {
      const fileId = `voice-${messageId}`;
      this.#files.set(fileId, { path: `voice/${fileId}.oga`, bytes: input.voice });
      message['voice'] = { file_id: fileId, file_unique_id: `u${fileId}`, duration: 2, mime_type: 'audio/ogg', file_size: input.voice.length };
    }
    if (this.#hiddenByPrivacy(message, input.text ?? '')) return messageId;
    this.#updates.push({ update_id: this.#nextUpdateId++, message });
    this.#flush();
    return messageId;
  }

  /**
   * A person presses an inline keyboard button of the bot's message `messageId` (a
   * `callback_query` update with the button's callback_data); returns the query's id. The
   * message must still show a button with that data (else this throws: a test mistake).
   */
  userClick(input: { chatId: number; messageId: number; data: string; fromId?: number; firstName?: string; chatType?: 'private' | 'group' | 'supergroup'; threadId?: number }): string {
    const shown = this.#live.get(`${input.chatId}:${input.messageId}`);
    if (!shown?.keyboard.some((row) => row.some((b) => b.callback_data === input.data))) throw new Error(`message ${input.messageId} in ${input.chatId} shows no button ${input.data}`);
    const id = String(this.#nextQueryId++);
    this.#openQueries.add(id);
    const fromId = input.fromId ?? input.chatId;
    const chat =
      input.chatType && input.chatType !== 'private' ? { id: input.chatId, type: input.chatType, title: 'Group' } : { id: input.chatId, type: 'private', first_name: input.firstName ?? 'Ada' };
    const message: Record<string, unknown> = {
      message_id: input.messageId,
      date: Math.floor(Date.now() / 1000),
      chat,
      from: this.bot,
      text: shown.text,
      reply_markup: { inline_keyboard: shown.keyboard },
      ...(input.threadId !== undefined ? { message_thread_id: input.threadId, is_topic_message: true } : {}),
    };
    this.#updates.push({
      update_id: this.#nextUpdateId++,
      callback_query: { id, from: { id: fromId, is_bot: false, first_name: input.firstName ?? 'Ada' }, message, chat_instance: `ci${input.chatId}`, data: input.data },
    });
    this.#flush();
    return id;
  }

  /** The inline keyboard a bot message shows now (empty: none). */
  keyboardOf(chatId: number | string, messageId: number): InlineButton[][] {
    return this.#live.get(`${String(chatId)}:${messageId}`)?.keyboard ?? [];
  }

  /** Privacy mode: a group message that is not a command, a mention of the bot or a reply to it never reaches the bot. */
  #hiddenByPrivacy(message: Record<string, unknown>, text: string): boolean {
    if (!this.privacy || (message['chat'] as { type: string }).type === 'private') return false;
    return !text.startsWith('/') && !text.toLowerCase().includes(`@${this.bot.username.toLowerCase()}`) && message['reply_to_message'] === undefined;
  }

  /** The same message delivered again as a later update (what a lost confirmation looks like). */
  redeliver(messageId: number): void {
    const original = this.#updates.find((u) => u.message?.['message_id'] === messageId) ?? this.#delivered.find((u) => u.message?.['message_id'] === messageId);
    if (!original?.message) throw new Error(`no update with message ${messageId}`);
    this.#updates.push({ update_id: this.#nextUpdateId++, message: original.message });
    this.#flush();
  }

  /**
   * The next matching call is carried out only when released (the platform has it, the answer is
   * late): for crashing the daemon between a confirmed send and its ack.
   */
  hold(method: string, match: RegExp): { arrived: Promise<void>; release(): void } {
    let arrive!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((r) => (arrive = r));
    const released = new Promise<void>((r) => (release = r));
    this.#holds.push({ method, match, arrive, released });
    return { arrived, release };
  }

  failNext(failure: FakeFailure): void {
    this.#failures.push({ times: 1, ...failure });
  }

  /** Updates the bot confirmed (getUpdates offset moved past them). */
  get confirmedUpdateId(): number {
    return this.#confirmed;
  }

  /** The bot's text messages a user of the chat sees now, oldest first (deleted ones gone, edited ones as they read now). */
  chatView(chatId: number | string): Array<{ messageId: number; text: string }> {
    return [...this.#live.values()].filter((m) => m.chatId === String(chatId)).map((m) => ({ messageId: m.messageId, text: m.text }));
  }

  /** The draft the chat shows now, if any (gone once the bot sent a message there, or after `draftLifetimeMs`). */
  draftView(chatId: number | string): { draftId: number; text: string } | undefined {
    const draft = this.#drafts.get(String(chatId));
    if (draft === undefined || now() - draft.at > this.draftLifetimeMs) return undefined;
    return { draftId: draft.draftId, text: draft.text };
  }

  messagesTo(chatId: number | string): SentCall[] {
    return this.sent.filter((s) => s.method === 'sendMessage' && String(s.chatId) === String(chatId));
  }

  /** Resolves when `probe` holds, re-checked after every call the fake answers. */
  until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
    return waitOnEvents(this.#listeners, probe, timeoutMs, () => `fake telegram: timed out waiting for ${what}; calls: ${this.calls.slice(-30).join(', ')}`);
  }

  #delivered: Update[] = [];

  #flush(): void {
    for (const waiter of [...this.#waiters]) {
      const ready = this.#updates.filter((u) => u.update_id >= waiter.offset);
      if (ready.length === 0) continue;
      clearTimeout(waiter.timer);
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      waiter.resolve(ready);
    }
  }

  #confirm(offset: number): void {
    if (offset <= 0) return;
    const done = this.#updates.filter((u) => u.update_id < offset);
    this.#delivered.push(...done);
    this.#updates = this.#updates.filter((u) => u.update_id >= offset);
    this.#confirmed = Math.max(this.#confirmed, offset - 1);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const fileMatch = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (fileMatch) {
      const file = [...this.#files.values()].find((f) => f.path === fileMatch[2]);
      if (fileMatch[1] !== this.token || !file) return this.#reply(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(file.bytes);
      return this.#notify();
    }
    const match = /^\/bot([^/]+)\/(\w+)$/.exec(url.pathname);
    if (!match) return this.#reply(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    if (match[1] !== this.token) return this.#reply(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = match[2]!;
    const params = await this.#params(req, raw);
    this.calls.push(method);
    this.#notify();
    const text = typeof params['text'] === 'string' ? params['text'] : undefined;
    const failure = this.#failures.find(
      (f) => f.method === method && (f.match === undefined || (text !== undefined && f.match.test(text))) && (f.chatId === undefined || String(f.chatId) === String(params['chat_id'])),
    );
    if (failure) {
      failure.times = (failure.times ?? 1) - 1;
      if (failure.times <= 0) this.#failures = this.#failures.filter((f) => f !== failure);
      this.sent.push({ method: `${method}:failed`, chatId: params['chat_id'] as number, ...(text !== undefined ? { text } : {}), at: now() });
      if (failure.kind === 'reset') req.socket.destroy();
      else if (failure.kind === 'html') res.writeHead(failure.errorCode ?? 502, { 'content-type': 'text/html' }).end(NGINX_502);
      else {
        const code = failure.errorCode ?? 500;
        this.#reply(res, code, {
          ok: false,
          error_code: code,
          description: failure.description ?? 'Internal Server Error',
          ...(failure.retryAfter !== undefined ? { parameters: { retry_after: failure.retryAfter } } : {}),
        });
      }
      return this.#notify();
    }
    const hold = this.#holds.find((h) => h.method === method && text !== undefined && h.match.test(text));
    if (hold) {
      this.#holds = this.#holds.filter((h) => h !== hold);
      hold.arrive();
      await hold.released;
    }
    const result = await this.#method(method, params, req, res);
    if (result === undefined) return; // getUpdates answers on its own
    this.#reply(res, 200, { ok: true, result });
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #reply(res: ServerResponse, status: number, body: unknown): void {
    if (res.writableEnded) return;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  async #params(req: IncomingMessage, raw: Buffer): Promise<Record<string, unknown>> {
    const type = req.headers['content-type'] ?? '';
    if (raw.length === 0) return {};
    if (type.startsWith('application/json')) return JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    if (type.startsWith('multipart/form-data')) {
      const form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': type }, body: raw }).formData();
      const out: Record<string, unknown> = {};
      for (const [key, value] of form.entries()) {
        if (typeof value === 'string') {
          out[key] = /^-?\d+$/.test(value) ? Number(value) : value;
          continue;
        }
        out[key] = { name: value.name, bytes: Buffer.from(await value.arrayBuffer()) };
      }
      // grammY sends an attached file as `attach://<field>`.
      for (const [key, value] of Object.entries(out)) {
        if (typeof value === 'string' && value.startsWith('attach://')) out[key] = out[value.slice('attach://'.length)];
      }
      return out;
    }
    return {};
  }

  #message(chatId: unknown, extra: Record<string, unknown>): Record<string, unknown> {
    return { message_id: this.#nextMessageId++, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: 'private' }, from: this.bot, ...extra };
  }

  async #method(method: string, p: Record<string, unknown>, req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const threadId = typeof p['message_thread_id'] === 'number' ? p['message_thread_id'] : undefined;
    const base = { chatId: p['chat_id'] as number, ...(threadId !== undefined ? { threadId } : {}), at: now() };
    // A message the bot sends ends the chat's draft.
    if (/^send(Message|Document|Photo|Voice)$/.test(method)) this.#drafts.delete(String(p['chat_id']));
    switch (method) {
      case 'sendMessageDraft': {
        if (!this.drafts) {
          this.#reply(res, 404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
          this.#notify();
          return undefined;
        }
        const chatId = Number(p['chat_id']);
        if (!Number.isInteger(chatId) || chatId <= 0) return this.#badRequest(res, 'Bad Request: drafts can be sent only to private chats');
        const draftId = Number(p['draft_id']);
        if (!Number.isInteger(draftId) || draftId === 0) return this.#badRequest(res, 'Bad Request: draft_id must be non-zero');
        const parsed = parseEntities(String(p['text'] ?? ''), typeof p['parse_mode'] === 'string' ? p['parse_mode'] : undefined);
        if (!parsed.ok) return this.#badRequest(res, parsed.description);
        if (parsed.text.length > 4096) return this.#badRequest(res, 'Bad Request: text is too long');
        this.#drafts.set(String(chatId), { draftId, text: parsed.text, at: now() });
        this.sent.push({ method, ...base, text: parsed.text, draftId });
        return true;
      }
      case 'getMe':
        return this.bot;
      case 'deleteWebhook':
        return true;
      case 'setMyCommands':
        this.commands = p['commands'] as unknown[];
        return true;
      case 'getUpdates': {
        const offset = typeof p['offset'] === 'number' ? p['offset'] : 0;
        // Another poller is waiting: Telegram terminates that request with 409 Conflict.
        for (const other of this.#waiters.splice(0)) other.conflict();
        this.#confirm(offset);
        const ready = this.#updates.filter((u) => u.update_id >= offset);
        const timeout = typeof p['timeout'] === 'number' ? p['timeout'] : 0;
        if (ready.length > 0 || timeout === 0) return ready;
        const waiter: Waiter = {
          offset,
          conflict: () => {
            clearTimeout(waiter.timer);
            this.conflicts += 1;
            this.#reply(res, 409, { ok: false, error_code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' });
            this.#notify();
          },
          resolve: (updates) => {
            this.#reply(res, 200, { ok: true, result: updates });
            this.#notify();
          },
          timer: setTimeout(() => {
            this.#waiters = this.#waiters.filter((w) => w !== waiter);
            this.#reply(res, 200, { ok: true, result: [] });
          }, timeout * 1000),
        };
        this.#waiters.push(waiter);
        req.once('close', () => {
          clearTimeout(waiter.timer);
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
        });
        return undefined;
      }
      case 'sendMessage': {
        const raw = String(p['text'] ?? '');
        const parseMode = typeof p['parse_mode'] === 'string' ? p['parse_mode'] : undefined;
        const parsed = parseEntities(raw, parseMode);
        if (!parsed.ok) return this.#badRequest(res, parsed.description);
        if (parsed.text.trim() === '') return this.#badRequest(res, 'Bad Request: message text is empty');
        if (parsed.text.length > 4096) return this.#badRequest(res, 'Bad Request: message is too long');
        const keyboard = inlineKeyboard(p['reply_markup']);
        if (typeof keyboard === 'string') return this.#badRequest(res, keyboard);
        const message = this.#message(p['chat_id'], {
          text: parsed.text,
          ...(parsed.entities.length > 0 ? { entities: parsed.entities } : {}),
          ...(keyboard && keyboard.length > 0 ? { reply_markup: { inline_keyboard: keyboard } } : {}),
        });
        const messageId = message['message_id'] as number;
        const silent = p['disable_notification'] === true;
        this.sent.push({
          method,
          ...base,
          text: parsed.text,
          raw,
          entities: parsed.entities,
          ...(parseMode !== undefined ? { parseMode } : {}),
          messageId,
          ...(silent ? { silent } : {}),
          ...(keyboard ? { keyboard } : {}),
        });
        this.#live.set(`${String(p['chat_id'])}:${messageId}`, { chatId: String(p['chat_id']), messageId, text: parsed.text, editedAt: 0, keyboard: keyboard ?? [] });
        return message;
      }
      case 'editMessageText': {
        const key = `${String(p['chat_id'])}:${String(p['message_id'])}`;
        const known = this.#live.get(key);
        if (known === undefined) return this.#badRequest(res, 'Bad Request: message to edit not found');
        const raw = String(p['text'] ?? '');
        const parsed = parseEntities(raw, typeof p['parse_mode'] === 'string' ? p['parse_mode'] : undefined);
        if (!parsed.ok) return this.#badRequest(res, parsed.description);
        if (parsed.text.trim() === '') return this.#badRequest(res, 'Bad Request: message text is empty');
        if (parsed.text.length > 4096) return this.#badRequest(res, 'Bad Request: MESSAGE_TOO_LONG');
        // Without reply_markup the message's inline keyboard goes (Telegram's behaviour).
        const keyboard = inlineKeyboard(p['reply_markup']) ?? [];
        if (typeof keyboard === 'string') return this.#badRequest(res, keyboard);
        if (parsed.text === known.text && JSON.stringify(keyboard) === JSON.stringify(known.keyboard)) {
          return this.#badRequest(
            res,
            'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
          );
        }
        const wait = known.editedAt + this.editMinIntervalMs - now();
        if (wait > 0) {
          this.unexpected429 += 1;
          const retryAfter = Math.ceil(wait / 1000);
          this.#reply(res, 429, { ok: false, error_code: 429, description: `Too Many Requests: retry after ${retryAfter}`, parameters: { retry_after: retryAfter } });
          this.#notify();
          return undefined;
        }
        known.text = parsed.text;
        known.keyboard = keyboard;
        known.editedAt = now();
        this.sent.push({ method, ...base, text: parsed.text, messageId: known.messageId, keyboard });
        return { ...this.#message(p['chat_id'], { text: parsed.text }), message_id: known.messageId, edit_date: Math.floor(Date.now() / 1000) };
      }
      case 'editMessageReplyMarkup': {
        const known = this.#live.get(`${String(p['chat_id'])}:${String(p['message_id'])}`);
        if (known === undefined) return this.#badRequest(res, 'Bad Request: message to edit not found');
        const keyboard = inlineKeyboard(p['reply_markup']) ?? [];
        if (typeof keyboard === 'string') return this.#badRequest(res, keyboard);
        if (JSON.stringify(keyboard) === JSON.stringify(known.keyboard)) {
          return this.#badRequest(
            res,
            'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
          );
        }
        known.keyboard = keyboard;
        this.sent.push({ method, ...base, messageId: known.messageId, keyboard });
        return { ...this.#message(p['chat_id'], { text: known.text }), message_id: known.messageId, edit_date: Math.floor(Date.now() / 1000) };
      }
      case 'answerCallbackQuery': {
        const id = String(p['callback_query_id'] ?? '');
        if (!this.#openQueries.delete(id)) return this.#badRequest(res, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
        if (typeof p['text'] === 'string' && p['text'].length > 200) return this.#badRequest(res, 'Bad Request: MESSAGE_TOO_LONG');
        this.callbackAnswers.push({ id, ...(typeof p['text'] === 'string' ? { text: p['text'] } : {}), ...(p['show_alert'] === true ? { showAlert: true } : {}) });
        return true;
      }
      case 'deleteMessage': {
        const key = `${String(p['chat_id'])}:${String(p['message_id'])}`;
        if (!this.#live.delete(key)) return this.#badRequest(res, 'Bad Request: message to delete not found');
        this.sent.push({ method, ...base, messageId: Number(p['message_id']) });
        return true;
      }
      case 'sendChatAction':
        this.sent.push({ method, ...base, action: String(p['action']) });
        return true;
      case 'getFile': {
        const file = this.#files.get(String(p['file_id']));
        if (!file) return this.#badRequest(res, 'Bad Request: invalid file_id');
        return { file_id: p['file_id'], file_unique_id: `u${String(p['file_id'])}`, file_size: file.bytes.length, file_path: file.path };
      }
      case 'sendDocument':
      case 'sendPhoto':
      case 'sendVoice': {
        const field = method === 'sendDocument' ? 'document' : method === 'sendPhoto' ? 'photo' : 'voice';
        const file = p[field] as { name: string; bytes: Buffer } | undefined;
        if (!file || typeof file !== 'object') return this.#badRequest(res, `Bad Request: there is no ${field} in the request`);
        this.sent.push({ method, ...base, file });
        return this.#message(p['chat_id'], { [field]: { file_id: `sent-${this.#nextMessageId}`, file_unique_id: 'x' } });
      }
      default:
        return this.#badRequest(res, `Bad Request: method ${method} is not in this fake`);
    }
  }

  #badRequest(res: ServerResponse, description: string): undefined {
    this.#reply(res, 400, { ok: false, error_code: 400, description });
    this.#notify();
    return undefined;
  }
}

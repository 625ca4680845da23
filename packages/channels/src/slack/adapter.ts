/**
 * Slack through the official SDK: Socket Mode (@slack/socket-mode) for inbound events, the Web
 * API (@slack/web-api) for everything sent. No public URL is needed: the app-level token
 * (`xapp-…`, connections:write) opens the socket, the bot token (`xoxb-…`) makes the calls.
 * `apiUrl` points both at another Web API base (a proxy, or a test's stand-in).
 *
 * Routes: a conversation is a thread. `<channel>:<thread ts>` for a message in a thread, or a
 * top-level mention in a channel (the reply starts a thread on it); `<channel>` for a top-level
 * direct message (answered in the DM itself). A proactive message with no route goes to the
 * sender's user id (a DM is opened with conversations.open).
 *
 * - Direct messages (`message` events with channel_type `im`) always reach the host; in channels
 *   `app_mention` events do (the mention stripped), and replies in a thread the bot was asked in
 *   (`<stateDir>/threads.json`, a week since its last message) without a mention; only in
 *   `allowedChannels` when set.
 *   The bot's own messages, other bots' and message subtypes that are not a user writing
 *   (edits, deletions, joins, …) are ignored.
 * - Envelopes are acked once the host took the message (so a crash before that leaves it for
 *   Slack to redeliver, with retry_attempt); a redelivery of one already taken is acked and
 *   dropped here, one still being handed over is left unacked, and the daemon's idempotency key
 *   (`slack:<channel>:<ts>`) drops any other repeat.
 * - Text goes out as mrkdwn made from the agent's Markdown (format.ts: `&`, `<`, `>` escaped, so
 *   nobody is pinged) as plain `text`, never blocks (no 50-block or 3,000-character section
 *   limits to meet); the host splits replies at 4,000 characters. Files go out with the
 *   SDK's files.uploadV2 flow (getUploadURLExternal, the upload, completeUploadExternal) into the
 *   thread; a retry after the text was confirmed sends only the files again.
 * - chat.postMessage has no idempotency key: each reply carries message metadata with the send's
 *   key, and a send tried before without a confirmation (5xx after Slack created it, a crash;
 *   kept in `<stateDir>/unconfirmed.json`) first reads the conversation for that key, so it is
 *   not posted twice. (Needs the *:history scopes of the conversations the bot is in.) A file
 *   upload cut off by a crash may be uploaded again.
 * - Rate limits: the SDK's own waiting is off (it pauses every call of the client); a 429 becomes
 *   RetryAfterError with Slack's Retry-After, and until then further calls of that method (of
 *   chat.postMessage: in that channel, its limit is per channel) are refused here at once with
 *   the time left, so the host waits in that chat only and other chats and methods go on.
 *   5xx and network failures are left for the host to retry; a channel that is gone, archived or
 *   not joined becomes PermanentSendError.
 * - Status while working: "typing" has no Slack equivalent for apps, so the message being worked
 *   on gets an :eyes: reaction, swapped for :white_check_mark: once the reply is out. Live
 *   replies (`live`): one message posted, edited with chat.update, deleted with chat.delete.
 * - Approvals (`approvals`; docs/approvals.md, "In the chat apps") are Block Kit: a section
 *   (the prompt as mrkdwn, cut to Slack's 3,000 characters) and an actions block of buttons
 *   (action_id `<approval id>:<token>`, value the token; style `primary` / `danger`; 25 at most
 *   with the last answer kept, texts cut to 75), with the prompt as the notification `text`. The
 *   post carries message metadata with a key from the approval id, so a retry after a lost
 *   answer finds the prompt Slack already has. Settling is chat.update with the outcome as text
 *   and as the only block (the buttons go). A press is a `block_actions` interactivity envelope
 *   on the same socket (or Request URL): acked at once (Slack wants it within 3 s), then handed to
 *   `sink.click`; its notes go by chat.postEphemeral to the presser alone, in the prompt's thread.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LogLevel, SocketModeClient } from '@slack/socket-mode';
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError, WebClient, type Logger } from '@slack/web-api';
import {
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
import { ChannelConfigError } from '../config.ts';
import type { ChannelLog } from '../log.ts';
import { SlackWorkspaceFilter } from './workspace.ts';
import { SlackEventsHttpReceiver, type SlackEventsHttpOptions } from './events-http.ts';
import { markdownToMrkdwn, slackToPlain } from './format.ts';

export const SLACK_MAX_MESSAGE = 4000;
export const SLACK_API_URL = 'https://slack.com/api/';

export interface SlackAdapterOptions {
  /** Bot user OAuth token, `xoxb-…`. */
  botToken: string;
  /** App-level token with connections:write, `xapp-…` (Socket Mode). */
  appToken?: string;
  /**
   * The HTTP Events API instead of Socket Mode (events-http.ts): Slack posts events and
   * interactivity to this endpoint, signed with the app's signing secret.
   */
  http?: SlackEventsHttpOptions;
  /** Web API base instead of https://slack.com/api/. */
  apiUrl?: string;
  /** Channel ids the bot answers mentions in (DMs always); all when unset. */
  allowedChannels?: readonly string[];
  log?: ChannelLog;
  /** The channel's state folder: sends not yet confirmed are kept there across a crash (none: in memory only). */
  stateDir?: string;
  /**
   * Called once when the socket stayed down longer than `reconnectTimeoutMs` (the SDK gives up
   * reconnecting after a network error on apps.connections.open): the process exits and the
   * supervisor starts it again, and Slack redelivers what was not acknowledged.
   */
  onFatal?: (message: string) => void;
  /** How long the socket may stay down before `onFatal` (default 60 s). */
  reconnectTimeoutMs?: number;
  /** How long the socket may go without a pong before it reconnects (the SDK's clientPingTimeout; also its first reconnect delay). */
  pingTimeoutMs?: number;
}

/** Slack errors no retry can fix: the conversation is gone, archived, not joined, or the text is refused. */
const PERMANENT_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'msg_too_long',
  'no_text',
  'cannot_dm_bot',
  'user_not_found',
  'user_disabled',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
  'team_access_not_granted',
  'invalid_blocks',
  'thread_not_found',
]);

/** Token problems: no retry can fix them either, and the channel cannot start. */
const AUTH_ERRORS = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'no_permission', 'missing_scope', 'not_allowed_token_type']);

/** Message subtypes that are a person writing (everything else — edits, deletions, joins, bots — is not a message for the agents). */
const USER_SUBTYPES = new Set([undefined, 'file_share', 'thread_broadcast']);

const SEEN_MAX = 5000;

/** Unconfirmed keys of progress messages: `live|<channel>|<thread ts>|<key>`. */
const LIVE_PREFIX = 'live|';

/** The message metadata type on every reply: its payload's `key` is the send's idempotency key. */
const REPLY_EVENT = 'tinyagi_reply';

/** Unconfirmed keys of approval prompts: `approval|<channel>|<thread ts>|<approval id>`. */
const APPROVAL_PREFIX = 'approval|';

/** Block Kit limits: a section's text, a button's text, an action_id, an actions block's elements. */
export const SLACK_SECTION_MAX = 3000;
const SLACK_BUTTON_TEXT_MAX = 75;
const SLACK_ACTION_ID_MAX = 255;
export const SLACK_ACTIONS_MAX = 25;

/** Cuts mrkdwn to `max` characters without splitting an entity (`&amp;`) or a `<…>` link or mention. */
export function cutMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  const open = Math.max(cut.lastIndexOf('<'), cut.lastIndexOf('&'));
  if (open >= 0 && !/[>;]/.test(cut.slice(open)) && cut.length - open < 1000) cut = cut.slice(0, open);
  return `${cut}…`;
}

/** An approval prompt as Block Kit: its text in a section, its answers as buttons (within Slack's limits). */
export function approvalBlocks(prompt: ApprovalPrompt): Array<Record<string, unknown>> {
  const actions = prompt.actions.length > SLACK_ACTIONS_MAX ? [...prompt.actions.slice(0, SLACK_ACTIONS_MAX - 1), prompt.actions[prompt.actions.length - 1]!] : prompt.actions;
  const elements = actions.map((a) => {
    const actionId = `${prompt.id}:${a.token}`;
    if (actionId.length > SLACK_ACTION_ID_MAX) throw new PermanentSendError(`button action_id ${actionId.slice(0, 40)}… is longer than Slack's ${SLACK_ACTION_ID_MAX} characters`);
    const label = a.label.trim() === '' ? a.token : a.label;
    return {
      type: 'button',
      action_id: actionId,
      value: a.token,
      text: { type: 'plain_text', text: label.length > SLACK_BUTTON_TEXT_MAX ? `${label.slice(0, SLACK_BUTTON_TEXT_MAX - 1)}…` : label, emoji: true },
      ...(a.style ? { style: a.style } : {}),
    };
  });
  return [
    { type: 'section', text: { type: 'mrkdwn', text: cutMrkdwn(markdownToMrkdwn(prompt.text), SLACK_SECTION_MAX) } },
    ...(elements.length > 0 ? [{ type: 'actions', block_id: `approval:${prompt.id}`.slice(0, 255), elements }] : []),
  ];
}

/** A `block_actions` interactivity payload (the fields used). */
interface BlockActionsPayload {
  type?: string;
  user?: { id?: string; name?: string; username?: string };
  channel?: { id?: string };
  container?: { channel_id?: string; message_ts?: string; thread_ts?: string };
  message?: { ts?: string; thread_ts?: string };
  actions?: Array<{ action_id?: string; value?: string; type?: string }>;
}

/** How long a thread the bot was asked in stays one it follows without a mention. */
const THREAD_TTL_MS = 7 * 24 * 3600_000;

/** The channel threads the bot follows (`<stateDir>/threads.json`: route → last activity), bounded and expiring. */
class Threads {
  readonly #file: string | undefined;
  readonly #at = new Map<string, number>();
  constructor(dir: string | undefined) {
    if (dir === undefined) return;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#file = join(dir, 'threads.json');
    if (!existsSync(this.#file)) return;
    try {
      for (const [route, at] of Object.entries(JSON.parse(readFileSync(this.#file, 'utf8')) as Record<string, unknown>)) if (typeof at === 'number') this.#at.set(route, at);
    } catch {
      // A torn file: those threads need a mention again.
    }
  }
  has(route: string, now = Date.now()): boolean {
    const at = this.#at.get(route);
    return at !== undefined && now - at < THREAD_TTL_MS;
  }
  touch(route: string, now = Date.now()): void {
    this.#at.delete(route);
    this.#at.set(route, now);
    for (const [r, at] of this.#at) {
      if (this.#at.size <= SEEN_MAX && now - at < THREAD_TTL_MS) break;
      this.#at.delete(r);
    }
    if (this.#file === undefined) return;
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.#at)), { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
}

/**
 * Sends tried but not confirmed by Slack (`<stateDir>/unconfirmed.json`): before one goes
 * again, the conversation is read for a message carrying its key, since chat.postMessage has no
 * idempotency key of its own.
 */
class Unconfirmed {
  readonly #file: string | undefined;
  readonly #keys = new Set<string>();
  constructor(dir: string | undefined) {
    if (dir === undefined) return;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#file = join(dir, 'unconfirmed.json');
    if (!existsSync(this.#file)) return;
    try {
      for (const key of JSON.parse(readFileSync(this.#file, 'utf8')) as unknown[]) if (typeof key === 'string') this.#keys.add(key);
    } catch {
      // A torn file: those sends are checked no more (at worst one is sent twice).
    }
  }
  has(key: string): boolean {
    return this.#keys.has(key);
  }
  keys(): string[] {
    return [...this.#keys];
  }
  add(key: string): void {
    this.#keys.add(key);
    this.#save();
  }
  delete(key: string): void {
    if (this.#keys.delete(key)) this.#save();
  }
  #save(): void {
    if (this.#file === undefined) return;
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.#keys].slice(-SEEN_MAX)), { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
}

export interface SlackMessageEvent {
  type: string;
  subtype?: string;
  channel?: string;
  channel_type?: string;
  user?: string;
  bot_id?: string;
  text?: string;
  ts?: string;
  thread_ts?: string;
  files?: Array<{ id?: string; name?: string; title?: string; size?: number; url_private_download?: string; url_private?: string; mode?: string }>;
}

/** What the adapter uses of the Socket Mode client, which the HTTP Events API receiver speaks too. */
interface SlackEventSource {
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's EventEmitter listener type; each handler names its own arguments
  on(event: string, listener: (...args: any[]) => void): unknown;
  start(): Promise<unknown>;
  disconnect(): Promise<unknown>;
}

interface SocketEventArgs {
  ack: (response?: Record<string, unknown>) => Promise<void>;
  /** The envelope's payload: the `event_callback` wrapper with its `team_id`. */
  body?: Record<string, unknown>;
  event: SlackMessageEvent;
  envelope_id: string;
  retry_num?: number;
}

function parseRoute(route: string): { channel: string; threadTs?: string } {
  const at = route.indexOf(':');
  return at === -1 ? { channel: route } : { channel: route.slice(0, at), threadTs: route.slice(at + 1) };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The SDK's logger, as the channel's log (warnings and errors only; the SDK redacts tokens). */
function sdkLogger(log: ChannelLog): Logger {
  let level = LogLevel.WARN;
  return {
    debug: () => {},
    info: () => {},
    warn: (...msg: unknown[]) => log('warn', `slack sdk: ${msg.map(String).join(' ')}`),
    // The SDK calls a socket closed for a refresh an error too; what stops the channel is logged by the adapter.
    error: (...msg: unknown[]) => log('warn', `slack sdk: ${msg.map(String).join(' ')}`),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

export class SlackAdapter implements ChannelAdapter {
  readonly name = 'slack';
  readonly maxMessageLength = SLACK_MAX_MESSAGE;
  readonly live: LiveReplyAdapter;
  readonly approvals: ApprovalPromptAdapter = {
    post: async (route, prompt) => {
      const blocks = approvalBlocks(prompt);
      const { channel, threadTs } = parseRoute(route);
      const target = await this.#conversation(channel);
      // A retry after a lost answer: the prompt Slack already has is the one.
      const key = `${APPROVAL_PREFIX}${target}|${threadTs ?? ''}|${prompt.id}`;
      // The text is the notification's and the screen readers'.
      return this.#postOnce(target, threadTs, key, { text: cutMrkdwn(markdownToMrkdwn(prompt.text), SLACK_MAX_MESSAGE), blocks });
    },
    settle: async (_route, messageId, text) => {
      const [channel, ts] = messageId.split('/');
      const mrkdwn = markdownToMrkdwn(text);
      try {
        // The blocks are replaced by the outcome alone: the buttons go.
        await this.#call('chat.update', channel!, {
          channel,
          ts,
          text: cutMrkdwn(mrkdwn, SLACK_MAX_MESSAGE),
          blocks: [{ type: 'section', text: { type: 'mrkdwn', text: cutMrkdwn(mrkdwn, SLACK_SECTION_MAX) } }],
        });
      } catch (err) {
        // Deleted, or the conversation gone: nothing left to settle.
        if (/message_not_found|channel_not_found|cant_update_message/.test(errorText(err))) return;
        throw err;
      }
    },
  };
  readonly #options: SlackAdapterOptions;
  readonly #log: ChannelLog;
  /** Socket Mode: the bot's own workspace (over HTTP the receiver holds it). */
  readonly #workspace: SlackWorkspaceFilter;
  readonly #web: WebClient;
  /** Where Slack's events come from: the Socket Mode client, or the HTTP Events API receiver (the same events and arguments). */
  readonly #socket: SlackEventSource;
  readonly #apiUrl: string;
  /** Per method (chat.postMessage: per method and channel), the time before which Slack said not to call it. */
  readonly #notBefore = new Map<string, number>();
  /** Messages handed to the host (`done`) or being handed over (`busy`), by `<channel>:<ts>`. */
  readonly #seen = new Map<string, 'busy' | 'done'>();
  /** Sends whose text Slack confirmed (a retry for their files sends only the files). */
  readonly #textSent = new Set<string>();
  readonly #unconfirmed: Unconfirmed;
  /** Channel threads the bot was asked in (a mention): later replies there need no mention. */
  readonly #threads: Threads;
  /** Per route, the message being worked on and whether it has the :eyes: reaction. */
  readonly #working = new Map<string, { channel: string; ts: string; reacted: boolean; adding?: Promise<void> }>();
  readonly #names = new Map<string, string>();
  readonly #dms = new Map<string, string>();
  #botUserId = '';
  #botId = '';
  #sink: InboundSink | undefined;
  #downSince: number | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #stopping = false;

  constructor(options: SlackAdapterOptions) {
    this.#options = options;
    this.#log = options.log ?? (() => {});
    this.#workspace = new SlackWorkspaceFilter((level, message) => this.#log(level, message));
    this.#unconfirmed = new Unconfirmed(options.stateDir);
    this.#threads = new Threads(options.stateDir);
    this.#apiUrl = (options.apiUrl ?? SLACK_API_URL).replace(/\/*$/, '/');
    const logger = sdkLogger(this.#log);
    this.#web = new WebClient(options.botToken, {
      slackApiUrl: this.#apiUrl,
      logger,
      // The host retries (per chat, with backoff); the SDK's waiting would hold every chat.
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: 30_000,
    });
    this.#socket = options.http
      ? new SlackEventsHttpReceiver({ ...options.http, log: (level, message) => this.#log(level, message) })
      : new SocketModeClient({
          appToken: options.appToken ?? '',
          logger,
          clientPingTimeout: options.pingTimeoutMs ?? 5000,
          clientOptions: { slackApiUrl: this.#apiUrl, retryConfig: { retries: 10, factor: 1.5, minTimeout: 500, maxTimeout: 30_000 } },
        });
    this.live = {
      // chat.update is tier 3 (~50 a minute per workspace): one edit of a message every 1.5 s at most.
      editIntervalMs: 1500,
      post: async (route, text, idempotencyKey) => {
        const { channel, threadTs } = parseRoute(route);
        const target = await this.#conversation(channel);
        // Where it goes is part of the key: a process that dies before Slack's answer leaves the key
        // in unconfirmed.json, and the next one finds the message by it and deletes it (start()).
        const key = `${LIVE_PREFIX}${target}|${threadTs ?? ''}|${idempotencyKey ?? randomUUID()}`;
        // A retry after a lost answer: the message Slack already has is the progress message.
        return this.#postOnce(target, threadTs, key, { text: markdownToMrkdwn(text) });
      },
      edit: async (_route, messageId, text) => {
        const [channel, ts] = messageId.split('/');
        await this.#call('chat.update', channel!, { channel, ts, text: markdownToMrkdwn(text) });
      },
      remove: async (_route, messageId) => {
        const [channel, ts] = messageId.split('/');
        try {
          await this.#call('chat.delete', channel!, { channel, ts });
        } catch (err) {
          if (/message_not_found|channel_not_found/.test(errorText(err))) return;
          throw err;
        }
      },
    };
  }

  async start(sink: InboundSink): Promise<void> {
    this.#sink = sink;
    // The SDK retries apps.connections.open for ever on any refusal but a few: a bot token given
    // as the app token (not_allowed_token_type) would never connect, and never say why.
    const appToken = this.#options.appToken ?? '';
    if (!this.#options.http && !appToken.startsWith('xapp-')) {
      throw new ChannelConfigError(
        `The Slack app-level token must start with xapp- (this one starts with ${appToken.slice(0, 5)}): set SLACK_APP_TOKEN or channels.slack.app_token (api.slack.com/apps → your app → Basic Information → App-Level Tokens, with connections:write).`,
      );
    }
    try {
      const auth = await this.#web.auth.test();
      this.#botUserId = auth.user_id ?? '';
      this.#botId = auth.bot_id ?? '';
      // Another workspace's events reach the same connection (one signing secret, or one app-level token, per app).
      const own = { teamId: auth.team_id ?? '', enterpriseId: auth.enterprise_id, enterpriseInstall: auth.is_enterprise_install };
      if (this.#socket instanceof SlackEventsHttpReceiver) this.#socket.acceptOnly(own);
      else this.#workspace.acceptOnly(own);
    } catch (err) {
      throw this.#startError(err, 'bot token (auth.test)', 'SLACK_BOT_TOKEN or channels.slack.bot_token (api.slack.com/apps → your app → OAuth & Permissions → Bot User OAuth Token, xoxb-…)');
    }
    this.#socket.on('message', (args: SocketEventArgs) => void this.#onEvent(args));
    this.#socket.on('app_mention', (args: SocketEventArgs) => void this.#onEvent(args));
    this.#socket.on('interactive', (args: { ack: () => Promise<void>; body?: BlockActionsPayload }) => void this.#onInteractive(args));
    // Every other envelope (events we do not use) is acked so Slack does not resend it.
    this.#socket.on('slack_event', (args: { type: string; ack: () => Promise<void>; body?: { event?: { type?: string } } }) => {
      const type = args.body?.event?.type;
      if (args.type === 'events_api' && (type === 'message' || type === 'app_mention')) return;
      if (args.type === 'interactive') return;
      args.ack().catch(() => {});
    });
    this.#socket.on('reconnecting', () => {
      this.#log('info', 'slack socket reconnecting');
      if (!this.#stopping) sink.connection?.('reconnecting', 'slack socket connection lost');
    });
    // The SDK says connected once Slack's hello arrived on the socket.
    this.#socket.on('connected', () => {
      this.#downSince = undefined;
      this.#log('info', 'slack socket connected');
      sink.connection?.('connected');
    });
    this.#socket.on('close', () => {
      this.#downSince ??= Date.now();
    });
    try {
      await this.#socket.start();
    } catch (err) {
      if (this.#options.http)
        throw new ChannelConfigError(
          `The Slack Events API endpoint cannot listen on ${this.#options.http.host ?? '127.0.0.1'}:${this.#options.http.port}: ${errorText(err)}. Set channels.slack.events_port (or events_host) to a free one.`,
        );
      throw this.#startError(
        err,
        'app-level token (apps.connections.open)',
        'SLACK_APP_TOKEN or channels.slack.app_token (api.slack.com/apps → your app → Basic Information → App-Level Tokens, with connections:write; Socket Mode must be on)',
      );
    }
    this.#log('info', `slack connected as ${this.#botUserId}`);
    // The Events API endpoint listens: Slack's requests can arrive (the socket said so above already).
    if (this.#options.http) sink.connection?.('connected');
    void this.#removeUnconfirmedProgress();
    const limit = this.#options.reconnectTimeoutMs ?? 60_000;
    this.#watchdog = setInterval(
      () => {
        if (this.#stopping || this.#downSince === undefined || Date.now() - this.#downSince < limit) return;
        clearInterval(this.#watchdog);
        const message = `slack socket down for ${Math.round((Date.now() - this.#downSince) / 1000)} s and not reconnecting: restarting the channel`;
        this.#log('error', message);
        this.#options.onFatal?.(message);
      },
      Math.min(5000, limit / 4),
    );
    this.#watchdog.unref();
  }

  /**
   * Progress messages a previous process posted but never heard back about (killed while Slack
   * answered): the host's live.json cannot know them, so they are found by their key and deleted
   * here, leaving no stale "working…" behind.
   */
  async #removeUnconfirmedProgress(): Promise<void> {
    for (const key of this.#unconfirmed.keys().filter((k) => k.startsWith(LIVE_PREFIX))) {
      const [channel = '', thread = ''] = key.slice(LIVE_PREFIX.length).split('|');
      try {
        const ts = await this.#findPosted(channel, thread === '' ? undefined : thread, key);
        if (ts !== undefined) await this.live.remove(thread === '' ? channel : `${channel}:${thread}`, `${channel}/${ts}`);
        this.#unconfirmed.delete(key);
        if (ts !== undefined) this.#log('info', `slack: removed a progress message whose post was never confirmed (${channel}/${ts})`);
      } catch (err) {
        this.#log('warn', `slack: could not check an unconfirmed progress message in ${channel} (tried again at the next start): ${errorText(err)}`);
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#watchdog);
    await this.#socket.disconnect().catch(() => {});
  }

  /**
   * Posts a message keyed by `key` (in its metadata and unconfirmed.json) and returns
   * `<channel>/<ts>`: a retry after a lost answer finds the message Slack already has instead of
   * posting it again.
   */
  async #postOnce(target: string, threadTs: string | undefined, key: string, content: { text: string; blocks?: unknown[] }): Promise<string> {
    if (this.#unconfirmed.has(key)) {
      const found = await this.#findPosted(target, threadTs, key);
      if (found !== undefined) {
        this.#unconfirmed.delete(key);
        return `${target}/${found}`;
      }
    }
    this.#unconfirmed.add(key);
    const res = await this.#call('chat.postMessage', target, {
      channel: target,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...content,
      unfurl_links: false,
      unfurl_media: false,
      metadata: { event_type: REPLY_EVENT, event_payload: { key } },
    }).catch((err: unknown) => {
      if (err instanceof RetryAfterError || err instanceof PermanentSendError) this.#unconfirmed.delete(key);
      throw err;
    });
    this.#unconfirmed.delete(key);
    return `${String(res['channel'] ?? target)}/${String(res['ts'])}`;
  }

  #startError(err: unknown, what: string, fix: string): unknown {
    const code = err instanceof WebAPIPlatformError ? String(err.data.error) : undefined;
    if (code !== undefined && AUTH_ERRORS.has(code)) return new ChannelConfigError(`Slack refused the ${what}: ${code}. Set a valid token in ${fix}.`);
    return err;
  }

  async #onEvent({ ack, body, event }: SocketEventArgs): Promise<void> {
    const safeAck = (): Promise<void> => ack().catch((err: unknown) => this.#log('warn', `slack ack failed (Slack will deliver it again): ${errorText(err)}`));
    if (body !== undefined && !this.#workspace.accepts(body)) return safeAck();
    const inbound = await this.#toInbound(event).catch((err: unknown) => {
      this.#log('warn', `slack event ${event.channel ?? '?'}:${event.ts ?? '?'} skipped: ${errorText(err)}`);
      return undefined;
    });
    if (inbound === undefined) return safeAck();
    const key = inbound.platformMessageId;
    const state = this.#seen.get(key);
    // A redelivery of one being handed over waits for the first to ack; one already taken is acked again.
    if (state === 'busy') return;
    if (state === 'done') return safeAck();
    this.#remember(key, 'busy');
    // The message being worked on in its route (the host may ask for the status before receive returns).
    const previous = this.#working.get(inbound.route);
    this.#working.delete(inbound.route);
    this.#working.set(inbound.route, { channel: event.channel!, ts: event.ts!, reacted: false });
    if (this.#working.size > SEEN_MAX) this.#working.delete(this.#working.keys().next().value!);
    try {
      await this.#sink?.receive(inbound);
    } catch (err) {
      this.#seen.delete(key);
      if (previous !== undefined) this.#working.set(inbound.route, previous);
      else this.#working.delete(inbound.route);
      this.#log('error', `slack message ${key} not handed over (left for Slack to deliver again): ${errorText(err)}`);
      return;
    }
    this.#remember(key, 'done');
    if (!inbound.isPrivate) this.#threads.touch(inbound.route);
    await safeAck();
  }

  /** An interactivity envelope: acked at once (Slack: within 3 s); a press of an approval button goes to the host. */
  async #onInteractive({ ack, body }: { ack: () => Promise<void>; body?: BlockActionsPayload }): Promise<void> {
    await ack().catch((err: unknown) => this.#log('warn', `slack ack of an interaction failed: ${errorText(err)}`));
    if (body !== undefined && !this.#workspace.accepts(body as unknown as Record<string, unknown>)) return;
    if (body?.type !== 'block_actions' || this.#sink?.click === undefined) return;
    const userId = body.user?.id;
    const channel = body.container?.channel_id ?? body.channel?.id;
    if (userId === undefined || channel === undefined) return;
    const threadTs = body.message?.thread_ts ?? body.container?.thread_ts;
    const route = threadTs !== undefined ? `${channel}:${threadTs}` : channel;
    for (const action of body.actions ?? []) {
      const id = action.action_id ?? '';
      const at = id.lastIndexOf(':');
      if (action.type !== undefined && action.type !== 'button') continue;
      if (at <= 0) continue;
      const notify = async (text: string): Promise<void> => {
        try {
          await this.#call('chat.postEphemeral', channel, {
            channel,
            user: userId,
            text: cutMrkdwn(markdownToMrkdwn(text), SLACK_MAX_MESSAGE),
            ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
          });
        } catch (err) {
          this.#log('warn', `slack: could not tell ${userId} about their button press: ${errorText(err)}`);
        }
      };
      try {
        await this.#sink.click({ approvalId: id.slice(0, at), token: id.slice(at + 1), senderId: userId, sender: await this.#userName(userId), route, notify });
      } catch (err) {
        this.#log('error', `slack button press ${id} by ${userId}: ${errorText(err)}`);
      }
    }
  }

  #remember(key: string, state: 'busy' | 'done'): void {
    this.#seen.delete(key);
    this.#seen.set(key, state);
    if (this.#seen.size > SEEN_MAX) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }

  async #toInbound(event: SlackMessageEvent): Promise<InboundMessage | undefined> {
    if (event.channel === undefined || event.ts === undefined || event.user === undefined) return undefined;
    if (!USER_SUBTYPES.has(event.subtype)) return undefined;
    if (event.bot_id !== undefined || event.user === this.#botUserId || (this.#botId !== '' && event.bot_id === this.#botId)) return undefined;
    const isDm = event.channel_type === 'im' || event.channel.startsWith('D');
    let text = event.text ?? '';
    const mentioned = text.includes(`<@${this.#botUserId}`);
    if (event.type === 'message') {
      // A DM arrives as message; in a channel the mention (app_mention) asks the bot, and so does
      // any reply in a thread the bot is already in (a thread is one conversation). A reply there
      // that mentions the bot comes as app_mention too, and is taken from that one.
      if (!isDm) {
        if (mentioned || event.thread_ts === undefined || !this.#threads.has(`${event.channel}:${event.thread_ts}`)) return undefined;
      }
    } else if (event.type === 'app_mention') {
      if (isDm) return undefined;
      const allowed = this.#options.allowedChannels;
      if (allowed !== undefined && allowed.length > 0 && !allowed.includes(event.channel)) return undefined;
    } else {
      return undefined;
    }
    // The mention goes (in a DM too, where `@bot /stop` is how to reach a command: Slack's client
    // takes a message starting with `/` as one of its own slash commands).
    text = text.replace(new RegExp(`<@${this.#botUserId}(?:\\|[^>]*)?>`, 'g'), ' ');
    text = slackToPlain(text)
      .replace(/[ \t]{2,}/g, ' ')
      .trim();
    const files = (event.files ?? []).filter((f) => f.mode !== 'tombstone' && (f.url_private_download ?? f.url_private) !== undefined).map((f) => this.#inboundFile(f));
    if (text === '' && files.length === 0) return undefined;
    // A thread is a conversation; a top-level mention in a channel starts one on itself.
    const threadTs = event.thread_ts ?? (isDm ? undefined : event.ts);
    return {
      platformMessageId: `${event.channel}:${event.ts}`,
      senderId: event.user,
      sender: await this.#userName(event.user),
      route: threadTs !== undefined ? `${event.channel}:${threadTs}` : event.channel,
      text,
      files,
      isPrivate: isDm,
    };
  }

  #inboundFile(f: NonNullable<SlackMessageEvent['files']>[number]): InboundFile {
    const url = (f.url_private_download ?? f.url_private)!;
    return {
      name: f.name ?? f.title ?? `file_${f.id ?? 'slack'}`,
      ...(f.size !== undefined ? { size: f.size } : {}),
      download: async () => {
        // The bot token goes only to Slack's own hosts (or the configured API's host).
        const headers: Record<string, string> = this.#trustedFileUrl(url) ? { Authorization: `Bearer ${this.#options.botToken}` } : {};
        const res = await fetch(url, { headers, redirect: 'follow' });
        if (!res.ok) throw new Error(`file download answered ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      },
    };
  }

  #trustedFileUrl(url: string): boolean {
    if (!URL.canParse(url)) return false;
    const u = new URL(url);
    if (u.origin === new URL(this.#apiUrl).origin) return true;
    return u.protocol === 'https:' && (u.hostname === 'slack.com' || u.hostname.endsWith('.slack.com'));
  }

  async #userName(userId: string): Promise<string> {
    const known = this.#names.get(userId);
    if (known !== undefined) return known;
    let name = userId;
    try {
      const res = (await this.#web.users.info({ user: userId })) as { user?: { real_name?: string; name?: string; profile?: { display_name?: string; real_name?: string } } };
      name = res.user?.profile?.display_name || res.user?.real_name || res.user?.profile?.real_name || res.user?.name || userId;
    } catch (err) {
      // Asked once per user and process (no users:read scope, a rate limit): the id stands in.
      this.#log('warn', `slack users.info ${userId}: ${errorText(err)}`);
    }
    this.#names.set(userId, name);
    return name;
  }

  async send(route: string, message: OutboundMessage): Promise<void> {
    const { channel, threadTs } = parseRoute(route);
    const target = await this.#conversation(channel);
    const thread = threadTs !== undefined ? { thread_ts: threadTs } : {};
    const key = message.idempotencyKey;
    if (message.text.trim() !== '' && !this.#textSent.has(key)) {
      // Tried before without a confirmation (an answer lost, or a crash): Slack may have it already.
      if (!(this.#unconfirmed.has(key) && (await this.#alreadyPosted(target, threadTs, key)))) {
        this.#unconfirmed.add(key);
        try {
          await this.#call('chat.postMessage', target, {
            channel: target,
            ...thread,
            text: markdownToMrkdwn(message.text),
            unfurl_links: false,
            unfurl_media: false,
            metadata: { event_type: REPLY_EVENT, event_payload: { key } },
          });
        } catch (err) {
          // A refusal (rate limit, a Slack error) created nothing; anything else may have.
          if (err instanceof RetryAfterError || err instanceof PermanentSendError) this.#unconfirmed.delete(key);
          throw err;
        }
      }
      this.#unconfirmed.delete(key);
      this.#textSent.add(key);
      if (this.#textSent.size > SEEN_MAX) this.#textSent.delete(this.#textSent.values().next().value!);
    }
    for (const path of message.files) {
      await this.#call('files.uploadV2', target, { channel_id: target, ...thread, file: path, filename: basename(path) });
    }
    this.#textSent.delete(key);
    await this.#done(route);
  }

  /** Whether the conversation already has our message sent with `key` (its metadata says so). */
  async #alreadyPosted(channel: string, threadTs: string | undefined, key: string): Promise<boolean> {
    const found = (await this.#findPosted(channel, threadTs, key)) !== undefined;
    if (found) this.#log('info', `slack: ${key} was posted before its confirmation was lost; not sent again`);
    return found;
  }

  /** The ts of our message sent with `key` in the conversation, if Slack has it. */
  async #findPosted(channel: string, threadTs: string | undefined, key: string): Promise<string | undefined> {
    let res: Record<string, unknown>;
    try {
      res =
        threadTs !== undefined
          ? await this.#call('conversations.replies', channel, { channel, ts: threadTs, limit: 1000, include_all_metadata: true })
          : await this.#call('conversations.history', channel, { channel, limit: 100, include_all_metadata: true });
    } catch (err) {
      if (err instanceof PermanentSendError && /thread_not_found/.test(err.message)) return undefined;
      throw err;
    }
    const messages = (res['messages'] ?? []) as Array<{ ts?: string; bot_id?: string; user?: string; metadata?: { event_type?: string; event_payload?: { key?: unknown } } }>;
    return messages.find((m) => (m.bot_id === this.#botId || m.user === this.#botUserId) && m.metadata?.event_type === REPLY_EVENT && m.metadata.event_payload?.key === key)?.ts;
  }

  /** The status while working: an :eyes: reaction on the message being answered (once). */
  async sendTyping(route: string): Promise<void> {
    const working = this.#working.get(route);
    if (working === undefined || working.reacted) return;
    working.reacted = true;
    working.adding = this.#react('reactions.add', working.channel, working.ts, 'eyes');
    await working.adding;
  }

  /** The reply is out: :eyes: becomes :white_check_mark: (and a reply that came before any status leaves none behind). */
  async #done(route: string): Promise<void> {
    const working = this.#working.get(route);
    if (working === undefined) return;
    this.#working.delete(route);
    if (!working.reacted) return;
    // An :eyes: still on its way is removed only once it is there.
    await working.adding;
    await this.#react('reactions.remove', working.channel, working.ts, 'eyes');
    await this.#react('reactions.add', working.channel, working.ts, 'white_check_mark');
  }

  async #react(method: 'reactions.add' | 'reactions.remove', channel: string, ts: string, name: string): Promise<void> {
    try {
      await this.#call(method, channel, { channel, timestamp: ts, name });
    } catch (err) {
      // A status reaction is never worth failing or delaying a reply for.
      if (!/already_reacted|no_reaction/.test(errorText(err))) this.#log('warn', `slack ${method} :${name}: on ${channel}/${ts}: ${errorText(err)}`);
    }
  }

  /** A user id (a proactive message) becomes the id of the DM with them. */
  async #conversation(channel: string): Promise<string> {
    if (!/^[UW][A-Z0-9]+$/.test(channel)) return channel;
    const known = this.#dms.get(channel);
    if (known !== undefined) return known;
    const res = await this.#call('conversations.open', channel, { users: channel });
    const id = (res['channel'] as { id?: string } | undefined)?.id;
    if (id === undefined) throw new Error(`conversations.open gave no channel for ${channel}`);
    this.#dms.set(channel, id);
    return id;
  }

  /**
   * One Web API call, under Slack's rate limits: refused at once while its method (chat.postMessage:
   * in that channel) is limited, and a 429 turned into RetryAfterError; Slack's errors sorted
   * into permanent (PermanentSendError) and the rest (left for the host to retry).
   */
  async #call(method: string, channel: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const key = method === 'chat.postMessage' ? `${method}:${channel}` : method;
    const until = this.#notBefore.get(key);
    if (until !== undefined) {
      const left = until - Date.now();
      if (left > 0) throw new RetryAfterError(`Slack rate limit on ${method}: retry after ${left} ms`, left);
      this.#notBefore.delete(key);
    }
    try {
      if (method === 'files.uploadV2') return (await this.#web.filesUploadV2(args as never)) as unknown as Record<string, unknown>;
      return (await this.#web.apiCall(method, args)) as unknown as Record<string, unknown>;
    } catch (err) {
      if (err instanceof WebAPIRateLimitedError) {
        const ms = Math.max(1, err.retryAfter) * 1000;
        this.#notBefore.set(key, Date.now() + ms);
        throw new RetryAfterError(`Slack rate limit on ${method}: retry after ${ms} ms`, ms);
      }
      if (err instanceof WebAPIPlatformError) {
        const code = String(err.data.error);
        // A token problem is not permanent for the reply: it waits in the outbox until the token is fixed.
        if (PERMANENT_ERRORS.has(code)) throw new PermanentSendError(`Slack ${method}: ${code}`);
        throw new Error(`Slack ${method}: ${code}`);
      }
      if (err instanceof WebAPIHTTPError) throw new Error(`Slack ${method} answered HTTP ${err.statusCode}`);
      if (err instanceof WebAPIRequestError) throw new Error(`Slack ${method}: ${err.message}`);
      throw err;
    }
  }
}

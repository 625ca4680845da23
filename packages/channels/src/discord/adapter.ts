/**
 * Discord through discord.js 14 (gateway for inbound, REST for outbound). `rest_api` points the
 * REST client at another base URL (a Discord REST proxy, or a test's fake); the gateway URL is
 * whatever that REST answers for /gateway/bot.
 *
 * Routes are `ch:<channel id>` (a DM channel, a guild channel, or a thread — a thread is its own
 * session); a proactive message with no route goes to the sender's user id (a DM is opened).
 *
 * - DMs always reach the host; in guilds only messages that mention the bot do (without the
 *   mention), and only in `allowedChannels` when that list is set (a thread counts as its parent).
 * - Sends carry a nonce derived from the outbox id with enforce_nonce, so Discord itself drops a
 *   resend of a message it already created (within its nonce window): a retry after a lost
 *   answer, or a resend after a crash between Discord's answer and the sent ledger.
 * - Rate limits: discord.js follows the bucket headers and waits out a 429 itself; a wait longer
 *   than RATE_LIMIT_INLINE_MS is thrown instead (RetryAfterError with Discord's delay), so the
 *   host hands the reply back to the outbox rather than blocking in a send for minutes.
 * - Gateway: discord.js resumes after a drop, op 7 and a resumable op 9, and identifies anew
 *   otherwise. A close code no reconnect can fix (4004 token, 4013/4014 intents, 4010-4012)
 *   ends the connection for good: at start it is a ChannelConfigError (exit code 2; a rejected
 *   token, 401 or 4004, is CredentialsRejectedError: the channel is `rejected`), later
 *   `onFatal`, each with a message that says what to do. After a 4014, later starts ask the
 *   application's flags over REST before connecting again: an IDENTIFY per restart would spend
 *   Discord's 1,000 a day.
 * - Catch-up: Discord does not redeliver what was written while no session was connected (a
 *   restart, a session it invalidated). With `stateDir`, each channel's last handled message is
 *   kept (seen.ts); on every READY the history after it is read (channels active within a day, up
 *   to 100 messages each) and handled like live messages. Messages of one channel are handed over
 *   in order; the daemon's idempotency key drops any seen twice.
 * - "typing…" lasts ~10 s on Discord; the host refreshes it.
 * - Live replies: the progress message is an ordinary message (mentions disabled), edited
 *   (PATCH) at most every 1.5 s — message writes of a channel share Discord's 5-per-5-s bucket,
 *   which discord.js follows — and deleted once the answer is there; a message that is gone
 *   (404, Unknown Message) is PermanentSendError.
 * - Approvals (`approvals`; docs/approvals.md, "In the chat apps"): a prompt is a message with
 *   action rows of buttons (custom id `<approval id>:<token>`, at most 100 characters; Danger for
 *   a `danger` action, Primary for `primary`, else Secondary; 5 a row, 25 at most; labels cut
 *   to 80), sent with a nonce from the approval id so a retry after a lost answer posts none
 *   twice. Settling edits its content to the outcome and removes the rows. A button press
 *   (INTERACTION_CREATE) is acknowledged at once with an ephemeral deferred reply (Discord wants
 *   an answer within 3 s, the decision may take longer), then handed to `sink.click`; its notes
 *   fill that ephemeral reply (only the presser sees it), and a press the host said nothing
 *   about has its "thinking…" reply deleted.
 */
import { createHash } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  ApplicationFlags,
  ButtonStyle,
  Client,
  ComponentType,
  DiscordAPIError,
  DiscordjsError,
  DiscordjsErrorCodes,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Partials,
  RateLimitError,
  RESTEvents,
  Routes,
  type ButtonInteraction,
  type Interaction,
  type Message,
  type SendableChannels,
} from 'discord.js';
import {
  CredentialsRejectedError,
  PermanentSendError,
  RetryAfterError,
  type ApprovalPrompt,
  type ApprovalPromptAdapter,
  type ChannelAdapter,
  type InboundMessage,
  type InboundSink,
  type LiveReplyAdapter,
  type OutboundMessage,
} from '../adapter.ts';
import { ChannelConfigError } from '../config.ts';
import { errorWithCauses } from '../retry.ts';
import type { ChannelLog } from '../log.ts';
import { SeenMessages } from './seen.ts';

export const DISCORD_MAX_MESSAGE = 2000;

export interface DiscordAdapterOptions {
  token: string;
  /** REST base URL instead of https://discord.com/api (no version suffix). */
  restApi?: string;
  /** Guild channel ids the bot answers in (threads count as their parent); all when unset. */
  allowedChannels?: readonly string[];
  log?: ChannelLog;
  /** TINYAGI_HOME/channels/discord: where the catch-up marks are kept (none: no catch-up). */
  stateDir?: string;
  /** Called once when the gateway closed for good after start (the message says what to do). */
  onFatal?: (message: string) => void;
}

/** Catch-up reads the history of channels active within this long, at most one page each. */
const CATCH_UP_MAX_AGE_MS = 24 * 3600_000;
const CATCH_UP_PAGE = 100;

/** A rate limit up to this long is waited out inside discord.js; a longer one is thrown. */
export const RATE_LIMIT_INLINE_MS = 10_000;

const TOKEN_FIX = 'set a valid token in DISCORD_BOT_TOKEN or channels.discord.bot_token (Discord Developer Portal → your application → Bot → Reset Token)';

/** Why Discord closed the gateway for good (the close codes discord.js does not reconnect after). */
function fatalCloseMessage(code: number): string {
  if (code === 4004) return `Discord rejected the bot token (gateway close 4004, authentication failed): ${TOKEN_FIX}.`;
  if (code === 4014) {
    return (
      'Discord refused the Message Content intent (gateway close 4014, disallowed intents): the bot cannot read messages without it. ' +
      'Turn it on in the Discord Developer Portal → your application → Bot → Privileged Gateway Intents → Message Content Intent, then run `tinyagi channel restart discord`.'
    );
  }
  if (code === 4013) return 'Discord refused the intents this bot asks for (gateway close 4013, invalid intents).';
  return `Discord closed the gateway for good (close code ${code}); reconnecting cannot fix it.`;
}

/** Discord error codes that no retry can fix: unknown channel/user, cannot DM this user, missing access/permissions. */
const PERMANENT_CODES = new Set([10003, 10013, 50001, 50007, 50013]);

function nonceOf(key: string): string {
  // A Discord nonce is at most 25 characters.
  return createHash('sha256').update(key).digest('base64url').slice(0, 25);
}

/** Discord's component limits: 5 buttons an action row, 5 rows a message, a custom id of 100 characters, a label of 80. */
export const DISCORD_BUTTONS_PER_ROW = 5;
export const DISCORD_MAX_ROWS = 5;
const CUSTOM_ID_MAX = 100;
const BUTTON_LABEL_MAX = 80;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** An approval prompt's action rows (raw API components): one button per action, within Discord's limits. */
export function approvalComponents(prompt: ApprovalPrompt): Array<{ type: ComponentType.ActionRow; components: Array<Record<string, unknown>> }> {
  const max = DISCORD_BUTTONS_PER_ROW * DISCORD_MAX_ROWS;
  // Too many answers for 25 buttons: the last one (deny / decline) stays.
  const actions = prompt.actions.length > max ? [...prompt.actions.slice(0, max - 1), prompt.actions[prompt.actions.length - 1]!] : prompt.actions;
  const buttons = actions.map((a) => {
    const customId = `${prompt.id}:${a.token}`;
    if (customId.length > CUSTOM_ID_MAX) throw new PermanentSendError(`button custom id ${customId} is longer than Discord's ${CUSTOM_ID_MAX} characters`);
    const style = a.style === 'danger' ? ButtonStyle.Danger : a.style === 'primary' ? ButtonStyle.Primary : ButtonStyle.Secondary;
    return { type: ComponentType.Button, custom_id: customId, label: cut(a.label.trim() === '' ? a.token : a.label, BUTTON_LABEL_MAX), style };
  });
  const rows = [];
  for (let i = 0; i < buttons.length; i += DISCORD_BUTTONS_PER_ROW) rows.push({ type: ComponentType.ActionRow as const, components: buttons.slice(i, i + DISCORD_BUTTONS_PER_ROW) });
  return rows;
}

/** Edits of one progress message: at most one every 1.5 s (a channel's message writes share 5 per 5 s). */
export const DISCORD_EDIT_INTERVAL_MS = 1500;

export class DiscordAdapter implements ChannelAdapter {
  readonly name = 'discord';
  readonly maxMessageLength = DISCORD_MAX_MESSAGE;
  readonly live: LiveReplyAdapter = {
    editIntervalMs: DISCORD_EDIT_INTERVAL_MS,
    post: async (route, text, idempotencyKey) => {
      try {
        const channel = await this.#channel(route);
        // The nonce makes a retry after a lost answer return the message created first (no stray progress message).
        const nonce = idempotencyKey !== undefined ? { nonce: nonceOf(idempotencyKey), enforceNonce: true } : {};
        const sent = await channel.send({ content: text, allowedMentions: { parse: [] }, ...nonce });
        return sent.id;
      } catch (err) {
        throw translateError(err);
      }
    },
    edit: async (route, messageId, text) => {
      try {
        const channel = await this.#channel(route);
        await channel.messages.edit(messageId, { content: text, allowedMentions: { parse: [] } });
      } catch (err) {
        throw translateError(err);
      }
    },
    remove: async (route, messageId) => {
      try {
        const channel = await this.#channel(route);
        await channel.messages.delete(messageId);
      } catch (err) {
        const translated = translateError(err);
        // Already gone: nothing left to do.
        if (translated instanceof PermanentSendError) return;
        throw translated;
      }
    },
  };
  readonly approvals: ApprovalPromptAdapter = {
    post: async (route, prompt) => {
      const components = approvalComponents(prompt);
      try {
        const channel = await this.#channel(route);
        // The nonce makes the host's retry after a lost answer return the prompt created first.
        const sent = await channel.send({
          content: cut(prompt.text, DISCORD_MAX_MESSAGE),
          components,
          allowedMentions: { parse: [] },
          nonce: nonceOf(`approval:${prompt.id}`),
          enforceNonce: true,
        });
        return sent.id;
      } catch (err) {
        throw translateError(err);
      }
    },
    settle: async (route, messageId, text) => {
      try {
        const channel = await this.#channel(route);
        await channel.messages.edit(messageId, { content: cut(text, DISCORD_MAX_MESSAGE), components: [], allowedMentions: { parse: [] } });
      } catch (err) {
        const translated = translateError(err);
        // Deleted, or the channel gone: nothing left to settle.
        if (translated instanceof PermanentSendError) return;
        throw translated;
      }
    },
  };
  readonly #client: Client;
  readonly #options: DiscordAdapterOptions;
  readonly #seen: SeenMessages | undefined;
  /** Per channel, the tail of its in-order handling. */
  readonly #lanes = new Map<string, Promise<void>>();
  #sink: InboundSink | undefined;

  constructor(options: DiscordAdapterOptions) {
    this.#options = options;
    this.#seen = options.stateDir === undefined ? undefined : new SeenMessages(options.stateDir);
    this.#client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent, GatewayIntentBits.DirectMessages],
      // DM channels are not cached before their first message.
      partials: [Partials.Channel],
      rest: {
        ...(options.restApi ? { api: options.restApi.replace(/\/+$/, '') } : {}),
        rejectOnRateLimit: (limit) => limit.retryAfter > RATE_LIMIT_INLINE_MS,
      },
    });
  }

  async start(sink: InboundSink): Promise<void> {
    const log = this.#options.log ?? (() => {});
    let started = false;
    let fatalCode: number | undefined;
    // Emitted only for the close codes discord.js gives up on (it reconnects after the others).
    this.#client.on(Events.ShardDisconnect, ({ code }) => {
      fatalCode = code;
      if (code === 4014) this.#intentRefused(true);
      if (!started) return;
      const message = fatalCloseMessage(code);
      log('error', message);
      this.#options.onFatal?.(message);
    });
    this.#client.on(Events.ShardResume, (_shard, replayed) => {
      log('info', `discord gateway resumed (${replayed} missed events replayed)`);
      sink.connection?.('connected');
    });
    let shardError: string | undefined;
    this.#client.on(Events.ShardError, (err) => {
      shardError = errorWithCauses(err);
    });
    this.#client.on(Events.ShardReconnecting, () => {
      log('warn', 'discord gateway connection lost; reconnecting');
      sink.connection?.('reconnecting', `discord gateway connection lost${shardError !== undefined ? `: ${shardError}` : ''}`);
    });
    this.#client.rest.on(RESTEvents.RateLimited, (limit) => {
      if (limit.global || limit.timeToReset >= 1000) log('warn', `discord rate limit${limit.global ? ' (global)' : ''} on ${limit.route}: waiting ${limit.timeToReset} ms`);
    });
    this.#sink = sink;
    this.#client.on('messageCreate', (message) => this.#handle(message));
    this.#client.on(Events.InteractionCreate, (interaction) => void this.#onInteraction(interaction));
    // Every READY (the first, and a new session after one Discord invalidated) catches up.
    this.#client.on(Events.ShardReady, () => {
      shardError = undefined;
      sink.connection?.('connected');
      void this.#catchUp();
    });
    this.#client.on('error', (err) => log('error', `discord: ${err.message}`));
    const ready = new Promise<void>((resolve) => this.#client.once('clientReady', () => resolve()));
    await this.#checkIntentBeforeIdentify();
    try {
      await this.#client.login(this.#options.token);
    } catch (err) {
      // A rejected token is the channel's `rejected` state (not restarted); other fatal closes are configuration errors.
      if (fatalCode === 4004) throw new CredentialsRejectedError(fatalCloseMessage(fatalCode));
      if (fatalCode !== undefined) throw new ChannelConfigError(fatalCloseMessage(fatalCode));
      if (err instanceof DiscordjsError && err.code === DiscordjsErrorCodes.TokenInvalid) throw new CredentialsRejectedError(`Discord rejected the bot token (401 on GET /gateway/bot): ${TOKEN_FIX}.`);
      throw err;
    }
    await ready;
    started = true;
    log('info', `discord connected as ${this.#client.user?.tag ?? '?'}`);
  }

  async stop(): Promise<void> {
    await this.#client.destroy();
  }

  async send(route: string, message: OutboundMessage): Promise<void> {
    try {
      const channel = await this.#channel(route);
      const files = message.files.map((path) => ({ attachment: path, name: basename(path) }));
      if (message.text.trim() === '' && files.length === 0) return;
      await channel.send({
        ...(message.text.trim() !== '' ? { content: message.text } : {}),
        ...(files.length > 0 ? { files } : {}),
        nonce: nonceOf(message.idempotencyKey),
        enforceNonce: true,
        allowedMentions: { parse: [] },
      });
    } catch (err) {
      throw translateError(err);
    }
  }

  /** Remembers (or forgets) that Discord refused the Message Content intent. */
  #intentRefused(refused: boolean): void {
    const dir = this.#options.stateDir;
    if (dir === undefined) return;
    const marker = join(dir, 'intent-refused');
    if (refused) writeFileSync(marker, new Date().toISOString(), { mode: 0o600 });
    else rmSync(marker, { force: true });
  }

  /** After a 4014: connects only once the application's flags show the intent on again. */
  async #checkIntentBeforeIdentify(): Promise<void> {
    const dir = this.#options.stateDir;
    if (dir === undefined || !existsSync(join(dir, 'intent-refused'))) return;
    this.#client.rest.setToken(this.#options.token);
    const app = (await this.#client.rest.get(Routes.currentApplication())) as { flags?: number };
    if (((app.flags ?? 0) & (ApplicationFlags.GatewayMessageContent | ApplicationFlags.GatewayMessageContentLimited)) === 0) {
      throw new ChannelConfigError(`${fatalCloseMessage(4014)} (The application's flags still show it off; checked without connecting.)`);
    }
    this.#intentRefused(false);
  }

  /** Hands a message to the host after the channel's earlier ones, then moves the channel's mark. */
  #handle(message: Message): void {
    const log = this.#options.log ?? (() => {});
    const channelId = message.channelId;
    const lane = (this.#lanes.get(channelId) ?? Promise.resolve()).then(async () => {
      if (this.#seen?.has(channelId, message.id)) return;
      const inbound = this.#toInbound(message);
      try {
        if (inbound !== undefined) await this.#sink?.receive(inbound);
      } catch (err) {
        log('error', `discord message ${message.id}: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.#seen?.advance(channelId, message.id);
    });
    this.#lanes.set(channelId, lane);
    void lane.finally(() => {
      if (this.#lanes.get(channelId) === lane) this.#lanes.delete(channelId);
    });
  }

  /** A press of an approval prompt's button: acknowledged at once, then handed to the host. */
  async #onInteraction(interaction: Interaction): Promise<void> {
    if (!interaction.isButton()) return;
    const log = this.#options.log ?? (() => {});
    const at = interaction.customId.lastIndexOf(':');
    if (at <= 0 || this.#sink?.click === undefined) return;
    // Discord wants an answer within 3 s; the decision may take longer: an ephemeral "thinking…" now.
    const deferred = interaction.deferReply({ flags: MessageFlags.Ephemeral }).then(
      () => true,
      (err: unknown) => {
        // Too late (a stalled process): the press still counts; the presser sees "interaction failed".
        log('warn', `discord: could not acknowledge the button press ${interaction.id}: ${err instanceof Error ? err.message : String(err)}`);
        return false;
      },
    );
    let notes = 0;
    const notify = async (text: string): Promise<void> => {
      if (!(await deferred)) return;
      const body = { content: cut(text, DISCORD_MAX_MESSAGE), allowedMentions: { parse: [] } };
      try {
        if (notes++ === 0) await interaction.editReply(body);
        else await interaction.followUp({ ...body, flags: MessageFlags.Ephemeral });
      } catch (err) {
        log('warn', `discord: could not tell ${interaction.user.id} about their button press: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    try {
      await this.#sink.click({
        approvalId: interaction.customId.slice(0, at),
        token: interaction.customId.slice(at + 1),
        senderId: interaction.user.id,
        sender: interaction.user.globalName ?? interaction.user.username,
        route: `ch:${interaction.channelId}`,
        notify,
      });
    } catch (err) {
      log('error', `discord button press ${interaction.id}: ${err instanceof Error ? err.message : String(err)}`);
    }
    // Nothing was said: the "thinking…" reply goes rather than failing after 15 minutes.
    if (notes === 0 && (await deferred)) await this.#clearReply(interaction);
  }

  async #clearReply(interaction: ButtonInteraction): Promise<void> {
    try {
      await interaction.deleteReply();
    } catch {
      // Gone already, or the token expired: Discord drops it by itself.
    }
  }

  /** Reads what each recently active channel got since its mark (Discord does not redeliver it). */
  async #catchUp(): Promise<void> {
    const log = this.#options.log ?? (() => {});
    for (const [channelId, after] of this.#seen?.recent(CATCH_UP_MAX_AGE_MS) ?? []) {
      try {
        const channel = await this.#client.channels.fetch(channelId);
        if (channel === null || !channel.isTextBased()) continue;
        const missed = [...(await channel.messages.fetch({ after, limit: CATCH_UP_PAGE, cache: false })).values()];
        missed.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
        if (missed.length > 0) log('info', `discord: ${missed.length} message(s) in ${channelId} arrived while disconnected`);
        for (const message of missed) this.#handle(message);
      } catch (err) {
        log('warn', `discord: could not catch up on channel ${channelId}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  async sendTyping(route: string): Promise<void> {
    const channel = await this.#channel(route);
    await channel.sendTyping();
  }

  async #channel(route: string): Promise<SendableChannels> {
    if (route.startsWith('ch:')) {
      const channel = await this.#client.channels.fetch(route.slice(3));
      if (channel === null || !channel.isSendable()) throw new PermanentSendError(`Discord channel ${route.slice(3)} cannot receive messages`);
      return channel;
    }
    const user = await this.#client.users.fetch(route);
    return user.createDM();
  }

  #toInbound(message: Message): InboundMessage | undefined {
    const me = this.#client.user;
    if (me === null || message.author.bot || message.author.id === me.id) return undefined;
    let text = message.content;
    if (message.guildId !== null) {
      if (!message.mentions.users.has(me.id)) return undefined;
      const allowed = this.#options.allowedChannels;
      const home = message.channel.isThread() ? (message.channel.parentId ?? message.channelId) : message.channelId;
      if (allowed !== undefined && allowed.length > 0 && !allowed.includes(home) && !allowed.includes(message.channelId)) return undefined;
      text = text.replace(new RegExp(`<@!?${me.id}>`, 'g'), '').trim();
    }
    const files = [...message.attachments.values()].map((a) => ({
      name: a.name,
      size: a.size,
      download: async () => {
        const res = await fetch(a.url);
        if (!res.ok) throw new Error(`attachment download answered ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      },
    }));
    if (text === '' && files.length === 0) return undefined;
    return {
      platformMessageId: message.id,
      senderId: message.author.id,
      sender: message.author.globalName ?? message.author.username,
      route: `ch:${message.channelId}`,
      text,
      files,
      // A guild channel or thread is read by others: a pairing code goes to the sender's DMs.
      isPrivate: message.guildId === null,
    };
  }
}

function translateError(err: unknown): unknown {
  if (err instanceof RateLimitError) return new RetryAfterError(`Discord rate limit${err.global ? ' (global)' : ''} on ${err.route}: retry after ${err.retryAfter} ms`, err.retryAfter);
  if (err instanceof DiscordAPIError) {
    if (typeof err.code === 'number' && PERMANENT_CODES.has(err.code)) return new PermanentSendError(err.message);
    if (err.status === 403 || err.status === 404) return new PermanentSendError(err.message);
  }
  return err;
}

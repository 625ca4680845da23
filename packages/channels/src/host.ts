/**
 * What every channel process does the same way, around one ChannelAdapter:
 *
 * Inbound (adapter -> daemon):
 * - The sender must be paired: an unknown sender gets the pairing code and the approval command
 *   once (privately when it wrote in a group); its messages are held (capped) and handed to the
 *   daemon after approval, with a notice to the sender. Approved senders are cached for a minute
 *   (pairing requests are rate-limited). Nothing slow happens on an unknown sender's path: a
 *   rate-limited pairing request holds the message and is retried in the background, so the
 *   adapter's (often sequential) update handling never waits for it and known senders flow.
 * - A message the daemon refuses (not a transient failure) gets a reply saying why; a file sent
 *   without text is a message of its own.
 * - `POST /api/message` with `<channel>:<platform message id>` as idempotency key, so a
 *   redelivered update is never enqueued twice. `/agent x` and `/team x` set the sender's
 *   default target (`@x`); `/stop` cancels the chat's latest conversation, `/status` tells what
 *   it is doing, `/reset` starts the chat afresh (no default target, new sessions). Files are
 *   size-capped and stored under files/ first.
 * - "typing…" is refreshed for the chat until its reply is delivered (or a cap); with live
 *   replies (live.ts) the chat also sees one progress message, edited in place while the agents
 *   work and removed once the reply is confirmed.
 * - Approvals (approvals.ts): an agent's request of a conversation of this channel is posted
 *   into its chat (buttons, or a numbered prompt), answered there by a paired sender the daemon
 *   allows (`/answer <text>`, `/deny <reason>` and a plain prompt's numbers are such answers,
 *   not messages for the agents), and settled once it is decided anywhere.
 *
 * Outbound (daemon outbox -> platform):
 * - Claim (lease) the channel's rows and queue them per chat: each chat is delivered in order,
 *   chats independently (a 429 or an outage in one chat never holds up another), at most
 *   `maxParallelChats` at once and `maxSendsPerSecond` in all (the platform's global limit).
 *   Each row goes out in chunks of the platform's limit, acked only after the platform confirmed
 *   every chunk; a confirmed chunk is written to the sent ledger first, so a crash before the ack
 *   does not resend it. A failed send (5xx, an HTML error page, a reset) is retried at once
 *   with exponential backoff and jitter; `retry_after` answers are waited out in that chat
 *   (short) or the chat's rows are handed back with that delay (long); permanent errors fail the
 *   row. Rows still queued when the channel stops are handed back at once.
 * - No lost wake-ups: `outbox.enqueued` events trigger a pass; a trigger during a pass runs
 *   another pass after it; every (re)connect of the event stream and a periodic sweep claim too.
 *
 * Everything goes through @tinyagi/client with the channel-scoped token.
 */
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { conversationTarget, isApiError, type ApiClient, type EventSubscription, type TinyEvent } from '@tinyagi/client';
import { PermanentSendError, RetryAfterError, type ApprovalClick, type ChannelAdapter, type InboundMessage, type InboundSink } from './adapter.ts';
import { APPROVAL_EVENT_TYPES, ApprovalPrompts } from './approvals.ts';
import { splitMessage } from './chunk.ts';
import { ConversationRoutes } from './conversations.ts';
import { DEFAULT_MAX_FILE_BYTES, storeInboundFiles, withSkippedFiles, type StoredFiles } from './files.ts';
import { LIVE_EVENT_TYPES, LiveReplies, type LiveReplyMode } from './live.ts';
import type { ChannelLog } from './log.ts';
import { HeldMessages, SentLedger, type HeldMessage } from './state.ts';

export type { ChannelLog, LogLevel } from './log.ts';

export interface ChannelHostOptions {
  channel: string;
  adapter: ChannelAdapter;
  api: ApiClient;
  /** TINYAGI_HOME/channels/<channel>: held messages and the sent ledger. */
  stateDir: string;
  /** TINYAGI_HOME/files: inbound attachments. */
  filesDir: string;
  maxFileBytes?: number;
  log?: ChannelLog;
  /** Periodic claim (ms), in case an event was missed. */
  sweepMs?: number;
  /** How often "typing…" is refreshed, and for how long at most. */
  typingEveryMs?: number;
  typingMaxMs?: number;
  /** A retry_after up to this long is waited out in place; longer ones go back to the outbox. */
  maxInlineRetryMs?: number;
  /** Immediate retries of a failed send (backoff from `retryBaseMs`, doubled, with jitter) before the row goes back to the outbox. */
  sendRetries?: number;
  retryBaseMs?: number;
  /** Chats delivered at the same time, and sends a second over all chats (the platform's global limit). */
  maxParallelChats?: number;
  maxSendsPerSecond?: number;
  claimLimit?: number;
  leaseMs?: number;
  /** How long approved senders are trusted without asking again. */
  approvedCacheMs?: number;
  /** Held messages older than this are dropped (the pairing request expired too). */
  heldMaxAgeMs?: number;
  /**
   * Live replies (`live_replies` of the channel's block; default `status`): a progress message
   * while an agent works, on platforms whose adapter can post and edit one (`adapter.live`).
   */
  liveReplies?: LiveReplyMode;
  /** Live replies: how long a run works before its progress message appears, and the elapsed-time refresh. */
  liveFirstPostMs?: number;
  liveHeartbeatMs?: number;
}

type Row = Awaited<ReturnType<ApiClient['claimOutbox']>>[number];

/** One chat's deliveries, in order; `blockedUntil`: its rows went back to the outbox until then. */
interface Lane {
  rows: Row[];
  running: boolean;
  blockedUntil: number;
}

const noop: ChannelLog = () => {};

/** The lease owner: the host name and pid say whose process it was (the daemon hands back a dead one's rows). */
export function leaseOwner(channel: string, pid = process.pid): string {
  return `channel:${channel}:${hostname()}:${pid}`;
}

/** Backoff of the `attempt`-th retry (0-based): base·2^attempt, capped, times a random 0.5–1.5 (so chats do not retry in step). */
export function retryDelay(attempt: number, baseMs: number, maxMs = 30_000, random = Math.random): number {
  return Math.round(Math.min(maxMs, baseMs * 2 ** attempt) * (0.5 + random()));
}

/** A token bucket: at most `perSecond` takes a second, in bursts of up to `perSecond`. */
class Pacer {
  #tokens: number;
  #at = performance.now();
  readonly #perSecond: number;
  constructor(perSecond: number) {
    this.#perSecond = perSecond;
    this.#tokens = perSecond;
  }
  /** 0 when a send may go now (and takes it), else how long to wait before asking again. */
  take(): number {
    const now = performance.now();
    this.#tokens = Math.min(this.#perSecond, this.#tokens + ((now - this.#at) / 1000) * this.#perSecond);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) / this.#perSecond) * 1000);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `/agent coder` and `/team dev` set the default target, like a bare `@coder`. */
function translateCommand(text: string): string {
  const match = /^\/(agent|team)(?:@\w+)?\s+@?([\w-]+)\s*$/i.exec(text.trim());
  return match ? `@${match[2]!}` : text;
}

export class ChannelHost implements InboundSink {
  readonly #o: Required<Omit<ChannelHostOptions, 'log'>> & { log: ChannelLog };
  readonly #held: HeldMessages;
  readonly #ledger: SentLedger;
  readonly #approved = new Map<string, number>();
  /** The latest conversation of each chat (for `/stop`); this process's memory only. */
  readonly #latest = new Map<string, string>();
  readonly #typing = new Map<string, { timer: NodeJS.Timeout; until: number }>();
  /** Per-chat delivery queues, and the ids of every claimed row not yet settled (a re-claim after its lease is not queued twice). */
  readonly #lanes = new Map<string, Lane>();
  readonly #inHand = new Set<string>();
  readonly #pacer: Pacer;
  #activeLanes = 0;
  readonly #laneSlots: Array<() => void> = [];
  readonly #notices = new Map<string, Promise<void>>();
  readonly #running = new Set<Promise<void>>();
  readonly #stopping = new AbortController();
  /** Background pairing requests of senders the daemon rate-limited (sender id → its latest held message). */
  readonly #pairingLater = new Map<string, InboundMessage>();
  #pairingTimer: NodeJS.Timeout | undefined;
  #events: EventSubscription | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #passing: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  readonly #owner: string;
  readonly #live: LiveReplies | undefined;
  /** Which chat each conversation lives in (live replies and approval prompts). */
  readonly #routes: ConversationRoutes;
  readonly #approvals: ApprovalPrompts;

  constructor(options: ChannelHostOptions) {
    this.#o = {
      maxFileBytes: DEFAULT_MAX_FILE_BYTES,
      sweepMs: 30_000,
      typingEveryMs: 4000,
      typingMaxMs: 10 * 60_000,
      maxInlineRetryMs: 30_000,
      sendRetries: 5,
      retryBaseMs: 250,
      maxParallelChats: 8,
      maxSendsPerSecond: 25,
      claimLimit: 20,
      leaseMs: 120_000,
      approvedCacheMs: 60_000,
      heldMaxAgeMs: 24 * 3600_000,
      liveReplies: 'status',
      liveFirstPostMs: 2000,
      liveHeartbeatMs: 15_000,
      ...options,
      log: options.log ?? noop,
    };
    this.#held = new HeldMessages(options.stateDir);
    this.#ledger = new SentLedger(options.stateDir);
    this.#owner = leaseOwner(options.channel);
    this.#pacer = new Pacer(this.#o.maxSendsPerSecond);
    this.#routes = new ConversationRoutes(options.stateDir, (m) => this.#o.log('warn', m));
    this.#approvals = new ApprovalPrompts({
      channel: options.channel,
      api: options.api,
      adapter: options.adapter,
      stateDir: options.stateDir,
      routes: this.#routes,
      log: this.#o.log,
      say: (route, text) => this.#say(route, text),
      pace: () => this.#paced(),
    });
    const live = options.adapter.live;
    const mode = this.#o.liveReplies;
    this.#live =
      live === undefined || mode === 'off'
        ? undefined
        : new LiveReplies({
            live,
            mode,
            maxMessageLength: options.adapter.maxMessageLength,
            stateDir: options.stateDir,
            routes: this.#routes,
            log: this.#o.log,
            pace: () => this.#paced(),
            firstPostMs: this.#o.liveFirstPostMs,
            heartbeatMs: this.#o.liveHeartbeatMs,
          });
  }

  /** Waits for the platform's global send budget (a stop cuts it short). */
  async #paced(): Promise<void> {
    for (let wait = this.#pacer.take(); wait > 0 && !this.#stopped; wait = this.#pacer.take()) await this.#sleep(wait);
  }

  get channel(): string {
    return this.#o.channel;
  }

  async start(): Promise<void> {
    const events = this.#o.api.subscribe({ types: ['outbox.enqueued', 'pairing.approved', ...APPROVAL_EVENT_TYPES, ...(this.#live ? LIVE_EVENT_TYPES : [])] });
    this.#events = events;
    events.onEvent((event) => this.#onEvent(event));
    events.onStateChange((state, info) => {
      // Every (re)connect: whatever was enqueued or approved while disconnected is caught up.
      if (state === 'open') {
        this.wake();
        void this.#catchUpApprovals();
        // Prompts decided while disconnected are settled, requests made meanwhile are posted.
        void this.#approvals.catchUp();
      }
      if (state === 'reconnecting') this.#o.log('warn', `event stream dropped (${info.error?.message ?? 'closed'}); reconnecting in ${info.retryInMs ?? 0} ms`);
    });
    void events.closed.catch((err: unknown) => {
      if (!this.#stopped) this.#o.log('error', `event stream closed: ${errorText(err)}`);
    });
    await this.#o.adapter.start(this);
    // Progress messages a crash left behind go before anything new is shown.
    if (this.#live) void this.#live.cleanUp();
    this.#sweep = setInterval(() => {
      this.#held.expire(this.#o.heldMaxAgeMs);
      this.wake();
    }, this.#o.sweepMs);
    this.#sweep.unref();
    this.wake();
    this.#o.log('info', `channel ${this.#o.channel} started`);
  }

  /** Stops taking work; the sends under way finish and every row still queued is handed back. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort();
    this.#approvals.stop();
    clearInterval(this.#sweep);
    clearTimeout(this.#pairingTimer);
    this.#events?.close();
    for (const { timer } of this.#typing.values()) clearInterval(timer);
    this.#typing.clear();
    // Progress messages go while the adapter can still reach the platform (bounded: the platform may be down).
    await this.#live?.stop();
    await this.#o.adapter.stop();
    await this.#passing;
    // The lanes hand back what they still hold; the runner's grace period bounds a hung send.
    await Promise.all([...this.#running]);
  }

  // ---- inbound ----

  /**
   * Hands one platform message to the daemon. While the daemon is unreachable or rate-limits,
   * it retries with backoff (the adapter does not confirm the update meanwhile), so a message
   * is not lost to a daemon restart; the idempotency key makes the retries safe. A message the
   * daemon refuses for good is answered with why, and confirmed (it would never get through).
   */
  async receive(message: InboundMessage): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (!(await this.#admit(message))) return;
        if (await this.#approvals.reply(message)) return;
        const command = /^\/(stop|status|reset)(?:@\w+)?\s*$/i.exec(message.text.trim())?.[1]?.toLowerCase();
        if (command === 'stop') return await this.#stop(message.route);
        if (command === 'status') return await this.#status(message.route);
        if (command === 'reset') return await this.#reset(message);
        const stored = await this.#store(message);
        await this.#submit({ ...message, text: messageText(translateCommand(message.text), stored), attachments: stored.paths });
        return;
      } catch (err) {
        const transient = isTransient(err);
        this.#o.log(transient ? 'warn' : 'error', `inbound message ${message.platformMessageId} from ${message.senderId}: ${errorText(err)}`);
        if (!transient) return this.#refused(message.route, err);
        if (this.#stopped || attempt >= 20) throw err;
        await this.#sleep(retryDelay(attempt, 250, 30_000));
      }
    }
  }

  /** A button of an approval prompt was pressed (the daemon checks who may answer). */
  async click(click: ApprovalClick): Promise<void> {
    try {
      await this.#approvals.click(click);
    } catch (err) {
      this.#o.log('warn', `approval click on ${click.approvalId} by ${click.senderId}: ${errorText(err)}`);
      await click.notify(`Your answer did not go through: ${errorText(err)}`).catch(() => {});
    }
  }

  #store(message: InboundMessage): Promise<StoredFiles> {
    return storeInboundFiles(message.files, { dir: this.#o.filesDir, prefix: `${this.#o.channel}_${message.platformMessageId}`, maxBytes: this.#o.maxFileBytes });
  }

  /** The daemon refused a message for good: the sender is told why instead of hearing nothing. */
  #refused(route: string, err: unknown): void {
    this.#notice(route, `Your message could not be handed to the agents: ${errorText(err)}`);
  }

  /**
   * True when the sender is approved; otherwise holds the message and tells the sender how to
   * pair. Never waits on the daemon's pairing rate limit: a rate-limited request holds the
   * message and is asked again in the background. A sender approved earlier in this process is
   * still trusted when the check is rate-limited (a flood of strangers must not lock it out).
   */
  async #admit(message: InboundMessage): Promise<boolean> {
    const cachedAt = this.#approved.get(message.senderId);
    if (cachedAt !== undefined && Date.now() - cachedAt < this.#o.approvedCacheMs) return true;
    let answer: Awaited<ReturnType<ApiClient['requestPairing']>>;
    try {
      answer = await this.#o.api.requestPairing({ body: { channel: this.#o.channel, senderId: message.senderId, sender: message.sender } });
    } catch (err) {
      // Too many pending requests: this sender cannot even wait in line.
      if (isApiError(err, 'LIMIT_EXCEEDED')) {
        this.#notice(message.route, 'This bot cannot take new pairing requests right now. Please try again later.');
        return false;
      }
      if (!isApiError(err, 'RATE_LIMITED')) throw err;
      if (cachedAt !== undefined) return true;
      await this.#hold(message);
      this.#pairLater(message, err);
      return false;
    }
    if (answer.status === 'approved') {
      this.#approved.set(message.senderId, Date.now());
      return true;
    }
    this.#approved.delete(message.senderId);
    const held = await this.#hold(message);
    if (answer.created) this.#tellPairing(message, answer.code ?? '', held);
    return false;
  }

  async #hold(message: InboundMessage): Promise<boolean> {
    const stored = await this.#store(message);
    return this.#held.hold({
      platformMessageId: message.platformMessageId,
      senderId: message.senderId,
      sender: message.sender,
      route: message.route,
      text: messageText(message.text, stored),
      attachments: stored.paths,
      heldAt: Date.now(),
    });
  }

  /**
   * The pairing code goes to the sender alone: in a group, privately (the platform allows it once
   * the user has talked to the bot), and the group only hears that approval is needed.
   */
  #tellPairing(message: InboundMessage, code: string, held: boolean): void {
    const text =
      `Hi! This bot answers approved senders only. Your pairing code is ${code}.\n` +
      `Ask its owner to run: tinyagi pairing approve ${code}\n` +
      `Your message${held ? ' is kept and' : ' could not be kept; it will not be'} delivered once you are approved.`;
    if (message.isPrivate !== false) {
      this.#notice(message.route, text);
      return;
    }
    void this.#say(message.senderId, text).then(
      () => this.#notice(message.route, `${message.sender}: this bot answers approved senders only. I sent you a pairing code privately.`),
      () => this.#notice(message.route, `${message.sender}: this bot answers approved senders only. Send me a private message to get a pairing code.`),
    );
  }

  /** Asks for `message`'s sender's pairing again once the daemon's rate limit allows (one timer for all). */
  #pairLater(message: InboundMessage, err: unknown): void {
    this.#pairingLater.set(message.senderId, message);
    if (this.#pairingTimer !== undefined || this.#stopped) return;
    const details = isApiError(err) ? (err.details as { retryAfterS?: unknown } | undefined) : undefined;
    const waitMs = typeof details?.retryAfterS === 'number' ? details.retryAfterS * 1000 : 2000;
    this.#pairingTimer = setTimeout(() => void this.#pairAgain(), waitMs);
    this.#pairingTimer.unref();
  }

  async #pairAgain(): Promise<void> {
    this.#pairingTimer = undefined;
    for (const [senderId, message] of this.#pairingLater) {
      if (this.#stopped) return;
      let answer: Awaited<ReturnType<ApiClient['requestPairing']>>;
      try {
        answer = await this.#o.api.requestPairing({ body: { channel: this.#o.channel, senderId, sender: message.sender } });
      } catch (err) {
        if (!isApiError(err, 'RATE_LIMITED') && !isTransient(err)) {
          this.#pairingLater.delete(senderId);
          this.#o.log('warn', `pairing request of ${senderId}: ${errorText(err)}`);
          continue;
        }
        this.#pairingTimer = undefined;
        this.#pairLater(message, err);
        return;
      }
      this.#pairingLater.delete(senderId);
      if (answer.status === 'approved') void this.#release(senderId);
      else if (answer.created) this.#tellPairing(message, answer.code ?? '', this.#held.forSender(senderId).length > 0);
    }
  }

  async #submit(message: { platformMessageId: string; senderId: string; sender: string; route: string; text: string; attachments: string[] }): Promise<void> {
    const result = await this.#o.api.sendMessage({
      body: {
        message: message.text,
        channel: this.#o.channel,
        senderId: message.senderId,
        sender: message.sender,
        threadKey: message.route,
        idempotencyKey: `${this.#o.channel}:${message.platformMessageId}`,
        ...(message.attachments.length > 0 ? { attachments: message.attachments } : {}),
      },
    });
    if (result.conversationId !== '') {
      this.#latest.set(message.route, result.conversationId);
      this.#routes.set(result.conversationId, message.route);
      this.#live?.track(result.conversationId, message.route);
    }
    if (result.reply !== undefined) this.#notice(message.route, result.reply);
    if (result.action === 'enqueued' && result.created) this.#startTyping(message.route);
  }

  async #stop(route: string): Promise<void> {
    const conversationId = this.#latest.get(route);
    if (conversationId === undefined) return this.#notice(route, 'Nothing to stop here.');
    const result = await this.#o.api.cancelConversation({ params: { id: conversationId } });
    this.#stopTyping(route);
    this.#live?.stopped(route);
    this.#notice(route, result.alreadyEnded ? 'Nothing is running here.' : 'Stopped.');
  }

  async #status(route: string): Promise<void> {
    const { conversation, running, queued } = await this.#o.api.chatStatus({ query: { channel: this.#o.channel, threadKey: route } });
    if (conversation?.awaitingDecision) {
      return this.#notice(
        route,
        `The conversation with ${conversationTarget(conversation)} waits for your decision: a guard held work back. Reply \`continue\` to raise its limits and go on, or \`stop\` to end it.`,
      );
    }
    if (conversation === null || conversation.status !== 'active') {
      const last = conversation === null ? '' : ` The last conversation ${conversation.status === 'completed' ? 'completed' : `ended ${conversation.status}`}.`;
      return this.#notice(route, `Nothing running here.${last}`);
    }
    const who = conversationTarget(conversation);
    const working = running.length > 0 ? `working: ${running.map((id) => `@${id}`).join(', ')}` : 'nobody working right now';
    this.#notice(route, `Active conversation with ${who}: ${working}; ${queued} queued. Send /stop to cancel it.`);
  }

  /** Clears the sender's default target and the chat's sessions: the next message starts fresh. */
  async #reset(message: InboundMessage): Promise<void> {
    const { defaultCleared, sessionsCleared: n } = await this.#o.api.resetChat({ body: { channel: this.#o.channel, senderId: message.senderId, threadKey: message.route } });
    const target = defaultCleared ? 'your default target is cleared' : 'no default target was set';
    this.#notice(message.route, `Fresh start: ${target}, ${n} agent session${n === 1 ? '' : 's'} of this chat forgotten. Your next message starts a new conversation.`);
  }

  /**
   * A system answer (pairing, commands), sent in the background so the adapter's update handling
   * never waits on the platform; notices to one chat keep their order.
   */
  #notice(route: string, text: string): void {
    const previous = this.#notices.get(route) ?? Promise.resolve();
    const next = previous
      .then(() => this.#say(route, text))
      .catch((err: unknown) => this.#o.log('warn', `notice to ${route}: ${errorText(err)}`))
      .finally(() => {
        if (this.#notices.get(route) === next) this.#notices.delete(route);
      });
    this.#notices.set(route, next);
  }

  /** Sends a system text now (with the same retries as a reply); rejects when it cannot. */
  async #say(route: string, text: string): Promise<void> {
    for (const chunk of splitMessage(text, this.#o.adapter.maxMessageLength)) {
      await this.#sendWithRetry(route, { text: chunk, files: [], idempotencyKey: `notice:${route}:${Date.now()}` });
    }
  }

  #onEvent(event: TinyEvent): void {
    if (event.type === 'outbox.enqueued') this.wake();
    this.#live?.onEvent(event);
    this.#approvals.onEvent(event);
    if (event.type === 'pairing.approved' && event.data.channel === this.#o.channel) void this.#release(event.data.senderId);
  }

  async #catchUpApprovals(): Promise<void> {
    for (const senderId of this.#held.senders()) {
      const first = this.#held.forSender(senderId)[0];
      if (first === undefined) continue;
      try {
        const answer = await this.#o.api.requestPairing({ body: { channel: this.#o.channel, senderId, sender: first.sender } });
        if (answer.status === 'approved') await this.#release(senderId);
      } catch (err) {
        this.#o.log('warn', `could not check the pairing of ${senderId}: ${errorText(err)}`);
      }
    }
  }

  /**
   * Approved: tell the sender, then hand its held messages to the daemon, oldest first. One the
   * daemon refuses for good is dropped with a reply saying why (the others still go); a transient
   * failure stops here and the rest are tried again a little later.
   */
  async #release(senderId: string, tell = true): Promise<void> {
    this.#approved.set(senderId, Date.now());
    const held: HeldMessage[] = this.#held.forSender(senderId);
    if (held.length === 0) return;
    const what = held.length === 1 ? 'Your message is' : `Your ${held.length} messages are`;
    if (tell) this.#notice(held[0]!.route, `You are approved. ${what} on the way to the agents.`);
    for (const message of held) {
      try {
        await this.#submit(message);
      } catch (err) {
        if (isTransient(err)) {
          this.#o.log('warn', `could not deliver the held messages of ${senderId} (trying again in 5 s): ${errorText(err)}`);
          if (!this.#stopped) setTimeout(() => void this.#release(senderId, false), 5000).unref();
          return;
        }
        this.#o.log('error', `held message ${message.platformMessageId} of ${senderId} refused: ${errorText(err)}`);
        this.#refused(message.route, err);
      }
      this.#held.release(message.platformMessageId);
    }
  }

  // ---- typing ----

  #startTyping(route: string): void {
    const send = this.#o.adapter.sendTyping?.bind(this.#o.adapter);
    if (send === undefined || this.#stopped) return;
    const existing = this.#typing.get(route);
    const until = Date.now() + this.#o.typingMaxMs;
    if (existing !== undefined) {
      existing.until = until;
      return;
    }
    const tick = (): void => {
      const entry = this.#typing.get(route);
      if (entry !== undefined && Date.now() > entry.until) {
        this.#stopTyping(route);
        return;
      }
      send(route).catch((err: unknown) => this.#o.log('warn', `typing on ${route}: ${errorText(err)}`));
    };
    const timer = setInterval(tick, this.#o.typingEveryMs);
    timer.unref();
    this.#typing.set(route, { timer, until });
    tick();
  }

  #stopTyping(route: string): void {
    const entry = this.#typing.get(route);
    if (entry === undefined) return;
    clearInterval(entry.timer);
    this.#typing.delete(route);
  }

  // ---- outbound ----

  /** Runs a claim pass now, or right after the running one (a trigger is never lost). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#passing !== undefined) {
      this.#again = true;
      return;
    }
    this.#passing = this.#passes().finally(() => (this.#passing = undefined));
  }

  /** Claims rows into the chats' queues while there is room (rows in hand are capped, so leases do not run out in a queue). */
  async #passes(): Promise<void> {
    do {
      this.#again = false;
      const room = this.#o.claimLimit * 5 - this.#inHand.size;
      if (room <= 0) return; // a settled row wakes the next pass
      try {
        const limit = Math.min(this.#o.claimLimit, room);
        const rows = await this.#o.api.claimOutbox({ body: { channel: this.#o.channel, owner: this.#owner, limit, leaseMs: this.#o.leaseMs } });
        for (const row of rows) this.#enqueue(row);
        if (rows.length >= limit) this.#again = true;
      } catch (err) {
        // The sweep or the next (re)connect tries again.
        if (!this.#stopped) this.#o.log('warn', `outbox claim failed: ${errorText(err)}`);
      }
    } while (this.#again && !this.#stopped);
  }

  #enqueue(row: Row): void {
    if (this.#inHand.has(row.id)) return; // re-claimed after its lease ran out while queued: it is there already
    const route = routeOf(row);
    if (route === undefined) {
      void this.#settle(row, () => this.#o.api.failOutbox({ params: { id: row.id }, body: { error: 'The reply has no recipient on this channel.', permanent: true } }));
      return;
    }
    let lane = this.#lanes.get(route);
    if (lane === undefined) {
      lane = { rows: [], running: false, blockedUntil: 0 };
      this.#lanes.set(route, lane);
    }
    this.#inHand.add(row.id);
    // The chat's earlier rows went back to the outbox for a while: this one waits behind them.
    const blockedFor = lane.blockedUntil - Date.now();
    if (blockedFor > 0) {
      void this.#handBack(row, 'waits behind earlier replies of its chat', blockedFor + 1);
      return;
    }
    lane.rows.push(row);
    if (lane.running) return;
    const running = this.#runLane(route, lane);
    this.#running.add(running);
    void running.finally(() => this.#running.delete(running));
  }

  /** Delivers a chat's rows in order, one at a time, within the parallel-chats limit. */
  async #runLane(route: string, lane: Lane): Promise<void> {
    lane.running = true;
    await this.#laneSlot();
    try {
      while (lane.rows.length > 0) {
        const row = lane.rows[0]!;
        if (this.#stopped) {
          lane.rows.shift();
          await this.#handBack(row, 'the channel is stopping', 0);
          continue;
        }
        const later = await this.#deliver(route, row);
        lane.rows.shift();
        if (later === undefined) continue;
        // Order within the chat: its queued rows go back too, with the same delay.
        lane.blockedUntil = Date.now() + later.delayMs;
        await this.#handBack(row, later.error, later.delayMs);
        for (const rest of lane.rows.splice(0)) await this.#handBack(rest, 'waits behind an earlier reply of its chat', later.delayMs + 1);
        setTimeout(() => this.wake(), later.delayMs + 50).unref();
      }
    } finally {
      lane.running = false;
      this.#activeLanes -= 1;
      this.#laneSlots.shift()?.();
      if (lane.blockedUntil <= Date.now() && this.#lanes.get(route) === lane && lane.rows.length === 0) this.#lanes.delete(route);
    }
  }

  #laneSlot(): Promise<void> {
    if (this.#activeLanes < this.#o.maxParallelChats) {
      this.#activeLanes += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.#laneSlots.push(() => {
        this.#activeLanes += 1;
        resolve();
      }),
    );
  }

  /**
   * Sends a row's chunks (skipping the ones the ledger has) and acks it. Returns undefined once
   * the row is settled (acked, or failed for good), or the delay after which it should be tried
   * again (a long retry_after, or failures that outlasted the immediate retries).
   */
  async #deliver(route: string, row: Row): Promise<{ delayMs: number; error: string } | undefined> {
    const chunks = splitMessage(row.text, this.#o.adapter.maxMessageLength);
    if (chunks.length === 0 && row.files.length > 0) chunks.push('');
    try {
      for (const [index, text] of chunks.entries()) {
        if (this.#ledger.has(row.id, index)) continue;
        const files = index === chunks.length - 1 ? row.files : [];
        await this.#sendWithRetry(route, { text, files, idempotencyKey: `${row.id}:${index}` });
        this.#ledger.add(row.id, index);
      }
    } catch (err) {
      const error = errorText(err).slice(0, 4000) || 'send failed';
      if (err instanceof PermanentSendError) {
        this.#o.log('warn', `delivery of ${row.id} failed for good: ${error}`);
        this.#stopTyping(route);
        await this.#settle(row, () => this.#o.api.failOutbox({ params: { id: row.id }, body: { error, permanent: true } }));
        return undefined;
      }
      const delayMs = err instanceof RetryAfterError ? err.retryAfterMs : retryDelay(this.#o.sendRetries, this.#o.retryBaseMs);
      this.#o.log('warn', `delivery of ${row.id} failed (tried again in ${delayMs} ms): ${error}`);
      return { delayMs, error };
    }
    this.#stopTyping(route);
    // The answer is confirmed: the progress message (live replies) goes.
    this.#live?.answered(route, row.runId);
    await this.#settle(row, () => this.#ack(row.id));
    return undefined;
  }

  /** Runs the row's last call to the daemon and lets it go (a settled row makes room for the next claim). */
  async #settle(row: Row, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (err) {
      this.#o.log('warn', `could not settle ${row.id} with the daemon (its lease expires instead): ${errorText(err)}`);
    } finally {
      this.#inHand.delete(row.id);
      this.wake();
    }
  }

  /** Gives a claimed row back to the outbox, available again after `delayMs`. */
  #handBack(row: Row, error: string, delayMs: number): Promise<void> {
    return this.#settle(row, () => this.#o.api.failOutbox({ params: { id: row.id }, body: { error: `handed back: ${error}`.slice(0, 4000), retryAfterMs: Math.round(delayMs) } }));
  }

  /**
   * Acks a row the platform confirmed, retrying while the daemon is unreachable (acking twice is
   * fine). If it never gets through, the lease expires and the next claim finds every chunk in
   * the sent ledger: it acks without sending again.
   */
  async #ack(id: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#o.api.ackOutbox({ params: { id } });
        return;
      } catch (err) {
        const transient = isApiError(err, 'NETWORK_ERROR') || (isApiError(err) && err.status >= 500);
        if (!transient || this.#stopped || attempt >= 8) throw err;
        await this.#sleep(retryDelay(attempt, 200, 10_000));
      }
    }
  }

  /**
   * One send, retried in place: a short retry_after is waited out (the chat's order is kept), a
   * failure that may pass (5xx, an HTML error page, a reset) is retried at once with backoff and
   * jitter. A permanent error, a long retry_after, the last failure or a stop is thrown.
   */
  async #sendWithRetry(route: string, message: { text: string; files: string[]; idempotencyKey: string }): Promise<void> {
    for (let failures = 0, waits = 0; ; ) {
      for (let wait = this.#pacer.take(); wait > 0 && !this.#stopped; wait = this.#pacer.take()) await this.#sleep(wait);
      // A stop cut a wait short: the row goes back to the outbox rather than out now.
      if (this.#stopped && (failures > 0 || waits > 0)) throw new Error('the channel is stopping');
      try {
        await this.#o.adapter.send(route, message);
        return;
      } catch (err) {
        if (err instanceof PermanentSendError || this.#stopped) throw err;
        if (err instanceof RetryAfterError) {
          if (err.retryAfterMs > this.#o.maxInlineRetryMs || ++waits > 10) throw err;
          this.#o.log('warn', `${this.#o.channel} asked to retry after ${err.retryAfterMs} ms (${route})`);
          await this.#sleep(err.retryAfterMs);
          continue;
        }
        if (failures >= this.#o.sendRetries) throw err;
        const delay = retryDelay(failures++, this.#o.retryBaseMs);
        this.#o.log('warn', `send to ${route} failed (${errorText(err)}); retrying in ${delay} ms`);
        await this.#sleep(delay);
      }
    }
  }

  /** A wait that a stop cuts short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#stopping.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#stopping.signal.addEventListener('abort', done, { once: true });
    });
  }
}

function isTransient(err: unknown): boolean {
  return isApiError(err, 'NETWORK_ERROR') || isApiError(err, 'RATE_LIMITED') || (isApiError(err) && err.status >= 500);
}

/** Where a reply goes: the thread it answers, or (proactive) the sender. */
function routeOf(row: Row): string | undefined {
  const recipient = row.recipient as { threadId?: unknown; senderId?: unknown };
  return typeof recipient.threadId === 'string' ? recipient.threadId : typeof recipient.senderId === 'string' ? recipient.senderId : undefined;
}

/** The text the agent gets: a file sent without a caption is a message too, naming its files. */
function messageText(text: string, stored: StoredFiles): string {
  const withFiles = withSkippedFiles(text, stored);
  if (withFiles !== '' || stored.paths.length === 0) return withFiles;
  return `(sent without a caption: ${stored.paths.map((p) => basename(p)).join(', ')})`;
}

export function channelStateDir(home: string, channel: string): string {
  return join(home, 'channels', channel);
}

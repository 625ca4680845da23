/**
 * What every channel process does the same way, around one ChannelAdapter:
 *
 * Inbound (adapter -> daemon):
 * - The sender must be paired: an unknown sender gets the pairing code and the approval command
 *   once; its messages are held (capped) and handed to the daemon after approval, with a notice
 *   to the sender. Approved senders are cached for a minute (pairing requests are rate-limited).
 * - `POST /api/message` with `<channel>:<platform message id>` as idempotency key, so a
 *   redelivered update is never enqueued twice. `/agent x` and `/team x` set the sender's
 *   default target (`@x`); `/stop` cancels the chat's latest conversation, `/status` tells what
 *   it is doing, `/reset` starts the chat afresh (no default target, new sessions). Files are
 *   size-capped and stored under files/ first.
 * - "typing…" is refreshed for the chat until its reply is delivered (or a cap).
 *
 * Outbound (daemon outbox -> platform):
 * - Claim (lease) the channel's rows, send each in chunks of the platform's limit, ack only
 *   after the platform confirmed every chunk; a confirmed chunk is written to the sent ledger
 *   first, so a crash before the ack does not resend it. `retry_after` answers are waited out
 *   (short) or handed back as the row's retry delay (long); permanent errors fail the row.
 * - No lost wake-ups: `outbox.enqueued` events trigger a pass; a trigger during a pass runs
 *   another pass after it; every (re)connect of the event stream and a periodic sweep claim too.
 *
 * Everything goes through @tinyagi/client with the channel-scoped token.
 */
import { join } from 'node:path';
import { conversationTarget, isApiError, type ApiClient, type EventSubscription, type TinyEvent } from '@tinyagi/client';
import { PermanentSendError, RetryAfterError, type ChannelAdapter, type InboundMessage, type InboundSink } from './adapter.ts';
import { splitMessage } from './chunk.ts';
import { DEFAULT_MAX_FILE_BYTES, storeInboundFiles, withSkippedFiles } from './files.ts';
import { HeldMessages, SentLedger, type HeldMessage } from './state.ts';

export type LogLevel = 'info' | 'warn' | 'error';
export type ChannelLog = (level: LogLevel, message: string) => void;

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
  claimLimit?: number;
  leaseMs?: number;
  /** How long approved senders are trusted without asking again. */
  approvedCacheMs?: number;
  /** Held messages older than this are dropped (the pairing request expired too). */
  heldMaxAgeMs?: number;
}

type Row = Awaited<ReturnType<ApiClient['claimOutbox']>>[number];

const noop: ChannelLog = () => {};

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
  #events: EventSubscription | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #passing: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  readonly #owner: string;

  constructor(options: ChannelHostOptions) {
    this.#o = {
      maxFileBytes: DEFAULT_MAX_FILE_BYTES,
      sweepMs: 30_000,
      typingEveryMs: 4000,
      typingMaxMs: 10 * 60_000,
      maxInlineRetryMs: 30_000,
      claimLimit: 20,
      leaseMs: 120_000,
      approvedCacheMs: 60_000,
      heldMaxAgeMs: 24 * 3600_000,
      ...options,
      log: options.log ?? noop,
    };
    this.#held = new HeldMessages(options.stateDir);
    this.#ledger = new SentLedger(options.stateDir);
    this.#owner = `channel:${options.channel}:${process.pid}`;
  }

  get channel(): string {
    return this.#o.channel;
  }

  async start(): Promise<void> {
    const events = this.#o.api.subscribe({ types: ['outbox.enqueued', 'pairing.approved'] });
    this.#events = events;
    events.onEvent((event) => this.#onEvent(event));
    events.onStateChange((state, info) => {
      // Every (re)connect: whatever was enqueued or approved while disconnected is caught up.
      if (state === 'open') {
        this.wake();
        void this.#catchUpApprovals();
      }
      if (state === 'reconnecting') this.#o.log('warn', `event stream dropped (${info.error?.message ?? 'closed'}); reconnecting in ${info.retryInMs ?? 0} ms`);
    });
    void events.closed.catch((err: unknown) => {
      if (!this.#stopped) this.#o.log('error', `event stream closed: ${errorText(err)}`);
    });
    await this.#o.adapter.start(this);
    this.#sweep = setInterval(() => {
      this.#held.expire(this.#o.heldMaxAgeMs);
      this.wake();
    }, this.#o.sweepMs);
    this.#sweep.unref();
    this.wake();
    this.#o.log('info', `channel ${this.#o.channel} started`);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#sweep);
    this.#events?.close();
    for (const { timer } of this.#typing.values()) clearInterval(timer);
    this.#typing.clear();
    await this.#o.adapter.stop();
    await this.#passing;
  }

  // ---- inbound ----

  /**
   * Hands one platform message to the daemon. While the daemon is unreachable or rate-limits,
   * it retries with backoff (the adapter does not confirm the update meanwhile), so a message
   * is not lost to a daemon restart; the idempotency key makes the retries safe.
   */
  async receive(message: InboundMessage): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (!(await this.#admit(message))) return;
        const command = /^\/(stop|status|reset)(?:@\w+)?\s*$/i.exec(message.text.trim())?.[1]?.toLowerCase();
        if (command === 'stop') return await this.#stop(message.route);
        if (command === 'status') return await this.#status(message.route);
        if (command === 'reset') return await this.#reset(message);
        const stored = await storeInboundFiles(message.files, { dir: this.#o.filesDir, prefix: `${this.#o.channel}_${message.platformMessageId}`, maxBytes: this.#o.maxFileBytes });
        await this.#submit({ ...message, text: withSkippedFiles(translateCommand(message.text), stored), attachments: stored.paths });
        return;
      } catch (err) {
        const transient = isApiError(err, 'NETWORK_ERROR') || isApiError(err, 'RATE_LIMITED') || (isApiError(err) && err.status >= 500);
        this.#o.log(transient ? 'warn' : 'error', `inbound message ${message.platformMessageId} from ${message.senderId}: ${errorText(err)}`);
        if (!transient || this.#stopped || attempt >= 20) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 250 * 2 ** attempt)));
      }
    }
  }

  /** True when the sender is approved; otherwise holds the message and tells the sender how to pair. */
  async #admit(message: InboundMessage): Promise<boolean> {
    const cachedAt = this.#approved.get(message.senderId);
    if (cachedAt !== undefined && Date.now() - cachedAt < this.#o.approvedCacheMs) return true;
    let answer: Awaited<ReturnType<ApiClient['requestPairing']>>;
    try {
      answer = await this.#o.api.requestPairing({ body: { channel: this.#o.channel, senderId: message.senderId, sender: message.sender } });
    } catch (err) {
      // Too many pending requests: this sender cannot even wait in line. (RATE_LIMITED is
      // transient: receive() retries it.)
      if (isApiError(err, 'LIMIT_EXCEEDED')) {
        await this.#notice(message.route, 'This bot cannot take new pairing requests right now. Please try again later.');
        return false;
      }
      throw err;
    }
    if (answer.status === 'approved') {
      this.#approved.set(message.senderId, Date.now());
      return true;
    }
    this.#approved.delete(message.senderId);
    const stored = await storeInboundFiles(message.files, { dir: this.#o.filesDir, prefix: `${this.#o.channel}_${message.platformMessageId}`, maxBytes: this.#o.maxFileBytes });
    const held = this.#held.hold({
      platformMessageId: message.platformMessageId,
      senderId: message.senderId,
      sender: message.sender,
      route: message.route,
      text: withSkippedFiles(message.text, stored),
      attachments: stored.paths,
      heldAt: Date.now(),
    });
    if (answer.created) {
      await this.#notice(
        message.route,
        `Hi! This bot answers approved senders only. Your pairing code is ${answer.code ?? ''}.\n` +
          `Ask its owner to run: tinyagi pairing approve ${answer.code ?? ''}\n` +
          `Your message${held ? ' is kept and' : ' could not be kept; it will not be'} delivered once you are approved.`,
      );
    }
    return false;
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
    if (result.conversationId !== '') this.#latest.set(message.route, result.conversationId);
    if (result.reply !== undefined) await this.#notice(message.route, result.reply);
    if (result.action === 'enqueued' && result.created) this.#startTyping(message.route);
  }

  async #stop(route: string): Promise<void> {
    const conversationId = this.#latest.get(route);
    if (conversationId === undefined) return this.#notice(route, 'Nothing to stop here.');
    const result = await this.#o.api.cancelConversation({ params: { id: conversationId } });
    this.#stopTyping(route);
    await this.#notice(route, result.alreadyEnded ? 'Nothing is running here.' : 'Stopped.');
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
    await this.#notice(route, `Active conversation with ${who}: ${working}; ${queued} queued. Send /stop to cancel it.`);
  }

  /** Clears the sender's default target and the chat's sessions: the next message starts fresh. */
  async #reset(message: InboundMessage): Promise<void> {
    const { defaultCleared, sessionsCleared: n } = await this.#o.api.resetChat({ body: { channel: this.#o.channel, senderId: message.senderId, threadKey: message.route } });
    const target = defaultCleared ? 'your default target is cleared' : 'no default target was set';
    await this.#notice(message.route, `Fresh start: ${target}, ${n} agent session${n === 1 ? '' : 's'} of this chat forgotten. Your next message starts a new conversation.`);
  }

  async #notice(route: string, text: string): Promise<void> {
    for (const chunk of splitMessage(text, this.#o.adapter.maxMessageLength)) {
      await this.#o.adapter.send(route, { text: chunk, files: [], idempotencyKey: `notice:${route}:${Date.now()}` });
    }
  }

  #onEvent(event: TinyEvent): void {
    if (event.type === 'outbox.enqueued') this.wake();
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

  /** Approved: tell the sender, then hand its held messages to the daemon, oldest first. */
  async #release(senderId: string): Promise<void> {
    this.#approved.set(senderId, Date.now());
    const held: HeldMessage[] = this.#held.forSender(senderId);
    if (held.length === 0) return;
    try {
      const what = held.length === 1 ? 'Your message is' : `Your ${held.length} messages are`;
      await this.#notice(held[0]!.route, `You are approved. ${what} on the way to the agents.`);
      for (const message of held) {
        await this.#submit(message);
        this.#held.release(message.platformMessageId);
      }
    } catch (err) {
      this.#o.log('error', `could not deliver the held messages of ${senderId}: ${errorText(err)}`);
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

  /** Runs a delivery pass now, or right after the running one (a trigger is never lost). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#passing !== undefined) {
      this.#again = true;
      return;
    }
    this.#passing = this.#passes().finally(() => (this.#passing = undefined));
  }

  async #passes(): Promise<void> {
    do {
      this.#again = false;
      try {
        const rows = await this.#o.api.claimOutbox({ body: { channel: this.#o.channel, owner: this.#owner, limit: this.#o.claimLimit, leaseMs: this.#o.leaseMs } });
        for (const row of rows) {
          if (this.#stopped) return;
          await this.#deliver(row);
        }
        if (rows.length >= this.#o.claimLimit) this.#again = true;
      } catch (err) {
        // The sweep or the next (re)connect tries again.
        if (!this.#stopped) this.#o.log('warn', `outbox claim failed: ${errorText(err)}`);
      }
    } while (this.#again && !this.#stopped);
  }

  async #deliver(row: Row): Promise<void> {
    const recipient = row.recipient as { threadId?: unknown; senderId?: unknown };
    const route = typeof recipient.threadId === 'string' ? recipient.threadId : typeof recipient.senderId === 'string' ? recipient.senderId : undefined;
    if (route === undefined) {
      await this.#o.api.failOutbox({ params: { id: row.id }, body: { error: 'The reply has no recipient on this channel.', permanent: true } });
      return;
    }
    const chunks = splitMessage(row.text, this.#o.adapter.maxMessageLength);
    if (chunks.length === 0 && row.files.length > 0) chunks.push('');
    try {
      for (const [index, text] of chunks.entries()) {
        if (this.#ledger.has(row.id, index)) continue;
        const files = index === chunks.length - 1 ? row.files : [];
        await this.#sendWithRetry(route, { text, files, idempotencyKey: `${row.id}:${index}` });
        this.#ledger.add(row.id, index);
      }
      this.#stopTyping(route);
    } catch (err) {
      const permanent = err instanceof PermanentSendError;
      const retryAfterMs = err instanceof RetryAfterError ? err.retryAfterMs : undefined;
      this.#o.log('warn', `delivery of ${row.id} failed${permanent ? ' for good' : ''}: ${errorText(err)}`);
      if (permanent) this.#stopTyping(route);
      try {
        await this.#o.api.failOutbox({
          params: { id: row.id },
          body: { error: errorText(err).slice(0, 4000) || 'send failed', ...(permanent ? { permanent } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
        });
      } catch (failErr) {
        this.#o.log('warn', `could not report the failure of ${row.id} (its lease expires instead): ${errorText(failErr)}`);
      }
      if (retryAfterMs !== undefined) setTimeout(() => this.wake(), retryAfterMs + 50).unref();
      return;
    }
    await this.#ack(row.id);
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
        if (!transient || this.#stopped || attempt >= 8) {
          this.#o.log('warn', `could not ack ${id} (the next claim after its lease acks it): ${errorText(err)}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 200 * 2 ** attempt)));
      }
    }
  }

  /** Waits out a short retry_after in place (keeps the chunks in order); a long one is thrown. */
  async #sendWithRetry(route: string, message: { text: string; files: string[]; idempotencyKey: string }): Promise<void> {
    for (;;) {
      try {
        await this.#o.adapter.send(route, message);
        return;
      } catch (err) {
        if (!(err instanceof RetryAfterError) || err.retryAfterMs > this.#o.maxInlineRetryMs || this.#stopped) throw err;
        this.#o.log('warn', `${this.#o.channel} asked to retry after ${err.retryAfterMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, err.retryAfterMs));
      }
    }
  }
}

export function channelStateDir(home: string, channel: string): string {
  return join(home, 'channels', channel);
}

/**
 * A channel's delivery (outbox -> platform): the channel's side of the reply delivery protocol
 * (docs/queue.md, "Delivery"; the daemon's side is core's outbox/delivery.ts).
 *
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
 * - "typing…" is refreshed for a chat until its reply is delivered (or a cap); with live replies
 *   (live.ts) the chat also sees one progress message, edited in place while the agents work and
 *   removed once the reply is confirmed.
 * - System texts (pairing, commands, refusals) go out with the same retries and pacing: `say`
 *   now, or `notice` in the background, in order per chat.
 */
import { hostname } from 'node:os';
import { isApiError, type ApiClient, type EventType, type TinyEvent } from '@tinyagi/client';
import { PermanentSendError, RetryAfterError, type ChannelAdapter } from './adapter.ts';
import { splitMessage } from './chunk.ts';
import type { ConversationRoutes } from './conversations.ts';
import { LIVE_EVENT_TYPES, LiveReplies, type LiveReplyMode } from './live.ts';
import type { ChannelLog } from './log.ts';
import { errorText, retryDelay, type Stopping } from './retry.ts';
import { SentLedger } from './state.ts';

export interface ChannelDeliveryOptions {
  channel: string;
  adapter: ChannelAdapter;
  api: ApiClient;
  /** TINYAGI_HOME/channels/<channel>: the sent ledger and the live replies' state. */
  stateDir: string;
  log: ChannelLog;
  stopping: Stopping;
  /** Which chat each conversation lives in (live replies). */
  routes: ConversationRoutes;
  typingEveryMs: number;
  typingMaxMs: number;
  maxInlineRetryMs: number;
  sendRetries: number;
  retryBaseMs: number;
  maxParallelChats: number;
  maxSendsPerSecond: number;
  claimLimit: number;
  leaseMs: number;
  liveReplies: LiveReplyMode;
  liveFirstPostMs: number;
  liveHeartbeatMs: number;
}

type Row = Awaited<ReturnType<ApiClient['claimOutbox']>>[number];

/** One chat's deliveries, in order; `blockedUntil`: its rows went back to the outbox until then. */
interface Lane {
  rows: Row[];
  running: boolean;
  blockedUntil: number;
}

/** The lease owner: the host name and pid say whose process it was (the daemon hands back a dead one's rows). */
export function leaseOwner(channel: string, pid = process.pid): string {
  return `channel:${channel}:${hostname()}:${pid}`;
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

export class ChannelDelivery {
  readonly #o: ChannelDeliveryOptions;
  readonly #ledger: SentLedger;
  readonly #owner: string;
  readonly #pacer: Pacer;
  readonly #typing = new Map<string, { timer: NodeJS.Timeout; until: number }>();
  /** Per-chat delivery queues, and the ids of every claimed row not yet settled (a re-claim after its lease is not queued twice). */
  readonly #lanes = new Map<string, Lane>();
  readonly #inHand = new Set<string>();
  #activeLanes = 0;
  readonly #laneSlots: Array<() => void> = [];
  readonly #notices = new Map<string, Promise<void>>();
  readonly #running = new Set<Promise<void>>();
  #passing: Promise<void> | undefined;
  #again = false;
  readonly #live: LiveReplies | undefined;

  constructor(options: ChannelDeliveryOptions) {
    this.#o = options;
    this.#ledger = new SentLedger(options.stateDir);
    this.#owner = leaseOwner(options.channel);
    this.#pacer = new Pacer(options.maxSendsPerSecond);
    const live = options.adapter.live;
    this.#live =
      live === undefined || options.liveReplies === 'off'
        ? undefined
        : new LiveReplies({
            live,
            mode: options.liveReplies,
            maxMessageLength: options.adapter.maxMessageLength,
            stateDir: options.stateDir,
            routes: options.routes,
            log: options.log,
            pace: () => this.paced(),
            firstPostMs: options.liveFirstPostMs,
            heartbeatMs: options.liveHeartbeatMs,
          });
  }

  /** The events delivery acts on: wake-ups, and the runs' progress when live replies are on. */
  get eventTypes(): EventType[] {
    return ['outbox.enqueued', ...(this.#live ? LIVE_EVENT_TYPES : [])];
  }

  get #stopped(): boolean {
    return this.#o.stopping.stopped;
  }

  #sleep(ms: number): Promise<void> {
    return this.#o.stopping.sleep(ms);
  }

  /** Waits for the platform's global send budget (a stop cuts it short). */
  async paced(): Promise<void> {
    for (let wait = this.#pacer.take(); wait > 0 && !this.#stopped; wait = this.#pacer.take()) await this.#sleep(wait);
  }

  onEvent(event: TinyEvent): void {
    if (event.type === 'outbox.enqueued') this.wake();
    this.#live?.onEvent(event);
  }

  /** Progress messages a crash left behind go before anything new is shown. */
  cleanUpLive(): void {
    if (this.#live) void this.#live.cleanUp();
  }

  /** Stops taking work: typing stops; sends under way finish (`settled`). */
  stop(): void {
    for (const { timer } of this.#typing.values()) clearInterval(timer);
    this.#typing.clear();
  }

  /** Progress messages go while the adapter can still reach the platform (bounded: the platform may be down). */
  async stopLive(): Promise<void> {
    await this.#live?.stop();
  }

  /** Resolves once the claim pass and every chat's queue are done (queued rows handed back). */
  async settled(): Promise<void> {
    await this.#passing;
    // The lanes hand back what they still hold; the runner's grace period bounds a hung send.
    await Promise.all([...this.#running]);
  }

  // ---- what intake tells delivery ----

  /** A conversation of this chat started or went on: its live reply follows it. */
  track(conversationId: string, route: string): void {
    this.#live?.track(conversationId, route);
  }

  /** The chat's conversation was stopped: no typing, no progress message. */
  stopped(route: string): void {
    this.stopTyping(route);
    this.#live?.stopped(route);
  }

  // ---- system texts ----

  /**
   * A system answer (pairing, commands), sent in the background so the adapter's update handling
   * never waits on the platform; notices to one chat keep their order.
   */
  notice(route: string, text: string): void {
    const previous = this.#notices.get(route) ?? Promise.resolve();
    const next = previous
      .then(() => this.say(route, text))
      .catch((err: unknown) => this.#o.log('warn', `notice to ${route}: ${errorText(err)}`))
      .finally(() => {
        if (this.#notices.get(route) === next) this.#notices.delete(route);
      });
    this.#notices.set(route, next);
  }

  /** Sends a system text now (with the same retries as a reply); rejects when it cannot. */
  async say(route: string, text: string): Promise<void> {
    for (const chunk of splitMessage(text, this.#o.adapter.maxMessageLength)) {
      await this.#sendWithRetry(route, { text: chunk, files: [], idempotencyKey: `notice:${route}:${Date.now()}` });
    }
  }

  // ---- typing ----

  startTyping(route: string): void {
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
        this.stopTyping(route);
        return;
      }
      send(route).catch((err: unknown) => this.#o.log('warn', `typing on ${route}: ${errorText(err)}`));
    };
    const timer = setInterval(tick, this.#o.typingEveryMs);
    timer.unref();
    this.#typing.set(route, { timer, until });
    tick();
  }

  stopTyping(route: string): void {
    const entry = this.#typing.get(route);
    if (entry === undefined) return;
    clearInterval(entry.timer);
    this.#typing.delete(route);
  }

  // ---- the outbox ----

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
        this.stopTyping(route);
        await this.#settle(row, () => this.#o.api.failOutbox({ params: { id: row.id }, body: { error, permanent: true } }));
        return undefined;
      }
      const delayMs = err instanceof RetryAfterError ? err.retryAfterMs : retryDelay(this.#o.sendRetries, this.#o.retryBaseMs);
      this.#o.log('warn', `delivery of ${row.id} failed (tried again in ${delayMs} ms): ${error}`);
      return { delayMs, error };
    }
    this.stopTyping(route);
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
}

/** Where a reply goes: the thread it answers, or (proactive) the sender. */
function routeOf(row: Row): string | undefined {
  const recipient = row.recipient as { threadId?: unknown; senderId?: unknown };
  return typeof recipient.threadId === 'string' ? recipient.threadId : typeof recipient.senderId === 'string' ? recipient.senderId : undefined;
}

/**
 * A channel process's host around one ChannelAdapter: the same for every platform, put together
 * from two jobs and the approval prompts.
 *
 * - Intake (intake.ts, platform -> daemon): the sender check and pairing (held messages released
 *   on approval), files, `/stop` `/status` `/reset` `/agent` `/team`, idempotent hand-over with
 *   retries, refusals answered.
 * - Delivery (delivery.ts, outbox -> platform): claim, per-chat lanes, chunks and the sent ledger,
 *   retries and pacing, ack / fail / hand back; typing and live replies; every system text.
 * - Approvals (approvals.ts): an agent's request of a conversation of this channel is posted
 *   into its chat (buttons, or a numbered prompt), answered there by a paired sender the daemon
 *   allows (`/answer <text>`, `/deny <reason>` and a plain prompt's numbers are such answers,
 *   not messages for the agents), and settled once it is decided anywhere.
 * - Memory proposals (memory-prompts.ts): the same for an agent's proposal to remember or forget.
 *
 * The host subscribes to the daemon's events and hands each to the part it is for, catches up on
 * every (re)connect (a claim, held senders approved meanwhile, prompts decided meanwhile), runs
 * the periodic sweep, and starts and stops the parts in order. Everything goes through
 * @tinyagi/client with the channel-scoped token.
 */
import { join } from 'node:path';
import type { ApiClient, EventSubscription, TinyEvent } from '@tinyagi/client';
import type { ApprovalClick, ChannelAdapter, ConnectionState, InboundMessage, InboundSink } from './adapter.ts';
import { APPROVAL_EVENT_TYPES, ApprovalPrompts } from './approvals.ts';
import { ConversationRoutes } from './conversations.ts';
import { ChannelDelivery } from './delivery.ts';
import { DEFAULT_MAX_FILE_BYTES } from './files.ts';
import { ChannelIntake } from './intake.ts';
import { isMemoryId, MEMORY_EVENT_TYPES, MemoryPrompts } from './memory-prompts.ts';
import type { LiveReplyMode } from './live.ts';
import type { ChannelLog } from './log.ts';
import { errorText, Stopping } from './retry.ts';

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
  /** The platform connection's changes, with the attempt (1, 2 … while reconnecting; 0 once connected): the runner reports them to the daemon. */
  onConnection?: (report: ConnectionReport) => void;
}

/** Where the platform connection stands (docs/channels.md#channel-states). */
export interface ConnectionReport {
  state: ConnectionState;
  /** Failed attempts in a row: 0 once connected. */
  attempt: number;
  error?: string;
}

const noop: ChannelLog = () => {};

export class ChannelHost implements InboundSink {
  readonly #o: Required<Omit<ChannelHostOptions, 'log' | 'onConnection'>> & Pick<ChannelHostOptions, 'onConnection'> & { log: ChannelLog };
  readonly #stopping = new Stopping();
  readonly #delivery: ChannelDelivery;
  readonly #intake: ChannelIntake;
  readonly #approvals: ApprovalPrompts;
  readonly #memory: MemoryPrompts;
  #events: EventSubscription | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #connection: ConnectionReport | undefined;

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
    const o = this.#o;
    const stopping = this.#stopping;
    // Which chat each conversation lives in: intake sets it, live replies and approval prompts read it.
    const routes = new ConversationRoutes(o.stateDir, (m) => o.log('warn', m));
    this.#delivery = new ChannelDelivery({ ...o, stopping, routes });
    const delivery = this.#delivery;
    // Approval requests and memory proposals of this channel's conversations: posted and decided alike.
    const prompts = {
      channel: o.channel,
      api: o.api,
      adapter: o.adapter,
      stateDir: o.stateDir,
      routes,
      log: o.log,
      say: (route: string, text: string) => delivery.say(route, text),
      pace: () => delivery.paced(),
    };
    this.#approvals = new ApprovalPrompts(prompts);
    this.#memory = new MemoryPrompts(prompts);
    this.#intake = new ChannelIntake({ ...o, stopping, routes, approvals: this.#approvals, memory: this.#memory, delivery });
  }

  get channel(): string {
    return this.#o.channel;
  }

  async start(): Promise<void> {
    const events = this.#o.api.subscribe({ types: [...this.#delivery.eventTypes, 'pairing.approved', ...APPROVAL_EVENT_TYPES, ...MEMORY_EVENT_TYPES] });
    this.#events = events;
    events.onEvent((event) => this.#onEvent(event));
    events.onStateChange((state, info) => {
      // Every (re)connect: whatever was enqueued or approved while disconnected is caught up.
      if (state === 'open') {
        this.wake();
        void this.#intake.catchUp();
        // Prompts decided while disconnected are settled, requests made meanwhile are posted.
        void this.#approvals.catchUp();
        void this.#memory.catchUp();
      }
      if (state === 'reconnecting') this.#o.log('warn', `event stream dropped (${info.error?.message ?? 'closed'}); reconnecting in ${info.retryInMs ?? 0} ms`);
    });
    void events.closed.catch((err: unknown) => {
      if (!this.#stopping.stopped) this.#o.log('error', `event stream closed: ${errorText(err)}`);
    });
    await this.#o.adapter.start(this);
    // Progress messages a crash left behind go before anything new is shown.
    this.#delivery.cleanUpLive();
    this.#sweep = setInterval(() => {
      this.#intake.expireHeld();
      this.wake();
    }, this.#o.sweepMs);
    this.#sweep.unref();
    this.wake();
    this.#o.log('info', `channel ${this.#o.channel} started`);
  }

  /** Stops taking work; the sends under way finish and every row still queued is handed back. */
  async stop(): Promise<void> {
    this.#stopping.stop();
    this.#approvals.stop();
    this.#memory.stop();
    clearInterval(this.#sweep);
    this.#intake.stop();
    this.#events?.close();
    this.#delivery.stop();
    // Progress messages go while the adapter can still reach the platform (bounded: the platform may be down).
    await this.#delivery.stopLive();
    await this.#o.adapter.stop();
    await this.#delivery.settled();
  }

  /** Hands one platform message to the daemon (intake.ts). */
  receive(message: InboundMessage): Promise<void> {
    return this.#intake.receive(message);
  }

  /** A button of an approval or memory prompt was pressed (the daemon checks who may answer). */
  click(click: ApprovalClick): Promise<void> {
    return this.#intake.click(click, isMemoryId(click.approvalId) ? this.#memory : undefined);
  }

  /** The adapter says the platform answered, or that the connection failed and it tries again. */
  connection(state: ConnectionState, error?: string): void {
    if (this.#stopping.stopped) return;
    const previous = this.#connection;
    if (state === 'connected' && previous?.state === 'connected') return;
    const attempt = state === 'connected' ? 0 : (previous?.attempt ?? 0) + 1;
    this.#connection = { state, attempt, ...(error !== undefined ? { error } : {}) };
    if (state === 'connected') this.#o.log('info', `${this.#o.channel}: connected`);
    else this.#o.log(state === 'rejected' ? 'error' : 'warn', `${this.#o.channel}: ${state}${state === 'reconnecting' ? ` (attempt ${attempt})` : ''}${error !== undefined ? `: ${error}` : ''}`);
    this.#o.onConnection?.({ ...this.#connection });
  }

  /** The platform connection as the adapter last reported it (undefined before its first answer or failure). */
  get connectionState(): ConnectionReport | undefined {
    return this.#connection === undefined ? undefined : { ...this.#connection };
  }

  /** Runs a claim pass now, or right after the running one (a trigger is never lost). */
  wake(): void {
    this.#delivery.wake();
  }

  #onEvent(event: TinyEvent): void {
    this.#delivery.onEvent(event);
    this.#approvals.onEvent(event);
    this.#memory.onEvent(event);
    this.#intake.onEvent(event);
  }
}

export function channelStateDir(home: string, channel: string): string {
  return join(home, 'channels', channel);
}

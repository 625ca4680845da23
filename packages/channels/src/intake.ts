/**
 * A channel's intake (platform -> daemon): what every channel does the same way with a message
 * its adapter received.
 *
 * - The sender must be let in (a sender check, `checkSender`): an unknown sender asks to be
 *   (`requestPairing`), gets the pairing code and the approval command once (privately when it
 *   wrote in a group); its messages are held (capped) and handed to the daemon after approval,
 *   with a notice to the sender. Approved senders are cached for a minute. Nothing slow happens
 *   on an unknown sender's path: a rate-limited pairing request holds the message and is retried
 *   in the background, so the adapter's (often sequential) update handling never waits for it and
 *   known senders flow. The daemon checks pairing on every message as well (SENDER_NOT_PAIRED):
 *   a sender revoked within the cache's minute is checked again and asked to pair.
 * - A message the daemon refuses (not a transient failure) gets a reply saying why; a file sent
 *   without text is a message of its own.
 * - `POST /api/message` with `<channel>:<platform message id>` as idempotency key, so a
 *   redelivered update is never enqueued twice. `/agent x` and `/team x` set the sender's
 *   default target (`@x`); `/stop` cancels the chat's latest conversation, `/status` tells what
 *   it is doing, `/reset` starts the chat afresh (no default target, new sessions). Files are
 *   size-capped and stored under files/ first.
 * - Answers to approval prompts (`/answer <text>`, `/deny <reason>`, a plain prompt's numbers,
 *   a button) go to approvals.ts, and answers to memory proposals (`/accept`, `/keep`, `/reject`,
 *   a button) to memory-prompts.ts, not to the agents.
 *
 * Everything it says to a chat goes out through the channel's delivery (delivery.ts), which also
 * hears when a conversation starts (typing, live replies) or is stopped.
 */
import { basename } from 'node:path';
import { conversationTarget, isApiError, type ApiClient, type TinyEvent } from '@tinyagi/client';
import type { ApprovalClick, InboundMessage } from './adapter.ts';
import type { ApprovalPrompts } from './approvals.ts';
import type { MemoryPrompts } from './memory-prompts.ts';
import type { ConversationRoutes } from './conversations.ts';
import type { ChannelDelivery } from './delivery.ts';
import { storeInboundFiles, withSkippedFiles, type StoredFiles } from './files.ts';
import type { ChannelLog } from './log.ts';
import { errorText, isTransient, retryDelay, type Stopping } from './retry.ts';
import { HeldMessages, type HeldMessage } from './state.ts';

export interface ChannelIntakeOptions {
  channel: string;
  api: ApiClient;
  /** TINYAGI_HOME/channels/<channel>: held messages. */
  stateDir: string;
  /** TINYAGI_HOME/files: inbound attachments. */
  filesDir: string;
  maxFileBytes: number;
  log: ChannelLog;
  stopping: Stopping;
  /** How long approved senders are trusted without asking again. */
  approvedCacheMs: number;
  /** Held messages older than this are dropped (the pairing request expired too). */
  heldMaxAgeMs: number;
  /** Which chat each conversation lives in (set here, read by live replies and approval prompts). */
  routes: ConversationRoutes;
  approvals: ApprovalPrompts;
  memory: MemoryPrompts;
  delivery: ChannelDelivery;
}

/** `/agent coder` and `/team dev` set the default target, like a bare `@coder`. */
function translateCommand(text: string): string {
  const match = /^\/(agent|team)(?:@\w+)?\s+@?([\w-]+)\s*$/i.exec(text.trim());
  return match ? `@${match[2]!}` : text;
}

export class ChannelIntake {
  readonly #o: ChannelIntakeOptions;
  readonly #held: HeldMessages;
  readonly #approved = new Map<string, number>();
  /** The latest conversation of each chat (for `/stop`); this process's memory only. */
  readonly #latest = new Map<string, string>();
  /** Background pairing requests of senders the daemon rate-limited (sender id → its latest held message). */
  readonly #pairingLater = new Map<string, InboundMessage>();
  #pairingTimer: NodeJS.Timeout | undefined;

  constructor(options: ChannelIntakeOptions) {
    this.#o = options;
    this.#held = new HeldMessages(options.stateDir);
  }

  get #stopped(): boolean {
    return this.#o.stopping.stopped;
  }

  #notice(route: string, text: string): void {
    this.#o.delivery.notice(route, text);
  }

  stop(): void {
    clearTimeout(this.#pairingTimer);
  }

  /** Held messages older than `heldMaxAgeMs` are dropped (the periodic sweep). */
  expireHeld(): void {
    this.#held.expire(this.#o.heldMaxAgeMs);
  }

  onEvent(event: TinyEvent): void {
    if (event.type === 'pairing.approved' && event.data.channel === this.#o.channel) void this.#release(event.data.senderId);
  }

  /**
   * Hands one platform message to the daemon. While the daemon is unreachable or rate-limits,
   * it retries with backoff (the adapter does not confirm the update meanwhile), so a message
   * is not lost to a daemon restart; the idempotency key makes the retries safe. A message the
   * daemon refuses for good is answered with why, and confirmed (it would never get through).
   */
  async receive(message: InboundMessage): Promise<void> {
    let rechecked = false;
    for (let attempt = 0; ; attempt++) {
      try {
        if (!(await this.#admit(message))) return;
        if (await this.#o.approvals.reply(message)) return;
        if (await this.#o.memory.reply(message)) return;
        const command = /^\/(stop|status|reset)(?:@\w+)?\s*$/i.exec(message.text.trim())?.[1]?.toLowerCase();
        if (command === 'stop') return await this.#stop(message.route);
        if (command === 'status') return await this.#status(message.route);
        if (command === 'reset') return await this.#reset(message);
        const stored = await this.#store(message);
        await this.#submit({ ...message, text: messageText(translateCommand(message.text), stored), attachments: stored.paths });
        return;
      } catch (err) {
        // The daemon checks pairing too: a sender revoked while this process still trusted it
        // (the cache) is checked again, so it is asked to pair and its message held, not refused.
        if (isApiError(err, 'SENDER_NOT_PAIRED') && !rechecked) {
          rechecked = true;
          this.#approved.delete(message.senderId);
          continue;
        }
        const transient = isTransient(err);
        this.#o.log(transient ? 'warn' : 'error', `inbound message ${message.platformMessageId} from ${message.senderId}: ${errorText(err)}`);
        if (!transient) return this.#refused(message.route, err);
        if (this.#stopped || attempt >= 20) throw err;
        await this.#o.stopping.sleep(retryDelay(attempt, 250, 30_000));
      }
    }
  }

  /** A button of an approval prompt (or of a memory prompt, `memory`) was pressed (the daemon checks who may answer). */
  async click(click: ApprovalClick, memory?: MemoryPrompts): Promise<void> {
    try {
      await (memory ?? this.#o.approvals).click(click);
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
   * True when the sender is let in (the sender check, `checkSender`); otherwise the sender asks
   * to be (`requestPairing`), the message is held and the sender told how to pair. Never waits on
   * the daemon's pairing rate limit: a rate-limited request holds the message and is asked again
   * in the background. The sender check is not rate-limited, so a flood of strangers never
   * locks an approved sender out.
   */
  async #admit(message: InboundMessage): Promise<boolean> {
    const cachedAt = this.#approved.get(message.senderId);
    if (cachedAt !== undefined && Date.now() - cachedAt < this.#o.approvedCacheMs) return true;
    const body = { channel: this.#o.channel, senderId: message.senderId, sender: message.sender };
    if ((await this.#o.api.checkSender({ body })).approved) {
      this.#approved.set(message.senderId, Date.now());
      return true;
    }
    this.#approved.delete(message.senderId);
    let answer: Awaited<ReturnType<ApiClient['requestPairing']>>;
    try {
      answer = await this.#o.api.requestPairing({ body });
    } catch (err) {
      // Too many pending requests: this sender cannot even wait in line.
      if (isApiError(err, 'LIMIT_EXCEEDED')) {
        this.#notice(message.route, 'This bot cannot take new pairing requests right now. Please try again later.');
        return false;
      }
      if (!isApiError(err, 'RATE_LIMITED')) throw err;
      await this.#hold(message);
      this.#pairLater(message, err);
      return false;
    }
    // Approved between the check and the request.
    if (answer.status === 'approved') {
      this.#approved.set(message.senderId, Date.now());
      return true;
    }
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
    void this.#o.delivery.say(message.senderId, text).then(
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
      this.#o.routes.set(result.conversationId, message.route);
      this.#o.delivery.track(result.conversationId, message.route);
    }
    if (result.reply !== undefined) this.#notice(message.route, result.reply);
    if (result.action === 'enqueued' && result.created) this.#o.delivery.startTyping(message.route);
  }

  async #stop(route: string): Promise<void> {
    const conversationId = this.#latest.get(route);
    if (conversationId === undefined) return this.#notice(route, 'Nothing to stop here.');
    const result = await this.#o.api.cancelConversation({ params: { id: conversationId } });
    this.#o.delivery.stopped(route);
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

  /** On every (re)connect: held senders approved while the channel was away are let through (a sender check each). */
  async catchUp(): Promise<void> {
    for (const senderId of this.#held.senders()) {
      const first = this.#held.forSender(senderId)[0];
      if (first === undefined) continue;
      try {
        if ((await this.#o.api.checkSender({ body: { channel: this.#o.channel, senderId, sender: first.sender } })).approved) await this.#release(senderId);
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
}

/** The text the agent gets: a file sent without a caption is a message too, naming its files. */
function messageText(text: string, stored: StoredFiles): string {
  const withFiles = withSkippedFiles(text, stored);
  if (withFiles !== '' || stored.paths.length === 0) return withFiles;
  return `(sent without a caption: ${stored.paths.map((p) => basename(p)).join(', ')})`;
}

/**
 * Live replies (docs/channels.md#live-replies): while an agent works on a chat's message, the
 * chat shows its progress in ONE message that is edited in place, and that message goes away
 * once the answer is there.
 *
 * - Fed by the daemon's event stream (the channel token sees the run events of its own
 *   conversations): `run.started`, `run.progress`, the run's end and `conversation.completed`.
 *   A conversation's chat (route) is learned when the host hands a message over; it is kept in
 *   the state folder (conversations.ts: conversations.json, shared with approval prompts) so a
 *   restarted channel process still knows it.
 * - Modes: `status` shows who works, the elapsed time and the current tool, status or plan line;
 *   `text` the agent's text so far (its end, within the platform's limit) under that line; `off`
 *   posts nothing (typing only).
 * - The progress message appears only once a run has worked for `firstPostMs` (a quick answer
 *   never gets one). It is edited no more often than the adapter's `editIntervalMs` (or its
 *   `editIntervalFor(route)`, e.g. slower in a group): changes in
 *   between are coalesced into the next edit, an unchanged text is never sent, and the elapsed
 *   time alone refreshes it every `heartbeatMs` at most. A `retry_after` answer pauses it.
 * - The answer itself is delivered by the outbox as always (exactly once, new messages, so the
 *   user is notified); once a reply of the chat's conversation is confirmed, the progress message
 *   is removed. Runs that end without a reply (cancelled, failed without one) remove it after
 *   `finishGraceMs`.
 * - No stale "working…" message: every posted progress message is written to live.json before
 *   anything else happens; a stopping channel process removes its progress messages (for up to
 *   3 s), and a starting one removes the ones a crash left behind (a run still going gets a
 *   fresh one with its next progress).
 *
 * Progress is best effort: a failed post, edit or removal is logged and tried again later; it
 * never holds up the delivery of replies.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TinyEvent } from '@tinyagi/client';
import type { LiveReplyMode } from '@tinyagi/client/contract';
import { PermanentSendError, RetryAfterError, type LiveReplyAdapter } from './adapter.ts';
import { ConversationRoutes } from './conversations.ts';
import type { ChannelLog } from './log.ts';

export type { LiveReplyMode };

/** The event types live replies follow (the channel token may subscribe to these). */
export const LIVE_EVENT_TYPES = ['run.started', 'run.progress', 'run.completed', 'run.failed', 'run.cancelled', 'conversation.completed'] as const;

export interface LiveRepliesOptions {
  live: LiveReplyAdapter;
  mode: Exclude<LiveReplyMode, 'off'>;
  /** The platform's text limit (the `text` mode shows the end of the text within it). */
  maxMessageLength: number;
  stateDir: string;
  log: ChannelLog;
  /** Where each conversation lives (the host's, shared with approval prompts); left out: one of its own in `stateDir`. */
  routes?: ConversationRoutes;
  /** Waits for the platform's global send budget (the host's pacer). */
  pace?: () => Promise<void>;
  firstPostMs?: number;
  heartbeatMs?: number;
  finishGraceMs?: number;
}

type ProgressData = Extract<TinyEvent, { type: 'run.progress' }>['data'];

interface RunView {
  agentId: string;
  line: string;
  text: string;
  lastType: ProgressData['type'] | undefined;
}

interface Chat {
  route: string;
  runs: Map<string, RunView>;
  /** When this progress message's work began (elapsed time; the first post waits `firstPostMs` from it). */
  since: number;
  messageId: string | undefined;
  /** The body (without the elapsed time) and the full text last shown. */
  shownBody: string | undefined;
  shown: string | undefined;
  lastWriteAt: number;
  /** Not before (a retry_after answer). */
  pausedUntil: number;
  removeWanted: boolean;
  /** When the chat's runs all ended without a reply: remove the message then. */
  finishAt: number | undefined;
  pumping: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Counts the chat's progress messages: with `since`, the post's idempotency key (a retry reuses it, a new message does not). */
  generation: number;
  /** Failed posts and edits in a row: the next attempt waits longer (the interval, doubled each time, up to a minute). */
  failures: number;
}

interface LiveFile {
  messages: Array<{ route: string; id: string }>;
}

const MAX_ORPHAN_CONVERSATIONS = 200;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `1m 05s`, `42s`, `1h 02m`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One short line for what a run does now (a progress event), or undefined to keep the last. */
function progressLine(data: ProgressData): string | undefined {
  const oneLine = (text: string, max: number): string => {
    const flat = text.replace(/\s+/g, ' ').trim();
    return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
  };
  switch (data.type) {
    case 'text':
      return 'writing';
    case 'tool':
      return data.title ? `${data.name}: ${oneLine(data.title, 100)}` : `using ${data.name}`;
    case 'tool_result':
      return undefined;
    case 'status':
      return oneLine(data.message, 120);
    case 'plan': {
      const current = data.steps.find((s) => s.status === 'in_progress') ?? data.steps.find((s) => s.status === 'pending');
      const done = data.steps.filter((s) => s.status === 'completed').length;
      return `plan ${done}/${data.steps.length}${current ? `: ${oneLine(current.text, 100)}` : ''}`;
    }
    case 'usage':
      return undefined;
  }
}

export class LiveReplies {
  readonly #o: Required<Omit<LiveRepliesOptions, 'pace' | 'routes'>> & { pace: () => Promise<void> };
  readonly #file: string;
  readonly #chats = new Map<string, Chat>();
  /** conversation id → route (persisted). */
  readonly #conversations: ConversationRoutes;
  /** Events of conversations whose route is not known yet (the run started before the message's answer came back). */
  readonly #orphans = new Map<string, TinyEvent[]>();
  /** Runs that ended or were answered: their late progress is ignored. */
  readonly #ended = new Set<string>();
  /** Posted progress messages not yet removed (by `route id`), persisted before anything else. */
  readonly #messages = new Map<string, { route: string; id: string }>();
  #stopped = false;

  constructor(options: LiveRepliesOptions) {
    const { routes, ...rest } = options;
    this.#o = { firstPostMs: 2000, heartbeatMs: 15_000, finishGraceMs: 20_000, pace: async () => {}, ...rest };
    this.#file = join(options.stateDir, 'live.json');
    this.#conversations = routes ?? new ConversationRoutes(options.stateDir, (m) => options.log('warn', m));
    this.#load();
  }

  get mode(): LiveReplyMode {
    return this.#o.mode;
  }

  /** Removes the progress messages a previous process left behind (a crash, a kill). */
  async cleanUp(): Promise<void> {
    // Only what was recorded before this process posted anything (a post of this process is its own to remove).
    for (const [key, { route, id }] of [...this.#messages]) {
      if (this.#chats.get(route)?.messageId === id) continue;
      try {
        await this.#o.pace();
        await this.#o.live.remove(route, id);
        this.#o.log('info', `removed a progress message left behind in ${route}`);
        this.#messages.delete(key);
      } catch (err) {
        if (err instanceof PermanentSendError) this.#messages.delete(key);
        else this.#o.log('warn', `could not remove the progress message left in ${route} (tried again at the next start): ${errorText(err)}`);
      }
    }
    this.#save();
  }

  /** The host handed a message of `route` over and the daemon put it in `conversationId`. */
  track(conversationId: string, route: string): void {
    if (conversationId === '' || this.#stopped) return;
    if (this.#conversations.get(conversationId) !== route) this.#conversations.set(conversationId, route);
    const waiting = this.#orphans.get(conversationId);
    this.#orphans.delete(conversationId);
    for (const event of waiting ?? []) this.onEvent(event);
  }

  onEvent(event: TinyEvent): void {
    if (this.#stopped || event.conversationId === null) return;
    if (!(LIVE_EVENT_TYPES as readonly string[]).includes(event.type)) return;
    const route = this.#conversations.get(event.conversationId);
    if (route === undefined) {
      this.#orphan(event);
      return;
    }
    const runId = event.runId;
    switch (event.type) {
      case 'run.started':
      case 'run.progress': {
        if (runId === null || this.#ended.has(runId)) return;
        const chat = this.#chat(route);
        let run = chat.runs.get(runId);
        if (run === undefined) {
          if (chat.runs.size === 0 && chat.messageId === undefined) chat.since = Date.now();
          run = { agentId: event.agentId ?? 'agent', line: 'working', text: '', lastType: undefined };
          chat.runs.set(runId, run);
        }
        chat.finishAt = undefined;
        if (event.type === 'run.progress') this.#apply(run, event.data);
        break;
      }
      case 'run.completed':
      case 'run.failed':
      case 'run.cancelled': {
        if (runId === null) return;
        this.#ended.add(runId);
        this.#trimEnded();
        const chat = this.#chats.get(route);
        if (chat === undefined || !chat.runs.delete(runId)) return;
        if (chat.runs.size === 0) chat.finishAt = Date.now() + this.#o.finishGraceMs;
        break;
      }
      case 'conversation.completed': {
        const chat = this.#chats.get(route);
        if (chat === undefined) return;
        for (const id of chat.runs.keys()) this.#ended.add(id);
        chat.runs.clear();
        chat.finishAt ??= Date.now() + this.#o.finishGraceMs;
        break;
      }
      default:
        return;
    }
    this.#kick(this.#chats.get(route));
  }

  /** A reply of `runId` (or, without one, of the chat) was confirmed in `route`: the progress message goes. */
  answered(route: string, runId: string | null): void {
    if (this.#stopped) return;
    if (runId !== null) {
      this.#ended.add(runId);
      this.#trimEnded();
    }
    const chat = this.#chats.get(route);
    if (chat === undefined) return;
    if (runId !== null) chat.runs.delete(runId);
    chat.removeWanted = true;
    this.#kick(chat);
  }

  /** `/stop` in a chat: its progress message goes now. */
  stopped(route: string): void {
    const chat = this.#chats.get(route);
    if (chat === undefined) return;
    for (const id of chat.runs.keys()) this.#ended.add(id);
    chat.runs.clear();
    chat.removeWanted = true;
    this.#kick(chat);
  }

  /**
   * Stops editing and removes the progress messages shown now, giving up after `withinMs` (the
   * platform may be unreachable): what is left stays recorded, and the next process removes it.
   * A run still going gets a fresh progress message from that process.
   */
  async stop(withinMs = 3000): Promise<void> {
    this.#stopped = true;
    for (const chat of this.#chats.values()) clearTimeout(chat.timer);
    const removals = [...this.#messages].map(async ([key, { route, id }]) => {
      try {
        await this.#o.live.remove(route, id);
      } catch (err) {
        if (!(err instanceof PermanentSendError)) return;
      }
      this.#messages.delete(key);
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(removals), new Promise((resolve) => (timer = setTimeout(resolve, withinMs)))]);
    clearTimeout(timer);
    this.#save();
  }

  #orphan(event: TinyEvent): void {
    const id = event.conversationId!;
    let list = this.#orphans.get(id);
    if (list === undefined) {
      // Progress of conversations of this channel this process never handed over (another process's, a schedule's).
      if (this.#orphans.size >= MAX_ORPHAN_CONVERSATIONS) this.#orphans.delete(this.#orphans.keys().next().value!);
      list = [];
      this.#orphans.set(id, list);
    }
    if (list.length < 50) list.push(event);
  }

  #trimEnded(): void {
    if (this.#ended.size <= 5000) return;
    for (const id of [...this.#ended].slice(0, 1000)) this.#ended.delete(id);
  }

  #apply(run: RunView, data: ProgressData): void {
    if (data.type === 'text') {
      // A text after a tool starts a new block; deltas of one block join as they are.
      if (run.text !== '' && run.lastType !== undefined && run.lastType !== 'text' && !/\s$/.test(run.text)) run.text += '\n\n';
      run.text = (run.text + data.text).slice(-20_000);
    }
    if (data.type !== 'usage') run.lastType = data.type;
    const line = progressLine(data);
    if (line !== undefined) run.line = line;
  }

  #chat(route: string): Chat {
    let chat = this.#chats.get(route);
    if (chat === undefined) {
      chat = {
        route,
        runs: new Map(),
        since: Date.now(),
        messageId: undefined,
        shownBody: undefined,
        shown: undefined,
        lastWriteAt: 0,
        pausedUntil: 0,
        removeWanted: false,
        finishAt: undefined,
        pumping: false,
        timer: undefined,
        generation: 0,
        failures: 0,
      };
      this.#chats.set(route, chat);
    }
    return chat;
  }

  /** The progress message's text: the body (what changes with progress) and the elapsed time. */
  #render(chat: Chat, now: number): { body: string; full: string } {
    const runs = [...chat.runs.values()];
    const lines = runs.slice(0, 5).map((r) => `@${r.agentId}: ${r.line}`);
    if (runs.length > 5) lines.push(`and ${runs.length - 5} more`);
    const head = `⏳ working… ${formatElapsed(now - chat.since)}`;
    let body = lines.join('\n');
    if (this.#o.mode === 'text') {
      const text = runs.findLast((r) => r.text.trim() !== '')?.text.trim() ?? '';
      if (text !== '') {
        const room = this.#o.maxMessageLength - head.length - body.length - 8;
        body += `\n\n${text.length > room ? `…${text.slice(text.length - room + 1)}` : text}`;
      }
    }
    // Within the platform's limit whatever the lines (a kind with a small one).
    const room = Math.max(1, this.#o.maxMessageLength - head.length - 1);
    if (body.length > room) body = `${body.slice(0, room - 1)}…`;
    return { body, full: `${head}\n${body}` };
  }

  /** Runs the chat's worker now, unless it is running (it looks again when done). */
  #kick(chat: Chat | undefined): void {
    if (chat === undefined || this.#stopped) return;
    clearTimeout(chat.timer);
    chat.timer = undefined;
    void this.#pump(chat);
  }

  #later(chat: Chat, at: number): void {
    clearTimeout(chat.timer);
    chat.timer = setTimeout(() => this.#kick(chat), Math.max(0, at - Date.now()) + 5);
    chat.timer.unref();
  }

  /** One platform call at a time per chat: remove, post or edit — whatever is due — until nothing is. */
  async #pump(chat: Chat): Promise<void> {
    if (chat.pumping) return;
    chat.pumping = true;
    try {
      for (;;) {
        if (this.#stopped) return;
        const now = Date.now();
        if (chat.finishAt !== undefined && now >= chat.finishAt && chat.runs.size === 0) chat.removeWanted = true;
        if (chat.removeWanted) {
          chat.removeWanted = false;
          if (chat.messageId !== undefined) await this.#remove(chat);
          if (chat.runs.size === 0) {
            this.#chats.delete(chat.route);
            return;
          }
          chat.since = Date.now();
          continue;
        }
        if (chat.runs.size === 0) {
          if (chat.messageId === undefined) {
            this.#chats.delete(chat.route);
            return;
          }
          chat.finishAt ??= now + this.#o.finishGraceMs;
          return this.#later(chat, chat.finishAt);
        }
        if (now < chat.pausedUntil) return this.#later(chat, chat.pausedUntil);
        const { body, full } = this.#render(chat, now);
        // After a failure, the next attempt waits the interval, doubled with each failure in a row.
        const interval = this.#o.live.editIntervalFor?.(chat.route) ?? this.#o.live.editIntervalMs;
        const backoff = chat.failures === 0 ? 0 : chat.lastWriteAt + Math.min(60_000, Math.max(interval, 500) * 2 ** (chat.failures - 1));
        if (chat.messageId === undefined) {
          const at = Math.max(chat.since + this.#o.firstPostMs, backoff);
          if (now < at) return this.#later(chat, at);
          await this.#post(chat, body, full);
          continue;
        }
        // A platform that cannot edit keeps its first status until the message is removed.
        if (this.#o.live.editable === false) return;
        const due = Math.max(chat.lastWriteAt + interval, backoff);
        const stale = body !== chat.shownBody;
        if (!stale) {
          // Only the clock moved: refreshed every heartbeat.
          const beat = chat.lastWriteAt + Math.max(this.#o.heartbeatMs, interval);
          if (now < beat) return this.#later(chat, beat);
          if (full === chat.shown) return this.#later(chat, beat + 1000);
        } else if (now < due) return this.#later(chat, due);
        await this.#edit(chat, body, full);
      }
    } finally {
      chat.pumping = false;
    }
  }

  async #post(chat: Chat, body: string, full: string): Promise<void> {
    try {
      await this.#o.pace();
      const id = await this.#o.live.post(chat.route, full, `live:${chat.route}:${chat.since}:${chat.generation}`);
      chat.messageId = id;
      this.#messages.set(`${chat.route} ${id}`, { route: chat.route, id });
      this.#save();
      chat.shownBody = body;
      chat.shown = full;
      chat.failures = 0;
    } catch (err) {
      this.#failed(chat, 'post', err);
    } finally {
      chat.lastWriteAt = Date.now();
    }
  }

  async #edit(chat: Chat, body: string, full: string): Promise<void> {
    try {
      await this.#o.pace();
      await this.#o.live.edit(chat.route, chat.messageId!, full);
      chat.shownBody = body;
      chat.shown = full;
      chat.failures = 0;
    } catch (err) {
      if (err instanceof PermanentSendError) {
        // Gone (deleted by someone): a new one is posted with the next change.
        this.#forget(chat);
      }
      this.#failed(chat, 'edit', err);
    } finally {
      chat.lastWriteAt = Date.now();
    }
  }

  async #remove(chat: Chat): Promise<void> {
    const id = chat.messageId!;
    for (let attempt = 0; attempt < 4 && !this.#stopped; attempt++) {
      try {
        await this.#o.pace();
        await this.#o.live.remove(chat.route, id);
        break;
      } catch (err) {
        if (err instanceof PermanentSendError) break;
        this.#o.log('warn', `could not remove the progress message in ${chat.route}: ${errorText(err)}`);
        // Still recorded: a later start removes it.
        if (attempt === 3) {
          chat.messageId = undefined;
          chat.generation += 1;
          return;
        }
        await new Promise((r) => setTimeout(r, err instanceof RetryAfterError ? Math.min(err.retryAfterMs, 30_000) : 500 * 2 ** attempt));
      }
    }
    this.#forget(chat);
    chat.lastWriteAt = Date.now();
  }

  #forget(chat: Chat): void {
    if (chat.messageId !== undefined && this.#messages.delete(`${chat.route} ${chat.messageId}`)) {
      this.#save();
    }
    chat.messageId = undefined;
    chat.shownBody = undefined;
    chat.shown = undefined;
    chat.generation += 1;
  }

  #failed(chat: Chat, what: string, err: unknown): void {
    chat.failures += 1;
    if (err instanceof RetryAfterError) chat.pausedUntil = Date.now() + err.retryAfterMs;
    this.#o.log('warn', `live reply ${what} in ${chat.route}: ${errorText(err)}`);
  }

  #load(): void {
    if (!existsSync(this.#file)) return;
    try {
      const data = JSON.parse(readFileSync(this.#file, 'utf8')) as Partial<LiveFile>;
      for (const m of Array.isArray(data.messages) ? data.messages : []) {
        if (typeof m?.route === 'string' && typeof m.id === 'string') this.#messages.set(`${m.route} ${m.id}`, { route: m.route, id: m.id });
      }
    } catch (err) {
      this.#o.log('warn', `${this.#file} is unreadable (${errorText(err)}); starting without it`);
    }
  }

  #save(): void {
    const data: LiveFile = { messages: [...this.#messages.values()] };
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(data), { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
}

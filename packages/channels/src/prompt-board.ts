/**
 * What a channel's prompts have in common, whatever they ask (an approval request, a memory
 * proposal): a prompt is posted into the chat of the conversation it belongs to (waiting for that
 * chat to be known), with the adapter's buttons or as a plain message; it is recorded in a state
 * file before anything else happens; once the item is decided anywhere its prompt is settled (its
 * text becomes the outcome and its buttons go, or the outcome is said as a new message); each
 * (re)connect of the event stream settles the recorded prompts decided meanwhile and posts the
 * open items of this channel not posted yet, so a crash or restart leaves no stale buttons and
 * misses nothing. What is asked and how an answer becomes a decision is the kind's
 * (approvals.ts, memory-prompts.ts).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isApiError } from '@tinyagi/client';
import type { ApiErrorCode } from '@tinyagi/client/contract';
import { PermanentSendError, type ApprovalPrompt, type ChannelAdapter } from './adapter.ts';
import type { ConversationRoutes } from './conversations.ts';
import type { ChannelLog } from './log.ts';
import { errorText } from './retry.ts';

/** What every recorded prompt has. */
export interface PostedPrompt {
  id: string;
  route: string;
  /** The platform's message with the buttons; left out for a plain prompt (answered in words or numbers). */
  messageId?: string;
  postedAt: number;
}

export interface PromptHostOptions {
  channel: string;
  adapter: ChannelAdapter;
  stateDir: string;
  routes: ConversationRoutes;
  log: ChannelLog;
  /** Sends a plain message now (the host's retries); rejects when it cannot. */
  say(route: string, text: string): Promise<void>;
  /** Waits for the platform's global send budget. */
  pace?: () => Promise<void>;
}

/** One kind of prompt: how its items are read, shown and recorded. */
export interface PromptKind<T, P extends PostedPrompt> {
  /** For logs: `approval`, `memory proposal`. */
  noun: string;
  /** The state file's name in the channel's state folder. */
  file: string;
  idOf(item: T): string;
  /** Still waiting for a decision (a prompt is posted only for such an item, settled only for another). */
  isOpen(item: T): boolean;
  /** Open but past its time (an approval's expiry): not posted, and settled by its own event. */
  expired?(item: T): boolean;
  /** The conversation whose chat gets the prompt; null: none (never posted). */
  conversationOf(item: T): string | null;
  prompt(item: T, buttons: boolean): ApprovalPrompt;
  /** The record of a posted prompt: the common fields and the kind's own. */
  record(item: T, posted: PostedPrompt, prompt: ApprovalPrompt): P;
  /** A record read back from the state file, or undefined to drop it. */
  revive(raw: P): P | undefined;
  /** What the settled prompt says. */
  outcome(item: T): string;
  /** The item as the daemon has it now. */
  fetch(id: string): Promise<T>;
  /** The API's error code of an item that is gone. */
  notFound: ApiErrorCode;
  /** This channel's open items (for the catch-up). */
  listOpen(): Promise<T[]>;
  /** An item another message shows already (a burst's grouped prompt): never posted on its own. */
  held?(id: string): boolean;
}

const MAX_WAITING = 200;
const MAX_DECIDED = 2000;

export class PromptBoard<T, P extends PostedPrompt> {
  readonly #o: PromptHostOptions;
  readonly #k: PromptKind<T, P>;
  readonly #file: string;
  /** Posted prompts not settled yet (persisted before anything else happens). */
  readonly #prompts = new Map<string, P>();
  /** Posts under way. */
  readonly #posting = new Map<string, Promise<void>>();
  /** Items decided while their prompt was being posted (or before): settled once it is. */
  readonly #decided = new Map<string, T>();
  /** Items whose conversation's chat is not known yet. */
  readonly #waiting = new Map<string, T[]>();
  #stopped = false;

  constructor(options: PromptHostOptions, kind: PromptKind<T, P>) {
    this.#o = options;
    this.#k = kind;
    this.#file = join(options.stateDir, kind.file);
    this.#load();
    options.routes.onSet((conversationId) => {
      const waiting = this.#waiting.get(conversationId);
      this.#waiting.delete(conversationId);
      for (const item of waiting ?? []) void this.post(item);
    });
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  stop(): void {
    this.#stopped = true;
  }

  /** The recorded prompt of an item. */
  get(id: string): P | undefined {
    return this.#prompts.get(id);
  }

  /** The chat's prompts still waiting, with buttons, oldest first. */
  openIn(route: string): P[] {
    return [...this.#prompts.values()].filter((p) => p.route === route && p.messageId !== undefined && !this.#decided.has(p.id)).sort((a, b) => a.postedAt - b.postedAt);
  }

  /** Takes a prompt off the board, its message as it is (a burst's grouped prompt takes it over). */
  detach(id: string): P | undefined {
    const posted = this.#prompts.get(id);
    if (posted !== undefined) this.#forget(id);
    return posted;
  }

  /** Waits for the posts under way (a prompt the next item may join). */
  async settled(): Promise<void> {
    await Promise.all([...this.#posting.values()]);
  }

  /** The chat's most recently posted prompt still waiting. */
  latestIn(route: string): P | undefined {
    let latest: P | undefined;
    for (const p of this.#prompts.values()) if (p.route === route && !this.#decided.has(p.id) && (latest === undefined || p.postedAt >= latest.postedAt)) latest = p;
    return latest;
  }

  /** Each (re)connect: the recorded prompts decided meanwhile are settled, the open items not posted yet are posted. */
  async catchUp(): Promise<void> {
    const k = this.#k;
    for (const posted of [...this.#prompts.values()]) {
      if (this.#stopped) return;
      try {
        const now = await k.fetch(posted.id);
        if (!k.isOpen(now)) await this.settle(now);
      } catch (err) {
        if (isApiError(err, k.notFound)) this.#forget(posted.id);
        else this.#o.log('warn', `could not check ${k.noun} ${posted.id}: ${errorText(err)}`);
      }
    }
    try {
      const open = await k.listOpen();
      for (const item of open.reverse()) void this.post(item);
    } catch (err) {
      this.#o.log('warn', `could not list the open ${k.noun}s: ${errorText(err)}`);
    }
  }

  post(item: T): Promise<void> {
    const id = this.#k.idOf(item);
    if (this.#stopped || this.#prompts.has(id) || this.#decided.has(id) || this.#k.held?.(id) === true) return Promise.resolve();
    const under = this.#posting.get(id);
    if (under !== undefined) return under;
    if (!this.#k.isOpen(item) || this.#k.expired?.(item) === true) return Promise.resolve();
    const conversationId = this.#k.conversationOf(item);
    if (conversationId === null) return Promise.resolve();
    const route = this.#o.routes.get(conversationId);
    if (route === undefined) {
      // The conversation's chat comes with the answer to the message that started it.
      let list = this.#waiting.get(conversationId);
      if (list === undefined) {
        if (this.#waiting.size >= MAX_WAITING) this.#waiting.delete(this.#waiting.keys().next().value!);
        list = [];
        this.#waiting.set(conversationId, list);
      }
      if (!list.some((w) => this.#k.idOf(w) === id)) list.push(item);
      return Promise.resolve();
    }
    const posting = this.#postTo(route, item).finally(() => this.#posting.delete(id));
    this.#posting.set(id, posting);
    return posting;
  }

  async #postTo(route: string, item: T): Promise<void> {
    const k = this.#k;
    const id = k.idOf(item);
    const buttons = this.#o.adapter.approvals;
    const prompt = k.prompt(item, buttons !== undefined);
    for (let attempt = 0; attempt < 4 && !this.#stopped; attempt++) {
      try {
        await this.#o.pace?.();
        let messageId: string | undefined;
        if (buttons !== undefined) messageId = await buttons.post(route, prompt);
        else await this.#o.say(route, prompt.text);
        this.#prompts.set(id, k.record(item, { id, route, ...(messageId !== undefined ? { messageId } : {}), postedAt: Date.now() }, prompt));
        this.#save();
        this.#o.log('info', `${k.noun} ${id} posted to ${route}`);
        break;
      } catch (err) {
        this.#o.log('warn', `could not post ${k.noun} ${id} to ${route}: ${errorText(err)}`);
        if (err instanceof PermanentSendError) return;
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
    }
    // Decided while it was being posted.
    const decided = this.#decided.get(id);
    if (decided !== undefined && this.#prompts.has(id)) await this.settle(decided);
  }

  /** The item is decided (an event, a person's answer here): its prompt shows the outcome. */
  async settle(item: T): Promise<void> {
    const k = this.#k;
    if (k.isOpen(item)) return;
    const id = k.idOf(item);
    this.#decided.set(id, item);
    if (this.#decided.size > MAX_DECIDED) this.#decided.delete(this.#decided.keys().next().value!);
    for (const [conversationId, list] of this.#waiting) {
      const kept = list.filter((w) => k.idOf(w) !== id);
      if (kept.length === 0) this.#waiting.delete(conversationId);
      else this.#waiting.set(conversationId, kept);
    }
    const posted = this.#prompts.get(id);
    if (posted === undefined || this.#stopped) return;
    // One settle per prompt: the event and a press's own answer may both arrive.
    this.#prompts.delete(id);
    const text = k.outcome(item);
    try {
      await this.#o.pace?.();
      const buttons = this.#o.adapter.approvals;
      if (posted.messageId !== undefined && buttons !== undefined) await buttons.settle(posted.route, posted.messageId, text);
      else await this.#o.say(posted.route, text);
      this.#save();
    } catch (err) {
      if (err instanceof PermanentSendError) {
        this.#save();
        return;
      }
      // Still recorded: the next (re)connect settles it.
      this.#prompts.set(id, posted);
      this.#decided.delete(id);
      this.#o.log('warn', `could not settle the prompt of ${k.noun} ${id} in ${posted.route} (tried again at the next connect): ${errorText(err)}`);
    }
  }

  #forget(id: string): void {
    if (this.#prompts.delete(id)) this.#save();
  }

  #load(): void {
    if (!existsSync(this.#file)) return;
    try {
      const data = JSON.parse(readFileSync(this.#file, 'utf8')) as { prompts?: P[] };
      for (const raw of Array.isArray(data.prompts) ? data.prompts : []) {
        if (typeof raw?.id !== 'string' || typeof raw.route !== 'string') continue;
        const p = this.#k.revive(raw);
        if (p !== undefined) this.#prompts.set(p.id, p);
      }
    } catch (err) {
      this.#o.log('warn', `${this.#file} is unreadable (${errorText(err)}); starting without it`);
    }
  }

  #save(): void {
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ prompts: [...this.#prompts.values()] }), { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
}

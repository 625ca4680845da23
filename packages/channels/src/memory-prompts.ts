/**
 * Memory proposals in the chat apps (docs/channels.md#memory-proposals, docs/memory.md): when an
 * agent of a conversation that came in through this channel proposes a memory entry that waits for
 * a person (`memory.proposed`), the host posts it into that conversation's chat — the text, kind,
 * scope, reason and the entry it replaces — with Accept / Reject (a replacement: Replace / Keep
 * both / Reject; a proposal to forget: Forget / Keep). A press decides it through the same route as
 * the API and the CLI (`POST /api/memory/:id/decision`): the daemon checks that the presser is a
 * paired sender the agent's `permissions.approvers` allow, and the first decision wins (a later
 * press hears who decided). Once it is decided anywhere (`memory.decided`) the prompt shows the
 * outcome without buttons.
 *
 * A platform without buttons (WhatsApp) gets the prompt as a message answered by `/accept`,
 * `/reject` (and `/keep` to keep both); these commands answer the chat's latest proposal on every
 * platform. Posted prompts are kept in memory-prompts.json; each (re)connect of the event stream
 * settles those decided meanwhile and posts the proposals of this channel not posted yet.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isApiError, type ApiClient, type TinyEvent } from '@tinyagi/client';
import type { MemoryRecord } from '@tinyagi/client/contract';
import { PermanentSendError, type ApprovalClick, type ApprovalPrompt, type ApprovalPromptAction, type ChannelAdapter, type InboundMessage } from './adapter.ts';
import type { ConversationRoutes } from './conversations.ts';
import type { ChannelLog } from './log.ts';
import { errorText } from './retry.ts';

/** The events memory prompts follow (the channel token sees those of its own conversations). */
export const MEMORY_EVENT_TYPES = ['memory.proposed', 'memory.decided'] as const;

/** A memory entry's id: what a button of a memory prompt carries (an approval's is `apr_…`). */
export const isMemoryId = (id: string): boolean => id.startsWith('mem_');

export interface MemoryPromptsOptions {
  channel: string;
  api: ApiClient;
  adapter: ChannelAdapter;
  stateDir: string;
  routes: ConversationRoutes;
  log: ChannelLog;
  /** Sends a plain message now (the host's retries); rejects when it cannot. */
  say(route: string, text: string): Promise<void>;
  /** Waits for the platform's global send budget. */
  pace?: () => Promise<void>;
}

interface Posted {
  id: string;
  route: string;
  /** The platform's message with the buttons; left out for a plain prompt (answered with commands). */
  messageId?: string;
  /** It replaces an entry (Replace / Keep both / Reject). */
  replaces: boolean;
  postedAt: number;
}

type Decision = { decision: 'accept' | 'reject'; keepTarget?: boolean };

/** Button tokens: accept (or replace, or forget), keep both, reject (or keep, for a forget). */
const DECISIONS: Record<string, Decision> = { a: { decision: 'accept' }, k: { decision: 'accept', keepTarget: true }, r: { decision: 'reject' } };
const MAX_WAITING = 200;

function scopeText(entry: MemoryRecord): string {
  return `${entry.scope.kind} ${entry.scope.id}`;
}

function clip(text: string, max = 1500): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function proposer(entry: MemoryRecord): string {
  return entry.provenance.proposedBy.startsWith('@') ? entry.provenance.proposedBy : `@${entry.provenance.proposedBy}`;
}

/** The prompt a chat gets: who proposes what, of which kind and scope, why, what it replaces, and how to answer. */
export function memoryPromptFor(entry: MemoryRecord, target: MemoryRecord | null, buttons: boolean): ApprovalPrompt {
  const forget = entry.action === 'forget';
  const replaces = !forget && entry.targetId !== null;
  const lines = [
    `🧠 **${proposer(entry)} proposes to ${forget ? 'forget' : 'remember'}** (${entry.kind}, memory of ${scopeText(entry)}):`,
    clip(entry.text),
    `Why: ${clip(entry.reason ?? '(no reason given)', 500)}`,
  ];
  if (replaces) lines.push(`It replaces ${entry.targetId}: ${target === null ? '(not readable here)' : clip(target.text, 500)}`);
  lines.push('');
  const commands = forget
    ? '`/accept` to forget it, `/reject` to keep it'
    : replaces
      ? '`/accept` to replace the old entry, `/keep` to keep both, `/reject` to drop it'
      : '`/accept` to remember it, `/reject` to drop it';
  lines.push(buttons ? 'Answer with a button.' : `Reply ${commands}.`);
  const actions: ApprovalPromptAction[] = forget
    ? [
        { label: 'Forget', token: 'a', style: 'primary' },
        { label: 'Keep', token: 'r', style: 'danger' },
      ]
    : replaces
      ? [
          { label: 'Replace', token: 'a', style: 'primary' },
          { label: 'Keep both', token: 'k' },
          { label: 'Reject', token: 'r', style: 'danger' },
        ]
      : [
          { label: 'Accept', token: 'a', style: 'primary' },
          { label: 'Reject', token: 'r', style: 'danger' },
        ];
  return { id: entry.id, kind: 'permission', text: lines.join('\n'), actions };
}

/** What a settled prompt says: the outcome and who decided, and what was proposed. */
export function memoryOutcomeFor(entry: MemoryRecord): string {
  const by = entry.decidedBy ?? 'someone';
  const head = entry.status === 'accepted' ? `✅ Accepted by ${by}` : entry.status === 'rejected' ? `⛔ Rejected by ${by}` : `✖ ${entry.status[0]!.toUpperCase()}${entry.status.slice(1)}`;
  return `${head}\n${proposer(entry)} proposed to ${entry.action === 'forget' ? 'forget' : 'remember'}: ${clip(entry.text, 500)}`;
}

/** The note to the person whose decision went through. */
function noteFor(entry: MemoryRecord, d: Decision): string {
  if (entry.status === 'rejected') return entry.action === 'forget' ? 'Rejected: the entry is kept.' : 'Rejected.';
  if (entry.action === 'forget') return 'Accepted: the entry is forgotten.';
  if (entry.targetId === null) return 'Accepted: remembered.';
  return d.keepTarget === true ? 'Accepted: remembered, and the old entry is kept too.' : 'Accepted: remembered in place of the old entry.';
}

export class MemoryPrompts {
  readonly #o: MemoryPromptsOptions;
  readonly #file: string;
  /** Posted prompts not settled yet (persisted before anything else happens). */
  readonly #prompts = new Map<string, Posted>();
  readonly #posting = new Map<string, Promise<void>>();
  /** Proposals decided while (or before) their prompt was being posted: settled once it is. */
  readonly #decided = new Map<string, MemoryRecord>();
  /** Proposals whose conversation's chat is not known yet. */
  readonly #waiting = new Map<string, Array<{ entry: MemoryRecord; target: MemoryRecord | null }>>();
  #stopped = false;

  constructor(options: MemoryPromptsOptions) {
    this.#o = options;
    this.#file = join(options.stateDir, 'memory-prompts.json');
    this.#load();
    options.routes.onSet((conversationId) => {
      const waiting = this.#waiting.get(conversationId);
      this.#waiting.delete(conversationId);
      for (const p of waiting ?? []) void this.#post(p.entry, p.target);
    });
  }

  stop(): void {
    this.#stopped = true;
  }

  onEvent(event: TinyEvent): void {
    if (this.#stopped) return;
    if (event.type === 'memory.proposed') void this.#post(event.data.entry, event.data.target);
    else if (event.type === 'memory.decided') void this.#settle(event.data.entry);
  }

  /** Each (re)connect: prompts decided meanwhile are settled, proposals made meanwhile are posted. */
  async catchUp(): Promise<void> {
    for (const posted of [...this.#prompts.values()]) {
      if (this.#stopped) return;
      try {
        const now = await this.#o.api.getMemoryRecord({ params: { id: posted.id } });
        if (now.status !== 'proposed') await this.#settle(now);
      } catch (err) {
        if (isApiError(err, 'MEMORY_NOT_FOUND')) this.#forget(posted.id);
        else this.#o.log('warn', `could not check memory proposal ${posted.id}: ${errorText(err)}`);
      }
    }
    try {
      const proposed = await this.#o.api.listMemory({ query: { status: 'proposed', channel: this.#o.channel, limit: 200 } });
      // The entry a proposal replaces may belong to another chat: it is named by its id then.
      for (const entry of proposed.reverse()) void this.#post(entry, null);
    } catch (err) {
      this.#o.log('warn', `could not list the memory proposals: ${errorText(err)}`);
    }
  }

  /** A button of a memory prompt was pressed. */
  async click(click: ApprovalClick): Promise<void> {
    const decision = DECISIONS[click.token];
    if (decision === undefined) return click.notify('This button is not known.');
    const posted = this.#prompts.get(click.approvalId) ?? { id: click.approvalId, route: click.route, replaces: false, postedAt: 0 };
    await this.#decide(posted, decision, `${this.#o.channel}:${click.senderId}`, (text) => click.notify(text), true);
  }

  /** `/accept`, `/keep` or `/reject` answers the chat's latest proposal; true when the message was one (not for the agents). */
  async reply(message: InboundMessage): Promise<boolean> {
    const verb = /^\/(accept|keep|reject)(?:@\w+)?\s*$/i.exec(message.text.trim())?.[1]?.toLowerCase();
    if (verb === undefined) return false;
    const tell = async (t: string): Promise<void> => {
      await this.#o.say(message.route, t).catch((err: unknown) => this.#o.log('warn', `memory reply note to ${message.route}: ${errorText(err)}`));
    };
    const latest = this.#latestIn(message.route);
    if (latest === undefined) {
      await tell('No memory proposal waits for a decision in this chat.');
      return true;
    }
    if (verb === 'keep' && !latest.replaces) {
      await tell('`/keep` keeps both entries of a proposal that replaces one; this one replaces none: `/accept` or `/reject`.');
      return true;
    }
    const decision = DECISIONS[verb === 'accept' ? 'a' : verb === 'keep' ? 'k' : 'r']!;
    await this.#decide(latest, decision, `${this.#o.channel}:${message.senderId}`, tell, latest.messageId !== undefined);
    return true;
  }

  #latestIn(route: string): Posted | undefined {
    let latest: Posted | undefined;
    for (const p of this.#prompts.values()) if (p.route === route && !this.#decided.has(p.id) && (latest === undefined || p.postedAt >= latest.postedAt)) latest = p;
    return latest;
  }

  /** Sends a person's decision (the daemon checks who may decide) and tells them how it went. */
  async #decide(posted: Posted, d: Decision, by: string, notify: (text: string) => Promise<void>, tellSuccess: boolean): Promise<void> {
    try {
      const entry = await this.#o.api.decideMemory({ params: { id: posted.id }, body: { decision: d.decision, by, ...(d.keepTarget === true ? { keepTarget: true } : {}) } });
      if (tellSuccess) await notify(noteFor(entry, d));
      await this.#settle(entry);
    } catch (err) {
      if (isApiError(err, 'INVALID_STATE')) {
        // Decided already: who was first.
        try {
          const now = await this.#o.api.getMemoryRecord({ params: { id: posted.id } });
          await notify(`Already decided: ${now.status} by ${now.decidedBy ?? 'someone'}.`);
          await this.#settle(now);
        } catch {
          await notify(err.message);
        }
        return;
      }
      if (isApiError(err, 'SCOPE_FORBIDDEN') || isApiError(err, 'SENDER_NOT_PAIRED') || isApiError(err, 'MEMORY_NOT_FOUND')) {
        this.#o.log('info', `${by} may not decide ${posted.id}: ${err.message}`);
        await notify(`You may not decide this: ${err.message}`);
        return;
      }
      this.#o.log('warn', `decision on ${posted.id} by ${by} failed: ${errorText(err)}`);
      await notify(`Your decision did not go through (${errorText(err)}); please try again.`);
    }
  }

  #post(entry: MemoryRecord, target: MemoryRecord | null): Promise<void> {
    const id = entry.id;
    if (this.#stopped || this.#prompts.has(id) || this.#decided.has(id) || entry.status !== 'proposed') return Promise.resolve();
    const under = this.#posting.get(id);
    if (under !== undefined) return under;
    const conversationId = entry.provenance.conversationId;
    if (conversationId === null) return Promise.resolve();
    const route = this.#o.routes.get(conversationId);
    if (route === undefined) {
      let list = this.#waiting.get(conversationId);
      if (list === undefined) {
        if (this.#waiting.size >= MAX_WAITING) this.#waiting.delete(this.#waiting.keys().next().value!);
        list = [];
        this.#waiting.set(conversationId, list);
      }
      if (!list.some((p) => p.entry.id === id)) list.push({ entry, target });
      return Promise.resolve();
    }
    const posting = this.#postTo(route, entry, target).finally(() => this.#posting.delete(id));
    this.#posting.set(id, posting);
    return posting;
  }

  async #postTo(route: string, entry: MemoryRecord, target: MemoryRecord | null): Promise<void> {
    const buttons = this.#o.adapter.approvals;
    const prompt = memoryPromptFor(entry, target, buttons !== undefined);
    for (let attempt = 0; attempt < 4 && !this.#stopped; attempt++) {
      try {
        await this.#o.pace?.();
        let messageId: string | undefined;
        if (buttons !== undefined) messageId = await buttons.post(route, prompt);
        else await this.#o.say(route, prompt.text);
        this.#prompts.set(entry.id, { id: entry.id, route, ...(messageId !== undefined ? { messageId } : {}), replaces: entry.action === 'remember' && entry.targetId !== null, postedAt: Date.now() });
        this.#save();
        this.#o.log('info', `memory proposal ${entry.id} posted to ${route}`);
        break;
      } catch (err) {
        this.#o.log('warn', `could not post memory proposal ${entry.id} to ${route}: ${errorText(err)}`);
        if (err instanceof PermanentSendError) return;
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
    }
    const decided = this.#decided.get(entry.id);
    if (decided !== undefined && this.#prompts.has(entry.id)) await this.#settle(decided);
  }

  async #settle(entry: MemoryRecord): Promise<void> {
    if (entry.status === 'proposed') return;
    this.#decided.set(entry.id, entry);
    if (this.#decided.size > 2000) this.#decided.delete(this.#decided.keys().next().value!);
    for (const [conversationId, list] of this.#waiting) {
      const kept = list.filter((p) => p.entry.id !== entry.id);
      if (kept.length === 0) this.#waiting.delete(conversationId);
      else this.#waiting.set(conversationId, kept);
    }
    const posted = this.#prompts.get(entry.id);
    if (posted === undefined || this.#stopped) return;
    // One settle per prompt: the event and a press's own answer may both arrive.
    this.#prompts.delete(entry.id);
    const text = memoryOutcomeFor(entry);
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
      this.#prompts.set(entry.id, posted);
      this.#decided.delete(entry.id);
      this.#o.log('warn', `could not settle the memory prompt of ${entry.id} in ${posted.route} (tried again at the next connect): ${errorText(err)}`);
    }
  }

  #forget(id: string): void {
    if (this.#prompts.delete(id)) this.#save();
  }

  #load(): void {
    if (!existsSync(this.#file)) return;
    try {
      const data = JSON.parse(readFileSync(this.#file, 'utf8')) as { prompts?: Posted[] };
      for (const p of Array.isArray(data.prompts) ? data.prompts : []) if (typeof p?.id === 'string' && typeof p.route === 'string') this.#prompts.set(p.id, { ...p, replaces: p.replaces === true });
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

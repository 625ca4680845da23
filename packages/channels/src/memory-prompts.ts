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
 * platform. Posting, recording (memory-prompts.json) and settling are the prompt board's
 * (prompt-board.ts), as for approval requests.
 */
import { isApiError, type ApiClient, type TinyEvent } from '@tinyagi/client';
import type { MemoryRecord } from '@tinyagi/client/contract';
import type { ApprovalClick, ApprovalPrompt, ApprovalPromptAction, InboundMessage } from './adapter.ts';
import { PromptBoard, type PostedPrompt, type PromptHostOptions } from './prompt-board.ts';
import { errorText } from './retry.ts';

/** The events memory prompts follow (the channel token sees those of its own conversations). */
export const MEMORY_EVENT_TYPES = ['memory.proposed', 'memory.decided'] as const;

/** A memory entry's id: what a button of a memory prompt carries (an approval's is `apr_…`). */
export const isMemoryId = (id: string): boolean => id.startsWith('mem_');

export interface MemoryPromptsOptions extends PromptHostOptions {
  api: ApiClient;
}

/** A proposal as posted: the entry, and the entry it replaces when the event carried it. */
interface Proposal {
  entry: MemoryRecord;
  target: MemoryRecord | null;
}

interface Posted extends PostedPrompt {
  /** It replaces an entry (Replace / Keep both / Reject). */
  replaces: boolean;
}

type Decision = { decision: 'accept' | 'reject'; keepTarget?: boolean };

/** Button tokens: accept (or replace, or forget), keep both, reject (or keep, for a forget). */
const DECISIONS: Record<string, Decision> = { a: { decision: 'accept' }, k: { decision: 'accept', keepTarget: true }, r: { decision: 'reject' } };

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
  readonly #board: PromptBoard<Proposal, Posted>;

  constructor(options: MemoryPromptsOptions) {
    this.#o = options;
    const api = options.api;
    this.#board = new PromptBoard<Proposal, Posted>(options, {
      noun: 'memory proposal',
      file: 'memory-prompts.json',
      idOf: (p) => p.entry.id,
      isOpen: (p) => p.entry.status === 'proposed',
      conversationOf: (p) => p.entry.provenance.conversationId,
      prompt: (p, buttons) => memoryPromptFor(p.entry, p.target, buttons),
      record: (p, posted) => ({ ...posted, replaces: p.entry.action === 'remember' && p.entry.targetId !== null }),
      revive: (raw) => ({ ...raw, replaces: raw.replaces === true }),
      outcome: (p) => memoryOutcomeFor(p.entry),
      fetch: async (id) => ({ entry: await api.getMemoryRecord({ params: { id } }), target: null }),
      notFound: 'MEMORY_NOT_FOUND',
      // The entry a proposal replaces may belong to another chat: it is named by its id then.
      listOpen: async () => (await api.listMemory({ query: { status: 'proposed', channel: options.channel, limit: 200 } })).map((entry) => ({ entry, target: null })),
    });
  }

  stop(): void {
    this.#board.stop();
  }

  onEvent(event: TinyEvent): void {
    if (this.#board.stopped) return;
    if (event.type === 'memory.proposed') void this.#board.post({ entry: event.data.entry, target: event.data.target });
    else if (event.type === 'memory.decided') void this.#settle(event.data.entry);
  }

  /** Each (re)connect: prompts decided meanwhile are settled, proposals made meanwhile are posted. */
  catchUp(): Promise<void> {
    return this.#board.catchUp();
  }

  /** A button of a memory prompt was pressed. */
  async click(click: ApprovalClick): Promise<void> {
    const decision = DECISIONS[click.token];
    if (decision === undefined) return click.notify('This button is not known.');
    const posted = this.#board.get(click.approvalId) ?? { id: click.approvalId, route: click.route, replaces: false, postedAt: 0 };
    await this.#decide(posted, decision, `${this.#o.channel}:${click.senderId}`, (text) => click.notify(text), true);
  }

  /** `/accept`, `/keep` or `/reject` answers the chat's latest proposal; true when the message was one (not for the agents). */
  async reply(message: InboundMessage): Promise<boolean> {
    const verb = /^\/(accept|keep|reject)(?:@\w+)?\s*$/i.exec(message.text.trim())?.[1]?.toLowerCase();
    if (verb === undefined) return false;
    const tell = async (t: string): Promise<void> => {
      await this.#o.say(message.route, t).catch((err: unknown) => this.#o.log('warn', `memory reply note to ${message.route}: ${errorText(err)}`));
    };
    const latest = this.#board.latestIn(message.route);
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

  #settle(entry: MemoryRecord): Promise<void> {
    return this.#board.settle({ entry, target: null });
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
}

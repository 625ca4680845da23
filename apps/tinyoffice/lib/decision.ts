/**
 * A conversation waiting for the person's decision (`awaitingDecision`): a loop or budget guard
 * held a handoff back, stopped the conversation, or warned that a soft limit was reached. The
 * person answers `continue` (the conversation's limits are raised and held work delivered) or
 * `stop`, on that conversation by its id (POST /api/conversations/:id/answer).
 */
import type { OutboxView, TinyEvent } from '@tinyagi/client';

/**
 * Events after which a conversation's `awaitingDecision` may have changed. Set: `guard.rejected`
 * (a handoff held, or the conversation stopped), `budget.exceeded`, `budget.warning` (a soft
 * limit). Cleared: `system.notice` (action `continue` or `stop`, however the person answered),
 * or the conversation ended another way (`conversation.completed`: cancelled).
 */
const DECISION_EVENTS: ReadonlySet<TinyEvent['type']> = new Set(['guard.rejected', 'budget.exceeded', 'budget.warning', 'conversation.completed']);

export function mayChangeDecision(event: TinyEvent): boolean {
  return DECISION_EVENTS.has(event.type) || decided(event);
}

/** The person's `continue` or `stop` (other notices are not about decisions). */
function decided(event: TinyEvent): boolean {
  return event.type === 'system.notice' && (event.data.action === 'continue' || event.data.action === 'stop');
}

/** What the guard said, for the banner: null for events that do not ask for a decision. */
export function guardNote(event: TinyEvent): string | null {
  if (event.type === 'guard.rejected') {
    const d = event.data;
    if (d.action === 'stop') return `A guard stopped the conversation: ${d.message} (${d.limitName}).`;
    // Files not sent, a run not invoked and stopped sub-agents are told, not asked about.
    if (d.action !== undefined || d.files !== undefined) return null;
    const what = d.kind === 'chatroom' ? 'a chat-room post' : 'a handoff';
    const route = d.from && d.to ? ` from @${d.from} to @${d.to}` : '';
    return `A guard held back ${what}${route}: ${d.message} (${d.limitName}).`;
  }
  if (event.type === 'budget.exceeded') return event.data.action === 'stop' ? `A budget stopped the conversation: ${event.data.message} (${event.data.limitName}).` : null;
  if (event.type === 'budget.warning') {
    const { limitName, used, limit } = event.data;
    const amount = (n: number) => (limitName.endsWith('_usd') ? `$${n.toFixed(2)}` : String(Math.round(n)));
    return `The conversation is close to a limit: ${amount(used)} of ${amount(limit)} (${limitName}).`;
  }
  return null;
}

/** The guard note after `events` (oldest first): the latest one, cleared when the person decided. */
export function foldGuardNote(note: string | null, events: readonly TinyEvent[]): string | null {
  let next = note;
  for (const e of events) {
    if (decided(e)) next = null;
    else next = guardNote(e) ?? next;
  }
  return next;
}

/**
 * The guard's note for a page opened after it fired (no events seen): the newest note the daemon
 * sent the person in this conversation (`meta.kind: 'note'`: what was held back or why it
 * stopped), without its "Reply `continue` …" line, which the banner's buttons replace. Null when
 * there is none (pruned by retention).
 */
export function noteFromOutbox(entries: readonly OutboxView[]): string | null {
  const note = entries.findLast((e) => e.meta['kind'] === 'note');
  if (!note) return null;
  const text = note.text
    .split('\n')
    .filter((line) => !/^Reply `continue`/.test(line))
    .join('\n')
    .trim();
  return text === '' ? null : text;
}

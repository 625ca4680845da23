/**
 * Approval requests as the office keeps them (docs/approvals.md): the pending ones loaded with
 * the office, then every `approval.requested|decided|expired` event's record, and the records a
 * page loads (a conversation's). The header counts the pending ones; the inbox, the run tree and
 * the chat draw them from here, so an answer given anywhere (the CLI, another tab, a channel)
 * updates every card at once.
 */
import { approvalOutcomeText, type Approval, type TinyEvent } from '@tinyagi/client';

/** Who answers from this surface, for the record ("Allowed once by tinyoffice"). */
export const DECIDED_BY = 'tinyoffice';

/** The records by id, each replaced by a newer one of the same request (a decided record never goes back to pending). */
export function withApprovals(current: Readonly<Record<string, Approval>>, more: readonly Approval[]): Record<string, Approval> {
  let next: Record<string, Approval> | null = null;
  for (const a of more) {
    const known = (next ?? current)[a.id];
    if (known && known.status !== 'pending' && a.status === 'pending') continue;
    if (known && known.status === a.status && known.decidedAt === a.decidedAt) continue;
    next ??= { ...current };
    next[a.id] = a;
  }
  return next ?? (current as Record<string, Approval>);
}

/** The approval record an event carries, if it is an approval event. */
export function approvalOf(event: TinyEvent): Approval | null {
  if (event.type === 'approval.requested' || event.type === 'approval.decided' || event.type === 'approval.expired') return event.data.approval;
  return null;
}

/** The one expiring first first; those that never expire (a task's rounds) last, oldest first. */
export function byExpiry(a: Approval, b: Approval): number {
  return (a.expiresAt ?? Number.MAX_SAFE_INTEGER) - (b.expiresAt ?? Number.MAX_SAFE_INTEGER) || a.requestedAt - b.requestedAt;
}

/**
 * Requests by what they ask (the daemon's `groupKey`; one of another kind never shares a group):
 * the groups of several first, the most still waiting first, then each request alone, in the
 * order given.
 */
export function groupedByAsk(list: readonly Approval[]): Approval[][] {
  const byKey = new Map<string, Approval[]>();
  for (const a of list) {
    const key = `${a.kind}\u0000${a.groupKey ?? a.id}`;
    const members = byKey.get(key);
    if (members) members.push(a);
    else byKey.set(key, [a]);
  }
  const waiting = (m: Approval[]) => m.filter((a) => a.status === 'pending').length;
  const groups = [...byKey.values()];
  return [...groups.filter((m) => m.length > 1).sort((x, y) => waiting(y) - waiting(x)), ...groups.filter((m) => m.length === 1)];
}

/** Pending requests, the one expiring first first. */
export function pendingOf(all: Readonly<Record<string, Approval>>): Approval[] {
  return Object.values(all)
    .filter((a) => a.status === 'pending')
    .sort(byExpiry);
}

export function countPending(all: Readonly<Record<string, Approval>>): number {
  let n = 0;
  for (const a of Object.values(all)) if (a.status === 'pending') n++;
  return n;
}

/** What became of a request, in one line and the words of every surface: "Allowed once by cli", "Denied by tinyoffice: use staging", "Answered by cli: staging". */
export function outcomeOf(a: Approval): string {
  return approvalOutcomeText(a);
}

/** "4 m 10 s left", "12 s left", "expiring…". */
export function timeLeft(expiresAt: number, now: number): string {
  const s = Math.ceil((expiresAt - now) / 1000);
  if (s <= 0) return 'expiring…';
  if (s < 60) return `${s} s left`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${s % 60} s left`;
  return `${Math.floor(m / 60)} h ${m % 60} m left`;
}

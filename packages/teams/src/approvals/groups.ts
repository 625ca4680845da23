/**
 * Pending requests grouped by what they ask (docs/approvals.md, "A burst of requests"): one group
 * per `groupKey` (core's approvals/group-key.ts), largest first, each with its agents, every id
 * and a sample, so a person can answer dozens of requests with one decision per group.
 */
import { approvalAnswers } from '@tinyagi/client';
import type { ApprovalGroup } from '@tinyagi/client/contract';
import type { ApprovalRecord } from '@tinyagi/core';

/** How many requests of a group are shown in full. */
const SAMPLE = 3;

/** `pending` in any order; each group's requests oldest first; groups by size, then by their oldest request. */
export function groupApprovals(pending: readonly ApprovalRecord[]): ApprovalGroup[] {
  const byKey = new Map<string, ApprovalRecord[]>();
  for (const a of [...pending].sort((x, y) => x.requestedAt - y.requestedAt || x.id.localeCompare(y.id))) {
    if (a.status !== 'pending') continue;
    // The kind is part of a group: a question and a command never share one, whatever their text.
    const key = `${a.kind}\u0000${a.groupKey}`;
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [a]);
    else list.push(a);
  }
  const groups = [...byKey.values()].map((list) => groupOf(list));
  return groups.sort((x, y) => y.count - x.count || (x.sample[0]?.requestedAt ?? 0) - (y.sample[0]?.requestedAt ?? 0));
}

function groupOf(list: ApprovalRecord[]): ApprovalGroup {
  const first = list[0]!;
  const perAgent = new Map<string, number>();
  for (const a of list) perAgent.set(a.agentId, (perAgent.get(a.agentId) ?? 0) + 1);
  const expiries = list.map((a) => a.expiresAt).filter((e): e is number => e !== null);
  return {
    key: first.groupKey,
    kind: first.kind,
    count: list.length,
    agents: [...perAgent.entries()].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).map(([agent]) => agent),
    ids: list.map((a) => a.id),
    sample: list.slice(0, SAMPLE),
    answers: [...approvalAnswers(first.kind)],
    expiresAt: expiries.length > 0 ? Math.min(...expiries) : null,
  };
}

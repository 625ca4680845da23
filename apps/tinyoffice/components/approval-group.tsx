'use client';
/**
 * Requests that ask the same thing (the daemon's `groupKey`, docs/approvals.md "A burst of
 * requests"), answered together: how many wait, which agents ask, a sample of what they ask, and
 * "Approve all N" (allowed once each) / "Deny all N" (with an optional reason) for exactly the N
 * shown (POST /api/approvals/decisions with their ids). Each request is still decided and
 * recorded on its own, and one answered elsewhere in between is left as it was (the line below
 * the buttons says so). Each card stays below, to be answered alone.
 */
import { useId, useState, type ReactNode } from 'react';
import { approvalBatchText, type Approval, type ApprovalDecision } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { withApprovals } from '@/lib/approvals';
import { setState } from '@/lib/store';
import { Button, ErrorLine, plural } from './ui';

/** Kinds a whole group may be answered for with one button (a question wants its own answer; a task's rounds their own choice). */
const GROUP_ANSWERED: ReadonlySet<Approval['kind']> = new Set(['permission', 'egress']);
const SAMPLE = 3;
/** A group this large starts folded: its header answers it, its cards are one click away. */
const FOLD_FROM = 6;

export function ApprovalGroup({ title, members, children }: { title: string; members: readonly Approval[]; children: ReactNode }) {
  const pending = members.filter((a) => a.status === 'pending');
  const [busy, setBusy] = useState<ApprovalDecision | null>(null);
  const [reason, setReason] = useState('');
  const [said, setSaid] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const titleId = useId();
  // Most requests first, then by name: as the daemon's groups list them (GET /api/approvals/groups).
  const perAgent = new Map<string, number>();
  for (const a of members) perAgent.set(a.agentId, (perAgent.get(a.agentId) ?? 0) + 1);
  const agents = [...perAgent].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).map(([agent]) => agent);
  const kind = members[0]?.kind ?? 'permission';

  const decide = async (decision: ApprovalDecision) => {
    setBusy(decision);
    setError(null);
    try {
      const result = await api().decideApprovals({
        body: { ids: pending.map((a) => a.id), decision, ...(decision === 'deny' && reason.trim() ? { reason: reason.trim() } : {}) },
      });
      const records = [...result.decided, ...result.skipped.flatMap((s) => (s.approval ? [s.approval] : []))];
      setState((s) => ({ approvals: withApprovals(s.approvals, records) }));
      setSaid(approvalBatchText(result));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section aria-labelledby={titleId} data-testid="approval-group" data-key={title} data-pending={pending.length} className="space-y-3 rounded-lg border border-violet-300 p-3 dark:border-violet-700">
      <div className="flex flex-wrap items-baseline gap-x-3 gap-y-1">
        <h2 id={titleId} className="font-mono text-base font-semibold break-all">
          {title}
        </h2>
        <p className="text-sm text-slate-600 dark:text-slate-300" data-testid="approval-group-count">
          {pending.length === 0 ? `All ${members.length} answered` : `${plural(pending.length, 'request')} waiting`} · from {plural(agents.length, 'agent')}
        </p>
      </div>
      <p className="text-sm" data-testid="approval-group-agents">
        {agents
          .slice(0, 8)
          .map((a) => `@${a}`)
          .join(', ')}
        {agents.length > 8 ? ` and ${agents.length - 8} more` : ''}
      </p>
      <ul aria-label="What they ask" className="space-y-1 text-sm" data-testid="approval-group-sample">
        {members.slice(0, SAMPLE).map((a) => (
          <li key={a.id} className="truncate font-mono text-slate-700 dark:text-slate-200">
            @{a.agentId}: {a.summary}
          </li>
        ))}
      </ul>
      {pending.length > 0 && GROUP_ANSWERED.has(kind) && (
        <div className="flex flex-wrap items-center gap-2">
          <Button tone="primary" disabled={busy !== null} onClick={() => void decide('allow_once')}>
            Approve all {pending.length}
          </Button>
          <Button tone="danger" disabled={busy !== null} onClick={() => void decide('deny')}>
            Deny all {pending.length}
          </Button>
          <label className="flex items-center gap-2 text-sm">
            <span className="sr-only">Reason for denying all</span>
            <input
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              placeholder="Reason for Deny all (optional)"
              className="w-64 rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
            />
          </label>
        </div>
      )}
      {said && (
        <p role="status" className="text-sm" data-testid="approval-group-outcome">
          {said}
        </p>
      )}
      <ErrorLine error={error} />
      <details open={members.length < FOLD_FROM}>
        <summary className="cursor-pointer text-sm text-slate-600 dark:text-slate-300">Each request alone ({members.length})</summary>
        <div className="mt-2">{children}</div>
      </details>
    </section>
  );
}

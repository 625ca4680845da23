'use client';
/**
 * Approvals: what the agents wait for (docs/approvals.md). The pending requests, the one expiring
 * first on top, each with its answers; a request answered while the page is open stays in place
 * saying how and by whom. "Show answered" adds the history (GET /api/approvals). The list is the
 * office's store (lib/approvals.ts), kept current by the event stream: nothing polls. After an
 * answer, focus goes to the next request still waiting, else to the line saying none is left.
 * Requests that ask the same thing (a burst from many agents) are shown as one group on top,
 * answered together or each alone (components/approval-group.tsx).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Approval } from '@tinyagi/client';
import { ApprovalCard } from '@/components/approval-card';
import { ApprovalGroup } from '@/components/approval-group';
import { api, messageOf } from '@/lib/api';
import { byExpiry, groupedByAsk, withApprovals } from '@/lib/approvals';
import { setState, useStore } from '@/lib/store';
import { ErrorLine, plural } from '@/components/ui';

const HISTORY = 200;

export default function ApprovalsPage() {
  const all = useStore((s) => s.approvals);
  const [showAnswered, setShowAnswered] = useState(false);
  const [history, setHistory] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  // Requests seen waiting on this page stay listed once answered (their card says by whom).
  const seen = useRef(new Set<string>());
  const none = useRef<HTMLParagraphElement>(null);

  useEffect(() => {
    if (!showAnswered) return;
    let current = true;
    api()
      .listApprovals({ query: { limit: HISTORY } })
      .then((list) => {
        if (!current) return;
        setState((s) => ({ approvals: withApprovals(s.approvals, list) }));
        setHistory(list.filter((a) => a.status !== 'pending').map((a) => a.id));
      })
      .catch((err: unknown) => setError(messageOf(err)));
    return () => {
      current = false;
    };
  }, [showAnswered]);

  const pending = useMemo(() => Object.values(all).filter((a) => a.status === 'pending'), [all]);
  for (const a of pending) seen.current.add(a.id);
  const shown = useMemo(() => {
    const waiting = Object.values(all)
      .filter((a) => a.status === 'pending' || seen.current.has(a.id))
      .sort(byExpiry);
    const answered = showAnswered ? history.map((id) => all[id]).filter((a): a is Approval => a !== undefined && !seen.current.has(a.id)) : [];
    return { waiting, answered: answered.sort((a, b) => b.requestedAt - a.requestedAt) };
  }, [all, showAnswered, history]);

  const list = useRef<HTMLOListElement>(null);
  const focusNext = useCallback((card: HTMLElement) => {
    // The next request still waiting after this one, else the first one before it, else the "none left" line.
    const cards = [...(list.current?.querySelectorAll<HTMLElement>('[data-testid="approval"]') ?? [])];
    const i = cards.indexOf(card);
    const next = [...cards.slice(i + 1), ...cards.slice(0, Math.max(0, i))].find((c) => c.dataset['status'] === 'pending');
    const target = next?.querySelector<HTMLElement>('button:not([disabled])') ?? none.current ?? card;
    target.focus();
  }, []);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold">Approvals</h1>
        <p className="text-sm text-slate-600 dark:text-slate-300" aria-live="polite" data-testid="approvals-summary">
          {pending.length === 0 ? 'Nothing waits for you.' : `${plural(pending.length, 'request')} waiting for you.`}
        </p>
        <label className="ml-auto flex items-center gap-2 text-sm">
          <input type="checkbox" checked={showAnswered} onChange={(e) => setShowAnswered(e.target.checked)} />
          Show answered
        </label>
      </div>
      <p className="text-sm text-slate-600 dark:text-slate-300">
        Agents with <code className="font-mono">permission_mode: &quot;ask&quot;</code> ask here before a tool call their rules do not allow, and agents ask their questions here. The first answer
        wins, from here, the CLI (<code className="font-mono">tinyagi approve</code>) or a chat.
      </p>
      <ErrorLine error={error} />
      {shown.waiting.length === 0 ? (
        <p
          ref={none}
          tabIndex={-1}
          data-testid="approvals-empty"
          className="rounded-lg border border-dashed border-slate-300 p-6 text-center text-slate-600 focus:outline-none dark:border-slate-700 dark:text-slate-300"
        >
          No request waits for an answer.
        </p>
      ) : (
        <>
          <ol ref={list} aria-label="Requests" className="space-y-3">
            {groupedByAsk(shown.waiting).map((members) =>
              members.length === 1 ? (
                <li key={members[0]!.id}>
                  <ApprovalCard approval={members[0]!} level={2} onDecided={focusNext} />
                </li>
              ) : (
                <li key={`group:${members[0]!.id}`}>
                  <ApprovalGroup title={members[0]!.groupKey ?? members[0]!.summary} members={members}>
                    <ol aria-label="Requests of this group" className="space-y-3">
                      {members.map((a) => (
                        <li key={a.id}>
                          <ApprovalCard approval={a} level={3} onDecided={focusNext} />
                        </li>
                      ))}
                    </ol>
                  </ApprovalGroup>
                </li>
              ),
            )}
          </ol>
          {pending.length === 0 && (
            <p ref={none} tabIndex={-1} data-testid="approvals-empty" className="text-sm text-slate-600 focus:outline-none dark:text-slate-300">
              All answered: no request waits for you now.
            </p>
          )}
        </>
      )}
      {showAnswered && (
        <section aria-labelledby="answered-title" className="space-y-3">
          <h2 id="answered-title" className="text-sm font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300">
            Answered
          </h2>
          {shown.answered.length === 0 ? (
            <p className="text-sm text-slate-600 dark:text-slate-300">No answered requests.</p>
          ) : (
            <ol aria-label="Answered requests" className="space-y-2">
              {shown.answered.map((a) => (
                <li key={a.id}>
                  <ApprovalCard approval={a} />
                </li>
              ))}
            </ol>
          )}
        </section>
      )}
    </div>
  );
}

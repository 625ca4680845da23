'use client';
/**
 * One approval request (docs/approvals.md) with its answers, the same in the inbox, the run tree
 * and the chat: a permission is allowed once, for the session, always, or denied with a reason (a
 * connection, kind `egress`, has no session: once, always — its host joins the egress list — or deny);
 * a question is answered with one of its choices or with text, or declined; a task whose rounds ran
 * out (`task_rounds`, docs/git-tasks.md) gets another N rounds, is taken over, or stopped; a workflow run paused
 * at its budget (`workflow_budget`, docs/workflows.md) gets a larger budget (the one typed, else the same
 * again) or is stopped. Answered anywhere
 * (here, the CLI, another tab), the card says how and by whom ("Allowed once by cli"); a late
 * answer (409 APPROVAL_DECIDED) says who was first. After an answer focus goes where the page
 * says (the inbox: the next request), else to the card, which now reads the outcome.
 */
import Link from 'next/link';
import { useEffect, useId, useRef, useState } from 'react';
import { approvalQuestion, approvalTaskRounds, approvalWorkflowBudget, isApiError, WORKFLOW_BUDGET_LABELS, type Approval, type ApprovalDecision } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { DECIDED_BY, outcomeOf, timeLeft, withApprovals } from '@/lib/approvals';
import { setState } from '@/lib/store';
import { taskHref } from '@/lib/task-href';
import { useNow } from '@/lib/use-now';
import { Avatar, Button, ErrorLine } from './ui';

const keep = (record: Approval) => setState((s) => ({ approvals: withApprovals(s.approvals, [record]) }));

const TONE: Record<Approval['status'], string> = {
  pending: 'border-violet-300 bg-violet-50 dark:border-violet-700 dark:bg-violet-950/40',
  allowed: 'border-emerald-300 bg-emerald-50 dark:border-emerald-800 dark:bg-emerald-950/40',
  answered: 'border-emerald-300 bg-emerald-50 dark:border-emerald-800 dark:bg-emerald-950/40',
  denied: 'border-red-300 bg-red-50 dark:border-red-800 dark:bg-red-950/40',
  expired: 'border-amber-300 bg-amber-50 dark:border-amber-800 dark:bg-amber-950/40',
  cancelled: 'border-slate-300 bg-slate-50 dark:border-slate-700 dark:bg-slate-900',
};

export function ApprovalCard({
  approval,
  compact = false,
  level = 3,
  onDecided,
}: {
  approval: Approval;
  /** Inline (run tree, chat): no conversation link, tighter. */
  compact?: boolean;
  /** Its heading's level under the page's headings (the inbox: 2). */
  level?: 2 | 3;
  /** Where focus goes after this card was answered here; without it, to the card itself. */
  onDecided?: (card: HTMLElement) => void;
}) {
  const root = useRef<HTMLElement>(null);
  const [busy, setBusy] = useState<ApprovalDecision | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [late, setLate] = useState<string | null>(null);
  const [answeredHere, setAnsweredHere] = useState(false);
  const pending = approval.status === 'pending';
  const now = useNow(pending);
  const titleId = useId();

  // Once the answer is in (the response, or the 409's record), the buttons are gone: focus moves on.
  useEffect(() => {
    if (!answeredHere || pending || !root.current) return;
    setAnsweredHere(false);
    if (onDecided) onDecided(root.current);
    else root.current.focus();
  }, [answeredHere, pending, onDecided]);

  const decide = async (decision: ApprovalDecision, extra: DecideExtra = {}) => {
    setBusy(decision);
    setError(null);
    try {
      const record = await api().decideApproval({ params: { id: approval.id }, body: { decision, by: DECIDED_BY, ...extra } });
      setAnsweredHere(true);
      keep(record);
    } catch (err) {
      if (isApiError(err, 'APPROVAL_DECIDED')) {
        // Someone was first: say who, and show the record as it is now.
        setLate(`Your answer came too late: ${messageOf(err).replace(/^Approval \S+ was /, 'it was ')}`);
        setAnsweredHere(true);
        const now = await api()
          .getApproval({ params: { id: approval.id } })
          .catch(() => null);
        if (now) keep(now);
      } else setError(`Not sent: ${messageOf(err)} The request still waits; try again.`);
    } finally {
      setBusy(null);
    }
  };

  const question = approval.kind === 'question' ? approvalQuestion(approval) : null;
  const rounds = approval.kind === 'task_rounds' ? approvalTaskRounds(approval) : null;
  const budget = approval.kind === 'workflow_budget' ? approvalWorkflowBudget(approval) : null;
  const Heading = level === 2 ? 'h2' : 'h3';
  // What became of it, right under what was asked.
  const outcome = pending ? null : (
    <p role="status" className="mt-1 break-words font-medium">
      <span aria-hidden="true">{approval.status === 'allowed' || approval.status === 'answered' ? '✓ ' : approval.status === 'denied' ? '✗ ' : '⏱ '}</span>
      <span data-testid="approval-outcome">{outcomeOf(approval)}</span>
    </p>
  );
  const who = `@${approval.agentId}`;
  return (
    // An article, not a landmark: a page may list many; named by its heading and what it asks.
    <article
      ref={root}
      tabIndex={-1}
      aria-labelledby={`${titleId} ${titleId}-what`}
      data-testid="approval"
      data-id={approval.id}
      data-status={approval.status}
      className={`min-w-0 rounded-lg border ${compact ? 'p-2' : 'p-3'} text-sm text-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-600 dark:text-slate-100 ${TONE[approval.status]}`}
    >
      <div className="flex flex-wrap items-center gap-2">
        <Avatar id={approval.agentId} size="sm" />
        <Heading id={titleId} className="font-medium">
          {headingOf(approval, question !== null, rounds)}
        </Heading>
        <AskedAt approval={approval} now={now} />
        {!compact && rounds && (
          <Link className="ml-auto text-xs underline" href={taskHref(rounds.taskId, rounds.projectId)}>
            task
          </Link>
        )}
        {!compact && budget && (
          <Link className="ml-auto text-xs underline" href={`/workflows?run=${encodeURIComponent(budget.workflowRunId)}`}>
            run
          </Link>
        )}
        {!compact && !rounds && approval.conversationId !== null && (
          <Link className="ml-auto text-xs underline" href={`/conversations/view?id=${encodeURIComponent(approval.conversationId)}`}>
            conversation
          </Link>
        )}
      </div>
      {question ? (
        <p className="mt-1 whitespace-pre-wrap break-words text-base" id={`${titleId}-what`} data-testid="approval-summary">
          {question.question}
        </p>
      ) : (
        <>
          {rounds ? (
            <div className="mt-1" id={`${titleId}-what`} data-testid="approval-summary">
              <p className="break-words font-medium">{rounds.title}</p>
              <ul className="mt-1 list-disc pl-5 text-sm">
                {rounds.missing.map((m) => (
                  <li key={m} className="break-words">
                    {m}
                  </li>
                ))}
              </ul>
            </div>
          ) : (
            <p className="mt-1 break-words rounded bg-white/70 px-2 py-1 font-mono text-sm dark:bg-black/30" id={`${titleId}-what`} data-testid="approval-summary">
              {approval.summary}
            </p>
          )}
          {outcome}
          <details className="mt-1 text-xs">
            <summary className="cursor-pointer select-none rounded text-slate-700 focus-visible:outline focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-slate-300">Input</summary>
            <pre className="mt-1 max-h-48 overflow-auto whitespace-pre-wrap break-all rounded bg-white/70 p-2 font-mono dark:bg-black/30">{JSON.stringify(approval.input, null, 2)}</pre>
          </details>
        </>
      )}
      {pending ? (
        question ? (
          <QuestionControls choices={question.choices} busy={busy} decide={decide} />
        ) : rounds ? (
          <RoundsControls moreRounds={rounds.moreRounds} agent={who} busy={busy} decide={decide} />
        ) : budget ? (
          <BudgetControls busy={busy} decide={decide} />
        ) : (
          <PermissionControls egress={approval.kind === 'egress'} busy={busy} decide={decide} />
        )
      ) : question ? (
        outcome
      ) : null}
      {late && (
        <p data-testid="approval-late" className="mt-1 text-xs text-slate-700 dark:text-slate-300">
          {late}
        </p>
      )}
      <ErrorLine error={error} />
    </article>
  );
}

/** The card's heading: who asks (or asked) what, in the words of the request's kind. */
function headingOf(approval: Approval, question: boolean, rounds: ReturnType<typeof approvalTaskRounds> | null): string {
  const who = `@${approval.agentId}`;
  const pending = approval.status === 'pending';
  return question
    ? `${who} ${pending ? 'asks' : 'asked'} you`
    : rounds
      ? `Task ${rounds.identifier} of ${who} ${pending ? 'waits' : 'waited'} for a person after ${rounds.rounds} ${rounds.rounds === 1 ? 'round' : 'rounds'}`
      : approval.kind === 'workflow_budget'
        ? `A workflow run ${approval.agentId === 'person' ? '' : `${who} started `}${pending ? 'waits' : 'waited'} for a person at its budget`
        : approval.kind === 'egress'
          ? `${who} ${pending ? 'asks' : 'asked'} to connect to a host off its list`
          : `${who} ${pending ? 'asks' : 'asked'} to use ${approval.tool}`;
}

/** When it was asked and, while it waits, the time left before it expires. */
function AskedAt({ approval, now }: { approval: Approval; now: number }) {
  return (
    <span className="text-xs text-slate-600 dark:text-slate-300">
      asked {new Date(approval.requestedAt).toLocaleTimeString()}
      {approval.status === 'pending' ? (
        <>
          {' · '}
          {approval.expiresAt === null ? (
            <span data-testid="approval-left">waits until answered</span>
          ) : (
            <span data-testid="approval-left" title={`Expires at ${new Date(approval.expiresAt).toLocaleTimeString()}`}>
              {timeLeft(approval.expiresAt, now)}
            </span>
          )}
        </>
      ) : null}
    </span>
  );
}

type DecideExtra = { reason?: string; answer?: string; rounds?: number; budgetUsd?: number; budgetTokens?: number };
type Decide = (decision: ApprovalDecision, extra?: DecideExtra) => Promise<void>;

/** A workflow run paused at its budget: raise it (to the budget typed, else the same again: each cap doubled) and it goes on, or stop it (cancelled). */
function BudgetControls({ busy, decide }: { busy: ApprovalDecision | null; decide: Decide }) {
  const [usd, setUsd] = useState('');
  const [tokens, setTokens] = useState('');
  const usdId = useId();
  const tokensId = useId();
  const disabled = busy !== null;
  const dollars = Number(usd);
  const count = Number(tokens);
  const usdValid = usd.trim() === '' || (Number.isFinite(dollars) && dollars > 0);
  const tokensValid = tokens.trim() === '' || (Number.isInteger(count) && count > 0);
  const given = { ...(usd.trim() === '' ? {} : { budgetUsd: dollars }), ...(tokens.trim() === '' ? {} : { budgetTokens: count }) };
  const input = 'w-28 rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900';
  return (
    <div className="mt-2 flex flex-wrap items-center gap-2">
      <form
        className="flex flex-wrap items-center gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          if (usdValid && tokensValid) void decide('raise_budget', given);
        }}
      >
        <label className="sr-only" htmlFor={usdId}>
          New budget in US dollars (empty: the same again)
        </label>
        <input id={usdId} type="number" min={0} step="any" className={input} placeholder="USD" value={usd} onChange={(e) => setUsd(e.target.value)} />
        <label className="sr-only" htmlFor={tokensId}>
          New budget in tokens (empty: the same again)
        </label>
        <input id={tokensId} type="number" min={1} step={1} className={input} placeholder="tokens" value={tokens} onChange={(e) => setTokens(e.target.value)} />
        <Button type="submit" tone="primary" disabled={disabled || !usdValid || !tokensValid} title="The run goes on with the budget typed, else with the same again (each cap doubled)">
          {WORKFLOW_BUDGET_LABELS.raise_budget}
        </Button>
      </form>
      <Button tone="danger" disabled={disabled} title="The run is cancelled; its finished steps keep their results" onClick={() => void decide('stop')}>
        {WORKFLOW_BUDGET_LABELS.stop}
      </Button>
    </div>
  );
}

/** A task whose rounds ran out: another N rounds (back to its agent with what failed), take over (a person works on it), or stop (back to Todo); the worktree is kept. */
function RoundsControls({ moreRounds, agent, busy, decide }: { moreRounds: number; agent: string; busy: ApprovalDecision | null; decide: Decide }) {
  const [n, setN] = useState(String(moreRounds));
  const roundsId = useId();
  const disabled = busy !== null;
  const count = Number(n);
  const valid = Number.isInteger(count) && count >= 1 && count <= 100;
  return (
    <div className="mt-2 flex flex-wrap items-center gap-2">
      <form
        className="flex flex-wrap items-center gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          if (valid) void decide('more_rounds', { rounds: count });
        }}
      >
        <label className="sr-only" htmlFor={roundsId}>
          How many more rounds
        </label>
        <input
          id={roundsId}
          type="number"
          min={1}
          max={100}
          className="w-16 rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
          value={n}
          onChange={(e) => setN(e.target.value)}
        />
        <Button type="submit" tone="primary" disabled={disabled || !valid} title={`The task goes back to ${agent} with what failed`}>
          {`Another ${valid ? count : 'N'} ${count === 1 ? 'round' : 'rounds'}`}
        </Button>
      </form>
      <Button disabled={disabled} title="You take the task: In progress, assigned to nobody; the agent is not asked again" onClick={() => void decide('take_over')}>
        Take over
      </Button>
      <Button tone="danger" disabled={disabled} title="Back to Todo, out of the loop; the worktree is kept" onClick={() => void decide('stop')}>
        Stop
      </Button>
    </div>
  );
}

/** A permission's answers; a connection (egress) has no session, and allowing it always adds its host to the agent's egress list. */
function PermissionControls({ egress, busy, decide }: { egress: boolean; busy: ApprovalDecision | null; decide: Decide }) {
  const [reason, setReason] = useState('');
  const reasonId = useId();
  const disabled = busy !== null;
  return (
    <div className="mt-2 flex flex-wrap items-center gap-2">
      <Button tone="primary" disabled={disabled} onClick={() => void decide('allow_once')}>
        Allow once
      </Button>
      {!egress && (
        <Button disabled={disabled} title="This tool with this command, for the rest of the agent's session" onClick={() => void decide('allow_session')}>
          Allow for session
        </Button>
      )}
      <Button disabled={disabled} title={egress ? "Adds the host to the agent's egress list (egress_allow)" : "Adds an allow rule to the agent's settings"} onClick={() => void decide('allow_always')}>
        Allow always
      </Button>
      <form
        className="flex min-w-0 flex-1 flex-wrap items-center gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          void decide('deny', reason.trim() ? { reason: reason.trim() } : {});
        }}
      >
        <label className="sr-only" htmlFor={reasonId}>
          Reason for denying (the agent receives it)
        </label>
        <input
          id={reasonId}
          className="min-w-32 flex-1 rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
          placeholder="Reason (optional, sent to the agent)"
          value={reason}
          maxLength={2000}
          onChange={(e) => setReason(e.target.value)}
        />
        <Button type="submit" tone="danger" disabled={disabled}>
          Deny
        </Button>
      </form>
    </div>
  );
}

function QuestionControls({ choices, busy, decide }: { choices: string[]; busy: ApprovalDecision | null; decide: Decide }) {
  const [text, setText] = useState('');
  const answerId = useId();
  const disabled = busy !== null;
  return (
    <div className="mt-2 space-y-2">
      {choices.length > 0 && (
        <fieldset className="flex min-w-0 flex-wrap gap-2">
          <legend className="sr-only">Suggested answers</legend>
          {choices.map((choice) => (
            <Button key={choice} disabled={disabled} onClick={() => void decide('answer', { answer: choice })}>
              {choice}
            </Button>
          ))}
        </fieldset>
      )}
      <form
        className="flex flex-wrap items-center gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim() !== '') void decide('answer', { answer: text.trim() });
        }}
      >
        <label className="sr-only" htmlFor={answerId}>
          Your answer
        </label>
        <input
          id={answerId}
          className="min-w-40 flex-1 rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
          placeholder={choices.length > 0 ? 'Or write an answer' : 'Your answer'}
          value={text}
          maxLength={20_000}
          onChange={(e) => setText(e.target.value)}
        />
        <Button type="submit" tone="primary" disabled={disabled || text.trim() === ''}>
          Answer
        </Button>
        <Button tone="danger" disabled={disabled} onClick={() => void decide('deny')}>
          Decline
        </Button>
      </form>
    </div>
  );
}

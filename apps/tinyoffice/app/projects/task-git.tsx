'use client';
/**
 * A repository-bound task's git side in its detail (docs/git-tasks.md): the branch, worktree,
 * head and rounds; the last Checking with each check's result, command and log (a failed one's
 * log open); what does not hold; the commits and the diff (`GET /api/tasks/:id/diff`) with its
 * review comments on lines (review.tsx); and, in Review, the person's merge (`POST
 * /api/tasks/:id/merge`) and "Request changes", whose refusals show the daemon's code and message.
 * The diff is read again when the task's head, status or merge changes. A task whose checks failed
 * after all its rounds says it waits for a person, with its `task_rounds` request's card (more
 * rounds, take over, stop). With several nodes, the worktree says the node that holds it, and a
 * person's step recorded for that node while it is down says so, with the node's state (GET
 * /api/status, read again every 10 s while the task names a node).
 */
import { useEffect, useMemo, useState } from 'react';
import type { Comment, NodeState, Task, TaskCheck, TaskCheckResult, TaskDiff, TaskGit, TaskStepRequest } from '@tinyagi/client';
import { autoMergeRefusalOf, autoMergeRetryText, checkResultText, mergedByText, nodeStateOf, ROUNDS_ANSWERED, stepWaitText, worktreeNodeText } from '@tinyagi/client';
import { ApprovalCard } from '@/components/approval-card';
import { api } from '@/lib/api';
import { withApprovals } from '@/lib/approvals';
import { useNodes } from '@/lib/nodes';
import { refusalText, useRefusable } from '@/lib/refusal';
import { setState, useStore } from '@/lib/store';
import { Button, duration, plural } from '@/components/ui';
import { Chevron, DiffView } from './diff-view';
import { MergeForm } from './merge';
import { type Anchor, type ChangesSent, type DiffReview, RequestChanges, ReviewComments } from './review';

const short = (sha: string | null | undefined) => (sha ? sha.slice(0, 12) : '—');

/** The last Checking in a word, for the detail and the card. */
export const CHECK_STATE: Record<TaskCheck['state'], { label: string; tone: string }> = {
  running: { label: 'checking', tone: 'bg-sky-100 text-sky-900 dark:bg-sky-900 dark:text-sky-100' },
  failed: { label: 'checks failed', tone: 'bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100' },
  needs_person: { label: 'needs a person', tone: 'bg-violet-100 text-violet-900 dark:bg-violet-900 dark:text-violet-100' },
  passed: { label: 'checks passed', tone: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100' },
};

/** The card's and the detail's word for the last Checking: once the person answered its rounds request, what they decided, not "needs a person". */
export function checkBadge(state: TaskCheck['state'], decision: string | undefined): { label: string; tone: string } {
  if (state === 'needs_person' && decision !== undefined) return { label: ROUNDS_ANSWERED[decision] ?? `answered: ${decision}`, tone: CHECK_STATE.needs_person.tone };
  return CHECK_STATE[state];
}

/** The binding's auto-merge was refused (the person's file in the way, a conflict…): why, and when it is tried again. */
function AutoMergeRefused({ task }: { task: Task }) {
  const refused = autoMergeRefusalOf(task);
  if (!refused) return null;
  return (
    <div data-testid="auto-merge-refused" className="rounded border border-amber-300 bg-amber-50 px-2 py-1 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">
      <p>
        Auto-merge refused: {refused.code}: {refused.message}
      </p>
      {refused.hint && <p>{refused.hint}</p>}
      <p className="text-xs">{autoMergeRetryText(new Date(refused.retryAt).toLocaleString())}</p>
    </div>
  );
}

/** A person's step recorded for the node that holds the task's disk and not carried out yet: it waits there. */
function StepWaits({ request, state }: { request: TaskStepRequest; state: NodeState | undefined }) {
  return (
    <p
      data-testid="task-step-waits"
      data-node-state={state ?? 'unknown'}
      className="rounded border border-amber-300 bg-amber-50 px-2 py-1 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100"
    >
      {stepWaitText(request, new Date(request.requestedAt).toLocaleString(), state)}
    </p>
  );
}

/** The state of the nodes a task names (several nodes), undefined until the status is known; nothing is asked for a task that names none. */
function useNodeStates(git: TaskGit): (name: string) => NodeState | undefined {
  const names = git.node !== undefined || git.request !== undefined;
  const nodes = useNodes(names);
  const known = useStore((s) => s.status !== null);
  return (name) => (known ? nodeStateOf(nodes, name) : undefined);
}

export const MERGED_TONE = 'bg-violet-100 text-violet-900 dark:bg-violet-900 dark:text-violet-100';

/** The checks failed after all the task's rounds: a person is asked (the `task_rounds` request, answered here or anywhere). */
function WaitsForPerson({ git }: { git: TaskGit }) {
  const id = git.roundsApproval?.id;
  const approval = useStore((s) => (id ? s.approvals[id] : undefined));
  useEffect(() => {
    if (!id || approval) return;
    let live = true;
    api()
      .getApproval({ params: { id } })
      .then((a) => {
        if (live) setState((s) => ({ approvals: withApprovals(s.approvals, [a]) }));
      })
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [id, approval]);
  return (
    <div data-testid="task-waits-for-person" className="space-y-2">
      <p className="rounded bg-violet-100 px-2 py-1 text-sm text-violet-900 dark:bg-violet-900 dark:text-violet-100">
        This task waits for a person: its checks still fail after {plural(git.rounds ?? 0, 'round')}. Give it more rounds, take it over, or stop it.
      </p>
      {approval && <ApprovalCard approval={approval} compact />}
    </div>
  );
}

function CheckRow({ check }: { check: TaskCheckResult }) {
  return (
    <li data-testid="task-check" data-check={check.name} data-ok={String(check.ok)}>
      <details open={!check.ok} className="group rounded border border-slate-200 dark:border-slate-700">
        <summary className="flex cursor-pointer flex-wrap items-center gap-2 px-2 py-1 text-sm">
          <Chevron />
          <span className="font-mono font-medium">{check.name}</span>
          <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${check.ok ? CHECK_STATE.passed.tone : CHECK_STATE.failed.tone}`}>{checkResultText(check)}</span>
          <span className="ml-auto text-xs text-slate-600 dark:text-slate-300">{duration(check.durationMs)}</span>
        </summary>
        <div className="space-y-1 px-2 pb-2">
          <p className="break-all text-xs">
            Command: <code>{check.argv.join(' ')}</code>
          </p>
          {/* biome-ignore lint/a11y/useSemanticElements: a <pre> keeps the log's layout; the role only names its focus stop */}
          <pre
            role="group"
            className="max-h-80 overflow-auto rounded bg-slate-100 p-2 text-xs whitespace-pre-wrap break-words dark:bg-slate-950"
            aria-label={`Log of ${check.name}`}
            // biome-ignore lint/a11y/noNoninteractiveTabindex: a long log scrolls, so keyboard users must be able to focus it (WCAG 2.1.1)
            tabIndex={0}
          >
            {check.log || '(no output)'}
          </pre>
          {check.omittedBytes > 0 && <p className="text-xs text-slate-600 dark:text-slate-300">{check.omittedBytes} bytes of the middle of the log were left out.</p>}
        </div>
      </details>
    </li>
  );
}

function Checking({ check, decision }: { check: TaskCheck; decision: string | undefined }) {
  const state = checkBadge(check.state, decision);
  return (
    <div className="space-y-2" data-testid="task-checking" data-state={check.state}>
      <p className="flex flex-wrap items-center gap-2 text-sm">
        Last Checking: <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${state.tone}`}>{state.label}</span>
        <span className="text-xs text-slate-600 dark:text-slate-300">
          at <code>{short(check.headSha)}</code> · {plural(check.commits, 'commit')} · {check.uncommitted.length === 0 ? 'nothing uncommitted' : `${check.uncommitted.length} uncommitted`}
          {check.pushed !== null && ` · ${check.pushed ? 'pushed' : 'not pushed'}`}
        </span>
      </p>
      {check.uncommitted.length > 0 && <p className="break-all text-xs">Uncommitted: {check.uncommitted.join(', ')}</p>}
      {check.missing.length > 0 && (
        <div className="rounded border border-amber-300 bg-amber-50 p-2 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">
          <p className="font-medium">What does not hold</p>
          <ul className="list-disc pl-5" aria-label="What does not hold">
            {check.missing.map((m, i) => (
              <li key={i} className="whitespace-pre-wrap break-words">
                {m}
              </li>
            ))}
          </ul>
        </div>
      )}
      {check.error && (
        <p className="text-sm text-red-800 dark:text-red-300">
          {check.error.code}: {check.error.message}
        </p>
      )}
      {check.checks.length > 0 && (
        <ul className="space-y-1" aria-label="Checks">
          {check.checks.map((c) => (
            <CheckRow key={c.name} check={c} />
          ))}
        </ul>
      )}
    </div>
  );
}

function Commits({ diff }: { diff: TaskDiff }) {
  if (diff.commits.length === 0) return <p className="text-sm text-slate-600 dark:text-slate-300">No commits beyond {diff.baseRef}.</p>;
  return (
    <ul className="space-y-1 text-sm" aria-label="Commits">
      {diff.commits.map((c) => (
        <li key={c.sha} className="flex flex-wrap gap-x-2">
          <code className="text-xs">{c.sha.slice(0, 12)}</code>
          <span className="min-w-0 break-words font-medium">{c.subject}</span>
          <span className="text-xs text-slate-600 dark:text-slate-300">
            {c.author}, <time dateTime={new Date(c.committedAt).toISOString()}>{new Date(c.committedAt).toLocaleString()}</time>
          </span>
        </li>
      ))}
    </ul>
  );
}

export interface TaskReviewProps {
  /** The task's comments (those with an anchor are the diff's review comments). */
  comments: readonly Comment[];
  onAddComment: (anchor: Anchor, content: string) => Promise<void>;
  onDeleteComment: (comment: Comment) => void;
  /** Changes were requested: the task as it is now (In progress, a round more); its comments are read again. */
  onChangesRequested: (task: Task) => void;
}

/** A person's "check it again" (`POST /api/tasks/:id/check`): the branch as it is now is proven, as after the agent's done (a co-worker's commits, a fixed check). */
function CheckAgain({ task, onChecked }: { task: Task; onChecked: (t: Task) => void }) {
  const { busy, refusal, run } = useRefusable();
  const check = () => run(async () => onChecked(await api().checkTask({ params: { id: task.id } })));
  return (
    <div className="space-y-1">
      <Button disabled={busy} onClick={() => void check()}>
        {busy ? 'Checking…' : 'Check again'}
      </Button>
      {refusal && (
        <p role="alert" className="text-sm text-red-900 dark:text-red-200">
          {refusal}
        </p>
      )}
    </div>
  );
}

export function TaskGitSection({ task, git, onMerged, review }: { task: Task; git: TaskGit; onMerged: (t: Task) => void; review: TaskReviewProps }) {
  const [diff, setDiff] = useState<TaskDiff | null>(null);
  const [diffNote, setDiffNote] = useState<string | null>(null);
  const [sent, setSent] = useState<ChangesSent | null>(null);
  const merge = git.merge;
  const headKey = `${git.branch ?? ''}:${git.headSha ?? ''}:${git.check?.headSha ?? ''}:${merge?.commit ?? ''}:${task.status}`;
  const nodeState = useNodeStates(git);
  const onNode = worktreeNodeText(git, git.node === undefined ? undefined : nodeState(git.node));

  useEffect(() => {
    let live = true;
    api()
      .getTaskDiff({ params: { id: task.id } })
      .then((d) => {
        if (!live) return;
        setDiff(d);
        setDiffNote(null);
      })
      .catch((err: unknown) => {
        if (!live) return;
        setDiff(null);
        setDiffNote(refusalText(err));
      });
    return () => {
      live = false;
    };
  }, [task.id, headKey]);

  const anchored = useMemo(() => review.comments.filter((c) => c.anchor), [review.comments]);
  const pending = anchored.filter((c) => (c.sentRound ?? null) === null).length;
  // Comments are taken on a line of a branch that is still there: not before the branch exists, not once merged.
  const canComment = Boolean(git.branch) && !merge && diff !== null && !diff.merged;
  const diffReview: DiffReview = { comments: anchored, tip: diff?.tip ?? null, onAdd: canComment ? review.onAddComment : null, onDelete: review.onDeleteComment };

  return (
    <section aria-labelledby="task-git-heading" data-testid="task-git" className="mt-4 space-y-3">
      <h3 id="task-git-heading" className="text-sm font-semibold">
        Git
      </h3>
      {merge && (
        <p data-testid="task-merged" className={`rounded px-2 py-1 text-sm ${MERGED_TONE}`}>
          Merged into {merge.baseRef} at <code>{merge.commit.slice(0, 12)}</code> ({merge.method === 'ff' ? 'fast-forward' : 'merge commit'}, {new Date(merge.mergedAt).toLocaleString()},{' '}
          {mergedByText(merge.by)})
        </p>
      )}
      <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm">
        <dt className="text-slate-600 dark:text-slate-300">Branch</dt>
        <dd className="break-all font-mono text-xs leading-5">{git.branch ?? '—'}</dd>
        <dt className="text-slate-600 dark:text-slate-300">Worktree</dt>
        <dd className="break-all font-mono text-xs leading-5">
          {merge ? 'removed after the merge' : (git.worktreePath ?? (onNode ? '' : '—'))}
          {onNode && !merge && (
            <span data-testid="task-worktree-node" className="font-sans">
              {git.worktreePath ? ' ' : ''}
              {onNode}
            </span>
          )}
        </dd>
        <dt className="text-slate-600 dark:text-slate-300">Head</dt>
        <dd className="font-mono text-xs leading-5">{short(git.headSha)}</dd>
        <dt className="text-slate-600 dark:text-slate-300">Rounds</dt>
        <dd data-testid="task-rounds">{git.rounds ?? 0}</dd>
        {git.pullRequest && (
          <>
            <dt className="text-slate-600 dark:text-slate-300">Pull request</dt>
            <dd data-testid="task-pull-request">
              <a className="underline" href={git.pullRequest.url} target="_blank" rel="noreferrer noopener">
                #{git.pullRequest.number}
              </a>{' '}
              <span className="text-xs text-slate-600 dark:text-slate-300">
                {git.pullRequest.headRef} → {git.pullRequest.baseRef}
              </span>
            </dd>
          </>
        )}
      </dl>
      {git.error && (
        <p className="text-sm text-red-800 dark:text-red-300">
          Worktree step failed: {git.error.code}: {git.error.message}
        </p>
      )}
      {git.request && <StepWaits request={git.request} state={nodeState(git.request.node)} />}
      {sent && (
        <p role="status" data-testid="changes-sent" className="rounded bg-sky-100 px-2 py-1 text-sm text-sky-900 dark:bg-sky-900 dark:text-sky-100">
          Changes requested: {plural(sent.commentIds.length, 'comment')} sent in round {sent.round}.
        </p>
      )}
      {task.status === 'checking' && git.check?.state === 'needs_person' && <WaitsForPerson git={git} />}
      {git.roundsApproval?.decision && task.status !== 'checking' && (
        <p data-testid="task-rounds-answer" className="text-sm text-slate-700 dark:text-slate-300">
          After {plural(git.rounds ?? 0, 'round')}:{' '}
          {git.roundsApproval.decision === 'more_rounds' ? `more rounds (up to ${git.roundsLimit ?? '?'})` : git.roundsApproval.decision === 'take_over' ? 'taken over' : 'stopped'} by{' '}
          {git.roundsApproval.decidedBy ?? 'a person'}.
        </p>
      )}
      {git.check && <Checking check={git.check} decision={git.roundsApproval?.decision} />}
      {task.status === 'review' && !merge && (
        <div className="space-y-3 rounded border border-slate-200 p-2 dark:border-slate-700" data-testid="task-review">
          <h4 className="text-sm font-semibold">Review</h4>
          <AutoMergeRefused task={task} />
          <MergeForm task={task} idPrefix="task" onMerged={onMerged} />
          <CheckAgain task={task} onChecked={onMerged} />
          <RequestChanges
            task={task}
            pending={pending}
            onSent={(t, s) => {
              setSent(s);
              review.onChangesRequested(t);
            }}
          />
        </div>
      )}
      <h4 className="text-sm font-semibold">Commits</h4>
      {diff ? <Commits diff={diff} /> : <p className="text-sm text-slate-600 dark:text-slate-300">{diffNote ?? 'Loading…'}</p>}
      {diff && (
        <>
          <h4 className="text-sm font-semibold">Diff</h4>
          <DiffView diff={diff} review={diffReview} />
        </>
      )}
      {!diff && anchored.length > 0 && (
        <>
          <h4 className="text-sm font-semibold">Review comments</h4>
          <ReviewComments comments={anchored} review={diffReview} label="Review comments" withPath />
        </>
      )}
    </section>
  );
}

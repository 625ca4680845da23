'use client';
/**
 * A repository-bound task's review (docs/git-tasks.md): comments on lines of its diff
 * (`POST /api/tasks/:id/comments` with an `anchor`), shown as threads under their lines
 * (diff-view.tsx), and "Request changes" (`POST /api/tasks/:id/request-changes`): the review
 * comments not sent yet, and an optional summary, go to the task's owner as one message, and the
 * task goes back to In progress for a round. Each comment says whether it was sent, and in which
 * round. A refusal shows the daemon's code and message.
 */
import { type FormEvent, type ReactNode, useEffect, useId, useRef, useState } from 'react';
import type { Comment, ReviewAnchor, Task } from '@tinyagi/client';
import { reviewPlaceText } from '@tinyagi/client';
import { api } from '@/lib/api';
import { refusalText } from '@/lib/refusal';
import { Button, plural } from '@/components/ui';

/** A line of the diff a comment is written on: `new` counts the branch's lines (added and context lines), `old` the base's (a removed line). */
export type Anchor = Pick<ReviewAnchor, 'path' | 'line' | 'side'>;

/** What the diff view needs to show and write review comments. */
export interface DiffReview {
  /** The task's comments with an anchor. */
  comments: readonly Comment[];
  /** The branch's tip the diff shows (`TaskDiff.tip`): a comment written on another commit says so. */
  tip: string | null;
  /** Saves a comment on a line; null where the daemon takes none (no branch, or merged). */
  onAdd: ((anchor: Anchor, content: string) => Promise<void>) | null;
  onDelete: (comment: Comment) => void;
}

export const anchorKey = (a: Anchor): string => `${a.side}:${a.line}`;

/**
 * Where a review comment is in the diff now (docs/git-tasks.md, "comments follow the code"): the
 * daemon's `anchor.current`, its line followed to the branch's tip (a renamed file's new path);
 * `line` null when the line changed since it was written (outdated). A base's line (`old`) stays.
 */
export function anchorNow(a: ReviewAnchor): Omit<Anchor, 'line'> & { line: number | null } {
  if (a.side === 'old' || a.current === undefined) return { path: a.path, line: a.line, side: a.side };
  return { path: a.current.path, line: a.current.line, side: a.side };
}
/** The `old` side is the base's line (a removed line's number), in the glossary's words. */
const baseSide = (a: Anchor): string => (a.side === 'old' ? " (the base's line)" : '');
/** A line in a sentence: `src/login.ts line 12`. */
export const lineName = (a: Anchor): string => `${a.path} line ${a.line}${baseSide(a)}`;

const input = 'w-full rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900';
const refusalTone = 'rounded border border-red-300 bg-red-50 px-2 py-1 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-200';

/** "sent in round N" or "not sent yet". */
function SentState({ comment }: { comment: Comment }) {
  const sent = comment.sentRound ?? null;
  return (
    <span
      data-testid="comment-sent"
      className={`rounded-full px-2 py-0.5 font-medium ${sent === null ? 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100' : 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100'}`}
    >
      {sent === null ? 'not sent yet' : `sent in round ${sent}`}
    </span>
  );
}

/**
 * One comment of a task, as the review threads and the task's comments show it: its place (when
 * given), author, time, whether it went to the owner, what the caller adds, Delete (when it may go),
 * and its text.
 */
export function CommentItem({
  comment,
  place,
  onDelete,
  testId,
  children,
}: {
  comment: Comment;
  place?: string | undefined;
  onDelete?: (() => void) | undefined;
  testId?: string;
  children?: ReactNode;
}) {
  const at = new Date(comment.createdAt);
  return (
    <li className="rounded border border-slate-200 bg-white p-2 text-sm dark:border-slate-700 dark:bg-slate-900" data-testid={testId} data-comment={comment.id}>
      <div className="flex flex-wrap items-center gap-2 text-xs text-slate-600 dark:text-slate-300">
        {place !== undefined && <span className="font-mono">{place}</span>}
        <span className="font-medium text-slate-900 dark:text-slate-100">{comment.author}</span>
        <time dateTime={at.toISOString()}>{at.toLocaleString()}</time>
        {(comment.anchor !== null || (comment.sentRound ?? null) !== null) && <SentState comment={comment} />}
        {children}
        {onDelete && (
          <Button className="ml-auto" tone="danger" onClick={onDelete} aria-label={`Delete the comment of ${comment.author} from ${at.toLocaleTimeString()}`}>
            Delete
          </Button>
        )}
      </div>
      <p className="mt-1 whitespace-pre-wrap break-words">{comment.content}</p>
    </li>
  );
}

/** A thread: each comment's author, time, whether it was sent, and text; `withLine`/`withPath` when it is not shown under its line. */
export function ReviewComments({
  comments,
  review,
  label,
  withLine = false,
  withPath = false,
}: {
  comments: readonly Comment[];
  review: DiffReview;
  label: string;
  withLine?: boolean;
  withPath?: boolean;
}) {
  return (
    <ul className="space-y-1" aria-label={label}>
      {comments.map((c) => {
        const anchor = c.anchor;
        const earlier = anchor?.commitSha && review.tip && anchor.commitSha !== review.tip ? anchor.commitSha : null;
        const now = anchor ? anchorNow(anchor) : null;
        // Followed to another line (or file): where it was written, so the thread reads right.
        const movedFrom =
          anchor && now && now.line !== null && (now.line !== anchor.line || now.path !== anchor.path)
            ? now.path === anchor.path
              ? `line ${anchor.line}`
              : `${anchor.path} line ${anchor.line}`
            : null;
        return (
          <CommentItem
            key={c.id}
            comment={c}
            testId="review-comment"
            place={anchor && (withLine || withPath) ? (withPath ? reviewPlaceText(anchor) : `line ${now?.line ?? anchor.line}${baseSide(anchor)}`) : undefined}
            // A review comment is the owner's once sent: only an unsent one may be taken back.
            onDelete={(c.sentRound ?? null) === null ? () => review.onDelete(c) : undefined}
          >
            {earlier && (
              <span>
                written on {movedFrom && `${movedFrom} of `}
                <code>{earlier.slice(0, 12)}</code>, an earlier commit
              </span>
            )}
          </CommentItem>
        );
      })}
    </ul>
  );
}

/** The form under a line: Comment saves it, Cancel (or Escape) closes it; `onDone` puts the focus back on the line. */
export function CommentForm({ anchor, onAdd, onDone }: { anchor: Anchor; onAdd: (anchor: Anchor, content: string) => Promise<void>; onDone: () => void }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const field = useRef<HTMLTextAreaElement>(null);
  const id = useId();
  // The form opens because the person asked for it: the text field takes the focus.
  useEffect(() => field.current?.focus(), []);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!text.trim()) return;
    setBusy(true);
    setError(null);
    try {
      await onAdd(anchor, text.trim());
      onDone();
    } catch (err) {
      setError(refusalText(err));
      setBusy(false);
    }
  }
  return (
    <form onSubmit={(e) => void submit(e)} className="space-y-1">
      <label htmlFor={id} className="block text-xs font-medium">
        Your comment on {lineName(anchor)}
      </label>
      <textarea
        id={id}
        ref={field}
        rows={3}
        className={input}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key !== 'Escape') return;
          e.preventDefault();
          onDone();
        }}
      />
      <div className="flex gap-2">
        <Button type="submit" tone="primary" disabled={busy || !text.trim()}>
          {busy ? 'Saving…' : 'Comment'}
        </Button>
        <Button onClick={onDone}>Cancel</Button>
      </div>
      {error && (
        <p role="alert" className={refusalTone}>
          {error}
        </p>
      )}
    </form>
  );
}

export interface ChangesSent {
  round: number;
  commentIds: number[];
}

/** In Review: an optional summary and "Request changes", saying how many review comments will go to the owner. */
export function RequestChanges({ task, pending, onSent }: { task: Task; pending: number; onSent: (task: Task, sent: ChangesSent) => void }) {
  const [summary, setSummary] = useState('');
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  const owner = task.assigneeAgent ? `@${task.assigneeAgent}` : task.assigneeTeam ? `#${task.assigneeTeam}` : 'the task’s owner';
  // A refusal ("nothing to send") is old news once a comment is added or deleted.
  useEffect(() => setRefusal(null), [pending]);
  async function send() {
    setBusy(true);
    setRefusal(null);
    try {
      const text = summary.trim();
      const answer = await api().requestChanges({ params: { id: task.id }, body: { ...(text ? { summary: text } : {}), author: 'user' } });
      setSummary('');
      onSent(answer.task, answer.sent);
    } catch (err) {
      setRefusal(refusalText(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="space-y-1" data-testid="request-changes">
      <label htmlFor="task-review-summary" className="block text-sm">
        Summary of your review (optional)
      </label>
      <textarea id="task-review-summary" rows={2} className={input} value={summary} onChange={(e) => setSummary(e.target.value)} />
      <div className="flex flex-wrap items-center gap-2">
        <Button disabled={busy} onClick={() => void send()}>
          {busy ? 'Sending…' : 'Request changes'}
        </Button>
        <span className="text-xs text-slate-600 dark:text-slate-300" data-testid="request-changes-count">
          {pending === 0 ? 'No review comment to send' : `${plural(pending, 'review comment')} will be sent`} to {owner}
          {summary.trim() ? ', with the summary' : ''}.
        </span>
      </div>
      {refusal && (
        <p role="alert" data-testid="request-changes-refusal" className={refusalTone}>
          {refusal}
        </p>
      )}
    </div>
  );
}

'use client';
/**
 * One task: title, status, assignee (agent or team), project, description, its conversation and
 * comments (list, add, delete), and delete. Saving a status of "In progress" on an assigned task
 * dispatches it (the server does it), like a drag on the board. A repository-bound task also shows
 * its git side (task-git.tsx): checks, commits, the diff with its review comments, and in Review
 * the merge and "Request changes"; saving it as Done asks for the merge instead (`onAskMerge`).
 * The comments are read again when the task's status or rounds change (a review was sent).
 */
import Link from 'next/link';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import type { Comment, Project, Task, TaskStatus } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { Button, ErrorLine, StatusPill } from '@/components/ui';
import { AssigneeOptions, assigneeBody, assigneeValue } from './assignee';
import { COLUMNS } from './kanban';
import { TaskGitSection } from './task-git';
import { type Anchor, CommentItem } from './review';

const input = 'w-full rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900';

export function TaskDetail({
  task,
  projects,
  agents,
  teams,
  conversationStatus,
  onSaved,
  onDeleted,
  onClose,
  onAskMerge,
}: {
  task: Task;
  projects: Project[];
  agents: string[];
  teams: string[];
  conversationStatus: string | undefined;
  onSaved: (t: Task) => void;
  onDeleted: () => void;
  onClose: () => void;
  /** For a task of a repository-bound project: Done means merged, so saving it as Done asks for the merge. */
  onAskMerge: ((t: Task) => void) | null;
}) {
  const [comments, setComments] = useState<Comment[]>([]);
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);

  // Read again when a review is sent (the task goes back to In progress, a round more) and when it comes back.
  const rounds = task.git?.rounds ?? 0;
  const loadComments = useCallback(
    () =>
      api()
        .listComments({ params: { id: task.id } })
        .then(setComments)
        .catch((err: unknown) => setError(messageOf(err))),
    [task.id],
  );
  // And when the branch moves: the daemon follows each review comment's line to the new tip.
  const head = task.git?.headSha ?? null;
  useEffect(() => {
    void loadComments();
  }, [loadComments, task.status, rounds, head]);

  async function addComment(e: FormEvent) {
    e.preventDefault();
    if (!comment.trim()) return;
    setError(null);
    try {
      const added = await api().addComment({ params: { id: task.id }, body: { content: comment.trim(), author: 'user' } });
      setComments((c) => [...c, added]);
      setComment('');
    } catch (err) {
      setError(messageOf(err));
    }
  }

  async function addReviewComment(anchor: Anchor, content: string) {
    const added = await api().addComment({ params: { id: task.id }, body: { content, author: 'user', anchor } });
    setComments((c) => [...c, added]);
  }

  async function removeComment(id: number) {
    setError(null);
    try {
      await api().deleteComment({ params: { id } });
      setComments((c) => c.filter((x) => x.id !== id));
    } catch (err) {
      setError(messageOf(err));
    }
  }

  async function remove() {
    if (!window.confirm(`Delete ${task.identifier ?? task.title} and its comments?`)) return;
    // A task's worktree outlives it unless removed with it: removal is refused while it holds work that is nowhere else.
    const worktree = task.git?.worktreePath
      ? window.confirm(`Remove its worktree ${task.git.worktreePath} too? OK removes it (refused while it holds uncommitted or unpushed work); Cancel keeps it, listed as orphaned.`)
        ? ('remove' as const)
        : ('keep' as const)
      : undefined;
    try {
      await api().deleteTask({ params: { id: task.id }, ...(worktree ? { query: { worktree } } : {}) });
      onDeleted();
    } catch (err) {
      setError(messageOf(err));
    }
  }

  const name = task.identifier ?? 'Task';
  // Comments on a line of the diff are shown there (task-git.tsx); here, those on the task as a whole.
  const general = comments.filter((c) => !c.anchor);
  return (
    <section aria-label={`Task ${name}`} data-testid="task-detail" className="w-full shrink-0 rounded-lg border border-slate-200 bg-white p-4 2xl:w-96 dark:border-slate-800 dark:bg-slate-900">
      <div className="mb-3 flex items-center gap-2">
        <h2 className="font-semibold">{name}</h2>
        <Button className="ml-auto" onClick={onClose} aria-label="Close the task">
          ✕
        </Button>
      </div>
      <ErrorLine error={error} />
      <TaskForm task={task} projects={projects} agents={agents} teams={teams} onSaved={onSaved} onAskMerge={onAskMerge} onDelete={() => void remove()} onError={setError} />
      {task.conversationId && (
        <p className="mt-3 flex items-center gap-2 text-sm">
          Conversation: <StatusPill status={conversationStatus ?? 'queued'} />
          <Link className="underline" href={`/conversations/view?id=${encodeURIComponent(task.conversationId)}`}>
            open the run tree
          </Link>
        </p>
      )}
      {task.git && (
        <TaskGitSection
          task={task}
          git={task.git}
          onMerged={onSaved}
          review={{
            comments,
            onAddComment: addReviewComment,
            onDeleteComment: (c) => void removeComment(c.id),
            onChangesRequested: (t) => {
              onSaved(t);
              void loadComments();
            },
          }}
        />
      )}
      <h3 className="mt-4 mb-2 text-sm font-semibold">Comments ({general.length})</h3>
      <ul className="space-y-2" aria-label="Comments">
        {general.map((c) => (
          <CommentItem key={c.id} comment={c} onDelete={() => void removeComment(c.id)} />
        ))}
      </ul>
      <form onSubmit={(e) => void addComment(e)} className="mt-2 flex gap-2">
        <label htmlFor="task-comment" className="sr-only">
          New comment
        </label>
        <textarea id="task-comment" rows={2} className={input} placeholder="Add a comment…" value={comment} onChange={(e) => setComment(e.target.value)} />
        <Button type="submit" disabled={!comment.trim()}>
          Comment
        </Button>
      </form>
    </section>
  );
}

/** The task's own fields (title, status, assignee, project, description), saved together; a bound task saved as Done asks for the merge. */
function TaskForm({
  task,
  projects,
  agents,
  teams,
  onSaved,
  onAskMerge,
  onDelete,
  onError,
}: {
  task: Task;
  projects: Project[];
  agents: string[];
  teams: string[];
  onSaved: (t: Task) => void;
  onAskMerge: ((t: Task) => void) | null;
  onDelete: () => void;
  onError: (error: string | null) => void;
}) {
  const [title, setTitle] = useState(task.title);
  const [description, setDescription] = useState(task.description);
  const [status, setStatus] = useState<TaskStatus>(task.status);
  const [assignee, setAssignee] = useState(assigneeValue(task));
  const [projectId, setProjectId] = useState(task.projectId ?? '');
  const [saving, setSaving] = useState(false);
  // The board moved it (drag, or the agent through the API): follow the status shown on the card.
  useEffect(() => setStatus(task.status), [task.status]);

  async function save(e: FormEvent) {
    e.preventDefault();
    setSaving(true);
    onError(null);
    // A bound task is done once merged: the other fields are saved, and the merge is asked for.
    const askMerge = onAskMerge !== null && status === 'done' && task.status !== 'done';
    try {
      const saved = await api().patchTask({
        params: { id: task.id },
        body: { title: title.trim() || task.title, description, status: askMerge ? task.status : status, ...assigneeBody(assignee), projectId: projectId || null },
      });
      onSaved(saved);
      if (askMerge) {
        setStatus(saved.status);
        onAskMerge(saved);
      }
    } catch (err) {
      onError(messageOf(err));
    } finally {
      setSaving(false);
    }
  }

  return (
    <form onSubmit={(e) => void save(e)} className="space-y-2">
      <div>
        <label htmlFor="task-title" className="mb-1 block text-sm font-medium">
          Title
        </label>
        <input id="task-title" className={input} value={title} onChange={(e) => setTitle(e.target.value)} />
      </div>
      <div className="grid grid-cols-2 gap-2">
        <div>
          <label htmlFor="task-status" className="mb-1 block text-sm font-medium">
            Status
          </label>
          <select id="task-status" className={input} value={status} onChange={(e) => setStatus(e.target.value as TaskStatus)}>
            {COLUMNS.map((c) => (
              <option key={c.status} value={c.status}>
                {c.label}
              </option>
            ))}
            {status === 'checking' && <option value="checking">Checking</option>}
          </select>
        </div>
        <div>
          <label htmlFor="task-assignee" className="mb-1 block text-sm font-medium">
            Assignee
          </label>
          <select id="task-assignee" className={input} value={assignee} onChange={(e) => setAssignee(e.target.value)}>
            <AssigneeOptions agents={agents} teams={teams} />
          </select>
        </div>
      </div>
      <div>
        <label htmlFor="task-project" className="mb-1 block text-sm font-medium">
          Project
        </label>
        <select id="task-project" className={input} value={projectId} onChange={(e) => setProjectId(e.target.value)}>
          <option value="">No project</option>
          {projects.map((p) => (
            <option key={p.id} value={p.id}>
              {p.prefix} · {p.name}
              {p.archivedAt ? ' (archived)' : ''}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="task-description" className="mb-1 block text-sm font-medium">
          Description
        </label>
        <textarea id="task-description" rows={5} className={input} value={description} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <div className="flex gap-2">
        <Button type="submit" tone="primary" disabled={saving}>
          {saving ? 'Saving…' : 'Save task'}
        </Button>
        <Button tone="danger" onClick={onDelete}>
          Delete task
        </Button>
      </div>
    </form>
  );
}

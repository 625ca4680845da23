'use client';
/**
 * Projects and tasks: a projects sidebar (create, rename, archive/restore, delete), the kanban
 * of the chosen project (or of every task), a new-task line and the task detail (assignee,
 * description, comments). Moving an assigned task into "In progress" dispatches it — the server
 * does that on the status change (PATCH or reorder), so the CLI and the API behave the same —
 * and the card then shows the conversation it started, its status kept live by the tab's events.
 * In a repository-bound project (docs/git-tasks.md) a task is done once merged: moving its card to
 * Done (a drag, or the detail's status) opens the merge dialog instead of changing the status, and
 * the project's worktrees are listed under the board (the abandoned ones marked, nothing removed).
 * A chosen project shows its repository binding above the board, with the dialog that binds,
 * edits or unbinds it (repo-binding.tsx).
 */
import dynamic from 'next/dynamic';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { type FormEvent, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import type { Project, Task, TinyEvent } from '@tinyagi/client';
import { api, messageOf } from '@/lib/api';
import { memoryHref } from '@/lib/memory';
import { useStore } from '@/lib/store';
import { useLiveEvents } from '@/lib/use-events';
import { Button, ErrorLine, Panel } from '@/components/ui';
import { type Board, Kanban, boardOf } from './kanban';
import { AssigneeOptions, assigneeBody } from './assignee';
import { TaskDetail } from './task-detail';
import { MergeDialog } from './merge';
import { ProjectWorktrees } from './worktrees';
import { RepoSummary } from './repo-summary';

// The Repository dialog is opened rarely: its code loads when it is.
const RepoDialog = dynamic(() => import('./repo-binding').then((m) => m.RepoDialog), { ssr: false });

export default function ProjectsPage() {
  return (
    <Suspense fallback={<p>Loading…</p>}>
      <ProjectsFromQuery />
    </Suspense>
  );
}

function ProjectsFromQuery() {
  const params = useSearchParams();
  return <Projects projectId={params.get('project')} taskId={params.get('task')} />;
}

const field = 'rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900';
const input = 'w-full rounded border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900';

function Projects({ projectId, taskId }: { projectId: string | null; taskId: string | null }) {
  const router = useRouter();
  const agents = useStore((s) => s.agents);
  const teams = useStore((s) => s.teams);
  const [projects, setProjects] = useState<Project[]>([]);
  const [tasks, setTasks] = useState<Map<string, Task>>(new Map());
  const [conversations, setConversations] = useState<Map<string, string>>(new Map());
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // The bound task whose move to Done asks for its merge, and a counter the worktree list reloads on.
  const [asking, setAsking] = useState<Task | null>(null);
  const [worktreeEvents, setWorktreeEvents] = useState(0);
  // The repository dialog of the chosen project (bind, edit, unbind).
  const [binding, setBinding] = useState(false);

  const loadProjects = useCallback(() => api().listProjects().then(setProjects), []);
  const loadTasks = useCallback(
    () =>
      api()
        .listTasks({ query: projectId ? { projectId } : {} })
        .then((list) => setTasks(new Map(list.map((t) => [t.id, t])))),
    [projectId],
  );

  useEffect(() => {
    setLoaded(false);
    Promise.all([
      loadProjects(),
      loadTasks(),
      api()
        .listConversations({ query: { limit: 200 } })
        .then((list) => setConversations(new Map(list.map((c) => [c.id, c.status])))),
    ])
      .then(() => setLoaded(true))
      .catch((err: unknown) => setError(messageOf(err)));
  }, [loadProjects, loadTasks]);

  // Live: the status of the conversations the cards show; an ended one reloads the tasks (its agent may have moved or commented on them), and so does a task's git step.
  useLiveEvents((events) => {
    const { updates, reload } = boardChanges(events);
    if (updates.length > 0) setConversations((m) => new Map([...m, ...updates]));
    if (reload) loadTasks().catch(() => {});
    // Only when a worktree came or went: listing runs git in every worktree, beside the agents working there.
    if (events.some((e) => e.type === 'task.worktree_created' || e.type === 'task.worktree_removed')) setWorktreeEvents((n) => n + 1);
  });

  const visible = useMemo(() => [...tasks.values()], [tasks]);
  const board = useMemo(() => boardOf(visible), [visible]);
  const current = projects.find((p) => p.id === projectId) ?? null;
  const projectOf = useCallback((t: Task) => projects.find((p) => p.id === t.projectId), [projects]);
  const asksMerge = useCallback((t: Task) => Boolean(projectOf(t)?.repo), [projectOf]);

  const applyTasks = (changed: readonly Task[]) => {
    setTasks((m) => withTasks(m, changed));
    const started = changed.filter((t) => t.conversationId).map((t): [string, string] => [t.conversationId!, 'active']);
    if (started.length > 0) setConversations((m) => new Map([...started.filter(([id]) => !m.has(id)), ...m]));
  };

  const onReorder = (next: Board, changed: Partial<Board>) => {
    // The cards stay where they were dropped; the answer (with any new conversation) replaces them.
    setTasks((m) => withBoard(m, next));
    api()
      .reorderTasks({ body: { columns: changed } })
      .then(applyTasks)
      .catch((err: unknown) => {
        setError(`The new order was not saved: ${messageOf(err)}`);
        loadTasks().catch(() => {});
      });
  };

  // Stable: the kanban's cards are memoised on it (a new function would re-render all of them).
  const open = useCallback(
    (id: string | null) => {
      const q = new URLSearchParams();
      if (projectId) q.set('project', projectId);
      if (id) q.set('task', id);
      const s = q.toString();
      router.replace(s ? `/projects?${s}` : '/projects', { scroll: false });
    },
    [projectId, router],
  );

  const selected = taskId ? (tasks.get(taskId) ?? null) : null;

  return (
    <div className="flex flex-col gap-4 lg:flex-row">
      <ProjectsSidebar projects={projects} current={current} onChanged={() => loadProjects().catch((err: unknown) => setError(messageOf(err)))} onError={setError} />
      <div className="min-w-0 flex-1 space-y-3">
        <ProjectHeading project={current} />
        <ErrorLine error={error} />
        {current && <RepoSummary project={current} onEdit={() => setBinding(true)} />}
        <NewTask projectId={current?.id ?? null} agents={agents.map((a) => a.id)} teams={teams.map((t) => t.id)} onCreated={(t) => applyTasks([t])} onError={setError} />
        {loaded && tasks.size === 0 && (
          <p className="text-sm text-slate-600 dark:text-slate-300">No tasks here yet. Add one above; assign it to an agent or a team and drag it to “In progress” to send it to them.</p>
        )}
        <div className="flex flex-col gap-3 2xl:flex-row">
          <div className="min-w-0 flex-1">
            <Kanban
              tasks={tasks}
              board={board}
              conversations={conversations}
              selected={taskId}
              onOpen={open}
              onReorder={onReorder}
              asksMerge={asksMerge}
              onAskMerge={setAsking}
              {...(current?.repo ? { doneLabel: 'Merged' } : {})}
            />
          </div>
          {selected && (
            <TaskDetail
              key={selected.id}
              task={selected}
              projects={projects}
              agents={agents.map((a) => a.id)}
              teams={teams.map((t) => t.id)}
              conversationStatus={selected.conversationId ? conversations.get(selected.conversationId) : undefined}
              onSaved={(t) => applyTasks([t])}
              onDeleted={() => {
                setTasks((m) => {
                  const next = new Map(m);
                  next.delete(selected.id);
                  return next;
                });
                open(null);
              }}
              onClose={() => open(null)}
              onAskMerge={asksMerge(selected) ? setAsking : null}
            />
          )}
        </div>
        {current?.repo && <ProjectWorktrees project={current} tasks={tasks} reloadKey={worktreeEvents} onOpen={open} />}
      </div>
      {binding && current && <RepoDialog key={current.id} project={current} onSaved={(p) => setProjects((list) => list.map((q) => (q.id === p.id ? p : q)))} onClose={() => setBinding(false)} />}
      {asking && <MergeDialog task={asking} project={projectOf(asking)} onMerged={(t) => applyTasks([t])} onClose={() => setAsking(null)} />}
    </div>
  );
}

/** The chosen project's name, prefix and whether it is archived; "All tasks" without one. */
function ProjectHeading({ project }: { project: Project | null }) {
  return (
    <div className="flex flex-wrap items-baseline gap-2">
      <h1 className="text-xl font-semibold">{project ? project.name : 'All tasks'}</h1>
      {project && <span className="font-mono text-sm text-slate-600 dark:text-slate-300">{project.prefix}</span>}
      {project?.archivedAt && <span className="rounded bg-amber-100 px-2 text-xs text-amber-900 dark:bg-amber-900 dark:text-amber-100">archived</span>}
    </div>
  );
}

/** What a batch of events changes on the board: the status of the conversations the cards show, and whether the tasks are read again (an ended conversation, a task's git step). */
function boardChanges(events: readonly TinyEvent[]): { updates: Array<[string, string]>; reload: boolean } {
  let reload = false;
  const updates: Array<[string, string]> = [];
  for (const e of events) {
    // A repository-bound task's steps (worktree, Checking, merge) change the task without a conversation's end.
    if (e.type.startsWith('task.')) reload = true;
    if (!e.conversationId) continue;
    if (e.type === 'conversation.started' || e.type === 'run.started') updates.push([e.conversationId, 'active']);
    else if (e.type === 'conversation.completed') {
      updates.push([e.conversationId, e.data.status]);
      reload = true;
    }
  }
  return { updates, reload };
}

/** The tasks with the changed ones replaced. */
function withTasks(tasks: ReadonlyMap<string, Task>, changed: readonly Task[]): Map<string, Task> {
  const next = new Map(tasks);
  for (const t of changed) next.set(t.id, t);
  return next;
}

/** The tasks where a drop left them: each card's status and position as the board says. */
function withBoard(tasks: ReadonlyMap<string, Task>, board: Board): Map<string, Task> {
  const copy = new Map(tasks);
  for (const [status, ids] of Object.entries(board) as Array<[Task['status'], string[]]>) {
    ids.forEach((id, position) => {
      const t = copy.get(id);
      if (t && (t.status !== status || t.position !== position)) copy.set(id, { ...t, status, position });
    });
  }
  return copy;
}

function NewTask({ projectId, agents, teams, onCreated, onError }: { projectId: string | null; agents: string[]; teams: string[]; onCreated: (t: Task) => void; onError: (e: string | null) => void }) {
  const [title, setTitle] = useState('');
  const [assignee, setAssignee] = useState('');
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!title.trim()) return;
    setBusy(true);
    onError(null);
    try {
      const who = assigneeBody(assignee);
      const task = await api().createTask({
        body: {
          title: title.trim(),
          ...(projectId ? { projectId } : {}),
          ...(who.assigneeAgent ? { assigneeAgent: who.assigneeAgent } : {}),
          ...(who.assigneeTeam ? { assigneeTeam: who.assigneeTeam } : {}),
        },
      });
      onCreated(task);
      setTitle('');
    } catch (err) {
      onError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={(e) => void submit(e)} className="flex flex-wrap items-center gap-2" aria-label="New task">
      <label htmlFor="new-task-title" className="sr-only">
        New task title
      </label>
      <input id="new-task-title" className={`${field} min-w-40 max-w-md flex-1`} placeholder="New task…" value={title} onChange={(e) => setTitle(e.target.value)} />
      <label htmlFor="new-task-assignee" className="sr-only">
        Assignee of the new task
      </label>
      <select id="new-task-assignee" className={field} value={assignee} onChange={(e) => setAssignee(e.target.value)}>
        <AssigneeOptions agents={agents} teams={teams} />
      </select>
      <Button type="submit" tone="primary" disabled={busy || !title.trim()}>
        Add task
      </Button>
    </form>
  );
}

function ProjectsSidebar({ projects, current, onChanged, onError }: { projects: Project[]; current: Project | null; onChanged: () => void; onError: (e: string | null) => void }) {
  const router = useRouter();
  const [name, setName] = useState('');
  const [renaming, setRenaming] = useState<string | null>(null);
  const [showArchived, setShowArchived] = useState(false);
  const active = projects.filter((p) => !p.archivedAt);
  const archived = projects.filter((p) => p.archivedAt);

  const run = async (work: () => Promise<unknown>) => {
    onError(null);
    try {
      await work();
      onChanged();
    } catch (err) {
      onError(messageOf(err));
    }
  };

  const item = (p: Project) => {
    const here = current?.id === p.id;
    return (
      <li key={p.id} data-project={p.id}>
        {renaming === p.id ? (
          <form
            className="flex gap-1"
            onSubmit={(e) => {
              e.preventDefault();
              const value = new FormData(e.currentTarget).get('name')?.toString().trim();
              if (!value) return;
              void run(() => api().patchProject({ params: { id: p.id }, body: { name: value } })).then(() => setRenaming(null));
            }}
          >
            <label htmlFor={`rename-${p.id}`} className="sr-only">
              New name of {p.name}
            </label>
            {/* biome-ignore lint/a11y/noAutofocus: the rename field appears because the user asked to rename */}
            <input id={`rename-${p.id}`} name="name" defaultValue={p.name} autoFocus className={input} onKeyDown={(e) => e.key === 'Escape' && setRenaming(null)} />
            <Button type="submit">Save</Button>
          </form>
        ) : (
          <Link
            href={`/projects?project=${encodeURIComponent(p.id)}`}
            aria-current={here ? 'page' : undefined}
            className={`flex items-center gap-2 rounded px-2 py-1 text-sm ${here ? 'bg-slate-900 text-white dark:bg-slate-100 dark:text-slate-900' : 'hover:bg-slate-100 dark:hover:bg-slate-800'}`}
          >
            <span className="font-mono text-xs">{p.prefix}</span>
            <span className="truncate">{p.name}</span>
          </Link>
        )}
        {here && renaming !== p.id && (
          <div className="mt-1 flex flex-wrap gap-1 pl-2">
            <Button onClick={() => setRenaming(p.id)}>Rename</Button>
            <Button onClick={() => void run(() => api().patchProject({ params: { id: p.id }, body: { archived: !p.archivedAt } }))}>{p.archivedAt ? 'Restore' : 'Archive'}</Button>
            <Button
              tone="danger"
              onClick={() => {
                if (!window.confirm(`Delete project ${p.name}? Its tasks are kept, without a project.`)) return;
                void run(() => api().deleteProject({ params: { id: p.id } })).then(() => router.push('/projects'));
              }}
            >
              Delete
            </Button>
            <Link
              className="rounded border border-slate-300 px-2 py-1 text-sm hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800"
              href={memoryHref({ kind: 'project', id: p.id })}
              aria-label={`Memory of project ${p.name}`}
            >
              Memory
            </Link>
          </div>
        )}
      </li>
    );
  };

  return (
    <aside className="w-full shrink-0 lg:w-60">
      <Panel title="Projects">
        <nav aria-label="Projects">
          <ul className="space-y-1">
            <li>
              <Link
                href="/projects"
                aria-current={current === null ? 'page' : undefined}
                className={`block rounded px-2 py-1 text-sm ${current === null ? 'bg-slate-900 text-white dark:bg-slate-100 dark:text-slate-900' : 'hover:bg-slate-100 dark:hover:bg-slate-800'}`}
              >
                All tasks
              </Link>
            </li>
            {active.map(item)}
          </ul>
          {archived.length > 0 && (
            <div className="mt-3">
              <button type="button" className="text-xs text-slate-600 underline dark:text-slate-300" aria-expanded={showArchived} onClick={() => setShowArchived((s) => !s)}>
                {showArchived ? 'Hide' : 'Show'} archived ({archived.length})
              </button>
              {(showArchived || current?.archivedAt) && <ul className="mt-1 space-y-1">{archived.map(item)}</ul>}
            </div>
          )}
        </nav>
        <form
          className="mt-3 flex gap-1"
          onSubmit={(e) => {
            e.preventDefault();
            if (!name.trim()) return;
            void run(async () => {
              const p = await api().createProject({ body: { name: name.trim() } });
              setName('');
              router.push(`/projects?project=${encodeURIComponent(p.id)}`);
            });
          }}
        >
          <label htmlFor="new-project" className="sr-only">
            New project name
          </label>
          <input id="new-project" className={input} placeholder="New project…" value={name} onChange={(e) => setName(e.target.value)} />
          <Button type="submit" disabled={!name.trim()}>
            Add
          </Button>
        </form>
      </Panel>
    </aside>
  );
}

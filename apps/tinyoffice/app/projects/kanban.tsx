'use client';
/**
 * The kanban board: five columns (and Checking while a task is in it), drag and drop with the mouse (drag a card anywhere) or the
 * keyboard (focus a card's ⠿ handle, Space to pick it up, arrows to move, Space to drop, Escape
 * to cancel), announced to screen readers by dnd-kit. A drop reports the new order of the
 * columns it touched (`onReorder`), which the page persists in one POST /api/tasks/reorder. A
 * repository-bound task's card carries its last Checking's state, or Merged (docs/git-tasks.md),
 * with several nodes the node that holds its worktree and a step waiting for that node; dropping
 * it in Done puts it back and asks for its merge (`onAskMerge`): there, Done is a merged branch,
 * not a status a person sets.
 */
import {
  type Announcements,
  DndContext,
  type DragEndEvent,
  type DragOverEvent,
  type DragStartEvent,
  type KeyboardCoordinateGetter,
  KeyboardSensor,
  PointerSensor,
  closestCorners,
  useDroppable,
  useSensor,
  useSensors,
} from '@dnd-kit/core';
import { SortableContext, arrayMove, sortableKeyboardCoordinates, useSortable, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import Link from 'next/link';
import { memo, useEffect, useMemo, useRef, useState } from 'react';
import { TASK_STEP_NAMES, type Task, type TaskStatus } from '@tinyagi/client';
import { StatusPill } from '@/components/ui';
import { checkBadge, MERGED_TONE } from './task-git';

export const COLUMNS: ReadonlyArray<{ status: TaskStatus; label: string }> = [
  { status: 'backlog', label: 'Backlog' },
  { status: 'todo', label: 'To do' },
  { status: 'in_progress', label: 'In progress' },
  { status: 'review', label: 'Review' },
  { status: 'done', label: 'Done' },
];

/** The daemon's column while it proves a repository-bound task's "done" (docs/git-tasks.md): shown only while a task is in it, and not a column a person moves a card to. */
const CHECKING_COLUMN: { status: TaskStatus; label: string } = { status: 'checking', label: 'Checking' };

/** The columns shown for this board. */
function columnsOf(board: Board, doneLabel = 'Done'): ReadonlyArray<{ status: TaskStatus; label: string }> {
  const columns = COLUMNS.map((c) => (c.status === 'done' ? { ...c, label: doneLabel } : c));
  return board.checking.length > 0 ? [...columns.slice(0, 3), CHECKING_COLUMN, ...columns.slice(3)] : columns;
}

export type Board = Record<TaskStatus, string[]>;

export function boardOf(tasks: readonly Task[]): Board {
  const board: Board = { backlog: [], todo: [], in_progress: [], checking: [], review: [], done: [] };
  for (const t of [...tasks].sort((a, b) => a.position - b.position || a.createdAt - b.createdAt)) board[t.status].push(t.id);
  return board;
}

function columnOf(board: Board, id: string): TaskStatus | undefined {
  if (id in board) return id as TaskStatus;
  return columnsOf(board).find((c) => board[c.status].includes(id))?.status;
}

export interface KanbanProps {
  tasks: ReadonlyMap<string, Task>;
  board: Board;
  conversations: ReadonlyMap<string, string>;
  selected: string | null;
  onOpen: (id: string) => void;
  onReorder: (next: Board, changed: Partial<Board>) => void;
  /** True for a task that is done only once merged (its project is bound to a repository). */
  asksMerge?: (task: Task) => boolean;
  /** Such a task was dropped in Done: the card went back, and the page asks for the merge. */
  onAskMerge?: (task: Task) => void;
  /** The Done column's name: `Merged` on a board of a project bound to a repository, where done is merged. */
  doneLabel?: string;
}

export function Kanban({ tasks, board: fromServer, conversations, selected, onOpen, onReorder, asksMerge, onAskMerge, doneLabel }: KanbanProps) {
  const [board, setBoard] = useState(fromServer);
  const origin = useRef<{ board: Board; column: TaskStatus } | null>(null);
  const current = useRef(board);
  current.current = board;
  useEffect(() => {
    if (!origin.current) setBoard(fromServer);
  }, [fromServer]);
  // Left/right jump to the top of the neighbouring column (dnd-kit's sortable getter looks for
  // the nearest droppable and, across columns, kept finding the card itself); up/down are its own.
  const coordinateGetter = useMemo<KeyboardCoordinateGetter>(
    () => (event, args) => {
      if (event.code !== 'ArrowRight' && event.code !== 'ArrowLeft') return sortableKeyboardCoordinates(event, args);
      event.preventDefault();
      const from = columnOf(current.current, String(args.active));
      const index = COLUMNS.findIndex((c) => c.status === from);
      const next = COLUMNS[index + (event.code === 'ArrowRight' ? 1 : -1)];
      const rect = next ? args.context.droppableRects.get(next.status) : undefined;
      return rect ? { x: rect.left, y: rect.top } : undefined;
    },
    [],
  );
  // Screen readers hear the task's and the column's names, not dnd-kit's "draggable item task_01…".
  const tasksRef = useRef(tasks);
  tasksRef.current = tasks;
  const asksMergeRef = useRef(asksMerge);
  asksMergeRef.current = asksMerge;
  const announcements = useMemo<Announcements>(() => {
    const nameOf = (id: string | number) => {
      const t = tasksRef.current.get(String(id));
      return t ? (t.identifier ? `${t.identifier} ${t.title}` : t.title) : 'the task';
    };
    const where = (id: string | number | undefined) => {
      if (id === undefined) return 'outside the board';
      const column = columnOf(current.current, String(id));
      const label = columnsOf(current.current, doneLabel).find((c) => c.status === column)?.label;
      if (!column || !label) return 'outside the board';
      const index = current.current[column].indexOf(String(id));
      return index < 0 ? `column ${label}` : `column ${label}, position ${index + 1} of ${current.current[column].length}`;
    };
    return {
      onDragStart: ({ active }) => `Picked up ${nameOf(active.id)} in ${where(active.id)}.`,
      onDragOver: ({ active, over }) => `${nameOf(active.id)} is now in ${where(over ? active.id : undefined)}.`,
      onDragEnd: ({ active, over }) => {
        if (!over) return `${nameOf(active.id)} was put back.`;
        const t = tasksRef.current.get(String(active.id));
        if (t && t.status !== 'done' && columnOf(current.current, String(active.id)) === 'done' && asksMergeRef.current?.(t)) {
          return `${nameOf(active.id)} is done once merged: it was put back, and a dialog asks for the merge.`;
        }
        return `Dropped ${nameOf(active.id)} in ${where(active.id)}.`;
      },
      onDragCancel: ({ active }) => `Moving ${nameOf(active.id)} was cancelled; it is back where it was.`,
    };
  }, [doneLabel]);
  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 5 } }), useSensor(KeyboardSensor, { coordinateGetter }));

  const onDragStart = ({ active }: DragStartEvent) => {
    const column = columnOf(board, String(active.id));
    if (column) origin.current = { board, column };
  };

  const onDragOver = ({ active, over }: DragOverEvent) => {
    if (!over) return;
    const id = String(active.id);
    setBoard((b) => {
      const from = columnOf(b, id);
      const to = columnOf(b, String(over.id));
      if (!from || !to || from === to) return b;
      const target = b[to];
      const overIndex = target.indexOf(String(over.id));
      const at = overIndex < 0 ? target.length : overIndex;
      return { ...b, [from]: b[from].filter((x) => x !== id), [to]: [...target.slice(0, at), id, ...target.slice(at)] };
    });
  };

  const onDragEnd = ({ active, over }: DragEndEvent) => {
    const start = origin.current;
    origin.current = null;
    if (!start) return;
    const id = String(active.id);
    let next = board;
    const to = columnOf(next, id);
    if (over && to) {
      const overCol = columnOf(next, String(over.id));
      if (overCol === to) {
        const list = next[to];
        const from = list.indexOf(id);
        const dest = String(over.id) === to ? list.length - 1 : list.indexOf(String(over.id));
        if (from !== dest && dest >= 0) next = { ...next, [to]: arrayMove(list, from, dest) };
      }
    }
    if (!to) return setBoard(start.board);
    const task = tasks.get(id);
    if (to === 'done' && start.column !== 'done' && task && asksMerge?.(task) && onAskMerge) {
      setBoard(start.board);
      onAskMerge(task);
      return;
    }
    setBoard(next);
    const changed: Partial<Board> = { [start.column]: next[start.column], [to]: next[to] };
    const same = start.column === to && next[to].join() === start.board[to].join();
    if (!same) onReorder(next, changed);
  };

  return (
    <DndContext
      sensors={sensors}
      collisionDetection={closestCorners}
      onDragStart={onDragStart}
      onDragOver={onDragOver}
      onDragEnd={onDragEnd}
      onDragCancel={() => {
        if (origin.current) setBoard(origin.current.board);
        origin.current = null;
      }}
      accessibility={{
        announcements,
        screenReaderInstructions: { draggable: 'To move a task, press Space on its handle. Arrow keys move it within and across columns. Space drops it, Escape cancels.' },
      }}
    >
      {/* On a phone the columns are stacked; these links jump to each one. */}
      <nav aria-label="Columns" className="mb-2 flex flex-wrap gap-1 sm:hidden">
        {columnsOf(board, doneLabel).map((c) => (
          <a key={c.status} href={`#column-${c.status}`} className="rounded-full border border-slate-300 px-2 py-0.5 text-xs dark:border-slate-600">
            {c.label} <span className="tabular-nums">({board[c.status].length})</span>
          </a>
        ))}
      </nav>
      {/* Wider screens: side by side, scrolling sideways inside the board when they do not fit. */}
      <div data-testid="kanban" className="grid grid-cols-1 gap-3 pb-2 sm:grid-flow-col sm:grid-cols-none sm:auto-cols-[minmax(9.5rem,1fr)] sm:overflow-x-auto">
        {columnsOf(board, doneLabel).map((c) => (
          <Column key={c.status} status={c.status} label={c.label} ids={board[c.status]} tasks={tasks} conversations={conversations} selected={selected} onOpen={onOpen} />
        ))}
      </div>
    </DndContext>
  );
}

const Column = memo(function Column({
  status,
  label,
  ids,
  tasks,
  conversations,
  selected,
  onOpen,
}: {
  status: TaskStatus;
  label: string;
  ids: string[];
  tasks: ReadonlyMap<string, Task>;
  conversations: ReadonlyMap<string, string>;
  selected: string | null;
  onOpen: (id: string) => void;
}) {
  const { setNodeRef, isOver } = useDroppable({ id: status });
  const items = useMemo(() => ids, [ids]);
  return (
    <section id={`column-${status}`} aria-label={`${label} (${ids.length})`} data-column={status} className="flex scroll-mt-24 flex-col rounded-lg sm:min-h-40 bg-slate-100 p-2 dark:bg-slate-900">
      <h2 className="mb-2 flex items-center gap-2 px-1 text-sm font-semibold text-slate-700 dark:text-slate-200">
        {label}
        <span className="rounded-full bg-slate-200 px-2 text-xs dark:bg-slate-700">{ids.length}</span>
      </h2>
      <SortableContext id={status} items={items} strategy={verticalListSortingStrategy}>
        <ol ref={setNodeRef} className={`flex min-h-24 flex-1 flex-col gap-2 rounded ${isOver ? 'bg-sky-100 dark:bg-sky-950' : ''}`}>
          {ids.map((id) => {
            const task = tasks.get(id);
            return task ? <Card key={id} task={task} conversationStatus={task.conversationId ? conversations.get(task.conversationId) : undefined} selected={selected === id} onOpen={onOpen} /> : null;
          })}
        </ol>
      </SortableContext>
    </section>
  );
});

const NO_RESIZE_OBSERVER = { disabled: true } as const;

/**
 * One card. The sortable part is thin: dnd-kit's useSortable reads the drag context, so every
 * card's hook runs on every pointer move of a drag; what it renders is only the <li> (position,
 * drag styles) and the handle, while the card's content is a memoised CardBody that does not
 * re-render during a drag. No ResizeObserver per card while dragging (dnd-kit's default starts
 * one per sortable at drag start, a thousand of them here): cards do not change size during a drag,
 * and dnd-kit still re-measures the columns when their items change.
 */
const Card = memo(function Card({ task, conversationStatus, selected, onOpen }: { task: Task; conversationStatus: string | undefined; selected: boolean; onOpen: (id: string) => void }) {
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, transition, isDragging } = useSortable({ id: task.id, resizeObserverConfig: NO_RESIZE_OBSERVER });
  const name = task.identifier ?? task.title;
  return (
    <li
      ref={setNodeRef}
      {...listeners}
      data-task={task.id}
      data-identifier={task.identifier ?? ''}
      style={{ transform: CSS.Translate.toString(transform), transition }}
      className={`rounded-md border bg-white p-2 text-sm shadow-sm dark:bg-slate-800 ${isDragging ? 'opacity-60 ring-2 ring-sky-500' : ''} ${selected ? 'border-sky-600 dark:border-sky-400' : 'border-slate-200 dark:border-slate-700'}`}
    >
      <div className="flex items-start gap-1">
        <button
          ref={setActivatorNodeRef}
          type="button"
          {...attributes}
          aria-label={`Move ${name}`}
          className="cursor-grab rounded px-0.5 text-slate-500 hover:bg-slate-100 dark:text-slate-400 dark:hover:bg-slate-700"
        >
          ⠿
        </button>
        <CardTitle task={task} onOpen={onOpen} />
      </div>
      <CardMeta task={task} name={name} conversationStatus={conversationStatus} />
    </li>
  );
});

/** The card's content: memoised, so a drag (which re-renders every card's sortable hook) leaves it alone. */
const CardTitle = memo(function CardTitle({ task, onOpen }: { task: Task; onOpen: (id: string) => void }) {
  return (
    <button type="button" className="min-w-0 flex-1 text-left" onClick={() => onOpen(task.id)}>
      {task.identifier && <span className="mr-1 font-mono text-xs text-slate-600 dark:text-slate-300">{task.identifier}</span>}
      <span className="break-words font-medium">{task.title}</span>
    </button>
  );
});

const CardMeta = memo(function CardMeta({ task, name, conversationStatus }: { task: Task; name: string; conversationStatus: string | undefined }) {
  const assignee = task.assigneeAgent ? `@${task.assigneeAgent}` : task.assigneeTeam ? `#${task.assigneeTeam}` : null;
  // A bound task's facts: Merged once merged (instead of Done), else the last Checking.
  const check = task.git?.check;
  const badge = task.git?.merge ? { label: 'Merged', tone: MERGED_TONE } : check ? checkBadge(check.state, task.git?.roundsApproval?.decision) : null;
  // Several nodes: where its worktree is, and a person's step waiting for that node.
  const node = task.git?.merge ? undefined : task.git?.node;
  const request = task.git?.request;
  if (!assignee && !task.conversationId && !badge && !node && !request) return null;
  return (
    <div className="mt-1 flex flex-wrap items-center gap-2 pl-5 text-xs text-slate-600 dark:text-slate-300">
      {assignee && <span>{assignee}</span>}
      {badge && (
        <span data-testid="task-git-badge" className={`rounded-full px-2 py-0.5 font-medium ${badge.tone}`}>
          {badge.label}
        </span>
      )}
      {node && (
        <span data-testid="task-node" title={`Its worktree is on node ${node}: its steps run there`}>
          on {node}
        </span>
      )}
      {request && (
        <span data-testid="task-step-waits-badge" className="rounded-full bg-amber-100 px-2 py-0.5 font-medium text-amber-900 dark:bg-amber-900 dark:text-amber-100">
          {TASK_STEP_NAMES[request.step]} waits for {request.node}
        </span>
      )}
      {task.conversationId && (
        <Link
          href={`/conversations/view?id=${encodeURIComponent(task.conversationId)}`}
          className="ml-auto flex items-center gap-1 underline"
          data-testid="task-conversation"
          data-status={conversationStatus ?? 'unknown'}
        >
          {/* The conversation's state while it matters to the card (queued, working, failed); a finished turn is not the task's state. */}
          {conversationStatus === 'completed' ? <span aria-hidden="true">conversation</span> : <StatusPill status={conversationStatus ?? 'queued'} />}
          <span className="sr-only">conversation of {name}</span>
        </Link>
      )}
    </div>
  );
});

/**
 * Kanban data (`projects`, `tasks`, `task_comments`).
 *
 * Contract:
 * - A task in a project gets the identifier `<PREFIX>-<n>` from the project's counter (never
 *   reused, also after deletions); a task without a project gets `T-<n>`.
 * - `position` orders tasks inside a status column; new tasks go to the end of their column.
 * - `reorder` sets status and position of every listed task in one transaction and reports
 *   which tasks changed status (the server dispatches tasks that entered in_progress).
 * - Deleting a task deletes its comments; deleting a project keeps its tasks (project unset).
 * - A review comment carries its anchor (file, line, side, commit) and, once a request for changes
 *   sent it to the task's owner, the round it went in (`markCommentsSent`: only comments still
 *   unsent are marked, so marking again changes nothing).
 */
import { type ProjectRepo, type ReviewAnchor, storedTaskGit, type TaskGit } from '@tinyagi/client/contract';
import { TinyError } from '../errors.ts';
import type { ProjectRow as SchemaProjectRow, TaskCommentRow, TaskRow as SchemaTaskRow } from '../storage/rows.ts';
import type { Awaitable } from '../storage/transaction.ts';

/** `checking`: a repository-bound task's "done" being proven (docs/git-tasks.md). The contract's list, in board order. */
export const TASK_STATUSES = ['backlog', 'todo', 'in_progress', 'checking', 'review', 'done'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface ProjectRecord {
  id: string;
  name: string;
  prefix: string;
  description: string;
  /** When it was archived (hidden from the active list; its tasks stay), or null. */
  archivedAt: number | null;
  /** The repository binding (parsed: defaults filled), or null. */
  repo: ProjectRepo | null;
  createdAt: number;
  updatedAt: number;
}

export interface TaskRecord {
  id: string;
  projectId: string | null;
  identifier: string | null;
  title: string;
  description: string;
  status: TaskStatus;
  position: number;
  assigneeAgent: string | null;
  assigneeTeam: string | null;
  conversationId: string | null;
  /** The task's worktree (repository-bound projects), or null. */
  git: TaskGit | null;
  createdAt: number;
  updatedAt: number;
}

export interface CommentRecord {
  id: number;
  taskId: string;
  author: string;
  content: string;
  /** A review comment's place in the task's diff, or null (a comment on the task as a whole). */
  anchor: ReviewAnchor | null;
  /** The round in which the comment went to the task's owner, or null (not sent). */
  sentRound: number | null;
  createdAt: number;
}

export interface AddCommentInput {
  author: string;
  content: string;
  anchor?: ReviewAnchor | undefined;
  /** A comment stored as sent in this round (a request for changes' summary). */
  sentRound?: number | undefined;
}

export interface CreateTaskInput {
  title: string;
  description?: string;
  status?: TaskStatus;
  projectId?: string | null;
  assigneeAgent?: string | null;
  assigneeTeam?: string | null;
}

export type TaskPatch = Partial<Pick<TaskRecord, 'title' | 'description' | 'status' | 'projectId' | 'assigneeAgent' | 'assigneeTeam' | 'position' | 'conversationId'>>;

/** @internal A `SELECT *` row (type derived from the drizzle schema; kept out of the published types, which must not reach drizzle's). */
export type TaskRow = SchemaTaskRow;
/** @internal */
export type ProjectRow = SchemaProjectRow;
/** @internal */
export type CommentRow = TaskCommentRow;

/** `Website Redesign` -> `WR`; `Infrastructure` -> `INF`; `a b c d` -> `ABC`. */
export function derivePrefix(name: string): string {
  const words = name
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter((w) => /^[A-Z]/.test(w));
  if (words.length === 0) return 'P';
  if (words.length === 1) return words[0]!.slice(0, 3);
  return words
    .slice(0, 3)
    .map((w) => w[0])
    .join('');
}

export interface TaskStoreApi {
  createProject(input: { name: string; prefix?: string; description?: string; repo?: ProjectRepo | undefined }): Awaitable<ProjectRecord>;
  getProject(id: string): Awaitable<ProjectRecord | undefined>;
  mustGetProject(id: string): Awaitable<ProjectRecord>;
  listProjects(): Awaitable<ProjectRecord[]>;
  /** `archived: true` archives (keeping the first archive time), `false` restores. */
  updateProject(id: string, patch: ProjectPatch): Awaitable<ProjectRecord>;
  deleteProject(id: string): Awaitable<void>;
  createTask(input: CreateTaskInput): Awaitable<TaskRecord>;
  getTask(idOrIdentifier: string): Awaitable<TaskRecord | undefined>;
  mustGetTask(idOrIdentifier: string): Awaitable<TaskRecord>;
  listTasks(query?: { projectId?: string; status?: TaskStatus; assignee?: string }): Awaitable<TaskRecord[]>;
  updateTask(idOrIdentifier: string, patch: TaskPatch): Awaitable<{ before: TaskRecord; after: TaskRecord }>;
  deleteTask(idOrIdentifier: string): Awaitable<void>;
  /**
   * Records the task's worktree state. Leaves `updated_at` alone: the task's dispatch is keyed by
   * the time it entered in_progress, so a resumed step sends the same message once.
   */
  setTaskGit(idOrIdentifier: string, git: TaskGit | null): Awaitable<TaskRecord>;
  reorder(columns: Partial<Record<TaskStatus, readonly string[]>>): Awaitable<{ tasks: TaskRecord[]; statusChanged: Array<{ before: TaskRecord; after: TaskRecord }> }>;
  listComments(taskId: string): Awaitable<CommentRecord[]>;
  commentCount(taskId: string): Awaitable<number>;
  addComment(taskId: string, input: AddCommentInput): Awaitable<CommentRecord>;
  /**
   * Records that the task's comments `ids` went to its owner in `round`: only those of this task
   * still unsent are marked (a comment keeps the first round it went in); returns them.
   */
  markCommentsSent(taskId: string, ids: readonly number[], round: number): Awaitable<CommentRecord[]>;
  deleteComment(id: number): Awaitable<void>;
  /**
   * Runs `work` holding the task's hold `name` across every process on the database, or answers
   * `{ held: false }` at once (work not run) when another holds it. PostgreSQL: a transaction-scoped
   * advisory lock (`pg_try_advisory_xact_lock`) on a pooled client of its own, kept while `work`
   * runs and released when it ends (or when the client's connection dies with its process); `work`'s
   * own writes go through the pool as any. SQLite: one daemon per home, so it runs `work` (the
   * daemon keeps its own one-at-a-time per task).
   */
  holdTask<T>(taskId: string, name: string, work: () => Promise<T>): Promise<{ held: true; value: T } | { held: false }>;
}

// Shared with the PostgreSQL store (pg-store.ts).

/** Board order: by column, then position, then age. */
export const TASK_ORDER = "CASE status WHEN 'backlog' THEN 0 WHEN 'todo' THEN 1 WHEN 'in_progress' THEN 2 WHEN 'checking' THEN 3 WHEN 'review' THEN 4 ELSE 5 END, position, created_at";

export function projectNotFound(id: string): TinyError {
  return new TinyError('PROJECT_NOT_FOUND', `No project with id or prefix "${id}".`);
}

export function taskNotFound(idOrIdentifier: string): TinyError {
  return new TinyError('TASK_NOT_FOUND', `No task with id or identifier "${idOrIdentifier}".`);
}

export function commentNotFound(id: number): TinyError {
  return new TinyError('COMMENT_NOT_FOUND', `No comment with id ${id}.`);
}

export function prefixTaken(prefix: string): TinyError {
  return new TinyError('ALREADY_EXISTS', `Another project already uses the prefix ${prefix}.`, { hint: 'Choose another prefix.' });
}

export function listedTwice(ref: string): TinyError {
  return new TinyError('INVALID_STATE', `Task ${ref} is listed twice in the reorder request.`);
}

/** `repo`: a new binding (replacing the old one whole), null to unbind, absent to keep. */
export type ProjectPatch = { name?: string | undefined; prefix?: string | undefined; description?: string | undefined; archived?: boolean | undefined; repo?: ProjectRepo | null | undefined };

/** name, prefix, description, archived_at, repo, updated_at after the patch (archiving keeps the first archive time). */
export function patchedProject(current: ProjectRecord, patch: ProjectPatch, now: number): [string, string, string, number | null, string | null, number] {
  const archivedAt = patch.archived === undefined ? current.archivedAt : patch.archived ? (current.archivedAt ?? now) : null;
  const repo = patch.repo === undefined ? current.repo : patch.repo;
  return [patch.name ?? current.name, patch.prefix ?? current.prefix, patch.description ?? current.description, archivedAt, jsonOrNull(repo), now];
}

/** A JSON column's text, or null. */
export function jsonOrNull(value: object | null | undefined): string | null {
  return value == null ? null : JSON.stringify(value);
}

function parseJsonColumn<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/** A task's git column in today's names (an older version's stored names read as the new ones). */
function readTaskGit(text: string | null): TaskGit | null {
  const git = parseJsonColumn<TaskGit>(text);
  return git === null ? null : storedTaskGit(git);
}

/** The task's columns after the patch, in the order of the UPDATE (project_id … updated_at); project, identifier, status and position resolved by the store. */
export function patchedTask(
  before: TaskRecord,
  patch: TaskPatch,
  resolved: { projectId: string | null; identifier: string | null; status: TaskStatus; position: number },
  now: number,
): Array<string | number | null> {
  return [
    resolved.projectId,
    resolved.identifier,
    patch.title ?? before.title,
    patch.description ?? before.description,
    resolved.status,
    resolved.position,
    patch.assigneeAgent === undefined ? before.assigneeAgent : patch.assigneeAgent,
    patch.assigneeTeam === undefined ? before.assigneeTeam : patch.assigneeTeam,
    patch.conversationId === undefined ? before.conversationId : patch.conversationId,
    now,
  ];
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toTask(r: TaskRow): TaskRecord {
  return {
    id: r.id,
    projectId: r.project_id,
    identifier: r.identifier,
    title: r.title,
    description: r.description,
    status: r.status as TaskStatus,
    position: r.position,
    assigneeAgent: r.assignee_agent,
    assigneeTeam: r.assignee_team,
    conversationId: r.conversation_id,
    git: readTaskGit(r.git),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toProject(r: ProjectRow): ProjectRecord {
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    description: r.description,
    archivedAt: r.archived_at,
    repo: parseJsonColumn<ProjectRepo>(r.repo),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** @internal Row mapping shared by the SQLite and PostgreSQL stores. */
export function toComment(r: CommentRow): CommentRecord {
  const anchor: ReviewAnchor | null =
    r.anchor_path === null || r.anchor_line === null ? null : { path: r.anchor_path, line: r.anchor_line, side: r.anchor_side === 'old' ? 'old' : 'new', commitSha: r.anchor_commit_sha };
  return { id: r.id, taskId: r.task_id, author: r.author, content: r.content, anchor, sentRound: r.sent_round, createdAt: r.created_at };
}

/** A new comment's review columns in INSERT order (anchor_path, anchor_line, anchor_side, anchor_commit_sha, sent_round). */
export function reviewColumns(input: AddCommentInput): [string | null, number | null, string | null, string | null, number | null] {
  const a = input.anchor;
  return [a?.path ?? null, a?.line ?? null, a?.side ?? null, a?.commitSha ?? null, input.sentRound ?? null];
}

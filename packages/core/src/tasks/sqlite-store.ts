/**
 * Projects, tasks and comments on SQLite: `TaskStore` over the process's one connection (synchronous; every method
 * returns a plain value). The model it shares with the PostgreSQL store (./pg-store.ts): the
 * types, the store interface, the rules, SQL and row mapping are in ./store.ts.
 */
import type { ProjectRepo, TaskGit } from '@tinyagi/client/contract';
import { newId } from '../ids.ts';
import type { TinyDatabase } from '../storage/database.ts';
import {
  type AddCommentInput,
  reviewColumns,
  type CommentRecord,
  type CommentRow,
  type CreateTaskInput,
  type ProjectPatch,
  type ProjectRecord,
  type ProjectRow,
  TASK_ORDER,
  type TaskPatch,
  type TaskRecord,
  type TaskRow,
  type TaskStatus,
  type TaskStoreApi,
  commentNotFound,
  derivePrefix,
  jsonOrNull,
  listedTwice,
  patchedProject,
  patchedTask,
  prefixTaken,
  projectNotFound,
  taskNotFound,
  toComment,
  toProject,
  toTask,
} from './store.ts';

export class TaskStore implements TaskStoreApi {
  readonly #db: TinyDatabase;

  constructor(db: TinyDatabase) {
    this.#db = db;
  }

  // Projects

  createProject(input: { name: string; prefix?: string; description?: string; repo?: ProjectRepo | undefined }): ProjectRecord {
    const now = Date.now();
    const id = newId('proj');
    this.#db.write(() => {
      let prefix = input.prefix;
      if (prefix !== undefined) this.#assertPrefixFree(prefix, undefined);
      else {
        const base = derivePrefix(input.name);
        prefix = base;
        for (let n = 2; this.#prefixTaken(prefix, undefined); n++) prefix = `${base}${n}`;
      }
      this.#db
        .prepare('INSERT INTO projects (id, name, prefix, description, repo, next_number, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)')
        .run(id, input.name, prefix, input.description ?? '', jsonOrNull(input.repo), now, now);
    });
    return this.mustGetProject(id);
  }

  getProject(id: string): ProjectRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM projects WHERE id = ? OR prefix = ?').get(id, id) as ProjectRow | undefined;
    return row ? toProject(row) : undefined;
  }

  mustGetProject(id: string): ProjectRecord {
    const p = this.getProject(id);
    if (!p) throw projectNotFound(id);
    return p;
  }

  listProjects(): ProjectRecord[] {
    return (this.#db.prepare('SELECT * FROM projects ORDER BY created_at DESC, id DESC').all() as ProjectRow[]).map(toProject);
  }

  /** `archived: true` archives (keeping the first archive time), `false` restores. */
  updateProject(id: string, patch: ProjectPatch): ProjectRecord {
    const current = this.mustGetProject(id);
    this.#db.write(() => {
      if (patch.prefix !== undefined) this.#assertPrefixFree(patch.prefix, current.id);
      this.#db
        .prepare('UPDATE projects SET name = ?, prefix = ?, description = ?, archived_at = ?, repo = ?, updated_at = ? WHERE id = ?')
        .run(...patchedProject(current, patch, Date.now()), current.id);
    });
    return this.mustGetProject(current.id);
  }

  deleteProject(id: string): void {
    const current = this.mustGetProject(id);
    this.#db.write(() => {
      this.#db.prepare('UPDATE tasks SET project_id = NULL, updated_at = ? WHERE project_id = ?').run(Date.now(), current.id);
      this.#db.prepare('DELETE FROM projects WHERE id = ?').run(current.id);
    });
  }

  // Tasks

  createTask(input: CreateTaskInput): TaskRecord {
    const now = Date.now();
    const id = newId('task');
    const status = input.status ?? 'backlog';
    this.#db.write(() => {
      let identifier: string;
      if (input.projectId) {
        const project = this.mustGetProject(input.projectId);
        identifier = `${project.prefix}-${this.#takeProjectNumber(project.id)}`;
        input = { ...input, projectId: project.id };
      } else {
        const max = this.#db.prepare("SELECT MAX(CAST(substr(identifier, 3) AS INTEGER)) AS n FROM tasks WHERE identifier LIKE 'T-%'").get() as { n: number | null };
        identifier = `T-${(max.n ?? 0) + 1}`;
      }
      this.#db
        .prepare(`INSERT INTO tasks (id, project_id, identifier, title, description, status, position, assignee_agent, assignee_team, created_at, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(id, input.projectId ?? null, identifier, input.title, input.description ?? '', status, this.#endOfColumn(status), input.assigneeAgent ?? null, input.assigneeTeam ?? null, now, now);
    });
    return this.mustGetTask(id);
  }

  /** By id or identifier (`SYS-3`, case-insensitive). */
  getTask(idOrIdentifier: string): TaskRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM tasks WHERE id = ? OR identifier = ? LIMIT 1').get(idOrIdentifier, idOrIdentifier.toUpperCase()) as TaskRow | undefined;
    return row ? toTask(row) : undefined;
  }

  mustGetTask(idOrIdentifier: string): TaskRecord {
    const t = this.getTask(idOrIdentifier);
    if (!t) throw taskNotFound(idOrIdentifier);
    return t;
  }

  listTasks(query: { projectId?: string; status?: TaskStatus; assignee?: string } = {}): TaskRecord[] {
    const where: string[] = ['1 = 1'];
    const params: unknown[] = [];
    if (query.projectId) {
      where.push('project_id = ?');
      params.push(query.projectId);
    }
    if (query.status) {
      where.push('status = ?');
      params.push(query.status);
    }
    if (query.assignee) {
      where.push('(assignee_agent = ? OR assignee_team = ?)');
      params.push(query.assignee, query.assignee);
    }
    return (this.#db.prepare(`SELECT * FROM tasks WHERE ${where.join(' AND ')} ORDER BY ${TASK_ORDER}`).all(...params) as TaskRow[]).map(toTask);
  }

  /** Applies the patch; a status change without a position moves the task to the end of its new column. */
  updateTask(idOrIdentifier: string, patch: TaskPatch): { before: TaskRecord; after: TaskRecord } {
    const before = this.mustGetTask(idOrIdentifier);
    this.#db.write(() => {
      let projectId = before.projectId;
      let identifier = before.identifier;
      if (patch.projectId !== undefined && patch.projectId !== before.projectId) {
        projectId = patch.projectId === null ? null : this.mustGetProject(patch.projectId).id;
        if (projectId !== null) identifier = `${this.mustGetProject(projectId).prefix}-${this.#takeProjectNumber(projectId)}`;
      }
      const status = patch.status ?? before.status;
      const position = patch.position ?? (status !== before.status ? this.#endOfColumn(status) : before.position);
      this.#db
        .prepare(`UPDATE tasks SET project_id = ?, identifier = ?, title = ?, description = ?, status = ?, position = ?, assignee_agent = ?, assignee_team = ?,
          conversation_id = ?, updated_at = ? WHERE id = ?`)
        .run(...patchedTask(before, patch, { projectId, identifier, status, position }, Date.now()), before.id);
    });
    return { before, after: this.mustGetTask(before.id) };
  }

  deleteTask(idOrIdentifier: string): void {
    const task = this.mustGetTask(idOrIdentifier);
    this.#db.write(() => {
      this.#db.prepare('DELETE FROM task_comments WHERE task_id = ?').run(task.id);
      this.#db.prepare('DELETE FROM tasks WHERE id = ?').run(task.id);
    });
  }

  setTaskGit(idOrIdentifier: string, git: TaskGit | null): TaskRecord {
    const task = this.mustGetTask(idOrIdentifier);
    this.#db.write(() => this.#db.prepare('UPDATE tasks SET git = ? WHERE id = ?').run(jsonOrNull(git), task.id));
    return this.mustGetTask(task.id);
  }

  /** One daemon per home on SQLite: nothing else could hold it (TaskStoreApi). */
  async holdTask<T>(_taskId: string, _name: string, work: () => Promise<T>): Promise<{ held: true; value: T }> {
    return { held: true, value: await work() };
  }

  /** Sets status and position (the index in the list) of every task listed per column. */
  reorder(columns: Partial<Record<TaskStatus, readonly string[]>>): { tasks: TaskRecord[]; statusChanged: Array<{ before: TaskRecord; after: TaskRecord }> } {
    const moved: TaskRecord[] = [];
    const ids: string[] = [];
    this.#db.write(() => {
      const update = this.#db.prepare('UPDATE tasks SET status = ?, position = ?, updated_at = ? WHERE id = ?');
      const now = Date.now();
      for (const [status, list] of Object.entries(columns) as Array<[TaskStatus, readonly string[]]>) {
        list.forEach((ref, index) => {
          const before = this.mustGetTask(ref);
          if (ids.includes(before.id)) throw listedTwice(ref);
          ids.push(before.id);
          update.run(status, index, now, before.id);
          if (before.status !== status) moved.push(before);
        });
      }
    });
    return { tasks: ids.map((id) => this.mustGetTask(id)), statusChanged: moved.map((before) => ({ before, after: this.mustGetTask(before.id) })) };
  }

  // Comments

  listComments(taskId: string): CommentRecord[] {
    const task = this.mustGetTask(taskId);
    return (this.#db.prepare('SELECT * FROM task_comments WHERE task_id = ? ORDER BY id').all(task.id) as CommentRow[]).map(toComment);
  }

  commentCount(taskId: string): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM task_comments WHERE task_id = ?').get(taskId) as { n: number }).n;
  }

  addComment(taskId: string, input: AddCommentInput): CommentRecord {
    const task = this.mustGetTask(taskId);
    const id = this.#db.write(() =>
      Number(
        this.#db
          .prepare('INSERT INTO task_comments (task_id, author, content, anchor_path, anchor_line, anchor_side, anchor_commit_sha, sent_round, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run(task.id, input.author, input.content, ...reviewColumns(input), Date.now()).lastInsertRowid,
      ),
    );
    return toComment(this.#db.prepare('SELECT * FROM task_comments WHERE id = ?').get(id) as CommentRow);
  }

  markCommentsSent(taskId: string, ids: readonly number[], round: number): CommentRecord[] {
    const task = this.mustGetTask(taskId);
    if (ids.length === 0) return [];
    const marked = this.#db.write(
      () =>
        this.#db
          .prepare(`UPDATE task_comments SET sent_round = ? WHERE task_id = ? AND sent_round IS NULL AND id IN (${ids.map(() => '?').join(', ')}) RETURNING *`)
          .all(round, task.id, ...ids) as CommentRow[],
    );
    return marked.map(toComment).sort((a, b) => a.id - b.id);
  }

  deleteComment(id: number): void {
    const n = this.#db.write(() => this.#db.prepare('DELETE FROM task_comments WHERE id = ?').run(id).changes);
    if (n === 0) throw commentNotFound(id);
  }

  #takeProjectNumber(projectId: string): number {
    const row = this.#db.prepare('UPDATE projects SET next_number = next_number + 1 WHERE id = ? RETURNING next_number - 1 AS n').get(projectId) as { n: number };
    return row.n;
  }

  #endOfColumn(status: TaskStatus): number {
    const row = this.#db.prepare('SELECT MAX(position) AS p FROM tasks WHERE status = ?').get(status) as { p: number | null };
    return row.p === null ? 0 : Math.floor(row.p) + 1;
  }

  #prefixTaken(prefix: string, exceptId: string | undefined): boolean {
    return this.#db.prepare('SELECT 1 FROM projects WHERE prefix = ? AND id != ?').get(prefix, exceptId ?? '') !== undefined;
  }

  #assertPrefixFree(prefix: string, exceptId: string | undefined): void {
    if (this.#prefixTaken(prefix, exceptId)) throw prefixTaken(prefix);
  }
}

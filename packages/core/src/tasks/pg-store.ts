/**
 * Kanban data on PostgreSQL: the contract of the SQLite `TaskStore` (./store.ts), whose mapping,
 * errors and patch rules it shares. Several nodes on one database:
 * - a project's task numbers come from `UPDATE projects SET next_number = next_number + 1 …
 *   RETURNING` (the row lock hands each number out once); tasks without a project (`T-<n>`) and
 *   the end-of-column positions are computed under the schema's `tasks` advisory lock, which every
 *   write that computes them holds (create, a status change, reorder), so two nodes never give
 *   out one identifier;
 * - read-then-write paths lock what they read (`FOR UPDATE`) inside one transaction (a savepoint
 *   inside the caller's): `reorder` is atomic, a failed one changes nothing;
 * - project prefixes are checked and derived under the schema's `projects` lock (the unique
 *   index would only turn a race into an error).
 */
import type { ProjectRepo, TaskGit } from '@tinyagi/client/contract';
import { newId } from '../ids.ts';
import type { TaskStoreApi } from './store.ts';
import { lockSchema, whereSet } from '../storage/pg/helpers.ts';
import type { PgScope } from '../storage/pg/scope.ts';
import type { ProjectRow, TaskCommentRow, TaskRow } from '../storage/rows.ts';
import {
  type AddCommentInput,
  reviewColumns,
  type CommentRecord,
  type CreateTaskInput,
  commentNotFound,
  derivePrefix,
  jsonOrNull,
  listedTwice,
  type ProjectPatch,
  type ProjectRecord,
  patchedProject,
  patchedTask,
  prefixTaken,
  projectNotFound,
  TASK_ORDER,
  type TaskPatch,
  type TaskRecord,
  type TaskStatus,
  taskNotFound,
  toComment,
  toProject,
  toTask,
} from './store.ts';

export class PgTaskStore implements TaskStoreApi {
  readonly #scope: PgScope;
  readonly #projects: string;
  readonly #tasks: string;
  readonly #comments: string;

  constructor(scope: PgScope) {
    this.#scope = scope;
    this.#projects = scope.table('projects');
    this.#tasks = scope.table('tasks');
    this.#comments = scope.table('task_comments');
  }

  // Projects

  async createProject(input: { name: string; prefix?: string; description?: string; repo?: ProjectRepo | undefined }): Promise<ProjectRecord> {
    const now = Date.now();
    return this.#scope.transaction(async (scope) => {
      await lockSchema(scope, 'projects');
      let prefix = input.prefix;
      if (prefix !== undefined) await this.#assertPrefixFree(scope, prefix, undefined);
      else {
        const base = derivePrefix(input.name);
        prefix = base;
        for (let n = 2; await this.#prefixTaken(scope, prefix, undefined); n++) prefix = `${base}${n}`;
      }
      const [row] = await scope.query<ProjectRow>(
        `INSERT INTO ${this.#projects} (id, name, prefix, description, repo, next_number, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING *`,
        [newId('proj'), input.name, prefix, input.description ?? '', jsonOrNull(input.repo), now],
      );
      return toProject(row!);
    });
  }

  getProject(id: string): Promise<ProjectRecord | undefined> {
    return this.#getProject(this.#scope, id);
  }

  mustGetProject(id: string): Promise<ProjectRecord> {
    return this.#mustGetProject(this.#scope, id);
  }

  async listProjects(): Promise<ProjectRecord[]> {
    return (await this.#scope.query<ProjectRow>(`SELECT * FROM ${this.#projects} ORDER BY created_at DESC, id DESC`)).map(toProject);
  }

  /** `archived: true` archives (keeping the first archive time), `false` restores. */
  async updateProject(id: string, patch: ProjectPatch): Promise<ProjectRecord> {
    return this.#scope.transaction(async (scope) => {
      await lockSchema(scope, 'projects');
      const current = await this.#mustGetProject(scope, id, true);
      if (patch.prefix !== undefined) await this.#assertPrefixFree(scope, patch.prefix, current.id);
      const [row] = await scope.query<ProjectRow>(`UPDATE ${this.#projects} SET name = $1, prefix = $2, description = $3, archived_at = $4, repo = $5, updated_at = $6 WHERE id = $7 RETURNING *`, [
        ...patchedProject(current, patch, Date.now()),
        current.id,
      ]);
      return toProject(row!);
    });
  }

  async deleteProject(id: string): Promise<void> {
    await this.#scope.transaction(async (scope) => {
      const current = await this.#mustGetProject(scope, id, true);
      await scope.query(`UPDATE ${this.#tasks} SET project_id = NULL, updated_at = $1 WHERE project_id = $2`, [Date.now(), current.id]);
      await scope.query(`DELETE FROM ${this.#projects} WHERE id = $1`, [current.id]);
    });
  }

  // Tasks

  async createTask(input: CreateTaskInput): Promise<TaskRecord> {
    const now = Date.now();
    const status = input.status ?? 'backlog';
    return this.#scope.transaction(async (scope) => {
      await lockSchema(scope, 'tasks');
      let projectId: string | null = null;
      let identifier: string;
      if (input.projectId) {
        const project = await this.#mustGetProject(scope, input.projectId);
        projectId = project.id;
        identifier = `${project.prefix}-${await this.#takeProjectNumber(scope, project.id)}`;
      } else {
        const [max] = await scope.query<{ n: number | null }>(`SELECT max(substring(identifier from '^T-([0-9]{1,9})$')::int) AS n FROM ${this.#tasks} WHERE identifier LIKE 'T-%'`);
        identifier = `T-${(max?.n ?? 0) + 1}`;
      }
      const [row] = await scope.query<TaskRow>(
        `INSERT INTO ${this.#tasks} (id, project_id, identifier, title, description, status, position, assignee_agent, assignee_team, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING *`,
        [newId('task'), projectId, identifier, input.title, input.description ?? '', status, await this.#endOfColumn(scope, status), input.assigneeAgent ?? null, input.assigneeTeam ?? null, now],
      );
      return toTask(row!);
    });
  }

  /** By id or identifier (`SYS-3`, case-insensitive). */
  getTask(idOrIdentifier: string): Promise<TaskRecord | undefined> {
    return this.#getTask(this.#scope, idOrIdentifier);
  }

  mustGetTask(idOrIdentifier: string): Promise<TaskRecord> {
    return this.#mustGetTask(this.#scope, idOrIdentifier);
  }

  async listTasks(query: { projectId?: string; status?: TaskStatus; assignee?: string } = {}): Promise<TaskRecord[]> {
    const params: unknown[] = [];
    const where = [
      'true',
      ...whereSet(params, [
        ['project_id = ?', query.projectId],
        ['status = ?', query.status],
        ['(assignee_agent = ? OR assignee_team = ?)', query.assignee],
      ]),
    ];
    return (await this.#scope.query<TaskRow>(`SELECT * FROM ${this.#tasks} WHERE ${where.join(' AND ')} ORDER BY ${TASK_ORDER}`, params)).map(toTask);
  }

  /** Applies the patch; a status change without a position moves the task to the end of its new column. */
  async updateTask(idOrIdentifier: string, patch: TaskPatch): Promise<{ before: TaskRecord; after: TaskRecord }> {
    return this.#scope.transaction(async (scope) => {
      await lockSchema(scope, 'tasks');
      const before = await this.#mustGetTask(scope, idOrIdentifier, true);
      let projectId = before.projectId;
      let identifier = before.identifier;
      if (patch.projectId !== undefined && patch.projectId !== before.projectId) {
        projectId = patch.projectId === null ? null : (await this.#mustGetProject(scope, patch.projectId)).id;
        if (projectId !== null) identifier = `${(await this.#mustGetProject(scope, projectId)).prefix}-${await this.#takeProjectNumber(scope, projectId)}`;
      }
      const status = patch.status ?? before.status;
      const position = patch.position ?? (status !== before.status ? await this.#endOfColumn(scope, status) : before.position);
      const [row] = await scope.query<TaskRow>(
        `UPDATE ${this.#tasks} SET project_id = $1, identifier = $2, title = $3, description = $4, status = $5, position = $6, assignee_agent = $7, assignee_team = $8,
          conversation_id = $9, updated_at = $10 WHERE id = $11 RETURNING *`,
        [...patchedTask(before, patch, { projectId, identifier, status, position }, Date.now()), before.id],
      );
      return { before, after: toTask(row!) };
    });
  }

  async deleteTask(idOrIdentifier: string): Promise<void> {
    await this.#scope.transaction(async (scope) => {
      const task = await this.#mustGetTask(scope, idOrIdentifier, true);
      await scope.query(`DELETE FROM ${this.#comments} WHERE task_id = $1`, [task.id]);
      await scope.query(`DELETE FROM ${this.#tasks} WHERE id = $1`, [task.id]);
    });
  }

  async setTaskGit(idOrIdentifier: string, git: TaskGit | null): Promise<TaskRecord> {
    const task = await this.mustGetTask(idOrIdentifier);
    const [row] = await this.#scope.query<TaskRow>(`UPDATE ${this.#tasks} SET git = $1 WHERE id = $2 RETURNING *`, [jsonOrNull(git), task.id]);
    // Deleted since it was read.
    if (!row) throw taskNotFound(idOrIdentifier);
    return toTask(row);
  }

  async holdTask<T>(taskId: string, name: string, work: () => Promise<T>): Promise<{ held: true; value: T } | { held: false }> {
    // The keys: the hold's name in this schema, and the task (a hashtext collision only makes another task wait its turn).
    return this.#scope.transaction(async (tx) => {
      const [row] = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1), hashtext($2)) AS ok', [`tinyagi.task.${name}.${tx.schema}`, taskId]);
      if (row?.ok !== true) return { held: false as const };
      return { held: true as const, value: await work() };
    });
  }

  /** Sets status and position (the index in the list) of every task listed per column, all or nothing. */
  async reorder(columns: Partial<Record<TaskStatus, readonly string[]>>): Promise<{ tasks: TaskRecord[]; statusChanged: Array<{ before: TaskRecord; after: TaskRecord }> }> {
    return this.#scope.transaction(async (scope) => {
      await lockSchema(scope, 'tasks');
      const now = Date.now();
      const after = new Map<string, TaskRecord>();
      const moved: TaskRecord[] = [];
      for (const [status, list] of Object.entries(columns) as Array<[TaskStatus, readonly string[]]>) {
        for (const [index, ref] of list.entries()) {
          const before = await this.#mustGetTask(scope, ref, true);
          if (after.has(before.id)) throw listedTwice(ref);
          const [row] = await scope.query<TaskRow>(`UPDATE ${this.#tasks} SET status = $1, position = $2, updated_at = $3 WHERE id = $4 RETURNING *`, [status, index, now, before.id]);
          after.set(before.id, toTask(row!));
          if (before.status !== status) moved.push(before);
        }
      }
      return { tasks: [...after.values()], statusChanged: moved.map((before) => ({ before, after: after.get(before.id)! })) };
    });
  }

  // Comments

  async listComments(taskId: string): Promise<CommentRecord[]> {
    const task = await this.mustGetTask(taskId);
    return (await this.#scope.query<TaskCommentRow>(`SELECT * FROM ${this.#comments} WHERE task_id = $1 ORDER BY id`, [task.id])).map(toComment);
  }

  async commentCount(taskId: string): Promise<number> {
    const [row] = await this.#scope.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.#comments} WHERE task_id = $1`, [taskId]);
    return row?.n ?? 0;
  }

  async addComment(taskId: string, input: AddCommentInput): Promise<CommentRecord> {
    const task = await this.mustGetTask(taskId);
    const [row] = await this.#scope.query<TaskCommentRow>(
      `INSERT INTO ${this.#comments} (task_id, author, content, anchor_path, anchor_line, anchor_side, anchor_commit_sha, sent_round, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
      [task.id, input.author, input.content, ...reviewColumns(input), Date.now()],
    );
    return toComment(row!);
  }

  async markCommentsSent(taskId: string, ids: readonly number[], round: number): Promise<CommentRecord[]> {
    const task = await this.mustGetTask(taskId);
    if (ids.length === 0) return [];
    const rows = await this.#scope.query<TaskCommentRow>(`UPDATE ${this.#comments} SET sent_round = $1 WHERE task_id = $2 AND sent_round IS NULL AND id = ANY($3::bigint[]) RETURNING *`, [
      round,
      task.id,
      [...ids],
    ]);
    return rows.map(toComment).sort((a, b) => a.id - b.id);
  }

  async deleteComment(id: number): Promise<void> {
    const deleted = await this.#scope.query(`DELETE FROM ${this.#comments} WHERE id = $1 RETURNING 1`, [id]);
    if (deleted.length === 0) throw commentNotFound(id);
  }

  async #getProject(scope: PgScope, id: string, lock = false): Promise<ProjectRecord | undefined> {
    const [row] = await scope.query<ProjectRow>(`SELECT * FROM ${this.#projects} WHERE id = $1 OR prefix = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
    return row ? toProject(row) : undefined;
  }

  async #mustGetProject(scope: PgScope, id: string, lock = false): Promise<ProjectRecord> {
    const p = await this.#getProject(scope, id, lock);
    if (!p) throw projectNotFound(id);
    return p;
  }

  async #getTask(scope: PgScope, idOrIdentifier: string, lock = false): Promise<TaskRecord | undefined> {
    const [row] = await scope.query<TaskRow>(`SELECT * FROM ${this.#tasks} WHERE id = $1 OR identifier = $2 LIMIT 1${lock ? ' FOR UPDATE' : ''}`, [idOrIdentifier, idOrIdentifier.toUpperCase()]);
    return row ? toTask(row) : undefined;
  }

  async #mustGetTask(scope: PgScope, idOrIdentifier: string, lock = false): Promise<TaskRecord> {
    const t = await this.#getTask(scope, idOrIdentifier, lock);
    if (!t) throw taskNotFound(idOrIdentifier);
    return t;
  }

  async #takeProjectNumber(scope: PgScope, projectId: string): Promise<number> {
    const [row] = await scope.query<{ n: number }>(`UPDATE ${this.#projects} SET next_number = next_number + 1 WHERE id = $1 RETURNING next_number - 1 AS n`, [projectId]);
    // Deleted by another node since it was read.
    if (!row) throw projectNotFound(projectId);
    return row.n;
  }

  async #endOfColumn(scope: PgScope, status: TaskStatus): Promise<number> {
    const [row] = await scope.query<{ p: number | null }>(`SELECT max(position) AS p FROM ${this.#tasks} WHERE status = $1`, [status]);
    return row?.p == null ? 0 : Math.floor(row.p) + 1;
  }

  async #prefixTaken(scope: PgScope, prefix: string, exceptId: string | undefined): Promise<boolean> {
    return (await scope.query(`SELECT 1 FROM ${this.#projects} WHERE prefix = $1 AND id <> $2`, [prefix, exceptId ?? ''])).length > 0;
  }

  async #assertPrefixFree(scope: PgScope, prefix: string, exceptId: string | undefined): Promise<void> {
    if (await this.#prefixTaken(scope, prefix, exceptId)) throw prefixTaken(prefix);
  }
}

export function pgTaskStore(scope: PgScope): PgTaskStore {
  return new PgTaskStore(scope);
}

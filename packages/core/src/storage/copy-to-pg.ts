/**
 * Copies a SQLite home's database into an empty PostgreSQL schema (docs/postgresql.md, "Moving
 * from SQLite"): every table the SQLite schema has, row for row, with the same ids.
 *
 * Contract:
 * - The target must be empty: a schema whose copied tables hold any row is refused (INVALID_STATE
 *   naming the tables and their counts), unless it holds this module's own progress table for the
 *   same source file, which makes a second run resume. What a daemon writes on its own while it
 *   runs on the schema before the copy (events with no conversation and no run: a channel's or a
 *   node's status) does not count: those rows are kept, renumbered after the copied ones in their
 *   order, in the transaction that starts the copy.
 * - Resumable: each batch (rows in rowid order) is inserted in one transaction with the progress
 *   row that says how far the table got, so a copy killed at any point resumes after the last
 *   committed batch, with nothing duplicated and nothing skipped.
 * - Nothing runs on either side: a live node on the schema is refused here; the CLI refuses
 *   while the home's daemon runs.
 * - Verified at the end: per-table counts on both sides and a spot check (a hash of sampled rows
 *   read back by key from both sides).
 * - After the copy the schema's sequences continue after the copied ids (events, queue order).
 */
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Pool, PoolClient } from 'pg';
import { TinyError } from '../errors.ts';
import { migratePg, pgIdent } from './pg/migrate.ts';

/** The progress table the copy keeps in the target schema (kept after the copy: it records where the data came from). */
export const COPY_PROGRESS_TABLE = 'tinyagi_copy_progress';
/** PostgreSQL's tables that no SQLite table feeds: they are neither copied nor counted for emptiness. */
const TARGET_ONLY = new Set(['nodes', 'shared_settings', 'tinyagi_migrations', COPY_PROGRESS_TABLE]);
/** Not copied: drizzle's record, and the memory's FTS5 table with its shadow tables (PostgreSQL searches with an index of its own). */
const SOURCE_SKIPPED = new Set(['__drizzle_migrations', ...['', '_data', '_idx', '_content', '_docsize', '_config'].map((part) => `memory_fts${part}`)]);
const SPOT_CHECK_ROWS = 50;
/** Per table, the rows a daemon writes on its own (no conversation, no run): kept, never counted as history. */
const DAEMON_OWN: Readonly<Record<string, string>> = { events: 'conversation_id IS NULL AND run_id IS NULL' };

export interface CopyTableProgress {
  table: string;
  copied: number;
  total: number;
}

export interface CopyToPgOptions {
  /** The SQLite database, opened by the caller (migrated). */
  sqlite: Database.Database;
  /** Names the source in the progress table and messages (the file's path). */
  source: string;
  pool: Pool;
  schema: string;
  /** Rows per insert transaction (default 1000; fewer for wide tables). */
  batchSize?: number;
  onProgress?: (progress: CopyTableProgress) => void;
  /** Called after each committed batch (tests stop a copy half-way with it). */
  afterBatch?: (progress: CopyTableProgress) => void | Promise<void>;
}

export interface CopiedTable {
  table: string;
  sourceRows: number;
  /** The rows copied (what PostgreSQL holds, less `kept`). */
  targetRows: number;
  /** Rows the schema held before the copy that a daemon wrote on its own (events of a channel's or node's status), kept after the copied ones. */
  kept: number;
}

export interface CopyReport {
  tables: CopiedTable[];
  /** True when this run resumed an interrupted copy. */
  resumed: boolean;
  /** Rows compared by the spot check, and the hash both sides gave. */
  spotCheck: { rows: number; hash: string };
}

interface TablePlan {
  table: string;
  columns: string[];
  /** Columns that are jsonb in PostgreSQL (the queue's `meta`, `attachments`): SQLite holds their JSON as text. */
  jsonColumns: ReadonlySet<string>;
  total: number;
}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

function sourceTables(sqlite: Database.Database): string[] {
  const rows = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>;
  return rows.map((r) => r.name).filter((name) => !SOURCE_SKIPPED.has(name));
}

function sourceColumns(sqlite: Database.Database, table: string): string[] {
  return (sqlite.prepare(`PRAGMA table_info(${quote(table)})`).all() as Array<{ name: string }>).map((c) => c.name);
}

async function targetColumns(pool: Pool, schema: string): Promise<Map<string, Map<string, string>>> {
  const { rows } = await pool.query<{ table_name: string; column_name: string; data_type: string }>(
    'SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1',
    [schema],
  );
  const byTable = new Map<string, Map<string, string>>();
  for (const row of rows) {
    if (!byTable.has(row.table_name)) byTable.set(row.table_name, new Map());
    byTable.get(row.table_name)!.set(row.column_name, row.data_type);
  }
  return byTable;
}

/** Every SQLite table has its twin with every column in PostgreSQL (both at their latest migration), or the copy cannot be faithful. */
async function planTables(options: CopyToPgOptions): Promise<TablePlan[]> {
  const target = await targetColumns(options.pool, options.schema);
  return sourceTables(options.sqlite).map((table) => {
    const columns = sourceColumns(options.sqlite, table);
    const twin = target.get(table);
    const missing = twin === undefined ? ['(the table)'] : columns.filter((c) => !twin.has(c));
    if (missing.length > 0) {
      throw new TinyError('INVALID_STATE', `Cannot copy table ${table}: the PostgreSQL schema ${options.schema} lacks ${missing.join(', ')}.`, {
        hint: 'Use the same TinyAGI version for the copy as for the daemon that wrote the SQLite file.',
      });
    }
    const total = (options.sqlite.prepare(`SELECT count(*) AS n FROM ${quote(table)}`).get() as { n: number }).n;
    return { table, columns, jsonColumns: new Set(columns.filter((c) => twin?.get(c) === 'jsonb')), total };
  });
}

async function countRows(pool: Pool, ident: string, table: string, where?: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${ident}.${quote(table)}${where === undefined ? '' : ` WHERE ${where}`}`);
  return Number(rows[0]!.n);
}

/** Live nodes on the schema (a daemon or worker writing to it): the copy must not run under them. */
async function liveNodes(pool: Pool, ident: string): Promise<string[]> {
  const exists = await pool.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${ident}.nodes`]);
  if (exists.rows[0]?.t == null) return [];
  const { rows } = await pool.query<{ name: string }>(
    `SELECT name FROM ${ident}.nodes WHERE stopped_at IS NULL AND heartbeat_at > (extract(epoch FROM clock_timestamp()) * 1000)::bigint - 3 * heartbeat_ms`,
  );
  return rows.map((r) => r.name);
}

interface Progress {
  lastRowid: number;
  copied: number;
  /** The daemon's own rows the schema held before the copy (DAEMON_OWN). */
  kept: number;
}

/** The copy's progress for this source: undefined when the target has none (a fresh copy). */
async function readProgress(pool: Pool, ident: string, source: string): Promise<Map<string, Progress> | undefined> {
  const exists = await pool.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${ident}.${COPY_PROGRESS_TABLE}`]);
  if (exists.rows[0]?.t == null) return undefined;
  // A copy started by a version before `kept` resumes too.
  await pool.query(`ALTER TABLE ${ident}.${COPY_PROGRESS_TABLE} ADD COLUMN IF NOT EXISTS kept bigint NOT NULL DEFAULT 0`);
  const { rows } = await pool.query<{ table_name: string; source: string; last_rowid: string; copied: string; kept: string }>(
    `SELECT table_name, source, last_rowid, copied, kept FROM ${ident}.${COPY_PROGRESS_TABLE}`,
  );
  const other = rows.find((r) => r.source !== source);
  if (other !== undefined) {
    throw new TinyError('INVALID_STATE', `The PostgreSQL schema already holds a copy from ${other.source}, not from ${source}.`, {
      hint: 'Copy into an empty schema (storage.schema) or database.',
    });
  }
  return new Map(rows.map((r) => [r.table_name, { lastRowid: Number(r.last_rowid), copied: Number(r.copied), kept: Number(r.kept) }]));
}

async function refuseNonEmpty(pool: Pool, ident: string, schema: string, plans: TablePlan[]): Promise<void> {
  const filled: string[] = [];
  for (const plan of plans) {
    const own = DAEMON_OWN[plan.table];
    const n = await countRows(pool, ident, plan.table, own === undefined ? undefined : `NOT (${own})`);
    if (n > 0) filled.push(`${plan.table} (${n})`);
  }
  if (filled.length > 0) {
    throw new TinyError('INVALID_STATE', `The PostgreSQL schema ${schema} is not empty: ${filled.join(', ')}. The copy goes only into an empty schema, so that nothing is mixed or overwritten.`, {
      hint: 'Choose another schema (storage.schema) or database, or drop this one if its data is not wanted.',
    });
  }
}

async function inTransaction(pool: Pool, fn: (client: PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await fn(client);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Moves the daemon's own rows of `table` (DAEMON_OWN) past the ids the copy brings, in their
 * order, and its sequence with them; returns how many. The new ids start above both sides' largest
 * (no id is taken twice while they move).
 */
async function keepOwnRows(client: PoolClient, ident: string, table: string, sourceMaxId: number): Promise<number> {
  const own = DAEMON_OWN[table];
  if (own === undefined) return 0;
  const target = `${ident}.${quote(table)}`;
  const moved = await client.query(
    `UPDATE ${target} t SET id = r.base + r.n FROM (SELECT id, row_number() OVER (ORDER BY id) AS n, greatest($1::bigint, (SELECT coalesce(max(id), 0) FROM ${target})) AS base FROM ${target} WHERE ${own}) r WHERE t.id = r.id`,
    [sourceMaxId],
  );
  if ((moved.rowCount ?? 0) > 0) await client.query(`SELECT setval(pg_get_serial_sequence($1, 'id'), (SELECT max(id) FROM ${target}))`, [target]);
  return moved.rowCount ?? 0;
}

/** Creates the progress table with a row per table, and keeps the daemon's own rows, in one transaction: a copy killed before it committed starts afresh. */
async function startProgress(options: CopyToPgOptions, ident: string, plans: TablePlan[]): Promise<Map<string, Progress>> {
  const tables = plans.map((p) => p.table);
  const kept = new Map<string, number>();
  await inTransaction(options.pool, async (client) => {
    await client.query(
      `CREATE TABLE ${ident}.${COPY_PROGRESS_TABLE} (table_name text PRIMARY KEY, source text NOT NULL, last_rowid bigint NOT NULL DEFAULT 0, copied bigint NOT NULL DEFAULT 0, kept bigint NOT NULL DEFAULT 0, done_at bigint)`,
    );
    for (const table of tables.filter((t) => DAEMON_OWN[t] !== undefined)) {
      const max = (options.sqlite.prepare(`SELECT coalesce(max(id), 0) AS n FROM ${quote(table)}`).get() as { n: number }).n;
      kept.set(table, await keepOwnRows(client, ident, table, max));
    }
    await client.query(`INSERT INTO ${ident}.${COPY_PROGRESS_TABLE} (table_name, source, kept) SELECT t, $2, k FROM unnest($1::text[], $3::bigint[]) AS u(t, k)`, [
      tables,
      options.source,
      tables.map((t) => kept.get(t) ?? 0),
    ]);
  });
  return new Map(tables.map((t) => [t, { lastRowid: 0, copied: 0, kept: kept.get(t) ?? 0 }]));
}

/** A batch as one JSON array of rows (one parameter, however wide the table): jsonb columns get their JSON, not a string of it. */
function batchJson(plan: TablePlan, rows: Array<Record<string, unknown>>): string {
  return JSON.stringify(rows.map((row) => Object.fromEntries(plan.columns.map((c) => [c, plan.jsonColumns.has(c) && typeof row[c] === 'string' ? JSON.parse(row[c] as string) : row[c]]))));
}

/**
 * Copies one table from where its progress row says, one transaction per batch. A batch goes as
 * one JSON parameter expanded by json_populate_recordset, so a batch's size is not bounded by the
 * protocol's 65535 parameters (a VALUES list of 1000 rows of the queue's 33 columns is near it).
 * Measured under load: about 3,000-6,000 rows a second (docs/postgresql.md).
 */
async function copyTable(options: CopyToPgOptions, ident: string, plan: TablePlan, start: Progress): Promise<void> {
  const batch = Math.max(1, options.batchSize ?? 1000);
  const cols = plan.columns.map(quote).join(', ');
  const table = `${ident}.${quote(plan.table)}`;
  const select = options.sqlite.prepare(`SELECT rowid AS "__rowid", ${cols} FROM ${quote(plan.table)} WHERE rowid > ? ORDER BY rowid LIMIT ?`);
  const progress = { ...start };
  for (;;) {
    const rows = select.all(progress.lastRowid, batch) as Array<Record<string, unknown>>;
    if (rows.length === 0) break;
    const lastRowid = Number(rows[rows.length - 1]!.__rowid);
    await inTransaction(options.pool, async (client) => {
      await client.query(`INSERT INTO ${table} (${cols}) SELECT ${cols} FROM json_populate_recordset(NULL::${table}, $1::json)`, [batchJson(plan, rows)]);
      await client.query(`UPDATE ${ident}.${COPY_PROGRESS_TABLE} SET last_rowid = $2, copied = copied + $3 WHERE table_name = $1`, [plan.table, lastRowid, rows.length]);
    });
    progress.lastRowid = lastRowid;
    progress.copied += rows.length;
    const report = { table: plan.table, copied: progress.copied, total: plan.total };
    options.onProgress?.(report);
    await options.afterBatch?.(report);
  }
  await options.pool.query(`UPDATE ${ident}.${COPY_PROGRESS_TABLE} SET done_at = $2 WHERE table_name = $1`, [plan.table, Date.now()]);
}

/** Serial columns (events' ids, the queue's order) continue after the copied rows. */
async function advanceSequences(pool: Pool, ident: string, schema: string): Promise<void> {
  const { rows } = await pool.query<{ table_name: string; column_name: string; seq: string }>(
    `SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_schema) || '.' || quote_ident(table_name), column_name) AS seq
       FROM information_schema.columns WHERE table_schema = $1 AND column_default LIKE 'nextval(%'`,
    [schema],
  );
  for (const row of rows) {
    if (TARGET_ONLY.has(row.table_name) || row.seq === null) continue;
    const col = quote(row.column_name);
    await pool.query(`SELECT setval($1, max_id) FROM (SELECT max(${col}) AS max_id FROM ${ident}.${quote(row.table_name)}) m WHERE max_id IS NOT NULL`, [row.seq]);
  }
}

/** JSON with object keys sorted: jsonb (the queue's `meta`) keeps neither the key order nor the spacing of the text it was given. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A value as text, the same from both sides: PostgreSQL's bigints and SQLite's integers print
 * alike, the queue's booleans are SQLite's 0/1, its jsonb columns SQLite's JSON text.
 */
function canonicalValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'object') return stableJson(value);
  if (typeof value === 'string' && /^[[{]/.test(value)) {
    try {
      return stableJson(JSON.parse(value));
    } catch {
      return value;
    }
  }
  return String(value);
}

function canonicalRow(columns: string[], row: Record<string, unknown>): string {
  return JSON.stringify(columns.map((c) => canonicalValue(row[c])));
}

async function primaryKey(pool: Pool, ident: string, table: string): Promise<string[]> {
  const { rows } = await pool.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
    [`${ident}.${quote(table)}`],
  );
  return rows.map((r) => r.attname);
}

/** Samples rows spread over a table (by rowid) and reads each back from PostgreSQL by its primary key. */
async function spotCheckTable(options: CopyToPgOptions, ident: string, plan: TablePlan, hashes: { source: ReturnType<typeof createHash>; target: ReturnType<typeof createHash> }): Promise<number> {
  const key = await primaryKey(options.pool, ident, plan.table);
  if (plan.total === 0 || key.length === 0) return 0;
  const step = Math.max(1, Math.floor(plan.total / SPOT_CHECK_ROWS));
  const cols = plan.columns.map(quote).join(', ');
  const sample = options.sqlite
    .prepare(`SELECT ${cols} FROM (SELECT ${cols}, row_number() OVER (ORDER BY rowid) AS n FROM ${quote(plan.table)}) WHERE (n - 1) % ? = 0 LIMIT ?`)
    .all(step, SPOT_CHECK_ROWS) as Array<Record<string, unknown>>;
  const where = key.map((c, i) => `${quote(c)} = $${i + 1}`).join(' AND ');
  for (const row of sample) {
    hashes.source.update(canonicalRow(plan.columns, row));
    const found = await options.pool.query(
      `SELECT ${cols} FROM ${ident}.${quote(plan.table)} WHERE ${where}`,
      key.map((c) => row[c]),
    );
    hashes.target.update(found.rows[0] === undefined ? 'missing' : canonicalRow(plan.columns, found.rows[0] as Record<string, unknown>));
  }
  return sample.length;
}

/** The spot check: sampled rows of every table hash the same on both sides. */
async function spotCheck(options: CopyToPgOptions, ident: string, plans: TablePlan[]): Promise<{ rows: number; hash: string }> {
  const hashes = { source: createHash('sha256'), target: createHash('sha256') };
  let compared = 0;
  for (const plan of plans) compared += await spotCheckTable(options, ident, plan, hashes);
  const hash = hashes.source.digest('hex');
  if (hashes.target.digest('hex') !== hash) {
    throw new TinyError('INVALID_STATE', 'The spot check failed: rows read back from PostgreSQL differ from the SQLite rows.', {
      hint: 'Keep both databases as they are and report it; the SQLite file is unchanged.',
    });
  }
  return { rows: compared, hash };
}

async function verifyCounts(pool: Pool, ident: string, plans: TablePlan[], progress: Map<string, Progress>): Promise<CopiedTable[]> {
  const tables: CopiedTable[] = [];
  for (const plan of plans) {
    const kept = progress.get(plan.table)?.kept ?? 0;
    tables.push({ table: plan.table, sourceRows: plan.total, targetRows: (await countRows(pool, ident, plan.table)) - kept, kept });
  }
  const differ = tables.filter((t) => t.sourceRows !== t.targetRows);
  if (differ.length > 0) {
    throw new TinyError('INVALID_STATE', `The copy is incomplete: ${differ.map((t) => `${t.table} has ${t.targetRows} rows in PostgreSQL, ${t.sourceRows} in SQLite`).join('; ')}.`, {
      hint: 'Was the daemon running on the SQLite file during the copy? Stop it, then copy again into an empty schema.',
    });
  }
  return tables;
}

/** Copies every table of `options.sqlite` into `options.schema` (migrated first), resuming an interrupted copy of the same source. */
export async function copySqliteToPg(options: CopyToPgOptions): Promise<CopyReport> {
  const ident = pgIdent(options.schema);
  const live = await liveNodes(options.pool, ident);
  if (live.length > 0) {
    throw new TinyError('INVALID_STATE', `Nodes are running on the PostgreSQL schema ${options.schema}: ${live.join(', ')}.`, { hint: 'Stop them (`tinyagi stop` on each), then copy.' });
  }
  await migratePg(options.pool, options.schema);
  const plans = await planTables(options);
  let progress = await readProgress(options.pool, ident, options.source);
  const resumed = progress !== undefined;
  if (progress === undefined) {
    await refuseNonEmpty(options.pool, ident, options.schema, plans);
    progress = await startProgress(options, ident, plans);
  }
  for (const plan of plans) await copyTable(options, ident, plan, progress.get(plan.table) ?? { lastRowid: 0, copied: 0, kept: 0 });
  await advanceSequences(options.pool, ident, options.schema);
  const tables = await verifyCounts(options.pool, ident, plans, progress);
  return { tables, resumed, spotCheck: await spotCheck(options, ident, plans) };
}

/** Whether `schema` holds any row a copy would write (undefined when it does not exist yet), for the start-up hint and doctor. */
export async function pgSchemaHasHistory(pool: Pool, schema: string, tables: readonly string[]): Promise<boolean> {
  const ident = pgIdent(schema);
  for (const table of tables) {
    const exists = await pool.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${ident}.${quote(table)}`]);
    if (exists.rows[0]?.t == null) continue;
    const { rows } = await pool.query(`SELECT 1 FROM ${ident}.${quote(table)} LIMIT 1`);
    if (rows.length > 0) return true;
  }
  return false;
}

/**
 * The PostgreSQL side of backend selection (./storage-selection.ts, ./storage.ts), imported only when PostgreSQL is
 * selected: the connection check at start and in `tinyagi doctor`, and opening the stores.
 *
 * The check connects with a timeout (CONNECT_TIMEOUT_MS): node-postgres waits for the operating
 * system otherwise, minutes for an address that drops packets. Every message names the URL only
 * masked (`postgres://user:…@host/db`).
 */
import { TinyError } from '@tinyagi/core';
import type { Env } from '../core-internal.ts';
import { openPgStores, type PgStores, SharedSettings } from '@tinyagi/core/pg';
import pg from 'pg';
import type { PostgresSelection } from './storage-selection.ts';

/** The oldest server TinyAGI runs on (the migrations use features of 13). */
export const MIN_PG_MAJOR = 13;
export const CONNECT_TIMEOUT_MS = 10_000;

/** Why a connection failed: node's AggregateError (one error per address tried) has an empty message. */
export function pgCause(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return [...new Set(err.errors.map(pgCause))].join('; ');
  if (err instanceof Error) return err.message || (err as NodeJS.ErrnoException).code || err.name;
  return String(err);
}

export function connectHint(selection: PostgresSelection): string {
  const unset = selection.source === 'storage.url' ? 'remove storage.url from settings.json' : 'unset TINYAGI_DATABASE_URL';
  return `Check that the PostgreSQL server runs and that the URL (host, port, user, password, database) is right; or ${unset} to use the built-in SQLite database. \`tinyagi doctor\` checks the connection.`;
}

export function connectError(selection: PostgresSelection, err: unknown): TinyError {
  return new TinyError('DB_ERROR', `Cannot connect to the PostgreSQL database ${selection.display} (from ${selection.source}): ${pgCause(err)}`, {
    hint: connectHint(selection),
    cause: err,
  });
}

/** A short-lived pool for checks (ended after `use`); idle-client errors surface in the call that is running. */
export async function withCheckPool<T>(selection: PostgresSelection, use: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: selection.url, max: 1, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  pool.on('error', () => {});
  try {
    return await use(pool);
  } finally {
    await pool.end().catch(() => {});
  }
}

export interface ServerVersion {
  /** e.g. "15.8 (Debian 15.8-1)". */
  text: string;
  major: number;
}

export async function serverVersion(pool: pg.Pool): Promise<ServerVersion> {
  const { rows } = await pool.query<{ text: string; num: number }>("SELECT current_setting('server_version') AS text, current_setting('server_version_num')::int AS num");
  const row = rows[0]!;
  return { text: row.text, major: Math.floor(row.num / 10_000) };
}

export function tooOldError(selection: PostgresSelection, version: ServerVersion): TinyError {
  return new TinyError('DB_ERROR', `PostgreSQL ${version.text} at ${selection.display} (from ${selection.source}) is too old: TinyAGI needs ${MIN_PG_MAJOR} or newer.`, {
    hint: `Upgrade the server, or point ${selection.source} at one running PostgreSQL ${MIN_PG_MAJOR}+.`,
  });
}

/**
 * Checks the server (reachable, new enough), then opens the stores, applying pending migrations
 * (under an advisory lock: nodes starting together apply each once).
 */
export async function openPostgresStores(selection: PostgresSelection, maxAttempts?: number): Promise<PgStores> {
  const version = await withCheckPool(selection, (pool) => serverVersion(pool)).catch((err: unknown) => {
    throw connectError(selection, err);
  });
  if (version.major < MIN_PG_MAJOR) throw tooOldError(selection, version);
  try {
    return await openPgStores({ url: selection.url, schema: selection.schema, poolSize: selection.poolSize, ...(maxAttempts !== undefined ? { maxAttempts } : {}) });
  } catch (err) {
    throw new TinyError('DB_ERROR', `Cannot open TinyAGI's stores in the PostgreSQL database ${selection.display}, schema ${selection.schema} (from ${selection.source}): ${pgCause(err)}`, {
      hint: 'The user needs the right to create the schema and its tables on first start (CREATE on the database). `tinyagi doctor` lists pending migrations.',
      cause: err,
    });
  }
}

/** PostgreSQL's "no such table / schema": nothing was created in the schema yet. */
const NOT_CREATED = new Set(['42P01', '3F000']);

/**
 * The shared settings row for the offline CLI editor (no daemon running): edits go to the row
 * every node reads, not to this home's settings.json (a copy on the API node, only local keys on
 * a worker). Undefined when no node created the row yet: then settings.json is edited, and the
 * API node imports it at its first start (docs/postgresql.md#settings-shared-through-the-database).
 */
export async function openSharedSettingsForEdit(selection: PostgresSelection, file: string, env: Env): Promise<{ settings: SharedSettings; close(): Promise<void> } | undefined> {
  const pool = new pg.Pool({ connectionString: selection.url, max: 2, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  pool.on('error', () => {});
  let settings: SharedSettings | undefined;
  try {
    settings = await SharedSettings.open(pool, { schema: selection.schema, file, env, mirror: false, importFile: false });
  } catch (err) {
    await pool.end().catch(() => {});
    if (NOT_CREATED.has((err as { code?: string }).code ?? '')) return undefined;
    throw connectError(selection, err);
  }
  const opened = settings;
  const close = async (): Promise<void> => {
    await opened.close();
    await pool.end().catch(() => {});
  };
  if (opened.version === 0) {
    await close();
    return undefined;
  }
  return { settings: opened, close };
}

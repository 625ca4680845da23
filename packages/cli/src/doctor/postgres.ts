/**
 * `tinyagi doctor` with PostgreSQL selected (storage.url / TINYAGI_DATABASE_URL): the connection
 * (the URL shown masked), the server version (13 or newer), the schema's migrations (pending ones
 * listed; `--fix`/`--migrate` applies them with the daemon's own migrator, under its advisory
 * lock) and the queue's counts. Read-only without `--fix`/`--migrate`. Loaded only when
 * PostgreSQL is selected.
 */
import { migratePg, pgIdent, pgMigrationStatus } from '@tinyagi/core/pg';
import type pg from 'pg';
import { connectHint, MIN_PG_MAJOR, pgCause, type ServerVersion, serverVersion, tooOldError, withCheckPool } from '../daemon/postgres.ts';
import { sqliteLeftBehind } from '../daemon/sqlite-beside.ts';
import type { PostgresSelection } from '../daemon/storage.ts';
import { plural } from '../output/print.ts';
import { type Finding, migrationsFinding } from './finding.ts';

interface QueueCounts {
  messages: number;
  pending: number;
  dead: number;
}

/** Undefined while the schema has no queue table yet. */
async function queueCounts(pool: pg.Pool, schema: string): Promise<QueueCounts | undefined> {
  const ident = pgIdent(schema);
  const table = await pool.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${ident}.messages`]);
  if (table.rows[0]?.t == null) return undefined;
  const { rows } = await pool.query<QueueCounts>(
    `SELECT count(*)::int AS messages, (count(*) FILTER (WHERE status = 'pending'))::int AS pending, (count(*) FILTER (WHERE status = 'dead'))::int AS dead FROM ${ident}.messages`,
  );
  return rows[0];
}

/** A SQLite database with history beside the home while the schema has none: warn with the command that copies it. */
async function sqliteBesideFinding(pool: pg.Pool, schema: string, sqliteFile: string): Promise<Finding[]> {
  const behind = await sqliteLeftBehind(sqliteFile, pool, schema);
  return behind === undefined ? [] : [{ check: 'sqlite-left-behind', status: 'warn', message: behind.message, hint: 'docs/postgresql.md, "Moving from SQLite".' }];
}

export async function checkPostgres(selection: PostgresSelection, write: boolean, sqliteFile: string): Promise<Finding[]> {
  const where = `PostgreSQL ${selection.display} (schema ${selection.schema}, from ${selection.source})`;
  return withCheckPool(selection, async (pool) => {
    let version: ServerVersion;
    try {
      version = await serverVersion(pool);
    } catch (err) {
      return [{ check: 'database', status: 'fail', message: `Cannot connect to ${where}: ${pgCause(err)}`, hint: connectHint(selection) }];
    }
    if (version.major < MIN_PG_MAJOR) {
      const tooOld = tooOldError(selection, version);
      return [{ check: 'database', status: 'fail', message: tooOld.message, ...(tooOld.hint ? { hint: tooOld.hint } : {}) }];
    }
    try {
      const applied = write ? await migratePg(pool, selection.schema) : [];
      const status = await pgMigrationStatus(pool, selection.schema);
      const counts = await queueCounts(pool, selection.schema);
      const fresh = status.applied.length === 0;
      const database: Finding = {
        check: 'database',
        status: (counts?.dead ?? 0) > 0 ? 'warn' : 'ok',
        message: `${where}: PostgreSQL ${version.text} answers${
          counts === undefined ? `; schema ${selection.schema} has no tables yet` : `; ${plural(counts.messages, 'message')} (${counts.pending} pending), ${plural(counts.dead, 'dead letter')}`
        }`,
      };
      if ((counts?.dead ?? 0) > 0) database.hint = 'See them with `tinyagi queue dead`; retry with `tinyagi queue retry <id>`.';
      const migrations = fresh
        ? {
            check: 'migrations',
            status: 'info' as const,
            message: `Schema ${selection.schema} is not set up yet; the first start (or \`tinyagi doctor --migrate\`) creates it.`,
            details: { applied, pending: status.pending },
          }
        : migrationsFinding(applied, status.pending);
      return [database, migrations, ...(await sqliteBesideFinding(pool, selection.schema, sqliteFile))];
    } catch (err) {
      return [
        {
          check: 'database',
          status: 'fail',
          message: `${where}: ${pgCause(err)}`,
          hint: 'The user needs the right to create the schema and its tables (CREATE on the database); see docs/storage.md.',
        },
      ];
    }
  });
}

/**
 * A SQLite database left beside a home that moved to PostgreSQL (docs/postgresql.md, "Moving
 * from SQLite"): when the home's `tinyagi.db` holds history and the PostgreSQL schema holds none,
 * the daemon says so at start and `tinyagi doctor` warns, both with the command that copies it.
 * Loaded only with PostgreSQL selected.
 */
import { existsSync } from 'node:fs';
import { openDatabase } from '../core-internal.ts';
import { pgSchemaHasHistory } from '@tinyagi/core/pg';
import type pg from 'pg';
import { withCheckPool } from './postgres.ts';
import type { PostgresSelection } from './storage-selection.ts';
import { plural } from '../output/print.ts';

/** What counts as history: what a user would miss after the move. */
const HISTORY_TABLES = ['conversations', 'messages', 'tasks', 'schedules'] as const;

/** The command that copies (the daemon must be stopped for it). */
export const COPY_COMMAND = 'tinyagi stop && tinyagi storage copy && tinyagi start';

export interface SqliteBeside {
  file: string;
  counts: Record<(typeof HISTORY_TABLES)[number], number>;
  /** One sentence naming what is left behind and the command that copies it. */
  message: string;
}

function sqliteHistory(file: string): SqliteBeside['counts'] | undefined {
  if (!existsSync(file)) return undefined;
  const db = openDatabase({ path: file, readonly: true });
  try {
    const count = (table: string): number => {
      const exists = db.sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
      return exists === undefined ? 0 : (db.sqlite.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n;
    };
    const counts = Object.fromEntries(HISTORY_TABLES.map((t) => [t, count(t)])) as SqliteBeside['counts'];
    return Object.values(counts).some((n) => n > 0) ? counts : undefined;
  } finally {
    db.close();
  }
}

/** Undefined when there is nothing to say: no SQLite file, an empty one, or a schema that already has history. */
export async function sqliteLeftBehind(file: string, pool: pg.Pool, schema: string): Promise<SqliteBeside | undefined> {
  const counts = sqliteHistory(file);
  if (counts === undefined || (await pgSchemaHasHistory(pool, schema, HISTORY_TABLES))) return undefined;
  const what = [plural(counts.conversations, 'conversation'), plural(counts.tasks, 'task'), plural(counts.schedules, 'schedule')].join(', ');
  return {
    file,
    counts,
    message: `The SQLite database ${file} holds this home's history (${what}), and the PostgreSQL schema ${schema} has none: copy it with \`${COPY_COMMAND}\`.`,
  };
}

/** For `tinyagi start` (before it launches the daemon): the sentence, or undefined (also when the database cannot be asked: the daemon's start reports that). */
export async function leftBehindNotice(selection: PostgresSelection, sqliteFile: string): Promise<string | undefined> {
  return withCheckPool(selection, (pool) => sqliteLeftBehind(sqliteFile, pool, selection.schema))
    .then((behind) => behind?.message)
    .catch(() => undefined);
}

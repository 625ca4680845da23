/**
 * `tinyagi storage copy [--to <url>] [--schema <name>] [--batch <n>] [--json]`: copies this home's
 * SQLite database into an empty PostgreSQL schema (docs/postgresql.md, "Moving from SQLite").
 * Refuses while the home's daemon runs or nodes run on the schema; resumes an interrupted copy;
 * verifies counts and a spot check. The copying itself is core's `copySqliteToPg`.
 */
import { existsSync } from 'node:fs';
import { loadSettings, type Settings } from '@tinyagi/core';
import { applyEnvOverrides, maskUrlSecrets } from '../core-internal.ts';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { readRunningDaemon } from '../daemon/instance-lock.ts';
import { DATABASE_URL_ENV, type PostgresSelection, STORAGE_DEFAULTS, selectStorage } from '../daemon/storage.ts';
import { CliError } from '../output/cli-error.ts';
import { plural, printJson, printTable, println } from '../output/print.ts';
import { style } from '../output/style.ts';
import { contextOf, parsePositiveInt, withJson } from './options.ts';

interface CopyOptions {
  to?: string;
  schema?: string;
  batch?: number;
  json?: boolean;
}

/** Where the copy goes: `--to` (and `--schema`), else the PostgreSQL database this home's settings select. */
function copyTarget(ctx: CliContext, options: CopyOptions): PostgresSelection {
  const settings: Settings = existsSync(ctx.paths.settings) ? loadSettings(ctx.paths.settings).settings : {};
  const selected = selectStorage(applyEnvOverrides(settings, ctx.env).settings, ctx.env, ctx.paths.db);
  const schema = options.schema ?? (selected.backend === 'postgres' ? selected.schema : STORAGE_DEFAULTS.schema);
  if (options.to !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(options.to)) throw new CliError('USAGE', `--to must be a postgres:// URL, not "${maskUrlSecrets(options.to)}".`);
    return { backend: 'postgres', url: options.to, schema, poolSize: 2, source: 'storage.url', display: maskUrlSecrets(options.to) };
  }
  if (selected.backend !== 'postgres') {
    throw new CliError('USAGE', 'No PostgreSQL database to copy into: this home uses SQLite.', {
      hint: `Give --to postgres://user:password@host:5432/database, or set storage.url in settings.json (or ${DATABASE_URL_ENV}) first.`,
    });
  }
  return { ...selected, schema };
}

function refuseWhileRunning(ctx: CliContext): void {
  const daemon = readRunningDaemon(ctx.paths.lockFile);
  if (daemon !== undefined) {
    throw new CliError('DAEMON_RUNNING', `The daemon of this home runs (pid ${daemon.pid}): the copy needs the SQLite database at rest.`, {
      hint: 'Stop it with `tinyagi stop`, copy, then `tinyagi start`.',
    });
  }
  if (!existsSync(ctx.paths.db)) throw new CliError('REFUSED', `There is no SQLite database to copy: ${ctx.paths.db} does not exist.`);
}

async function copyToPostgres(ctx: CliContext, options: CopyOptions): Promise<void> {
  const target = copyTarget(ctx, options);
  refuseWhileRunning(ctx);
  const [{ openDatabase }, { copySqliteToPg }, { default: pg }, { connectError, withCheckPool, serverVersion }] = await Promise.all([
    import('../core-internal.ts'),
    import('@tinyagi/core/pg'),
    import('pg'),
    import('../daemon/postgres.ts'),
  ]);
  await withCheckPool(target, (pool) => serverVersion(pool)).catch((err: unknown) => {
    throw connectError(target, err);
  });
  // Opened for writing so that pending migrations apply first: both sides are then at this version's schema.
  const sqlite = openDatabase({ path: ctx.paths.db, durability: 'normal' });
  const pool = new pg.Pool({ connectionString: target.url, max: 2 });
  pool.on('error', () => {});
  const say = (line: string): void => {
    if (!options.json) println(line);
  };
  say(`Copying ${ctx.paths.db} into PostgreSQL ${target.display}, schema ${target.schema}…`);
  let shown = 0;
  try {
    const report = await copySqliteToPg({
      sqlite: sqlite.sqlite,
      source: ctx.paths.db,
      pool,
      schema: target.schema,
      ...(options.batch !== undefined ? { batchSize: options.batch } : {}),
      onProgress: (p) => {
        // One line per table, and one a second within a long table.
        if (p.copied === p.total || Date.now() - shown >= 1000) {
          shown = Date.now();
          say(`  ${p.table}: ${p.copied.toLocaleString('en')}/${p.total.toLocaleString('en')}`);
        }
      },
    });
    if (options.json) return printJson({ ok: true, source: ctx.paths.db, target: { url: target.display, schema: target.schema }, ...report });
    println(report.resumed ? 'Resumed the interrupted copy; it is complete.' : 'Copied.');
    printTable(
      ['TABLE', 'SQLITE', 'POSTGRESQL'],
      report.tables.filter((t) => t.sourceRows > 0).map((t) => [t.table, String(t.sourceRows), String(t.targetRows)]),
      'Every table is empty.',
    );
    const kept = report.tables.reduce((n, t) => n + t.kept, 0);
    if (kept > 0) println(`Kept ${plural(kept, 'status event')} a daemon wrote on PostgreSQL before the copy (channels, nodes), after the copied history.`);
    println(`Verified: the counts match, and ${report.spotCheck.rows} sampled rows read back alike (sha256 ${report.spotCheck.hash.slice(0, 16)}).`);
    println(
      style.dim(
        `The SQLite file is unchanged. Start the daemon on PostgreSQL with \`tinyagi start\`${options.to !== undefined ? ' once storage.url (or TINYAGI_DATABASE_URL) names this database' : ''}.`,
      ),
    );
  } finally {
    sqlite.close();
    await pool.end().catch(() => {});
  }
}

export function registerStorageCommands(program: Command): void {
  const storage = program.command('storage').description('the database: copy this home from SQLite to PostgreSQL');
  withJson(
    storage
      .command('copy')
      .description("copy this home's SQLite database (every conversation, run, event, task, approval, usage, schedule …) into an empty PostgreSQL schema; resumes an interrupted copy")
      .option('--to <url>', 'the PostgreSQL database (default: storage.url / TINYAGI_DATABASE_URL)')
      .option('--schema <name>', 'the schema (default: storage.schema, else tinyagi)')
      .option('--batch <n>', 'rows per transaction (default 1000)', parsePositiveInt),
  ).action(async (options: CopyOptions, cmd: Command) => copyToPostgres(contextOf(cmd), options));
}

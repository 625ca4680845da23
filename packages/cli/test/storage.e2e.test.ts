/**
 * Backend selection (issue 17, docs/storage.md "Selecting the backend"), with the real local
 * PostgreSQL (@tinyagi/test-kit/pg): TINYAGI_DATABASE_URL / storage.url, the start-up errors of
 * real `tinyagi run` and `start` processes (named source, masked URL, cause, exit 1, nothing
 * written), and `tinyagi doctor` and offline edits on PostgreSQL (connection, migrations, counts),
 * run in this process.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PgQueueStore, SharedSettings, migratePg } from '@tinyagi/core/pg';
import { cleanupTemp, freePort, runCli, runCliHere, tempHome, type CliResult } from '@tinyagi/test-kit';
import { dropSchema, pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const db = await pgTestDatabase();
const pool = new pg.Pool({ connectionString: db.url, max: 2 });
const schemas: string[] = [];
afterEach(() => cleanupTemp());
afterAll(async () => {
  for (const schema of schemas) await dropSchema(pool, schema);
  await pool.end();
});

/** Trust auth ignores the password: it is there to be masked. */
const PASSWORD = 'PLANTED-pg-password-4711';

function withPassword(url: string, port?: number): string {
  const u = new URL(url);
  u.username ||= 'postgres';
  u.password = PASSWORD;
  if (port !== undefined) u.port = String(port);
  return u.toString();
}

function masked(url: string): string {
  return url.replace(`:${PASSWORD}@`, ':…@');
}

function newSchema(): string {
  const schema = testSchema('cli');
  schemas.push(schema);
  return schema;
}

interface Doctor {
  ok: boolean;
  migrations?: { applied: string[]; pending: string[] };
  findings: Array<{ check: string; status: string; message: string; hint?: string; fixed?: string }>;
}

function home(settings?: Record<string, unknown>, env: Record<string, string> = {}) {
  // Port 0: doctor's port check passes whatever runs on the default port (a developer's own daemon).
  const h = tempHome({ env: { TINYAGI_API_PORT: '0', ...env } });
  const settingsFile = join(h.home, 'settings.json');
  if (settings) writeFileSync(settingsFile, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  const before = settings ? readFileSync(settingsFile, 'utf8') : undefined;
  return {
    ...h,
    settingsFile,
    /** The settings file as written before the test (undefined: none was). */
    before,
    /** `tinyagi run` or `start`: the built CLI in a process of its own, as users start the daemon. */
    daemon: (args: string[]) => runCli(args, h.env, { build: 'built' }),
    /** Any other command, in this process. */
    cli: (args: string[]) => runCliHere(args, h.env),
    doctor: async (args: string[] = []): Promise<Doctor & { result: CliResult }> => {
      const result = await runCliHere(['doctor', '--json', ...args], h.env);
      return { ...(JSON.parse(result.stdout) as Doctor), result };
    },
  };
}

const finding = (d: Doctor, check: string) => d.findings.find((f) => f.check === check);

describe('backend selection at start', () => {
  it('an unreachable TINYAGI_DATABASE_URL: `run` exits 1 naming the variable, the masked URL and the cause, and writes nothing', async () => {
    const url = withPassword(db.url, await freePort());
    const h = home({ agents: { a: { provider: 'mock' } } }, { TINYAGI_DATABASE_URL: url });
    const run = await h.daemon(['run']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Cannot connect to the PostgreSQL database ${masked(url)} (from TINYAGI_DATABASE_URL): connect ECONNREFUSED`);
    expect(run.stderr).toContain('unset TINYAGI_DATABASE_URL to use the built-in SQLite database');
    expect(run.stdout + run.stderr + readFileSync(join(h.home, 'logs', 'daemon.log'), 'utf8')).not.toContain(PASSWORD);
    // No SQLite file as a fallback, settings.json untouched, no lock or pid file left.
    expect(readdirSync(h.home).filter((f) => f.startsWith('tinyagi.db') || f === 'daemon.lock' || f === 'tinyagi.pid')).toEqual([]);
    expect(readFileSync(h.settingsFile, 'utf8')).toBe(h.before);
    // `start` (detached) reports the same and exits 1.
    const start = await h.daemon(['start']);
    expect(start.code).toBe(1);
    expect(start.stderr).toContain(`${masked(url)} (from TINYAGI_DATABASE_URL): connect ECONNREFUSED`);
    expect(start.stderr).not.toContain(PASSWORD);
  });

  it('TINYAGI_DATABASE_URL wins over storage.url; storage.url alone is named as the source', async () => {
    const closed = withPassword(db.url, await freePort());
    const other = withPassword(db.url, await freePort());
    const both = home({ storage: { url: other } }, { TINYAGI_DATABASE_URL: closed });
    const run = await both.daemon(['run']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${masked(closed)} (from TINYAGI_DATABASE_URL)`);
    expect(run.stderr).not.toContain(masked(other));

    const settingsOnly = home({ storage: { url: other } });
    const run2 = await settingsOnly.daemon(['run']);
    expect(run2.code).toBe(1);
    expect(run2.stderr).toContain(`${masked(other)} (from storage.url)`);
    expect(run2.stderr).toContain('remove storage.url from settings.json');
    expect(readFileSync(settingsOnly.settingsFile, 'utf8')).toBe(settingsOnly.before);
  });

  it('a URL that is not PostgreSQL is refused at start, naming storage.url or TINYAGI_DATABASE_URL', async () => {
    const bad = home({ storage: { url: `mysql://root:${PASSWORD}@db/x` } });
    const run = await bad.daemon(['run']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('storage.url: must be a PostgreSQL URL');
    expect(readFileSync(bad.settingsFile, 'utf8')).toBe(bad.before);
    expect(existsSync(join(bad.home, 'tinyagi.db'))).toBe(false);

    const env = home(undefined, { TINYAGI_DATABASE_URL: `postgres//postgres:${PASSWORD}@localhost/test` });
    const run2 = await env.daemon(['run']);
    expect(run2.code).toBe(1);
    expect(run2.stderr).toContain('TINYAGI_DATABASE_URL (not shown: it may hold a password) is not a PostgreSQL URL');
    expect(run2.stderr).not.toContain(PASSWORD);
    expect(existsSync(join(env.home, 'tinyagi.db'))).toBe(false);
    // A URL of another scheme is shown, its password masked.
    const mysql = home(undefined, { TINYAGI_DATABASE_URL: `mysql://root:${PASSWORD}@db/x` });
    const run3 = await mysql.daemon(['run']);
    expect(run3.code).toBe(1);
    expect(run3.stderr).toContain('TINYAGI_DATABASE_URL="mysql://root:…@db/x" is not a PostgreSQL URL');
  });
});

describe('node-postgres is loaded only with PostgreSQL selected', () => {
  it('opening the SQLite default loads no pg module; selecting PostgreSQL loads it', async () => {
    // A fresh process: this test file itself has pg loaded. CommonJS modules such as pg are in the require cache.
    const script = `
      import { createRequire } from 'node:module';
      const { openSelectedStores, selectStorage } = await import('./src/daemon/storage.ts');
      const pgLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => /[\\\\/]pg[\\\\/]lib[\\\\/]/.test(f));
      const stores = await openSelectedStores(selectStorage({}, {}, process.argv[1]));
      await stores.close();
      const afterSqlite = pgLoaded();
      const error = await openSelectedStores(selectStorage({ storage: { url: process.argv[2] } }, {}, 'unused')).then(() => 'opened', (e) => e.code);
      console.log(JSON.stringify({ backend: stores.backend, afterSqlite, error, afterPostgres: pgLoaded() }));`;
    const dir = tempHome().home;
    const closed = withPassword(db.url, await freePort());
    const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=tinyagi-source', '--input-type=module', '-e', script, join(dir, 'tinyagi.db'), closed], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    expect(JSON.parse(stdout)).toEqual({ backend: 'sqlite', afterSqlite: false, error: 'DB_ERROR', afterPostgres: true });
  });
});

describe('tinyagi doctor on PostgreSQL', () => {
  it('an unreachable database is a failed check with a hint, the URL masked', async () => {
    const url = withPassword(db.url, await freePort());
    const h = home(undefined, { TINYAGI_DATABASE_URL: url });
    const d = await h.doctor();
    expect(d.result.code).toBe(1);
    expect(d.ok).toBe(false);
    expect(finding(d, 'database')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining(`Cannot connect to PostgreSQL ${masked(url)} (schema tinyagi, from TINYAGI_DATABASE_URL): connect ECONNREFUSED`),
    });
    expect(finding(d, 'database')?.hint).toContain('Check that the PostgreSQL server runs');
    expect(finding(d, 'migrations')).toBeUndefined();
    expect(d.result.stdout).not.toContain(PASSWORD);
    expect(existsSync(join(h.home, 'tinyagi.db'))).toBe(false);
  });

  describe.skipIf(db.skip !== undefined)('with the database reachable', () => {
    it('a new schema: read-only doctor changes nothing, --migrate creates it, then counts and dead letters are reported', async () => {
      const schema = newSchema();
      const h = home({ storage: { url: withPassword(db.url), schema } });
      const fresh = await h.doctor();
      expect(fresh.result.code, fresh.result.stdout).toBe(0);
      expect(finding(fresh, 'database')).toMatchObject({ status: 'ok', message: expect.stringMatching(/from storage\.url\): PostgreSQL 1\d[.\d]* .*answers; schema cli_\w+ has no tables yet/) });
      expect(finding(fresh, 'migrations')).toMatchObject({ status: 'info' });
      expect(fresh.migrations).toEqual({ applied: [], pending: TAGS });
      expect((await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount).toBe(0);
      expect(fresh.result.stdout).not.toContain(PASSWORD);

      const migrated = await h.doctor(['--migrate']);
      expect(finding(migrated, 'migrations')).toMatchObject({ status: 'ok', fixed: `applied ${TAGS.join(', ')}` });
      expect(finding(migrated, 'database')?.message).toContain('0 messages (0 pending), 0 dead letters');

      const store = new PgQueueStore(pool, { schema });
      try {
        const sent = await store.enqueueMany([0, 1, 2].map((i) => ({ kind: 'user' as const, agentId: 'a', conversationId: 'c', channel: 'api', content: String(i) })));
        await pool.query(`UPDATE "${schema}".messages SET status = 'dead' WHERE id = $1`, [sent[0]!.id]);
      } finally {
        await store.close();
      }
      const counted = await h.doctor();
      expect(finding(counted, 'database')).toMatchObject({
        status: 'warn',
        message: expect.stringContaining('3 messages (2 pending), 1 dead letter'),
        hint: expect.stringContaining('tinyagi queue dead'),
      });
      expect(counted.migrations).toEqual({ applied: [], pending: [] });
    });

    it('offline edits on PostgreSQL go to the shared settings every node reads, not to the local copy; before any node, to settings.json', async () => {
      const schema = newSchema();
      const h = home({ storage: { url: db.url, schema }, models: { provider: 'mock' } });
      // No node has created the shared row yet: the edit lands in settings.json (the API node imports it).
      const first = await h.cli(['agent', 'add', 'early', '--provider', 'mock']);
      expect(first.code, first.stderr).toBe(0);
      expect(JSON.parse(readFileSync(h.settingsFile, 'utf8')).agents).toHaveProperty('early');

      await migratePg(pool, schema);
      const shared = await SharedSettings.open(pool, { schema, file: h.settingsFile, env: {}, mirror: false });
      await shared.close();
      const local = readFileSync(h.settingsFile, 'utf8');
      const added = await h.cli(['agent', 'add', 'helper', '--provider', 'mock']);
      expect(added.code, added.stderr).toBe(0);
      const [row] = (await pool.query(`SELECT value, version FROM "${schema}".shared_settings WHERE key = 'settings'`)).rows as Array<{ value: string; version: string }>;
      expect(Object.keys(JSON.parse(row!.value).agents).sort()).toEqual(['early', 'helper']);
      expect(Number(row!.version)).toBe(2);
      // settings.json is this home's local copy: not written by an offline edit.
      expect(readFileSync(h.settingsFile, 'utf8')).toBe(local);
      // What the CLI shows is the shared settings too.
      const shown = await h.cli(['agent', 'list', '--json']);
      expect(shown.stdout).toContain('helper');
    });

    it('a schema with a pending migration: listed read-only, applied by --fix, then current', async () => {
      const schema = newSchema();
      await applyMigrationsUpTo(schema, '0001_claim_function');
      const h = home(undefined, { TINYAGI_DATABASE_URL: withPassword(db.url) });
      writeFileSync(h.settingsFile, JSON.stringify({ storage: { schema } }));
      const before = await h.doctor();
      expect(before.result.code).toBe(0);
      const pending = TAGS.slice(2);
      expect(finding(before, 'migrations')).toMatchObject({ status: 'warn', message: `${pending.length} database migrations are pending: ${pending.join(', ')}.` });
      expect(before.migrations).toEqual({ applied: [], pending });
      expect((await pool.query(`SELECT tag FROM "${schema}".tinyagi_migrations ORDER BY tag`)).rows.map((r: { tag: string }) => r.tag)).toEqual(['0000_queue_messages', '0001_claim_function']);

      const fixed = await h.doctor(['--fix']);
      expect(finding(fixed, 'migrations')).toMatchObject({ status: 'ok', fixed: `applied ${pending.join(', ')}` });
      expect(fixed.migrations).toEqual({ applied: pending, pending: [] });
      const after = await h.doctor();
      expect(finding(after, 'migrations')).toMatchObject({ status: 'ok', message: 'database schema is up to date' });
      // The daemon's migrator agrees: nothing left to apply.
      expect(await migratePg(pool, schema)).toEqual([]);
    });
  });
});

const MIGRATIONS_DIR = join(dirname(createRequire(import.meta.url).resolve('@tinyagi/core/package.json')), 'drizzle-pg');
/** The shipped PostgreSQL migrations, in order. */
const TAGS = (JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ idx: number; tag: string }> }).entries
  .sort((a, b) => a.idx - b.idx)
  .map((e) => e.tag);

/** An installation of an older TinyAGI: the shipped PostgreSQL migrations up to `last`, recorded as the migrator does. */
async function applyMigrationsUpTo(schema: string, last: string): Promise<void> {
  const dir = MIGRATIONS_DIR;
  const upTo = TAGS.slice(0, TAGS.indexOf(last) + 1).map((tag) => ({ tag }));
  const client = await pool.connect();
  try {
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`SET search_path TO "${schema}"`);
    await client.query('CREATE TABLE tinyagi_migrations (tag text PRIMARY KEY, applied_at bigint NOT NULL)');
    for (const { tag } of upTo) {
      for (const statement of readFileSync(join(dir, `${tag}.sql`), 'utf8').split('--> statement-breakpoint')) if (statement.trim()) await client.query(statement);
      await client.query('INSERT INTO tinyagi_migrations (tag, applied_at) VALUES ($1, $2)', [tag, Date.now()]);
    }
  } finally {
    await client.query('RESET search_path');
    client.release();
  }
}

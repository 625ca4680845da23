/**
 * Migrations 0022 (SQLite) and 0016 (PostgreSQL) rename `agent_sessions.provider_state` to
 * `runtime_state` (docs/glossary.md: a session is the runtime's, "provider" is the agent setting
 * that picks the runtime). A database written by the previous schema is built from the migrations
 * before the rename, given a session row the old way, then opened: the runtime's state reads back.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropSchema, pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openStores } from '../src/compose/sqlite-stores.ts';
import { CORE_ROOT } from '../src/package-root.ts';
import { PgAgentSessionStore } from '../src/sessions/pg-stores.ts';
import { MIGRATIONS_FOLDER } from '../src/storage/database.ts';
import { migratePg, pgIdent } from '../src/storage/pg/migrate.ts';
import { PgPoolScope } from '../src/storage/pg/scope.ts';

const STATE = JSON.stringify({ at: 'msg_42', totalCostUsd: 0.25 });

/** The journal's migrations whose tags sort before `before`, with their SQL statements. */
function migrationsBefore(folder: string, before: string): Array<{ tag: string; when: number; text: string; statements: string[] }> {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string; when: number }> };
  return journal.entries
    .filter((e) => e.tag < before)
    .map((e) => {
      const text = readFileSync(join(folder, `${e.tag}.sql`), 'utf8');
      return { ...e, text, statements: text.split('--> statement-breakpoint').filter((s) => s.trim()) };
    });
}

describe('SQLite', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads the runtime state of a session row written to provider_state before 0022', () => {
    dir = mkdtempSync(join(tmpdir(), 'tinyagi-mig-'));
    const path = join(dir, 'old.db');
    const old = new Database(path);
    old.exec('CREATE TABLE "__drizzle_migrations" (id INTEGER PRIMARY KEY AUTOINCREMENT, hash text NOT NULL, created_at numeric)');
    for (const m of migrationsBefore(MIGRATIONS_FOLDER, '0022')) {
      for (const statement of m.statements) old.exec(statement);
      old.prepare('INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES (?, ?)').run(createHash('sha256').update(m.text).digest('hex'), m.when);
    }
    old
      .prepare("INSERT INTO agent_sessions (agent_id, session_key, provider, session_id, transcript, turns, updated_at, provider_state) VALUES ('cc', 'shared', 'anthropic', 's-1', '[]', 1, 0, ?)")
      .run(STATE);
    old.close();

    const stores = openStores({ dbPath: path });
    try {
      expect(stores.agentSessions.get('cc', 'shared')).toMatchObject({ sessionId: 's-1', runtimeState: STATE });
      // The same session's next turn keeps it; a new session starts without one.
      expect(stores.agentSessions.recordTurn('cc', 'shared', { provider: 'anthropic', sessionId: 's-1', user: 'u', assistant: 'a' }).runtimeState).toBe(STATE);
      expect(stores.agentSessions.recordTurn('cc', 'shared', { provider: 'anthropic', sessionId: 's-2', user: 'u', assistant: 'a' }).runtimeState).toBe('');
    } finally {
      stores.close();
    }
  });
});

const db = await pgTestDatabase();
const pool = new pg.Pool({ connectionString: db.url, max: 2 });
afterAll(() => pool.end());

describe.skipIf(db.skip !== undefined)('PostgreSQL', () => {
  let schema = '';
  afterEach(async () => {
    if (schema) await dropSchema(pool, schema);
    schema = '';
  });

  it('reads the runtime state of a session row written to provider_state before 0016', async () => {
    schema = testSchema('rtstate');
    const ident = pgIdent(schema);
    // The schema as the previous version left it: every migration before the rename, recorded as migratePg records them.
    const client = await pool.connect();
    try {
      await client.query(`CREATE SCHEMA ${ident}`);
      await client.query(`SET search_path TO ${ident}`);
      await client.query('CREATE TABLE tinyagi_migrations (tag text PRIMARY KEY, applied_at bigint NOT NULL)');
      for (const m of migrationsBefore(join(CORE_ROOT, 'drizzle-pg'), '0016')) {
        for (const statement of m.statements) await client.query(statement);
        await client.query('INSERT INTO tinyagi_migrations (tag, applied_at) VALUES ($1, $2)', [m.tag, 0]);
      }
      await client.query(
        "INSERT INTO agent_sessions (agent_id, session_key, provider, session_id, transcript, turns, updated_at, provider_state) VALUES ('cc', 'shared', 'anthropic', 's-1', '[]', 1, 0, $1)",
        [STATE],
      );
    } finally {
      client.release();
    }

    expect((await migratePg(pool, schema))[0]).toBe('0016_agent_sessions_runtime_state');
    const sessions = new PgAgentSessionStore(new PgPoolScope(pool, schema));
    expect(await sessions.get('cc', 'shared')).toMatchObject({ sessionId: 's-1', runtimeState: STATE });
    expect((await sessions.recordTurn('cc', 'shared', { provider: 'anthropic', sessionId: 's-1', user: 'u', assistant: 'a' })).runtimeState).toBe(STATE);
  });
});

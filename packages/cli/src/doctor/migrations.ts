/**
 * Which database migrations a file has, by name. Core records each applied migration in
 * drizzle's `__drizzle_migrations` table (hash and the journal's `when`); the names come from
 * the journal of the migration folder this installation ships.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_FOLDER, type TinyDatabase } from '../core-internal.ts';

type Sqlite = TinyDatabase['sqlite'];

interface JournalEntry {
  tag: string;
  when: number;
}

export function shippedMigrations(folder = MIGRATIONS_FOLDER): JournalEntry[] {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as { entries: JournalEntry[] };
  return journal.entries.map((e) => ({ tag: e.tag, when: e.when }));
}

/** Names of the shipped migrations recorded as applied in this database (none on a fresh file). */
export function appliedMigrations(sqlite: Sqlite, shipped = shippedMigrations()): string[] {
  const table = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'").get();
  if (table === undefined) return [];
  const recorded = new Set((sqlite.prepare('SELECT created_at AS createdAt FROM "__drizzle_migrations"').all() as Array<{ createdAt: number | string }>).map((r) => Number(r.createdAt)));
  return shipped.filter((m) => recorded.has(m.when)).map((m) => m.tag);
}

/**
 * Shipped migrations the database has not applied yet. Core applies in journal order and skips
 * everything up to the newest recorded one, so this uses the same rule.
 */
export function pendingMigrations(sqlite: Sqlite, shipped = shippedMigrations()): string[] {
  const table = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'").get();
  if (table === undefined) return shipped.map((m) => m.tag);
  const last = sqlite.prepare('SELECT max(created_at) AS createdAt FROM "__drizzle_migrations"').get() as { createdAt: number | string | null };
  const newest = last.createdAt === null ? -Infinity : Number(last.createdAt);
  return shipped.filter((m) => m.when > newest).map((m) => m.tag);
}

/**
 * How many recorded migrations are newer than every shipped one: a newer TinyAGI migrated this
 * database, and this (older) installation would run on a schema it does not know.
 */
export function newerMigrations(sqlite: Sqlite, shipped = shippedMigrations()): number {
  const table = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'").get();
  if (table === undefined) return 0;
  const newestShipped = Math.max(...shipped.map((m) => m.when));
  return (sqlite.prepare('SELECT count(*) AS n FROM "__drizzle_migrations" WHERE created_at > ?').get(newestShipped) as { n: number }).n;
}

/**
 * Which backend the stores live on (docs/storage.md, "Selecting the backend"), and opening it.
 *
 * Contract:
 * - TINYAGI_DATABASE_URL, else settings `storage.url` (postgres://…), selects PostgreSQL (schema
 *   `storage.schema`, default `tinyagi`; pool `storage.pool_size`, default 10). Neither: the
 *   SQLite file in TINYAGI_HOME, which needs nothing set up. The environment variable is a
 *   settings override (core's ENV_OVERRIDES), so `settings` here already carries it.
 * - Chosen once per start of the daemon: a change of `storage` needs `tinyagi restart`.
 * - PostgreSQL selected and not usable at start (unreachable, refused, too old, migrations that
 *   fail): `openSelectedStores` throws a DB_ERROR naming the masked URL, where it came from and
 *   the cause; the daemon exits non-zero and falls back to nothing (no SQLite file is created).
 * - node-postgres and @tinyagi/core/pg are imported only when PostgreSQL is selected, so the
 *   SQLite default never loads them (the CLI bundle keeps them in a chunk of their own).
 */
import { openStores, type Settings } from '@tinyagi/core';
import { maskUrlSecrets, type Durability, type Env, type StoreSet } from '@tinyagi/core/internal';

export const DATABASE_URL_ENV = 'TINYAGI_DATABASE_URL';
export const STORAGE_DEFAULTS = { schema: 'tinyagi', pool_size: 10 } as const;

export type StorageSelection =
  | { backend: 'sqlite'; file: string }
  | {
      backend: 'postgres';
      url: string;
      schema: string;
      poolSize: number;
      /** Where the URL came from: the environment variable or the settings key. */
      source: typeof DATABASE_URL_ENV | 'storage.url';
      /** The URL with its password masked: the only form that is printed or logged. */
      display: string;
    };

export type PostgresSelection = Extract<StorageSelection, { backend: 'postgres' }>;

/** `settings` with environment overrides applied; `sqliteFile` is the home's database file. */
export function selectStorage(settings: Settings, env: Env, sqliteFile: string): StorageSelection {
  const url = settings.storage?.url;
  if (url === undefined || url === '') return { backend: 'sqlite', file: sqliteFile };
  return {
    backend: 'postgres',
    url,
    schema: settings.storage?.schema ?? STORAGE_DEFAULTS.schema,
    poolSize: settings.storage?.pool_size ?? STORAGE_DEFAULTS.pool_size,
    source: env[DATABASE_URL_ENV] ? DATABASE_URL_ENV : 'storage.url',
    display: maskUrlSecrets(url),
  };
}

export function describeStorage(selection: StorageSelection): string {
  return selection.backend === 'sqlite' ? `SQLite ${selection.file}` : `PostgreSQL ${selection.display} (schema ${selection.schema}, from ${selection.source})`;
}

/** True when the two settings select different stores (the daemon applies that at its next start). */
export function storageChanged(a: Settings, b: Settings): boolean {
  return JSON.stringify(a.storage ?? {}) !== JSON.stringify(b.storage ?? {});
}

export interface OpenSelectedOptions {
  durability?: Durability;
  maxAttempts?: number;
}

export async function openSelectedStores(selection: StorageSelection, options: OpenSelectedOptions = {}): Promise<StoreSet> {
  if (selection.backend === 'sqlite') {
    return openStores({
      dbPath: selection.file,
      ...(options.durability !== undefined ? { durability: options.durability } : {}),
      ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    });
  }
  const { openPostgresStores } = await import('./postgres.ts');
  return openPostgresStores(selection, options.maxAttempts);
}

/**
 * Which backend the stores live on (docs/storage.md, "Selecting the backend"): read from the
 * settings only, imported by both ./storage.ts (opening the stores) and ./postgres.ts (the
 * PostgreSQL side), which therefore do not import each other both ways.
 *
 * TINYAGI_DATABASE_URL, else settings `storage.url` (postgres://…), selects PostgreSQL (schema
 * `storage.schema`, default `tinyagi`; pool `storage.pool_size`, default 10). Neither: the SQLite
 * file in TINYAGI_HOME. The environment variable is a settings override (core's ENV_OVERRIDES),
 * so `settings` here already carries it.
 */
import type { Settings } from '@tinyagi/core';
import { maskUrlSecrets, type Env } from '../core-internal.ts';

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

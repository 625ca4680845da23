/**
 * Where a running process gets its settings from and sends its edits to: settings.json watched on
 * disk (the daemon's live settings, SQLite) or the database's shared row (nodes/shared-settings.ts,
 * PostgreSQL). Code that reads or edits settings at run time takes this, not a file path.
 */
import type { Settings } from './schema.ts';

/** 'file': a hand edit of settings.json; 'database': another node's (or psql's) write of the shared row; 'api': an edit made through this source. */
export type SettingsChangeSource = 'file' | 'database' | 'api';

export type SettingsChangeListener = (next: Settings, previous: Settings, source: SettingsChangeSource) => void;

export interface SettingsSource {
  /** The last good settings with environment overrides applied; never throws. */
  get(): Settings;
  /** As stored (no environment overrides): what an editor sees. */
  raw(): Settings;
  /** Validated read-modify-write; `mutate` gets a private copy. Returns what was written. */
  update(mutate: (current: Settings) => unknown | Promise<unknown>): Promise<Settings>;
  /** Re-reads the stored settings now. */
  reload(): void | Promise<void>;
  onChange(listener: SettingsChangeListener): () => void;
  close(): void | Promise<void>;
}

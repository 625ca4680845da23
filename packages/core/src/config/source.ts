/**
 * Where a running process gets its settings from and sends its edits to: settings.json
 * (./settings-source.ts `fileSettingsSource`: the daemon on SQLite, the offline CLI, a server
 * without a daemon) or the database's shared row (nodes/shared-settings.ts, PostgreSQL). Code
 * that reads or edits settings at run time takes this, not a file path. Both kinds validate
 * before writing, never overwrite a broken file or row (the error names the path of each
 * problem), and record every change they see as a `settings.changed` event when given `events`.
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

/** Where a source records what changed (the event log's `append`; the stores' `events`). */
export interface SettingsEventSink {
  append(event: { type: 'settings.changed'; data: { source: SettingsChangeSource } }): unknown;
}

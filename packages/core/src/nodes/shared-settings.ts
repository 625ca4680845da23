/**
 * Settings shared by every node through the database (docs/postgresql.md#settings-shared-through-the-database).
 *
 * On PostgreSQL the `shared_settings` row (key `settings`) holds settings.json's shared part
 * (nodes/settings-split.ts: everything but `storage`, `node` and `workspace`, which stay in each
 * node's local settings.json) with a `version` that increases at every write.
 *
 * Contract:
 * - Which one wins at start: when the row does not exist yet, the opening node imports its
 *   settings.json's shared part into it (once: a row that exists is never replaced by a file;
 *   a worker opens with `importFile: false` and waits for the row). From then on the database
 *   wins; the local file's shared part is overwritten by the row when `mirror` is on (a readable
 *   copy; a differing file is logged and kept as `<file>.before-shared`).
 * - `get()`/`raw()` are the node's settings: the row's with the local keys of settings.json
 *   (`get()` also with environment overrides), validated with the settings schema. They never
 *   throw.
 * - Live: every write of the row, ours or a hand edit in psql, NOTIFYs `tinyagi_settings_<schema>`
 *   (a trigger, drizzle-pg/0003; delivered at commit); each node LISTENs
 *   on a dedicated connection (reconnecting, and re-reading the row once it listens again, so a
 *   change made meanwhile is not missed), reads the row and calls the `onChange` listeners.
 * - An invalid row (edited by hand, or by a newer TinyAGI with other rules) is reported with the
 *   path of each problem (`problem`, the log) and never overwritten by this code: the last good
 *   settings stay in force, `update` refuses (CONFIG_INVALID) until the row is fixed
 *   (`replace`, which writes a whole valid value, or by hand).
 * - `update(mutate)`: the row's read-modify-write with optimistic concurrency on `version`: an
 *   edit made by another node (or process) between the read and the write is not lost and not
 *   overwritten: this one is refused with SETTINGS_CONFLICT and nothing is written. Edits of one
 *   process are serialised, so they never conflict with each other. The same checks as a file
 *   write apply (validation of the whole result, masked secrets, environment overrides, size).
 *   A change of a local key is written to this node's settings.json only.
 * - Given `events`, every change adopted is recorded as a `settings.changed` event, as the file
 *   source does (config/settings-source.ts).
 */
import { chmodSync, copyFileSync } from 'node:fs';
import type { Pool } from 'pg';
import { TinyError, errorMessage } from '../errors.ts';
import { applyEnvOverrides } from '../config/env.ts';
import { loadSettings, parseSettingsJson } from '../config/load.ts';
import type { Env } from '../config/paths.ts';
import type { Settings } from '../config/schema.ts';
import { recordSettingsChange } from '../config/settings-source.ts';
import type { SettingsChangeListener, SettingsEventSink, SettingsSource } from '../config/source.ts';
import { formatSettingsIssues, parseSettingsChange, settingsInvalidError, validateSettings, type SettingsIssue } from '../config/validate.ts';
import { prepareSettingsWrite, updateSettings } from '../config/write.ts';
import { PgChannelListener } from '../storage/pg/listen.ts';
import { PgPoolScope, type PgScope } from '../storage/pg/scope.ts';
import type { NodeLog } from './registry.ts';
import { joinSettings, splitSettings } from './settings-split.ts';

const KEY = 'settings';

export interface SharedSettingsOptions {
  /** Default `tinyagi`. */
  schema?: string;
  /** This node's settings.json: its local keys, the import source of an empty row, and the copy when `mirror` is on. */
  file: string;
  /** Environment overrides for `get()` (default process.env). */
  env?: Env;
  /** Keep settings.json a copy of the shared settings (default true; the API node's file). */
  mirror?: boolean;
  /**
   * Import settings.json into the row when there is none (default true: the API node). A worker
   * passes false: until a row exists it has only its local keys and adopts the row when it appears.
   */
  importFile?: boolean;
  /** Stored as `updated_by` with each write (the node's name). */
  updatedBy?: string;
  /**
   * Record each change this node sees (its own edits: 'api'; the row's: 'database') as a
   * `settings.changed` event here: the API node's event log (one node records, not every one).
   */
  events?: SettingsEventSink;
  log?: NodeLog & { error(message: string): void };
  /** Between reconnects of the listening connection (default 1000 ms). */
  retryMs?: number;
}

export interface SharedSettingsProblem {
  version: number;
  issues: SettingsIssue[];
}

interface Row {
  value: string;
  version: number;
}

type Parsed = { ok: true; shared: Settings } | { ok: false; issues: SettingsIssue[] };

export class SharedSettings implements SettingsSource {
  readonly #scope: PgScope;
  readonly #options: SharedSettingsOptions;
  readonly #env: Env;
  readonly #label: string;
  readonly #listeners = new Set<SettingsChangeListener>();
  readonly #listener: PgChannelListener;
  #raw: Settings = {};
  #effective: Settings = {};
  #version = 0;
  #problem: SharedSettingsProblem | undefined;
  #reloading: Promise<void> | undefined;
  #reloadAgain = false;
  #edits: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(pool: Pool, options: SharedSettingsOptions) {
    this.#scope = new PgPoolScope(pool, options.schema ?? 'tinyagi');
    this.#options = options;
    this.#env = options.env ?? process.env;
    this.#label = `the shared settings (database schema "${this.#scope.schema}", table shared_settings)`;
    this.#listener = new PgChannelListener(pool, SharedSettings.channel(this.#scope.schema), {
      onNotify: (payload) => {
        if (Number(payload) > this.#version) void this.reload();
      },
      onLost: (err) => this.#options.log?.warn(`shared settings: lost the database connection (${errorMessage(err)}); keeping version ${this.#version} and reconnecting`),
      onRestored: () => {
        this.#options.log?.info('shared settings: listening again; re-reading the settings');
        void this.reload();
      },
      ...(options.retryMs !== undefined ? { retryMs: options.retryMs } : {}),
    });
  }

  /** The NOTIFY channel of a schema's shared settings. */
  static channel(schema: string): string {
    return `tinyagi_settings_${schema}`.slice(0, 63);
  }

  /**
   * Imports settings.json into an empty row (once), starts listening and reads the row. Throws
   * CONFIG_INVALID (every problem with its path) when the row is invalid: a node cannot start
   * without good settings; fix the row with `replace` or by hand.
   */
  static async open(pool: Pool, options: SharedSettingsOptions): Promise<SharedSettings> {
    const shared = new SharedSettings(pool, options);
    try {
      await shared.#open();
      return shared;
    } catch (err) {
      await shared.close();
      throw err;
    }
  }

  async #open(): Promise<void> {
    const loaded = loadSettings(this.#options.file);
    // Listen first: a change committed between the read below and the LISTEN would be missed.
    await this.#listener.start();
    // In the edit queue: the notification of this node's own import (or of any write meanwhile)
    // reloads only after the row read here is adopted, so it is not recorded as another node's change.
    await this.#serialised(() => this.#openRow(loaded.settings, loaded.exists));
  }

  async #openRow(local: Settings, exists: boolean): Promise<void> {
    let row = await this.#read();
    if (!row && this.#options.importFile === false) {
      this.#adopt(splitSettings(local).local, 0, undefined);
      this.#options.log?.info('no shared settings in the database yet; waiting for a node that imports its settings.json (the API node)');
      return;
    }
    if (!row) {
      await this.#scope.query(`INSERT INTO ${this.#scope.table('shared_settings')} (key, value, version, updated_at, updated_by) VALUES ($1, $2, 1, $3, $4) ON CONFLICT (key) DO NOTHING`, [
        KEY,
        JSON.stringify(splitSettings(local).shared),
        Date.now(),
        this.#options.updatedBy ?? '',
      ]);
      row = (await this.#read())!;
    }
    const parsed = this.#parse(row, local);
    if (!parsed.ok) throw settingsInvalidError(`${this.#label}, version ${row.version}`, parsed.issues);
    const fileShared = JSON.stringify(splitSettings(local).shared);
    this.#adopt(joinSettings(parsed.shared, local), row.version, undefined);
    if (this.#options.mirror === false || fileShared === JSON.stringify(parsed.shared)) return;
    if (exists) {
      const kept = `${this.#options.file}.before-shared`;
      copyFileSync(this.#options.file, kept);
      chmodSync(kept, 0o600);
      this.#options.log?.warn(
        `${this.#options.file} differed from the shared settings in the database (version ${row.version}); the database wins and the file is now its copy (the file as it was: ${kept})`,
      );
    }
    await this.#mirror();
  }

  /** The node's settings with environment overrides applied (the last good ones). */
  get(): Settings {
    return this.#effective;
  }

  /** The node's settings as stored: the row's shared part with the local keys. */
  raw(): Settings {
    return this.#raw;
  }

  /** The row's version `get()` reflects. */
  get version(): number {
    return this.#version;
  }

  /** Set while the row's newest version is invalid (the last good settings stay in force). */
  get problem(): SharedSettingsProblem | undefined {
    return this.#problem;
  }

  onChange(listener: SettingsChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #read(): Promise<Row | undefined> {
    const [row] = await this.#scope.query<Row>(`SELECT value, version FROM ${this.#scope.table('shared_settings')} WHERE key = $1`, [KEY]);
    return row;
  }

  /** The row's shared part, validated together with this node's local keys. */
  #parse(row: Row, local: Settings): Parsed {
    let value: unknown;
    try {
      value = parseSettingsJson(row.value, this.#label);
    } catch (err) {
      return { ok: false, issues: [{ path: '', message: errorMessage(err) }] };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { ok: false, issues: [{ path: '', message: 'The shared settings must be one JSON object' }] };
    }
    const shared = splitSettings(value as Settings).shared;
    const result = validateSettings(joinSettings(shared, local));
    return result.ok ? { ok: true, shared } : { ok: false, issues: result.issues };
  }

  #local(): Settings {
    return splitSettings(loadSettings(this.#options.file).settings).local;
  }

  #adopt(next: Settings, version: number, source: 'database' | 'api' | undefined): void {
    const previous = this.#effective;
    const same = JSON.stringify(next) === JSON.stringify(this.#raw);
    this.#raw = next;
    this.#effective = applyEnvOverrides(next, this.#env).settings;
    this.#version = version;
    this.#problem = undefined;
    // A new version with the same content (a no-op edit, an invalid version put back) changes nothing.
    if (source === undefined || same) return;
    recordSettingsChange(this.#options.events, source, { error: (message) => this.#options.log?.error(message) });
    for (const listener of this.#listeners) {
      try {
        listener(this.#effective, previous, source);
      } catch (err) {
        this.#options.log?.error(`shared settings listener failed: ${errorMessage(err)}`);
      }
    }
  }

  /** Writes the current settings to settings.json (local keys as the file has them). A failure is logged: the database stays the source. */
  async #mirror(): Promise<void> {
    if (this.#options.mirror === false) return;
    const { shared } = splitSettings(this.#raw);
    try {
      await updateSettings(this.#options.file, (current) => joinSettings(shared, current), { env: this.#env });
    } catch (err) {
      this.#options.log?.warn(`cannot update ${this.#options.file} as a copy of the shared settings: ${errorMessage(err)}`);
    }
  }

  /**
   * Reads the row now (a notification, a reconnect, or the caller). A newer valid version is
   * adopted and announced; a newer invalid one is reported once and ignored.
   */
  reload(): Promise<void> {
    if (this.#reloading) {
      this.#reloadAgain = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      do {
        this.#reloadAgain = false;
        await this.#reloadOnce().catch((err: unknown) => this.#options.log?.warn(`shared settings: cannot read them (${errorMessage(err)}); keeping version ${this.#version}`));
      } while (this.#reloadAgain && !this.#closed);
    })().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  #reloadOnce(): Promise<void> {
    // In the edit queue: an edit of this node's adopts its own version as 'api'; a read between its
    // write and that adoption would record it as 'database'.
    return this.#serialised(() => this.#reloadRow());
  }

  async #reloadRow(): Promise<void> {
    const row = await this.#read();
    if (!row || row.version <= this.#version || this.#closed) return;
    const local = this.#local();
    const parsed = this.#parse(row, local);
    if (!parsed.ok) {
      if (this.#problem?.version !== row.version) {
        this.#problem = { version: row.version, issues: parsed.issues };
        this.#options.log?.error(`${this.#label}, version ${row.version}, are invalid; keeping version ${this.#version} until they are fixed:\n${formatSettingsIssues(parsed.issues)}`);
      }
      return;
    }
    this.#adopt(joinSettings(parsed.shared, local), row.version, 'database');
    await this.#mirror();
  }

  /**
   * Read-modify-write (see the module comment). `mutate` gets a private copy of the current
   * settings (the row's newest version with this node's local keys). Returns what was written.
   * `expectedVersion`: refuse unless the row is still at this version (an edit based on an
   * earlier read).
   */
  update(mutate: (current: Settings) => unknown | Promise<unknown>, options: { expectedVersion?: number } = {}): Promise<Settings> {
    return this.#serialised(async () => {
      const row = await this.#read();
      if (!row) throw new TinyError('INVALID_STATE', `${this.#label} do not exist.`, { hint: 'Start a node (it imports its settings.json) first.' });
      const local = this.#local();
      const parsed = this.#parse(row, local);
      if (!parsed.ok) {
        throw new TinyError(
          'CONFIG_INVALID',
          `Cannot change ${this.#label}: version ${row.version} is invalid (${parsed.issues.length === 1 ? '1 problem' : `${parsed.issues.length} problems`}):\n${formatSettingsIssues(parsed.issues)}`,
          {
            hint: 'Fix the listed keys first (replace the whole settings, or edit the row); nothing was changed.',
            details: { file: this.#label, version: row.version, issues: parsed.issues },
          },
        );
      }
      const current = joinSettings(parsed.shared, local);
      const next = parseSettingsChange(await mutate(structuredClone(current)), this.#label);
      return this.#write(next, current, options.expectedVersion ?? row.version);
    });
  }

  /** Replaces the shared settings with a whole valid value (also over an invalid row: the way to fix one). */
  replace(settings: unknown, options: { expectedVersion?: number } = {}): Promise<Settings> {
    return this.#serialised(async () => {
      const next = parseSettingsChange(settings, this.#label);
      const row = await this.#read();
      const local = this.#local();
      const parsed = row ? this.#parse(row, local) : undefined;
      const stored = parsed?.ok ? joinSettings(parsed.shared, local) : undefined;
      return this.#write(next, stored, options.expectedVersion ?? row?.version ?? 0);
    });
  }

  #serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#edits.then(fn, fn);
    this.#edits = run.catch(() => {});
    return run;
  }

  async #write(next: Settings, stored: Settings | undefined, baseVersion: number): Promise<Settings> {
    const { persisted } = prepareSettingsWrite(this.#label, next, () => stored, this.#env);
    const { shared, local } = splitSettings(persisted);
    const t = this.#scope.table('shared_settings');
    const now = Date.now();
    const by = this.#options.updatedBy ?? '';
    // The table's trigger (drizzle-pg/0003) NOTIFYs every node at commit.
    const [written] =
      baseVersion === 0
        ? await this.#scope.query<{ version: number }>(`INSERT INTO ${t} (key, value, version, updated_at, updated_by) VALUES ($1, $2, 1, $3, $4) ON CONFLICT (key) DO NOTHING RETURNING version`, [
            KEY,
            JSON.stringify(shared),
            now,
            by,
          ])
        : await this.#scope.query<{ version: number }>(`UPDATE ${t} SET value = $2, version = version + 1, updated_at = $3, updated_by = $4 WHERE key = $1 AND version = $5 RETURNING version`, [
            KEY,
            JSON.stringify(shared),
            now,
            by,
            baseVersion,
          ]);
    if (!written) {
      const current = await this.#read();
      throw new TinyError(
        'SETTINGS_CONFLICT',
        `The shared settings were changed by another node while this change was being made (it was based on version ${baseVersion}, they are now at version ${current?.version ?? '?'}); nothing was written.`,
        { hint: 'Retry the change: it will apply to the newest settings.', details: { baseVersion, currentVersion: current?.version } },
      );
    }
    const localBefore = this.#local();
    if (JSON.stringify(local) !== JSON.stringify(localBefore)) {
      await updateSettings(this.#options.file, (current) => joinSettings(current, local), { env: this.#env });
    }
    if (written.version > this.#version) {
      this.#adopt(joinSettings(shared, local), written.version, 'api');
      await this.#mirror();
    }
    return joinSettings(shared, local);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#listener.close();
    await this.#reloading;
  }
}

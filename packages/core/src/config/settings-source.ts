/**
 * settings.json as a SettingsSource (./source.ts): the one path every reader and writer of the
 * file takes at run time — the daemon (live reload), the API's settings routes (through the
 * daemon's source, or one of these made by the server itself), the offline CLI.
 *
 * Contract:
 * - Made from a valid file (or none: every default applies); a broken file refuses the source
 *   (CONFIG_PARSE_FAILED / CONFIG_INVALID with the file and the path of every problem).
 * - `get()` is the last good settings with environment overrides applied, `raw()` as stored;
 *   neither throws. With `watch` (the daemon), edits by hand are picked up through fs.watch on
 *   the file's directory (atomic renames replace the file: a watch on the file would lose it),
 *   debounced; without it, `get()`/`raw()` look at the file's size and mtime and re-read it when
 *   they changed. A broken edit is logged with every problem and ignored: the last good
 *   settings stay in force and the file is left as its author wrote it.
 * - `update(mutate)`: the locked, validated read-modify-write of ./write.ts (`updateSettings`):
 *   refused without touching the file when the file is broken now or the result is invalid.
 *   `get()` returns the result at once.
 * - Every change seen (an update here: 'api'; a hand edit: 'file') goes to the `onChange`
 *   listeners and, given `events`, is recorded as a `settings.changed` event (a failure to record
 *   is logged, never thrown at the editor).
 */
import { readFileSync, statSync, watch as watchDirectory, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { errorMessage } from '../errors.ts';
import { applyEnvOverrides } from './env.ts';
import { loadSettings, parseSettingsText } from './load.ts';
import type { Env } from './paths.ts';
import type { Settings } from './schema.ts';
import type { SettingsChangeListener, SettingsChangeSource, SettingsEventSink, SettingsSource } from './source.ts';
import { updateSettings } from './write.ts';

/** What a source reports: reloads, ignored broken edits, listener and recording failures. */
export interface SettingsLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface FileSettingsOptions {
  file: string;
  /** The environment whose overrides `get()` applies and no write persists (default process.env). */
  env?: Env;
  /** The settings already read from `file` (the daemon reads them first to refuse a broken file); default: read now. */
  initial?: Settings;
  /** Record each change as a `settings.changed` event here (the daemon's and the API's event log). */
  events?: SettingsEventSink;
  /** Watch the file for edits by hand (a long-lived process); default false: re-read when it changed. */
  watch?: boolean;
  debounceMs?: number;
  log?: SettingsLog;
}

const STDERR_LOG: SettingsLog = {
  info: () => {},
  warn: (message) => process.stderr.write(`WARN  [settings] ${message}\n`),
  error: (message) => process.stderr.write(`ERROR [settings] ${message}\n`),
};

/** Records a change as a `settings.changed` event; a failure is logged. */
export function recordSettingsChange(events: SettingsEventSink | undefined, source: SettingsChangeSource, log: Pick<SettingsLog, 'error'>): void {
  if (!events) return;
  try {
    Promise.resolve(events.append({ type: 'settings.changed', data: { source } })).catch((err: unknown) => log.error(`settings.changed event not recorded: ${errorMessage(err)}`));
  } catch (err) {
    log.error(`settings.changed event not recorded: ${errorMessage(err)}`);
  }
}

/** The file's identity as far as a change goes; undefined when it does not exist. */
function stamp(file: string): string | undefined {
  try {
    const st = statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
}

export function fileSettingsSource(options: FileSettingsOptions): SettingsSource {
  const { file } = options;
  const env = options.env ?? process.env;
  const log = options.log ?? STDERR_LOG;
  let seen = stamp(file);
  let raw = options.initial ?? loadSettings(file).settings;
  let effective = applyEnvOverrides(raw, env).settings;
  let lastText = JSON.stringify(raw);
  const listeners = new Set<SettingsChangeListener>();
  let timer: NodeJS.Timeout | undefined;

  const adopt = (next: Settings, source: SettingsChangeSource): void => {
    const text = JSON.stringify(next);
    if (text === lastText) return;
    const previous = effective;
    raw = next;
    lastText = text;
    effective = applyEnvOverrides(next, env).settings;
    log.info(`settings reloaded (${source === 'file' ? 'file changed' : 'through the API'})`);
    recordSettingsChange(options.events, source, log);
    for (const listener of listeners) {
      try {
        listener(effective, previous, source);
      } catch (err) {
        log.error(`settings listener failed: ${errorMessage(err)}`);
      }
    }
  };

  const reload = (): void => {
    seen = stamp(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      log.warn(`cannot read ${file} (${errorMessage(err)}); keeping the last good settings`);
      return;
    }
    try {
      adopt(parseSettingsText(text, file), 'file');
    } catch (err) {
      log.error(`${errorMessage(err)}\nKeeping the last good settings until the file is fixed.`);
    }
  };

  let watcher: FSWatcher | undefined;
  if (options.watch) {
    try {
      watcher = watchDirectory(dirname(file), { persistent: false }, (_event, name) => {
        if (name !== null && name !== basename(file)) return;
        clearTimeout(timer);
        timer = setTimeout(reload, options.debounceMs ?? 250);
      });
      watcher.on('error', (err) => log.warn(`settings watcher stopped: ${errorMessage(err)}`));
    } catch (err) {
      log.warn(`cannot watch ${file} for changes (${errorMessage(err)}); edits by hand need \`tinyagi restart\``);
    }
  }
  /** Without a watcher: the file as it is now, when it changed since it was last read. */
  const fresh = (): void => {
    if (!options.watch && stamp(file) !== seen) reload();
  };

  return {
    get: () => {
      fresh();
      return effective;
    },
    raw: () => {
      fresh();
      return raw;
    },
    async update(mutate) {
      const written = await updateSettings(file, mutate, { env });
      seen = stamp(file);
      adopt(written, 'api');
      return effective;
    },
    reload,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}

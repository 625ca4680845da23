/**
 * The daemon's current settings, kept in sync with settings.json.
 *
 * Contract:
 * - `get()` is the last good settings with environment overrides applied; it never throws.
 * - Edits by hand are picked up through fs.watch on the home directory (the file itself is
 *   replaced by atomic renames, which a watch on the file would lose), debounced. A broken edit
 *   is logged with every problem and ignored: the last good settings stay in force and the file
 *   is left as the user wrote it.
 * - `update()` is the daemon's single-writer path (the API uses it): core's locked
 *   read-modify-write, after which `get()` returns the new settings at once.
 */
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { errorMessage, type Settings } from '@tinyagi/core';
import { applyEnvOverrides, parseSettingsText, updateSettings, type Env } from '@tinyagi/core/internal';
import type { Logger } from './logger.ts';

/** `source`: 'file' for a hand edit picked up by the watcher, 'api' for a write through the daemon (its API). */
export type SettingsListener = (next: Settings, previous: Settings, source: 'file' | 'api') => void;

export interface LiveSettings {
  get(): Settings;
  /** As on disk (no environment overrides): what an editor of the file sees. */
  raw(): Settings;
  update(mutate: (current: Settings) => unknown | Promise<unknown>): Promise<Settings>;
  /** Re-reads the file now (also what the watcher calls). */
  reload(): void;
  onChange(listener: SettingsListener): () => void;
  close(): void;
}

export interface LiveSettingsOptions {
  file: string;
  initial: Settings;
  env: Env;
  logger: Logger;
  debounceMs?: number;
}

export function liveSettings(options: LiveSettingsOptions): LiveSettings {
  const { file, env, logger } = options;
  let raw = options.initial;
  let effective = applyEnvOverrides(raw, env).settings;
  let lastText = JSON.stringify(raw);
  const listeners = new Set<SettingsListener>();
  let timer: NodeJS.Timeout | undefined;

  const adopt = (next: Settings, source: 'file' | 'api'): void => {
    const text = JSON.stringify(next);
    if (text === lastText) return;
    const previous = effective;
    raw = next;
    lastText = text;
    effective = applyEnvOverrides(next, env).settings;
    logger.info(`settings reloaded (${source === 'file' ? 'file changed' : 'through the API'})`);
    for (const listener of listeners) {
      try {
        listener(effective, previous, source);
      } catch (err) {
        logger.error(`settings listener failed: ${errorMessage(err)}`);
      }
    }
  };

  const reload = (): void => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      logger.warn(`cannot read ${file} (${errorMessage(err)}); keeping the last good settings`);
      return;
    }
    try {
      adopt(parseSettingsText(text, file), 'file');
    } catch (err) {
      logger.error(`${errorMessage(err)}\nKeeping the last good settings until the file is fixed.`);
    }
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
      if (name !== null && name !== basename(file)) return;
      clearTimeout(timer);
      timer = setTimeout(reload, options.debounceMs ?? 250);
    });
    watcher.on('error', (err) => logger.warn(`settings watcher stopped: ${errorMessage(err)}`));
  } catch (err) {
    logger.warn(`cannot watch ${file} for changes (${errorMessage(err)}); edits by hand need \`tinyagi restart\``);
  }

  return {
    get: () => effective,
    raw: () => raw,
    async update(mutate) {
      const written = await updateSettings(file, mutate, { env });
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

/**
 * What every command needs to know about where it runs: the environment, TINYAGI_HOME and its
 * paths. Built once per invocation; nothing here touches the disk.
 */
import { homePaths, resolveTinyHome, type HomePaths } from '@tinyagi/core';
import type { Env } from './core-internal.ts';

export interface CliContext {
  env: Env;
  home: string;
  paths: HomePaths;
  /** Print stack traces and causes (`--debug`). */
  debug: boolean;
}

export function cliContext(options: { debug?: boolean } = {}, env: Env = process.env): CliContext {
  const home = resolveTinyHome(env);
  return { env, home, paths: homePaths(home), debug: options.debug === true };
}

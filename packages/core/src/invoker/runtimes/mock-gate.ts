/**
 * The mock runtime's gates: a scripted reply with `gate: "<name>"` holds its run until the file
 * `<gate dir>/<name>` exists. Whoever drives the run (a test, in this process or another) creates
 * the file to release it; the run watches the directory instead of polling it. The directory is
 * the script's `gate_dir`, else `<TINYAGI_HOME>/mock-gates`, so each daemon has its own.
 */
import { existsSync, mkdirSync, watch } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Env, expandHome, resolveTinyHome } from '../../config/paths.ts';

export const MOCK_GATE_DIR_NAME = 'mock-gates';

/** The directory of a script's gates: `gate_dir` (`~` expanded, made absolute), else `<TINYAGI_HOME>/mock-gates`. */
export function mockGateDir(gateDir: string | undefined, env: Env = process.env): string {
  return gateDir !== undefined && gateDir.trim() !== '' ? resolve(expandHome(gateDir.trim(), env)) : join(resolveTinyHome(env), MOCK_GATE_DIR_NAME);
}

/**
 * Resolves once `<dir>/<name>` exists (at once if it already does); rejects with the signal's
 * reason as soon as `signal` aborts. The directory is created if missing.
 */
export function gateOpened(dir: string, name: string, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  return new Promise<void>((resolvePromise, reject) => {
    // The watch starts before the first look, so a file created in between is not missed.
    const watcher = watch(dir);
    let settled = false;
    const settle = (end: () => void): void => {
      if (settled) return;
      settled = true;
      watcher.close();
      signal.removeEventListener('abort', onAbort);
      end();
    };
    const onAbort = (): void => settle(() => reject(signal.reason as Error));
    const look = (): void => {
      if (existsSync(file)) settle(resolvePromise);
    };
    watcher.on('change', look);
    watcher.on('error', (err) => settle(() => reject(err)));
    signal.addEventListener('abort', onAbort, { once: true });
    look();
  });
}

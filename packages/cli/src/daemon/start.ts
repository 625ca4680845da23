/**
 * `tinyagi start`: checks the settings, spawns `tinyagi run` detached (stdio appended to
 * logs/daemon.log) and waits until its API answers GET /api/health.
 *
 * The settings are checked here first so that a broken settings.json is reported in the
 * terminal (every problem, with its path) instead of only in the log; the file is never touched.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings } from '@tinyagi/core';
import { applyEnvOverrides, assertListenAllowed, effectiveServer, remoteAllowed } from '../core-internal.ts';
import { createApiClient } from '@tinyagi/client';
import type { CliContext } from '../context.ts';
import { httpFetch } from '../http-fetch.ts';
import { CliError } from '../output/cli-error.ts';
import { ensureFirstRunDefaults } from './first-run.ts';
import { readRunningDaemon, runningError, type DaemonRecord } from './instance-lock.ts';
import { daemonNodeArgs, setSnapshotAside, snapshotOf } from './launch.ts';
import { daemonEnv } from './node-flags.ts';
import { processExists } from './process-check.ts';
import { selectStorage } from './storage-selection.ts';

export const DEFAULT_START_TIMEOUT_MS = 30_000;
export const DAEMON_LOG = 'daemon.log';

/** Marks the child as the detached daemon: it logs to the file only, not to its stdout too. */
export const DETACHED_ENV = 'TINYAGI_DAEMON_DETACHED';

export interface StartResult {
  pid: number;
  apiUrl: string;
  notices: string[];
  logFile: string;
}

/** Validates what `run` will need, creating first-run defaults. Throws CONFIG_* errors. */
export async function prepareHome(ctx: CliContext): Promise<string[]> {
  const firstRun = await ensureFirstRunDefaults(ctx.paths, ctx.env);
  const { settings } = loadSettings(ctx.paths.settings);
  const effective = applyEnvOverrides(settings, ctx.env).settings; // throws on a malformed TINYAGI_API_PORT
  assertListenAllowed(effectiveServer(effective).host, remoteAllowed(ctx.env));
  return firstRun.notices;
}

/** On PostgreSQL, history left behind in the home's SQLite file (sqlite-beside.ts, loaded only then), said as the daemon starts or restarts. */
export async function storageNotices(ctx: CliContext): Promise<string[]> {
  const selection = selectStorage(applyEnvOverrides(loadSettings(ctx.paths.settings).settings, ctx.env).settings, ctx.env, ctx.paths.db);
  if (selection.backend !== 'postgres') return [];
  const { leftBehindNotice } = await import('./sqlite-beside.ts');
  const notice = await leftBehindNotice(selection, ctx.paths.db);
  return notice === undefined ? [] : [notice];
}

function logTail(file: string, fromOffset: number, maxLines = 30): string {
  try {
    const text = readFileSync(file, 'utf8').slice(fromOffset);
    return text.trimEnd().split('\n').slice(-maxLines).join('\n');
  } catch {
    return '';
  }
}

export async function startDaemon(ctx: CliContext, timeoutMs = DEFAULT_START_TIMEOUT_MS): Promise<StartResult> {
  const live = readRunningDaemon(ctx.paths.lockFile);
  if (live !== undefined) throw runningError(live, ctx.paths.lockFile);
  const notices = [...(await prepareHome(ctx)), ...(await storageNotices(ctx))];

  const logFile = join(ctx.paths.logs, DAEMON_LOG);
  const env = { ...process.env, ...ctx.env };
  // From the start-up snapshot, built here the first time (launch.ts).
  let nodeArgs = daemonNodeArgs({ execArgv: process.execArgv, args: ['run'], build: true, env });
  for (;;) {
    const started = await launch(ctx, nodeArgs, logFile, timeoutMs);
    if ('pid' in started) return { ...started, notices, logFile };
    // A blob that crashes node (damaged on disk, a node that cannot read it) is set aside and
    // the daemon started from its modules; any other exit is the daemon's own error.
    const blob = snapshotOf(nodeArgs);
    if (blob === undefined || started.crash === undefined) throw started.error;
    setSnapshotAside(blob, `the daemon started from it died with ${started.crash} before its API answered`);
    nodeArgs = daemonNodeArgs({ execArgv: process.execArgv, args: ['run'], build: false, env });
  }
}

type Launched = { pid: number; apiUrl: string } | { error: CliError; crash?: string };

/** How node dies on a blob it cannot read (a segfault, or a failed assertion); a kill is not that. */
const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGABRT', 'SIGTRAP', 'SIGFPE']);

async function launch(ctx: CliContext, nodeArgs: string[], logFile: string, timeoutMs: number): Promise<Launched> {
  const fd = openSync(logFile, 'a', 0o600);
  const offset = statSync(logFile).size;
  const child = spawn(process.execPath, nodeArgs, {
    detached: true,
    stdio: ['ignore', fd, fd],
    cwd: ctx.home,
    env: daemonEnv({ ...process.env, ...ctx.env, TINYAGI_HOME: ctx.home, [DETACHED_ENV]: '1' }),
  });
  closeSync(fd);
  let exit: { code: number | null; signal: string | null } | undefined;
  child.once('exit', (code, signal) => (exit = { code, signal }));
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new CliError('DAEMON_START_FAILED', 'Could not spawn the daemon process.', { hint: `See ${logFile}.` });

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exit !== undefined || !processExists(pid)) {
      // Gone before its exit was reported: wait for it, to know whether it crashed.
      if (exit === undefined) await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 1000))]);
      const tail = logTail(logFile, offset);
      const error = new CliError('DAEMON_START_FAILED', `The daemon exited during startup${exit?.code != null ? ` (exit code ${exit.code})` : ''}.${tail ? `\n${tail}` : ''}`, {
        hint: `Full log: ${logFile}`,
      });
      return exit?.signal && CRASH_SIGNALS.has(exit.signal) ? { error, crash: exit.signal } : { error };
    }
    const record: DaemonRecord | undefined = readRunningDaemon(ctx.paths.lockFile);
    if (record !== undefined && record.pid !== pid) throw runningError(record, ctx.paths.lockFile);
    if (record?.apiUrl !== undefined) {
      try {
        await createApiClient({ baseUrl: record.apiUrl, fetch: httpFetch }).health({ signal: AbortSignal.timeout(2000) });
        return { pid, apiUrl: record.apiUrl };
      } catch {
        // listening but not answering yet
      }
    }
    if (Date.now() >= deadline) {
      throw new CliError('TIMEOUT', `The daemon (pid ${pid}) did not answer within ${Math.round(timeoutMs / 1000)} s; it may still be starting.`, {
        hint: `Check \`tinyagi status\` and ${logFile}.`,
      });
    }
    // A poll is a file read; the daemon answers ~0.2 s after the spawn, and start returns as soon as it does.
    await new Promise((r) => setTimeout(r, 20));
  }
}

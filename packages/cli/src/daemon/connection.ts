/**
 * Finding and talking to the daemon of a home. Every command that needs the daemon goes
 * through `connect`, which uses the server's typed client (never a second HTTP client), over
 * node:http (http-fetch.ts: node's fetch would load undici).
 *
 * Resolution: the live daemon's lock record (its API URL), else TINYAGI_API_URL (a daemon in a
 * container or on another port), else DAEMON_NOT_RUNNING. The token is TINYAGI_API_TOKEN or the
 * home's api-token file.
 */
import { createApiClient, type ApiClient } from '@tinyagi/client';
import type { CliContext } from '../context.ts';
import { httpFetch } from '../http-fetch.ts';
import { CliError } from '../output/cli-error.ts';
import { readApiToken } from './api-token.ts';
import { readRunningDaemon, type DaemonRecord } from './instance-lock.ts';

export interface DaemonConnection {
  client: ApiClient;
  apiUrl: string;
  /** The local daemon's record; undefined when reached through TINYAGI_API_URL. */
  record: DaemonRecord | undefined;
}

export function localDaemon(ctx: CliContext): DaemonRecord | undefined {
  return readRunningDaemon(ctx.paths.lockFile);
}

export function notRunningError(ctx: CliContext): CliError {
  return new CliError('DAEMON_NOT_RUNNING', `TinyAGI is not running (home ${ctx.home}).`, { hint: 'Start it with `tinyagi start`.' });
}

/** The daemon connection, or undefined when no daemon is reachable by configuration. */
export function findDaemon(ctx: CliContext, clientName = 'the CLI'): DaemonConnection | undefined {
  const record = localDaemon(ctx);
  const apiUrl = record?.apiUrl ?? nonEmpty(ctx.env['TINYAGI_API_URL']);
  if (apiUrl === undefined) return undefined;
  const token = readApiToken(ctx.paths.apiToken, ctx.env);
  return { client: createApiClient({ baseUrl: apiUrl, clientName, fetch: httpFetch, ...(token !== undefined ? { token } : {}) }), apiUrl, record };
}

export function connect(ctx: CliContext): DaemonConnection {
  const connection = findDaemon(ctx);
  if (connection === undefined) throw notRunningError(ctx);
  return connection;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** True when the connection was to this home's own daemon and that daemon no longer runs (stopped or killed). */
export function localDaemonGone(ctx: CliContext, connection: DaemonConnection): boolean {
  return connection.record !== undefined && localDaemon(ctx) === undefined;
}

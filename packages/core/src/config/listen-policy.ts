/**
 * Who may make the API listen beyond loopback: settings (server.host, TINYAGI_API_HOST) name the
 * address, but only the operator's opt-in at daemon start (`tinyagi start --listen-any`, or
 * TINYAGI_ALLOW_REMOTE=1 in the daemon's environment) allows one beyond loopback. A token holder
 * can change settings through the API; they cannot change the environment of a running daemon.
 */
import { TinyError } from '../errors.ts';
import type { Env } from './paths.ts';

/** Set to 1 when the daemon starts (`tinyagi start --listen-any` sets it) to allow a host beyond loopback. */
export const ALLOW_REMOTE_ENV = 'TINYAGI_ALLOW_REMOTE';

export function remoteAllowed(env: Env): boolean {
  return env[ALLOW_REMOTE_ENV] === '1';
}

export function isLoopbackHost(host: string): boolean {
  const name = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** Refuses a host beyond loopback unless the operator opted in at start. */
export function assertListenAllowed(host: string, allowRemote: boolean): void {
  if (allowRemote || isLoopbackHost(host)) return;
  throw new TinyError('CONFIG_INVALID', `Refusing to listen on ${host}: that is beyond loopback, and remote access was not enabled when the daemon started.`, {
    hint: `Start with \`tinyagi start --listen-any\` (or ${ALLOW_REMOTE_ENV}=1) to allow it, or set server.host / TINYAGI_API_HOST back to 127.0.0.1.`,
    details: { host },
  });
}

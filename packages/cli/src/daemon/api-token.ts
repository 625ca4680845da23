/**
 * Reading the local API token as a client: TINYAGI_API_TOKEN, else `TINYAGI_HOME/api-token`
 * (created, mode 0600, by the daemon's first start through the server's loadOrCreateApiToken).
 */
import { chmodSync, readFileSync, statSync } from 'node:fs';
import type { Env } from '../core-internal.ts';

export function readApiToken(file: string, env: Env = process.env): string | undefined {
  const fromEnv = env['TINYAGI_API_TOKEN'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  try {
    const token = readFileSync(file, 'utf8').trim();
    return token === '' ? undefined : token;
  } catch {
    return undefined;
  }
}

/** Permission bits other than the owner's (0 when the file is private). */
export function tokenFileExposure(file: string): number | undefined {
  try {
    return statSync(file).mode & 0o077;
  } catch {
    return undefined;
  }
}

export function restrictToOwner(file: string): void {
  chmodSync(file, 0o600);
}

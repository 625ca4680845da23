/**
 * The long-lived API token: TINYAGI_API_TOKEN when set, else TINYAGI_HOME/api-token (created on
 * first start with 32 random bytes, mode 0600; a file readable by others is tightened).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TinyError } from '@tinyagi/core';

export const API_TOKEN_FILE = 'api-token';
const MIN_TOKEN_LENGTH = 16;

export interface ApiTokenSource {
  token: string;
  source: 'env' | 'file' | 'created';
  file: string;
}

export function loadOrCreateApiToken(home: string, env: Readonly<Record<string, string | undefined>> = process.env): ApiTokenSource {
  const file = join(home, API_TOKEN_FILE);
  const fromEnv = env['TINYAGI_API_TOKEN']?.trim();
  if (fromEnv) {
    assertStrong(fromEnv, 'TINYAGI_API_TOKEN');
    return { token: fromEnv, source: 'env', file };
  }
  try {
    const token = readFileSync(file, 'utf8').trim();
    assertStrong(token, file);
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return { token, source: 'file', file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(32).toString('base64url');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateApiToken(home, env);
    throw err;
  }
  return { token, source: 'created', file };
}

function assertStrong(token: string, where: string): void {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new TinyError('CONFIG_INVALID', `The API token in ${where} is shorter than ${MIN_TOKEN_LENGTH} characters.`, {
      hint: `Use a long random value (e.g. \`openssl rand -base64 32\`), or delete ${where === 'TINYAGI_API_TOKEN' ? 'the variable' : 'the file'} to get a generated one.`,
    });
  }
}

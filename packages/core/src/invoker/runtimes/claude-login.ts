/**
 * Claude Code's own login, for an agent whose CLI runs where that login is not: inside the
 * boundary the CLI has a private home with no `~/.claude/.credentials.json` (docs/sandbox.md).
 * A subscription's OAuth token (`CLAUDE_CODE_OAUTH_TOKEN`, which `claude setup-token` prints, or
 * the access token of `claude login` in `<CLAUDE_CONFIG_DIR or ~/.claude>/.credentials.json`) is
 * carried by the model proxy as it carries an API key: the CLI gets the proxy's URL and a
 * placeholder (ANTHROPIC_BASE_URL, ANTHROPIC_AUTH_TOKEN), the proxy sends the token as
 * `Authorization: Bearer` with the `anthropic-beta` flag the API asks of an OAuth token. The
 * login file is read at each invocation (a warm process's each turn), so a login the user's own
 * `claude` refreshed is the one used; the file never enters the boundary.
 *
 * On macOS Claude Code keeps its login in the Keychain, not in a file: there, and for a login
 * that expired, the sandboxed CLI says "Not logged in": that failure is permanent (no retry
 * logs it in) and names the one command that fixes it (`claudeLoginFailure`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvokeError } from '../invoke-error.ts';
import { asNumber, asRecord, asString, parseJsonRecord } from '../json-read.ts';
import type { RuntimeEnv, SandboxLoginStatus } from '../runtime.ts';

/** The `anthropic-beta` flag Anthropic's API takes an OAuth token with. */
export const CLAUDE_OAUTH_BETA = 'oauth-2025-04-20';

/** The one command that gives a sandboxed Claude Code agent a login it can use. */
export const CLAUDE_LOGIN_FIX =
  'run `claude setup-token` and give the token to the daemon as CLAUDE_CODE_OAUTH_TOKEN (its environment, or `models.anthropic.oauth_token` in settings.json), then restart the daemon; or give the agent an API key (ANTHROPIC_API_KEY)';

/** Where Claude Code keeps its login in `env`: `<CLAUDE_CONFIG_DIR>/.credentials.json`, else `~/.claude/.credentials.json`. */
export function claudeCredentialsFile(env: RuntimeEnv): string | undefined {
  if (env.CLAUDE_CONFIG_DIR) return join(env.CLAUDE_CONFIG_DIR, '.credentials.json');
  return env.HOME ? join(env.HOME, '.claude', '.credentials.json') : undefined;
}

export interface ClaudeLogin {
  file: string;
  accessToken: string;
  /** When the access token expires (ms since the epoch), when the file says. */
  expiresAt: number | undefined;
}

/** The user's `claude login` as the file holds it; undefined when there is no file or no access token in it. */
export function readClaudeLogin(env: RuntimeEnv): ClaudeLogin | undefined {
  const file = claudeCredentialsFile(env);
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const oauth = asRecord(parseJsonRecord(text)?.claudeAiOauth);
  const accessToken = asString(oauth?.accessToken);
  if (!accessToken) return undefined;
  return { file, accessToken, expiresAt: asNumber(oauth?.expiresAt) };
}

/** The OAuth token a Claude Code agent's calls carry: CLAUDE_CODE_OAUTH_TOKEN, else the login file's unexpired access token. */
export function claudeOAuthToken(env: RuntimeEnv, now = Date.now()): string | undefined {
  if (env.CLAUDE_CODE_OAUTH_TOKEN) return env.CLAUDE_CODE_OAUTH_TOKEN;
  const login = readClaudeLogin(env);
  if (!login || (login.expiresAt !== undefined && login.expiresAt <= now)) return undefined;
  return login.accessToken;
}

const NOT_LOGGED_IN = /Not logged in|Please run \/login|OAuth token has expired|Invalid API key/i;

/** Claude Code's "Not logged in · Please run /login" (and an expired or refused login) as a permanent failure naming the fix; undefined for any other text. */
export function claudeLoginFailure(what: string, text: string): InvokeError | undefined {
  if (!NOT_LOGGED_IN.test(text)) return undefined;
  return new InvokeError('permanent', `${what}: Claude Code has no login it can use here (it said: ${text.trim()}). To fix: ${CLAUDE_LOGIN_FIX}.`, {
    code: 'PROVIDER_CONFIG_INVALID',
    hint: 'A login does not appear by itself: the message is not retried. `tinyagi doctor` checks what a sandboxed agent will log in with.',
  });
}

/** A login that expires within this is a warning: Claude Code refreshes it only when the user runs `claude`. */
const SOON_MS = 3_600_000;

/** Inside the boundary: the key or token the model proxy carries, else the login file it reads (RuntimeImpl.sandboxLogin). */
export function claudeSandboxLogin(_target: unknown, env: RuntimeEnv, now: number): SandboxLoginStatus | undefined {
  if (env.CLAUDE_CODE_USE_BEDROCK || env.CLAUDE_CODE_USE_VERTEX) return undefined;
  if (env.ANTHROPIC_AUTH_TOKEN || env.ANTHROPIC_API_KEY) return { status: 'ok', message: 'inside the sandbox Claude Code uses its API key, carried by the model proxy (the key stays outside)' };
  if (env.CLAUDE_CODE_OAUTH_TOKEN) return { status: 'ok', message: 'inside the sandbox Claude Code uses CLAUDE_CODE_OAUTH_TOKEN, carried by the model proxy (the token stays outside)' };
  const login = readClaudeLogin(env);
  if (!login) {
    return { status: 'fail', message: 'inside the sandbox Claude Code has no login: none in a file the daemon can read (on macOS the login is in the Keychain)', fix: CLAUDE_LOGIN_FIX };
  }
  if (login.expiresAt !== undefined && login.expiresAt <= now) {
    return { status: 'fail', message: `inside the sandbox Claude Code has no login: the one in ${login.file} has expired`, fix: CLAUDE_LOGIN_FIX };
  }
  const carried = `inside the sandbox Claude Code uses the login of ${login.file}, carried by the model proxy (the file stays outside)`;
  if (login.expiresAt !== undefined && login.expiresAt - now < SOON_MS) {
    return { status: 'warn', message: `${carried}; it expires at ${new Date(login.expiresAt).toISOString()} and only your own \`claude\` refreshes it`, fix: CLAUDE_LOGIN_FIX };
  }
  return { status: 'ok', message: carried };
}

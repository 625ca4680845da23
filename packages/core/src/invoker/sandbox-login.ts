/**
 * What a sandboxed CLI agent will log in with INSIDE the boundary (docs/sandbox.md#your-own-cli-login-and-setup),
 * for `tinyagi doctor` and `tinyagi agent add`: inside, the CLI has a private home without the
 * user's login files; what reaches the model is what the model proxy carries for it (a key, a
 * token, the user's own Codex provider: through-model-proxy.ts and the runtimes' modelProxy
 * routes). Judged from the agent's resolved target and the daemon's environment, never from the
 * user's file alone.
 */
import { boundaryEnforced } from '../sandbox/boundary.ts';
import { baseChildEnv } from './child-env.ts';
import type { RuntimeEnv } from './runtime.ts';
import { opencodeOwnProvider } from './runtimes/opencode-config.ts';
import { CLAUDE_LOGIN_FIX, readClaudeLogin } from './runtimes/claude-login.ts';
import { CODEX_LOGIN_FIX, codexLoginApiKey, readCodexUserConfig } from './runtimes/codex-config.ts';
import type { InvokeTarget } from './types.ts';

export interface SandboxLoginStatus {
  status: 'ok' | 'warn' | 'fail';
  message: string;
  /** The one command (or setting) that fixes a `warn` or `fail`. */
  fix?: string;
}

/** A login that expires within this is a warning: Claude Code refreshes it only when the user runs `claude`. */
const SOON_MS = 3_600_000;

function claudeStatus(env: RuntimeEnv, now: number): SandboxLoginStatus | undefined {
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

function codexStatus(target: InvokeTarget, env: RuntimeEnv): SandboxLoginStatus | undefined {
  if (target.baseUrl !== undefined) return undefined;
  const own = readCodexUserConfig(env)?.selected;
  if (own) {
    if (own.baseUrl === undefined)
      return {
        status: 'fail',
        message: `Codex's own provider "${own.id}" has no base_url: the model proxy cannot stand in for it inside the sandbox`,
        fix: `give [model_providers.${own.id}] a base_url in ${readCodexUserConfig(env)?.file}`,
      };
    // Its key variable unset: codexProviderStatus says so.
    return { status: 'ok', message: `inside the sandbox Codex asks the provider "${own.id}" of its own config at ${own.baseUrl} through the model proxy (its key stays outside)` };
  }
  if (target.env?.CODEX_API_KEY || target.env?.OPENAI_API_KEY || codexLoginApiKey(env))
    return { status: 'ok', message: 'inside the sandbox Codex uses its API key, carried by the model proxy (the key stays outside)' };
  return { status: 'fail', message: 'inside the sandbox Codex has no login it can use: a ChatGPT login (`codex login`) stays outside the boundary', fix: CODEX_LOGIN_FIX };
}

function opencodeStatus(target: InvokeTarget, env: RuntimeEnv): SandboxLoginStatus | undefined {
  if (target.baseUrl !== undefined && target.apiKey) return undefined;
  const own = opencodeOwnProvider(env, target.model);
  const key = own?.key;
  if (own && key !== undefined && 'variable' in key && !env[key.variable]) {
    return {
      status: 'fail',
      message: `OpenCode's own provider "${own.id}" reads its key from ${key.variable}, which the daemon's environment does not have`,
      fix: `set ${key.variable} where the daemon is started and restart it`,
    };
  }
  if (own) return { status: 'ok', message: `inside the sandbox OpenCode asks the provider "${own.id}" of its own opencode.json at ${own.baseUrl} through the model proxy (its key stays outside)` };
  return {
    status: 'warn',
    message:
      "inside the sandbox OpenCode has neither its own login (`opencode auth`) nor its built-in providers' keys: the model proxy carries a TinyAGI provider's key or an OpenAI-compatible provider of its own opencode.json",
    fix: 'give the agent a TinyAGI provider: `tinyagi provider add <name> …` (custom_providers, docs/agent-clis.md), then `tinyagi agent provider <id> custom:<name>`',
  };
}

/**
 * For an agent whose CLI runs inside the boundary on this machine: what it will log in with there.
 * Undefined when that is not a question (unconfined, a runtime with no CLI login, a TinyAGI
 * provider, a cloud provider).
 */
export function sandboxLoginStatus(target: InvokeTarget, daemonEnv: RuntimeEnv, now = Date.now()): SandboxLoginStatus | undefined {
  if (!boundaryEnforced(target.sandbox, daemonEnv)) return undefined;
  const env = { ...baseChildEnv(daemonEnv), ...target.env };
  if (target.runtime === 'claude-code') return claudeStatus(env, now);
  if (target.runtime === 'codex') return codexStatus(target, env);
  if (target.runtime === 'opencode') return opencodeStatus(target, env);
  return undefined;
}

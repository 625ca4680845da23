/**
 * The user's own Codex configuration, read for what it asks of the environment: an agent on
 * `provider: "codex"` runs codex with the user's `$CODEX_HOME/config.toml` (default
 * `~/.codex/config.toml`), where `model_provider = "<id>"` may select one of the user's
 * `[model_providers.<id>]` entries (Azure, OpenRouter, a local server). Such an entry names the
 * variable holding its key (`env_key`) and may map headers to variables (`env_http_headers`).
 * Checked against codex 0.169:
 *
 * - a selected provider whose `env_key` variable is unset or empty fails every turn with
 *   "Missing environment variable: `<name>`." (and the entry's `env_key_instructions`); no retry
 *   can fix that, so a run fails at once, saying which variable of which provider is missing;
 * - a missing `env_http_headers` variable only leaves its header out;
 * - the built-in providers (`openai`, `ollama`, `lmstudio`) cannot be redefined, and a project's
 *   `.codex/config.toml` is ignored for an untrusted project (codex exec), so the user's file is
 *   the one that selects;
 * - `profile = "…"` in config.toml is refused (profiles are separate files chosen with
 *   `--profile`, which TinyAGI does not pass).
 *
 * The variables every entry names are passed on from the daemon's environment (see
 * `codexOwnProviderEnv`), never TinyAGI's own (child-env.ts, isDaemonOwnVariable): the file is
 * one an agent could edit.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { baseChildEnv, isDaemonOwnVariable } from '../child-env.ts';
import { InvokeError } from '../invoke-error.ts';
import { asRecord, asString, parseJsonRecord } from '../json-read.ts';
import type { RuntimeEnv, SandboxLoginStatus } from '../runtime.ts';
import { parseToml } from '../toml.ts';
import type { InvokeTarget } from '../types.ts';

/** Codex's own providers: not `model_providers` entries, and not redefinable. */
const BUILT_IN_PROVIDERS = new Set(['openai', 'ollama', 'lmstudio']);
/** Variables TinyAGI fills from `models.openai.api_key` when a user's provider names them. */
const OPENAI_KEY_VARIABLES = new Set(['OPENAI_API_KEY', 'CODEX_API_KEY']);

/** A `model_providers` entry of the user's config. */
export interface CodexOwnProvider {
  id: string;
  /** Its `name`, when it has one. */
  name: string | undefined;
  /** The variable holding its API key (`env_key`). */
  envKey: string | undefined;
  /** Its `env_key_instructions`. */
  envKeyInstructions: string | undefined;
  /** The variables its `env_http_headers` read. */
  headerVariables: string[];
  /** Its `base_url`. */
  baseUrl: string | undefined;
}

export interface CodexUserConfig {
  file: string;
  /** The user's provider `model_provider` selects; undefined for codex's built-in ones. */
  selected: CodexOwnProvider | undefined;
  /** Every variable the config's providers read, in the file's order. */
  variables: string[];
  /** Its top-level `model`. */
  model?: string | undefined;
  /** Why the file could not be read as TOML (codex then refuses to start as well). */
  error?: string;
}

/** Where codex reads the user's config in `env`: CODEX_HOME, else HOME's `.codex`. */
export function codexConfigFile(env: RuntimeEnv): string | undefined {
  if (env.CODEX_HOME) return join(env.CODEX_HOME, 'config.toml');
  return env.HOME ? join(env.HOME, '.codex', 'config.toml') : undefined;
}

const cache = new Map<string, { mtimeMs: number; size: number; config: CodexUserConfig }>();

/** The user's config as codex would read it in `env`; undefined when there is none. Cached while the file is unchanged. */
export function readCodexUserConfig(env: RuntimeEnv): CodexUserConfig | undefined {
  const file = codexConfigFile(env);
  if (file === undefined) return undefined;
  let stat: { mtimeMs: number; size: number };
  try {
    stat = statSync(file);
  } catch {
    cache.delete(file);
    return undefined;
  }
  const cached = cache.get(file);
  if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.config;
  let config: CodexUserConfig;
  try {
    config = interpret(file, parseToml(readFileSync(file, 'utf8')));
  } catch (err) {
    config = { file, selected: undefined, variables: [], error: err instanceof Error ? err.message : String(err) };
  }
  cache.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, config });
  return config;
}

function interpret(file: string, toml: Record<string, unknown>): CodexUserConfig {
  const entries = asRecord(toml.model_providers) ?? {};
  const providers = Object.entries(entries)
    .filter(([id]) => !BUILT_IN_PROVIDERS.has(id))
    .map(([id, value]): CodexOwnProvider => {
      const entry = asRecord(value) ?? {};
      return {
        id,
        name: asString(entry.name),
        envKey: asString(entry.env_key) || undefined,
        envKeyInstructions: asString(entry.env_key_instructions) || undefined,
        headerVariables: Object.values(asRecord(entry.env_http_headers) ?? {}).flatMap((v) => (typeof v === 'string' && v !== '' ? [v] : [])),
        baseUrl: asString(entry.base_url) || undefined,
      };
    });
  const selectedId = asString(toml.model_provider);
  const variables = [...new Set(providers.flatMap((p) => [...(p.envKey ? [p.envKey] : []), ...p.headerVariables]))];
  return { file, selected: providers.find((p) => p.id === selectedId), variables, model: asString(toml.model) || undefined };
}

/**
 * The daemon's values of the variables the user's config reads (`env` is the daemon's
 * environment), for the agent's environment: a provider's `OPENAI_API_KEY` or `CODEX_API_KEY`
 * is `models.openai.api_key` when settings have one (settings win, as for every credential),
 * else the daemon's variable. TinyAGI's own variables are never passed.
 */
export function codexOwnProviderEnv(env: RuntimeEnv, openaiKey: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readCodexUserConfig(env)?.variables ?? []) {
    if (isDaemonOwnVariable(name)) continue;
    const value = OPENAI_KEY_VARIABLES.has(name) && openaiKey ? openaiKey : env[name];
    if (value) out[name] = value;
  }
  return out;
}

/** The API key `codex login --with-api-key` keeps in `$CODEX_HOME/auth.json` (default `~/.codex/auth.json`); undefined for a ChatGPT login or none. */
export function codexLoginApiKey(env: RuntimeEnv): string | undefined {
  const config = codexConfigFile(env);
  if (config === undefined) return undefined;
  try {
    const auth = parseJsonRecord(readFileSync(join(dirname(config), 'auth.json'), 'utf8'));
    return asString(auth?.OPENAI_API_KEY) || undefined;
  } catch {
    return undefined;
  }
}

/** A selected provider of the user's whose key variable codex will not find. */
export interface CodexMissingKey {
  file: string;
  provider: CodexOwnProvider;
  variable: string;
  /** The variable is TinyAGI's own: it is never passed, whatever holds it. */
  withheld: boolean;
}

/** What codex would refuse in `childEnv` (the agent's environment): the selected provider's `env_key` unset there. */
export function codexMissingKey(childEnv: RuntimeEnv): CodexMissingKey | undefined {
  const config = readCodexUserConfig(childEnv);
  const provider = config?.selected;
  const variable = provider?.envKey;
  if (!config || !provider || !variable || childEnv[variable]) return undefined;
  return { file: config.file, provider, variable, withheld: isDaemonOwnVariable(variable) };
}

/** The provider as the user named it: `"openrouter" (OpenRouter)`. */
function providerLabel(provider: CodexOwnProvider): string {
  return `"${provider.id}"${provider.name && provider.name !== provider.id ? ` (${provider.name})` : ''}`;
}

/** What is missing and what to do, in one text (doctor's finding and the run's error say the same). */
export function describeMissingKey(missing: CodexMissingKey): string {
  const { file, provider, variable } = missing;
  const what = `Codex's own config ${file} selects the provider ${providerLabel(provider)}, which reads its API key from ${variable}`;
  if (missing.withheld) {
    return `${what}: ${variable} is a TinyAGI variable and never reaches an agent. Give the provider another env_key in ${file}, or give the agent a TinyAGI provider (custom_providers).`;
  }
  const settings = OPENAI_KEY_VARIABLES.has(variable) ? ', or set models.openai.api_key in settings.json' : '';
  const instructions = provider.envKeyInstructions ? ` (the provider's instructions: ${provider.envKeyInstructions})` : '';
  return `${what}, and ${variable} is not set in the daemon's environment. Set it where the daemon is started and restart the daemon (tinyagi stop && tinyagi start)${settings}${instructions}.`;
}

/** The run's error when the user's selected provider's key is missing in `childEnv`; undefined when codex can start. */
export function codexMissingKeyError(what: string, childEnv: RuntimeEnv): InvokeError | undefined {
  const missing = codexMissingKey(childEnv);
  if (!missing) return undefined;
  return new InvokeError('permanent', `${what}: ${describeMissingKey(missing)}`, {
    code: 'PROVIDER_CONFIG_INVALID',
    hint: 'A missing variable does not appear by itself: the message is not retried. `tinyagi doctor` checks this for every Codex agent.',
  });
}

const MISSING_VARIABLE = /Missing environment variable: `([^`]+)`/;

/**
 * Codex's own "Missing environment variable: `X`" (a turn it refused to start; a config TinyAGI
 * could not read ahead, e.g. a managed one) as a permanent failure, with the provider when the
 * user's config names it; undefined for any other text.
 */
export function codexMissingVariableFailure(what: string, text: string, childEnv: RuntimeEnv): InvokeError | undefined {
  const variable = MISSING_VARIABLE.exec(text)?.[1];
  if (variable === undefined) return undefined;
  const known = codexMissingKey(childEnv);
  const detail =
    known?.variable === variable
      ? describeMissingKey(known)
      : `codex needs the environment variable ${variable}, which the agent's environment does not have (codex said: ${text.trim()}). Set it where the daemon is started and restart the daemon, or name it in the agent's env_passthrough.`;
  return new InvokeError('permanent', `${what}: ${detail}`, { code: 'PROVIDER_CONFIG_INVALID' });
}

/** The one command that gives a sandboxed Codex agent a login it can use. */
export const CODEX_LOGIN_FIX =
  'give the daemon an API key: `printenv OPENAI_API_KEY | codex login --with-api-key` (or OPENAI_API_KEY in its environment, or `models.openai.api_key` in settings.json), then restart the daemon';

/**
 * A sandboxed Codex (the boundary enforced) with nothing the model proxy can carry: no key, no
 * TinyAGI provider, no provider of the user's own config, only a ChatGPT login (`codex login`,
 * tokens in auth.json) or none. Inside, its private home has no login and the vendor is not
 * reachable: it would retry for an hour; this fails the message at once, naming the fix.
 */
export function codexSandboxLoginError(what: string, target: InvokeTarget): InvokeError | undefined {
  if (target.baseUrl !== undefined || target.env?.CODEX_API_KEY || target.env?.OPENAI_API_KEY || target.confined !== true) return undefined;
  const env = { ...baseChildEnv(), ...target.env };
  if (readCodexUserConfig(env)?.selected) return codexMissingKeyError(what, env);
  return new InvokeError(
    'permanent',
    `${what}: Codex runs inside the sandbox, where it has no login it can use (a ChatGPT login, \`codex login\`, stays outside the boundary). To fix: ${CODEX_LOGIN_FIX}.`,
    {
      code: 'PROVIDER_CONFIG_INVALID',
      hint: 'A login does not appear by itself: the message is not retried. `tinyagi doctor` checks what a sandboxed agent will log in with.',
    },
  );
}

export interface CodexProviderStatus {
  status: 'ok' | 'warn' | 'fail';
  message: string;
}

/**
 * For `tinyagi doctor`: how an agent's codex would find the user's own provider, given its
 * target resolved with the daemon's environment (`daemonEnv`, where HOME and CODEX_HOME come
 * from). Undefined when that is not a question: another runtime, a TinyAGI provider (given with
 * -c), or a config that selects one of codex's built-in providers.
 */
export function codexProviderStatus(target: InvokeTarget, daemonEnv: RuntimeEnv): CodexProviderStatus | undefined {
  if (target.runtime !== 'codex' || target.baseUrl !== undefined) return undefined;
  const childEnv = { ...baseChildEnv(daemonEnv), ...target.env };
  const config = readCodexUserConfig(childEnv);
  if (config?.error !== undefined) return { status: 'warn', message: `Codex's own config ${config.file} is not valid TOML (${config.error}): codex will refuse to start.` };
  const provider = config?.selected;
  if (!config || !provider) return undefined;
  const missing = codexMissingKey(childEnv);
  if (missing) return { status: 'fail', message: describeMissingKey(missing) };
  const key = provider.envKey ? `, its key from ${provider.envKey}` : '';
  return { status: 'ok', message: `Codex runs with the provider ${providerLabel(provider)} of its own config ${config.file}${key}` };
}

/** Inside the boundary: its own config's provider or its API key, through the model proxy (RuntimeImpl.sandboxLogin). */
export function codexSandboxLogin(target: InvokeTarget, env: RuntimeEnv): SandboxLoginStatus | undefined {
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

/**
 * The user's own OpenCode configuration, read for the provider a sandboxed agent's model names:
 * `~/.config/opencode/opencode.json` (`$XDG_CONFIG_HOME/opencode/opencode.json`) may define
 * `provider.<id>` entries, an OpenAI-compatible server (`npm: "@ai-sdk/openai-compatible"`,
 * `options.baseURL`, `options.apiKey` literal or `"{env:VAR}"`). Inside the boundary OpenCode has
 * a private home without that file: the model proxy stands in for the provider (its base URL and
 * key stay outside) and the CLI gets it as TinyAGI's `provider.tinyagi` entry at the proxy, the
 * model without the provider's prefix. Only that package (or none, which is OpenCode's default
 * for a provider with a baseURL) is carried: another SDK speaks another API.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseChildEnv, isDaemonOwnVariable } from '../child-env.ts';
import { InvokeError } from '../invoke-error.ts';
import { asRecord, asString, parseJsonRecord } from '../json-read.ts';
import type { RuntimeEnv, SandboxLoginStatus } from '../runtime.ts';
import type { InvokeTarget } from '../types.ts';

export interface OpencodeOwnProvider {
  id: string;
  baseUrl: string;
  /** The key as the config gives it: a literal, or the variable of `{env:VAR}`. */
  key: { literal: string } | { variable: string } | undefined;
  /** The model within the provider (the agent's `<provider>/<model>` without the prefix). */
  model: string;
}

/** Where OpenCode reads the user's config in `env`. */
export function opencodeConfigFile(env: RuntimeEnv): string | undefined {
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'opencode', 'opencode.json');
  return env.HOME ? join(env.HOME, '.config', 'opencode', 'opencode.json') : undefined;
}

/** The user's opencode.json, parsed; undefined when there is none or it is not JSON. */
export function readOpencodeUserConfig(env: RuntimeEnv): Record<string, unknown> | undefined {
  const file = opencodeConfigFile(env);
  if (file === undefined) return undefined;
  try {
    return parseJsonRecord(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Every variable the user's opencode.json reads (`{env:VAR}` anywhere in it): its keys, whatever they are called. */
export function opencodeConfigVariables(env: RuntimeEnv): string[] {
  const file = opencodeConfigFile(env);
  let text: string;
  try {
    text = file === undefined ? '' : readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return [...new Set([...text.matchAll(/\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1]!))];
}

const OPENAI_COMPATIBLE = new Set([undefined, '@ai-sdk/openai-compatible']);

/** The user's OpenAI-compatible provider the model (`<provider>/<model>`, else the config's `model`) names; undefined for OpenCode's own providers. */
export function opencodeOwnProvider(env: RuntimeEnv, model: string | undefined): OpencodeOwnProvider | undefined {
  const config = readOpencodeUserConfig(env);
  const named = model ?? asString(config?.model);
  const slash = named?.indexOf('/') ?? -1;
  if (!config || named === undefined || slash <= 0) return undefined;
  const id = named.slice(0, slash);
  const entry = asRecord(asRecord(config.provider)?.[id]);
  const options = asRecord(entry?.options);
  const baseUrl = asString(options?.baseURL);
  if (!entry || !baseUrl || !OPENAI_COMPATIBLE.has(asString(entry.npm))) return undefined;
  const apiKey = asString(options?.apiKey);
  const variable = apiKey === undefined ? undefined : /^\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(apiKey)?.[1];
  const key = apiKey === undefined || apiKey === '' ? undefined : variable !== undefined ? { variable } : { literal: apiKey };
  return { id, baseUrl, key, model: named.slice(slash + 1) };
}

/** The daemon's value of the variable the user's provider reads its key from, for the agent's target (never TinyAGI's own variables). */
export function opencodeOwnProviderEnv(env: RuntimeEnv, model: string | undefined): Record<string, string> {
  const key = opencodeOwnProvider(env, model)?.key;
  if (!key || !('variable' in key) || isDaemonOwnVariable(key.variable)) return {};
  const value = env[key.variable];
  return value ? { [key.variable]: value } : {};
}

/** Inside the boundary: a provider of its own opencode.json the model proxy carries (RuntimeImpl.sandboxLogin). */
export function opencodeSandboxLogin(target: InvokeTarget, env: RuntimeEnv): SandboxLoginStatus | undefined {
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
    status: 'fail',
    message:
      "inside the sandbox OpenCode has neither its own login (`opencode auth`) nor its built-in providers' keys (they never enter the sandbox): the model proxy carries a TinyAGI provider's key or an OpenAI-compatible provider of its own opencode.json",
    fix: 'give the agent a TinyAGI provider: `tinyagi provider add <name> …` (custom_providers, docs/agent-clis.md), then `tinyagi agent provider <id> custom:<name>`',
  };
}

/**
 * A sandboxed OpenCode the model proxy does not stand in for (a built-in provider, its own login),
 * or its own provider whose `{env:VAR}` the daemon's environment lacks (sandboxed or not): it
 * would fail at its first model call, after retries; this fails the message at once, naming the
 * fix. Undefined when it can start (`target` is the one the invocation runs with: routed through
 * the proxy, it has the proxy's base URL).
 */
export function opencodeLoginError(what: string, target: InvokeTarget): InvokeError | undefined {
  if (target.baseUrl !== undefined) return undefined;
  const env = { ...baseChildEnv(), ...target.env };
  const own = opencodeOwnProvider(env, target.model);
  const variable = own?.key !== undefined && 'variable' in own.key ? own.key.variable : undefined;
  if (target.confined !== true && (variable === undefined || env[variable])) return undefined;
  const status = opencodeSandboxLogin(target, env);
  if (status?.status !== 'fail') return undefined;
  return new InvokeError('permanent', `${what}: ${status.message}. To fix: ${status.fix}.`, {
    code: 'PROVIDER_CONFIG_INVALID',
    hint: 'A key does not appear by itself: the message is not retried. `tinyagi doctor` checks what a sandboxed agent will log in with.',
  });
}

/**
 * What a sandboxed agent may never hold (docs/sandbox.md#the-model-proxy), for its SandboxSpec's
 * `withheld` (the boundary leaves every variable holding one out and refuses a start whose
 * arguments or given files hold one: @tinyagi/sandbox's withheld.ts):
 *
 * - every secret of the settings (`models.*.api_key`, `oauth_token`, custom providers' keys);
 * - the daemon's Anthropic, OpenAI, Codex and Claude Code keys and tokens (ANTHROPIC_API_KEY,
 *   CLAUDE_CODE_OAUTH_TOKEN, …), and what the user's own CLI configs read a key from, whatever
 *   its name (`configs`: the invoker reads them, invoker/cli-config-secrets.ts);
 * - the daemon's other variables named like a key or token, unless the agent's own
 *   `env_passthrough` names them (a CLI the model proxy cannot stand in for: Gemini CLI's
 *   GEMINI_API_KEY, a GITHUB_TOKEN).
 *
 * The model proxy adds the key it carries for a run (invoker/through-model-proxy.ts).
 */
import { ownEntry } from '../config/object-path.ts';
import type { Env } from '../config/paths.ts';
import type { Settings } from '../config/schema.ts';
import { daemonSecrets } from '../config/secrets.ts';

/** The model vendors' credentials the runtimes and the model proxy carry: never passed inside, whatever names them. */
const MODEL_CREDENTIAL = /^(?:ANTHROPIC|OPENAI|CODEX|CLAUDE_CODE)_\w*(?:KEY|TOKEN)$/;

/** What the user's CLI configs hold: the variables they read a key from, and keys written in them. */
export interface ConfigSecrets {
  variables: readonly string[];
  values: readonly string[];
}

export function withheldSecrets(settings: Settings, agentId: string, env: Env, configs: ConfigSecrets = { variables: [], values: [] }): string[] {
  const named = [...configs.variables, ...Object.keys(env).filter((name) => MODEL_CREDENTIAL.test(name))];
  const always = daemonSecrets(settings, {}, [...named.flatMap((name) => env[name] ?? []), ...configs.values]);
  const passed = new Set((ownEntry(settings.agents, agentId)?.env_passthrough ?? []).map((name) => env[name]));
  return [...new Set([...always, ...daemonSecrets({}, env).filter((value) => !passed.has(value))])];
}

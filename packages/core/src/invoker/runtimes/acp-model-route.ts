/**
 * How the model proxy (docs/sandbox.md#the-model-proxy) stands in for the provider of an ACP
 * agent TinyAGI knows (acp-agents.ts), so a sandboxed one, whose private home has none of the
 * user's CLI configuration and whose network is the proxies only, reaches its model with the key
 * outside (docs/sessions.md, "ACP agents with the defaults"):
 *
 * - **claude-agent-acp** runs Claude Code: the same route as the `claude-code` runtime's (an
 *   ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN its env_passthrough names, at ANTHROPIC_BASE_URL or
 *   Anthropic's API; else the user's Claude Code login), given as ANTHROPIC_BASE_URL and
 *   ANTHROPIC_AUTH_TOKEN.
 * - **codex-acp** runs Codex: the same upstream as the `codex` runtime's (the provider the user's
 *   `~/.codex/config.toml` selects, its key from the variable its `env_key` names; else an
 *   OPENAI_API_KEY or CODEX_API_KEY for OpenAI's API, or `codex login --with-api-key`'s key), given
 *   as TinyAGI's `model_providers.tinyagi` entry at the proxy through `-c` options ahead of the
 *   agent's own arguments (the config's `model` too, when it names one), the placeholder key in
 *   TINYAGI_CODEX_API_KEY.
 * - Any other agent (Gemini CLI, Copilot, …) has no route: its own key and host (the recipe's
 *   `egress_allow`) reach it.
 */
import { baseChildEnv } from '../child-env.ts';
import type { RuntimeModelRoute } from '../runtime.ts';
import type { InvokeRequest, InvokeTarget } from '../types.ts';
import { knownAcpAgent, type KnownAcpAgent } from './acp-agents.ts';
import { claudeCodeRuntime } from './claude.ts';
import { CODEX_PROVIDER_KEY_ENV, providerArgs } from './codex-common.ts';
import { readCodexUserConfig } from './codex-config.ts';
import { codexRuntime } from './codex.ts';

/** Variables that carry an OpenAI key or endpoint to Codex: none reaches codex-acp once the proxy stands in. */
const CODEX_KEY_VARIABLES = ['CODEX_API_KEY', 'OPENAI_API_KEY', 'OPENAI_BASE_URL'];

/** The target as the `codex` runtime's route reads one: an OPENAI_API_KEY is Codex's key (CODEX_API_KEY first). */
function asCodexTarget(target: InvokeTarget): InvokeTarget {
  const env = target.env ?? {};
  const key = env.CODEX_API_KEY || env.OPENAI_API_KEY;
  return { ...target, env: { ...env, ...(key ? { CODEX_API_KEY: key } : {}) } };
}

const codexAcpRoute: RuntimeModelRoute = {
  upstream: (target) => codexRuntime.modelProxy?.upstream(asCodexTarget(target)),
  via: (target, endpoint) => {
    const config = readCodexUserConfig({ ...baseChildEnv(), ...target.env });
    const drop = new Set([...CODEX_KEY_VARIABLES, ...(config?.selected?.envKey ? [config.selected.envKey] : [])]);
    const env = Object.fromEntries(Object.entries(target.env ?? {}).filter(([name]) => !drop.has(name)));
    const routed = { target: { ...target, env, baseUrl: endpoint.baseUrl, apiKey: endpoint.apiKey } } as InvokeRequest;
    const model = target.model === undefined && config?.selected ? config.model : undefined;
    return {
      ...target,
      env: { ...env, [CODEX_PROVIDER_KEY_ENV]: endpoint.apiKey },
      args: [...providerArgs(routed), ...(model ? ['-c', `model=${JSON.stringify(model)}`] : []), ...(target.args ?? [])],
    };
  },
};

/** Read when asked (the runtimes' modules may still be loading when this one is). */
const routes = (): Record<KnownAcpAgent, RuntimeModelRoute | undefined> => ({
  'claude-agent-acp': claudeCodeRuntime.modelProxy,
  'codex-acp': codexAcpRoute,
});

function routeOf(target: InvokeTarget): RuntimeModelRoute | undefined {
  const agent = knownAcpAgent(target.command, target.args);
  return agent === undefined ? undefined : routes()[agent];
}

export const acpModelRoute: RuntimeModelRoute = {
  upstream: (target) => routeOf(target)?.upstream(target),
  via: (target, endpoint) => routeOf(target)?.via(target, endpoint) ?? target,
};

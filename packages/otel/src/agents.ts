/**
 * What a span says about the agent behind a run: its name, the runtime it runs on, the model and
 * the GenAI provider (`gen_ai.provider.name`: the well-known value for the runtime's vendor, or the
 * runtime's own name). Read from the settings at each run start, so an edited agent shows at once.
 */

export interface AgentDescription {
  name?: string | undefined;
  /** TinyAGI's runtime (`claude-code`, `codex`, `opencode`, `anthropic-api`, `openai-api`, `mock`, `custom:<id>`, a plugin's). */
  runtime?: string | undefined;
  model?: string | undefined;
}

export type DescribeAgent = (agentId: string) => AgentDescription | undefined;

const PROVIDER_OF_RUNTIME: Record<string, string> = {
  'claude-code': 'anthropic',
  // A custom provider's runtime, in its old names too, names the CLI.
  claude: 'anthropic',
  anthropic: 'anthropic',
  'anthropic-api': 'anthropic',
  codex: 'openai',
  openai: 'openai',
  'openai-api': 'openai',
};

/** `gen_ai.provider.name` for a runtime and model (OpenCode's models are `provider/model`). */
export function providerName(runtime: string | undefined, model: string | undefined): string {
  if (!runtime) return 'tinyagi';
  const known = PROVIDER_OF_RUNTIME[runtime];
  if (known) return known;
  if (runtime === 'opencode' && model?.includes('/')) return model.split('/')[0]!;
  return runtime;
}

interface SettingsLike {
  agents?: Record<string, { name?: string | undefined; provider?: string | undefined; model?: string | undefined } | undefined> | undefined;
  models?: { provider?: string | undefined } | undefined;
  /** `runtime`, or `harness`: its old name (settings.json keeps it until the next write; `runtime` wins). */
  custom_providers?: Record<string, { runtime?: string | undefined; harness?: string | undefined; model?: string | undefined } | undefined> | undefined;
}

/** Describes agents from TinyAGI's settings (read on each call). */
export function agentsFromSettings(getSettings: () => unknown): DescribeAgent {
  return (agentId) => {
    const settings = getSettings() as SettingsLike | undefined;
    const agent = settings?.agents?.[agentId];
    if (!agent) return undefined;
    let runtime = agent.provider ?? settings?.models?.provider;
    let model = agent.model || undefined;
    if (runtime?.startsWith('custom:')) {
      const custom = settings?.custom_providers?.[runtime.slice('custom:'.length)];
      model ??= custom?.model || undefined;
      runtime = custom?.runtime ?? custom?.harness ?? runtime;
    }
    return { name: agent.name || agentId, runtime, model };
  };
}

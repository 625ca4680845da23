/**
 * What a span says about the agent behind a run: its name, the runtime it runs on, the model and
 * the GenAI provider (`gen_ai.provider.name`: the well-known value for the runtime's vendor, or the
 * runtime's own name, as its runtime kind says). Read from the settings at each run start, so an
 * edited agent shows at once.
 */
import { runtimeKinds } from '@tinyagi/core';
import { customRuntimeName, providerRuntime } from './core-internal.ts';

export interface AgentDescription {
  name?: string | undefined;
  /** TinyAGI's runtime (`claude-code`, `codex`, `opencode`, `anthropic-api`, `openai-api`, `mock`, `custom:<id>`, a plugin's). */
  runtime?: string | undefined;
  model?: string | undefined;
}

export type DescribeAgent = (agentId: string) => AgentDescription | undefined;

/** The registered runtime of that name: a name as it runs, or an old one (an agent's `anthropic`, a custom provider's `claude`). */
function runtimeKindOf(runtime: string): ReturnType<typeof runtimeKinds.get> {
  return runtimeKinds.get(runtime) ?? runtimeKinds.get(providerRuntime(runtime)) ?? runtimeKinds.get(customRuntimeName(runtime));
}

/**
 * `gen_ai.provider.name` for a runtime and model: what its kind says (`telemetryProvider`: its
 * vendor's well-known value, or the provider of a `provider/model` model, OpenCode's), else the
 * runtime's own name.
 */
export function providerName(runtime: string | undefined, model: string | undefined): string {
  if (!runtime) return 'tinyagi';
  const declared = runtimeKindOf(runtime)?.telemetryProvider;
  if (typeof declared === 'string') return declared;
  if (declared?.fromModel && model?.includes('/')) return model.split('/')[0]!;
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

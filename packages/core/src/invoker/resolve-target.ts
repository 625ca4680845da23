/**
 * From an agent's settings to an `InvokeTarget`: which runtime runs the agent (its descriptor and
 * implementation from the registry, runtimes/index.ts; the agent's provider or a custom provider's
 * runtime names it), with which model (the runtime's aliases resolved), limits and credentials
 * (the runtime's implementation picks them). Credentials follow the reference's mapping (settings win;
 * without them the provider's own variables are passed on from the daemon's environment, and a
 * CLI logged in interactively works through HOME). Nothing else from the environment reaches
 * the agent: see child-env.ts.
 */
import { SETTINGS_DEFAULTS } from '../config/defaults.ts';
import type { Env } from '../config/paths.ts';
import { sandboxSpecOf } from '../sandbox/agent-spec.ts';
import { cliConfigSecrets } from './cli-config-secrets.ts';
import { agentProvider, customProviderRuntime } from '../config/runtime-names.ts';
import type { AgentSettings, SessionMode, Settings } from '../config/schema.ts';
import type { SandboxSpec } from '@tinyagi/sandbox';
import { InvokeError } from './invoke-error.ts';
import { findRuntime, runtimeKinds } from './runtimes/index.ts';
import { pickEnv } from './runtime.ts';
import type { InvokeTarget } from './types.ts';
import { ownEntry } from '../config/object-path.ts';

/** `model` through the runtime's model aliases (`sonnet` → `claude-sonnet-4-6`); empty means the runtime's default. */
export function resolveModelAlias(runtime: string, model: string | undefined): string | undefined {
  if (model === undefined || model === '') return undefined;
  const aliases = runtimeKinds.get(runtime)?.modelAliases ?? {};
  return Object.hasOwn(aliases, model) ? aliases[model] : model;
}

/** `agents.<id>`, or AGENT_NOT_FOUND. */
export function agentSettingsOf(settings: Settings, agentId: string): AgentSettings {
  const agent = ownEntry(settings.agents, agentId);
  if (!agent) {
    throw new InvokeError('permanent', `Unknown agent "${agentId}".`, {
      code: 'AGENT_NOT_FOUND',
      hint: 'List agents with `tinyagi agent list`, or add one with `tinyagi agent add`.',
    });
  }
  return agent;
}

/** A target with where its variables came from: the agent's `env_passthrough` names and the runtime's credentials and config homes (which win). */
export interface AgentTarget {
  target: InvokeTarget;
  passthrough: Record<string, string>;
  credentials: Record<string, string>;
}

/**
 * The target of `agent` run as `agentId` (its own settings, or as a launch runs it: confined by its
 * callers, on its fallback account), with `sandbox` as its boundary. The launch plan and
 * `resolveInvokeTarget` both build theirs here.
 */
export function agentTarget(settings: Settings, agentId: string, agent: AgentSettings, env: Env, sandbox: SandboxSpec | undefined): AgentTarget {
  const target = runtimeTarget(settings, agentId, agent, env);
  // The agent's own env_passthrough names (cloud credentials): the runtime's credentials win.
  const passthrough = pickEnv(env, agent.env_passthrough ?? []);
  const credentials = target.env ?? {};
  const out: InvokeTarget = { ...target, ...(target.env !== undefined ? { env: { ...passthrough, ...credentials } } : {}) };
  if (agent.process === 'warm') out.warm = true;
  if (sandbox !== undefined) out.sandbox = sandbox;
  return { target: out, passthrough: target.env !== undefined ? passthrough : {}, credentials };
}

/** The agent's target as its own settings say it, for what shows or accounts for it (doctor, quotas, steering); a launch plans its own (launch-plan.ts). */
export function resolveInvokeTarget(settings: Settings, agentId: string, env: Env = process.env): InvokeTarget {
  const agent = agentSettingsOf(settings, agentId);
  // The boundary (docs/sandbox.md): the agent's setting, where its CLI's paths are.
  return agentTarget(settings, agentId, agent, env, sandboxSpecOf(settings, agentId, env, cliConfigSecrets(env))).target;
}

/** A built-in runtime's model for the agent: its own, else the runtime's `models.<block>.model`, through the aliases. */
function builtInModel(settings: Settings, agent: AgentSettings, kind: { name: string; modelsBlock: string | null }): string | undefined {
  const block = kind.modelsBlock === null ? undefined : (settings.models as Record<string, { model?: string } | undefined> | undefined)?.[kind.modelsBlock];
  return resolveModelAlias(kind.name, agent.model ?? block?.model);
}

/** Custom providers use the agent's model, else the provider's, without alias resolution. */
function customModel(agent: AgentSettings, custom: { model?: string | undefined }): string | undefined {
  return nonEmpty(agent.model ?? custom.model);
}

/**
 * The model the agent runs ('' for its runtime's default, or an agent, provider or runtime that
 * does not resolve), as a launch resolves it: recorded with each run, for a workflow's forecast.
 */
export function agentModel(settings: Settings, agentId: string): string {
  const agent = ownEntry(settings.agents, agentId);
  if (!agent) return '';
  const provider = agentProvider(settings, agent);
  if (provider.startsWith('custom:')) {
    const custom = ownEntry(settings.custom_providers, provider.slice('custom:'.length));
    return (custom && customModel(agent, custom)) ?? '';
  }
  const runtime = findRuntime(provider);
  return (runtime && builtInModel(settings, agent, runtime.kind)) ?? '';
}

/** The runtime's part of the target: runtime, provider, model, credentials and limits. */
function runtimeTarget(settings: Settings, agentId: string, agent: AgentSettings, env: Env): InvokeTarget {
  const provider = agentProvider(settings, agent);
  const limits = {
    timeoutMs: (agent.timeout_s ?? SETTINGS_DEFAULTS.agent.timeout_s) * 1000,
    inactivityMs: (agent.inactivity_s ?? SETTINGS_DEFAULTS.agent.inactivity_s) * 1000,
    startGraceMs: (agent.start_grace_s ?? SETTINGS_DEFAULTS.agent.start_grace_s) * 1000,
  };
  if (!provider.startsWith('custom:')) {
    const runtime = findRuntime(provider);
    if (!runtime) {
      throw new InvokeError('permanent', `Agent "${agentId}" has an unknown provider "${provider}".`, {
        code: 'PROVIDER_NOT_FOUND',
        hint: `Use one of ${runtimeKinds.names().join(', ')} or custom:<provider id>.`,
      });
    }
    const { kind, impl } = runtime;
    const model = builtInModel(settings, agent, kind);
    const credentials = settings.models ?? {};
    return { ...impl.target({ agentId, agent, block: runtimeBlock(agent, kind.name), model, credentials, env }), runtime: kind.name, provider, ...limits };
  }

  const providerId = provider.slice('custom:'.length);
  const custom = ownEntry(settings.custom_providers, providerId);
  if (!custom) {
    throw new InvokeError('permanent', `Agent "${agentId}" uses custom provider "${providerId}", which is not configured.`, {
      code: 'PROVIDER_NOT_FOUND',
      hint: `Add custom_providers.${providerId} (name, runtime, base_url, api_key) or change the agent's provider.`,
    });
  }
  const runtimeName = customProviderRuntime(custom);
  const runtime = runtimeName === undefined ? undefined : findRuntime(runtimeName);
  if (!runtime?.kind.customProvider || !runtime.impl.customTarget) {
    throw new InvokeError('permanent', `Custom provider ${provider} of agent "${agentId}" has no valid runtime.`, {
      code: 'PROVIDER_CONFIG_INVALID',
      hint: `Set custom_providers.${providerId}.runtime to ${customProviderRuntimes().join(', ')}.`,
    });
  }
  const baseUrl = nonEmpty(custom.base_url);
  if (runtime.kind.customProvider.needsBaseUrl && !baseUrl) {
    throw new InvokeError('permanent', `Custom provider of agent "${agentId}" (${provider}) has no base_url.`, {
      code: 'PROVIDER_CONFIG_INVALID',
      hint: `Set custom_providers.${providerId}.base_url.`,
    });
  }
  const model = customModel(agent, custom);
  const target = runtime.impl.customTarget({ agentId, agent, block: runtimeBlock(agent, runtime.kind.name), provider, model, baseUrl, apiKey: nonEmpty(custom.api_key), env });
  return { ...target, runtime: runtime.kind.name, provider, ...limits };
}

/** The runtimes a custom provider can use (their descriptor has `customProvider`). */
export function customProviderRuntimes(): string[] {
  return runtimeKinds
    .list()
    .filter((k) => k.customProvider !== null)
    .map((k) => k.name);
}

/** The agent's block of the runtime (`agents.<id>.<runtime>`, checked by settings validation against its kind's schema). */
function runtimeBlock(agent: object, runtime: string): unknown {
  return Object.hasOwn(agent, runtime) ? (agent as Record<string, unknown>)[runtime] : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

export interface SessionScope {
  channel: string;
  senderId: string;
  /** The conversation thread on platforms that have threads; DMs fall back to the sender. */
  threadKey?: string | null;
}

/** The session an incoming message continues, by the agent's session_mode. */
export function sessionKeyFor(mode: SessionMode | undefined, scope: SessionScope): string {
  switch (mode ?? SETTINGS_DEFAULTS.agent.session_mode) {
    case 'per-sender':
      return `sender:${scope.channel}:${scope.senderId}`;
    case 'per-thread':
      return `thread:${scope.channel}:${scope.threadKey || scope.senderId}`;
    default:
      return 'shared';
  }
}

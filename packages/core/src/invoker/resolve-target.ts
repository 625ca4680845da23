/**
 * From settings to an `InvokeTarget`: which adapter runs the agent, with which model (aliases
 * resolved), limits and credentials. Credentials follow the reference's mapping (settings win;
 * without them the provider's own variables are passed on from the daemon's environment, and a
 * CLI logged in interactively works through HOME). Nothing else from the environment reaches
 * the agent: see child-env.ts.
 */
import { SETTINGS_DEFAULTS } from '../config/defaults.ts';
import type { Env } from '../config/paths.ts';
import type { CustomProviderSettings, SessionMode, Settings } from '../config/schema.ts';
import { InvokeError } from './invoke-error.ts';
import type { InvokeTarget } from './types.ts';
import { ownEntry } from '../config/object-path.ts';

const MODEL_ALIASES: Record<'anthropic' | 'opencode', Record<string, string>> = {
  anthropic: { sonnet: 'claude-sonnet-4-6', opus: 'claude-opus-4-6' },
  opencode: { sonnet: 'opencode/claude-sonnet-4-6', opus: 'opencode/claude-opus-4-6' },
};

/** Claude Code's own credentials, config dir and cloud switches. */
const CLAUDE_PASSTHROUGH = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'ANTHROPIC_BASE_URL',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'CLAUDE_CODE_USE_BEDROCK',
  'CLAUDE_CODE_USE_VERTEX',
  'ANTHROPIC_VERTEX_PROJECT_ID',
  'CLOUD_ML_REGION',
  'AWS_REGION',
  'AWS_PROFILE',
];
/** What codex exec reads: CODEX_API_KEY (0.169 no longer reads OPENAI_API_KEY); OPENAI_BASE_URL becomes `-c openai_base_url` (adapters/codex.ts). */
const CODEX_PASSTHROUGH = ['OPENAI_BASE_URL', 'CODEX_API_KEY'];
const OPENCODE_PASSTHROUGH = [
  'ANTHROPIC_API_KEY',
  'OPENAI_API_KEY',
  'OPENROUTER_API_KEY',
  'GEMINI_API_KEY',
  'GOOGLE_GENERATIVE_AI_API_KEY',
  'GROQ_API_KEY',
  'XAI_API_KEY',
  'DEEPSEEK_API_KEY',
  'MISTRAL_API_KEY',
  'OPENCODE_API_KEY',
];

export function resolveModelAlias(family: 'anthropic' | 'opencode', model: string | undefined): string | undefined {
  if (model === undefined || model === '') return undefined;
  return MODEL_ALIASES[family][model] ?? model;
}

/** The provider an agent runs on: its own, else the default model provider, else anthropic. */
export function agentProvider(settings: Settings, agent: { provider?: string | undefined }): string {
  return agent.provider ?? settings.models?.provider ?? 'anthropic';
}

export function resolveInvokeTarget(settings: Settings, agentId: string, env: Env = process.env): InvokeTarget {
  const agent = ownEntry(settings.agents, agentId);
  if (!agent) {
    throw new InvokeError('permanent', `Unknown agent "${agentId}".`, {
      code: 'AGENT_NOT_FOUND',
      hint: 'List agents with `tinyagi agent list`, or add one with `tinyagi agent add`.',
    });
  }
  const provider = agentProvider(settings, agent);
  const limits = {
    timeoutMs: (agent.timeout_s ?? SETTINGS_DEFAULTS.agent.timeout_s) * 1000,
    inactivityMs: (agent.inactivity_s ?? SETTINGS_DEFAULTS.agent.inactivity_s) * 1000,
  };
  const models = settings.models;
  // The agent's own env_passthrough names (cloud credentials): the provider's credentials below win.
  const passthrough = pick(env, agent.env_passthrough ?? []);
  const claudeMode = agent.permission_mode !== undefined ? { permissionMode: agent.permission_mode } : {};

  switch (provider) {
    case 'anthropic':
      return {
        adapter: 'claude',
        provider,
        model: resolveModelAlias('anthropic', agent.model ?? models?.anthropic?.model),
        env: { ...passthrough, ...pick(env, ['CLAUDE_CONFIG_DIR']), ...claudeCredentials(models?.anthropic, env) },
        ...claudeMode,
        ...limits,
      };
    case 'openai': {
      const creds = models?.openai;
      return {
        adapter: 'codex',
        provider,
        model: nonEmpty(agent.model ?? creds?.model),
        env: { ...passthrough, ...pick(env, ['CODEX_HOME', 'OPENAI_BASE_URL']), ...(creds?.api_key ? { CODEX_API_KEY: creds.api_key } : codexEnv(env)) },
        ...limits,
      };
    }
    case 'opencode':
      return {
        adapter: 'opencode',
        provider,
        model: resolveModelAlias('opencode', agent.model ?? models?.opencode?.model),
        env: {
          ...passthrough,
          ...pick(env, OPENCODE_PASSTHROUGH),
          ...(models?.anthropic?.api_key ? { ANTHROPIC_API_KEY: models.anthropic.api_key } : {}),
          ...(models?.openai?.api_key ? { OPENAI_API_KEY: models.openai.api_key } : {}),
        },
        ...limits,
      };
    case 'mock':
      return { adapter: 'mock', provider, model: nonEmpty(agent.model), mock: agent.mock ?? {}, ...limits };
  }

  if (!provider.startsWith('custom:')) {
    throw new InvokeError('permanent', `Agent "${agentId}" has an unknown provider "${provider}".`, {
      code: 'PROVIDER_NOT_FOUND',
      hint: 'Use anthropic, openai, opencode, mock or custom:<provider id>.',
    });
  }
  const providerId = provider.slice('custom:'.length);
  const custom = ownEntry(settings.custom_providers, providerId);
  if (!custom) {
    throw new InvokeError('permanent', `Agent "${agentId}" uses custom provider "${providerId}", which is not configured.`, {
      code: 'PROVIDER_NOT_FOUND',
      hint: `Add custom_providers.${providerId} (name, harness, base_url, api_key) or change the agent's provider.`,
    });
  }
  const target = customTarget(agentId, provider, custom, nonEmpty(agent.model ?? custom.model), env);
  return {
    ...target,
    ...(target.env !== undefined ? { env: { ...passthrough, ...target.env } } : {}),
    ...(target.adapter === 'claude' ? claudeMode : {}),
    ...limits,
  };
}

/** Custom providers use the agent's model, else the provider's, without alias resolution. */
function customTarget(agentId: string, provider: string, custom: CustomProviderSettings, model: string | undefined, env: Env): InvokeTarget {
  const baseUrl = nonEmpty(custom.base_url);
  const apiKey = nonEmpty(custom.api_key);
  switch (custom.harness) {
    case 'claude':
      return {
        adapter: 'claude',
        provider,
        model,
        env: {
          ...pick(env, ['CLAUDE_CONFIG_DIR']),
          ...(baseUrl ? { ANTHROPIC_BASE_URL: baseUrl } : {}),
          ...(apiKey ? { ANTHROPIC_AUTH_TOKEN: apiKey } : {}),
        },
      };
    case 'codex':
      // Codex reads a provider's URL from its config only (adapters/codex.ts); without a URL the key is OpenAI's.
      return {
        adapter: 'codex',
        provider,
        model,
        env: { ...pick(env, ['CODEX_HOME']), ...(apiKey && !baseUrl ? { CODEX_API_KEY: apiKey } : {}) },
        ...(baseUrl ? { baseUrl, ...(apiKey ? { apiKey } : {}) } : {}),
      };
    case 'opencode':
    case 'openai':
    case 'anthropic':
      if (!baseUrl) {
        throw new InvokeError('permanent', `Custom provider of agent "${agentId}" (${provider}) has no base_url.`, {
          code: 'PROVIDER_CONFIG_INVALID',
          hint: `Set custom_providers.${provider.slice('custom:'.length)}.base_url.`,
        });
      }
      // opencode: the provider goes into its generated config (adapters/opencode.ts).
      return { adapter: custom.harness, provider, model, baseUrl, ...(apiKey ? { apiKey } : {}), ...(custom.harness === 'opencode' ? { env: {} } : {}) };
    default:
      throw new InvokeError('permanent', `Custom provider ${provider} of agent "${agentId}" has no valid harness.`, {
        code: 'PROVIDER_CONFIG_INVALID',
        hint: 'Set its harness to claude, codex, opencode, openai or anthropic.',
      });
  }
}

/** An oauth token wins over an api key; with neither, Claude Code's own variables pass through. */
function claudeCredentials(creds: { api_key?: string; oauth_token?: string } | undefined, env: Env): Record<string, string> {
  if (creds?.oauth_token) return { CLAUDE_CODE_OAUTH_TOKEN: creds.oauth_token };
  if (creds?.api_key) return { ANTHROPIC_API_KEY: creds.api_key };
  return pick(env, CLAUDE_PASSTHROUGH);
}

/** The daemon's own codex variables; an OPENAI_API_KEY there is the key a user means for codex too. */
function codexEnv(env: Env): Record<string, string> {
  const picked = pick(env, CODEX_PASSTHROUGH);
  const openaiKey = pick(env, ['OPENAI_API_KEY']).OPENAI_API_KEY;
  return picked.CODEX_API_KEY === undefined && openaiKey !== undefined ? { ...picked, CODEX_API_KEY: openaiKey } : picked;
}

function pick(env: Env, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
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

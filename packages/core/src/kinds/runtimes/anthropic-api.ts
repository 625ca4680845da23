/** The Anthropic messages API runtime's descriptor (docs/kinds.md, "Runtimes"); its implementation is invoker/runtimes/anthropic-http.ts. */
import { defineRuntimeKind } from '@tinyagi/client/contract';

export const anthropicApiKind = defineRuntimeKind({
  name: 'anthropic-api',
  aliases: [],
  title: 'Anthropic API',
  description: "An Anthropic-compatible messages API over HTTP (api.anthropic.com, or a custom provider's base_url); no tools but spawn_agent.",
  command: null,
  installHint: null,
  passthroughEnv: ['ANTHROPIC_API_KEY'],
  capabilities: { keepsSession: false, steersMidTurn: true, pauses: true, asksApproval: false, readsAgentsMd: false, usesTools: false },
  instructionFiles: [],
  modelAliases: { sonnet: 'claude-sonnet-4-6', opus: 'claude-opus-4-6' },
  modelsBlock: 'anthropic',
  customProvider: { via: 'base_url as the API root, api_key as x-api-key', needsBaseUrl: true },
  retry: 'history',
  steerPoint: 'its next model call (between tool rounds)',
  telemetryProvider: 'anthropic',
});

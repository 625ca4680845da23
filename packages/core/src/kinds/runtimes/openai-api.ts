/** The OpenAI chat completions runtime's descriptor (docs/kinds.md, "Runtimes"); its implementation is invoker/runtimes/openai-http.ts. */
import { defineRuntimeKind } from '@tinyagi/client/contract';

export const openaiApiKind = defineRuntimeKind({
  name: 'openai-api',
  aliases: [],
  title: 'OpenAI-compatible API',
  description: "An OpenAI-compatible chat completions API over HTTP (api.openai.com, or a custom provider's base_url: llama.cpp, Ollama, vLLM); no tools but spawn_agent.",
  command: null,
  installHint: null,
  passthroughEnv: ['OPENAI_API_KEY'],
  capabilities: { keepsSession: false, steersMidTurn: true, pauses: true, asksApproval: false, readsAgentsMd: false, usesTools: false },
  instructionFiles: [],
  modelAliases: {},
  modelsBlock: 'openai',
  customProvider: { via: 'base_url as the API root (…/v1), api_key as a bearer token', needsBaseUrl: true },
  retry: 'history',
  steerPoint: 'its next model call (between tool rounds)',
  telemetryProvider: 'openai',
});

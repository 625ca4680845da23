/** The mock runtime's descriptor (docs/kinds.md, "Runtimes"); its implementation is invoker/runtimes/mock.ts. */
import { defineRuntimeKind, MockScriptSchema } from '@tinyagi/client/contract';

export const mockKind = defineRuntimeKind({
  name: 'mock',
  aliases: [],
  title: 'Mock',
  description: "The built-in scripted runtime (the agent's `mock` setting): demos, tests and installs without an agent CLI. It never calls a model.",
  command: null,
  installHint: null,
  passthroughEnv: [],
  capabilities: { keepsSession: false, steersMidTurn: true, pauses: true, asksApproval: false, readsAgentsMd: false, usesTools: false },
  instructionFiles: [],
  modelAliases: {},
  modelsBlock: null,
  customProvider: null,
  retry: 'history',
  steerPoint: 'its next step',
  // `agents.<id>.mock`: the script (its replies, their progress, actions and failures).
  settings: MockScriptSchema,
});

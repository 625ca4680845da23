/** The acp runtime's descriptor (docs/kinds.md, "Runtimes"); its implementation is invoker/runtimes/acp.ts. */
import { AcpAgentSettingsSchema, defineRuntimeKind } from '@tinyagi/client/contract';

export const ACP_INSTALL_HINT = 'Set the agent\'s acp.command to an ACP agent on PATH (e.g. "gemini" with args ["--acp"]) or an absolute path.';

export const acpKind = defineRuntimeKind({
  name: 'acp',
  aliases: [],
  title: 'ACP agent',
  description:
    'Any Agent Client Protocol agent on stdio (Gemini CLI, GitHub Copilot CLI, Claude Code or Codex through their ACP adapters), started from the agent\'s acp.command and acp.args; made for process: "warm".',
  command: null,
  installHint: ACP_INSTALL_HINT,
  passthroughEnv: [],
  capabilities: { keepsSession: true, steersMidTurn: false, pauses: true, asksApproval: false, readsAgentsMd: false, usesTools: true, staysWarm: true },
  instructionFiles: [],
  modelAliases: {},
  modelsBlock: null,
  customProvider: null,
  retry: 'fresh-session',
  steerPoint: 'before a tool call the agent asks permission for',
  // `agents.<id>.acp`: the ACP agent to start (command, args, reads_agents_md).
  settings: AcpAgentSettingsSchema,
  // Gemini CLI's home (the adapters of Claude Code and Codex use those runtimes' homes).
  home: { paths: ['.gemini'], variables: [{ variable: 'GEMINI_CLI_HOME' }], projectConfig: ['.gemini/**'] },
});

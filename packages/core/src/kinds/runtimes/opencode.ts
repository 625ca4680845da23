/** OpenCode's descriptor (docs/kinds.md, "Runtimes"); its implementation is invoker/runtimes/opencode.ts. */
import { defineRuntimeKind } from '@tinyagi/client/contract';

/** The model vendors' keys OpenCode reads from its environment. */
export const OPENCODE_PASSTHROUGH = [
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

export const opencodeKind = defineRuntimeKind({
  name: 'opencode',
  aliases: [],
  title: 'OpenCode',
  description: 'The OpenCode CLI (`opencode run`), with any model provider it knows (models.anthropic and models.openai keys are passed on).',
  command: 'opencode',
  installHint: 'npm install -g opencode-ai',
  passthroughEnv: OPENCODE_PASSTHROUGH,
  capabilities: { keepsSession: true, steersMidTurn: false, pauses: false, asksApproval: false, readsAgentsMd: true, usesTools: true, staysWarm: true },
  instructionFiles: [],
  modelAliases: { sonnet: 'opencode/claude-sonnet-4-6', opus: 'opencode/claude-opus-4-6' },
  modelsBlock: 'opencode',
  customProvider: { via: 'a provider.tinyagi entry (@ai-sdk/openai-compatible) in its generated config; the model is tinyagi/<model>', needsBaseUrl: true },
  retry: 'fresh-session',
  // opencode 1.18.33 `run --session`: `Error: Session not found`. Warm OpenCode and ACP agents: the
  // driver starts a new session when `session/load` fails (acp-warm.ts).
  noSuchSession: /Session not found/i,
  steerPoint: null,
  // The real-CLI suite's pin (packages/real-cli-test/clis/package.json); features are the first version each ran on.
  verifiedVersions: {
    pinned: '1.18.33',
    min: '1.18.33',
    below: '1.19.0',
    versionArgs: ['--version'],
    features: {
      // `opencode run --format json`, `--session` (spawn per message)
      'run-json': '1.18.33',
      // `opencode acp`: ACP session/new|load|prompt|cancel (warm sessions)
      acp: '1.18.33',
    },
    install: 'npm install -g opencode-ai@1.18.33',
  },
  // Its models are `<provider>/<model>` (`anthropic/claude-sonnet-4-6`).
  telemetryProvider: { fromModel: true },
  home: {
    paths: ['.config/opencode', '.local/share/opencode', '.local/state/opencode'],
    xdg: [
      { variable: 'XDG_CONFIG_HOME', folder: 'opencode' },
      { variable: 'XDG_DATA_HOME', folder: 'opencode' },
      { variable: 'XDG_STATE_HOME', folder: 'opencode' },
    ],
    projectConfig: ['opencode.json', 'opencode.jsonc', '.opencode/**'],
  },
});

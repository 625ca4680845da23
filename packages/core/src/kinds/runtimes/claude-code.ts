/** Claude Code's descriptor (docs/kinds.md, "Runtimes"); its implementation is invoker/runtimes/claude.ts. */
import { defineRuntimeKind } from '@tinyagi/client/contract';

/** Claude Code's own credentials, config dir and cloud switches. */
export const CLAUDE_PASSTHROUGH = [
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

export const claudeCodeKind = defineRuntimeKind({
  name: 'claude-code',
  aliases: [],
  title: 'Claude Code',
  description: "Anthropic's Claude Code CLI (`claude -p`), logged in with `claude` or given models.anthropic's key or OAuth token.",
  command: 'claude',
  installHint: 'npm install -g @anthropic-ai/claude-code',
  passthroughEnv: CLAUDE_PASSTHROUGH,
  capabilities: { keepsSession: true, steersMidTurn: false, pauses: false, asksApproval: true, readsAgentsMd: true, usesTools: true, staysWarm: true },
  instructionFiles: ['CLAUDE.md'],
  skillsFolder: '.claude/skills',
  modelAliases: { sonnet: 'claude-sonnet-4-6', opus: 'claude-opus-4-6' },
  modelsBlock: 'anthropic',
  customProvider: { via: "ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN in the CLI's environment", needsBaseUrl: false },
  retry: 'resume-at',
  // Claude Code 2.1.330, per message and warm: `No conversation found with session ID: <id>`.
  noSuchSession: /No conversation found with session ID/,
  steerPoint: null,
  // The real-CLI suite's pin (packages/real-cli-test/clis/package.json); features are the first version each ran on.
  verifiedVersions: {
    pinned: '2.1.330',
    min: '2.1.330',
    below: '2.2.0',
    versionArgs: ['--version'],
    features: {
      // `-p --output-format stream-json --verbose`, `--resume`, `--dangerously-skip-permissions` (spawn per message)
      'stream-json': '2.1.330',
      // one warm process: `--input-format stream-json`, control requests on stdin (warm sessions)
      'stream-json-input': '2.1.330',
      // `rate_limit_event` in the stream (quota-aware scheduling)
      'rate-limit-event': '2.1.330',
      // `--permission-prompt-tool stdio` (can_use_tool requests on the pipes)
      'permission-prompt-stdio': '2.1.330',
    },
    install: 'npm install -g @anthropic-ai/claude-code@2.1.330',
  },
  telemetryProvider: 'anthropic',
  home: {
    paths: ['.claude', '.claude.json'],
    variables: [{ variable: 'CLAUDE_CONFIG_DIR', folder: '.claude' }],
    credentialFiles: ['.claude/.credentials.json', '.claude.json'],
    projectConfig: ['.claude/**', '.mcp.json'],
  },
});

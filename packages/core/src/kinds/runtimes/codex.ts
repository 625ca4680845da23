/** Codex's descriptor (docs/kinds.md, "Runtimes"); its implementation is invoker/runtimes/codex.ts. */
import { defineRuntimeKind } from '@tinyagi/client/contract';

/** What codex exec reads: CODEX_API_KEY (0.169 no longer reads OPENAI_API_KEY); OPENAI_BASE_URL becomes `-c openai_base_url` (codex.ts). */
export const CODEX_PASSTHROUGH = ['OPENAI_BASE_URL', 'CODEX_API_KEY'];

export const codexKind = defineRuntimeKind({
  name: 'codex',
  aliases: [],
  title: 'Codex',
  description: "OpenAI's Codex CLI (`codex exec`), logged in with `codex login` or given models.openai's key.",
  command: 'codex',
  installHint: 'npm install -g @openai/codex',
  passthroughEnv: [...CODEX_PASSTHROUGH, 'CODEX_HOME', 'OPENAI_API_KEY'],
  capabilities: { keepsSession: true, steersMidTurn: false, pauses: false, asksApproval: false, readsAgentsMd: true, usesTools: true, staysWarm: true },
  instructionFiles: [],
  modelAliases: {},
  modelsBlock: 'openai',
  customProvider: { via: 'a model_providers.tinyagi entry given with -c (its key in TINYAGI_CODEX_API_KEY)', needsBaseUrl: false },
  retry: 'fresh-session',
  // codex-cli 0.169.0: `codex exec resume` says `Error: thread/resume: thread/resume failed: no
  // rollout found for thread id <id> (code -32600)` above a backtrace; the app-server's
  // `thread/resume` answers the same words as its JSON-RPC error.
  noSuchSession: /no rollout found for (?:thread|conversation) id/i,
  steerPoint: null,
  // The real-CLI suite's pin (packages/real-cli-test/clis/package.json); features are the first version each ran on.
  verifiedVersions: {
    pinned: '0.169.0',
    min: '0.169.0',
    below: '0.170.0',
    versionArgs: ['--version'],
    features: {
      // `codex exec --json`, `codex exec resume` (spawn per message)
      'exec-json': '0.169.0',
      // `codex app-server` JSON-RPC: thread/start|resume, turn/start|steer|interrupt (warm sessions)
      'app-server': '0.169.0',
      // rate-limit notifications of the app-server (quota-aware scheduling)
      'rate-limit-notifications': '0.169.0',
    },
    install: 'npm install -g @openai/codex@0.169.0',
  },
  telemetryProvider: 'openai',
  home: {
    paths: ['.codex'],
    variables: [{ variable: 'CODEX_HOME', folder: '.codex' }],
    credentialFiles: ['.codex/auth.json'],
    projectConfig: ['.codex/**'],
  },
});

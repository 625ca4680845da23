/**
 * One real daemon per agent CLI, its agents on a provider pointed at the stand-in model API
 * (@tinyagi/test-kit's model server), every other host refused by the deny-all proxy that the
 * daemon's HTTP(S)_PROXY names (and so every CLI's: the proxy variables are part of an agent's
 * base environment). The CLIs are the pinned versions of ../clis/package-lock.json (installed by
 * this package's test script, not by `pnpm install`), put on the daemon's PATH (alone: no other binary of node_modules/.bin).
 *
 * Tests register a rule per unique marker word: a request whose user entries carry the marker is
 * answered by that rule, every other one with a plain reply (OpenCode's title-generation call
 * gets a title). Each call records the usage the stand-in served, so a test compares it with
 * what the daemon recorded for the run.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ConversationTree, QueueMessageView, RunNode } from '@tinyagi/client';
import {
  connectedTo,
  createDaemon,
  freePort,
  occurrences,
  startDenyProxy,
  startModelServer,
  tempDir,
  waitFor,
  type DenyProxy,
  type ModelAction,
  type ModelApi,
  type ModelCall,
  type ModelRequest,
  type ModelServer,
  type ModelUsage,
  type CliBuild,
  type TestDaemon,
} from '@tinyagi/test-kit';
import { checkShapes, recordingBinDir } from './protocol-shapes.ts';

export type CliName = 'claude' | 'codex' | 'opencode';

/** The binaries of the pinned packages (package.json `bin`), by the name the daemon looks up. */
const BINARIES: Record<CliName, { pkg: string; bin: string }> = {
  claude: { pkg: '@anthropic-ai/claude-code', bin: 'claude' },
  codex: { pkg: '@openai/codex', bin: 'codex' },
  opencode: { pkg: 'opencode-ai', bin: 'opencode' },
};

/**
 * The ACP agents of the pinned packages (issue 48 §4), linked beside the CLIs for agents with
 * `provider: "acp"` (acp-agents.test.ts): claude-agent-acp runs the Claude Agent SDK's own Claude
 * Code, codex-acp its own Codex.
 */
export const ACP_BINARIES = {
  'claude-agent-acp': { pkg: '@agentclientprotocol/claude-agent-acp', bin: 'claude-agent-acp' },
  'codex-acp': { pkg: '@zed-industries/codex-acp', bin: 'codex-acp' },
  /** Gemini CLI's own ACP mode (`gemini --acp`; acp-gemini.test.ts). */
  gemini: { pkg: '@google/gemini-cli', bin: 'gemini' },
} as const;

/** The key of the custom provider: every model call must carry it to the stand-in. */
export const PROVIDER_KEY = 'sk-standin-0123456789';
/** The model the Claude Code agents run (Claude Code prices it: $3 / $15 per million input / output tokens). */
const CLAUDE_MODEL = 'claude-sonnet-4-6';
const OPENAI_MODEL = 'gpt-5.1';
/** How long a turn may try the vendor's host with no model call at the stand-in before it fails (item 2). */
const LEAK_GRACE_MS = 20_000;
/** Claude Code's prices for CLAUDE_MODEL, in dollars per million tokens. */
const PRICE_PER_MTOK = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };

export interface CliCase {
  name: CliName;
  /** The API the CLI speaks to the stand-in. */
  api: ModelApi;
  /**
   * The public model API hosts a request of the configured provider (carrying its key) would go
   * to if the CLI ignored the provider's base URL. The CLIs' other traffic (Codex: github.com,
   * chatgpt.com; OpenCode: models.opencode.ai, registry.npmjs.org) is refused and listed, not failed.
   */
  vendorHosts: string[];
  /**
   * Whether the CLI prices the calls itself: Claude Code knows its models' prices; Codex reports
   * tokens only, and OpenCode prices only models its config gives a cost (a custom provider's do
   * not have one), so what they served costs nothing recorded.
   */
  reportsCost: boolean;
  /**
   * gamma's silence limit (its `inactivity_s`), which the hang case waits out once: longer than
   * the CLI is ever silent mid-turn on a loaded machine. OpenCode's `run` prints nothing while a
   * tool runs (the model's tool call to the tool's end took 2.7 s for an `echo` at a load average
   * of 4, and more than 5 s at 8); the others print the tool call before running it.
   */
  silenceS: number;
}

export const CLI_CASES: Record<CliName, CliCase> = {
  claude: { name: 'claude', api: 'anthropic', vendorHosts: ['api.anthropic.com'], reportsCost: true, silenceS: 5 },
  codex: { name: 'codex', api: 'responses', vendorHosts: ['api.openai.com'], reportsCost: false, silenceS: 5 },
  opencode: { name: 'opencode', api: 'chat', vendorHosts: ['api.openai.com', 'api.anthropic.com', 'opencode.ai'], reportsCost: false, silenceS: 20 },
};

/** Answers the requests of one marker; `calls` are the earlier calls of the same marker. */
export type Rule = (request: ModelRequest, calls: ModelCall[]) => ModelAction;

export interface Rig {
  cli: CliCase;
  daemon: TestDaemon;
  model: ModelServer;
  proxy: DenyProxy;
  /** Markers of the agents' instructions (AGENTS.md and system_prompt): each must reach the model once. */
  instructionMarkers: string[];
  /** Codex's home (CODEX_HOME, the user's config.toml and sessions) of a Codex rig: see `codexHomeDir`. */
  codexHome?: string;
  rule(marker: string, rule: Rule): void;
  send(input: SendInput): Promise<Outcome>;
  cleanup(): Promise<void>;
}

export interface SendInput {
  message: string;
  agent?: string;
  team?: string;
  /** Sessions are per sender: a test's own sender starts its own CLI session. */
  senderId: string;
  timeoutMs?: number;
  /** Runs beside the wait, once the message is accepted (e.g. to lift an injected failure after the first attempt failed). */
  whileRunning?: (messageId: string) => Promise<void>;
}

export interface Outcome {
  tree: ConversationTree;
  /** The replies delivered to the sender (outbox), in order. */
  replies: string[];
  /** The stand-in's calls made while this conversation ran. */
  calls: ModelCall[];
  /** Every run of the tree, depth first. */
  runs: RunNode[];
  /** The message's queue record after the conversation ended (attempts, last error). */
  message: QueueMessageView;
}

/** The marker of a request: in its latest user entry that carries one, the one written last. */
function markerOf(request: ModelRequest, markers: string[]): string | undefined {
  for (const entry of request.entries.filter((e) => e.role === 'user').toReversed()) {
    let best: { marker: string; at: number } | undefined;
    for (const marker of markers) {
      const at = entry.text.lastIndexOf(marker);
      if (at >= 0 && (best === undefined || at > best.at)) best = { marker, at };
    }
    if (best) return best.marker;
  }
  return undefined;
}

/** The title call OpenCode makes for a new session (its own small request, not the agent's turn). */
export function isTitleCall(request: ModelRequest): boolean {
  return request.entries.some((e) => e.role === 'system' && e.text.includes('You are a title generator')) || isClaudeTitleCall(request);
}

/** The title call the Claude Agent SDK's Claude Code makes for a new session (claude-agent-acp): it wants JSON `{"title": …}`. */
export function isClaudeTitleCall(request: ModelRequest): boolean {
  return request.entries.some((e) => e.role === 'system' && e.text.includes('Return JSON with a single "title" field'));
}

/** The dollars a call costs at Claude Code's own prices for CLAUDE_MODEL. */
export function priceOf(usage: ModelUsage): number {
  return (
    (usage.inputTokens * PRICE_PER_MTOK.input +
      usage.outputTokens * PRICE_PER_MTOK.output +
      (usage.cacheReadTokens ?? 0) * PRICE_PER_MTOK.cacheRead +
      (usage.cacheWriteTokens ?? 0) * PRICE_PER_MTOK.cacheWrite) /
    1_000_000
  );
}

/**
 * The tokens TinyAGI should record for what was served: every prompt token the model processed
 * (Anthropic reports cache reads and writes beside input_tokens; OpenAI's input counts them).
 */
export function tokensOf(api: ModelApi, usage: ModelUsage): { input: number; output: number } {
  const cache = api === 'anthropic' ? (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0) : 0;
  return { input: usage.inputTokens + cache, output: usage.outputTokens };
}

export function flattenRuns(nodes: RunNode[]): RunNode[] {
  return nodes.flatMap((n) => [n, ...flattenRuns(n.children)]);
}

/**
 * Links the pinned binaries into a directory of their own: the daemon's PATH gets these and nothing
 * else of node_modules. They are installed in ../clis by the suite's own step (scripts/install-clis.mjs).
 */
function cliBinDir(): string {
  const dir = tempDir('tinyagi-real-clis-');
  const require = createRequire(new URL('../clis/package.json', import.meta.url));
  for (const [name, { pkg, bin }] of [...Object.entries(BINARIES), ...Object.entries(ACP_BINARIES)]) {
    const manifestPath = require.resolve(`${pkg}/package.json`);
    const manifest = require(manifestPath) as { bin: Record<string, string> };
    const target = manifest.bin[bin];
    if (!target) throw new Error(`${pkg} has no bin "${bin}"`);
    symlinkSync(join(dirname(manifestPath), target), join(dir, name));
  }
  return dir;
}

export interface RigOptions {
  /** Settings added to every agent (e.g. `{ process: 'warm' }` for the live-session suites). */
  agentSettings?: Record<string, unknown>;
  /** Variables added to the daemon's environment (an agent receives those its env_passthrough names); a function gets the stand-in's URL. */
  daemonEnv?: Record<string, string> | ((modelUrl: string) => Record<string, string>);
  /** Writes the user's own files into the daemon's HOME before it starts (an ACP agent's config). */
  prepareHome?: (home: string, modelUrl: string) => void;
  /** Top-level settings added to the daemon's (e.g. a `telemetry` block). */
  settings?: Record<string, unknown>;
  /** Agents besides alpha, beta and gamma: their settings over the common ones (e.g. `permission_mode: 'ask'`). */
  agents?: Record<string, Record<string, unknown>>;
  /**
   * A Codex rig's CODEX_HOME: `'cache'` (the default) a folder of its own under ~/.cache
   * (`codexHomeDir`); `'home'` none, so Codex reads the user's `~/.codex` (HOME is the rig's root),
   * as a user who never set CODEX_HOME has it.
   */
  codexHome?: 'cache' | 'home';
  /** The daemon: `'built'` (the default, what users run) or `'source'` (packages/cli/src, no build needed). */
  build?: CliBuild;
  /** Other CLIs on the same daemon: a custom provider `standin-<name>` each, on the same stand-in (the rig's own CLI stays `standin`). */
  otherClis?: CliName[];
}

/**
 * A Codex home outside /tmp, as a user's ~/.codex is. Under the temp dir Codex refuses to create
 * its helper aliases ("Refusing to create helper binaries under temporary dir"), among them
 * `codex-linux-sandbox` on its PATH, and a command it ran in its own sandbox failed now and then
 * with `bwrap: execvp codex-linux-sandbox: No such file or directory`. Removed
 * by the rig's cleanup.
 */
export function codexHomeDir(): string {
  const cacheDir = join(homedir(), '.cache');
  mkdirSync(cacheDir, { recursive: true });
  return mkdtempSync(join(cacheDir, 'tinyagi-real-codex-'));
}

export async function startRig(cli: CliCase, options: RigOptions = {}): Promise<Rig> {
  const rules = new Map<string, Rule>();
  // The daemon's model proxy holds the connections to the stand-in (the agents' provider keys go
  // through it, docs/sandbox.md): a `kill` kills the CLI connected to the proxy, not the daemon.
  const modelProxyPort = await freePort();
  const model = await startModelServer({
    killTarget: () => connectedTo(modelProxyPort),
    respond: (request, calls) => {
      if (isTitleCall(request)) return { reply: isClaudeTitleCall(request) ? '{"title":"A title"}' : 'A title', usage: { inputTokens: 211, outputTokens: 5 } };
      const marker = markerOf(request, [...rules.keys()]);
      if (marker === undefined) return { reply: 'ok' };
      return rules.get(marker)!(
        request,
        calls.filter((c) => !isTitleCall(c.request) && markerOf(c.request, [marker]) === marker),
      );
    },
  });
  const proxy = await startDenyProxy();
  const instructionMarkers = [`AGENTS-MD-${cli.name}-7f3a`, `ROLE-${cli.name}-91c2`];
  const agent = (id: string): Record<string, unknown> => ({
    ...agentProvider(),
    session_mode: 'per-sender',
    system_prompt: `You are ${id}. ${instructionMarkers[1]}: answer briefly.`,
    // Claude Code retries a failed request 10 times over minutes by itself; the daemon's retry is what is tested.
    env_passthrough: ['CLAUDE_CODE_MAX_RETRIES'],
    ...options.agentSettings,
  });
  const binDir = cliBinDir();
  const recordDir = tempDir('tinyagi-real-shapes-');
  const codexHome = cli.name === 'codex' && (options.codexHome ?? 'cache') === 'cache' ? codexHomeDir() : undefined;
  const daemon = await createDaemon({
    prefix: `tinyagi-real-${cli.name}-`,
    ...(options.build ? { build: options.build } : {}),
    // The CLIs' recording wrappers first, then the pinned binaries themselves (the ACP agents).
    path: [recordingBinDir(binDir, recordDir), binDir, '/usr/local/bin', '/usr/bin', '/bin'],
    env: {
      ...proxy.env(),
      CLAUDE_CODE_MAX_RETRIES: '0',
      TINYAGI_MODEL_PROXY_PORT: String(modelProxyPort),
      ...(codexHome ? { CODEX_HOME: codexHome } : {}),
      ...(typeof options.daemonEnv === 'function' ? options.daemonEnv(model.url) : options.daemonEnv),
    },
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: agentProvider().provider },
      ...customProviders(cli, model.url, options.otherClis ?? []),
      // gamma's hung CLI is killed after `silenceS` silent seconds once it has said something (the hang
      // case waits that out once); its start keeps the default grace of 180 s, so a CLI slow to start
      // on a loaded machine (OpenCode: 14 s before its first event at a load average of 4) is not taken
      // for a hung one. The others keep the default limits.
      agents: {
        alpha: agent('alpha'),
        beta: agent('beta'),
        gamma: { ...agent('gamma'), inactivity_s: cli.silenceS },
        ...Object.fromEntries(Object.entries(options.agents ?? {}).map(([id, extra]) => [id, { ...agent(id), ...extra }])),
      },
      teams: { duo: { agents: ['alpha', 'beta'], leader_agent: 'alpha' } },
      queue: { concurrency: 1 },
      channels: { enabled: [] },
      ...options.settings,
    }),
  });
  options.prepareHome?.(daemon.root, model.url);
  const workspace = join(daemon.root, 'workspace');
  for (const id of ['alpha', 'beta', 'gamma', ...Object.keys(options.agents ?? {})]) {
    // The user's own instructions for the agent: TinyAGI composes them into the system prompt, and the CLI may read the file itself.
    mkdirSync(join(workspace, id), { recursive: true });
    writeFileSync(join(workspace, id, 'AGENTS.md'), `# ${id}\n\n${instructionMarkers[0]}: keep answers short.\n`);
  }
  try {
    await daemon.start();
  } catch (err) {
    await Promise.all([model.close(), proxy.close()]);
    if (codexHome) rmSync(codexHome, { recursive: true, force: true });
    throw err;
  }

  const rig: Rig = {
    cli,
    daemon,
    model,
    proxy,
    instructionMarkers,
    ...(codexHome ? { codexHome } : {}),
    rule: (marker, rule) => void rules.set(marker, rule),
    async send(input) {
      const first = model.calls.length;
      const sent = await daemon.api.sendMessage({
        body: {
          message: input.message,
          ...(input.agent ? { agent: input.agent } : {}),
          ...(input.team ? { team: input.team } : {}),
          sender: 'Tester',
          senderId: input.senderId,
        },
      });
      const beside = Promise.resolve(input.whileRunning?.(sent.messageId));
      const refusedBefore = proxy.refused.length;
      let tree: ConversationTree;
      try {
        tree = await waitFor(
          async () => {
            // A CLI that ignores the base URL retries the vendor's host for a minute or more: fail once it has
            // tried it for LEAK_GRACE_MS without a model call reaching the stand-in (other leaks, such as
            // telemetry beside working model calls, fail the suite's last test instead).
            const leak = proxy.refused.slice(refusedBefore).find((r) => cli.vendorHosts.includes(r.host));
            if (leak && model.calls.length === first && Date.now() - leak.at > LEAK_GRACE_MS)
              throw new Error(`item 2: ${cli.name} sent a request of the configured provider to ${leak.host}:${leak.port} instead of the stand-in at ${model.url}`);
            const t = await daemon.api.getConversation({ params: { id: sent.conversationId } });
            return t.conversation.status === 'active' ? undefined : t;
          },
          input.timeoutMs ?? 180_000,
          `conversation ${sent.conversationId} (${input.message.slice(0, 40)}) to end`,
          100,
        );
      } catch (err) {
        // The daemon runs one message at a time: leave nothing running into the next test.
        beside.catch(() => undefined);
        await daemon.api.cancelConversation({ params: { id: sent.conversationId } }).catch(() => undefined);
        throw new Error(`${(err as Error).message}\n${daemon.logs()}`);
      }
      await beside;
      const detail = await daemon.api.getMessage({ params: { id: sent.messageId } });
      return { tree, replies: detail.replies.map((r) => r.text), calls: model.calls.slice(first), runs: flattenRuns(tree.roots), message: detail.message };
    },
    async cleanup() {
      await daemon.cleanup();
      await Promise.all([model.close(), proxy.close()]);
      if (codexHome) rmSync(codexHome, { recursive: true, force: true });
      await checkShapes(binDir, recordDir);
    },
  };
  return rig;
}

/** Every agent is on the custom provider `standin`, whose harness is the CLI under test. */
function agentProvider(): { provider: string } {
  return { provider: 'custom:standin' };
}

function customProviders(cli: CliCase, url: string, others: CliName[]): Record<string, unknown> {
  return { custom_providers: { standin: standinProvider(cli.name, url), ...Object.fromEntries(others.map((name) => [`standin-${name}`, standinProvider(name, url)])) } };
}

/** A custom provider on the stand-in whose harness is the CLI `name`. */
function standinProvider(name: CliName, url: string): Record<string, unknown> {
  return {
    claude: { name: 'Stand-in', harness: 'claude', base_url: url, api_key: PROVIDER_KEY, model: CLAUDE_MODEL },
    codex: { name: 'Stand-in', harness: 'codex', base_url: `${url}/v1`, api_key: PROVIDER_KEY, model: OPENAI_MODEL },
    opencode: { name: 'Stand-in', harness: 'opencode', base_url: `${url}/v1`, api_key: PROVIDER_KEY, model: OPENAI_MODEL },
  }[name];
}

/** Each instruction marker occurs exactly once in every agent turn request. */
export function instructionCounts(rig: Rig, calls: ModelCall[]): Array<{ marker: string; counts: number[] }> {
  const turns = calls.filter((c) => !isTitleCall(c.request));
  return rig.instructionMarkers.map((marker) => ({ marker, counts: turns.map((c) => occurrences(c.request, marker)) }));
}

/**
 * No provider key the daemon knows reaches a sandboxed agent (docs/sandbox.md#the-model-proxy),
 * whatever its CLI and provider: each CLI (test-kit's fakes, which log the environment and
 * arguments they were started with) runs inside the real boundary, per message and warm, with
 * real-looking keys in the daemon's environment, its settings and the user's own Codex and
 * OpenCode configs, through the model proxy as the daemon routes it. The CLI's environment, its
 * arguments, the config file the daemon wrote for it, its private home and its workspace are
 * searched for every key. A sandboxed OpenCode the proxy cannot stand in for fails at once.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FAKE_BIN_DIR } from '@tinyagi/test-kit';
import { boundaryEnforced, MODEL_PORT, ModelProxy } from '@tinyagi/sandbox';
import { invokeAgent } from '../src/invoker/invoke.ts';
import { InvokeError } from '../src/invoker/invoke-error.ts';
import { privateTempPath, privateTempRoot } from '../src/invoker/private-temp.ts';
import { readLaunchFacts } from '../src/invoker/launch-facts.ts';
import { planLaunch } from '../src/invoker/launch-plan.ts';
import { findRuntime } from '../src/invoker/runtimes/index.ts';
import { invokeThroughModelProxy } from '../src/invoker/through-model-proxy.ts';
import type { InvokeRequest, InvokeResult } from '../src/invoker/types.ts';
import { invokeWarm } from '../src/invoker/warm/invoke-warm.ts';
import { SessionPool } from '../src/invoker/warm/pool.ts';
import { sandboxHost } from '../src/sandbox/host.ts';
import { fakeLogEntries } from './fixtures/fake-cli-log.ts';

/** Every key and token the daemon knows, by where it is kept. */
const KEYS = {
  ANTHROPIC_API_KEY: 'sk-ant-api03-envkey-0a1b2c3d',
  ANTHROPIC_AUTH_TOKEN: 'sk-ant-authtoken-env-4e5f6a',
  CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-env-7b8c9d',
  OPENAI_API_KEY: 'sk-proj-openai-env-1f2e3d',
  CODEX_API_KEY: 'sk-proj-codex-env-4c5b6a',
  OPENROUTER_API_KEY: 'sk-or-v1-openrouter-env-9a8b',
  GW_KEY: 'gw-own-provider-secret-7766',
  OTHER_GW_KEY: 'gw-other-provider-secret-5544',
  MINE_KEY: 'mine-opencode-secret-3322',
};
const SETTINGS_KEYS = {
  anthropic: 'sk-ant-api03-settings-aa11bb',
  anthropicOauth: 'sk-ant-oat01-settings-cc22dd',
  openai: 'sk-proj-settings-ee33ff',
  custom: 'sk-custom-provider-0099',
};
const LITERAL_KEY = 'sk-literal-in-opencode-json-8877';
const ALL = [...Object.values(KEYS), ...Object.values(SETTINGS_KEYS), LITERAL_KEY];

let root: string;
let home: string;
let tinyHome: string;
let proxy: ModelProxy;
let pool: SessionPool;
const savedEnv = { ...process.env };

const upstream = 'http://127.0.0.1:9/v1';
const settings = {
  workspace: { path: 'ws' },
  models: { anthropic: { api_key: SETTINGS_KEYS.anthropic, oauth_token: SETTINGS_KEYS.anthropicOauth }, openai: { api_key: SETTINGS_KEYS.openai } },
  custom_providers: {
    cx: { name: 'cx', runtime: 'codex', base_url: upstream, api_key: SETTINGS_KEYS.custom },
    oc: { name: 'oc', runtime: 'opencode', base_url: upstream, api_key: SETTINGS_KEYS.custom },
    cc: { name: 'cc', runtime: 'claude-code', base_url: upstream, api_key: SETTINGS_KEYS.custom },
  },
  agents: {} as Record<string, Record<string, unknown>>,
};

beforeAll(async () => {
  // In ~/.cache, not /tmp (the sandbox's /tmp is its own).
  mkdirSync(join(homedir(), '.cache'), { recursive: true });
  root = mkdtempSync(join(homedir(), '.cache', 'tinyagi-wh-'));
  home = join(root, 'home');
  tinyHome = join(home, '.tinyagi');
  mkdirSync(join(home, '.codex'), { recursive: true });
  mkdirSync(join(home, '.config', 'opencode'), { recursive: true });
  writeFileSync(
    join(home, '.codex', 'config.toml'),
    `model_provider = "gw"\nmodel = "gw-model"\n[model_providers.gw]\nbase_url = "${upstream}"\nenv_key = "GW_KEY"\n[model_providers.other]\nbase_url = "${upstream}"\nenv_key = "OTHER_GW_KEY"\n`,
  );
  const provider = (apiKey: string) => ({ npm: '@ai-sdk/openai-compatible', options: { baseURL: upstream, apiKey } });
  writeFileSync(join(home, '.config', 'opencode', 'opencode.json'), JSON.stringify({ provider: { mine: provider('{env:MINE_KEY}'), lit: provider(LITERAL_KEY), unset: provider('{env:UNSET_KEY}') } }));
  // codex-acp by its name (acp-agents.ts knows it by the command), the fake ACP agent behind it.
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'empty-codex-home'));
  symlinkSync(join(FAKE_BIN_DIR, 'fake-acp'), join(root, 'bin', 'codex-acp'));
  Object.assign(process.env, { HOME: home, TINYAGI_HOME: tinyHome, PATH: `${FAKE_BIN_DIR}:${savedEnv.PATH}`, ...KEYS });
  delete process.env.CODEX_HOME;
  delete process.env.XDG_CONFIG_HOME;
  proxy = await ModelProxy.start({ dir: join(tinyHome, 'run', 'sandbox') });
  pool = new SessionPool({ memoryShare: 1 });
});

afterAll(async () => {
  await pool?.closeAll();
  await host.close();
  await proxy?.stop();
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
  rmSync(root, { recursive: true, force: true });
});

/** The node's sandbox host, as the daemon's agent call gives it to every request. */
const host = sandboxHost();

/** As the daemon calls an agent: on its sandbox host, through the model proxy, warm in the pool or one process per message. */
function invoke(req: InvokeRequest): Promise<InvokeResult> {
  const inner = (r: InvokeRequest): Promise<InvokeResult> => (r.target.warm ? invokeWarm(findRuntime(r.target.runtime)!.impl.warm!, r, pool) : invokeAgent(r));
  return invokeThroughModelProxy(inner, { proxy })({ ...req, sandboxHost: host });
}

/** Every file under `dir` (the agent's private home, its workspace), read. */
function filesUnder(dir: string): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  const walk = (path: string): void => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    else if (stat?.isFile()) out.push({ path, text: readFileSync(path, 'utf8') });
  };
  walk(dir);
  return out;
}

/** Runs the agent sandboxed with `agent` as its settings; returns what its CLI logged and every key found anywhere it could see. */
async function runSandboxed(id: string, agent: Record<string, unknown>, extraEnv: Record<string, string> = {}) {
  settings.agents[id] = { sandbox: 'on', ...agent };
  const env = { ...process.env, ...extraEnv };
  const workspace = join(home, 'ws', id);
  mkdirSync(workspace, { recursive: true });
  // Planned as the orchestrator's turns plan it, on this node (which runs a model proxy).
  const facts = readLaunchFacts(env, workspace, host);
  const plan = planLaunch({
    settings: settings as never,
    agentId: id,
    env,
    cwd: workspace,
    hold: facts.hold,
    configSecrets: facts.configSecrets,
    node: { boundary: facts.boundary, modelProxy: true },
  });
  const log = join(workspace, 'fake.log');
  const req: InvokeRequest = {
    agentId: id,
    target: plan.target,
    modelRoute: plan.modelRoute,
    prompt: 'hello',
    systemPrompt: 'You are a test agent.',
    cwd: plan.cwd,
    env: { FAKE_LOG: log },
    session: { key: 'shared' },
  };
  const outcome = await invoke(req).then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  const entries = fakeLogEntries<{ env: Record<string, string>; argv?: string[] }>(log);
  const seen = [{ path: 'the CLI log (environment, arguments, config file)', text: JSON.stringify(entries) }, ...filesUnder(join(tinyHome, 'agent-homes', id)), ...filesUnder(workspace)];
  const leaks = seen.flatMap(({ path, text }) => ALL.filter((key) => text.includes(key)).map((key) => `${key} in ${path}`));
  return { outcome, entries, leaks, privateHome: join(tinyHome, 'agent-homes', id) };
}

/** A case's agent settings, and the daemon's variables it adds (a CODEX_HOME without the user's config). */
const CASES: Array<[string, Record<string, unknown>, Record<string, string>?]> = [
  ['claude-code on its key', { provider: 'anthropic' }],
  ["codex on OpenAI's key", { provider: 'openai' }, { CODEX_HOME: 'EMPTY' }],
  ['claude-code on a custom provider', { provider: 'custom:cc' }],
  ['codex on its own config.toml provider', { provider: 'openai' }],
  ['codex on its own config.toml provider, warm', { provider: 'openai', process: 'warm' }],
  ['codex on a custom provider', { provider: 'custom:cx' }],
  ['opencode on its own opencode.json provider', { provider: 'opencode', model: 'mine/m1' }],
  ['opencode on a literal key of its opencode.json', { provider: 'opencode', model: 'lit/m1' }],
  ['opencode on a custom provider', { provider: 'custom:oc' }],
  ['acp: codex-acp on OpenAI key its env_passthrough names', { provider: 'acp', acp: { command: 'CODEX_ACP' }, env_passthrough: ['OPENAI_API_KEY', 'GW_KEY'] }],
  ['acp: another agent', { provider: 'acp', acp: { command: join(FAKE_BIN_DIR, 'fake-acp') }, env_passthrough: ['ANTHROPIC_API_KEY'] }],
];

it('no key of the daemon is in a sandboxed CLI: not in its environment, arguments, config file, private home or workspace, for every CLI and provider shape', async () => {
  if (!boundaryEnforced({ mode: 'on', tinyHome, workspaceRoot: join(home, 'ws'), memoryMb: 512 }, host.machineCheck())) return;
  const problems: string[] = [];
  for (const [index, [name, agent, extraEnv]] of CASES.entries()) {
    const acp = agent.acp as { command: string } | undefined;
    const settingsOf = acp?.command === 'CODEX_ACP' ? { ...agent, acp: { command: join(root, 'bin', 'codex-acp') } } : agent;
    const run = await runSandboxed(`a${index}`, settingsOf, extraEnv?.CODEX_HOME ? { CODEX_HOME: join(root, 'empty-codex-home') } : {});
    // The CLI started, inside (its HOME the private one), and asked the proxy, not the provider.
    if (run.entries.length === 0) problems.push(`${name}: the CLI did not start (${String((run.outcome as { error?: unknown }).error)})`);
    else if (run.entries[0]!.env.HOME !== run.privateHome) problems.push(`${name}: not inside the boundary (HOME ${run.entries[0]!.env.HOME})`);
    // Each CLI the proxy serves is pointed at it (its port inside every sandbox), in its environment, arguments or config.
    else if (name !== 'acp: another agent' && !JSON.stringify(run.entries).includes(`127.0.0.1:${MODEL_PORT}`)) problems.push(`${name}: not pointed at the model proxy`);
    problems.push(...run.leaks.map((leak) => `${name}: ${leak}`));
  }
  expect(problems).toEqual([]);
}, 120_000);

it("a sandboxed OpenCode the proxy cannot stand in for fails at once, naming the fix, and never starts: a built-in provider, its own provider's unset {env:VAR}", async () => {
  if (!boundaryEnforced({ mode: 'on', tinyHome, workspaceRoot: join(home, 'ws'), memoryMb: 512 }, host.machineCheck())) return;
  for (const [id, agent, fix] of [
    ['builtin', { provider: 'opencode', model: 'anthropic/claude-sonnet-4-6' }, 'tinyagi provider add'],
    ['unset', { provider: 'opencode', model: 'unset/m1' }, 'set UNSET_KEY'],
    ['unset-warm', { provider: 'opencode', model: 'unset/m1', process: 'warm' }, 'set UNSET_KEY'],
  ] as const) {
    const run = await runSandboxed(id, agent);
    const error = (run.outcome as { error?: unknown }).error;
    expect(error, id).toBeInstanceOf(InvokeError);
    expect(error, id).toMatchObject({ kind: 'permanent', code: 'PROVIDER_CONFIG_INVALID', message: expect.stringContaining(fix) });
    expect(run.entries, id).toEqual([]);
  }
});

it('the boundary itself: a variable holding a withheld value is left out; an argument or a given private file holding one refuses the start', async () => {
  const spec = { mode: 'on' as const, tinyHome, workspaceRoot: join(home, 'ws'), memoryMb: 512, withheld: [KEYS.GW_KEY, 'short'] };
  if (!boundaryEnforced(spec, host.machineCheck())) return;
  const b = host.boundaryFor('door', spec, join(home, 'ws'))!.boundary!;
  mkdirSync(join(home, 'ws', 'door'), { recursive: true });
  const env = { PATH: process.env.PATH!, SOME_NAME: `prefix-${KEYS.GW_KEY}`, SHORT: 'short' };
  const wrapped = await b.wrap({ command: 'true', args: [], env });
  wrapped.release();
  // Held inside another value too; a value too short to be a key is not looked for.
  expect(wrapped.env.SOME_NAME).toBeUndefined();
  expect(wrapped.env.SHORT).toBe('short');
  await expect(b.wrap({ command: 'true', args: ['-c', `key=${KEYS.GW_KEY}`], env: { PATH: env.PATH } })).rejects.toThrow(/command line holds one of the daemon's provider keys/);
  const file = privateTempPath('withheld-config.json');
  writeFileSync(file, JSON.stringify({ apiKey: KEYS.GW_KEY }), { mode: 0o600 });
  await expect(b.wrap({ command: 'true', args: ['--config', file], env: { PATH: env.PATH }, privateDir: privateTempRoot() })).rejects.toThrow(/withheld-config.json given to the CLI holds one/);
});

/**
 * A Codex agent with no TinyAGI provider runs codex with the user's own config
 * ($CODEX_HOME/config.toml, default ~/.codex/config.toml), which may select a provider of the
 * user's (`model_provider`, `[model_providers.<id>]` with `env_key`, `env_http_headers`):
 * - the variables the config's providers read reach codex, from the daemon's environment (an
 *   OPENAI_API_KEY / CODEX_API_KEY from models.openai.api_key when settings have one), never
 *   TinyAGI's own variables or a channel's token, nothing else;
 * - a selected provider whose key variable is missing fails the run at once (permanent, not
 *   retried), naming the variable, the provider and the file, before codex starts, per message
 *   and warm; doctor's status says the same;
 * - codex's own "Missing environment variable" refusal is permanent too.
 * Real config files in a temp HOME; test-kit's fake codex (which refuses a turn without its
 * provider's key as codex 0.169 does) as a real subprocess.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeCli } from '@tinyagi/test-kit';
import { fakeLogEntries, invokeError } from './fixtures/fake-cli-log.ts';
import { invokeAgent, resolveInvokeTarget, type InvokeRequest, type InvokeTarget } from '../src/invoker/index.ts';
import { codexMissingVariableFailure, codexProviderStatus } from '../src/invoker/runtimes/codex-config.ts';
import { codexWarmDriver } from '../src/invoker/runtimes/codex-warm.ts';
import { InvokeError } from '../src/invoker/invoke-error.ts';
import { invokeWarm } from '../src/invoker/warm/invoke-warm.ts';
import { SessionPool } from '../src/invoker/warm/pool.ts';
import type { Settings } from '../src/config/schema.ts';

interface LogEntry {
  mode?: string;
  event?: string;
  prompt?: string;
  env: Record<string, string>;
}

let root: string;
let workspace: string;
let logFile: string;
let configFile: string;
let pool: SessionPool;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tinyagi-codex-own-'));
  workspace = mkdtempSync(join(root, 'ws-'));
  logFile = join(root, 'fake.log');
  configFile = join(root, '.codex', 'config.toml');
  pool = new SessionPool({ memoryShare: 1 });
});
afterEach(async () => {
  await pool.closeAll();
  rmSync(root, { recursive: true, force: true });
});

function writeConfig(text: string, file = configFile): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
}

const GATEWAY_CONFIG = [
  'model = "gpt-5.1"',
  'model_provider = "gateway"',
  '',
  '[model_providers.gateway]',
  'name = "My gateway"',
  'base_url = "http://127.0.0.1:9/v1"',
  'env_key = "GATEWAY_KEY"',
  'env_key_instructions = "Create a key at the gateway\'s console."',
  'env_http_headers = { "X-Team" = "GATEWAY_TEAM" }',
  '',
  '[model_providers.spare]',
  'base_url = "http://127.0.0.1:9/v1"',
  'env_key = "SPARE_KEY"',
  '',
  '# names the API token and a channel token: an agent can edit this file',
  '[model_providers.sneaky]',
  'base_url = "http://127.0.0.1:9/v1"',
  'env_key = "TINYAGI_API_TOKEN"',
  'env_http_headers = { "X-Bot" = "TELEGRAM_BOT_TOKEN" }',
].join('\n');

const codexAgent: Settings = { agents: { coder: { provider: 'codex' } } };

/** The daemon's environment: the user's HOME, the gateway's variables, and secrets that must stay. */
function daemonEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOME: root,
    GATEWAY_KEY: 'gw-key-1234',
    GATEWAY_TEAM: 'team-7',
    SPARE_KEY: 'spare-5678',
    TINYAGI_API_TOKEN: 'api-token-secret',
    TELEGRAM_BOT_TOKEN: 'telegram-secret',
    ANTHROPIC_API_KEY: 'sk-ant-unrelated',
    ...extra,
  };
}

function request(target: InvokeTarget, prompt: string, extra: Partial<InvokeRequest> = {}): InvokeRequest {
  return {
    agentId: 'coder',
    target: { ...target, command: fakeCli('codex'), killGraceMs: 2_000 },
    prompt,
    systemPrompt: 'You are the coder.',
    cwd: workspace,
    // HOME as the daemon's own: codex reads the user's config there.
    env: { HOME: root, FAKE_LOG: logFile, FAKE_STATE_DIR: root, TINYAGI_RUN_ID: 'run_1' },
    ...extra,
  };
}

const log = (): LogEntry[] => fakeLogEntries<LogEntry>(logFile);

describe("the variables of the user's own Codex config", () => {
  it("reach codex from the daemon's environment: every provider's env_key and env_http_headers, never TinyAGI's own or a channel token, nothing else", () => {
    writeConfig(GATEWAY_CONFIG);
    const target = resolveInvokeTarget(codexAgent, 'coder', daemonEnv({ OPENAI_API_KEY: 'sk-openai-env' }));
    expect(target.env).toEqual({ GATEWAY_KEY: 'gw-key-1234', GATEWAY_TEAM: 'team-7', SPARE_KEY: 'spare-5678', CODEX_API_KEY: 'sk-openai-env' });
  });

  it("an env_key of OPENAI_API_KEY (the documented way for Azure, OpenRouter, a local server) gets the daemon's, or models.openai.api_key when set", () => {
    writeConfig(GATEWAY_CONFIG.replace('env_key = "GATEWAY_KEY"', 'env_key = "OPENAI_API_KEY"'));
    const fromEnv = resolveInvokeTarget(codexAgent, 'coder', daemonEnv({ OPENAI_API_KEY: 'sk-openai-env' }));
    expect(fromEnv.env).toMatchObject({ OPENAI_API_KEY: 'sk-openai-env', CODEX_API_KEY: 'sk-openai-env' });
    const settings: Settings = { ...codexAgent, models: { openai: { api_key: 'sk-openai-settings' } } };
    expect(resolveInvokeTarget(settings, 'coder', daemonEnv({ OPENAI_API_KEY: 'sk-openai-env' })).env).toMatchObject({ OPENAI_API_KEY: 'sk-openai-settings' });
    expect(resolveInvokeTarget(settings, 'coder', daemonEnv()).env).toMatchObject({ OPENAI_API_KEY: 'sk-openai-settings' });
  });

  it("are read where codex reads them (CODEX_HOME over HOME's .codex); without a config nothing is added", () => {
    const elsewhere = join(root, 'codex-home');
    writeConfig(GATEWAY_CONFIG, join(elsewhere, 'config.toml'));
    expect(resolveInvokeTarget(codexAgent, 'coder', daemonEnv()).env).toEqual({});
    expect(resolveInvokeTarget(codexAgent, 'coder', daemonEnv({ CODEX_HOME: elsewhere })).env).toEqual({
      CODEX_HOME: elsewhere,
      GATEWAY_KEY: 'gw-key-1234',
      GATEWAY_TEAM: 'team-7',
      SPARE_KEY: 'spare-5678',
    });
  });

  it("reach the codex process: the gateway's key is in its environment, the secrets are not", async () => {
    writeConfig(GATEWAY_CONFIG);
    const target = resolveInvokeTarget(codexAgent, 'coder', daemonEnv());
    const result = await invokeAgent(request(target, 'FAKE:reply=through my gateway'));
    expect(result.text).toBe('through my gateway');
    const env = log()[0]!.env;
    expect(env).toMatchObject({ GATEWAY_KEY: 'gw-key-1234', GATEWAY_TEAM: 'team-7' });
    for (const name of ['TINYAGI_API_TOKEN', 'TELEGRAM_BOT_TOKEN', 'ANTHROPIC_API_KEY']) expect(env[name], name).toBeUndefined();
  });
});

describe("a missing key of the user's selected provider", () => {
  const expected = (variable = 'GATEWAY_KEY') =>
    `Codex's own config ${configFile} selects the provider "gateway" (My gateway), which reads its API key from ${variable}, and ${variable} is not set in the daemon's environment.`;

  it('fails the run at once, permanent, naming the variable, the provider and the file; codex is not started', async () => {
    writeConfig(GATEWAY_CONFIG);
    const target = resolveInvokeTarget(codexAgent, 'coder', daemonEnv({ GATEWAY_KEY: '' }));
    const err = await invokeError(request(target, 'hello'));
    expect(err.kind).toBe('permanent');
    expect(err.code).toBe('PROVIDER_CONFIG_INVALID');
    expect(err.message).toContain(`codex (agent coder): ${expected()}`);
    expect(err.message).toContain('restart the daemon');
    expect(err.message).toContain("the provider's instructions: Create a key at the gateway's console.");
    expect(log()).toEqual([]);
  });

  it('says models.openai.api_key is the other way for OPENAI_API_KEY, and that a TinyAGI variable never reaches an agent', async () => {
    writeConfig(GATEWAY_CONFIG.replace('env_key = "GATEWAY_KEY"', 'env_key = "OPENAI_API_KEY"'));
    const openai = await invokeError(request(resolveInvokeTarget(codexAgent, 'coder', daemonEnv()), 'hello'));
    expect(openai.message).toContain(expected('OPENAI_API_KEY'));
    expect(openai.message).toContain('or set models.openai.api_key in settings.json');

    writeConfig(GATEWAY_CONFIG.replace('model_provider = "gateway"', 'model_provider = "sneaky"'));
    const withheld = await invokeError(request(resolveInvokeTarget(codexAgent, 'coder', daemonEnv()), 'hello'));
    expect(withheld.kind).toBe('permanent');
    expect(withheld.message).toContain('reads its API key from TINYAGI_API_TOKEN: TINYAGI_API_TOKEN is a TinyAGI variable and never reaches an agent.');
    expect(log()).toEqual([]);
  });

  it('fails a warm session at its start the same way, before an app-server is started', async () => {
    writeConfig(GATEWAY_CONFIG);
    const target = resolveInvokeTarget(codexAgent, 'coder', daemonEnv({ GATEWAY_KEY: '' }));
    const err = await invokeWarm(codexWarmDriver, request({ ...target, warm: true }, 'hello'), pool).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvokeError);
    expect((err as InvokeError).kind).toBe('permanent');
    expect((err as InvokeError).message).toContain(`codex (agent coder): ${expected()}`);
    expect(log()).toEqual([]);
  });

  it("is doctor's failure, in the same words; a present key is ok; a TinyAGI provider or a built-in one is not doctor's question here", () => {
    writeConfig(GATEWAY_CONFIG);
    expect(codexProviderStatus(resolveInvokeTarget(codexAgent, 'coder', daemonEnv({ GATEWAY_KEY: '' })), daemonEnv({ GATEWAY_KEY: '' }))).toEqual({
      status: 'fail',
      message: expect.stringContaining(expected()),
    });
    expect(codexProviderStatus(resolveInvokeTarget(codexAgent, 'coder', daemonEnv()), daemonEnv())).toEqual({
      status: 'ok',
      message: `Codex runs with the provider "gateway" (My gateway) of its own config ${configFile}, its key from GATEWAY_KEY`,
    });
    const custom: Settings = { custom_providers: { local: { name: 'Local', runtime: 'codex', base_url: 'http://127.0.0.1:9/v1', api_key: 'k' } }, agents: { coder: { provider: 'custom:local' } } };
    expect(codexProviderStatus(resolveInvokeTarget(custom, 'coder', daemonEnv()), daemonEnv())).toBeUndefined();
    writeConfig('model_provider = "ollama"\n');
    expect(codexProviderStatus(resolveInvokeTarget(codexAgent, 'coder', daemonEnv()), daemonEnv())).toBeUndefined();
    writeConfig('model_provider = "gateway\n');
    expect(codexProviderStatus(resolveInvokeTarget(codexAgent, 'coder', daemonEnv()), daemonEnv())).toEqual({
      status: 'warn',
      message: `Codex's own config ${configFile} is not valid TOML (line 1: unterminated string): codex will refuse to start.`,
    });
  });

  it("does not stop an agent on a TinyAGI provider: codex runs that one (given with -c), whatever the user's config selects", async () => {
    writeConfig(GATEWAY_CONFIG);
    const custom: Settings = { custom_providers: { local: { name: 'Local', runtime: 'codex', base_url: 'http://127.0.0.1:9/v1', api_key: 'k' } }, agents: { coder: { provider: 'custom:local' } } };
    const target = resolveInvokeTarget(custom, 'coder', daemonEnv({ GATEWAY_KEY: '' }));
    expect((await invokeAgent(request(target, 'FAKE:reply=on the TinyAGI provider'))).text).toBe('on the TinyAGI provider');
  });
});

describe("codex's own refusal for a missing variable", () => {
  // Codex 0.169's words (checked with the real CLI); here a provider key that is empty in the
  // agent's environment makes the fake codex refuse the turn as the real one does.
  const blankKey = (warm: boolean): InvokeRequest => {
    const target: InvokeTarget = { runtime: 'codex', provider: 'custom:local', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'k', ...(warm ? { warm: true } : {}) };
    const req = request(target, 'hello');
    return { ...req, env: { ...req.env, TINYAGI_CODEX_API_KEY: '' } };
  };

  it('is permanent, per message and warm, naming the variable', async () => {
    const spawned = await invokeError(blankKey(false));
    const warm = await invokeWarm(codexWarmDriver, blankKey(true), pool).then(
      () => undefined,
      (e: unknown) => e as InvokeError,
    );
    for (const err of [spawned, warm]) {
      expect(err?.kind).toBe('permanent');
      expect(err?.message).toContain('codex needs the environment variable TINYAGI_CODEX_API_KEY');
    }
    // The fake codex ran both times: this is its refusal, not the check before the start.
    expect(log().filter((e) => e.prompt !== undefined)).toHaveLength(2);
  });

  it("names the provider when it is the user's selected one; other text is not this failure", () => {
    writeConfig(GATEWAY_CONFIG);
    const env = { HOME: root };
    const err = codexMissingVariableFailure('codex (agent coder)', 'Missing environment variable: `GATEWAY_KEY`. Create a key.', env);
    expect(err?.kind).toBe('permanent');
    expect(err?.message).toContain(`selects the provider "gateway" (My gateway), which reads its API key from GATEWAY_KEY`);
    expect(codexMissingVariableFailure('codex (agent coder)', 'stream disconnected before completion', env)).toBeUndefined();
  });
});

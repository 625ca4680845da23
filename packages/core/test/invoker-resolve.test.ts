/**
 * From settings to invoke targets (runtimes, aliases, limits, credentials), session keys, the
 * runtime registry, and reading reset hints out of provider messages.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Settings } from '../src/config/schema.ts';
import { parseRetryAfterHeader, parseRetryAfterText } from '../src/invoker/invoke-error.ts';
import { defineRuntimeKind } from '@tinyagi/client/contract';
import { invokeAgent, InvokeError, resolveInvokeTarget, sessionKeyFor, type InvokeFn, type InvokeRequest } from '../src/invoker/index.ts';
import { registerRuntime } from '../src/invoker/runtimes/index.ts';

/** A plugin's runtime: a descriptor and an implementation that only invokes. */
function registerPlugin(name: string, invoke: InvokeFn, staysWarm?: boolean): () => void {
  const capabilities = { keepsSession: false, steersMidTurn: false, pauses: false, asksApproval: false, readsAgentsMd: false, usesTools: false, ...(staysWarm !== undefined ? { staysWarm } : {}) };
  const kind = defineRuntimeKind({
    name,
    aliases: [],
    title: name,
    description: 'A test plugin',
    command: null,
    installHint: null,
    passthroughEnv: [],
    capabilities,
    instructionFiles: [],
    modelAliases: {},
    modelsBlock: null,
    customProvider: null,
    retry: 'history',
    steerPoint: null,
  });
  return registerRuntime(kind, { invoke, target: ({ model }) => ({ model }) });
}

const DAEMON_ENV = {
  PATH: '/usr/bin',
  ANTHROPIC_API_KEY: 'sk-ant-from-env',
  OPENAI_API_KEY: 'sk-openai-from-env',
  DISCORD_BOT_TOKEN: 'discord-secret',
  CLAUDE_CONFIG_DIR: '/home/me/.claude-work',
};

function catchInvokeError(fn: () => unknown): InvokeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvokeError) return err;
    throw err;
  }
  throw new Error('expected an InvokeError');
}

describe('resolveInvokeTarget', () => {
  it('maps the old provider anthropic to claude-code (the Claude Code CLI) with aliases, limits and the oauth token only', () => {
    const settings: Settings = {
      models: { anthropic: { oauth_token: 'oauth-tok', api_key: 'sk-ant-settings' } },
      agents: { coder: { provider: 'anthropic', model: 'opus', timeout_s: 90, inactivity_s: 30, start_grace_s: 240 } },
    };
    expect(resolveInvokeTarget(settings, 'coder', DAEMON_ENV)).toEqual({
      runtime: 'claude-code',
      provider: 'claude-code',
      model: 'claude-opus-4-6',
      env: { CLAUDE_CONFIG_DIR: '/home/me/.claude-work', CLAUDE_CODE_OAUTH_TOKEN: 'oauth-tok' },
      timeoutMs: 90_000,
      inactivityMs: 30_000,
      startGraceMs: 240_000,
    });
  });

  it('uses the api key when there is no oauth token, and the daemon env when settings have neither', () => {
    const withKey: Settings = { models: { anthropic: { api_key: 'sk-ant-settings' } }, agents: { a: { provider: 'anthropic' } } };
    expect(resolveInvokeTarget(withKey, 'a', DAEMON_ENV).env).toEqual({
      CLAUDE_CONFIG_DIR: '/home/me/.claude-work',
      ANTHROPIC_API_KEY: 'sk-ant-settings',
    });

    const bare: Settings = { agents: { a: { model: 'sonnet' } } };
    const target = resolveInvokeTarget(bare, 'a', DAEMON_ENV);
    expect(target).toMatchObject({ runtime: 'claude-code', provider: 'claude-code', model: 'claude-sonnet-4-6', timeoutMs: 1_800_000, inactivityMs: 180_000 });
    expect(target.env).toEqual({ CLAUDE_CONFIG_DIR: '/home/me/.claude-work', ANTHROPIC_API_KEY: 'sk-ant-from-env' });
  });

  it('maps openai to codex, opencode to opencode (with its aliases) and mock to mock', () => {
    const settings: Settings = {
      models: { openai: { api_key: 'sk-openai-settings', model: 'gpt-5-codex' } },
      agents: {
        o: { provider: 'openai' },
        c: { provider: 'opencode', model: 'sonnet' },
        m: { provider: 'mock', mock: { reply: 'hi' } },
      },
    };
    // codex exec 0.169 reads CODEX_API_KEY, not OPENAI_API_KEY.
    expect(resolveInvokeTarget(settings, 'o', DAEMON_ENV)).toMatchObject({
      runtime: 'codex',
      model: 'gpt-5-codex',
      env: { CODEX_API_KEY: 'sk-openai-settings' },
    });
    expect(resolveInvokeTarget({ agents: { o: { provider: 'openai' } } }, 'o', { ...DAEMON_ENV, OPENAI_BASE_URL: 'https://gw.example/v1' }).env).toEqual({
      CODEX_API_KEY: 'sk-openai-from-env',
      OPENAI_BASE_URL: 'https://gw.example/v1',
    });
    const opencode = resolveInvokeTarget(settings, 'c', DAEMON_ENV);
    expect(opencode).toMatchObject({ runtime: 'opencode', model: 'opencode/claude-sonnet-4-6' });
    expect(opencode.env).toEqual({ ANTHROPIC_API_KEY: 'sk-ant-from-env', OPENAI_API_KEY: 'sk-openai-settings' });
    expect(resolveInvokeTarget(settings, 'm', DAEMON_ENV)).toMatchObject({ runtime: 'mock', mock: { reply: 'hi' } });
  });

  it('never passes unrelated daemon secrets to an agent', () => {
    const settings: Settings = { agents: { a: { provider: 'anthropic' }, b: { provider: 'openai' }, c: { provider: 'opencode' } } };
    for (const id of ['a', 'b', 'c']) {
      expect(Object.values(resolveInvokeTarget(settings, id, DAEMON_ENV).env ?? {})).not.toContain('discord-secret');
    }
  });

  it('maps custom providers by runtime (also under its old key harness, and the old names claude, openai, anthropic), with the provider model and no aliases', () => {
    const settings: Settings = {
      custom_providers: {
        proxy: { name: 'Proxy', runtime: 'claude', base_url: 'https://proxy.example/anthropic', api_key: 'proxy-key', model: 'opus' },
        azure: { name: 'Azure', runtime: 'codex', base_url: 'https://azure.example/v1', api_key: 'az-key' },
        llama: { name: 'llama.cpp', harness: 'openai', base_url: 'http://127.0.0.1:8080/v1', api_key: 'none', model: 'qwen' },
        gateway: { name: 'GW', harness: 'anthropic', base_url: 'https://gw.example', api_key: 'gw-key' },
      },
      agents: {
        p: { provider: 'custom:proxy' },
        z: { provider: 'custom:azure', model: 'gpt-5' },
        l: { provider: 'custom:llama' },
        g: { provider: 'custom:gateway', model: 'claude-x' },
      },
    };
    const proxy = resolveInvokeTarget(settings, 'p', DAEMON_ENV);
    expect(proxy).toMatchObject({ runtime: 'claude-code', provider: 'custom:proxy', model: 'opus' });
    // The daemon's own ANTHROPIC_API_KEY must not reach a CLI pointed at another endpoint.
    expect(proxy.env).toEqual({
      CLAUDE_CONFIG_DIR: '/home/me/.claude-work',
      ANTHROPIC_BASE_URL: 'https://proxy.example/anthropic',
      ANTHROPIC_AUTH_TOKEN: 'proxy-key',
    });
    // Codex reads a provider's URL from its config only: the runtime makes it a model_providers entry.
    const azure = resolveInvokeTarget(settings, 'z', DAEMON_ENV);
    expect(azure).toMatchObject({ runtime: 'codex', model: 'gpt-5', baseUrl: 'https://azure.example/v1', apiKey: 'az-key' });
    expect(azure.env).toEqual({});
    expect(resolveInvokeTarget(settings, 'l', DAEMON_ENV)).toMatchObject({
      runtime: 'openai-api',
      model: 'qwen',
      baseUrl: 'http://127.0.0.1:8080/v1',
      apiKey: 'none',
    });
    expect(resolveInvokeTarget(settings, 'g', DAEMON_ENV)).toMatchObject({ runtime: 'anthropic-api', baseUrl: 'https://gw.example', apiKey: 'gw-key' });
  });

  it('takes the new runtime names, in agents and in custom providers alike', () => {
    const settings: Settings = {
      models: { provider: 'codex', anthropic: { api_key: 'sk-ant-settings' } },
      custom_providers: { gw: { runtime: 'anthropic-api', base_url: 'https://gw.example', api_key: 'gw-key' }, cc: { runtime: 'claude-code', base_url: 'https://proxy.example' } },
      agents: {
        c: { provider: 'claude-code', model: 'opus' },
        d: {},
        h: { provider: 'anthropic-api', model: 'sonnet' },
        o: { provider: 'openai-api', model: 'gpt-5' },
        g: { provider: 'custom:gw', model: 'claude-x' },
        p: { provider: 'custom:cc' },
      },
    };
    expect(resolveInvokeTarget(settings, 'c', DAEMON_ENV)).toMatchObject({ runtime: 'claude-code', provider: 'claude-code', model: 'claude-opus-4-6' });
    expect(resolveInvokeTarget(settings, 'd', DAEMON_ENV)).toMatchObject({ runtime: 'codex', provider: 'codex' });
    // The HTTP runtimes named directly: the vendor's public API, with models.<vendor>'s key (else the daemon's variable).
    expect(resolveInvokeTarget(settings, 'h', DAEMON_ENV)).toEqual({
      runtime: 'anthropic-api',
      provider: 'anthropic-api',
      model: 'claude-sonnet-4-6',
      apiKey: 'sk-ant-settings',
      timeoutMs: 1_800_000,
      inactivityMs: 180_000,
      startGraceMs: 180_000,
    });
    expect(resolveInvokeTarget(settings, 'o', DAEMON_ENV)).toMatchObject({ runtime: 'openai-api', model: 'gpt-5', apiKey: 'sk-openai-from-env' });
    expect(resolveInvokeTarget(settings, 'g', DAEMON_ENV)).toMatchObject({ runtime: 'anthropic-api', provider: 'custom:gw', baseUrl: 'https://gw.example', apiKey: 'gw-key' });
    expect(resolveInvokeTarget(settings, 'p', DAEMON_ENV)).toMatchObject({ runtime: 'claude-code', env: { ANTHROPIC_BASE_URL: 'https://proxy.example' } });
  });

  it('rejects unknown agents and providers permanently, with a hint', () => {
    const settings: Settings = { agents: { a: { provider: 'custom:missing' } }, custom_providers: { bad: { name: 'x' } } };
    const unknownAgent = catchInvokeError(() => resolveInvokeTarget(settings, 'nobody', DAEMON_ENV));
    expect(unknownAgent).toMatchObject({ kind: 'permanent', code: 'AGENT_NOT_FOUND' });
    const missing = catchInvokeError(() => resolveInvokeTarget(settings, 'a', DAEMON_ENV));
    expect(missing).toMatchObject({ kind: 'permanent', code: 'PROVIDER_NOT_FOUND' });
    expect(missing.hint).toContain('custom_providers.missing');
    const noHarness = catchInvokeError(() => resolveInvokeTarget({ ...settings, agents: { b: { provider: 'custom:bad' } } }, 'b', DAEMON_ENV));
    expect(noHarness).toMatchObject({ kind: 'permanent', code: 'PROVIDER_CONFIG_INVALID' });
  });
});

describe('sessionKeyFor', () => {
  const scope = { channel: 'telegram', senderId: '42', threadKey: 'chat-7' };
  it('keys sessions by the agent session mode', () => {
    expect(sessionKeyFor('shared', scope)).toBe('shared');
    expect(sessionKeyFor(undefined, scope)).toBe('shared');
    expect(sessionKeyFor('per-sender', scope)).toBe('sender:telegram:42');
    expect(sessionKeyFor('per-thread', scope)).toBe('thread:telegram:chat-7');
    expect(sessionKeyFor('per-thread', { channel: 'discord', senderId: '9', threadKey: null })).toBe('thread:discord:9');
  });
});

describe('runtime registry', () => {
  let workspace: string;
  beforeEach(() => {
    workspace = mkdtempSync(join(tmpdir(), 'tinyagi-invoker-registry-'));
  });
  afterEach(() => {
    rmSync(workspace, { recursive: true, force: true });
  });

  function request(runtime: string): InvokeRequest {
    return { agentId: 'p', target: { runtime, provider: 'plugin' }, prompt: 'ping', systemPrompt: '', cwd: workspace };
  }

  it('dispatches to a registered plugin runtime until it is unregistered', async () => {
    const unregister = registerPlugin('echo-plugin', async (req) => ({ text: `echo: ${req.prompt}` }));
    expect(await invokeAgent(request('echo-plugin'))).toEqual({ text: 'echo: ping' });
    unregister();
    await expect(invokeAgent(request('echo-plugin'))).rejects.toMatchObject({ kind: 'permanent', code: 'PROVIDER_NOT_FOUND' });
  });

  it('refuses a runtime that says it stays warm (new agents of it would be warm) without a warm driver', () => {
    expect(() => registerPlugin('cold-plugin', async () => ({ text: '' }), true)).toThrow('says it stays warm (capabilities.staysWarm) but its implementation has no warm driver');
    registerPlugin('cold-plugin', async () => ({ text: '' }), false)();
  });

  it('turns anything a plugin runtime throws into a retryable InvokeError', async () => {
    const unregister = registerPlugin('broken-plugin', async () => {
      throw new TypeError('socket hang up');
    });
    try {
      const err = await invokeAgent(request('broken-plugin')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvokeError);
      expect(err).toMatchObject({ kind: 'retryable', message: expect.stringContaining('socket hang up') });
    } finally {
      unregister();
    }
  });

  it('runs a mock agent end to end from settings', async () => {
    const settings: Settings = { agents: { demo: { provider: 'mock', mock: { reply: '{{agent}} says hi' } } } };
    const result = await invokeAgent({ ...request('mock'), agentId: 'demo', target: resolveInvokeTarget(settings, 'demo', {}) });
    expect(result.text).toBe('demo says hi');
  });
});

describe('reset hints', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each([
    ['Rate limited. Please try again in 2 seconds.', 2000],
    ['429 Too Many Requests, retry after 1m30s', 90_000],
    ['try again in 250ms', 250],
    ['Claude AI usage limit reached|1767225660', 60_000],
    ['limit resets at 2026-01-01T00:05:00Z', 300_000],
    ['rate limited', undefined],
  ])('%j -> %s ms', (text, expected) => {
    expect(parseRetryAfterText(text, now)).toBe(expected);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfterHeader('7', now)).toBe(7000);
    expect(parseRetryAfterHeader('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfterHeader(null, now)).toBeUndefined();
  });
});

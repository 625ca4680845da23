/**
 * A sandboxed ACP agent's model calls through the model proxy (runtimes/acp-model-route.ts):
 * claude-agent-acp as the `claude-code` runtime's calls, codex-acp as the `codex` runtime's (the
 * user's own config.toml provider, else OpenAI's key), given as the proxy's URL and placeholder;
 * the real key in none of the target's fields; other agents untouched. The real agents inside the
 * boundary: packages/real-cli-test/test/acp-agents.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { proxiedTarget, proxiedUpstream } from '../src/invoker/through-model-proxy.ts';
import type { InvokeTarget } from '../src/invoker/types.ts';

const REAL_KEY = 'sk-real-acp-route-5d2e';
const ENDPOINTS = {
  anthropic: { baseUrl: 'http://127.0.0.1:45801/anthropic', apiKey: 'tinyagi-placeholder-a' },
  openai: { baseUrl: 'http://127.0.0.1:45801/openai', apiKey: 'tinyagi-placeholder-o' },
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
/** A HOME of its own (no user login or config read by accident). */
const home = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'tinyagi-acp-route-'));
  dirs.push(d);
  return d;
};

const acpTarget = (command: string, env: Record<string, string>, args?: string[]): InvokeTarget => ({ runtime: 'acp', provider: 'acp', command, ...(args ? { args } : {}), env }) as InvokeTarget;

function routed(target: InvokeTarget): { upstream: ReturnType<typeof proxiedUpstream>; target: InvokeTarget | undefined } {
  const upstream = proxiedUpstream(target, 'on');
  return { upstream, target: upstream ? proxiedTarget(target, upstream, ENDPOINTS[upstream.family]) : undefined };
}

describe('ACP agents through the model proxy', () => {
  it('claude-agent-acp: its ANTHROPIC_API_KEY (at its ANTHROPIC_BASE_URL) is the upstream; the agent gets the proxy as ANTHROPIC_BASE_URL and the placeholder', () => {
    const { upstream, target } = routed(acpTarget('claude-agent-acp', { HOME: home(), ANTHROPIC_API_KEY: REAL_KEY, ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/gw' }));
    expect(upstream).toEqual({ family: 'anthropic', baseUrl: 'http://127.0.0.1:9/gw', key: REAL_KEY, auth: 'x-api-key' });
    expect(target?.env).toMatchObject({ ANTHROPIC_BASE_URL: ENDPOINTS.anthropic.baseUrl, ANTHROPIC_AUTH_TOKEN: ENDPOINTS.anthropic.apiKey });
    expect(JSON.stringify(target)).not.toContain(REAL_KEY);
    expect(target?.command).toBe('claude-agent-acp');
  });

  it("codex-acp: the provider the user's config.toml selects is the upstream; the agent gets TinyAGI's provider entry at the proxy and the config's model through -c, its own arguments last", () => {
    const h = home();
    mkdirSync(join(h, '.codex'));
    writeFileSync(
      join(h, '.codex', 'config.toml'),
      'model = "gpt-5.1"\nmodel_provider = "mine"\n\n[model_providers.mine]\nname = "Mine"\nbase_url = "http://127.0.0.1:9/v1"\nenv_key = "MY_KEY"\nwire_api = "responses"\n',
    );
    const { upstream, target } = routed(acpTarget('codex-acp', { HOME: h, MY_KEY: REAL_KEY }, ['-c', 'own=1']));
    expect(upstream).toEqual({ family: 'openai', baseUrl: 'http://127.0.0.1:9/v1', key: REAL_KEY, auth: 'bearer' });
    expect(target?.args).toEqual([
      '-c',
      'model_provider="tinyagi"',
      '-c',
      'model_providers.tinyagi.name="acp"',
      '-c',
      `model_providers.tinyagi.base_url="${ENDPOINTS.openai.baseUrl}"`,
      '-c',
      'model_providers.tinyagi.wire_api="responses"',
      '-c',
      'model_providers.tinyagi.env_key="TINYAGI_CODEX_API_KEY"',
      '-c',
      'model="gpt-5.1"',
      '-c',
      'own=1',
    ]);
    expect(target?.env?.TINYAGI_CODEX_API_KEY).toBe(ENDPOINTS.openai.apiKey);
    expect(target?.env?.MY_KEY).toBeUndefined();
    expect(JSON.stringify(target)).not.toContain(REAL_KEY);
  });

  it("codex-acp without a config: its OPENAI_API_KEY is OpenAI's, at OpenAI's API", () => {
    const { upstream, target } = routed(acpTarget('npx', { HOME: home(), OPENAI_API_KEY: REAL_KEY }, ['@zed-industries/codex-acp@0.16.0']));
    expect(upstream).toEqual({ family: 'openai', baseUrl: 'https://api.openai.com/v1', key: REAL_KEY, auth: 'bearer' });
    expect(target?.args?.at(-1)).toBe('@zed-industries/codex-acp@0.16.0');
    expect(target?.args).toContain(`model_providers.tinyagi.base_url="${ENDPOINTS.openai.baseUrl}"`);
    expect(target?.env?.OPENAI_API_KEY).toBeUndefined();
    expect(JSON.stringify(target)).not.toContain(REAL_KEY);
  });

  it('other agents (Gemini CLI) and an agent without a key pass unchanged; an unsandboxed agent keeps its own key', () => {
    expect(proxiedUpstream(acpTarget('gemini', { HOME: home(), GEMINI_API_KEY: REAL_KEY }, ['--acp']), 'on')).toBeUndefined();
    expect(proxiedUpstream(acpTarget('codex-acp', { HOME: home() }), 'on')).toBeUndefined();
    expect(proxiedUpstream(acpTarget('claude-agent-acp', { HOME: home(), ANTHROPIC_API_KEY: REAL_KEY }), 'off')).toBeUndefined();
  });
});

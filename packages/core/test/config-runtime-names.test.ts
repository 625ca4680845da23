/**
 * Runtime names in settings.json (docs/kinds.md, "Runtimes"): the new names by what runs, the
 * pre-2026-11 names that load forever (mapped per key), the rewrite on the next write (never on
 * read, never over a broken file) and what validation says about a name nobody registered.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings, updateSettings, validateSettings } from '../src/config/index.ts';
import { harnessRuntime, migrateRuntimeNames, oldRuntimeNames, providerRuntime } from '../src/config/runtime-names.ts';

const OLD = {
  models: { provider: 'openai', anthropic: { model: 'sonnet' } },
  agents: {
    a: { provider: 'anthropic', model: 'opus' },
    o: { provider: 'openai' },
    n: { provider: 'opencode' },
    l: { provider: 'custom:llama' },
    d: {},
  },
  custom_providers: {
    llama: { harness: 'openai', base_url: 'http://127.0.0.1:8080/v1' },
    gw: { harness: 'anthropic', base_url: 'https://gw.example' },
    proxy: { harness: 'claude', base_url: 'https://proxy.example' },
    cx: { harness: 'codex' },
  },
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-runtime-names-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('runtime names', () => {
  it('maps the old names per key: anthropic is Claude Code for an agent and the HTTP API for a harness', () => {
    expect(providerRuntime('anthropic')).toBe('claude-code');
    expect(providerRuntime('openai')).toBe('codex');
    expect(providerRuntime('custom:x')).toBe('custom:x');
    expect(harnessRuntime('anthropic')).toBe('anthropic-api');
    expect(harnessRuntime('openai')).toBe('openai-api');
    expect(harnessRuntime('claude')).toBe('claude-code');
    expect(harnessRuntime('codex')).toBe('codex');
    expect(migrateRuntimeNames(OLD)).toEqual({
      models: { provider: 'codex', anthropic: { model: 'sonnet' } },
      agents: { a: { provider: 'claude-code', model: 'opus' }, o: { provider: 'codex' }, n: { provider: 'opencode' }, l: { provider: 'custom:llama' }, d: {} },
      custom_providers: {
        llama: { harness: 'openai-api', base_url: 'http://127.0.0.1:8080/v1' },
        gw: { harness: 'anthropic-api', base_url: 'https://gw.example' },
        proxy: { harness: 'claude-code', base_url: 'https://proxy.example' },
        cx: { harness: 'codex' },
      },
    });
    const current = { agents: { a: { provider: 'claude-code' } } };
    expect(migrateRuntimeNames(current)).toBe(current);
  });

  it('loads a file with the old names as it is, without rewriting it, and lists them for doctor', () => {
    const file = join(dir, 'settings.json');
    const text = `${JSON.stringify(OLD, null, 2)}\n`;
    writeFileSync(file, text);
    expect(loadSettings(file).settings).toEqual(OLD);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(oldRuntimeNames(OLD)).toEqual([
      { path: 'models.provider', old: 'openai', new: 'codex' },
      { path: 'agents.a.provider', old: 'anthropic', new: 'claude-code' },
      { path: 'agents.o.provider', old: 'openai', new: 'codex' },
      { path: 'custom_providers.llama.harness', old: 'openai', new: 'openai-api' },
      { path: 'custom_providers.gw.harness', old: 'anthropic', new: 'anthropic-api' },
      { path: 'custom_providers.proxy.harness', old: 'claude', new: 'claude-code' },
    ]);
  });

  it('rewrites the old names on the next write, and never writes over a broken file', async () => {
    const file = join(dir, 'settings.json');
    writeFileSync(file, JSON.stringify(OLD));
    await updateSettings(file, (s) => ({ ...s, retention: { days: 3 } }), { env: {} });
    const written = JSON.parse(readFileSync(file, 'utf8')) as typeof OLD;
    expect(written.agents.a.provider).toBe('claude-code');
    expect(written.custom_providers.gw.harness).toBe('anthropic-api');
    expect(oldRuntimeNames(written)).toEqual([]);

    const broken = `${JSON.stringify(OLD).slice(0, -1)},`;
    writeFileSync(file, broken);
    await expect(updateSettings(file, (s) => s, { env: {} })).rejects.toMatchObject({ code: 'CONFIG_PARSE_FAILED' });
    expect(readFileSync(file, 'utf8')).toBe(broken);
  });

  it('refuses a runtime nobody registered, naming the registered ones; a harness must be a runtime custom providers can use', () => {
    const result = validateSettings({
      models: { provider: 'gemini-cli' },
      agents: { a: { provider: 'claude' }, b: { provider: 'nope' } },
      custom_providers: { m: { harness: 'mock', base_url: 'http://x.example' }, z: { harness: 'zzz', base_url: 'http://x.example' } },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byPath = Object.fromEntries(result.issues.map((i) => [i.path, i]));
    expect(Object.keys(byPath).sort()).toEqual(['agents.a.provider', 'agents.b.provider', 'custom_providers.m.harness', 'custom_providers.z.harness', 'models.provider']);
    expect(byPath['agents.b.provider']?.message).toBe('Unknown provider "nope"');
    expect(byPath['agents.b.provider']?.hint).toBe('Use one of "acp", "anthropic-api", "claude-code", "codex", "mock", "openai-api", "opencode", or "custom:<id>" for an entry of custom_providers.');
    expect(byPath['custom_providers.m.harness']?.message).toBe('The mock runtime cannot serve a custom provider');
    expect(byPath['custom_providers.z.harness']?.hint).toBe('Use one of "anthropic-api", "claude-code", "codex", "openai-api", "opencode".');
    expect(validateSettings(migrateRuntimeNames(OLD)).ok).toBe(true);
    expect(validateSettings(OLD).ok).toBe(true);
  });
});

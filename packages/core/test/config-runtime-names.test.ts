/**
 * Runtime names in settings.json (docs/kinds.md, "Runtimes"): the new names by what runs, the
 * pre-2026-11 names that load forever (mapped per key), a custom provider's `runtime` under its
 * old key `harness` (read forever, `runtime` wins, a merge-patch's old key sets `runtime`), the
 * rewrite on the next write (never on read, never over a broken file) and what validation says
 * about a name nobody registered.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings, updateSettings, validateSettings } from '../src/config/index.ts';
import { customProviderRuntime, customRuntimeName, migrateRuntimeNames, oldRuntimeNames, providerRuntime, renameOldKeysInPatch } from '../src/config/runtime-names.ts';
import { patchSettings } from '../src/config/editing/settings.ts';

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
    nw: { runtime: 'openai', model: 'm' },
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
  it('maps the old names per key: anthropic is Claude Code for an agent and the HTTP API for a custom provider', () => {
    expect(providerRuntime('anthropic')).toBe('claude-code');
    expect(providerRuntime('openai')).toBe('codex');
    expect(providerRuntime('custom:x')).toBe('custom:x');
    expect(customRuntimeName('anthropic')).toBe('anthropic-api');
    expect(customRuntimeName('openai')).toBe('openai-api');
    expect(customRuntimeName('claude')).toBe('claude-code');
    expect(customRuntimeName('codex')).toBe('codex');
    expect(migrateRuntimeNames(OLD)).toEqual({
      models: { provider: 'codex', anthropic: { model: 'sonnet' } },
      agents: { a: { provider: 'claude-code', model: 'opus' }, o: { provider: 'codex' }, n: { provider: 'opencode' }, l: { provider: 'custom:llama' }, d: {} },
      custom_providers: {
        llama: { runtime: 'openai-api', base_url: 'http://127.0.0.1:8080/v1' },
        gw: { runtime: 'anthropic-api', base_url: 'https://gw.example' },
        proxy: { runtime: 'claude-code', base_url: 'https://proxy.example' },
        cx: { runtime: 'codex' },
        nw: { runtime: 'openai-api', model: 'm' },
      },
    });
    // The old key's place is kept.
    expect(Object.keys((migrateRuntimeNames({ custom_providers: { a: { name: 'A', harness: 'codex', model: 'm' } } }).custom_providers as Record<string, object>)['a']!)).toEqual([
      'name',
      'runtime',
      'model',
    ]);
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
      { path: 'custom_providers.llama.harness', old: 'openai', new: 'openai-api', newPath: 'custom_providers.llama.runtime' },
      { path: 'custom_providers.gw.harness', old: 'anthropic', new: 'anthropic-api', newPath: 'custom_providers.gw.runtime' },
      { path: 'custom_providers.proxy.harness', old: 'claude', new: 'claude-code', newPath: 'custom_providers.proxy.runtime' },
      { path: 'custom_providers.cx.harness', old: 'codex', new: 'codex', newPath: 'custom_providers.cx.runtime' },
      { path: 'custom_providers.nw.runtime', old: 'openai', new: 'openai-api' },
    ]);
  });

  it('rewrites the old names on the next write, and never writes over a broken file', async () => {
    const file = join(dir, 'settings.json');
    writeFileSync(file, JSON.stringify(OLD));
    await updateSettings(file, (s) => ({ ...s, retention: { days: 3 } }), { env: {} });
    const written = JSON.parse(readFileSync(file, 'utf8')) as typeof OLD;
    expect(written.agents.a.provider).toBe('claude-code');
    expect(written.custom_providers.gw).toEqual({ runtime: 'anthropic-api', base_url: 'https://gw.example' });
    expect(oldRuntimeNames(written)).toEqual([]);

    const broken = `${JSON.stringify(OLD).slice(0, -1)},`;
    writeFileSync(file, broken);
    await expect(updateSettings(file, (s) => s, { env: {} })).rejects.toMatchObject({ code: 'CONFIG_PARSE_FAILED' });
    expect(readFileSync(file, 'utf8')).toBe(broken);
  });

  it("refuses a runtime nobody registered, naming the registered ones; a custom provider's must be a runtime custom providers can use", () => {
    const result = validateSettings({
      models: { provider: 'gemini-cli' },
      agents: { a: { provider: 'claude' }, b: { provider: 'nope' } },
      custom_providers: { m: { harness: 'mock', base_url: 'http://x.example' }, z: { runtime: 'zzz', base_url: 'http://x.example' } },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byPath = Object.fromEntries(result.issues.map((i) => [i.path, i]));
    expect(Object.keys(byPath).sort()).toEqual(['agents.a.provider', 'agents.b.provider', 'custom_providers.m.harness', 'custom_providers.z.runtime', 'models.provider']);
    expect(byPath['agents.b.provider']?.message).toBe('Unknown provider "nope"');
    expect(byPath['agents.b.provider']?.hint).toBe('Use one of "acp", "anthropic-api", "claude-code", "codex", "mock", "openai-api", "opencode", or "custom:<id>" for an entry of custom_providers.');
    expect(byPath['custom_providers.m.harness']?.message).toBe('The mock runtime cannot serve a custom provider');
    expect(byPath['custom_providers.z.runtime']?.message).toBe('Unknown runtime "zzz"');
    expect(byPath['custom_providers.z.runtime']?.hint).toBe('Use one of "anthropic-api", "claude-code", "codex", "openai-api", "opencode".');
    expect(validateSettings(migrateRuntimeNames(OLD)).ok).toBe(true);
    expect(validateSettings(OLD).ok).toBe(true);
  });

  it("reads a custom provider's runtime under its old key forever, the new key winning; a merge-patch's old key sets runtime", () => {
    expect(customProviderRuntime({ harness: 'openai' })).toBe('openai-api');
    expect(customProviderRuntime({ runtime: 'codex', harness: 'openai' })).toBe('codex');
    expect(customProviderRuntime({ base_url: 'http://x' })).toBeUndefined();
    expect(migrateRuntimeNames({ custom_providers: { a: { runtime: 'codex', harness: 'openai' } } })).toEqual({ custom_providers: { a: { runtime: 'codex' } } });
    expect(renameOldKeysInPatch({ custom_providers: { a: { harness: 'codex' } } })).toEqual({ custom_providers: { a: { runtime: 'codex', harness: null } } });
    const patch = { agents: { a: { model: 'x' } } };
    expect(renameOldKeysInPatch(patch)).toBe(patch);
    // A patch with the old key on a file with the new one changes the runtime, and the reverse.
    expect(patchSettings({ custom_providers: { a: { runtime: 'codex', base_url: 'http://x' } } }, { custom_providers: { a: { harness: 'opencode' } } })).toEqual({
      custom_providers: { a: { base_url: 'http://x', runtime: 'opencode' } },
    });
    const patched = patchSettings({ custom_providers: { a: { harness: 'codex', base_url: 'http://x' } } }, { custom_providers: { a: { runtime: 'opencode' } } });
    expect(customProviderRuntime(patched.custom_providers?.['a'])).toBe('opencode');
    expect(validateSettings({ custom_providers: { a: { runtime: 'codex', harness: 'mock' } } }).ok).toBe(true);
  });
});

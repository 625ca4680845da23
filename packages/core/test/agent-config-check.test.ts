/**
 * Agent settings typed into a command or an API request: wrong types, unknown keys (refused with
 * the nearest known one) and the new per-agent keys (permission_mode, env_passthrough).
 */
import { describe, expect, it } from 'vitest';
import { checkAgentConfig, nearestKey, unknownAgentKeys, validateSettings } from '../src/config/index.ts';

describe('checkAgentConfig', () => {
  it('reports a wrong type with its path inside the agent', () => {
    expect(checkAgentConfig({ mock: { reply: 5 } })).toEqual([
      expect.objectContaining({ path: 'mock.reply', message: expect.stringContaining('expected string'), hint: expect.stringContaining('Use a string') }),
    ]);
  });

  it('refuses unknown keys at any depth, suggesting the nearest known key', () => {
    const issues = checkAgentConfig({ timeout: 5, mock: { replly: 'x', replies: [{ match: 'a', repyl: 'b' }] }, permissionMode: 'plan', zzzqqq: 1 });
    expect(issues).toEqual([
      { path: 'timeout', message: 'Unknown key "timeout"', hint: 'Did you mean "timeout_s"?' },
      { path: 'mock.replly', message: 'Unknown key "replly"', hint: 'Did you mean "reply"?' },
      { path: 'mock.replies[0].repyl', message: 'Unknown key "repyl"', hint: 'Did you mean "reply"?' },
      { path: 'permissionMode', message: 'Unknown key "permissionMode"', hint: 'Did you mean "permission_mode"?' },
      { path: 'zzzqqq', message: 'Unknown key "zzzqqq"', hint: expect.stringContaining('Known keys here: name, provider, model') },
    ]);
    expect(checkAgentConfig({ provider: 'mock', mock: { reply: 'hi' }, heartbeat: { enabled: false }, permission_mode: 'plan', env_passthrough: ['AWS_PROFILE'] })).toEqual([]);
  });

  it('lets a merge-patch delete an unknown key with null', () => {
    expect(unknownAgentKeys({ old_key: null })).toEqual([]);
  });

  it('validates permission_mode values and env_passthrough names; TINYAGI_* never passes through', () => {
    expect(checkAgentConfig({ permission_mode: 'yolo' })[0]).toMatchObject({ path: 'permission_mode', hint: expect.stringContaining('"acceptEdits"') });
    expect(checkAgentConfig({ env_passthrough: ['1BAD', 'OK_NAME', 'TINYAGI_API_TOKEN', 'a b'] }).map((i) => i.path)).toEqual(['env_passthrough[0]', 'env_passthrough[2]', 'env_passthrough[3]']);
    // settings.json is checked by the same schema (but keeps unknown keys: see unknown-keys.ts).
    expect(validateSettings({ agents: { a: { env_passthrough: ['TINYAGI_API_TOKEN'], some_future_key: 1 } } })).toMatchObject({ ok: false, issues: [{ path: 'agents.a.env_passthrough[0]' }] });
    expect(validateSettings({ agents: { a: { some_future_key: 1 } } }).ok).toBe(true);
  });
});

describe('nearestKey', () => {
  it('forgives case, camelCase, dashes and small typos, and gives up on unrelated words', () => {
    expect(nearestKey('Timeout_S', ['timeout_s', 'model'])).toBe('timeout_s');
    expect(nearestKey('inactivityS', ['inactivity_s'])).toBe('inactivity_s');
    expect(nearestKey('working-directory', ['working_directory'])).toBe('working_directory');
    expect(nearestKey('modle', ['model', 'mock'])).toBe('model');
    expect(nearestKey('banana', ['model', 'mock'])).toBeUndefined();
  });
});

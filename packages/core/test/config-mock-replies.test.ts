/**
 * The mock's scripted replies, `agents.<id>.mock.replies`, under their old key `rules`: a file
 * with the old key loads unchanged and runs as before (the runtime reads it when `replies` is
 * absent, `replies` winning), the next write renames it in its place, and a merge-patch that
 * still says `rules` sets `replies` on a file written before or after the rename.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings, updateSettings, validateSettings, type Settings } from '../src/config/index.ts';
import { patchSettings } from '../src/config/editing/settings.ts';
import { migrateMockReplies, oldMockRulesPaths, renameMockRulesInPatch } from '../src/config/mock-replies.ts';
import { invokeAgent, resolveInvokeTarget } from '../src/invoker/index.ts';

const OLD = {
  agents: {
    coder: { provider: 'mock', mock: { reply: 'default', rules: [{ match: 'build', reply: 'Built it.' }], latency_ms: 0 } },
    plain: { provider: 'mock', mock: { reply: 'plain' } },
  },
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-mock-replies-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function replyOf(settings: Settings, prompt: string): Promise<string> {
  const result = await invokeAgent({ agentId: 'coder', target: resolveInvokeTarget(settings, 'coder', {}), prompt, systemPrompt: '', cwd: dir });
  return result.text;
}

describe("the mock's scripted replies under their old key", () => {
  it('loads a file with mock.rules unchanged and valid, and runs its replies; replies wins when both are there', async () => {
    const file = join(dir, 'settings.json');
    const text = `${JSON.stringify(OLD, null, 2)}\n`;
    writeFileSync(file, text);
    const { settings } = loadSettings(file);
    expect(settings).toEqual(OLD);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(oldMockRulesPaths(settings)).toEqual(['agents.coder.mock.rules']);
    expect(validateSettings(OLD).ok).toBe(true);
    expect(await replyOf(settings, 'please build it')).toBe('Built it.');
    expect(await replyOf(settings, 'something else')).toBe('default');

    const both = { agents: { coder: { provider: 'mock', mock: { replies: [{ match: 'build', reply: 'new key' }], rules: [{ match: 'build', reply: 'old key' }] } } } } as Settings;
    expect(await replyOf(both, 'build')).toBe('new key');
  });

  it('renames mock.rules to mock.replies in its place on the next write, the new key winning', async () => {
    const file = join(dir, 'settings.json');
    writeFileSync(file, JSON.stringify(OLD));
    await updateSettings(file, (s) => ({ ...s, retention: { days: 3 } }), { env: {} });
    const written = JSON.parse(readFileSync(file, 'utf8')) as { agents: Record<string, { mock: Record<string, unknown> }> };
    expect(Object.keys(written.agents['coder']!.mock)).toEqual(['reply', 'replies', 'latency_ms']);
    expect(written.agents['coder']!.mock['replies']).toEqual([{ match: 'build', reply: 'Built it.' }]);
    expect(written.agents['plain']!.mock).toEqual({ reply: 'plain' });
    expect(oldMockRulesPaths(written)).toEqual([]);
    expect(await replyOf(loadSettings(file).settings, 'build')).toBe('Built it.');

    expect(migrateMockReplies({ agents: { a: { mock: { replies: [{ match: 'x' }], rules: [{ match: 'y' }] } } } })).toEqual({ agents: { a: { mock: { replies: [{ match: 'x' }] } } } });
    const current = { agents: { a: { mock: { replies: [] } } } };
    expect(migrateMockReplies(current)).toBe(current);
    // An agent id or key that is `__proto__` (parsed JSON) stays data, never the object's prototype.
    const parsed = JSON.parse('{"agents":{"__proto__":{"mock":{"rules":[],"__proto__":{"x":1}}}}}') as Settings;
    const renamed = migrateMockReplies(parsed) as { agents: Record<string, { mock: Record<string, unknown> }> };
    expect(Object.hasOwn(renamed.agents, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(renamed.agents)).toBe(Object.prototype);
    const mock = Object.getOwnPropertyDescriptor(renamed.agents, '__proto__')?.value.mock as Record<string, unknown>;
    expect(Object.keys(mock).sort()).toEqual(['__proto__', 'replies']);
  });

  it("a merge-patch's mock.rules sets mock.replies, on a file written before or after the rename", () => {
    expect(renameMockRulesInPatch({ agents: { a: { mock: { rules: [{ match: 'x' }] } } } })).toEqual({ agents: { a: { mock: { replies: [{ match: 'x' }], rules: null } } } });
    const patch = { agents: { a: { model: 'm' } } };
    expect(renameMockRulesInPatch(patch)).toBe(patch);
    const renamed = { agents: { coder: { provider: 'mock', mock: { replies: [{ match: 'build', reply: 'old reply' }] } } } } as Settings;
    const patched = patchSettings(renamed, { agents: { coder: { mock: { rules: [{ match: 'build', reply: 'patched' }] } } } });
    expect(patched.agents?.['coder']).toEqual({ provider: 'mock', mock: { replies: [{ match: 'build', reply: 'patched' }] } });
    const before = patchSettings(OLD as Settings, { agents: { coder: { mock: { rules: [{ match: 'ship', reply: 'Shipped.' }] } } } });
    expect(before.agents?.['coder']).toHaveProperty('mock');
    expect((before.agents!['coder'] as { mock: unknown }).mock).toEqual({ reply: 'default', latency_ms: 0, replies: [{ match: 'ship', reply: 'Shipped.' }] });
  });
});

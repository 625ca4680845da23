/**
 * The defaults of new agents: a new CLI agent is warm (docs/sessions.md, "Warm or per message")
 * and, when it can ask, starts with permission_mode "ask" and the starter rules (docs/approvals.md,
 * "New agents"); what an agent or a settings file says is never changed. What the starter rules
 * decide: approval-corpus.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { STARTER_PERMISSION_RULES } from '../src/approvals/new-agent-defaults.ts';
import { createAgent, putAgent, type Settings } from '../src/config/index.ts';

const base = (): Settings => ({
  models: { provider: 'mock' },
  custom_providers: { viaClaude: { name: 'Via Claude', runtime: 'claude-code', base_url: 'http://127.0.0.1:9' }, http: { name: 'HTTP', runtime: 'openai-api', base_url: 'http://127.0.0.1:9/v1' } },
  agents: { old: { name: 'Old', provider: 'claude-code' } },
});

describe('new agents', () => {
  it('a new Claude Code agent (its own provider, a custom provider on it, or the default runtime) asks, with the starter rules', () => {
    for (const body of [{ provider: 'claude-code' }, { provider: 'anthropic' }, { provider: 'custom:viaClaude' }]) {
      const agent = createAgent(base(), 'coder', body).agents?.['coder'];
      expect(agent, JSON.stringify(body)).toMatchObject({ permission_mode: 'ask', permissions: { rules: STARTER_PERMISSION_RULES } });
    }
    // No provider and no models.provider: Claude Code.
    expect(createAgent({ agents: {} }, 'coder', { name: 'Coder' }).agents?.['coder']).toMatchObject({ permission_mode: 'ask' });
    // PUT of an id that does not exist yet (the TinyOffice agent form) creates with the default too.
    expect(putAgent(base(), 'fresh', { provider: 'claude-code' })).toMatchObject({ created: true, settings: { agents: { fresh: { permission_mode: 'ask' } } } });
  });

  it('a new CLI agent is warm (Claude Code, Codex, OpenCode, ACP, a custom provider on one); one that says how it runs keeps it', () => {
    for (const provider of ['claude-code', 'codex', 'opencode', 'acp', 'custom:viaClaude']) {
      expect(createAgent(base(), 'w', { provider }).agents?.['w'], provider).toMatchObject({ process: 'warm' });
      expect(createAgent(base(), 'p', { provider, process: 'per-message' }).agents?.['p'], provider).toMatchObject({ process: 'per-message' });
    }
    expect(createAgent({ agents: {} }, 'coder', { name: 'Coder' }).agents?.['coder']).toMatchObject({ process: 'warm' });
    expect(putAgent(base(), 'fresh', { provider: 'codex' })).toMatchObject({ created: true, settings: { agents: { fresh: { process: 'warm' } } } });
  });

  it('Codex and OpenCode ask only in a warm session: new (warm) they ask, per message they keep what they had', () => {
    for (const provider of ['codex', 'opencode']) {
      expect(createAgent(base(), 'cx', { provider }).agents?.['cx']).toMatchObject({ permission_mode: 'ask', process: 'warm' });
      expect(createAgent(base(), 'cx', { provider, process: 'per-message' }).agents?.['cx']).not.toHaveProperty('permission_mode');
    }
  });

  it('what the agent says stands; runtimes without tools get nothing; an existing agent is never changed', () => {
    expect(createAgent(base(), 'yolo', { provider: 'claude-code', permission_mode: 'bypassPermissions' }).agents?.['yolo']).toEqual({
      provider: 'claude-code',
      permission_mode: 'bypassPermissions',
      process: 'warm',
    });
    const own = { rules: [{ action: 'allow' as const, tool: 'Bash' }] };
    expect(createAgent(base(), 'mine', { provider: 'claude-code', permissions: own }).agents?.['mine']).toEqual({ provider: 'claude-code', permissions: own, process: 'warm' });
    for (const provider of ['mock', 'anthropic-api', 'openai-api', 'custom:http']) expect(createAgent(base(), 'plain', { provider }).agents?.['plain']).toEqual({ provider });
    const replaced = putAgent(base(), 'old', { name: 'Old 2', provider: 'claude-code' });
    expect(replaced.created).toBe(false);
    expect(replaced.settings.agents?.['old']).toEqual({ name: 'Old 2', provider: 'claude-code' });
  });
});

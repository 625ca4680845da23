/**
 * The first run's default agent gets the new-agent default (docs/approvals.md, "New agents"): on
 * Claude Code (the fake `claude` first on PATH) it is warm (docs/sessions.md) and asks, with the
 * starter rules; on the mock runtime (no agent CLI installed) nothing changes.
 */
import { STARTER_PERMISSION_RULES } from '@tinyagi/core/internal';
import { FAKE_BIN_DIR } from '@tinyagi/test-kit';
import { expect, it } from 'vitest';
import { DEFAULT_AGENT_ID, defaultSettings } from '../src/daemon/first-run.ts';

it('the default agent on Claude Code is warm and asks with the starter rules; on the mock runtime it is as before', () => {
  const withClaude = defaultSettings({ PATH: FAKE_BIN_DIR }).settings.agents?.[DEFAULT_AGENT_ID];
  expect(withClaude).toEqual({ name: 'TinyAGI', provider: 'claude-code', process: 'warm', permission_mode: 'ask', permissions: { rules: STARTER_PERMISSION_RULES } });
  const bare = defaultSettings({ PATH: '/nonexistent' }).settings.agents?.[DEFAULT_AGENT_ID];
  expect(bare).toEqual({ name: 'TinyAGI', provider: 'mock' });
});

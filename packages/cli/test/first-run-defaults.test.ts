/**
 * The first run's default agent gets the new-agent default (docs/approvals.md, "New agents"): on
 * Claude Code (the fake `claude` first on PATH) it is warm (docs/sessions.md) and asks, with the
 * starter rules; on the mock runtime (no agent CLI installed) nothing changes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Settings } from '@tinyagi/core';
import { homePaths, STARTER_PERMISSION_RULES } from '@tinyagi/core/internal';
import { FAKE_BIN_DIR, tempDir } from '@tinyagi/test-kit';
import { expect, it } from 'vitest';
import { DEFAULT_AGENT_ID, defaultSettings, ensureFirstRunDefaults } from '../src/daemon/first-run.ts';

it('the default agent on Claude Code is warm and asks with the starter rules; on the mock runtime it is as before', () => {
  const withClaude = defaultSettings({ PATH: FAKE_BIN_DIR }).settings.agents?.[DEFAULT_AGENT_ID];
  expect(withClaude).toEqual({ name: 'TinyAGI', provider: 'claude-code', process: 'warm', permission_mode: 'ask', permissions: { rules: STARTER_PERMISSION_RULES } });
  const bare = defaultSettings({ PATH: '/nonexistent' }).settings.agents?.[DEFAULT_AGENT_ID];
  expect(bare).toEqual({ name: 'TinyAGI', provider: 'mock' });
});

it('the first start gives a CLI default agent the sandbox agent add gives (on, the real bubblewrap holding here); the mock agent gets none', async () => {
  const home = tempDir('tinyagi-first-run-sandbox-');
  const env = { PATH: `${FAKE_BIN_DIR}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? home, TINYAGI_HOME: home };
  const made = await ensureFirstRunDefaults(homePaths(home), env);
  expect(made.createdSettings).toBe(true);
  const settings = JSON.parse(readFileSync(join(home, 'settings.json'), 'utf8')) as Settings;
  expect(settings.agents?.[DEFAULT_AGENT_ID]).toMatchObject({ provider: 'claude-code', sandbox: 'on' });
  expect(made.notices.join('\n')).toContain('Sandboxed (on)');

  const bareHome = tempDir('tinyagi-first-run-mock-');
  const bareEnv = { PATH: '/nonexistent', HOME: process.env.HOME ?? bareHome, TINYAGI_HOME: bareHome };
  await ensureFirstRunDefaults(homePaths(bareHome), bareEnv);
  const bare = JSON.parse(readFileSync(join(bareHome, 'settings.json'), 'utf8')) as Settings;
  expect(bare.agents?.[DEFAULT_AGENT_ID]?.sandbox).toBeUndefined();
});

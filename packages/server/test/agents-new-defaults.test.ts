/**
 * POST /api/agents on a server that has no sandbox self-test result (built without a daemon, as
 * here): a new CLI agent gets the other defaults but no sandbox, and the reply says why and how to
 * turn it on; an existing agent's edit changes nothing it was not asked to and says nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STARTER_PERMISSION_RULES } from '@tinyagi/core/internal';
import { startHarness, type ServerHarness } from './harness.ts';

describe('new agents on a server without a sandbox self-test', () => {
  let h: ServerHarness;
  beforeAll(async () => {
    h = await startHarness({ env: { PATH: '/nonexistent' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('gets warm and asks, no sandbox, with the warnings that say so', async () => {
    const reply = await h.client.createAgent({ body: { id: 'fresh', provider: 'claude-code' } });
    expect(h.settings().agents?.['fresh']).toEqual({ provider: 'claude-code', process: 'warm', permission_mode: 'ask', permissions: { rules: STARTER_PERMISSION_RULES } });
    expect(reply.notes.map((n) => n.code)).toEqual(['asks', 'warm']);
    expect(reply.warnings.map((w) => w.code)).toEqual(['cli-missing', 'sandbox-unchecked']);
    // The message fits every surface; the CLI's commands are apart (TinyOffice says its own).
    expect(reply.warnings[1]?.message).not.toContain('tinyagi ');
    expect(reply.warnings[1]?.cli).toContain('tinyagi agent sandbox fresh on');

    // A mock agent runs no process: nothing about a sandbox or a CLI.
    const mock = await h.client.createAgent({ body: { id: 'scripted', provider: 'mock' } });
    expect(mock.warnings).toEqual([]);

    // Replacing an existing agent's keys is no new agent: nothing added, nothing said.
    const put = await h.client.putAgent({ params: { id: 'fresh' }, body: { name: 'Fresh' } });
    expect(put).toMatchObject({ created: false, notes: [], warnings: [] });
    expect(h.settings().agents?.['fresh']).not.toHaveProperty('sandbox');
  });
});

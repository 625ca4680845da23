/**
 * Approvals with the real CLIs (issue 36): an agent with `permission_mode: "ask"` in a warm
 * session asks before the stand-in model's shell command runs; the request appears in the API
 * with the command, a person's denial stops the command (the file it would create is not
 * there), and an allowance lets it run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, toolOutput, waitFor } from '@tinyagi/test-kit';
import { CLI_CASES, startRig, type CliName, type Rig } from './harness.ts';

for (const name of ['claude', 'codex', 'opencode'] as CliName[]) {
  describe(`${name} (warm, permission_mode ask)`, () => {
    let rig: Rig;

    beforeAll(async () => {
      rig = await startRig(CLI_CASES[name], { agentSettings: { process: 'warm', permission_mode: 'ask' } });
    }, 120_000);

    afterAll(async () => {
      await rig?.cleanup();
      cleanupTemp();
    });

    /** The next pending request of alpha, answered with `decision`. */
    const answer = async (decision: 'deny' | 'allow_once', seen: Set<string>): Promise<string> => {
      const pending = await waitFor(
        async () => (await rig.daemon.api.listApprovals({ query: { status: 'pending', agent: 'alpha' } })).find((a) => !seen.has(a.id)),
        120_000,
        'a pending approval request',
      );
      seen.add(pending.id);
      await rig.daemon.api.decideApproval({ params: { id: pending.id }, body: { decision, ...(decision === 'deny' ? { reason: 'not in this workspace' } : {}), by: 'test' } });
      return pending.summary;
    };

    it('a denied command does not run; an allowed one does', async () => {
      const workspace = join(rig.daemon.root, 'workspace', 'alpha');
      const seen = new Set<string>();
      for (const [marker, decision, file] of [
        [`APPROVE-NO-${name}`, 'deny', 'denied.txt'],
        [`APPROVE-YES-${name}`, 'allow_once', 'allowed.txt'],
      ] as const) {
        rig.rule(marker, (request) => {
          const out = toolOutput(request);
          if (out === undefined) return { shell: `touch ${file}` };
          return { reply: `${marker} done: ${out.slice(0, 200)}` };
        });
        const sent = rig.send({ agent: 'alpha', senderId: `approve-${decision}`, message: `${marker} create the file` });
        const summary = await answer(decision, seen);
        expect(summary).toContain(`touch ${file}`);
        const o = await sent;
        expect(o.runs[0]?.status, JSON.stringify(o.runs)).toBe('completed');
        expect(existsSync(join(workspace, file)), `${file} after ${decision}`).toBe(decision === 'allow_once');
      }
    }, 300_000);
  });
}

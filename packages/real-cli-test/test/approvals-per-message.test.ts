/**
 * Approvals with the real Claude Code run per message (issue 36): an agent with
 * `permission_mode: "ask"` runs `claude -p --permission-prompt-tool mcp__tinyagi__approval_prompt`,
 * so before the stand-in model's shell command runs, Claude Code calls TinyAGI's MCP tool, which
 * asks the run's approval desk through the API. A person's denial stops the command (the file it
 * would create is not there, the model reads the reason), an allowance lets it run, and a command
 * an allow rule matches runs without asking anyone.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, toolOutput, waitFor } from '@tinyagi/test-kit';
import { CLI_CASES, startRig, type Rig } from './harness.ts';

describe('claude (per message, permission_mode ask)', () => {
  let rig: Rig;

  beforeAll(async () => {
    // ENABLE_TOOL_SEARCH=false: the MCP tools are offered directly (the stand-in model does not search; mcp-tools.test.ts).
    rig = await startRig(CLI_CASES.claude, {
      agentSettings: {
        permission_mode: 'ask',
        permissions: { rules: [{ action: 'allow', tool: 'Bash', command: 'touch ruled.txt' }] },
        env_passthrough: ['CLAUDE_CODE_MAX_RETRIES', 'ENABLE_TOOL_SEARCH'],
      },
      daemonEnv: { ENABLE_TOOL_SEARCH: 'false' },
    });
  }, 120_000);

  afterAll(async () => {
    await rig?.cleanup();
    cleanupTemp();
  });

  it('a denied command does not run and the model reads why; an allowed one runs; one a rule allows runs without a person', async () => {
    const workspace = join(rig.daemon.root, 'workspace', 'alpha');
    const seen = new Set<string>();
    for (const [marker, decision, file] of [
      ['PM-APPROVE-NO', 'deny', 'denied.txt'],
      ['PM-APPROVE-YES', 'allow_once', 'allowed.txt'],
      ['PM-APPROVE-RULE', 'rule', 'ruled.txt'],
    ] as const) {
      const outputs: string[] = [];
      rig.rule(marker, (request) => {
        const out = toolOutput(request);
        if (out === undefined) return { shell: `touch ${file}` };
        outputs.push(out);
        return { reply: `${marker} done: ${out.slice(0, 200)}` };
      });
      const sent = rig.send({ agent: 'alpha', senderId: `pm-approve-${decision}`, message: `${marker} create the file` });
      if (decision !== 'rule') {
        const pending = await waitFor(
          async () => (await rig.daemon.api.listApprovals({ query: { status: 'pending', agent: 'alpha' } })).find((a) => !seen.has(a.id)),
          120_000,
          'a pending approval request',
        );
        seen.add(pending.id);
        expect(pending).toMatchObject({ kind: 'permission', tool: 'Bash', summary: expect.stringContaining(`touch ${file}`) });
        await rig.daemon.api.decideApproval({ params: { id: pending.id }, body: { decision, ...(decision === 'deny' ? { reason: 'not in this workspace' } : {}), by: 'test' } });
      }
      const o = await sent;
      expect(o.runs[0]?.status, JSON.stringify(o.runs)).toBe('completed');
      expect(existsSync(join(workspace, file)), `${file} after ${decision}`).toBe(decision !== 'deny');
      // The model reads the denial's reason as the tool's result.
      if (decision === 'deny') expect(outputs.join('\n')).toContain('not in this workspace');
      const asked = await rig.daemon.api.listApprovals({ query: { conversationId: o.tree.conversation.id } });
      expect(asked.map((a) => a.status)).toEqual(decision === 'rule' ? [] : [decision === 'deny' ? 'denied' : 'allowed']);
    }
  }, 400_000);

  it("TinyAGI's own MCP tools need no person: call_agent runs the teammate while the agent asks for everything else", async () => {
    const parent = 'PM-ASK-CALL';
    rig.rule(parent, (request) => {
      const out = toolOutput(request);
      if (out === undefined) return { tool: 'call_agent', input: { agent: 'beta', task: 'PM-ASK-CHILD what is the code?' } };
      return { reply: `The sub-agent said: ${out}` };
    });
    rig.rule('PM-ASK-CHILD', () => ({ reply: 'The code is 2718.' }));
    const o = await rig.send({ agent: 'alpha', senderId: 'pm-ask-call', message: `${parent} ask beta for the code` });
    expect(o.replies.join('\n')).toContain('The code is 2718.');
    expect(o.runs.find((r) => r.agentId === 'beta')?.status).toBe('completed');
    expect(await rig.daemon.api.listApprovals({ query: { conversationId: o.tree.conversation.id } })).toEqual([]);
  }, 300_000);
});

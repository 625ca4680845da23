/**
 * TinyAGI's MCP tools reach the real CLIs (issue 37): the daemon gives Claude Code
 * (`--mcp-config`), Codex (`-c mcp_servers.tinyagi…`) and OpenCode (its config's `mcp`, or ACP's
 * `session/new` when warm) its `tinyagi mcp --agent-tools` server,
 * the stand-in model calls `call_agent` through the CLI's MCP client, the sub-agent runs as a
 * child of the calling run and its reply comes back as the tool's result; `send_to_agent` hands
 * off when the turn ends. Per-message and warm processes both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, toolOutput } from '@tinyagi/test-kit';
import { CLI_CASES, startRig, type CliName, type Outcome, type Rig } from './harness.ts';

const describeOutcome = (o: Outcome): string =>
  JSON.stringify({ runs: o.runs.map((r) => ({ agent: r.agentId, status: r.status, error: r.error })), replies: o.replies, attempts: o.message.attempts, lastError: o.message.lastError });

for (const name of ['claude', 'codex', 'opencode'] as CliName[]) {
  for (const process of ['per-message', 'warm'] as const) {
    describe(`${name} (${process})`, () => {
      let rig: Rig;

      beforeAll(async () => {
        // Claude Code defers MCP tools behind its ToolSearch tool by default (a real model looks them up
        // there); the stand-in model does not search, so the tools are offered directly.
        rig = await startRig(CLI_CASES[name], {
          agentSettings: { process, env_passthrough: ['CLAUDE_CODE_MAX_RETRIES', 'ENABLE_TOOL_SEARCH'] },
          daemonEnv: { ENABLE_TOOL_SEARCH: 'false' },
        });
      }, 120_000);

      afterAll(async () => {
        await rig?.cleanup();
        cleanupTemp();
      });

      it('the model calls call_agent over MCP: the sub-agent runs as a child and its reply is the tool result', async () => {
        const parent = `MCP-CALL-${name}-${process}`;
        const child = `MCP-CHILD-${name}-${process}`;
        rig.rule(parent, (request) => {
          const out = toolOutput(request);
          if (out === undefined) return { tool: 'call_agent', input: { agent: 'beta', task: `${child} what is the code?` } };
          return { reply: `The sub-agent said: ${out}` };
        });
        rig.rule(child, () => ({ reply: 'The MCP code is 1618.' }));
        const o = await rig.send({ agent: 'alpha', senderId: `mcp-${process}`, message: `${parent} ask beta for the code` });
        const offered = rig.model.calls.find((c) => c.request.entries.some((e) => e.text.includes(parent)))?.request.tools ?? [];
        expect(
          offered.some((t) => /(^|_)call_agent$/.test(t)),
          `the CLI offered TinyAGI's MCP tools: ${offered.join(', ')}`,
        ).toBe(true);
        const beta = o.runs.find((r) => r.agentId === 'beta');
        expect(beta?.status, describeOutcome(o)).toBe('completed');
        expect(beta?.parentRunId).toBe(o.runs[0]?.runId);
        expect(o.replies.join('\n'), describeOutcome(o)).toContain('The MCP code is 1618.');
      });

      it('send_to_agent over MCP hands off when the turn ends', async () => {
        const lead = `MCP-HANDOFF-${name}-${process}`;
        const next = `MCP-NEXT-${name}-${process}`;
        rig.rule(lead, (request) => {
          const out = toolOutput(request);
          if (out === undefined) return { tool: 'send_to_agent', input: { to: 'beta', message: `${next} please write the summary` } };
          return { reply: `Handed over (${out.includes('Handed off') ? 'confirmed' : out}).` };
        });
        rig.rule(next, () => ({ reply: 'Summary written by beta.' }));
        const o = await rig.send({ agent: 'alpha', senderId: `handoff-${process}`, message: `${lead} get beta to summarise` });
        expect(o.replies.join('\n'), describeOutcome(o)).toContain('Handed over (confirmed).');
        const beta = o.runs.find((r) => r.agentId === 'beta');
        expect(beta?.status, describeOutcome(o)).toBe('completed');
        expect(beta?.parentRunId).toBe(o.runs[0]?.runId);
        // The teammate received the declared message, as it would a tag's.
        expect(o.calls.some((c) => c.request.entries.some((e) => e.role === 'user' && e.text.includes(`${next} please write the summary`)))).toBe(true);
      });
    });
  }
}

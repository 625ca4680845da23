/**
 * TinyAGI's MCP tools and approvals with the real CLIs (issues 36 and 37), one daemon per CLI and
 * mode (per message, warm), its agents on the stand-in model:
 * - the daemon gives Claude Code (`--mcp-config`), Codex (`-c mcp_servers.tinyagi…`) and OpenCode
 *   (its config's `mcp`, or ACP's `session/new` when warm) its agent tools on its own `/mcp` over
 *   HTTP with the CLI process's tools token, and no `tinyagi mcp` process runs for them; the
 *   model calls `call_agent` through the CLI's MCP client, the sub-agent runs as a
 *   child of the calling run and its reply comes back as the tool's result; `send_to_agent` hands
 *   off when the turn ends; `ask_human` waits in the approvals inbox until a person answers
 *   through the API, and the answer is the tool's result the model reads;
 * - a user's own MCP server, configured the way the user would (Claude Code: ~/.claude.json;
 *   Codex: ~/.codex/config.toml; OpenCode: ~/.config/opencode/opencode.json), is still offered
 *   next to TinyAGI's and runs; the daemon's own `/mcp` (streamable HTTP, the API token) added
 *   there as an HTTP server works with each CLI's own MCP client;
 * - the agent `asker` has `permission_mode: "ask"` (warm, every CLI; per message, Claude Code,
 *   which runs `claude -p --permission-prompt-tool mcp__tinyagi__approval_prompt`): before the
 *   stand-in model's shell command runs the request appears in the API with the command, a
 *   person's denial stops it (the file it would create is not there; per message the model reads
 *   the reason; warm Codex has it steered into the turn, its answers carry none), an allowance lets
 *   it run, a command an allow rule matches runs without asking anyone, and TinyAGI's own MCP
 *   tools need no person (`call_agent`, `ask_human`; warm Codex asks about every MCP tool call).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, descendants, toolOutput, waitFor } from '@tinyagi/test-kit';
import { CLI_CASES, startRig, type CliName, type Rig } from './harness.ts';
import { describeOutcome } from './suite.ts';

const OWN_SERVER = fileURLToPath(new URL('./fixtures/own-mcp-server.mjs', import.meta.url));

/**
 * The user's own MCP servers in the CLI's own user configuration (HOME is the rig's root): a
 * stdio one (the weather fixture), and the daemon's own `/mcp` over streamable HTTP with the API
 * token, as a person would add TinyAGI to their CLI (the client tools).
 */
function configureOwnServers(name: CliName, rig: Rig): void {
  const home = rig.daemon.root;
  const token = rig.daemon.token();
  const url = `${rig.daemon.url}/mcp`;
  if (name === 'claude') {
    const mcpServers = { weather: { type: 'stdio', command: process.execPath, args: [OWN_SERVER] }, team: { type: 'http', url, headers: { Authorization: `Bearer ${token}` } } };
    writeFileSync(join(home, '.claude.json'), JSON.stringify({ mcpServers }));
  } else if (name === 'opencode') {
    mkdirSync(join(home, '.config', 'opencode'), { recursive: true });
    const mcp = {
      weather: { type: 'local', command: [process.execPath, OWN_SERVER], enabled: true },
      team: { type: 'remote', url, headers: { Authorization: `Bearer ${token}` }, enabled: true },
    };
    writeFileSync(join(home, '.config', 'opencode', 'opencode.json'), JSON.stringify({ $schema: 'https://opencode.ai/config.json', mcp }));
  } else {
    const toml = [
      '[mcp_servers.weather]',
      `command = ${JSON.stringify(process.execPath)}`,
      `args = [${JSON.stringify(OWN_SERVER)}]`,
      '[mcp_servers.team]',
      `url = ${JSON.stringify(url)}`,
      `http_headers = { Authorization = ${JSON.stringify(`Bearer ${token}`)} }`,
    ];
    writeFileSync(join(rig.codexHome!, 'config.toml'), `${toml.join('\n')}\n`);
  }
}

/** A process's command line ('' once it has gone). */
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

/** The approvals agent: asks a person; per message (Claude Code only) an allow rule lets one command through. */
function asker(process: 'per-message' | 'warm'): Record<string, unknown> {
  return process === 'warm' ? { permission_mode: 'ask' } : { permission_mode: 'ask', permissions: { rules: [{ action: 'allow', tool: 'Bash', command: 'touch ruled.txt' }] } };
}

for (const name of ['claude', 'codex', 'opencode'] as CliName[]) {
  for (const process of ['per-message', 'warm'] as const) {
    // Approvals: every CLI warm; per message only Claude Code can ask (its permission prompt tool).
    const asks = process === 'warm' || name === 'claude';
    describe(`${name} (${process})`, () => {
      let rig: Rig;

      beforeAll(async () => {
        // Claude Code defers MCP tools behind its ToolSearch tool by default (a real model looks them up
        // there); the stand-in model does not search, so the tools are offered directly.
        rig = await startRig(CLI_CASES[name], {
          agentSettings: { process, env_passthrough: ['CLAUDE_CODE_MAX_RETRIES', 'ENABLE_TOOL_SEARCH'] },
          daemonEnv: { ENABLE_TOOL_SEARCH: 'false' },
          ...(asks ? { agents: { asker: asker(process) } } : {}),
        });
        configureOwnServers(name, rig);
      }, 120_000);

      afterAll(async () => {
        await rig?.cleanup();
        cleanupTemp();
      });

      it("the model calls call_agent over MCP: the CLI reaches TinyAGI's tools on the daemon's /mcp, the sub-agent runs as a child, its reply is the tool result, and while call_agent waits no `tinyagi mcp` process runs under the daemon", async () => {
        const parent = `MCP-CALL-${name}-${process}`;
        const child = `MCP-CHILD-${name}-${process}`;
        rig.rule(parent, (request) => {
          const out = toolOutput(request);
          if (out === undefined) return { tool: 'call_agent', input: { agent: 'beta', task: `${child} what is the code?` } };
          return { reply: `The sub-agent said: ${out}` };
        });
        // The sub-agent's model call comes while alpha's CLI waits in its call_agent: its process tree is there to read.
        let tree: string[] = [];
        rig.rule(child, () => {
          tree = descendants(rig.daemon.pid).map(cmdline);
          return { reply: 'The MCP code is 1618.' };
        });
        const o = await rig.send({ agent: 'alpha', senderId: `mcp-${process}`, message: `${parent} ask beta for the code` });
        const offered = rig.model.calls.find((c) => c.request.entries.some((e) => e.text.includes(parent)))?.request.tools ?? [];
        expect(
          offered.some((t) => /(^|_)call_agent$/.test(t)),
          `the CLI offered TinyAGI's MCP tools: ${offered.join(', ')}`,
        ).toBe(true);
        const beta = o.runs.find((r) => r.agentId === 'beta');
        expect(beta?.status, describeOutcome(o)).toBe('completed');
        expect(beta?.parentRunId).toBe(o.runs[0]?.runId);
        // Codex puts its own lines (wall time, "Output:") before a tool's result.
        expect(o.replies.join('\n'), describeOutcome(o)).toMatch(/The sub-agent said: [\s\S]*The MCP code is 1618\./);
        expect(tree.length, 'the daemon runs the CLIs').toBeGreaterThan(0);
        expect(
          tree.filter((line) => line.includes('mcp --agent-tools')),
          `the daemon's process tree:\n${tree.join('\n')}`,
        ).toEqual([]);
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
      it("the user's own MCP servers, configured as the user would, are offered next to TinyAGI's and run: a stdio one, and TinyAGI itself over HTTP (the daemon's /mcp with the API token) whose client lists the team", async () => {
        const marker = `OWN-MCP-${name}-${process}`;
        // One turn, two tool steps: the weather fixture's tool, then list_teams on the daemon's /mcp.
        rig.rule(marker, (request) => {
          const outputs = request.entries.filter((e) => e.role === 'tool').map((e) => e.text);
          if (outputs.length === 0) return { tool: 'weather_report', input: { city: 'Lisbon' } };
          if (outputs.length === 1) return { tool: 'list_teams', input: {} };
          return { reply: `Reported: ${outputs[0]}\nTeams: ${outputs[1]}` };
        });
        const o = await rig.send({ agent: 'alpha', senderId: `own-mcp-${name}-${process}`, message: `${marker} what is the weather, and which teams are there?` });
        const offered = rig.model.calls.find((c) => c.request.entries.some((e) => e.text.includes(marker)))?.request.tools ?? [];
        expect(
          offered.filter((t) => /weather_report$|(^|_)call_agent$/.test(t)),
          `both servers' tools: ${offered.join(', ')}`,
        ).toHaveLength(2);
        expect(o.replies.join('\n'), describeOutcome(o)).toMatch(/Reported: [\s\S]*OWN-WEATHER: sunny in Lisbon/);
        expect(o.replies.join('\n'), describeOutcome(o)).toMatch(/Teams: [\s\S]*"id": ?"duo"/);
      });

      // OpenCode gives up on an MCP call after 60 s unless progress comes: call_agent reports every 15 s while the sub-agent works.
      if (name === 'opencode' && process === 'per-message') {
        it('call_agent waiting over a minute for a slow sub-agent is kept alive by progress notifications', async () => {
          const parent = `MCP-SLOW-CALL-${name}`;
          const child = `MCP-SLOW-CHILD-${name}`;
          rig.rule(parent, (request) => {
            const out = toolOutput(request);
            if (out === undefined) return { tool: 'call_agent', input: { agent: 'beta', task: `${child} take your time` } };
            return { reply: `The slow sub-agent said: ${out}` };
          });
          // 62 s of sleep alone: the call lasts longer than OpenCode's 60 s, whatever the sub-agent's own start takes.
          rig.rule(child, (request) => (toolOutput(request) === undefined ? { shell: 'sleep 62' } : { reply: 'Slow but done.' }));
          const o = await rig.send({ agent: 'alpha', senderId: `slow-${name}`, message: `${parent} ask beta`, timeoutMs: 300_000 });
          expect(o.replies.join('\n'), describeOutcome(o)).toContain('The slow sub-agent said: Slow but done.');
        }, 330_000);
      }

      it('the model asks the person with ask_human over MCP; answered through the API, the answer is the tool result', async () => {
        const marker = `MCP-ASK-${name}-${process}`;
        rig.rule(marker, (request) => {
          const out = toolOutput(request);
          if (out === undefined) return { tool: 'ask_human', input: { question: 'Which release should I tag?', choices: ['v1.2', 'v2.0'] } };
          return { reply: `The person chose: ${out}` };
        });
        const o = await rig.send({
          agent: 'alpha',
          senderId: `ask-${name}-${process}`,
          message: `${marker} tag the release`,
          whileRunning: async () => {
            const question = await waitFor(
              async () => (await rig.daemon.api.listApprovals({ query: { status: 'pending', kind: 'question' } })).find((a) => a.tool === 'ask_human'),
              120_000,
              'the question in the inbox',
            );
            expect(question).toMatchObject({ agentId: 'alpha', summary: 'Which release should I tag?', input: { choices: ['v1.2', 'v2.0'] } });
            await rig.daemon.api.decideApproval({ params: { id: question.id }, body: { decision: 'answer', answer: 'v2.0, it has the fix', by: 'real-cli test' } });
          },
        });
        expect(o.replies.join('\n'), describeOutcome(o)).toMatch(/The person chose: [\s\S]*v2\.0, it has the fix/);
        expect((await rig.daemon.api.listApprovals({ query: { kind: 'question' } }))[0]).toMatchObject({ status: 'answered', decidedBy: 'real-cli test' });
      });

      if (asks) {
        const title =
          process === 'warm'
            ? `a denied command does not run${name === 'codex' ? ' and the model reads why' : ''}; an allowed one does`
            : 'a denied command does not run and the model reads why; an allowed one runs; one a rule allows runs without a person';
        it(title, async () => {
          const workspace = join(rig.daemon.root, 'workspace', 'asker');
          const seen = new Set<string>();
          const decisions = process === 'warm' ? (['deny', 'allow_once'] as const) : (['deny', 'allow_once', 'rule'] as const);
          for (const decision of decisions) {
            const marker = `APPROVE-${decision}-${name}-${process}`;
            const file = `${decision}.txt`;
            const outputs: string[] = [];
            rig.rule(marker, (request) => {
              // What the model read after the call: its output, and (warm Codex) the denial's reason steered in after it.
              const asked = request.entries.findLastIndex((e) => e.role === 'user' && e.text.includes(marker));
              const at = request.entries.findIndex((e, i) => i > asked && e.role === 'tool');
              if (at < 0) return { shell: decision === 'rule' ? 'touch ruled.txt' : `touch ${file}` };
              const out = request.entries
                .slice(at)
                .map((e) => e.text)
                .join('\n');
              outputs.push(out);
              return { reply: `${marker} done: ${out.slice(0, 200)}` };
            });
            const sent = rig.send({ agent: 'asker', senderId: `approve-${decision}`, message: `${marker} create the file` });
            if (decision !== 'rule') {
              const pending = await waitFor(
                async () => (await rig.daemon.api.listApprovals({ query: { status: 'pending', agent: 'asker' } })).find((a) => !seen.has(a.id)),
                120_000,
                'a pending approval request',
              );
              seen.add(pending.id);
              expect(pending.summary).toContain(`touch ${file}`);
              if (process === 'per-message') expect(pending).toMatchObject({ kind: 'permission', tool: 'Bash' });
              await rig.daemon.api.decideApproval({ params: { id: pending.id }, body: { decision, ...(decision === 'deny' ? { reason: 'not in this workspace' } : {}), by: 'test' } });
            }
            const o = await sent;
            expect(o.runs[0]?.status, JSON.stringify(o.runs)).toBe('completed');
            expect(existsSync(join(workspace, decision === 'rule' ? 'ruled.txt' : file)), `the file after ${decision}`).toBe(decision !== 'deny');
            // The model reads the denial's reason (per message as the tool's result; warm Codex steered in after it).
            if (decision === 'deny' && (process === 'per-message' || name === 'codex')) expect(outputs.join('\n')).toContain('not in this workspace');
            if (process === 'per-message') {
              const asked = await rig.daemon.api.listApprovals({ query: { conversationId: o.tree.conversation.id } });
              expect(asked.map((a) => a.status)).toEqual(decision === 'rule' ? [] : [decision === 'deny' ? 'denied' : 'allowed']);
            }
          }
        }, 400_000);
      }

      // Warm Codex asks about every MCP tool call under permission_mode ask (an elicitation the desk answers).
      if (asks && (process === 'per-message' || name === 'codex')) {
        it("TinyAGI's own MCP tools need no person: call_agent runs the teammate and ask_human reaches the person while the agent asks for everything else", async () => {
          const parent = `ASK-CALL-${name}-${process}`;
          const child = `ASK-CHILD-${name}-${process}`;
          rig.rule(parent, (request) => {
            const out = toolOutput(request);
            if (out === undefined) return { tool: 'call_agent', input: { agent: 'beta', task: `${child} what is the code?` } };
            return { reply: `The sub-agent said: ${out}` };
          });
          rig.rule(child, () => ({ reply: 'The code is 2718.' }));
          const o = await rig.send({ agent: 'asker', senderId: `ask-call-${process}`, message: `${parent} ask beta for the code` });
          expect(o.replies.join('\n'), describeOutcome(o)).toContain('The code is 2718.');
          expect(o.runs.find((r) => r.agentId === 'beta')?.status).toBe('completed');
          expect(await rig.daemon.api.listApprovals({ query: { conversationId: o.tree.conversation.id } })).toEqual([]);

          const marker = `ASK-HUMAN-${name}-${process}`;
          rig.rule(marker, (request) => {
            const out = toolOutput(request);
            if (out === undefined) return { tool: 'ask_human', input: { question: 'Which branch?', choices: ['main', 'next'] } };
            return { reply: `The person chose: ${out}` };
          });
          const q = await rig.send({
            agent: 'asker',
            senderId: `ask-human-${process}`,
            message: `${marker} pick the branch`,
            whileRunning: async () => {
              const question = await waitFor(
                async () => (await rig.daemon.api.listApprovals({ query: { status: 'pending', agent: 'asker' } })).find((a) => a.tool === 'ask_human'),
                120_000,
                'the question in the inbox',
              );
              await rig.daemon.api.decideApproval({ params: { id: question.id }, body: { decision: 'answer', answer: 'next, for the release', by: 'real-cli test' } });
            },
          });
          expect(q.replies.join('\n'), describeOutcome(q)).toMatch(/The person chose: [\s\S]*next, for the release/);
          // The question is the only request: the ask_human call itself asked nobody.
          expect((await rig.daemon.api.listApprovals({ query: { conversationId: q.tree.conversation.id } })).map((a) => a.kind)).toEqual(['question']);
        }, 300_000);
      }
    });
  }
}

/**
 * TinyAGI's MCP tools with the real CLIs (issue 37), beyond call_agent and send_to_agent
 * (mcp-tools.test.ts):
 * - the model calls `ask_human` through the CLI's MCP client (Claude Code, Codex, OpenCode); the question waits in the approvals inbox,
 *   a person answers it through the API, and the answer is the tool's result the model reads;
 * - a user's own MCP server, configured the way the user would (Claude Code: ~/.claude.json;
 *   Codex: ~/.codex/config.toml; OpenCode: ~/.config/opencode/opencode.json), is still offered
 *   next to TinyAGI's and runs;
 * - the daemon's own `/mcp` (streamable HTTP, the API token) added there as an HTTP server works
 *   with each CLI's own MCP client.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, toolOutput, waitFor } from '@tinyagi/test-kit';
import { CLI_CASES, startRig, type CliName, type Outcome, type Rig } from './harness.ts';

const OWN_SERVER = fileURLToPath(new URL('./fixtures/own-mcp-server.mjs', import.meta.url));

const describeOutcome = (o: Outcome): string =>
  JSON.stringify({ runs: o.runs.map((r) => ({ agent: r.agentId, status: r.status, error: r.error })), replies: o.replies, attempts: o.message.attempts, lastError: o.message.lastError });

/**
 * The user's own MCP servers in the CLI's own user configuration (HOME is the rig's root): a
 * stdio one (the weather fixture), and the daemon's own `/mcp` over streamable HTTP with the API
 * token, as a person would add TinyAGI to their CLI (the client tools).
 */
function configureOwnServers(name: CliName, home: string, daemonUrl: string, token: string): void {
  const url = `${daemonUrl}/mcp`;
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
    mkdirSync(join(home, '.codex'), { recursive: true });
    const toml = [
      '[mcp_servers.weather]',
      `command = ${JSON.stringify(process.execPath)}`,
      `args = [${JSON.stringify(OWN_SERVER)}]`,
      '[mcp_servers.team]',
      `url = ${JSON.stringify(url)}`,
      `http_headers = { Authorization = ${JSON.stringify(`Bearer ${token}`)} }`,
    ];
    writeFileSync(join(home, '.codex', 'config.toml'), `${toml.join('\n')}\n`);
  }
}

for (const name of ['claude', 'codex', 'opencode'] as CliName[]) {
  for (const process of ['per-message', 'warm'] as const) {
    describe(`${name} (${process})`, () => {
      let rig: Rig;

      beforeAll(async () => {
        // The stand-in model does not search for deferred tools: Claude Code offers MCP tools directly.
        rig = await startRig(CLI_CASES[name], {
          agentSettings: { process, env_passthrough: ['CLAUDE_CODE_MAX_RETRIES', 'ENABLE_TOOL_SEARCH'] },
          daemonEnv: { ENABLE_TOOL_SEARCH: 'false' },
        });
        configureOwnServers(name, rig.daemon.root, rig.daemon.url, rig.daemon.token());
      }, 120_000);

      afterAll(async () => {
        await rig?.cleanup();
        cleanupTemp();
      });

      it("the user's own MCP server is still offered next to TinyAGI's, and its tool runs", async () => {
        const marker = `OWN-MCP-${name}-${process}`;
        rig.rule(marker, (request) => {
          const out = toolOutput(request);
          if (out === undefined) return { tool: 'weather_report', input: { city: 'Lisbon' } };
          return { reply: `Reported: ${out}` };
        });
        const o = await rig.send({ agent: 'alpha', senderId: `own-mcp-${name}-${process}`, message: `${marker} what is the weather?` });
        const offered = rig.model.calls.find((c) => c.request.entries.some((e) => e.text.includes(marker)))?.request.tools ?? [];
        expect(
          offered.filter((t) => /weather_report$|(^|_)call_agent$/.test(t)),
          `both servers' tools: ${offered.join(', ')}`,
        ).toHaveLength(2);
        expect(o.replies.join('\n'), describeOutcome(o)).toMatch(/Reported: [\s\S]*OWN-WEATHER: sunny in Lisbon/);
      });

      it("TinyAGI itself as the user's MCP server over HTTP (the daemon's /mcp with the API token): the CLI's client lists the team", async () => {
        const marker = `HTTP-MCP-${name}-${process}`;
        rig.rule(marker, (request) => {
          const out = toolOutput(request);
          if (out === undefined) return { tool: 'list_teams', input: {} };
          return { reply: `Teams: ${out}` };
        });
        const o = await rig.send({ agent: 'alpha', senderId: `http-mcp-${name}-${process}`, message: `${marker} which teams are there?` });
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
          rig.rule(child, (request) => (toolOutput(request) === undefined ? { shell: 'sleep 75' } : { reply: 'Slow but done.' }));
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
    });
  }
}

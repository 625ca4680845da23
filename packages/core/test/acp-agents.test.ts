/**
 * What the `acp` runtime knows of claude-agent-acp and codex-acp (runtimes/acp-agents.ts): which
 * command lines start them, what their launch gets from permission_mode, whether they read
 * AGENTS.md, and codex-acp's rollout file read for usage and reply (lines in the shape Codex
 * 0.137, inside codex-acp 0.16.0, writes them; the real agents are driven in
 * packages/real-cli-test/test/acp-agents.test.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acpAgentProfile, acpReadsAgentsMd, claudeRestoredCost, findCodexRollout, knownAcpAgent, parseRollout } from '../src/invoker/runtimes/acp-agents.ts';
import { acpRuntime } from '../src/invoker/runtimes/acp.ts';
import type { InvokeRequest } from '../src/invoker/types.ts';
import { cliReadsAgentsMd } from '../src/invoker/workspace-instructions.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const temp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'tinyagi-acp-agents-'));
  dirs.push(d);
  return d;
};

const request = (command: string, permissionMode?: string, env: Record<string, string> = {}): InvokeRequest =>
  ({ agentId: 'a', target: { runtime: 'acp', provider: 'acp', command, env, ...(permissionMode ? { permissionMode } : {}) } }) as unknown as InvokeRequest;

const tokenCount = (total: number, input: number, output: number, cached = 0): string =>
  JSON.stringify({
    type: 'event_msg',
    payload: {
      type: 'token_count',
      info: {
        total_token_usage: { total_tokens: total },
        last_token_usage: { input_tokens: input, cached_input_tokens: cached, output_tokens: output, reasoning_output_tokens: 0, total_tokens: input + output },
      },
    },
  });

describe('known ACP agents', () => {
  it('are known by the command name or a launcher argument naming the package', () => {
    expect(knownAcpAgent('/usr/local/bin/claude-agent-acp')).toBe('claude-agent-acp');
    expect(knownAcpAgent('codex-acp', ['-c', 'x=1'])).toBe('codex-acp');
    expect(knownAcpAgent('npx', ['@zed-industries/codex-acp@0.16.0'])).toBe('codex-acp');
    expect(knownAcpAgent('npx', ['-y', '@agentclientprotocol/claude-agent-acp'])).toBe('claude-agent-acp');
    expect(knownAcpAgent('gemini', ['--acp'])).toBeUndefined();
    expect(knownAcpAgent('npx', ['@zed-industries/codex-acp-linux-x64'])).toBeUndefined();
  });

  it("claude-agent-acp: permission_mode selects Claude Code's mode of the same name (ask: default; unset: bypassPermissions), suggestions off, IS_SANDBOX", () => {
    expect(acpAgentProfile(request('claude-agent-acp', 'ask'))?.modeId).toBe('default');
    expect(acpAgentProfile(request('claude-agent-acp'))?.modeId).toBe('bypassPermissions');
    expect(acpAgentProfile(request('claude-agent-acp', 'acceptEdits'))?.modeId).toBe('acceptEdits');
    const profile = acpAgentProfile(request('claude-agent-acp', undefined, { ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' }));
    expect(profile?.env).toEqual({ IS_SANDBOX: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' });
    expect(profile?.sessionMeta).toEqual({ claudeCode: { options: { promptSuggestions: false } } });
  });

  it('codex-acp: no login shell; ask runs untrusted in the workspace sandbox, anything else never without one', () => {
    expect(acpAgentProfile(request('codex-acp', 'ask'))?.args).toEqual(['-c', 'allow_login_shell=false', '-c', 'approval_policy="untrusted"', '-c', 'sandbox_mode="workspace-write"']);
    expect(acpAgentProfile(request('codex-acp', 'bypassPermissions'))?.args).toEqual(['-c', 'allow_login_shell=false', '-c', 'approval_policy="never"', '-c', 'sandbox_mode="danger-full-access"']);
    expect(acpAgentProfile(request('gemini'))).toBeUndefined();
  });

  it('AGENTS.md: the known agents read it themselves (claude-agent-acp not beside a CLAUDE.md); acp.reads_agents_md decides for any agent', () => {
    const ws = temp();
    const target = (acp: Record<string, unknown>) =>
      acpRuntime.target({ agentId: 'a', agent: {}, block: acp, model: undefined, credentials: {}, env: {} }) as { readsAgentsMd?: boolean; instructionFiles?: string[] };
    expect(cliReadsAgentsMd('acp', ws, target({ command: 'codex-acp' }))).toBe(true);
    expect(cliReadsAgentsMd('acp', ws, target({ command: 'claude-agent-acp' }))).toBe(true);
    expect(cliReadsAgentsMd('acp', ws, target({ command: 'gemini', args: ['--acp'] }))).toBe(false);
    expect(cliReadsAgentsMd('acp', ws, target({ command: 'my-agent', reads_agents_md: true }))).toBe(true);
    expect(cliReadsAgentsMd('acp', ws, target({ command: 'codex-acp', reads_agents_md: false }))).toBe(false);
    writeFileSync(join(ws, 'CLAUDE.md'), '# mine\n');
    expect(cliReadsAgentsMd('acp', ws, target({ command: 'claude-agent-acp' })), 'Claude Code reads CLAUDE.md, not AGENTS.md').toBe(false);
    expect(acpReadsAgentsMd('codex-acp')).toEqual({ reads: true, instructionFiles: [] });
  });
});

describe("claude-agent-acp's restored cost", () => {
  it("is the last cost-state of the session's transcript (what Claude Code restores on resume), 0 without one", () => {
    const home = temp();
    const dir = join(home, '.claude', 'projects', '-tmp-ws-alpha');
    mkdirSync(dir, { recursive: true });
    const costState = (total: number) => JSON.stringify({ type: 'cost-state', sessionId: 'sess-1', totalCostUSD: total, modelUsage: {} });
    writeFileSync(
      join(dir, 'sess-1.jsonl'),
      [JSON.stringify({ type: 'user', message: { content: 'hi' } }), costState(0.0088), JSON.stringify({ type: 'assistant' }), costState(0.0132), ''].join('\n'),
    );
    writeFileSync(join(dir, 'sess-2.jsonl'), `${JSON.stringify({ type: 'user', message: { content: 'hi' } })}\n`);
    expect(claudeRestoredCost({ HOME: home }, 'sess-1')).toBe(0.0132);
    expect(claudeRestoredCost({ HOME: home }, 'sess-2'), 'a process killed before it wrote one: the total starts from 0').toBe(0);
    expect(claudeRestoredCost({ HOME: home }, 'gone')).toBe(0);
    expect(claudeRestoredCost({ HOME: home, CLAUDE_CONFIG_DIR: join(home, 'elsewhere') }, 'sess-1')).toBe(0);
  });
});

describe("codex-acp's rollout", () => {
  it('one call per token_count whose session total grew (a repeat is not a call), the reply from task_complete', () => {
    const lines = [
      JSON.stringify({ type: 'turn_context', payload: { model: 'gpt-5.1' } }),
      tokenCount(2107, 2100, 7),
      tokenCount(2107, 2100, 7),
      JSON.stringify({ type: 'event_msg', payload: { type: 'agent_message', message: 'done' } }),
      tokenCount(4624, 2500, 17, 2000),
      JSON.stringify({ type: 'event_msg', payload: { type: 'task_complete', last_agent_message: 'done' } }),
      '{"type":"event_msg","payload":{"type":"token_count"', // a line being written
    ];
    const read = parseRollout(lines.join('\n'), undefined);
    expect(read.calls).toEqual([
      { inputTokens: 2100, outputTokens: 7, model: 'gpt-5.1' },
      { inputTokens: 2500, outputTokens: 17, cacheReadTokens: 2000, model: 'gpt-5.1' },
    ]);
    expect(read).toMatchObject({ ended: true, reply: 'done', lastTotal: 4624 });
    // The total before the turn's lines: its repeat at the turn's start is no call.
    expect(parseRollout(`${tokenCount(4624, 2500, 17)}\n`, 4624).calls).toEqual([]);
    const aborted = parseRollout(`${JSON.stringify({ type: 'event_msg', payload: { type: 'turn_aborted', reason: 'interrupted' } })}\n`, 10);
    expect(aborted).toMatchObject({ ended: true, reply: undefined, calls: [] });
  });

  it('is found by session id under $CODEX_HOME/sessions/YYYY/MM/DD', () => {
    const home = temp();
    const day = join(home, 'sessions', '2026', '11', '25');
    mkdirSync(day, { recursive: true });
    writeFileSync(join(day, 'rollout-2026-11-25T14-26-42-01a2131a-08b6.jsonl'), '');
    writeFileSync(join(day, 'rollout-2026-11-25T14-27-00-01a2131a-ffff.jsonl'), '');
    expect(findCodexRollout(home, '01a2131a-08b6')).toBe(join(day, 'rollout-2026-11-25T14-26-42-01a2131a-08b6.jsonl'));
    expect(findCodexRollout(home, 'nope')).toBeUndefined();
    expect(findCodexRollout(join(home, 'missing'), '01a2131a-08b6')).toBeUndefined();
  });
});

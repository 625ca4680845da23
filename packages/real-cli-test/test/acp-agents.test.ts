/**
 * ACP agents other than OpenCode (issue 48 §4) through TinyAGI's generic `acp` runtime (warm
 * sessions,, runtimes/acp.ts and acp-agents.ts), as their users configure them, against the
 * stand-in model server on one daemon: the real claude-agent-acp 0.101.0 (the Claude Agent SDK's
 * Claude Code on Anthropic's Messages API, ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY named in its
 * env_passthrough) and codex-acp 0.16.0 (Codex on the Responses API, a provider in the user's
 * Codex config.toml reading OPENAI_API_KEY). docs/sessions.md, "The `acp` runtime", has
 * these recipes.
 *
 * - claude-agent-acp reports the session's cumulative cost (`usage_update.cost`), which counts a
 *   loaded session's earlier turns: a loaded session's first turn is charged that turn only.
 * - The agents' own modes follow `permission_mode`: under `ask` a command reaches TinyAGI's
 *   approval desk (claude-agent-acp `default`, codex-acp `untrusted`), under `bypassPermissions`
 *   nothing asks.
 * - codex-acp ends its turn (`cancelled`) at a denied command: the run ends with the denial,
 *   once, not as a failed attempt retried and dead-lettered.
 * - codex-acp's usage per call (read from its rollout) equals what was served, its warnings stay
 *   out of the reply, AGENTS.md (read by both agents themselves) reaches the model once, and
 *   `tinyagi call` works from its shell (not a login shell, which loses the shim on PATH).
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, toolOutput, waitFor, type ModelCall, type ModelUsage } from '@tinyagi/test-kit';
import { CLI_CASES, PROVIDER_KEY, codexHomeDir, instructionCounts, isTitleCall, startRig, type CliCase, type Outcome, type Rig } from './harness.ts';
import { describeOutcome } from './suite.ts';

/** The rig's stand-in serves both APIs; a request of either provider's key elsewhere is a leak. */
const cli: CliCase = { ...CLI_CASES.claude, vendorHosts: ['api.anthropic.com', 'api.openai.com'] };

/** claude-agent-acp's default model and its price (its own figures: $4 / $20 per million input / output tokens). */
const CLAUDE_ACP_MODEL = 'claude-opus-5-5';
const priceOf = (u: ModelUsage): number => (u.inputTokens * 4 + u.outputTokens * 20) / 1_000_000;

const claudeAgent = (permissionMode: string): Record<string, unknown> => ({
  provider: 'acp',
  process: 'warm',
  acp: { command: 'claude-agent-acp' },
  env_passthrough: ['ANTHROPIC_BASE_URL', 'ANTHROPIC_API_KEY'],
  permission_mode: permissionMode,
});
const codexAgent = (permissionMode: string): Record<string, unknown> => ({
  provider: 'acp',
  process: 'warm',
  acp: { command: 'codex-acp' },
  env_passthrough: ['OPENAI_API_KEY', 'CODEX_HOME'],
  permission_mode: permissionMode,
});

let rig: Rig;
/** Codex's home (config.toml, sessions) for codex-acp, named by CODEX_HOME: outside /tmp (`codexHomeDir` says why). */
const codexHome = codexHomeDir();
/** A reply as delivered: the agent's text, signed with its id. */
const signed = (text: string, agent: string): string => `${text}\n\n— @${agent}`;
const workspaceOf = (agent: string): string => join(rig.daemon.root, 'workspace', agent);
const byApi = (calls: ModelCall[], api: 'anthropic' | 'responses'): ModelCall[] => calls.filter((c) => c.request.api === api);
const isSuggestionCall = (c: ModelCall): boolean => c.request.entries.some((e) => e.role === 'user' && e.text.includes('[SUGGESTION MODE'));

/** AGENTS.md and the system prompt reach the model once in every request of the agent's turns (title calls aside). */
function expectInstructionsOnce(calls: ModelCall[]): void {
  const turns = calls.filter((c) => !isTitleCall(c.request) && !isSuggestionCall(c));
  expect(turns.length).toBeGreaterThan(0);
  for (const { marker, counts } of instructionCounts(rig, turns)) {
    expect(counts, `"${marker}" (${marker.startsWith('AGENTS') ? 'AGENTS.md' : 'system_prompt'}) reaches the model once in each request`).toEqual(counts.map(() => 1));
  }
}

/** Answers the first request of a marker with a shell call, the next with `reply(output)`. */
function shellThenReply(marker: string, command: string, reply: (output: string) => string): void {
  rig.rule(marker, (request) => {
    const out = toolOutput(request);
    return out === undefined ? { shell: command } : { reply: reply(out) };
  });
}

async function pendingApproval(agent: string, seen: Set<string>): Promise<{ id: string; summary: string; tool: string }> {
  const pending = await waitFor(
    async () => (await rig.daemon.api.listApprovals({ query: { status: 'pending', agent } })).find((a) => !seen.has(a.id)),
    60_000,
    `a pending approval request of ${agent}`,
  );
  seen.add(pending.id);
  return pending;
}

describe('ACP agents: claude-agent-acp and codex-acp', () => {
  beforeAll(async () => {
    rig = await startRig(cli, {
      daemonEnv: (url) => ({ ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: PROVIDER_KEY, OPENAI_API_KEY: PROVIDER_KEY, CODEX_HOME: codexHome }),
      // The Codex user's own provider, as codex-acp reads it from $CODEX_HOME/config.toml.
      prepareHome: (_home, url) => {
        writeFileSync(
          join(codexHome, 'config.toml'),
          `model = "gpt-5.1"\nmodel_provider = "standin"\n\n[model_providers.standin]\nname = "Stand-in"\nbase_url = "${url}/v1"\nenv_key = "OPENAI_API_KEY"\nwire_api = "responses"\n`,
        );
      },
      agents: {
        cla: claudeAgent('bypassPermissions'),
        claask: claudeAgent('ask'),
        cdx: codexAgent('bypassPermissions'),
        cdxask: codexAgent('ask'),
      },
    });
  }, 120_000);

  afterAll(async () => {
    await rig?.cleanup();
    rmSync(codexHome, { recursive: true, force: true });
    cleanupTemp();
  });

  it("claude-agent-acp: a loaded session's first turn is charged that turn only (the agent's cost is the session's total); the reply is the model's alone; AGENTS.md once", async () => {
    rig.rule('CLCOST-1', () => ({ reply: 'first answer', usage: { inputTokens: 1000, outputTokens: 20 } }));
    rig.rule('CLCOST-2', () => ({ reply: 'second answer', usage: { inputTokens: 3000, outputTokens: 50 } }));
    const first = await rig.send({ agent: 'cla', senderId: 'cost', message: 'CLCOST-1 hello' });
    expect(first.runs[0]?.status, describeOutcome(first)).toBe('completed');
    // The auto-mode notice Claude Code sends through a gateway is a notice, not part of the reply.
    expect(first.replies, describeOutcome(first)).toEqual([signed('first answer', 'cla')]);
    const main1 = byApi(first.calls, 'anthropic').filter((c) => !isTitleCall(c.request));
    expect(main1.map((c) => c.request.model)).toEqual([CLAUDE_ACP_MODEL]);
    // The prompt's own usage: the turn's calls (the title call is Claude Code's, reported by no one).
    expect({ input: first.runs[0]?.inputTokens, output: first.runs[0]?.outputTokens }).toEqual({ input: 1000, output: 20 });
    expectInstructionsOnce(first.calls);
    // TinyAGI's MCP server (session/new's mcpServers) reached the agent: its tools are offered (deferred behind ToolSearch).
    expect(JSON.stringify(main1[0]?.request.body)).toContain('mcp__tinyagi__');

    const session = (await rig.daemon.api.listSessions()).sessions.find((s) => s.agentId === 'cla' && s.sessionKey.includes('cost'));
    expect(session?.sessionId, 'the agent named its ACP session').toMatch(/^[\w.-]{8,}$/);
    expect((await rig.daemon.api.closeSessions({ body: { agent: 'cla', sessionKey: session!.sessionKey } })).closed).toBe(1);

    const second = await rig.send({ agent: 'cla', senderId: 'cost', message: 'CLCOST-2 again' });
    expect(second.runs[0]?.status, describeOutcome(second)).toBe('completed');
    expect(second.replies).toEqual([signed('second answer', 'cla')]);
    const after = (await rig.daemon.api.listSessions()).sessions.find((s) => s.sessionKey === session!.sessionKey);
    expect(after?.sessionId, 'the session was loaded (session/load), not replaced').toBe(session?.sessionId);
    expect(after?.pid).not.toBe(session?.pid);
    const turnCalls = byApi(second.calls, 'anthropic');
    expect(
      turnCalls.filter((c) => !isTitleCall(c.request)).some((c) => JSON.stringify(c.request.body).includes('first answer')),
      'the earlier turn is in the loaded history',
    ).toBe(true);
    expect(turnCalls.filter(isSuggestionCall), 'no prompt-suggestion call: TinyAGI turns them off').toEqual([]);
    const served = turnCalls.reduce((usd, c) => usd + priceOf(c.served), 0);
    expect(second.runs[0]?.costUsd, `the loaded session's first turn costs its own calls (${turnCalls.length}), not the session's total`).toBeCloseTo(served, 6);
    expectInstructionsOnce(second.calls);
  }, 180_000);

  it('claude-agent-acp: under permission_mode ask a command reaches the approval desk and runs once allowed; under bypassPermissions nothing asks', async () => {
    shellThenReply('CLASK-1', 'touch asked.txt', (out) => `asked done ${out.length}`);
    const sent = rig.send({ agent: 'claask', senderId: 'ask', message: 'CLASK-1 create the file' });
    const pending = await pendingApproval('claask', new Set());
    expect(pending.summary).toContain('touch asked.txt');
    await rig.daemon.api.decideApproval({ params: { id: pending.id }, body: { decision: 'allow_once', by: 'test' } });
    const o = await sent;
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    expect(existsSync(join(workspaceOf('claask'), 'asked.txt')), 'the allowed command ran').toBe(true);

    shellThenReply('CLBYP-1', 'touch bypass.txt', () => 'bypass done');
    const b = await rig.send({ agent: 'cla', senderId: 'bypass', message: 'CLBYP-1 create the file' });
    expect(b.runs[0]?.status, describeOutcome(b)).toBe('completed');
    expect(existsSync(join(workspaceOf('cla'), 'bypass.txt')), 'the command ran').toBe(true);
    expect(await rig.daemon.api.listApprovals({ query: { conversationId: b.tree.conversation.id } }), 'nothing asked under bypassPermissions').toEqual([]);
  }, 180_000);

  it("codex-acp: `tinyagi call` from its shell; every call's usage recorded as served; its warnings out of the reply; AGENTS.md once; nothing asks under bypassPermissions", async () => {
    rig.rule('CXCALL-P', (request) => {
      const out = toolOutput(request);
      if (out === undefined) return { shell: 'tinyagi call cla "CXCALL-C what is the code?"', usage: { inputTokens: 2100, outputTokens: 31 } };
      return { reply: out.includes('The code is 4711.') ? 'The sub-agent said 4711.' : `no code: ${out.slice(0, 300)}`, usage: { inputTokens: 2500, outputTokens: 17 } };
    });
    rig.rule('CXCALL-C', () => ({ reply: 'The code is 4711.' }));
    const o = await rig.send({ agent: 'cdx', senderId: 'call', message: 'CXCALL-P ask cla for the code' });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    expect(o.replies, `the reply is the model's, without Codex's warnings\n${describeOutcome(o)}`).toEqual([signed('The sub-agent said 4711.', 'cdx')]);
    const child = o.runs.find((r) => r.agentId === 'cla');
    expect(child?.parentRunId, 'the sub-agent ran as a child of the calling run').toBe(o.runs[0]?.runId);
    const codexCalls = byApi(o.calls, 'responses');
    expect(codexCalls).toHaveLength(2);
    const want = codexCalls.reduce((s, c) => ({ input: s.input + c.served.inputTokens, output: s.output + c.served.outputTokens }), { input: 0, output: 0 });
    expect({ input: o.runs[0]?.inputTokens, output: o.runs[0]?.outputTokens }, 'the usage of both calls, as served').toEqual(want);
    expectInstructionsOnce(codexCalls);
    expect(await rig.daemon.api.listApprovals({ query: { conversationId: o.tree.conversation.id } }), 'nothing asked under bypassPermissions').toEqual([]);
  }, 180_000);

  it('codex-acp: under permission_mode ask a command reaches the approval desk; denied, the run ends with the denial once (no retry); allowed, it runs', async () => {
    const seen = new Set<string>();
    shellThenReply('CXDENY-1', 'touch denied.txt', () => 'should not get here');
    const sent = rig.send({ agent: 'cdxask', senderId: 'deny', message: 'CXDENY-1 create the file' });
    const pending = await pendingApproval('cdxask', seen);
    expect(pending.summary).toContain('touch denied.txt');
    await rig.daemon.api.decideApproval({ params: { id: pending.id }, body: { decision: 'deny', reason: 'not in this workspace', by: 'test' } });
    const o: Outcome = await sent;
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    expect(o.message.attempts, `one attempt: a denial is no failure to retry\n${describeOutcome(o)}`).toBe(1);
    expect(o.replies.join('\n')).toContain('denied');
    expect(o.replies.join('\n')).toContain('not in this workspace');
    expect(existsSync(join(workspaceOf('cdxask'), 'denied.txt')), 'the denied command did not run').toBe(false);
    expect((await rig.daemon.api.listApprovals({ query: { conversationId: o.tree.conversation.id } })).map((a) => a.status)).toEqual(['denied']);

    const outputs: string[] = [];
    shellThenReply('CXALLOW-1', 'touch allowed.txt', (out) => {
      outputs.push(out);
      return 'allowed done';
    });
    const sent2 = rig.send({ agent: 'cdxask', senderId: 'allow', message: 'CXALLOW-1 create the file' });
    const asked = await pendingApproval('cdxask', seen);
    await rig.daemon.api.decideApproval({ params: { id: asked.id }, body: { decision: 'allow_once', by: 'test' } });
    const a = await sent2;
    expect(a.runs[0]?.status, describeOutcome(a)).toBe('completed');
    expect(a.replies).toEqual([signed('allowed done', 'cdxask')]);
    expect(existsSync(join(workspaceOf('cdxask'), 'allowed.txt')), `the allowed command ran (its output: ${outputs.join(' | ')})`).toBe(true);
  }, 180_000);

  it('no request of either provider went anywhere but the stand-in', () => {
    const refused = rig.proxy.refused.filter((r) => cli.vendorHosts.includes(r.host));
    expect(
      refused.map((r) => `${r.method} ${r.host}:${r.port}`),
      `refused hosts: ${rig.proxy.hosts().join(', ')}`,
    ).toEqual([]);
    expect(rig.model.unknown, 'no request to a path the stand-in does not serve').toEqual([]);
  });
});

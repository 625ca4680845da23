/**
 * The CLI adapters against behaviour the real CLIs have and our first fakes did not (issue 30,
 * checked with Claude Code 2.1.330, codex-cli 0.169.0, opencode 1.18.33): login shells that reset
 * PATH, providers configured the way each CLI reads them, usage totals that grow on resume,
 * retries that must not show the model a message twice, AGENTS.md read from the workspace.
 * The fakes (@tinyagi/test-kit bin/) log what reached their "model" (`context`) and where their
 * requests would go (`endpoint`).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeLogEntries, invokeError } from './fixtures/fake-cli-log.ts';
import { fakeCli, waitFor } from '@tinyagi/test-kit';
import { cliReadsAgentsMd, invokeAgent, resolveInvokeTarget, spendOf, type InvokeRequest, type InvokeResult, type InvokeSession } from '../src/invoker/index.ts';
import type { Settings } from '../src/config/schema.ts';
import { composeSystemPrompt } from '../src/workspace/prompt.ts';
import { provisionWorkspace } from '../src/workspace/provision.ts';

type Cli = 'claude' | 'codex' | 'opencode';
const CLIS: Cli[] = ['claude', 'codex', 'opencode'];

interface LogEntry {
  cli: Cli;
  pid: number;
  argv: string[];
  context: string;
  env: Record<string, string>;
  endpoint?: { baseUrl?: string; apiKey?: string; npm?: string };
  titleCall?: boolean;
  skillWarnings?: string[];
}

let root: string;
let workspace: string;
let logFile: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tinyagi-cli-sessions-'));
  workspace = join(root, 'ws');
  mkdirSync(workspace);
  logFile = join(root, 'fake.log');
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function request(cli: Cli, prompt: string, extra: Partial<InvokeRequest> = {}): InvokeRequest {
  return {
    agentId: 'coder',
    target: { runtime: cli === 'claude' ? 'claude-code' : cli, provider: 'test', command: fakeCli(cli) },
    prompt,
    systemPrompt: 'You are the coder.',
    cwd: workspace,
    env: { FAKE_LOG: logFile, FAKE_STATE_DIR: root },
    ...extra,
  };
}

const logEntries = (): LogEntry[] => fakeLogEntries<LogEntry>(logFile);

function occurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** The session the orchestrator would pass for the next turn after `result`. */
function nextSession(result: InvokeResult, history: InvokeSession['history'] = []): InvokeSession {
  return {
    key: 'shared',
    resumeId: result.sessionId ?? null,
    history,
    ...(result.instructionsHash ? { instructionsHash: result.instructionsHash } : {}),
    ...(result.runtimeState ? { runtimeState: result.runtimeState } : {}),
  };
}

describe.each(CLIS)('%s: `tinyagi call` from the shell tool', (cli) => {
  it('works although the shell start-up files reset PATH (codex runs `bash -lc`)', async () => {
    // A `tinyagi` only this PATH entry has, and a HOME whose profile resets PATH like Debian's /etc/profile does.
    const bin = join(root, 'shim');
    mkdirSync(bin);
    writeFileSync(join(bin, 'tinyagi'), '#!/bin/sh\necho "helper says hi to $3"\n');
    chmodSync(join(bin, 'tinyagi'), 0o755);
    const home = join(root, 'home');
    mkdirSync(home);
    for (const file of ['.bash_profile', '.profile']) writeFileSync(join(home, file), 'PATH=/usr/bin:/bin\nexport PATH\n');

    const result = await invokeAgent(request(cli, 'FAKE:call=helper me', { env: { FAKE_LOG: logFile, FAKE_STATE_DIR: root, HOME: home, PATH: `${bin}:${process.env.PATH}` } }));
    expect(result.text).toBe(`Sub-agent said: helper says hi to me (via ${join(bin, 'tinyagi')})`);
  });
});

describe('custom providers reach their base URL with their key, and nothing else gets the key', () => {
  const settings = (runtime: string): Settings =>
    ({
      agents: { coder: { provider: 'custom:local', model: 'local-model' } },
      custom_providers: { local: { name: 'Local', runtime, base_url: 'http://127.0.0.1:9/v1', api_key: 'sk-local-only' } },
    }) as Settings;

  it('codex: a model_providers entry given with -c, the key in a variable only that provider reads', async () => {
    const target = resolveInvokeTarget(settings('codex'), 'coder', { PATH: '/usr/bin', OPENAI_API_KEY: 'sk-openai-user' });
    await invokeAgent(request('codex', 'hi', { target: { ...target, command: fakeCli('codex') } }));
    const [entry] = logEntries();
    expect(entry?.endpoint).toEqual({ baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-local-only', wireApi: 'responses' });
    expect(Object.entries(entry?.env ?? {}).filter(([name, value]) => value === 'sk-local-only' && name !== 'TINYAGI_CODEX_API_KEY')).toEqual([]);
    expect(entry?.env.OPENAI_API_KEY).toBeUndefined();
  });

  it('codex on OpenAI: the key as CODEX_API_KEY and OPENAI_BASE_URL as openai_base_url (codex reads neither OPENAI_ variable)', async () => {
    const openai = { agents: { coder: { provider: 'openai' } }, models: { openai: { api_key: 'sk-openai-user' } } } as Settings;
    const target = resolveInvokeTarget(openai, 'coder', { PATH: '/usr/bin', OPENAI_BASE_URL: 'http://127.0.0.1:9/gateway' });
    await invokeAgent(request('codex', 'hi', { target: { ...target, command: fakeCli('codex') } }));
    expect(logEntries()[0]?.endpoint).toEqual({ baseUrl: 'http://127.0.0.1:9/gateway', apiKey: 'sk-openai-user' });
  });

  it('opencode: a provider entry (@ai-sdk/openai-compatible, baseURL) in the generated config', async () => {
    const target = resolveInvokeTarget(settings('opencode'), 'coder', { PATH: '/usr/bin' });
    await invokeAgent(request('opencode', 'hi', { target: { ...target, command: fakeCli('opencode') } }));
    const [entry] = logEntries();
    expect(entry?.endpoint).toEqual({ provider: 'tinyagi', npm: '@ai-sdk/openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-local-only' });
    expect(entry?.argv[entry.argv.indexOf('--model') + 1]).toBe('tinyagi/local-model');
  });

  it('claude: ANTHROPIC_BASE_URL with the key as a bearer token, and no traffic to Anthropic besides', async () => {
    const target = resolveInvokeTarget(settings('claude'), 'coder', { PATH: '/usr/bin' });
    await invokeAgent(request('claude', 'hi', { target: { ...target, command: fakeCli('claude') } }));
    const env = logEntries()[0]?.env;
    expect(env).toMatchObject({ ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/v1', ANTHROPIC_AUTH_TOKEN: 'sk-local-only', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' });
    expect(env?.ANTHROPIC_API_KEY).toBeUndefined();
  });
});

/** What one call costs in each fake: per call, whatever the session's running totals are. */
const PER_CALL: Record<Cli, { usage: { inputTokens: number; outputTokens: number }; costUsd: number | undefined }> = {
  claude: { usage: { inputTokens: 120, outputTokens: 42 }, costUsd: 0.0123 },
  codex: { usage: { inputTokens: 200, outputTokens: 30 }, costUsd: undefined },
  opencode: { usage: { inputTokens: 320, outputTokens: 30 }, costUsd: 0.0042 },
};

describe.each(CLIS)('%s: usage per call', (cli) => {
  it('records what each call cost over 4 resumed turns, not the session running total', async () => {
    let result = await invokeAgent(request(cli, 'turn 1'));
    const spent = [result];
    for (let turn = 2; turn <= 4; turn++) {
      result = await invokeAgent(request(cli, `turn ${turn}`, { session: nextSession(result) }));
      spent.push(result);
    }
    expect(spent.map((r) => r.text)).toEqual([1, 2, 3, 4].map((n) => `fake-${cli} turn ${n}: turn ${n}`));
    for (const r of spent) {
      expect(r.usage).toEqual(PER_CALL[cli].usage);
      if (PER_CALL[cli].costUsd === undefined) expect(r.costUsd ?? 0).toBe(0);
      else expect(r.costUsd).toBeCloseTo(PER_CALL[cli].costUsd, 8);
    }
  });
});

describe.each(CLIS)('%s: a retried turn reaches the model once', (cli) => {
  it.each([
    ['a failed attempt (exit 3)', 'FAKE:fail-once', {}],
    [
      'an attempt the watchdog killed',
      'FAKE:hang-once',
      { inactivityMs: 2000, target: { runtime: cli === 'claude' ? 'claude-code' : cli, provider: 'test', command: fakeCli(cli), killGraceMs: 200 } },
    ],
  ] as const)('after %s', async (_what, directive, limits) => {
    const first = await invokeAgent(request(cli, 'first message'));
    const history = [
      { role: 'user' as const, content: 'first message' },
      { role: 'assistant' as const, content: first.text },
    ];
    const message = `second message ${directive}`;
    const session = nextSession(first, history);
    await invokeError(request(cli, message, { session, ...limits }));
    const retried = await invokeAgent(request(cli, message, { session: { ...session, retry: true } }));
    expect(retried.text).toContain('second message');

    const context = logEntries().at(-1)?.context ?? '';
    expect(occurrences(context, 'second message')).toBe(1);
    // The earlier turn is still there, once: resumed from before the failed attempt, or as the transcript.
    expect(occurrences(context, first.text)).toBe(1);
    expect(occurrences(context, 'first message')).toBe(2);
  });
});

describe('claude: a retry whose resume point Claude Code cannot find', () => {
  it('starts a new session with the transcript (the resume point a killed warm process never wrote), the message reaching the model once', async () => {
    const first = await invokeAgent(request('claude', 'first message'));
    const history = [
      { role: 'user' as const, content: 'first message' },
      { role: 'assistant' as const, content: first.text },
    ];
    // The stored resume point names a message the transcript does not hold.
    const lost = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    const session = { ...nextSession(first, history), runtimeState: JSON.stringify({ at: lost }), retry: true };
    const retried = await invokeAgent(request('claude', 'second message', { session }));
    expect(retried.text).toContain('second message');
    expect(retried.sessionId).not.toBe(first.sessionId);
    // The refused run logged nothing (it exits before its model call); the run after it is a new session.
    const fresh = logEntries().at(-1);
    expect(logEntries()).toHaveLength(2);
    expect(fresh?.argv).toContain('--session-id');
    expect(fresh?.argv).not.toContain('--resume-session-at');
    const context = fresh?.context ?? '';
    expect(occurrences(context, 'second message')).toBe(1);
    expect(occurrences(context, first.text)).toBe(1);
  });
});

describe.each(CLIS)('%s: a new session in a conversation with earlier turns', (cli) => {
  it('gets the transcript once (a session held by another node is not resumed here)', async () => {
    const history = [
      { role: 'user' as const, content: 'what is the plan' },
      { role: 'assistant' as const, content: 'ship on friday' },
    ];
    await invokeAgent(request(cli, 'and now?', { session: { key: 'shared', resumeId: null, history } }));
    const context = logEntries()[0]?.context ?? '';
    expect(occurrences(context, 'ship on friday')).toBe(1);
    expect(occurrences(context, 'and now?')).toBe(1);
  });
});

describe.each(CLIS)('%s: AGENTS.md', (cli) => {
  it('reaches the model once: the CLI reads it from the workspace, the system prompt leaves it out', async () => {
    await provisionWorkspace({ dir: workspace, agentId: 'coder' });
    writeFileSync(join(workspace, 'AGENTS.md'), 'Always answer in haiku (marker 7f3a).\n');
    const composed = await composeSystemPrompt({
      agentId: 'coder',
      agent: {},
      workspaceDir: workspace,
      teams: [],
      agentsMdReadByCli: cliReadsAgentsMd(cli === 'claude' ? 'claude-code' : cli, workspace),
    });
    await invokeAgent(request(cli, 'hi', { systemPrompt: composed.text }));
    expect(occurrences(logEntries()[0]?.context ?? '', 'marker 7f3a')).toBe(1);
  });
});

describe('claude: an edited system prompt', () => {
  it('reaches a resumed session (Claude Code 2.1 otherwise keeps the first one: --system-prompt-snapshot)', async () => {
    const first = await invokeAgent(request('claude', 'hi', { systemPrompt: 'Teammates: @alice (marker v1).' }));
    await invokeAgent(request('claude', 'again', { systemPrompt: 'Teammates: @alice, @bob (marker v2).', session: nextSession(first) }));
    const context = logEntries()[1]?.context ?? '';
    expect(context).toContain('marker v2');
    expect(context).not.toContain('marker v1');
  });
});

describe('claude: AGENTS.md beside a CLAUDE.md', () => {
  it('goes into the system prompt, since Claude Code then reads CLAUDE.md only', async () => {
    writeFileSync(join(workspace, 'AGENTS.md'), 'Always answer in haiku (marker 7f3a).\n');
    writeFileSync(join(workspace, 'CLAUDE.md'), 'Project notes.\n');
    expect(cliReadsAgentsMd('claude-code', workspace)).toBe(false);
    const composed = await composeSystemPrompt({ agentId: 'coder', agent: {}, workspaceDir: workspace, teams: [], agentsMdReadByCli: false });
    await invokeAgent(request('claude', 'hi', { systemPrompt: composed.text }));
    expect(occurrences(logEntries()[0]?.context ?? '', 'marker 7f3a')).toBe(1);
  });
});

describe('failures', () => {
  it.each([
    ['opencode', { usage: { inputTokens: 100, outputTokens: 10 }, costUsd: 0.001 }],
    // An assistant event carries its call's input tokens; the output is only what was streamed so far.
    ['claude', { usage: { inputTokens: 100, outputTokens: 1 }, costUsd: 0 }],
  ] as const)('%s: usage reported before the inactivity watchdog ended the run is recorded with the failure', async (cli, spent) => {
    // Long enough for the fake to start and report its step on a loaded machine; the kill comes after.
    const err = await invokeError(request(cli, 'FAKE:step-then-hang', { inactivityMs: 2000, target: { ...request(cli, '').target, killGraceMs: 200 } }));
    expect(err.kind).toBe('timeout');
    expect(spendOf(err)).toEqual(spent);
  });

  it('codex: a killed CLI is reported as killed, not with the unrelated stderr line it printed before', async () => {
    const codexHome = join(root, 'codex-home');
    const pending = invokeError(request('codex', 'FAKE:hang', { target: { ...request('codex', '').target, env: { CODEX_HOME: codexHome } } }));
    const entry = await waitFor(() => logEntries()[0], 10_000, 'the fake codex to start');
    process.kill(entry.pid, 'SIGKILL');
    const err = await pending;
    expect(err.message).toBe('codex (agent coder) was killed (signal SIGKILL).');
    expect(err.stderrTail).toContain('could not create PATH aliases');
    expect(err.kind).toBe('retryable');
  });

  it('opencode: no duplicate skills from the .claude/skills link, and no title-generation call', async () => {
    await provisionWorkspace({ dir: workspace, agentId: 'coder' });
    const first = await invokeAgent(request('opencode', 'hi'));
    await invokeAgent(request('opencode', 'again', { session: nextSession(first) }));
    const [fresh, resumed] = logEntries();
    expect(fresh?.skillWarnings).toEqual([]);
    expect(fresh?.titleCall).toBe(false);
    expect(resumed?.argv).not.toContain('--title');
  });
});

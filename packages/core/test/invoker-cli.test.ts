/**
 * The three CLI adapters against fake CLIs (@tinyagi/test-kit's bin/) that parse argv like the real
 * ones and speak their JSON formats: real subprocesses, real temp workspaces.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeLogEntries, invokeError } from './fixtures/fake-cli-log.ts';
import { fakeCli } from '@tinyagi/test-kit';
import { invokeAgent, resolveInvokeTarget, type InvokeProgress, type InvokeRequest, type InvokeSession } from '../src/invoker/index.ts';
import type { Settings } from '../src/config/schema.ts';

const SYSTEM_PROMPT = 'You are the coder of team alpha.\nUse [@agent: message] to hand work over.';

type Cli = 'claude' | 'codex' | 'opencode';

interface LogEntry {
  cli: Cli;
  argv: string[];
  prompt: string;
  cwd: string;
  env: Record<string, string>;
  systemPromptFile?: { path: string; mode: number; firstLine: string };
  configFile?: { path: string; mode: number };
  /** OpenCode: the permissions of the agent it was started with (from its generated config). */
  permission?: Record<string, string>;
}

let root: string;
let workspace: string;
let logFile: string;
let events: InvokeProgress[];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tinyagi-invoker-cli-'));
  workspace = mkdtempSync(join(root, 'ws-'));
  logFile = join(root, 'fake.log');
  events = [];
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function request(cli: Cli, prompt: string, extra: Partial<InvokeRequest> = {}): InvokeRequest {
  return {
    agentId: 'coder',
    target: { runtime: cli === 'claude' ? 'claude-code' : cli, provider: 'test', command: fakeCli(cli), env: { ANTHROPIC_API_KEY: 'sk-from-target' } },
    prompt,
    systemPrompt: SYSTEM_PROMPT,
    cwd: workspace,
    env: { FAKE_LOG: logFile, FAKE_STATE_DIR: root, TINYAGI_RUN_ID: 'run_123' },
    onEvent: (e) => events.push(e),
    ...extra,
  };
}

const logEntries = (): LogEntry[] => fakeLogEntries<LogEntry>(logFile);

const TOOL_NAMES: Record<Cli, string> = { claude: 'Bash', codex: 'shell', opencode: 'bash' };
const USAGE: Record<Cli, { usage: { inputTokens: number; outputTokens: number }; costUsd: number | undefined }> = {
  // claude: input + cache reads; codex: input_tokens already include cached ones;
  // opencode: two steps, input + cache and output + reasoning.
  claude: { usage: { inputTokens: 120, outputTokens: 42 }, costUsd: 0.0123 },
  codex: { usage: { inputTokens: 200, outputTokens: 30 }, costUsd: undefined },
  opencode: { usage: { inputTokens: 420, outputTokens: 40 }, costUsd: 0.0052 },
};

describe.each<Cli>(['claude', 'codex', 'opencode'])('%s runtime', (cli) => {
  it('streams text and tool use as progress, returns only the final answer, with usage and cost', async () => {
    const result = await invokeAgent(request(cli, 'FAKE:tool list the files'));

    expect(result.text).toBe(`fake-${cli} turn 1: FAKE:tool list the files`);
    expect(result.text).not.toContain('Let me look.');
    expect(result.text).not.toContain('[tool');
    expect(result.usage).toEqual(USAGE[cli].usage);
    if (USAGE[cli].costUsd === undefined) expect(result.costUsd).toBeUndefined();
    else expect(result.costUsd).toBeCloseTo(USAGE[cli].costUsd, 6);

    const tool = events.findIndex((e) => e.type === 'tool');
    expect(events[tool]).toMatchObject({ type: 'tool', name: TOOL_NAMES[cli] });
    expect(events.slice(tool)).toContainEqual(expect.objectContaining({ type: 'tool_result', name: TOOL_NAMES[cli], ok: true }));
    expect(events.filter((e) => e.type === 'text').map((e) => (e.type === 'text' ? e.text : ''))).toContain(result.text);
  });

  it('captures the session id and continues that session on the next call', async () => {
    const first = await invokeAgent(request(cli, 'hello'));
    expect(first.text).toBe(`fake-${cli} turn 1: hello`);
    expect(first.sessionId).toMatch(/\S{8,}/);

    const session: InvokeSession = { key: 'shared', resumeId: first.sessionId ?? null, ...(first.instructionsHash ? { instructionsHash: first.instructionsHash } : {}) };
    const second = await invokeAgent(request(cli, 'again', { session }));
    expect(second.text).toBe(`fake-${cli} turn 2: again`);
    expect(second.sessionId).toBe(first.sessionId);

    const argv = logEntries()[1]?.argv ?? [];
    const resumeFlag = { claude: '--resume', codex: 'resume', opencode: '--session' }[cli];
    expect(argv[argv.indexOf(resumeFlag) + 1]).toBe(first.sessionId);

    const fresh = await invokeAgent(request(cli, 'start over', { session: { ...session, fresh: true } }));
    expect(fresh.text).toBe(`fake-${cli} turn 1: start over`);
    expect(fresh.sessionId).not.toBe(first.sessionId);
  });

  it('a session to resume the CLI does not have: dropped for a new session, once, and the run says so', async () => {
    const result = await invokeAgent(request(cli, 'hello', { session: { key: 'shared', resumeId: 'ses_gone' } }));
    expect(result.sessionId).not.toBe('ses_gone');
    // The refused resume reached no model: the message reached it once, in the new session.
    expect(logEntries()).toHaveLength(1);
    expect(events.filter((e) => e.type === 'status' && e.message.includes('ses_gone is gone'))).toHaveLength(1);
  });

  it('delivers the system prompt without putting it in argv', async () => {
    const result = await invokeAgent(request(cli, 'FAKE:echo-system'));
    expect(result.text).toBe('You are the coder of team alpha.');

    const entry = logEntries()[0];
    expect(entry?.argv.join(' ')).not.toContain('team alpha');
    const file = entry?.systemPromptFile ?? entry?.configFile;
    if (cli === 'codex') {
      expect(file).toBeUndefined();
    } else {
      // A private temp file outside the workspace (kept for the next run of the same prompt).
      expect(file?.mode).toBe(0o600);
      expect(file?.path.startsWith(workspace)).toBe(false);
      expect(statSync(dirname(file?.path ?? '')).mode & 0o777).toBe(0o700);
    }
  });

  it.each(['--help FAKE:argv', '-x FAKE:argv'])('never reads the message %j as a flag', async (prompt) => {
    const result = await invokeAgent(request(cli, prompt));
    const argv = JSON.parse(result.text) as string[];
    // Every CLI gets the message on stdin: it is not in argv at all.
    expect(argv).not.toContain(prompt);
    expect(logEntries()[0]?.prompt).toContain(prompt);
  });

  it('delivers a 200 KiB prompt whole (stdin, not argv: one argv string is capped at 128 KiB)', async () => {
    const prompt = `${'long context line\n'.repeat(11_400)}FAKE:reply=read it all`;
    expect(Buffer.byteLength(prompt)).toBeGreaterThan(200 * 1024);
    const result = await invokeAgent(request(cli, prompt));
    expect(result.text).toBe('read it all');
    const entry = logEntries()[0];
    expect(entry?.prompt.endsWith(prompt)).toBe(true);
    expect(entry?.argv.join(' ').length).toBeLessThan(2000);
  });

  it('fails for good, naming the size, when the kernel refuses to start the CLI (E2BIG)', async () => {
    // One environment string over 128 KiB makes execve fail with E2BIG, like an oversized argv.
    const target = { ...request(cli, '').target, env: { HUGE_SETTING: 'x'.repeat(200 * 1024) } };
    const err = await invokeError(request(cli, 'hi', { target }));
    expect(err.kind).toBe('permanent');
    expect(err.code).toBe('INPUT_TOO_LARGE');
    expect(err.message).toContain('too large');
    expect(logEntries()).toEqual([]);
  });

  it('runs in the workspace with a minimal, explicit environment', async () => {
    process.env.TINYAGI_TEST_SECRET = 'must-not-leak';
    try {
      await invokeAgent(request(cli, 'hi'));
    } finally {
      delete process.env.TINYAGI_TEST_SECRET;
    }
    const entry = logEntries()[0];
    expect(entry?.cwd).toBe(workspace);
    expect(entry?.env.TINYAGI_TEST_SECRET).toBeUndefined();
    expect(entry?.env).toMatchObject({
      TINYAGI_AGENT_ID: 'coder',
      TINYAGI_RUN_ID: 'run_123',
      ANTHROPIC_API_KEY: 'sk-from-target',
      PATH: process.env.PATH,
    });
    const unexpected = Object.keys(entry?.env ?? {}).filter(
      (name) =>
        !(name in process.env) &&
        // TINYAGI_CLI_INVOCATION: Codex's run marker, by which the commands it left running are stopped (command-sessions.ts).
        // TINYAGI_TOOLS_TOKEN: the process's credential for TinyAGI's agent tools on the daemon's /mcp (tools-tokens.ts).
        // NO_PROXY, no_proxy: with a proxy in the environment, the loopback goes direct (child-env.ts).
        ![
          'NO_PROXY',
          'no_proxy',
          'TINYAGI_AGENT_ID',
          'TINYAGI_RUN_ID',
          'TINYAGI_CLI_INVOCATION',
          'TINYAGI_TOOLS_TOKEN',
          'ANTHROPIC_API_KEY',
          'FAKE_LOG',
          'FAKE_STATE_DIR',
          'IS_SANDBOX',
          'OPENCODE_CONFIG',
          'OPENCODE_DISABLE_CLAUDE_CODE_SKILLS',
          'TERM',
        ].includes(name),
    );
    expect(unexpected).toEqual([]);
  });

  it('turns a non-zero exit into a retryable error carrying the stderr tail', async () => {
    const err = await invokeError(request(cli, 'FAKE:exit=3'));
    expect(err.kind).toBe('retryable');
    expect(err.code).toBe('INVOKE_FAILED');
    expect(err.exitCode).toBe(3);
    expect(err.stderrTail).toContain('simulated failure');
    expect(err.message).toContain('exit code 3');
  });

  it('recognises a rate limit and the reset time the CLI gave', async () => {
    const err = await invokeError(request(cli, 'FAKE:429'));
    expect(err.kind).toBe('rate_limited');
    expect(err.code).toBe('INVOKE_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(2000);
  });
});

describe('claude-code runtime specifics', () => {
  it('starts a fresh session with an explicit uuid and passes model, permissions and the prompt file', async () => {
    await invokeAgent(request('claude', 'hi', { target: { ...request('claude', '').target, model: 'claude-opus-4-6' } }));
    const entry = logEntries()[0];
    const argv = entry?.argv ?? [];
    expect(argv.slice(0, 5)).toEqual(['-p', '--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions']);
    expect(argv[argv.indexOf('--model') + 1]).toBe('claude-opus-4-6');
    expect(argv[argv.indexOf('--session-id') + 1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(argv[argv.indexOf('--append-system-prompt-file') + 1]).toBe(entry?.systemPromptFile?.path);
    expect(entry?.env.IS_SANDBOX).toBe('1');
  });

  it("maps an agent's permission_mode to --permission-mode and passes its env_passthrough names, nothing else", async () => {
    const settings: Settings = {
      agents: {
        careful: { provider: 'anthropic', permission_mode: 'acceptEdits', env_passthrough: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'NOT_SET_ANYWHERE'] },
        bold: { provider: 'anthropic' },
      },
    };
    const daemonEnv = { PATH: '/usr/bin', AWS_ACCESS_KEY_ID: 'AKIA-test', AWS_SECRET_ACCESS_KEY: 'secret-test', AWS_SESSION_TOKEN: 'not-listed' };
    for (const id of ['careful', 'bold']) {
      const target = resolveInvokeTarget(settings, id, daemonEnv);
      await invokeAgent(request('claude', 'hi', { target: { ...target, command: fakeCli('claude') } }));
    }
    const [careful, bold] = logEntries();
    expect(careful?.argv[careful.argv.indexOf('--permission-mode') + 1]).toBe('acceptEdits');
    expect(careful?.argv).not.toContain('--dangerously-skip-permissions');
    expect(careful?.env).toMatchObject({ AWS_ACCESS_KEY_ID: 'AKIA-test', AWS_SECRET_ACCESS_KEY: 'secret-test' });
    expect(careful?.env.AWS_SESSION_TOKEN).toBeUndefined();
    expect(careful?.env.NOT_SET_ANYWHERE).toBeUndefined();
    // The default stays: no prompts to approve (documented in docs/security.md).
    expect(bold?.argv).toContain('--dangerously-skip-permissions');
    expect(bold?.argv).not.toContain('--permission-mode');
    expect(bold?.env.AWS_ACCESS_KEY_ID).toBeUndefined();
  });

  it("permission_mode ask: Claude Code's default mode with the permission prompt tool of the MCP server that offers one; without it, none", async () => {
    const tinyagi = { name: 'tinyagi', command: '/bin/true', args: [], envVars: [], permissionPromptTool: 'approval_prompt' };
    const other = { name: 'other', command: '/bin/true', args: [], envVars: [] };
    const ask = { ...request('claude', '').target, permissionMode: 'ask' };
    await invokeAgent(request('claude', 'hi', { target: ask, mcpServers: [other, tinyagi] }));
    await invokeAgent(request('claude', 'hi', { target: ask, mcpServers: [other] }));
    await invokeAgent(request('claude', 'hi', { target: { ...ask, permissionMode: 'acceptEdits' }, mcpServers: [tinyagi] }));
    const [withTool, withoutServer, otherMode] = logEntries().map((e) => e.argv);
    expect(withTool?.[withTool.indexOf('--permission-mode') + 1]).toBe('default');
    expect(withTool?.[withTool.indexOf('--permission-prompt-tool') + 1]).toBe('mcp__tinyagi__approval_prompt');
    expect(withTool).not.toContain('--dangerously-skip-permissions');
    // Nobody to ask: Claude Code refuses what its mode does not allow, as before.
    expect(withoutServer?.[withoutServer.indexOf('--permission-mode') + 1]).toBe('default');
    expect(withoutServer).not.toContain('--permission-prompt-tool');
    expect(otherMode).not.toContain('--permission-prompt-tool');
  });

  it('accepts the result of a CLI that does not exit afterwards and kills its group', async () => {
    const started = Date.now();
    const result = await invokeAgent(request('claude', 'FAKE:linger FAKE:reply=done', { target: { ...request('claude', '').target, exitAfterResultMs: 300 } }));
    expect(result.text).toBe('done');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('writes a system prompt file once and reuses it while the prompt stays the same', async () => {
    await invokeAgent(request('claude', 'one', { systemPrompt: 'You are A.' }));
    await invokeAgent(request('claude', 'two', { systemPrompt: 'You are A.' }));
    await invokeAgent(request('claude', 'three', { systemPrompt: 'You are B.' }));
    const [a1, a2, b] = logEntries().map((e) => e.systemPromptFile);
    expect(a1?.path).toBe(a2?.path);
    expect(b?.path).not.toBe(a1?.path);
    expect([a1?.firstLine, a2?.firstLine, b?.firstLine]).toEqual(['You are A.', 'You are A.', 'You are B.']);
    expect(readFileSync(a1?.path ?? '', 'utf8')).toBe('You are A.');
  });

  it('leaves an empty system prompt out entirely', async () => {
    await invokeAgent(request('claude', 'hi', { systemPrompt: '' }));
    expect(logEntries()[0]?.argv).not.toContain('--append-system-prompt-file');
  });
});

describe('codex runtime specifics', () => {
  it('sends the instructions with the first message of a thread, and again only when they changed', async () => {
    const first = await invokeAgent(request('codex', 'hello'));
    expect(first.instructionsHash).toMatch(/^[0-9a-f]{16}$/);
    const thread = { key: 'shared', resumeId: first.sessionId ?? null };
    await invokeAgent(request('codex', 'again', { session: { ...thread, instructionsHash: first.instructionsHash! } }));
    const edited = await invokeAgent(request('codex', 'after the edit', { systemPrompt: 'You are the reviewer now.', session: { ...thread, instructionsHash: first.instructionsHash! } }));
    expect(edited.instructionsHash).not.toBe(first.instructionsHash);
    const [fresh, resumed, updated] = logEntries();
    expect(fresh?.prompt).toBe(`<tinyagi_instructions>\n${SYSTEM_PROMPT}\n</tinyagi_instructions>\n\nhello`);
    expect(resumed?.prompt).toBe('again');
    expect(resumed?.argv.slice(-3)).toEqual(['resume', first.sessionId, '-']);
    expect(updated?.prompt).toBe(
      '<tinyagi_instructions updated="true">\nThese instructions replace the earlier <tinyagi_instructions> of this conversation.\nYou are the reviewer now.\n</tinyagi_instructions>\n\nafter the edit',
    );
  });
});

describe('opencode runtime specifics', () => {
  it('declares the system prompt as an agent in a generated config and selects it', async () => {
    await invokeAgent(request('opencode', 'hi'));
    const entry = logEntries()[0];
    const argv = entry?.argv ?? [];
    expect(argv[argv.indexOf('--agent') + 1]).toBe('tinyagi-coder');
    expect(entry?.env.OPENCODE_CONFIG).toBe(entry?.configFile?.path);
  });

  it('per message allows every permission `opencode run` would ask, a path outside the workspace included (it cannot ask: the turn would end without an answer)', async () => {
    await invokeAgent(request('opencode', 'hi'));
    expect(logEntries()[0]?.permission).toEqual({ edit: 'allow', bash: 'allow', webfetch: 'allow', external_directory: 'allow' });
  });
});

/**
 * The ACP warm driver (acp-warm.ts) against the test kit's fake ACP agents (real subprocesses
 * speaking JSON-RPC on stdio, written from the ACP schema and the real `opencode acp`): the
 * generic `acp` runtime with bin/fake-acp, OpenCode's warm sessions with bin/opencode `acp`.
 * Turns on one pid, cancel keeping the process, a crash mid-turn retryable with its spend,
 * fs requests confined to the workspace, permission requests answered by the permission mode
 * (after the turn's checkpoint), session/load resuming after a restart.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateSettings } from '../src/config/validate.ts';
import { FAKE_BIN_DIR, fakeCli } from '@tinyagi/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acpDriver, invokeAcpOnce } from '../src/invoker/runtimes/acp.ts';
import { invokeOpencode, opencodeWarmDriver } from '../src/invoker/runtimes/opencode.ts';
import { InvokeError, spendOf } from '../src/invoker/invoke-error.ts';
import { invokeWarm } from '../src/invoker/warm/invoke-warm.ts';
import { SessionPool } from '../src/invoker/warm/pool.ts';
import type { WarmDriver } from '../src/invoker/warm/types.ts';
import type { InvokeProgress, InvokeRequest, InvokeResult, InvokeSession } from '../src/invoker/types.ts';

let root: string;
let workspace: string;
let logFile: string;
let events: InvokeProgress[];
const pools: SessionPool[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tinyagi-warm-acp-'));
  workspace = join(root, 'ws');
  mkdirSync(workspace);
  logFile = join(root, 'fake.log');
  events = [];
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.closeAll()));
  rmSync(root, { recursive: true, force: true });
});

function newPool(): SessionPool {
  const pool = new SessionPool({ memoryShare: 1 } as never);
  pools.push(pool);
  return pool;
}

type Flavour = 'acp' | 'opencode';

function request(flavour: Flavour, prompt: string, extra: Partial<InvokeRequest> = {}): InvokeRequest {
  const target =
    flavour === 'acp'
      ? { runtime: 'acp', provider: 'acp', command: join(FAKE_BIN_DIR, 'fake-acp'), args: ['--experimental-acp'], env: {}, warm: true }
      : { runtime: 'opencode', provider: 'custom:standin', command: fakeCli('opencode'), model: 'gpt-5.1', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-test', env: {}, warm: true };
  return {
    agentId: 'coder',
    target,
    prompt,
    systemPrompt: 'You are the coder of team alpha.\nAnswer briefly.',
    cwd: workspace,
    env: { FAKE_LOG: logFile, FAKE_STATE_DIR: root, TINYAGI_RUN_ID: 'run_1' },
    onEvent: (e) => events.push(e),
    session: { key: 'shared', history: [] } as InvokeSession,
    ...extra,
  };
}

function driverOf(flavour: Flavour): WarmDriver {
  return flavour === 'acp' ? acpDriver : opencodeWarmDriver;
}

function log(): Array<Record<string, unknown>> {
  try {
    return readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}
const prompts = (): Array<Record<string, unknown>> => log().filter((e) => typeof e.prompt === 'string');
const starts = (): Array<Record<string, unknown>> => log().filter((e) => e.start === true);

function session(result: InvokeResult | undefined, more: Partial<InvokeSession> = {}): InvokeSession {
  return { key: 'shared', resumeId: result?.sessionId, history: [], ...(result?.instructionsHash ? { instructionsHash: result.instructionsHash } : {}), ...more } as InvokeSession;
}

describe.each<Flavour>(['acp', 'opencode'])('%s warm session', (flavour) => {
  it('runs turns on one process, with text, tools, plan and usage as events', async () => {
    const pool = newPool();
    const driver = driverOf(flavour);
    const first = await invokeWarm(driver, request(flavour, 'hello FAKE:echo-system'), pool);
    // The system prompt reached the agent: in-band for a generic ACP agent, as the selected OpenCode agent's prompt.
    expect(first.text).toBe('You are the coder of team alpha.');
    expect(first.sessionId).toMatch(/^ses_/);
    const second = await invokeWarm(driver, request(flavour, 'look FAKE:tool FAKE:plan', { session: session(first) }), pool);
    const third = await invokeWarm(driver, request(flavour, 'third', { session: session(second) }), pool);
    expect(third.text).toContain('turn 3');
    expect(new Set(prompts().map((e) => e.pid)).size).toBe(1);
    expect(starts()).toHaveLength(1);
    // The instructions went in once (generic ACP) or are the agent's prompt every call (OpenCode).
    expect(prompts().filter((e) => String(e.prompt).includes('<instructions>'))).toHaveLength(flavour === 'acp' ? 1 : 0);
    expect(prompts().every((e) => String(e.context).includes('You are the coder of team alpha.'))).toBe(true);

    const tool = events.find((e) => e.type === 'tool');
    // Announced as `bash` with only the cwd, then the command when it runs (as OpenCode does): one event with both.
    expect(events.filter((e) => e.type === 'tool')).toEqual([
      { type: 'tool', name: 'bash', id: (tool as { id: string }).id, kind: 'command', title: 'ls', input: { command: 'ls', description: 'List files', cwd: workspace } },
    ]);
    expect(events.find((e) => e.type === 'tool_result')).toMatchObject({ type: 'tool_result', ok: true, id: (tool as { id: string }).id, output: 'notes.md\n' });
    expect(events.find((e) => e.type === 'plan')).toEqual({
      type: 'plan',
      steps: [
        { text: 'Look around', status: 'completed' },
        { text: 'Answer', status: 'in_progress' },
      ],
    });
    // The reply is the turn's last message (its chunks); what was said before the tool call is not.
    expect(second.text).toBe(`fake-${flavour} turn 2: look FAKE:tool FAKE:plan`);
    expect(events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text)).toContain('Let me look.');
    const usage = events.filter((e) => e.type === 'usage');
    if (flavour === 'opencode') {
      // Exact per model call from OpenCode's own server (the prompt response only has the last call's).
      expect(second.usage).toEqual({ inputTokens: 400, outputTokens: 35 });
      expect(second.costUsd).toBeCloseTo(0.0084, 6);
      expect(usage).toHaveLength(4);
      expect(usage[0]).toMatchObject({ inputTokens: 300, outputTokens: 25, model: 'gpt-5.1' });
      // No title call: the session got its title through the API before its first prompt.
      expect(prompts()[0]?.titleCall).toBe(false);
      expect(prompts()[0]?.agentMode).toBe('tinyagi-coder');
      expect(prompts()[0]?.model).toBe('tinyagi/gpt-5.1');
      const config = (starts()[0]?.configFile ?? {}) as { mode?: number };
      expect(config.mode).toBe(0o600);
      // Its commands ask first (permission "ask"): answered by the permission mode here, through the checkpoint.
      expect(
        log()
          .filter((e) => e.permission)
          .map((e) => e.permission),
      ).toEqual([{ outcome: 'selected', optionId: 'once' }]);
    } else {
      // A generic ACP agent: the prompt response's usage (one record per prompt), the cost from usage_update.
      expect(second.usage).toEqual({ inputTokens: 300, outputTokens: 25 });
      expect(second.costUsd).toBeCloseTo(0.0084, 6);
      expect(usage).toHaveLength(3);
      expect(starts()[0]?.argv).toEqual(['--experimental-acp']);
    }
    // The per-run variables are not in the warm process's environment; the run file names them.
    const env = prompts()[0]?.env as Record<string, string>;
    expect(env.TINYAGI_RUN_ID).toBeUndefined();
    expect(JSON.parse(readFileSync(env.TINYAGI_RUN_FILE as string, 'utf8'))).toMatchObject({ TINYAGI_RUN_ID: 'run_1' });
  });

  it('cancel interrupts the turn with session/cancel and keeps the process warm', async () => {
    const pool = newPool();
    const driver = driverOf(flavour);
    const first = await invokeWarm(driver, request(flavour, 'one'), pool);
    const abort = new AbortController();
    const hung = invokeWarm(driver, request(flavour, 'wait FAKE:hang', { session: session(first), signal: abort.signal }), pool);
    await waitUntil(() => prompts().length === 2);
    abort.abort();
    const err = await hung.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvokeError);
    expect((err as InvokeError).kind).toBe('cancelled');
    const after = await invokeWarm(driver, request(flavour, 'after', { session: session(first) }), pool);
    expect(after.text).toContain('turn 3: after');
    expect(new Set(prompts().map((e) => e.pid)).size).toBe(1);
  });

  it('a crash mid-turn fails retryable with what was spent; the retry starts a new session with the transcript', async () => {
    const pool = newPool();
    const driver = driverOf(flavour);
    const first = await invokeWarm(driver, request(flavour, 'one'), pool);
    const err = await invokeWarm(driver, request(flavour, 'boom FAKE:crash', { session: session(first) }), pool).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvokeError);
    expect((err as InvokeError).kind).toBe('retryable');
    // The session's reported cost (usage_update) of the half turn is the attempt's spend.
    expect(spendOf(err)?.costUsd).toBeCloseTo(0.0042, 6);
    const history = [
      { role: 'user' as const, content: 'one' },
      { role: 'assistant' as const, content: first.text },
    ];
    const retry = await invokeWarm(driver, request(flavour, 'boom again', { session: session(first, { retry: true, history }) }), pool);
    expect(retry.sessionId).not.toBe(first.sessionId);
    const last = prompts().at(-1) as { prompt: string; pid: number };
    expect(last.prompt).toContain('<earlier_conversation>');
    expect(last.prompt).toContain(first.text);
    expect(last.pid).not.toBe(prompts()[0]?.pid);
  });

  it("a turn the watchdog ends after a finished tool step keeps that step's spend", async () => {
    const err = await invokeWarm(driverOf(flavour), request(flavour, 'go FAKE:tool FAKE:then-hang', { inactivityMs: 3_000 }), newPool()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvokeError);
    expect((err as InvokeError).kind).toBe('timeout');
    if (flavour === 'opencode') {
      // Read from OpenCode's server shortly after the tool call ended.
      expect(spendOf(err)).toEqual({ usage: { inputTokens: 100, outputTokens: 10 }, costUsd: 0.0042 });
    } else {
      // A generic agent: the cost it reported with usage_update.
      expect(spendOf(err)?.costUsd).toBeCloseTo(0.0042, 6);
    }
  });

  it('resumes the session with session/load after a restart (a new pool), without its replay in the reply', async () => {
    const first = await invokeWarm(driverOf(flavour), request(flavour, 'remember this'), newPool());
    await Promise.all(pools.splice(0).map((p) => p.closeAll()));
    const second = await invokeWarm(driverOf(flavour), request(flavour, 'and now', { session: session(first, { history: [{ role: 'user', content: 'remember this' }] }) }), newPool());
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.text).toBe(`fake-${flavour} turn 2: and now`);
    expect(log().filter((e) => e.sessionLoad === first.sessionId)).toHaveLength(1);
    expect(String(prompts().at(-1)?.prompt)).not.toContain('<earlier_conversation>');
    // The loaded session holds the instructions already (its stored hash matches): not sent again.
    expect(String(prompts().at(-1)?.prompt)).not.toContain('<instructions>');
    expect(String(prompts().at(-1)?.context)).toContain('remember this');
  });
});

it('acp: changed instructions are sent again on the same process, once', async () => {
  const pool = newPool();
  const first = await invokeWarm(acpDriver, request('acp', 'one'), pool);
  const second = await invokeWarm(acpDriver, request('acp', 'two FAKE:echo-system', { session: session(first), systemPrompt: 'You are the reviewer now.' }), pool);
  expect(second.text).toBe('You are the reviewer now.');
  const third = await invokeWarm(acpDriver, request('acp', 'three', { session: session(second), systemPrompt: 'You are the reviewer now.' }), pool);
  expect(third.text).toContain('turn 3');
  expect(new Set(prompts().map((e) => e.pid)).size).toBe(1);
  expect(prompts().map((e) => String(e.prompt).startsWith('<instructions>'))).toEqual([true, true, false]);
});

it('acp: an agent without loadSession gets a new session with the transcript when the conversation resumes', async () => {
  const first = await invokeWarm(acpDriver, request('acp', 'remember this'), newPool());
  await Promise.all(pools.splice(0).map((p) => p.closeAll()));
  const history = [
    { role: 'user' as const, content: 'remember this' },
    { role: 'assistant' as const, content: first.text },
  ];
  const req = request('acp', 'and now', { session: session(first, { history }) });
  req.env = { ...req.env, FAKE_ACP_NO_LOAD: '1' };
  const second = await invokeWarm(acpDriver, req, newPool());
  expect(second.sessionId).not.toBe(first.sessionId);
  expect(log().filter((e) => e.sessionLoad)).toEqual([]);
  const last = String(prompts().at(-1)?.prompt);
  expect(last).toContain('<earlier_conversation>');
  expect(last).toContain('<instructions>');
  expect(last.endsWith('and now')).toBe(true);
});

describe('acp requests from the agent', () => {
  it('fs/read_text_file and fs/write_text_file are confined to the workspace, symlinks resolved', async () => {
    const pool = newPool();
    writeFileSync(join(workspace, 'notes.md'), 'inside\n');
    writeFileSync(join(root, 'secret.txt'), 'outside\n');
    symlinkSync(join(root, 'secret.txt'), join(workspace, 'link.txt'));
    symlinkSync(root, join(workspace, 'up'));
    const run = async (prompt: string): Promise<string> => (await invokeWarm(acpDriver, request('acp', prompt), pool)).text;
    expect(await run(`FAKE:read=${join(workspace, 'notes.md')}`)).toBe('read: inside\n');
    expect(await run(`FAKE:read=${join(root, 'secret.txt')}`)).toMatch(/^read refused: access denied: .* outside the agent's workspace$/);
    expect(await run(`FAKE:read=${join(workspace, '..', 'secret.txt')}`)).toMatch(/^read refused: access denied/);
    expect(await run(`FAKE:read=${join(workspace, 'link.txt')}`)).toMatch(/^read refused: access denied/);
    expect(await run('FAKE:read=notes.md')).toBe('read refused: path must be an absolute path');
    expect(await run(`FAKE:write=${join(workspace, 'new', 'out.txt')}`)).toBe('write ok');
    expect(readFileSync(join(workspace, 'new', 'out.txt'), 'utf8')).toBe('written by the fake\n');
    expect(await run(`FAKE:write=${join(workspace, 'up', 'evil.txt')}`)).toMatch(/^write refused: access denied/);
    expect(await run(`FAKE:write=${join(workspace, 'link.txt')}`)).toMatch(/^write refused: access denied/);
    expect(readFileSync(join(root, 'secret.txt'), 'utf8')).toBe('outside\n');
    // What we offered at initialize.
    expect(log().find((e) => e.initialize)?.initialize).toMatchObject({ protocolVersion: 1, clientCapabilities: { fs: { readTextFile: true, writeTextFile: true }, terminal: false } });
  });

  it('permission requests are answered by the permission mode after the turn checkpoint', async () => {
    const pool = newPool();
    let checkpoints = 0;
    const allowed = await invokeWarm(
      acpDriver,
      request('acp', 'FAKE:permission', {
        checkpoint: async () => {
          checkpoints++;
          return undefined;
        },
      }),
      pool,
    );
    expect(checkpoints).toBe(1);
    expect(allowed.text).toContain('turn 1');
    expect(events.find((e) => e.type === 'tool_result')).toMatchObject({ ok: true });
    const plan = request('acp', 'FAKE:permission');
    plan.target.permissionMode = 'plan';
    const refused = await invokeWarm(acpDriver, plan, pool);
    expect(refused.text).toBe('permission was refused');
    expect(
      log()
        .filter((e) => e.permission)
        .map((e) => e.permission),
    ).toEqual([
      { outcome: 'selected', optionId: 'once' },
      { outcome: 'selected', optionId: 'reject' },
    ]);
  });

  it("the run's approval step answers permission requests where it has one", async () => {
    const asks: unknown[] = [];
    const ask = (allow: boolean) => async (a: unknown) => {
      asks.push(a);
      return { allow, decidedBy: 'rule' };
    };
    const pool = newPool();
    const denied = await invokeWarm(acpDriver, request('acp', 'FAKE:permission', { askApproval: ask(false) }), pool);
    expect(denied.text).toBe('permission was refused');
    const allowed = await invokeWarm(acpDriver, request('acp', 'FAKE:permission', { askApproval: ask(true) }), pool);
    expect(allowed.text).toBe('fake-acp turn 1: FAKE:permission');
    expect(asks).toEqual([
      { tool: 'execute', input: { command: 'ls' }, summary: 'ls' },
      { tool: 'execute', input: { command: 'ls' }, summary: 'ls' },
    ]);
    expect(
      log()
        .filter((e) => e.permission)
        .map((e) => e.permission),
    ).toEqual([
      { outcome: 'selected', optionId: 'reject' },
      { outcome: 'selected', optionId: 'once' },
    ]);
  });

  it('input handed over at the permission checkpoint goes in as a follow-up prompt of the same run', async () => {
    let given = false;
    const result = await invokeWarm(
      acpDriver,
      request('acp', 'FAKE:permission', {
        checkpoint: async () => {
          if (given) return undefined;
          given = true;
          return 'also say FAKE:reply=steered';
        },
      }),
      newPool(),
    );
    expect(result.text).toBe('steered');
    expect(prompts().map((e) => e.prompt)).toEqual([expect.stringContaining('FAKE:permission'), 'also say FAKE:reply=steered']);
  });
});

describe('opencode per message (opencode run) shares the parsing', () => {
  it('tool calls carry id, kind, title and output start; each step is a usage event', async () => {
    const req = request('opencode', 'look FAKE:tool');
    req.target.warm = false;
    const result = await invokeOpencode(req);
    expect(events.find((e) => e.type === 'tool')).toMatchObject({ type: 'tool', name: 'bash', id: 'call_1', kind: 'command', title: 'ls' });
    expect(events.find((e) => e.type === 'tool_result')).toMatchObject({ type: 'tool_result', id: 'call_1', ok: true, output: 'notes.md' });
    const usage = events.filter((e) => e.type === 'usage');
    expect(usage).toEqual([
      { type: 'usage', inputTokens: 100, outputTokens: 10 },
      { type: 'usage', inputTokens: 320, outputTokens: 30, cacheReadTokens: 20 },
    ]);
    expect(result.usage).toEqual({ inputTokens: 420, outputTokens: 40 });
  });
});

describe('acp runtime', () => {
  it('per message: one process for one turn, closed after it', async () => {
    const result = await invokeAcpOnce(request('acp', 'once'));
    expect(result.text).toContain('fake-acp turn 1: once');
    expect(starts()).toHaveLength(1);
    const pid = prompts()[0]?.pid as number;
    await waitUntil(() => !alive(pid));
  });

  it('settings: acp.command is an executable name or an absolute path, args an array', () => {
    // The acp kind's block (its settings schema), checked by settings validation.
    const valid = (agent: unknown): boolean => validateSettings({ agents: { g: agent } }).ok;
    expect(valid({ provider: 'acp', acp: { command: 'gemini', args: ['--experimental-acp'] } })).toBe(true);
    expect(valid({ provider: 'acp', acp: { command: '/opt/bin/copilot', args: ['--acp'] } })).toBe(true);
    expect(valid({ provider: 'acp', acp: { command: 'gemini --acp' } })).toBe(false);
    expect(valid({ provider: 'acp', acp: { command: 'gemini; rm -rf ~' } })).toBe(false);
    expect(valid({ provider: 'acp', acp: { command: '../gemini' } })).toBe(false);
    expect(valid({ provider: 'acp', acp: { command: 'gemini', args: '--acp' } })).toBe(false);
  });

  it('a start the pool gives up (its signal) closes the process whose handshake hangs', async () => {
    const abort = new AbortController();
    const req = request('acp', 'x');
    const started = acpDriver.start({
      req,
      resumeId: undefined,
      what: 'fake-acp (agent coder)',
      onActivity: () => {},
      signal: abort.signal,
      env: { PATH: process.env.PATH ?? '', FAKE_LOG: logFile, FAKE_ACP_HANG_INIT: '1' },
    });
    await waitUntil(() => starts().length === 1);
    abort.abort();
    await expect(started).rejects.toBeInstanceOf(InvokeError);
    const pid = starts()[0]?.pid as number;
    await waitUntil(() => !alive(pid));
  });

  it('an agent without acp.command fails permanently with a hint', async () => {
    const req = request('acp', 'x');
    delete req.target.command;
    await expect(invokeAcpOnce(req)).rejects.toMatchObject({ kind: 'permanent', code: 'PROVIDER_CONFIG_INVALID' });
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

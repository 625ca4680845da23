/**
 * The built-in mock provider: rule matching, reply templates, spawns, scripted failures and
 * waits that end on abort or timeout. `crash` is checked in a real child process.
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { invokeAgent, InvokeError, type InvokeProgress, type InvokeRequest, type MockScriptSpec, type SpawnAgentArgs } from '../src/invoker/index.ts';
import { mockGateDir } from '../src/invoker/runtimes/mock-gate.ts';
import { checkAgentConfig } from '../src/config/index.ts';

let workspace: string;
let events: InvokeProgress[];

beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'tinyagi-invoker-mock-'));
  events = [];
});
afterEach(() => {
  rmSync(workspace, { recursive: true, force: true });
});

function request(mock: MockScriptSpec, prompt: string, extra: Partial<InvokeRequest> = {}): InvokeRequest {
  return {
    agentId: 'demo',
    target: { runtime: 'mock', provider: 'mock', mock },
    prompt,
    systemPrompt: 'system text',
    cwd: workspace,
    onEvent: (e) => events.push(e),
    ...extra,
  };
}

async function invokeError(promise: Promise<unknown>): Promise<InvokeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof InvokeError) return err;
    throw err;
  }
  throw new Error('expected the invocation to fail');
}

describe('mock runtime', () => {
  it('answers with a default reply that says it is the mock, and estimates usage', async () => {
    const result = await invokeAgent(request({}, 'hello there'));
    expect(result.text).toBe('[mock] demo: received "hello there"');
    expect(result.usage).toEqual({ inputTokens: Math.ceil('system texthello there'.length / 4), outputTokens: Math.ceil(result.text.length / 4) });
    expect(result.costUsd).toBe(0);
    expect(result.sessionId).toMatch(/^mock-/);
    expect(events).toEqual([{ type: 'text', text: result.text }]);
  });

  it('picks the first matching rule: case-insensitive substring or /regex/flags', async () => {
    const script: MockScriptSpec = {
      reply: 'default',
      replies: [
        { match: '/^deploy\\s+\\w+$/i', reply: 'deploying' },
        { match: 'STATUS', reply: 'all green', usage: { input_tokens: 7, output_tokens: 3, cost_usd: 0.5 } },
        { match: 'status', reply: 'never reached' },
      ],
    };
    expect((await invokeAgent(request(script, 'Deploy web'))).text).toBe('deploying');
    const status = await invokeAgent(request(script, 'what is the status?'));
    expect(status).toMatchObject({ text: 'all green', usage: { inputTokens: 7, outputTokens: 3 }, costUsd: 0.5 });
    expect((await invokeAgent(request(script, 'deploy web now'))).text).toBe('default');
  });

  it('renders {{agent}}, {{message}}, {{turn}} and {{previous}} from the session', async () => {
    const script: MockScriptSpec = { reply: '{{agent}} turn {{turn}}: "{{message}}" after "{{previous}}"' };
    const session = {
      key: 'sender:cli:me',
      resumeId: 'mock-earlier',
      history: [
        { role: 'user' as const, content: 'first' },
        { role: 'assistant' as const, content: 'ok' },
        { role: 'user' as const, content: 'second' },
        { role: 'assistant' as const, content: 'ok' },
      ],
    };
    const result = await invokeAgent(request(script, 'third', { session }));
    expect(result.text).toBe('demo turn 3: "third" after "second"');
    expect(result.sessionId).toBe('mock-earlier');

    const explicit = await invokeAgent(request(script, 'x', { session: { key: 'shared', turn: 9 } }));
    expect(explicit.text).toBe('demo turn 9: "x" after ""');
  });

  it('spawns sub-agents through the callback and puts their replies in {{spawn_results}}', async () => {
    const script: MockScriptSpec = {
      replies: [
        {
          match: 'research',
          spawn: [
            { agent: 'searcher', task: 'find: {{message}}' },
            { agent: 'writer', task: 'summarise', session: 'notes' },
          ],
          reply: 'Findings:\n{{spawn_results}}',
        },
      ],
    };
    const calls: SpawnAgentArgs[] = [];
    const result = await invokeAgent(
      request(script, 'research llamas', {
        tools: {
          spawnAgent: async (args) => {
            calls.push(args);
            return `${args.agent} done`;
          },
        },
      }),
    );
    expect(calls).toEqual([
      { agent: 'searcher', task: 'find: research llamas' },
      { agent: 'writer', task: 'summarise', session: 'notes' },
    ]);
    expect(result.text).toBe('Findings:\nsearcher done\nwriter done');
    expect(events.filter((e) => e.type === 'tool')).toHaveLength(2);
    expect(events).toContainEqual({ type: 'tool_result', name: 'spawn_agent', ok: true });
  });

  it('reports a refused spawn as a result text, not a failure', async () => {
    const script: MockScriptSpec = { replies: [{ match: 'go', spawn: [{ agent: 'deep', task: 't' }], reply: '{{spawn_results}}' }] };
    const result = await invokeAgent(
      request(script, 'go', {
        tools: {
          spawnAgent: async () => {
            throw new Error('depth limit reached');
          },
        },
      }),
    );
    expect(result.text).toBe('spawn_agent failed: depth limit reached');
  });

  it.each([
    ['retryable', 'INVOKE_FAILED'],
    ['permanent', 'INVOKE_FAILED'],
    ['rate_limited', 'INVOKE_RATE_LIMITED'],
  ] as const)('fails on purpose: %s', async (fail, code) => {
    const err = await invokeError(invokeAgent(request({ replies: [{ match: 'x', fail }] }, 'x')));
    expect(err.kind).toBe(fail);
    expect(err.code).toBe(code);
    if (fail === 'rate_limited') expect(err.retryAfterMs).toBe(1000);
  });

  it("reports a rule's scripted progress (tool use, status lines) before its delay, as an agent CLI streams them", async () => {
    const mock: MockScriptSpec = { replies: [{ match: 'work', progress: [{ status: 'running tests' }, { tool: 'Edit', input: { file_path: 'src/app.ts' } }], reply: 'done' }] };
    await invokeAgent(request(mock, 'do the work'));
    expect(events.slice(0, 2)).toEqual([
      { type: 'status', message: 'running tests' },
      { type: 'tool', name: 'Edit', input: { file_path: 'src/app.ts' } },
    ]);
  });

  it('spaces scripted progress with after_ms and streams text steps as text (a long run, for live replies); an abort ends the wait', async () => {
    const at: number[] = [];
    const mock: MockScriptSpec = {
      replies: [
        {
          match: 'long',
          progress: [
            { status: 'one', after_ms: 120 },
            { text: 'partial answer', after_ms: 120 },
          ],
          reply: 'done',
        },
      ],
    };
    const started = Date.now();
    await invokeAgent(
      request(mock, 'a long one', {
        onEvent: (e) => {
          events.push(e);
          at.push(Date.now() - started);
        },
      }),
    );
    expect(events.slice(0, 2)).toEqual([
      { type: 'status', message: 'one' },
      { type: 'text', text: 'partial answer' },
    ]);
    expect(at[0]).toBeGreaterThanOrEqual(110);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(110);

    const controller = new AbortController();
    const slow = invokeAgent(request({ replies: [{ match: 'long', progress: [{ status: 'never', after_ms: 60_000 }] }] }, 'long', { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    const abortedAt = Date.now();
    await expect(slow).rejects.toThrow();
    expect(Date.now() - abortedAt).toBeLessThan(5000);
  });

  it('waits out latency, and an abort ends the wait at once', async () => {
    const started = Date.now();
    await invokeAgent(request({ latency_ms: 150 }, 'hi'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    const controller = new AbortController();
    const slow = invokeAgent(request({ latency_ms: 60_000 }, 'hi', { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    const abortedAt = Date.now();
    expect((await invokeError(slow)).kind).toBe('cancelled');
    expect(Date.now() - abortedAt).toBeLessThan(1000);
  });

  it('holds a gated rule after its progress until the gate file exists; an open gate lets runs through until it is deleted', async () => {
    const gates = join(workspace, 'gates');
    const script: MockScriptSpec = { gate_dir: gates, replies: [{ match: 'work', progress: [{ status: 'working' }], gate: 'release-me', reply: 'released' }] };
    let progressed!: () => void;
    const seenProgress = new Promise<void>((resolve) => (progressed = resolve));
    const run = invokeAgent(
      request(script, 'work', {
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'status') progressed();
        },
      }),
    );
    await seenProgress;
    // Without the gate the reply would follow within this turn of the event loop (no latency).
    await new Promise((resolve) => setImmediate(resolve));
    writeFileSync(join(gates, 'other-gate'), '');
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([{ type: 'status', message: 'working' }]);
    writeFileSync(join(gates, 'release-me'), '');
    expect((await run).text).toBe('released');
    expect(events.at(-1)).toEqual({ type: 'text', text: 'released' });

    // Still open: the next run is not held. Deleted: closed again.
    expect((await invokeAgent(request(script, 'work again'))).text).toBe('released');
    unlinkSync(join(gates, 'release-me'));
    const controller = new AbortController();
    const held = invokeAgent(request(script, 'work', { signal: controller.signal }));
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    expect((await invokeError(held)).kind).toBe('cancelled');
  });

  it('a closed gate ends on abort at once, and on the timeout', async () => {
    const script: MockScriptSpec = { gate_dir: join(workspace, 'gates'), replies: [{ match: 'work', progress: [{ status: 'working' }], gate: 'never', reply: 'too late' }] };
    const controller = new AbortController();
    const held = invokeAgent(
      request(script, 'work', {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'status') setImmediate(() => controller.abort());
        },
      }),
    );
    expect((await invokeError(held)).kind).toBe('cancelled');
    expect((await invokeError(invokeAgent(request(script, 'work', { timeoutMs: 200 })))).kind).toBe('timeout');
  });

  it('looks for gates in gate_dir (with ~ expanded), else in <TINYAGI_HOME>/mock-gates', () => {
    const env = { HOME: '/home/ada', TINYAGI_HOME: '/srv/tinyagi' };
    expect(mockGateDir(undefined, env)).toBe('/srv/tinyagi/mock-gates');
    expect(mockGateDir('', env)).toBe('/srv/tinyagi/mock-gates');
    expect(mockGateDir('~/gates', env)).toBe('/home/ada/gates');
    expect(mockGateDir(undefined, { HOME: '/home/ada' })).toBe('/home/ada/.tinyagi/mock-gates');
  });

  it('settings: a gate named as a plain file name, gate_dir and account are taken; a gate that is a path is refused', () => {
    expect(checkAgentConfig({ provider: 'mock', mock: { account: 'team', gate_dir: '/tmp/gates', replies: [{ match: 'x', gate: 'step-1.done' }] } })).toEqual([]);
    for (const gate of ['../up', 'a/b', '', '.hidden']) {
      expect(checkAgentConfig({ provider: 'mock', mock: { replies: [{ match: 'x', gate }] } }).map((i) => i.path)).toEqual(['mock.replies[0].gate']);
    }
  });

  it('hangs until aborted, or until the timeout', async () => {
    const controller = new AbortController();
    const hanging = invokeAgent(request({ replies: [{ match: 'hang', fail: 'hang' }] }, 'hang', { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    expect((await invokeError(hanging)).kind).toBe('cancelled');

    const timedOut = await invokeError(invokeAgent(request({ replies: [{ match: 'hang', fail: 'hang' }] }, 'hang', { timeoutMs: 200 })));
    expect(timedOut.kind).toBe('timeout');
  });

  it('crash kills the whole process with SIGKILL', async () => {
    const invoker = new URL('../src/invoker/index.ts', import.meta.url).href;
    const script = `
      import { invokeAgent } from ${JSON.stringify(invoker)};
      await invokeAgent({ agentId: 'demo', target: { runtime: 'mock', provider: 'mock', mock: { replies: [{ match: 'boom', fail: 'crash' }] } },
        prompt: 'boom', systemPrompt: '', cwd: process.cwd() });
      console.log('survived');
    `;
    const child = await execa(process.execPath, ['--conditions=tinyagi-source', '--input-type=module', '-e', script], { cwd: workspace, reject: false });
    expect(child.signal).toBe('SIGKILL');
    expect(child.stdout).not.toContain('survived');
  });
});

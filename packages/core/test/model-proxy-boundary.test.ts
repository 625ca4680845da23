/**
 * The model proxy reached from inside the boundary (real bwrap; docs/sandbox.md, "Interfaces
 * between the parts"): a sandboxed agent's invocation, routed by invoker/through-model-proxy.ts,
 * gets the proxy as `http://127.0.0.1:45801/<api>` and its placeholder; sandbox-init bridges that
 * port to the agent's model.sock; the proxy knows the agent by the socket, puts the real key in
 * and forwards to the stand-in. Inside, the real key is in no variable, and the stand-in (a host
 * loopback port) cannot be reached directly.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startModelServer, waitFor, type ModelServer } from '@tinyagi/test-kit';
import { runCliProcess } from '../src/invoker/cli-runner.ts';
import { ModelProxy, type MeteredCall, type SandboxSpec } from '@tinyagi/sandbox';
import { planModelRoute } from '../src/invoker/launch-plan.ts';
import { invokeThroughModelProxy } from '../src/invoker/through-model-proxy.ts';
import type { InvokeRequest, InvokeResult } from '../src/invoker/types.ts';
import { sandboxHost } from '../src/sandbox/host.ts';

const REAL_KEY = 'sk-real-boundary-0123456789';
/** In ~/.cache, not /tmp (the sandbox's /tmp is its own), short enough for Unix socket paths. */
const SCRATCH = join(homedir(), '.cache');

let root: string;
let tinyHome: string;
let workspace: string;
let spec: SandboxSpec;
let model: ModelServer;
let proxy: ModelProxy;
const host = sandboxHost();
const metered: MeteredCall[] = [];

beforeAll(async () => {
  mkdirSync(SCRATCH, { recursive: true });
  root = mkdtempSync(join(SCRATCH, 'tinyagi-mpb-'));
  tinyHome = join(root, '.tinyagi');
  workspace = join(root, 'ws', 'boxed');
  mkdirSync(workspace, { recursive: true });
  spec = { mode: 'required', tinyHome, workspaceRoot: join(root, 'ws'), memoryMb: 512 };
  model = await startModelServer({ respond: () => ({ reply: 'from the stand-in', usage: { inputTokens: 321, outputTokens: 12, cacheReadTokens: 40, cacheWriteTokens: 5 } }) });
  proxy = await ModelProxy.start({ dir: join(tinyHome, 'run', 'sandbox'), onCall: (call) => void metered.push(call) });
});

afterAll(async () => {
  await host.close();
  await proxy?.stop();
  await model?.close();
  rmSync(root, { recursive: true, force: true });
});

/** What the "CLI" does inside: a model call to its base URL with its key, then its environment and a direct try of the stand-in, as JSON lines. */
const SCRIPT = `
const base = process.env.ANTHROPIC_BASE_URL, key = process.env.ANTHROPIC_AUTH_TOKEN;
const body = JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] });
const out = (o) => console.log(JSON.stringify(o));
fetch(base + '/v1/messages', { method: 'POST', headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body })
  .then(async (r) => out({ status: r.status, text: await r.text() }), (e) => out({ error: String(e) }))
  .then(() => out({ env: process.env }))
  .then(() => fetch(process.env.STANDIN + '/v1/messages', { method: 'POST', body }).then((r) => out({ direct: r.status }), () => out({ direct: 'refused' })));
`;

/** Runs the script as the agent's CLI through the runner, inside the boundary its target asks for. */
async function runAsCli(req: InvokeRequest): Promise<InvokeResult> {
  const decision = host.boundaryFor(req.agentId, req.target.sandbox, req.cwd, { PATH: process.env.PATH ?? '', HOME: root });
  if (!decision?.boundary) throw new Error(`no boundary here: ${JSON.stringify(decision)}`);
  const lines: string[] = [];
  const outcome = await runCliProcess({
    what: 'node (agent boxed)',
    command: process.execPath,
    args: ['-e', SCRIPT],
    cwd: req.cwd,
    env: decision.boundary.env({ PATH: process.env.PATH ?? '', HOME: root, ...req.target.env, STANDIN: model.url }),
    limits: { timeoutMs: 30_000, inactivityMs: 30_000, startGraceMs: 30_000 },
    killGraceMs: 2_000,
    exitAfterResultMs: 5_000,
    installHint: 'node',
    onLine: (line) => lines.push(line),
    boundary: decision.boundary,
  });
  expect(outcome.exitCode, lines.join('\n')).toBe(0);
  return { text: lines.join('\n') };
}

it("a sandboxed agent reaches the proxy on 127.0.0.1:45801 through its model.sock: the real key goes on from the daemon's side, never into the sandbox", async () => {
  const invoke = invokeThroughModelProxy(runAsCli, { proxy });
  // As the launch plan makes it on a node that enforces the boundary and runs a model proxy.
  const target = { runtime: 'claude-code', provider: 'claude-code', env: { ANTHROPIC_API_KEY: REAL_KEY, ANTHROPIC_BASE_URL: model.url }, sandbox: spec, confined: true };
  const result = await invoke({
    agentId: 'boxed',
    target,
    modelRoute: planModelRoute(target, 'on', { boundary: true, modelProxy: true }),
    prompt: 'hi',
    systemPrompt: '',
    cwd: workspace,
    env: { TINYAGI_RUN_ID: 'run_boxed', TINYAGI_CONVERSATION_ID: 'conv_boxed' },
  });
  const lines = result.text.split('\n').map((l) => JSON.parse(l) as { status?: number; text?: string; env?: Record<string, string>; direct?: unknown; error?: string });
  const call = lines.find((l) => l.status !== undefined || l.error !== undefined)!;
  expect(call, result.text).toMatchObject({ status: 200 });
  expect(call.text).toContain('from the stand-in');
  const env = lines.find((l) => l.env)!.env!;
  expect(env.ANTHROPIC_BASE_URL).toBe('http://127.0.0.1:45801/anthropic');
  expect(env.ANTHROPIC_AUTH_TOKEN).toMatch(/^tinyagi-proxy-/);
  expect(JSON.stringify(env)).not.toContain(REAL_KEY);
  // The stand-in itself is not reachable from inside: only through the proxy.
  expect(lines.find((l) => l.direct !== undefined)?.direct).toBe('refused');
  // The daemon's side: the socket names the agent; the real key in x-api-key (an Anthropic API key).
  expect(model.calls).toHaveLength(1);
  expect(model.calls[0]!.request.headers['x-api-key']).toBe(REAL_KEY);
  expect(model.calls[0]!.request.headers.authorization).toBeUndefined();
  await waitFor(() => metered.length === 1, 5000, 'the call metered');
  expect(metered[0]).toMatchObject({ agentId: 'boxed', runId: 'run_boxed', usage: { inputTokens: 321 + 40 + 5, outputTokens: 12, cacheReadTokens: 40, cacheWriteTokens: 5 } });
  expect(proxy.agents()).toEqual(['boxed']);
});

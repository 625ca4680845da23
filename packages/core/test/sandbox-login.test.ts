/**
 * What a sandboxed CLI agent will log in with inside the boundary (invoker/sandbox-login.ts), as
 * doctor and `agent add` say it: judged from the agent's resolved target and the daemon's
 * environment (a HOME of the test's own holding the user's CLI files), per CLI; and the runs that
 * cannot log in fail at once (codex-config.ts codexSandboxLoginError), not retried.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { planLaunch } from '../src/invoker/launch-plan.ts';
import { resolveInvokeTarget } from '../src/invoker/resolve-target.ts';
import { codexSandboxLoginError } from '../src/invoker/runtimes/codex-config.ts';
import { sandboxLoginStatus } from '../src/invoker/sandbox-login.ts';
import { proxiedTarget, proxiedUpstream } from '../src/invoker/through-model-proxy.ts';
import type { InvokeTarget } from '../src/invoker/types.ts';
import { boundaryEnforced, quickCheck } from '@tinyagi/sandbox';

let home: string;
const settings = (agent: Record<string, unknown>) => ({ agents: { a: { sandbox: 'on', ...agent } } }) as never;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'tinyagi-sandbox-login-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

it('per CLI: the login or key the model proxy carries inside the sandbox, else the cause and the one command that fixes it', () => {
  const env = { HOME: home, PATH: process.env.PATH ?? '' };
  const machine = quickCheck(env);
  const status = (agent: Record<string, unknown>, extra: Record<string, string> = {}) =>
    sandboxLoginStatus(resolveInvokeTarget(settings(agent), 'a', { ...env, ...extra }), { ...env, ...extra }, machine);
  const claude = { provider: 'anthropic' };
  const probe = resolveInvokeTarget(settings(claude), 'a', env);
  // A machine that cannot enforce the boundary runs the agent unconfined: no question there.
  if (!boundaryEnforced(probe.sandbox, machine)) {
    expect(status(claude)).toBeUndefined();
    return;
  }
  // Claude Code: no login file -> fail, naming claude setup-token; a login file -> ok, its file named; expired -> fail; the token -> ok.
  expect(status(claude)).toMatchObject({ status: 'fail', fix: expect.stringContaining('claude setup-token') });
  mkdirSync(join(home, '.claude'));
  const login = (expiresAt: number): void => writeFileSync(join(home, '.claude', '.credentials.json'), JSON.stringify({ claudeAiOauth: { accessToken: 'sk-ant-oat01-x', expiresAt } }));
  login(Date.now() + 8 * 3_600_000);
  expect(status(claude)).toMatchObject({ status: 'ok', message: expect.stringContaining(join(home, '.claude', '.credentials.json')) });
  login(Date.now() + 60_000);
  expect(status(claude)).toMatchObject({ status: 'warn', message: expect.stringContaining('only your own `claude` refreshes it') });
  login(Date.now() - 1);
  expect(status(claude)).toMatchObject({ status: 'fail', message: expect.stringContaining('has expired') });
  expect(status(claude, { CLAUDE_CODE_OAUTH_TOKEN: 'tok' })).toMatchObject({ status: 'ok', message: expect.stringContaining('CLAUDE_CODE_OAUTH_TOKEN') });
  // Unconfined: the CLI reads its own login itself.
  expect(status({ ...claude, sandbox: 'off' })).toBeUndefined();

  // Codex: a ChatGPT login only -> fail (the message fails at once too); codex login's API key -> ok; its own provider -> ok, at its URL.
  const codex = { provider: 'openai' };
  mkdirSync(join(home, '.codex'));
  writeFileSync(join(home, '.codex', 'auth.json'), JSON.stringify({ OPENAI_API_KEY: null, tokens: { access_token: 'chatgpt' } }));
  expect(status(codex)).toMatchObject({ status: 'fail', fix: expect.stringContaining('codex login --with-api-key') });
  // The run's target as its launch plans it on this node (confined: the boundary holds here).
  const launched = planLaunch({ settings: settings(codex), agentId: 'a', env, cwd: home, node: { boundary: true, modelProxy: true } }).target;
  const error = codexSandboxLoginError('codex (agent a)', launched);
  expect(error).toMatchObject({ kind: 'permanent', message: expect.stringContaining('Codex runs inside the sandbox, where it has no login it can use') });
  writeFileSync(join(home, '.codex', 'auth.json'), JSON.stringify({ OPENAI_API_KEY: 'sk-login' }));
  expect(status(codex)).toMatchObject({ status: 'ok' });
  writeFileSync(join(home, '.codex', 'config.toml'), 'model_provider = "gw"\n[model_providers.gw]\nbase_url = "http://127.0.0.1:9/v1"\nenv_key = "GW_KEY"\n');
  expect(status(codex, { GW_KEY: 'k' })).toMatchObject({ status: 'ok', message: expect.stringContaining('"gw" of its own config at http://127.0.0.1:9/v1') });

  // OpenCode: its own login is not brought in -> fail, naming a TinyAGI provider; an OpenAI-compatible provider of its opencode.json -> ok, its key variable needed.
  expect(status({ provider: 'opencode' })).toMatchObject({ status: 'fail', fix: expect.stringContaining('tinyagi provider add') });
  mkdirSync(join(home, '.config', 'opencode'), { recursive: true });
  const mine = { npm: '@ai-sdk/openai-compatible', options: { baseURL: 'http://127.0.0.1:9/v1', apiKey: '{env:MINE_KEY}' } };
  writeFileSync(join(home, '.config', 'opencode', 'opencode.json'), JSON.stringify({ provider: { mine } }));
  expect(status({ provider: 'opencode', model: 'mine/m1' }, { MINE_KEY: 'k' })).toMatchObject({ status: 'ok', message: expect.stringContaining('"mine" of its own opencode.json') });
  expect(status({ provider: 'opencode', model: 'mine/m1' })).toMatchObject({ status: 'fail', fix: expect.stringContaining('set MINE_KEY') });
  // Routed: the CLI gets the provider at the proxy and the model without its prefix, the key nowhere.
  // (The route reads the daemon's HOME: here the target's.)
  const own: InvokeTarget = { runtime: 'opencode', provider: 'opencode', model: 'mine/m1', timeoutMs: 20_000, env: { HOME: home, MINE_KEY: 'sk-mine' } };
  const upstream = proxiedUpstream(own, 'on');
  expect(upstream).toEqual({ family: 'openai', baseUrl: 'http://127.0.0.1:9/v1', key: 'sk-mine', auth: 'bearer' });
  const routed = proxiedTarget(own, upstream!, { baseUrl: 'http://127.0.0.1:1/openai', apiKey: 'tinyagi-proxy-x' });
  expect(routed).toMatchObject({ baseUrl: 'http://127.0.0.1:1/openai', apiKey: 'tinyagi-proxy-x', model: 'm1', env: { HOME: home } });
  expect(JSON.stringify(routed)).not.toContain('sk-mine');
});

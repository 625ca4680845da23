/**
 * `tinyagi doctor` judges what a sandboxed agent's CLI will log in with INSIDE the boundary
 * (core's sandboxLoginStatus), not whether the user's file exists: a Claude Code agent with a
 * login file is ok (the model proxy carries its token), without one it fails naming `claude
 * setup-token`; a Codex agent with only a ChatGPT login fails naming `codex login --with-api-key`;
 * an unconfined agent is no question. `agent add`'s hint (sandboxLoginHint) says the same line.
 * No daemon runs here: the environment checked is the shell's (its PATH has bwrap: the boundary holds).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp, tempHome } from '@tinyagi/test-kit';
import { afterAll, expect, it } from 'vitest';
import { cliContext } from '../src/context.ts';
import { runDoctor } from '../src/doctor/checks.ts';
import { sandboxLoginHint } from '../src/doctor/sandbox-logins.ts';

afterAll(() => cleanupTemp());

it('doctor says what each sandboxed agent logs in with inside, and the fix when it has nothing', async () => {
  const home = tempHome({ path: (process.env.PATH ?? '').split(':') });
  const settings = { agents: { claude: { provider: 'anthropic', sandbox: 'on' }, codex: { provider: 'openai', sandbox: 'on' }, free: { provider: 'anthropic', sandbox: 'off' } } };
  writeFileSync(join(home.home, 'settings.json'), JSON.stringify(settings));
  mkdirSync(join(home.root, '.codex'));
  writeFileSync(join(home.root, '.codex', 'auth.json'), JSON.stringify({ OPENAI_API_KEY: null, tokens: { access_token: 'chatgpt' } }));
  const logins = async () => (await runDoctor(cliContext({}, home.env), { fix: false })).filter((f) => f.check.startsWith('sandbox-login:'));
  expect(await logins()).toEqual([
    { check: 'sandbox-login:claude', status: 'fail', message: expect.stringContaining('inside the sandbox Claude Code has no login'), hint: expect.stringContaining('claude setup-token') },
    { check: 'sandbox-login:codex', status: 'fail', message: expect.stringContaining('a ChatGPT login (`codex login`) stays outside'), hint: expect.stringContaining('codex login --with-api-key') },
  ]);
  expect(sandboxLoginHint(settings as never, 'claude', home.env)).toMatch(/^Sandboxed: inside the sandbox Claude Code has no login.*To fix: run `claude setup-token`/);
  expect(sandboxLoginHint(settings as never, 'free', home.env)).toBeUndefined();

  mkdirSync(join(home.root, '.claude'));
  const file = join(home.root, '.claude', '.credentials.json');
  writeFileSync(file, JSON.stringify({ claudeAiOauth: { accessToken: 'sk-ant-oat01-x', expiresAt: Date.now() + 8 * 3_600_000 } }));
  expect((await logins())[0]).toEqual({
    check: 'sandbox-login:claude',
    status: 'ok',
    message: `Agent "claude": inside the sandbox Claude Code uses the login of ${file}, carried by the model proxy (the file stays outside)`,
  });
  expect(sandboxLoginHint(settings as never, 'claude', home.env)).toBeUndefined();
}, 60_000);

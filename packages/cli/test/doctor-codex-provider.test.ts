/**
 * `tinyagi doctor` on a Codex agent that runs with the user's own Codex config (no TinyAGI
 * provider): a selected provider whose key variable the daemon's environment lacks is a failure
 * naming the variable, the provider and the file (the run's error says the same, core's
 * codex-own-provider test); with the variable set it is ok. No daemon runs here, so the
 * environment checked is the shell's, as the finding says.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp, tempHome } from '@tinyagi/test-kit';
import { afterAll, expect, it } from 'vitest';
import { cliContext } from '../src/context.ts';
import { runDoctor } from '../src/doctor/checks.ts';

afterAll(() => cleanupTemp());

it("doctor names the missing key variable of the provider a Codex agent's own config selects, and is ok once it is set", async () => {
  const home = tempHome();
  writeFileSync(join(home.home, 'settings.json'), JSON.stringify({ agents: { coder: { provider: 'codex' }, bot: { provider: 'mock' } } }));
  const config = join(home.root, '.codex', 'config.toml');
  mkdirSync(join(home.root, '.codex'));
  writeFileSync(
    config,
    ['model_provider = "openrouter"', '[model_providers.openrouter]', 'name = "OpenRouter"', 'base_url = "https://openrouter.ai/api/v1"', 'env_key = "OPENROUTER_API_KEY"'].join('\n'),
  );

  const missing = await runDoctor(cliContext({}, home.env), { fix: false });
  expect(missing.filter((f) => f.check.startsWith('codex-provider:'))).toEqual([
    {
      check: 'codex-provider:coder',
      status: 'fail',
      message: expect.stringContaining(
        `Agent "coder": Codex's own config ${config} selects the provider "openrouter" (OpenRouter), which reads its API key from OPENROUTER_API_KEY, and OPENROUTER_API_KEY is not set in the daemon's environment.`,
      ),
    },
  ]);
  expect(missing.find((f) => f.check === 'codex-provider:coder')?.message).toContain("(checked against this shell's environment)");

  const set = await runDoctor(cliContext({}, { ...home.env, OPENROUTER_API_KEY: 'sk-or-1234' }), { fix: false });
  expect(set.filter((f) => f.check.startsWith('codex-provider:'))).toEqual([
    { check: 'codex-provider:coder', status: 'ok', message: `Agent "coder": Codex runs with the provider "openrouter" (OpenRouter) of its own config ${config}, its key from OPENROUTER_API_KEY` },
  ]);
}, 60_000);

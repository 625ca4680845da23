/**
 * Codex with its user's own provider (issue 48, §2): the user's `~/.codex/config.toml` (HOME is
 * the rig's root) selects a provider of theirs that points at the stand-in and reads its key from
 * OPENAI_API_KEY, the documented way to use Azure, OpenRouter or a local server with Codex. The
 * agent is on `provider: "codex"` (no TinyAGI provider), the daemon has OPENAI_API_KEY: the
 * agent replies, and every model request carried that key to the stand-in. When the variable the
 * provider names is not in the daemon's environment, the message fails once (no retry: a missing
 * variable does not appear by itself) with an error that names the variable, the provider and
 * the file, and the model is never asked.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp } from '@tinyagi/test-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLI_CASES, PROVIDER_KEY, startRig, type Rig } from './harness.ts';
import { describeOutcome, expectProviderCalls } from './suite.ts';

let rig: Rig;
let configFile: string;

/** The user's config: their provider at the stand-in, its key in `envKey`. */
function writeUserConfig(envKey: string): void {
  writeFileSync(
    configFile,
    [
      'model = "gpt-5.1"',
      'model_provider = "my-gateway"',
      '',
      '[model_providers.my-gateway]',
      'name = "My gateway"',
      `base_url = "${rig.model.url}/v1"`,
      `env_key = "${envKey}"`,
      'wire_api = "responses"',
      '',
    ].join('\n'),
  );
}

beforeAll(async () => {
  // No CODEX_HOME: Codex reads the user's ~/.codex, as for a user who never set it (no command runs in Codex's sandbox here).
  rig = await startRig(CLI_CASES.codex, { codexHome: 'home', daemonEnv: { OPENAI_API_KEY: PROVIDER_KEY }, agents: { own: { provider: 'codex' } } });
  mkdirSync(join(rig.daemon.root, '.codex'), { recursive: true });
  configFile = join(rig.daemon.root, '.codex', 'config.toml');
}, 120_000);

afterAll(async () => {
  await rig?.cleanup();
  cleanupTemp();
});

it("codex: an agent with the user's own provider (~/.codex/config.toml, env_key = OPENAI_API_KEY) replies, with the daemon's key", async () => {
  writeUserConfig('OPENAI_API_KEY');
  rig.rule('OWN-PROVIDER-3b7', () => ({ reply: 'Hello through your own gateway (OWN-ok).' }));
  const o = await rig.send({ agent: 'own', senderId: 'own-provider', message: 'OWN-PROVIDER-3b7 say hello' });
  expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
  expect(o.message.attempts, describeOutcome(o)).toBe(1);
  expect(o.replies.join('\n')).toContain('Hello through your own gateway (OWN-ok).');
  expectProviderCalls(rig, o.calls);
});

it("codex: a user's provider whose key variable the daemon lacks fails once, saying which variable of which provider", async () => {
  writeUserConfig('MY_GATEWAY_KEY');
  const o = await rig.send({ agent: 'own', senderId: 'own-provider-missing', message: 'OWN-MISSING-8c2 say hello' });
  expect(o.runs[0]?.status, describeOutcome(o)).toBe('failed');
  expect(o.message.attempts, describeOutcome(o)).toBe(1);
  expect(o.message.lastError).toContain(
    `Codex's own config ${configFile} selects the provider "my-gateway" (My gateway), which reads its API key from MY_GATEWAY_KEY, and MY_GATEWAY_KEY is not set in the daemon's environment.`,
  );
  expect(o.calls).toEqual([]);
});

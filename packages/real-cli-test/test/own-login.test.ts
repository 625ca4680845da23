/**
 * A user's own CLI login and setup, sandboxed (docs/sandbox.md#your-own-cli-login-and-setup): the
 * agent is made by `tinyagi agent add` with its defaults (sandbox on), on the runtime's own
 * provider, with nothing of TinyAGI's in between; the user's CLI home is the daemon's HOME (the
 * rig's root), written the way each CLI stores it.
 * - Claude Code logged in (`~/.claude/.credentials.json`, a subscription's OAuth token): the
 *   first message is answered, every model call carried the login's token (the model proxy put
 *   it in, with the API's OAuth flag), and inside the boundary neither the login file nor the
 *   token can be read.
 *   A login it cannot use (expired here; on macOS the login is in the Keychain) fails the first
 *   message once (not retried), naming the one command that fixes it.
 * - Codex whose own `~/.codex/config.toml` selects the user's provider (`env_key =
 *   "MY_GATEWAY_KEY"`), and OpenCode on its own opencode.json provider (`{env:MINE_KEY}`), at a
 *   model server on the host's loopback: the first message is answered through that provider,
 *   every call carried its key; neither it nor any other key of the daemon (OPENAI_API_KEY,
 *   ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN, OPENROUTER_API_KEY in its environment) is in the
 *   agent's environment, its private home or its workspace.
 * - OpenCode on a built-in provider: `agent add` names the fix, and the first message fails once,
 *   the model never asked.
 * One message each, with one shell call that tries to read what must stay outside.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp, toolOutput, waitFor } from '@tinyagi/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CASES, PROVIDER_KEY, startRig, type Outcome, type Rig, type SendInput } from './harness.ts';
import { describeOutcome, turnsOf } from './suite.ts';

/** The daemon's other keys, which never enter a sandboxed agent (docs/sandbox.md#the-model-proxy). */
const DAEMON_KEYS = {
  OPENAI_API_KEY: 'sk-proj-daemon-openai-5f1e',
  ANTHROPIC_API_KEY: 'sk-ant-api03-daemon-2b9c',
  CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-daemon-8d0a',
  OPENROUTER_API_KEY: 'sk-or-v1-daemon-4e7f',
};

/** Every file under `dir`, read (the agent's private home, its workspace). */
function filesUnder(dir: string): Array<{ path: string; text: string }> {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (stat?.isFile()) return [{ path: dir, text: readFileSync(dir, 'utf8') }];
  return stat?.isDirectory() ? readdirSync(dir).flatMap((name) => filesUnder(join(dir, name))) : [];
}

/** The subscription's access token of the fake `claude login`. */
const LOGIN_TOKEN = 'sk-ant-oat01-standin-login-7d41';

/** Sends and allows whatever the CLI asks on the way (`agent add`'s defaults may ask; the question here is the boundary). */
function sendAllowing(rig: Rig, agent: string, input: Omit<SendInput, 'agent' | 'whileRunning'>): Promise<Outcome> {
  return rig.send({
    ...input,
    agent,
    whileRunning: async (messageId) => {
      await waitFor(
        async () => {
          for (const request of await rig.daemon.api.listApprovals({ query: { status: 'pending', agent } })) {
            await rig.daemon.api.decideApproval({ params: { id: request.id }, body: { decision: 'allow_once', by: 'own-login test' } }).catch(() => undefined);
          }
          return (await rig.daemon.api.getMessage({ params: { id: messageId } })).message.status !== 'processing' || undefined;
        },
        120_000,
        'the message to be processed',
        50,
      );
    },
  });
}

/** The first call asks for `command`, the next replies with the tool's output. */
function shellThenReply(rig: Rig, marker: string, command: string): void {
  rig.rule(marker, (request) => {
    const out = toolOutput(request);
    if (out === undefined) return { shell: command };
    return { reply: `The tool said: ${out.split('\n').find((l) => l.startsWith('home=')) ?? '?'}` };
  });
}

function toolOutputOf(o: Outcome): string {
  return (
    turnsOf(o.calls)
      .map((c) => toolOutput(c.request))
      .find((t) => t !== undefined) ?? ''
  );
}

async function expectSandboxed(rig: Rig, agent: string): Promise<void> {
  const settings = JSON.parse(await rig.daemon.cliOk(['agent', 'show', agent, '--json'])) as { sandbox?: string };
  expect(settings.sandbox, "agent add's default").toBe('on');
  const status = (await rig.daemon.api.listAgents()).find((a) => a.id === agent)?.sandboxStatus;
  expect(status?.state, JSON.stringify(status)).toBe('enforced');
}

/** A sandboxed agent on the user's own provider: its first message answered inside the boundary, every model call with the provider's key, which the agent never sees. */
async function answersThroughOwnProvider(rig: Rig, marker: string, senderId: string): Promise<void> {
  await expectSandboxed(rig, 'own');
  shellThenReply(rig, marker, 'env; echo "home=$HOME"');
  const o = await sendAllowing(rig, 'own', { senderId, message: `${marker} print the environment` });
  expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
  expect(o.message.attempts, describeOutcome(o)).toBe(1);
  expect(o.replies.join('\n')).toContain(`home=${join(rig.daemon.home, 'agent-homes', 'own')}`);
  const output = toolOutputOf(o);
  expect(output, 'the shell tool ran inside').toContain('TINYAGI_AGENT_ID=own');
  const keys = [PROVIDER_KEY, ...Object.values(DAEMON_KEYS)];
  const seen = [{ path: "the agent's environment", text: output }, ...filesUnder(join(rig.daemon.home, 'agent-homes', 'own')), ...filesUnder(join(rig.daemon.root, 'workspace', 'own'))];
  expect(seen.flatMap(({ path, text }) => keys.filter((key) => text.includes(key)).map((key) => `${key} in ${path}`))).toEqual([]);
  const turns = turnsOf(o.calls);
  expect(turns.length, 'the model was asked').toBeGreaterThan(0);
  for (const call of turns) {
    expect(call.request.model).toBe('gpt-5.1');
    expect(call.request.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
  }
}

describe('claude logged in, sandboxed as `agent add` makes it', () => {
  let rig: Rig;
  let loginFile: string;

  beforeAll(async () => {
    rig = await startRig(CLI_CASES.claude, {
      // The login's calls go to the stand-in instead of api.anthropic.com.
      daemonEnv: (url) => ({ ANTHROPIC_BASE_URL: url }),
      prepareHome: (home) => {
        mkdirSync(join(home, '.claude'), { recursive: true });
        loginFile = join(home, '.claude', '.credentials.json');
        const login = { claudeAiOauth: { accessToken: LOGIN_TOKEN, refreshToken: 'sk-ant-ort01-standin', expiresAt: Date.now() + 8 * 3_600_000, scopes: ['user:inference'], subscriptionType: 'max' } };
        writeFileSync(loginFile, JSON.stringify(login), { mode: 0o600 });
      },
    });
    await rig.daemon.cliOk(['agent', 'add', 'mine', '--provider', 'claude-code', '--model', 'claude-sonnet-4-6']);
  }, 120_000);

  afterAll(async () => {
    await rig?.cleanup();
    cleanupTemp();
  });

  it('answers the first message with the login carried by the model proxy; the login file and token stay outside', async () => {
    await expectSandboxed(rig, 'mine');
    shellThenReply(rig, 'LOGIN-CLAUDE-5a3', `cat ~/.claude/.credentials.json ${loginFile}; env; echo "home=$HOME"`);
    const o = await sendAllowing(rig, 'mine', { senderId: 'own-login-claude', message: 'LOGIN-CLAUDE-5a3 read the login' });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
    expect(o.message.attempts, describeOutcome(o)).toBe(1);
    expect(o.replies.join('\n')).toContain(`home=${join(rig.daemon.home, 'agent-homes', 'mine')}`);
    const output = toolOutputOf(o);
    expect(output, 'the shell tool ran inside').toContain('TINYAGI_AGENT_ID=mine');
    expect(output.includes(LOGIN_TOKEN), 'the login token is readable inside the boundary').toBe(false);
    const turns = turnsOf(o.calls);
    expect(turns.length, 'the model was asked').toBeGreaterThan(0);
    for (const call of turns) {
      expect(call.request.headers.authorization).toBe(`Bearer ${LOGIN_TOKEN}`);
      expect(String(call.request.headers['anthropic-beta'] ?? '')).toContain('oauth-2025-04-20');
    }
  });
  it('a login it cannot use (expired) fails the first message once, naming the fix; the model is never asked', async () => {
    const expired = { claudeAiOauth: { accessToken: LOGIN_TOKEN, refreshToken: 'sk-ant-ort01-standin', expiresAt: Date.now() - 60_000, scopes: ['user:inference'] } };
    writeFileSync(loginFile, JSON.stringify(expired), { mode: 0o600 });
    const o = await rig.send({ agent: 'mine', senderId: 'own-login-expired', message: 'LOGIN-EXPIRED-2c8 say hello' });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('failed');
    expect(o.message.attempts, describeOutcome(o)).toBe(1);
    expect(o.message.lastError).toContain('Claude Code has no login it can use here');
    expect(o.message.lastError).toContain('run `claude setup-token` and give the token to the daemon as CLAUDE_CODE_OAUTH_TOKEN');
    expect(turnsOf(o.calls)).toEqual([]);
    // `agent add` says the same fix at once, before any message.
    expect(await rig.daemon.cliOk(['agent', 'add', 'later', '--provider', 'claude-code'])).toContain('claude setup-token');
  });
});

describe("codex with its own config.toml provider on the host's loopback, sandboxed as `agent add` makes it", () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig(CLI_CASES.codex, {
      codexHome: 'home',
      daemonEnv: { ...DAEMON_KEYS, MY_GATEWAY_KEY: PROVIDER_KEY },
      prepareHome: (home, url) => {
        mkdirSync(join(home, '.codex'), { recursive: true });
        const config = [
          'model = "gpt-5.1"',
          'model_provider = "my-gateway"',
          '',
          '[model_providers.my-gateway]',
          'name = "My gateway"',
          `base_url = "${url}/v1"`,
          'env_key = "MY_GATEWAY_KEY"',
          'wire_api = "responses"',
          '',
        ];
        writeFileSync(join(home, '.codex', 'config.toml'), config.join('\n'));
      },
    });
    await rig.daemon.cliOk(['agent', 'add', 'own', '--provider', 'codex']);
  }, 120_000);

  afterAll(async () => {
    await rig?.cleanup();
    cleanupTemp();
  });

  it("answers the first message through the user's provider; its key stays outside", () => answersThroughOwnProvider(rig, 'OWN-CODEX-9e2', 'own-login-codex'));
});

describe("opencode with its own opencode.json provider on the host's loopback, sandboxed as `agent add` makes it", () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig(CLI_CASES.opencode, {
      daemonEnv: { ...DAEMON_KEYS, MINE_KEY: PROVIDER_KEY },
      prepareHome: (home, url) => {
        mkdirSync(join(home, '.config', 'opencode'), { recursive: true });
        const provider = { npm: '@ai-sdk/openai-compatible', name: 'Mine', options: { baseURL: `${url}/v1`, apiKey: '{env:MINE_KEY}' }, models: { 'gpt-5.1': {} } };
        writeFileSync(join(home, '.config', 'opencode', 'opencode.json'), JSON.stringify({ provider: { mine: provider } }));
      },
    });
    await rig.daemon.cliOk(['agent', 'add', 'own', '--provider', 'opencode', '--model', 'mine/gpt-5.1']);
  }, 120_000);

  afterAll(async () => {
    await rig?.cleanup();
    cleanupTemp();
  });

  it("answers the first message through the user's provider; its key stays outside", () => answersThroughOwnProvider(rig, 'OWN-OPENCODE-4f6', 'own-login-opencode'));

  it('on a built-in provider: agent add names the fix, and the first message fails once, the model never asked', async () => {
    expect(await rig.daemon.cliOk(['agent', 'add', 'builtin', '--provider', 'opencode', '--model', 'anthropic/claude-sonnet-4-6'])).toContain('tinyagi provider add');
    const o = await rig.send({ agent: 'builtin', senderId: 'own-login-builtin', message: 'OWN-BUILTIN-1d5 say hello' });
    expect(o.runs[0]?.status, describeOutcome(o)).toBe('failed');
    expect(o.message.attempts, describeOutcome(o)).toBe(1);
    expect(o.message.lastError).toContain("OpenCode has neither its own login (`opencode auth`) nor its built-in providers' keys");
    expect(turnsOf(o.calls)).toEqual([]);
  });
});

/**
 * The channel runner as users get it: the daemon from its start-up snapshot (a CommonJS bundle
 * with no `import.meta.resolve`) finds @tinyagi/channels and starts the channel; when no runner
 * can be found, the channel's status and `tinyagi doctor` say why instead of a bare
 * `not_installed`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { FakeTelegram } from '@tinyagi/test-kit/fake-telegram';
import { createDaemon, waitFor, type TestDaemon } from '@tinyagi/test-kit';

let fake: FakeTelegram;
const daemons: TestDaemon[] = [];

beforeAll(async () => {
  fake = new FakeTelegram();
  await fake.start();
});
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.cleanup();
});
afterAll(async () => {
  await fake?.close();
});

async function started(env: Record<string, string> = {}): Promise<TestDaemon> {
  const d = await createDaemon({
    prefix: 'tinyagi-channel-runner-',
    env,
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'mock' },
      agents: { coder: { provider: 'mock' } },
      channels: { enabled: ['telegram'], telegram: { bot_token: fake.token, api_root: fake.url } },
    }),
  });
  daemons.push(d);
  await d.cliOk(['start']);
  return d;
}

const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

it.runIf(process.platform === 'linux')('`tinyagi start` runs the daemon from its snapshot and the channel starts and polls the platform', async () => {
  const d = await started();
  const pid = Number(readFileSync(join(d.home, 'tinyagi.pid'), 'utf8').trim());
  expect(cmdline(pid)).toContain('--snapshot-blob');
  const telegram = await waitFor(async () => (await d.api.listChannels()).find((c) => c.name === 'telegram' && c.state === 'connected'), 20_000, 'telegram to connect');
  expect(cmdline(telegram.pid!).some((a) => a.endsWith(join('channels', 'dist', 'runner.js')))).toBe(true);
  await fake.until(() => fake.calls.includes('getUpdates'), 'the channel to poll');
  const doctor = await d.cliHere(['doctor']);
  expect(doctor.stdout).toMatch(/✔ telegram is connected/);
});

it('a runner that cannot be found: the status and `tinyagi doctor` say why', async () => {
  const d = await started({ TINYAGI_CHANNEL_RUNNER: '/nonexistent/runner.js' });
  const telegram = await waitFor(async () => (await d.api.listChannels()).find((c) => c.name === 'telegram' && c.state === 'not_installed'), 20_000, 'telegram not installed');
  expect(telegram.lastError).toBe('TINYAGI_CHANNEL_RUNNER names /nonexistent/runner.js, which does not exist');
  const doctor = await d.cliHere(['doctor']);
  expect(doctor.code).not.toBe(0);
  expect(doctor.stdout).toContain('Channels are enabled but will not start: TINYAGI_CHANNEL_RUNNER names /nonexistent/runner.js, which does not exist.');
  expect(doctor.stdout).toContain('telegram is not installed in the running daemon, not connected: TINYAGI_CHANNEL_RUNNER names /nonexistent/runner.js, which does not exist.');
});

it('`channel setup --telegram-api-root` points Telegram at a self-hosted Bot API server, and back', async () => {
  const d = await createDaemon({ prefix: 'tinyagi-channel-setup-' });
  daemons.push(d);
  const telegram = () => (JSON.parse(readFileSync(join(d.home, 'settings.json'), 'utf8')) as { channels: { telegram?: Record<string, unknown> } }).channels.telegram;
  await d.cliHereOk(['channel', 'setup', '--enable', 'telegram', '--telegram-token', '123:abc', '--telegram-api-root', 'http://127.0.0.1:8081/']);
  expect(telegram()).toEqual({ bot_token: '123:abc', api_root: 'http://127.0.0.1:8081' });
  const bad = await d.cliHere(['channel', 'setup', '--telegram-api-root', 'ftp://bots.example']);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain('--telegram-api-root: ftp://bots.example is not an http(s) URL.');
  await d.cliHereOk(['channel', 'setup', '--telegram-api-root', '']);
  expect(telegram()).toEqual({ bot_token: '123:abc' });
});

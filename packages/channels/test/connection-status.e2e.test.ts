/**
 * A channel's status tells the truth about its platform (docs/channels.md#channel-states), through
 * the real processes: the built daemon supervises the built channel runner, whose platform
 * stand-in sits behind a network the test cuts and restores (cut-network.ts). While the platform
 * cannot be reached the channel is never `connected` but `reconnecting`, with the attempt and the
 * error (and `tinyagi doctor` fails it, saying why); once the stand-in is reachable it becomes
 * `connected`. Telegram's network cut while connected turns it `reconnecting` in the same process
 * (grammY polls again by itself), and `connected` again once the network is back.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { ChannelStatus } from '@tinyagi/client';
import { FakeDiscord } from '@tinyagi/test-kit/fake-discord';
import { FakeTelegram } from '@tinyagi/test-kit/fake-telegram';
import { waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { CutNetwork } from './cut-network.ts';
import { createChannelDaemon } from './daemon.ts';

let telegram: FakeTelegram;
let discord: FakeDiscord;
let telegramNet: CutNetwork;
let discordNet: CutNetwork;
let d: TestDaemon;

beforeAll(async () => {
  telegram = new FakeTelegram();
  await telegram.start();
  discord = new FakeDiscord();
  await discord.start();
  telegramNet = await CutNetwork.create(() => Number(new URL(telegram.url).port));
  discordNet = await CutNetwork.create(() => Number(new URL(discord.url).port));
  d = await createChannelDaemon({
    channels: {
      enabled: ['telegram', 'discord'],
      telegram: { bot_token: telegram.token, api_root: telegramNet.url },
      discord: { bot_token: discord.token, rest_api: `${discordNet.url}/api` },
    },
  });
  await d.start();
}, 120_000);

afterEach((context) => {
  if (context.task.result?.state !== 'fail') return;
  for (const name of ['telegram', 'discord']) {
    const file = join(d.home, 'logs', `${name}.log`);
    console.error(`--- logs/${name}.log ---\n${existsSync(file) ? readFileSync(file, 'utf8').slice(-3000) : '(none)'}`);
  }
  console.error(d.logs());
});

afterAll(async () => {
  await d?.cleanup();
  await telegramNet?.cut();
  await discordNet?.cut();
  await telegram?.close();
  await discord?.close();
});

/** Every state of `name` the status showed while waiting, in order (repeats collapsed). */
const seen = new Map<string, string[]>([
  ['telegram', []],
  ['discord', []],
]);

async function statusOf(name: string): Promise<ChannelStatus | undefined> {
  const status = (await d.api.listChannels()).find((c) => c.name === name);
  const states = seen.get(name) ?? [];
  seen.set(name, states);
  if (status?.state !== undefined && states.at(-1) !== status.state) states.push(status.state);
  return status;
}

const until = (name: string, what: string, ok: (c: ChannelStatus) => boolean, timeoutMs = 60_000): Promise<ChannelStatus> =>
  waitFor(
    async () => {
      const c = await statusOf(name);
      return c !== undefined && ok(c) ? c : undefined;
    },
    timeoutMs,
    `${name} ${what}`,
  );

it('with no route to the platforms: reconnecting with the attempt and the error, never connected, and doctor says so', async () => {
  const tg = await until('telegram', 'reconnecting a second time', (c) => c.state === 'reconnecting' && (c.attempt ?? 0) >= 2);
  expect(tg.lastError).toMatch(/cannot reach the Bot API at http:\/\/127\.0\.0\.1:\d+ \(getMe\).*ECONNREFUSED/);
  // The bot token is never shown (a fetch error names the URL that holds it).
  expect(tg.lastError).not.toContain(telegram.token);
  const dc = await until('discord', 'reconnecting', (c) => c.state === 'reconnecting' && c.lastError != null);
  expect(dc.lastError).toMatch(/ECONNREFUSED|fetch failed|connect/i);
  expect(seen.get('telegram')).not.toContain('connected');
  expect(seen.get('discord')).not.toContain('connected');

  const doctor = await d.cliHere(['doctor']);
  expect(doctor.stdout).toMatch(/✖ telegram is reconnecting \(attempt \d+: cannot reach the Bot API.*ECONNREFUSED.*\) in the running daemon, not connected/);
  expect(doctor.stdout).toMatch(/✖ discord is reconnecting \(attempt \d+/);
  expect(doctor.stdout).toMatch(/Check that this machine reaches the platform/);
  const status = await d.cliHere(['status']);
  expect(status.stdout).toMatch(/telegram reconnecting \(attempt \d+: cannot reach the Bot API/);
}, 120_000);

it('once the platforms are reachable: connected, the error gone', async () => {
  await telegramNet.restore();
  await discordNet.restore();
  const tg = await until('telegram', 'connected', (c) => c.state === 'connected', 90_000);
  expect(tg).toMatchObject({ attempt: 0, lastError: null });
  // Connected means the platform answered: getMe, then a poll.
  expect(telegram.calls).toContain('getMe');
  expect(telegram.calls).toContain('getUpdates');
  const dc = await until('discord', 'connected', (c) => c.state === 'connected', 90_000);
  expect(dc.lastError).toBeNull();
  expect(discord.identified.length).toBeGreaterThan(0);
  const doctor = await d.cliHere(['doctor']);
  expect(doctor.stdout).toMatch(/✔ telegram is connected/);
  expect(doctor.stdout).toMatch(/✔ discord is connected/);
}, 120_000);

it('Telegram cut off while connected: reconnecting in the same process with the error, connected again once the network is back', async () => {
  const before = await until('telegram', 'connected', (c) => c.state === 'connected');
  await telegramNet.cut();
  const cut = await until('telegram', 'reconnecting', (c) => c.state === 'reconnecting');
  expect(cut.pid).toBe(before.pid);
  expect(cut.lastError).toMatch(/cannot reach the Bot API .*\(getUpdates\)/);
  expect(cut.attempt).toBeGreaterThanOrEqual(1);
  await telegramNet.restore();
  const back = await until('telegram', 'connected again', (c) => c.state === 'connected', 60_000);
  expect(back.pid).toBe(before.pid);
  expect(back.lastError).toBeNull();
}, 120_000);

it('a bot token Telegram rejects (401): rejected with the fix, not retried, said by restart and doctor; the right token connects again; revoked while polling, rejected too', async () => {
  await until('telegram', 'connected', (c) => c.state === 'connected');
  expect((await d.cliHere(['channel', 'setup', '--telegram-token', '123456:WRONG-token'])).code).toBe(0);
  // The restart says the state it reaches, and fails: the token, not the network.
  const restart = await d.cliHere(['channel', 'restart', 'telegram']);
  expect(restart.code).toBe(1);
  expect(restart.stdout).toMatch(
    /^telegram: restart → rejected \(Telegram rejected the bot token \(getMe answered 401: Unauthorized\); set the right one from @BotFather with `tinyagi channel setup --telegram-token <token>`\)$/m,
  );
  // Rejected: its process gone, no restart planned. The state is said before the process has exited: wait for both.
  const rejected = await until('telegram', 'rejected and exited', (c) => c.state === 'rejected' && !c.running);
  expect(rejected).toMatchObject({ running: false, pid: null, nextRestartAt: null, lastError: expect.stringContaining('Telegram rejected the bot token') });
  expect(rejected.lastError).not.toContain('WRONG');
  const doctor = await d.cliHere(['doctor']);
  expect(doctor.stdout).toMatch(/✖ telegram is rejected \(Telegram rejected the bot token \(getMe answered 401: Unauthorized\).*\) in the running daemon, not connected/);
  expect(doctor.stdout).toMatch(/Its credentials were refused: this is not the network/);
  expect(doctor.stdout).not.toMatch(/telegram[^\n]*\n[^\n]*proxy, firewall/);
  expect(await statusOf('telegram')).toMatchObject({ state: 'rejected', pid: null });
  // The fix the status names: the right token starts it again by itself.
  expect((await d.cliHere(['channel', 'setup', '--telegram-token', telegram.token])).code).toBe(0);
  await until('telegram', 'connected with the right token', (c) => c.state === 'connected');
  // Revoked while it polls: the next poll's 401 makes it rejected too (a message ends the held poll).
  telegram.failNext({ method: 'getUpdates', errorCode: 401, description: 'Unauthorized' });
  telegram.userMessage({ chatId: 4242, text: 'hello' });
  const revoked = await until('telegram', 'rejected while polling, its process gone', (c) => c.state === 'rejected' && c.pid === null);
  expect(revoked).toMatchObject({ nextRestartAt: null, lastError: expect.stringContaining('Telegram rejected the bot token (getUpdates answered 401: Unauthorized)') });
  expect(await d.cliHereOk(['channel', 'start', 'telegram'])).toMatch(/^telegram: start → connected$/m);
}, 120_000);

/**
 * A channel process whose daemon died while it was still loading must not start polling: a new
 * daemon starts its own, and two pollers on one bot must never run side by side. The real
 * runner (from source) is started with TINYAGI_DAEMON_PID naming a process that is not its
 * parent, as it is when the daemon was SIGKILLed between spawning it and its first check.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeTelegram } from '@tinyagi/test-kit/fake-telegram';
import { exitOf } from '@tinyagi/test-kit';

const RUNNER = fileURLToPath(new URL('../src/runner.ts', import.meta.url));

let fake: FakeTelegram;
let home: string;

beforeAll(async () => {
  fake = new FakeTelegram();
  await fake.start();
  home = mkdtempSync(join(tmpdir(), 'tinyagi-runner-orphan-'));
});

afterAll(async () => {
  await fake?.close();
  rmSync(home, { recursive: true, force: true });
});

function runner(daemonPid: number) {
  const child = spawn(process.execPath, ['--conditions=tinyagi-source', RUNNER, 'telegram'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      TINYAGI_API_URL: 'http://127.0.0.1:9',
      TINYAGI_API_TOKEN: 'test-token',
      TINYAGI_HOME: home,
      TINYAGI_CHANNEL_CONFIG: JSON.stringify({ bot_token: fake.token, api_root: fake.url }),
      TINYAGI_DAEMON_PID: String(daemonPid),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return { child, output: () => out };
}

it('exits at once, without touching the platform, when the daemon that started it is already gone', async () => {
  // A pid that is not this runner's parent (this test process is): the daemon "died" and init adopted us.
  const orphan = runner(process.pid + 1_000_000);
  const exit = await exitOf(orphan.child);
  expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
  expect(orphan.output()).toMatch(/the daemon \(pid \d+\) is gone before the channel started: exiting/);
  expect(fake.calls).toEqual([]);
});

it('with its daemon alive it starts polling the platform', async () => {
  const alive = runner(process.pid);
  try {
    await fake.until(() => fake.calls.includes('getUpdates') || undefined, 'the first getUpdates', 30_000);
  } finally {
    alive.child.kill('SIGTERM');
    await exitOf(alive.child);
  }
  expect(alive.output()).not.toMatch(/is gone/);
});

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTinyError, type TinyError } from '../src/errors.ts';
import { applyEnvOverrides, loadSettings, maskSettings, settingsLockPath, updateSettings, writeSettings } from '../src/config/index.ts';

const WORKER = join(import.meta.dirname, 'fixtures/settings/increment-counter.ts');

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-config-write-'));
  file = join(dir, 'settings.json');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<TinyError> {
  try {
    await promise;
  } catch (err) {
    if (isTinyError(err)) return err;
    throw err;
  }
  throw new Error('expected a TinyError');
}

function startWorker(count: number, goFile: string): { ready: Promise<void>; done: Promise<void> } {
  const child = spawn(process.execPath, ['--conditions=tinyagi-source', WORKER, file, String(count), goFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<void>((resolve) => child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve()));
  const done = new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}: ${stderr}`)))));
  return { ready, done };
}

describe('writeSettings / updateSettings', () => {
  it('two processes doing 30 updates each never lose one; mode 0600; no temp or lock files left', async () => {
    await writeSettings(file, { workspace: { name: 'race' } }, { env: {} });
    const goFile = join(dir, 'go');
    const workers = [startWorker(30, goFile), startWorker(30, goFile)];
    await Promise.all(workers.map((w) => w.ready));
    writeFileSync(goFile, '');
    await Promise.all(workers.map((w) => w.done));

    expect(loadSettings(file).settings).toEqual({ workspace: { name: 'race' }, counter: 60 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['go', 'settings.json']);
  });

  it('creates the directory and a 0600 file, pretty-printed with a trailing newline', async () => {
    const nested = join(dir, 'home', 'settings.json');
    await writeSettings(nested, { server: { port: 4000 } }, { env: {} });
    expect(readFileSync(nested, 'utf8')).toBe('{\n  "server": {\n    "port": 4000\n  }\n}\n');
    expect(statSync(nested).mode & 0o777).toBe(0o600);
  });

  it('validates before writing and lists every problem', async () => {
    writeFileSync(file, '{"retention": {"days": 1}}');
    const err = await rejection(writeSettings(file, { queue: { durability: 'x' }, agents: { Bad: {} } }, { env: {} }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect((err.details as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['queue.durability', 'agents.Bad']);
    // The file is fine: the change is what is refused.
    expect(err.message).toMatch(/^The change was refused: it would make the settings invalid \(2 problems\):\n {2}- queue\.durability: /);
    expect(err.message).not.toContain(file);
    expect(err.hint).toBe(`Nothing was changed; ${file} is as it was.`);
    expect(readFileSync(file, 'utf8')).toBe('{"retention": {"days": 1}}');
  });

  it('updateSettings starts from {} when the file is missing and leaves the file alone when the mutator throws', async () => {
    await updateSettings(file, (current) => ({ ...current, retention: { days: 2 } }), { env: {} });
    expect(loadSettings(file).settings).toEqual({ retention: { days: 2 } });
    const before = readFileSync(file);
    await expect(
      updateSettings(file, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(['settings.json']);
  });

  it('waits for a live lock and gives up with CONFIG_LOCKED', async () => {
    writeFileSync(settingsLockPath(file), JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), created_at: Date.now(), token: 'other' }));
    const err = await rejection(writeSettings(file, {}, { env: {}, timeoutMs: 150 }));
    expect(err.code).toBe('CONFIG_LOCKED');
    expect(err.message).toContain(`process ${process.pid}`);
    expect(() => statSync(file)).toThrow(/ENOENT/);
  });

  it('takes over a lock left by a dead process or older than 30 s', async () => {
    const { hostname } = await import('node:os');
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => dead.on('exit', resolve));
    writeFileSync(settingsLockPath(file), JSON.stringify({ pid: dead.pid, host: hostname(), created_at: Date.now(), token: 'dead' }));
    await writeSettings(file, { retention: { days: 1 } }, { env: {}, timeoutMs: 2000 });
    expect(loadSettings(file).settings).toEqual({ retention: { days: 1 } });

    writeFileSync(settingsLockPath(file), JSON.stringify({ pid: process.pid, host: hostname(), created_at: Date.now() - 31_000, token: 'old' }));
    await writeSettings(file, { retention: { days: 2 } }, { env: {}, timeoutMs: 2000 });
    expect(loadSettings(file).settings).toEqual({ retention: { days: 2 } });
    expect(readdirSync(dir)).toEqual(['settings.json']);
  });

  it('serialises concurrent updates inside one process too', async () => {
    await Promise.all(Array.from({ length: 20 }, () => updateSettings(file, (s) => ({ ...s, counter: (typeof s['counter'] === 'number' ? s['counter'] : 0) + 1 }), { env: {} })));
    expect(loadSettings(file).settings['counter']).toBe(20);
  });

  it('never persists environment overrides', async () => {
    const env = { DISCORD_BOT_TOKEN: 'env-discord-token-0123456789abcdef', TINYAGI_API_PORT: '4123' };
    await writeSettings(file, { channels: { telegram: { bot_token: 'file-telegram-token' } }, server: { port: 3900 } }, { env });
    const loaded = loadSettings(file).settings;
    const { settings: effective } = applyEnvOverrides(loaded, env);
    expect((effective.channels?.['discord'] as { bot_token?: string } | undefined)?.bot_token).toBe(env.DISCORD_BOT_TOKEN);
    expect(effective.server?.port).toBe(4123);

    // Writing the in-memory (overridden) settings back keeps the file's own values.
    await writeSettings(file, { ...effective, retention: { days: 5 } }, { env });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(env.DISCORD_BOT_TOKEN);
    expect(JSON.parse(text)).toEqual({ channels: { telegram: { bot_token: 'file-telegram-token' } }, server: { port: 3900 }, retention: { days: 5 } });
  });

  it('refuses to overwrite a secret with its mask', async () => {
    const key = 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz';
    await writeSettings(file, { models: { anthropic: { api_key: key } } }, { env: {} });
    const masked = maskSettings(loadSettings(file).settings);
    const err = await rejection(writeSettings(file, masked, { env: {} }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect((err.details as { issues: { path: string }[] }).issues[0]?.path).toBe('models.anthropic.api_key');
    expect(loadSettings(file).settings.models?.anthropic?.api_key).toBe(key);
  });
});

/**
 * The kit's own contract, for what every package's tests lean on: waits name what they waited
 * for, killTree takes grandchildren with it, and the daemon launcher starts on a free port, fails
 * fast with the daemon's output when it cannot start, stops cleanly and leaves nothing behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupTemp, createDaemon, exitOf, fakeCli, freePort, isGone, killTree, tempDir, waitFor, type TestDaemon } from '../src/index.ts';

const daemons: TestDaemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.cleanup()));
  cleanupTemp();
});

describe('waits', () => {
  it('waitFor returns the first value the probe yields, and a timeout names what it waited for', async () => {
    let calls = 0;
    expect(await waitFor(() => (++calls >= 3 ? 'ready' : undefined))).toBe('ready');
    expect(calls).toBe(3);
    await expect(waitFor(() => false, 50, 'the impossible')).rejects.toThrow('timed out after 50 ms waiting for the impossible');
  });
});

describe('processes and ports', () => {
  it('killTree kills a child and the grandchild it started', async () => {
    const dir = tempDir('tinyagi-kit-');
    const pidFile = join(dir, 'grandchild.pid');
    const child = spawn('/bin/sh', ['-c', `sleep 600 & echo $! > ${pidFile}; wait`], { stdio: 'ignore' });
    const grandchild = await waitFor(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) || undefined : undefined), 10_000, 'the grandchild pid');
    expect(isGone(grandchild)).toBe(false);
    killTree(child.pid!);
    expect((await exitOf(child)).signal).toBe('SIGKILL');
    await waitFor(() => isGone(grandchild), 10_000, 'the grandchild to die');
  });

  it('freePort gives a port that can be bound on loopback', async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ host: '127.0.0.1', port }, resolve));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('the fake agent CLIs are executable and speak stream-json', async () => {
    const child = spawn(fakeCli('claude'), ['-p', '--output-format', 'stream-json', '--verbose', 'FAKE:reply=hello kit'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    expect((await exitOf(child)).code).toBe(0);
    const result = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; result?: string })
      .find((e) => e.type === 'result');
    expect(result?.result).toBe('hello kit');
  });
});

describe('daemon launcher', () => {
  it('starts `tinyagi run` on a free port, answers through its API, stops cleanly and removes its home', async () => {
    const d = await createDaemon({
      build: 'source',
      settings: ({ root }) => ({ workspace: { path: join(root, 'workspace') }, models: { provider: 'mock' }, agents: { coder: { provider: 'mock' } } }),
    });
    daemons.push(d);
    await d.start();
    expect(await d.api.health()).toMatchObject({ ok: true });
    expect((await d.api.listAgents()).map((a) => a.id)).toContain('coder');
    expect(await d.stop()).toEqual({ code: 0, signal: null });
    await d.cleanup();
    expect(existsSync(d.root)).toBe(false);
  });

  it('fails at once, with the daemon output, when the daemon exits before it is healthy', async () => {
    const d = await createDaemon({ build: 'source' });
    daemons.push(d);
    writeFileSync(join(d.home, 'settings.json'), '{ "agents": { "coder": { "provider": 42 } } }');
    const started = Date.now();
    const error = await d.start().then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(/tinyagi run exited \(code \d+, signal null\) before \/api\/health answered/);
    expect(error?.message).toContain('--- daemon output');
    expect(error?.message).toContain('agents.coder.provider');
    // Not the 60 s health deadline: the exit is noticed.
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

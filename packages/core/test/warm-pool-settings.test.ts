/**
 * The session pool under settings (pool-settings.ts, what the daemon and worker nodes run): the
 * `sessions` block configures it with its defaults, a change reconfigures it, an agent removed
 * or switched to `process: "per-message"` has its warm processes closed, and stop closes all.
 * The settings go through a real file settings source (settings.json on disk, reloaded).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { fakeWarmDriver } from '@tinyagi/test-kit/fake-warm-driver';
import { fileSettingsSource } from '../src/config/settings-source.ts';
import { attachSessionPool } from '../src/invoker/warm/pool-settings.ts';
import { SessionPool, type AcquireOptions } from '../src/invoker/warm/pool.ts';
import type { WarmSession } from '../src/invoker/warm/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'tinyagi-pool-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function options(agentId: string): AcquireOptions {
  const driver = fakeWarmDriver({ env: { FAKE_WARM_STATE: dir } });
  return {
    agentId,
    sessionKey: 'shared',
    driver: 'fake-warm',
    memoryEstimateMb: 40,
    fingerprint: 'fp',
    resumeId: undefined,
    retry: false,
    signal: undefined,
    startTimeoutMs: 30_000,
    start: ({ onActivity, signal }) =>
      driver.start({
        req: { agentId, prompt: '', cwd: dir, target: {} },
        resumeId: undefined,
        env: { PATH: process.env.PATH ?? '' },
        what: 'fake-warm',
        onActivity,
        signal,
      }) as unknown as Promise<WarmSession>,
  };
}

it('configures the pool from the sessions block, follows changes, closes the sessions of removed or no longer warm agents, and closes all at stop', async () => {
  const file = join(dir, 'settings.json');
  const write = (settings: object): void => writeFileSync(file, JSON.stringify(settings));
  const agents = { a: { provider: 'mock', process: 'warm' }, b: { provider: 'mock', process: 'warm' }, c: { provider: 'mock', process: 'warm' } };
  write({ agents });
  const source = fileSettingsSource({ file, watch: false });
  const pool = new SessionPool({ maxTotal: 99 });
  const attached = attachSessionPool(source, pool);
  expect(pool.options).toMatchObject({ maxTotal: 16, maxPerAgent: 4, idleMs: 15 * 60_000, memoryShare: 0.6, processMemoryMb: undefined });
  const leases = await Promise.all(['a', 'b', 'c'].map((id) => pool.acquire(options(id))));
  for (const lease of leases) lease.release();

  write({ agents: { a: agents.a, c: { provider: 'mock', process: 'per-message' } }, sessions: { max_total: 3, max_per_agent: 1, idle_minutes: 2, memory_share: 0.9, process_memory_mb: 300 } });
  await source.reload();
  expect(pool.options).toMatchObject({ maxTotal: 3, maxPerAgent: 1, idleMs: 120_000, memoryShare: 0.9, processMemoryMb: 300 });
  await leases[1]?.session.exited; // b removed
  await leases[2]?.session.exited; // c no longer warm
  expect(pool.list().map((s) => s.agentId)).toEqual(['a']);

  await attached.stop();
  await leases[0]?.session.exited;
  expect(pool.list()).toEqual([]);
  await source.close();
});

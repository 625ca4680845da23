/**
 * `tinyagi restart` of a daemon whose API port is 0 (TINYAGI_API_PORT=0: any free port, as tests
 * and containers use): the restarted daemon listens on another port, and the command follows it
 * through the lock record instead of waiting on the old one until its timeout.
 */
import { cleanupTemp, runCli, tempHome } from '@tinyagi/test-kit';
import { afterEach, expect, it } from 'vitest';

afterEach(() => cleanupTemp());

it('restart of a daemon on port 0 comes back and names its new URL; status reaches it there', async () => {
  const h = tempHome({ env: { TINYAGI_API_PORT: '0' } });
  const cli = (args: string[]) => runCli(args, h.env, { build: 'built' });
  const start = await cli(['start']);
  expect(start.code, start.stderr).toBe(0);
  try {
    const before = JSON.parse((await cli(['status', '--json'])).stdout) as { pid: number; startedAt: number; apiUrl: string };
    const restart = await cli(['restart', '--json']);
    expect(restart.code, restart.stderr).toBe(0);
    const restarted = JSON.parse(restart.stdout) as { restarted: boolean; pid: number; apiUrl: string };
    expect(restarted).toMatchObject({ restarted: true, pid: before.pid });
    const after = JSON.parse((await cli(['status', '--json'])).stdout) as { pid: number; startedAt: number; apiUrl: string };
    expect(after.pid).toBe(before.pid);
    expect(after.startedAt).toBeGreaterThan(before.startedAt);
    expect(restarted.apiUrl).toBe(after.apiUrl);
  } finally {
    expect((await cli(['stop'])).code).toBe(0);
  }
});

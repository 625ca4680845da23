/**
 * The daemon's V8 flags (daemon/node-flags.ts): `tinyagi run` replaces itself once with a node
 * started with them, keeping its pid (supervisors, pid files and signals still address it), and
 * flags the user gave are left alone.
 */
import { readFileSync } from 'node:fs';
import { createApiClient } from '@tinyagi/client';
import { afterEach, describe, expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS, missingDaemonFlags } from '../src/daemon/node-flags.ts';
import { makeHome, type TestHome } from './helpers/cli.ts';
import { startForegroundDaemon, waitHealthy } from './helpers/foreground-daemon.ts';

const homes: TestHome[] = [];
afterEach(async () => {
  await Promise.all(homes.splice(0).map((h) => h.cleanup()));
});

describe('daemon node flags', () => {
  it('`tinyagi run` re-executes itself with the flags under the same pid, and stops cleanly', async () => {
    const h = await makeHome();
    homes.push(h);
    const daemon = startForegroundDaemon(h.env);
    await waitHealthy(createApiClient({ baseUrl: `http://127.0.0.1:${h.port}`, token: 'unused' }), daemon);
    const cmdline = readFileSync(`/proc/${daemon.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toEqual(expect.arrayContaining([...DAEMON_NODE_FLAGS, 'run']));
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
  });

  it('leaves a flag the user gave alone, spelled with dashes or underscores, on the command line or in NODE_OPTIONS', () => {
    expect(missingDaemonFlags([], '')).toEqual([...DAEMON_NODE_FLAGS]);
    expect(missingDaemonFlags(['--max-semi-space-size=8'], '')).toEqual([]);
    expect(missingDaemonFlags(['--conditions=tinyagi-source'], '--max_semi_space_size=4')).toEqual([]);
  });
});

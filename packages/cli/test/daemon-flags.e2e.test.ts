/**
 * The daemon's V8 flags and environment (daemon/node-flags.ts): `tinyagi run` replaces itself
 * once with a node started with them, keeping its pid (supervisors, pid files and signals still address it), and
 * flags the user gave are left alone.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS, missingDaemonFlags } from '../src/daemon/node-flags.ts';
import { cleanupTemp, createDaemon, tempDir, type TestDaemon } from '@tinyagi/test-kit';

const homes: TestDaemon[] = [];
afterEach(async () => {
  await Promise.all(homes.splice(0).map((h) => h.cleanup()));
  cleanupTemp();
});

describe('daemon node flags', () => {
  it('`tinyagi run` re-executes itself with the flags under the same pid, and stops cleanly', async () => {
    const h = await createDaemon({ build: 'source' });
    homes.push(h);
    await h.start();
    const cmdline = readFileSync(`/proc/${h.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toEqual(expect.arrayContaining([...DAEMON_NODE_FLAGS, 'run']));
    // …and the daemon's environment (node-flags.ts daemonEnv).
    expect(readFileSync(`/proc/${h.pid}/environ`, 'utf8').split('\0')).toContain('MALLOC_MMAP_THRESHOLD_=131072');
    expect(await h.stop()).toEqual({ code: 0, signal: null });
  });

  it('the built daemon does not load the node modules it never uses (https, http2, tls, readline)', async () => {
    // Each of these cost idle memory (docs/profiling.md fix 25): Fastify's server module required
    // https and http2 eagerly, and the chat command's readline came with every command.
    const dir = tempDir('tinyagi-modules-');
    const hook = join(dir, 'hook.mjs');
    const list = join(dir, 'modules.txt');
    writeFileSync(hook, `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`);
    const h = await createDaemon({ build: 'built', nodeOptions: [`--import=${hook}`] });
    homes.push(h);
    await h.start();
    // A request through the whole stack first, so lazily loaded parts are loaded.
    expect((await h.api.health()).ok).toBe(true);
    expect(await h.stop()).toEqual({ code: 0, signal: null });
    const loaded = readFileSync(list, 'utf8').split('\n');
    expect(loaded).toContain('NativeModule http');
    for (const unused of ['https', 'http2', 'tls', 'readline/promises']) expect(loaded).not.toContain(`NativeModule ${unused}`);
  });

  it('leaves a flag the user gave alone, spelled with dashes or underscores, on the command line or in NODE_OPTIONS', () => {
    expect(missingDaemonFlags([], '')).toEqual([...DAEMON_NODE_FLAGS]);
    expect(missingDaemonFlags(['--max-semi-space-size=8'], '')).toEqual(['--no-maglev', '--no-turbofan']);
    expect(missingDaemonFlags(['--conditions=tinyagi-source'], '--max_semi_space_size=4')).toEqual(['--no-maglev', '--no-turbofan']);
    // A compiler the user turned back on (or off themselves) stays as they said.
    expect(missingDaemonFlags(['--max-semi-space-size=8', '--maglev'], '--turbofan')).toEqual([]);
    expect(missingDaemonFlags(['--no_maglev'], '')).toEqual(['--max-semi-space-size=1', '--no-turbofan']);
  });
});

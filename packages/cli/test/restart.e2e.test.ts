/**
 * `tinyagi restart` runs the program that is on disk now: after an upgrade or a rebuild, the
 * daemon comes back as the new version with the same pid (it replaces its own image). The
 * daemon runs from a copy of the built CLI (inside this package's node_modules, so its
 * dependencies resolve as they do for dist/); the copy's version is changed while it runs.
 */
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CLI_BUILT, createDaemon, type TestDaemon } from '@tinyagi/test-kit';

const copy = join(dirname(dirname(CLI_BUILT)), 'node_modules', `.restart-test-${process.pid}`);
let daemon: TestDaemon | undefined;

afterAll(async () => {
  await daemon?.cleanup();
  rmSync(copy, { recursive: true, force: true });
});

/**
 * What a rebuild with a new version does to the bundles: our version constant changes, in the
 * ES module chunks and in the start-up snapshot's builder (daemon.cjs), whose blob then no
 * longer matches and is built again.
 */
function bumpVersion(dir: string, suffix: string): void {
  const { version } = JSON.parse(readFileSync(join(dirname(dirname(CLI_BUILT)), 'package.json'), 'utf8')) as { version: string };
  const declared = `VERSION="${version}"`;
  let changed = 0;
  const files = [
    ...readdirSync(join(dir, 'chunks'))
      .filter((n) => n.endsWith('.js'))
      .map((n) => join('chunks', n)),
    'daemon.cjs',
  ];
  for (const name of files) {
    const file = join(dir, name);
    const text = readFileSync(file, 'utf8');
    const next = text.replaceAll(declared, () => {
      changed++;
      return `VERSION="${version}${suffix}"`;
    });
    if (next !== text) writeFileSync(file, next);
  }
  expect(changed, 'each bundle declares its version once (scripts/bundle.mjs defines __TINYAGI_VERSION__)').toBe(2);
}

it('a restart after a rebuild comes back as the new version, same pid', async () => {
  cpSync(dirname(CLI_BUILT), copy, { recursive: true });
  daemon = await createDaemon({
    build: { entry: join(copy, 'bin.js') },
    prefix: 'tinyagi-restart-',
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'mock' },
      agents: { helper: { provider: 'mock', mock: { reply: 'still here' } } },
      channels: { enabled: [] },
    }),
  });
  await daemon.start();
  const before = await daemon.api.health();
  const pid = daemon.pid;

  bumpVersion(copy, '-rebuilt');
  expect(await daemon.cliOk(['restart'])).toContain(`restarted (pid ${pid})`);
  expect(await daemon.api.health()).toEqual({ ok: true, version: `${before.version}-rebuilt` });
  expect(daemon.pid).toBe(pid);
  expect(await daemon.cliHereOk(['send', '--agent', 'helper', '--wait', 'are you there?'])).toContain('still here');
  expect(daemon.logs()).toContain('restarting: loading the program again');
  if (process.platform === 'linux') expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), "the new image runs from the new bundle's snapshot").toContain(join(copy, 'snapshot'));
});

/**
 * The daemon's start-up snapshot (src/daemon/launch.ts, src/daemon/snapshot-entry.ts): a built
 * CLI starts its daemon from it, every daemon started from one blob draws its own randomness
 * and reads its own environment, child processes never inherit it, a preload or
 * `TINYAGI_SNAPSHOT=0` turns it off, and a builder that would freeze randomness into it is refused while the daemon still
 * starts, from its modules.
 */
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BUILT, createDaemon, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { childExecArgv, isPlainRun, runArgs } from '../src/daemon/launch.ts';
import { daemonEnv } from '../src/daemon/node-flags.ts';

const daemons: TestDaemon[] = [];
const copies: string[] = [];

afterEach(async () => {
  for (const d of daemons.splice(0)) await d.cleanup();
});
afterAll(() => {
  for (const c of copies) rmSync(c, { recursive: true, force: true });
});

function mockSettings({ root }: { root: string }) {
  return {
    workspace: { path: join(root, 'workspace') },
    models: { provider: 'mock' },
    agents: { helper: { provider: 'mock', mock: { reply: 'from the snapshot' } } },
    channels: { enabled: [] },
  };
}

async function started(options: Parameters<typeof createDaemon>[0] = {}): Promise<TestDaemon> {
  const daemon = await createDaemon({ prefix: 'tinyagi-snapshot-', settings: mockSettings, ...options });
  daemons.push(daemon);
  await daemon.start();
  return daemon;
}

/** node's arguments of a running process (Linux). */
function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((a) => a !== '');
}

/** The environment of a running process (Linux). */
function environ(pid: number): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter((e) => e.includes('='))
      .map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
}

/** The daemon log's "listening on" line (written once the API listens and the workers run). */
function listeningLine(daemon: TestDaemon): Promise<string> {
  return waitFor(
    () =>
      daemon
        .logs()
        .split('\n')
        // The API's line (the model proxy says where it listens too, without a pid).
        .find((line) => / listening on http\S* \(.*pid \d+\)/.test(line)),
    10_000,
    'the daemon log to say where it listens',
  );
}

describe('launch arguments', () => {
  it('a child of the daemon gets its node flags without the snapshot, in either spelling', () => {
    expect(childExecArgv(['--max-semi-space-size=1', '--snapshot-blob', '/x/a.blob', '--no-maglev'])).toEqual(['--max-semi-space-size=1', '--no-maglev']);
    expect(childExecArgv(['--snapshot-blob=/x/a.blob', '--inspect'])).toEqual(['--inspect']);
  });

  it('the daemon’s environment fixes malloc’s mmap threshold on Linux, unless the user set it', () => {
    expect(daemonEnv({ A: 'b' })).toEqual(process.platform === 'linux' ? { A: 'b', MALLOC_MMAP_THRESHOLD_: '131072' } : { A: 'b' });
    expect(daemonEnv({ MALLOC_MMAP_THRESHOLD_: '65536' })).toEqual({ MALLOC_MMAP_THRESHOLD_: '65536' });
    expect(daemonEnv({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=4096' })).toEqual({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=4096' });
  });

  it('the daemon arguments start at `run`, after a script or after node alone', () => {
    expect(runArgs(['/usr/bin/node', '/app/dist/bin.js', 'run', '--debug'])).toEqual(['run', '--debug']);
    expect(runArgs(['/usr/bin/node', 'run'])).toEqual(['run']);
    expect(runArgs(['/usr/bin/node', '/usr/bin/node', 'run', '--listen-any'])).toEqual(['run', '--listen-any']);
    expect(runArgs(['/usr/bin/node', 'status'])).toBeUndefined();
    expect(isPlainRun(['run', '--debug'])).toBe(true);
    expect(isPlainRun(['run', '--help'])).toBe(false);
  });
});

describe.runIf(process.platform === 'linux')('a daemon from the start-up snapshot', () => {
  // Two daemons started alike from the one blob: the first test reads one, the second compares both.
  const pair: TestDaemon[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) pair.push(await createDaemon({ prefix: 'tinyagi-snapshot-', settings: mockSettings }));
    await Promise.all(pair.map((d) => d.start()));
  });
  afterAll(async () => {
    for (const d of pair) await d.cleanup();
  });

  it('starts from the blob, answers, and its agents’ `tinyagi` shim does not carry the blob', async () => {
    const daemon = pair[0]!;
    const argv = cmdline(daemon.pid);
    expect(argv).toContain('--snapshot-blob');
    expect(argv.at(-1)).toBe('run');
    expect(await daemon.cliHereOk(['send', '--agent', 'helper', '--wait', 'hello'])).toContain('from the snapshot');
    const shim = readFileSync(join(daemon.home, 'run', 'bin', 'tinyagi'), 'utf8');
    expect(shim).not.toContain('snapshot-blob');
    expect(shim).toContain(CLI_BUILT);
    expect(await listeningLine(daemon)).toContain(`pid ${daemon.pid})`);
  });

  it('two daemons from one blob mint different API tokens and read their own environment', async () => {
    const [a, b] = pair as [TestDaemon, TestDaemon];
    expect(cmdline(a.pid).find((x) => x.endsWith('.blob'))).toBe(cmdline(b.pid).find((x) => x.endsWith('.blob')));
    expect(a.port).not.toBe(b.port);
    expect(a.token()).not.toBe(b.token());
    expect((await a.api.health()).ok).toBe(true);
    expect((await b.api.health()).ok).toBe(true);
  });

  it('a preload in NODE_OPTIONS (tracing, instrumentation) starts the daemon from its modules, where it sees them load', async () => {
    const dir = join(dirname(dirname(CLI_BUILT)), 'node_modules', `.snapshot-preload-${process.pid}`);
    copies.push(dir);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'preload.cjs'), `require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'ran'))}, 'yes');\n`);
    const daemon = await started({ env: { NODE_OPTIONS: `--require=${join(dir, 'preload.cjs')}` } });
    expect(cmdline(daemon.pid)).not.toContain('--snapshot-blob');
    expect(readFileSync(join(dir, 'ran'), 'utf8')).toBe('yes');
  });

  it('TINYAGI_SNAPSHOT=0 starts the daemon from its modules', async () => {
    const daemon = await started({ env: { TINYAGI_SNAPSHOT: '0' } });
    const argv = cmdline(daemon.pid);
    expect(argv).not.toContain('--snapshot-blob');
    expect(argv).toContain(CLI_BUILT);
    expect(await daemon.cliOk(['doctor'])).toContain('start-up snapshot is not used: TINYAGI_SNAPSHOT=0');
    expect(await listeningLine(daemon)).not.toContain('start-up snapshot');
  });

  it('`tinyagi start` runs it with malloc’s mmap threshold fixed (node frees the buffer it read the blob into), unless the user set that knob', async () => {
    for (const [given, expected] of [
      [undefined, '131072'],
      ['65536', '65536'],
    ] as const) {
      const daemon = await createDaemon({ prefix: 'tinyagi-snapshot-', settings: mockSettings, ...(given ? { env: { MALLOC_MMAP_THRESHOLD_: given } } : {}) });
      daemons.push(daemon);
      const { pid } = JSON.parse(await daemon.cliOk(['start', '--json'])) as { pid: number };
      expect(cmdline(pid)).toContain('--snapshot-blob');
      expect(environ(pid)['MALLOC_MMAP_THRESHOLD_']).toBe(expected);
      await daemon.cliOk(['stop']);
    }
  });

  it('`tinyagi start` sets aside a blob that node dies on and starts the daemon from its modules', async () => {
    const copy = join(dirname(dirname(CLI_BUILT)), 'node_modules', `.snapshot-damaged-${process.pid}`);
    copies.push(copy);
    cpSync(dirname(CLI_BUILT), copy, { recursive: true });
    rmSync(join(copy, 'snapshot'), { recursive: true, force: true });
    const daemon = await createDaemon({ prefix: 'tinyagi-snapshot-', settings: mockSettings, build: { entry: join(copy, 'bin.js') } });
    daemons.push(daemon);
    expect(await daemon.cliOk(['doctor', '--fix'])).toContain('built the start-up snapshot');
    const [blob] = readdirSync(join(copy, 'snapshot')).filter((f) => f.endsWith('.blob'));
    // Damaged on disk: half of it.
    const path = join(copy, 'snapshot', blob!);
    writeFileSync(path, readFileSync(path).subarray(0, 3_000_000));
    expect(await daemon.cliOk(['start'])).toContain('TinyAGI is running');
    expect(existsSync(path)).toBe(false);
    expect(readFileSync(`${path}.failed`, 'utf8')).toMatch(/the daemon started from it died with SIG[A-Z]+ before its API answered/);
    expect(await daemon.cliHereOk(['send', '--agent', 'helper', '--wait', 'hello'])).toContain('from the snapshot');
    expect((await daemon.cli(['doctor'])).stdout).toContain(`start-up snapshot for node ${process.version} failed`);
  });

  it('a builder that draws randomness while loading is refused, said why, and the daemon starts from its modules', async () => {
    const copy = join(dirname(dirname(CLI_BUILT)), 'node_modules', `.snapshot-test-${process.pid}`);
    copies.push(copy);
    cpSync(dirname(CLI_BUILT), copy, { recursive: true });
    rmSync(join(copy, 'snapshot'), { recursive: true, force: true });
    // As if a module drew a UUID at load time: it would repeat in every daemon from the blob.
    appendFileSync(join(copy, 'daemon.cjs'), '\nrequire("node:crypto").randomUUID();\n');
    const daemon = await started({ build: { entry: join(copy, 'bin.js') } });
    expect(cmdline(daemon.pid)).not.toContain('--snapshot-blob');
    expect(await daemon.cliHereOk(['send', '--agent', 'helper', '--wait', 'hello'])).toContain('from the snapshot');
    const failed = readdirSync(join(copy, 'snapshot')).filter((f) => f.endsWith('.failed'));
    expect(failed).toHaveLength(1);
    expect(readFileSync(join(copy, 'snapshot', failed[0]!), 'utf8')).toContain('Loading the daemon used crypto.randomUUID()');
    expect(existsSync(join(copy, 'snapshot', failed[0]!.replace(/\.failed$/, '')))).toBe(false);
    const doctor = await daemon.cli(['doctor'], { build: { entry: join(copy, 'bin.js') } });
    expect(doctor.stdout).toContain(`start-up snapshot for node ${process.version} failed`);
  });
});

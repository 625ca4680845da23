/**
 * Two holes of a boundary that the daemon's own environment opens (docs/sandbox.md, "The
 * boundary"), with the real bwrap:
 * - a daemon running as root: the sandbox is uid 0 inside (`uid_map` `0 0 1`), so the kernel's
 *   settings (`/proc/sys`, `/proc/sysrq-trigger`, `/sys`) must be read-only there, and the
 *   self-test checks that they are. Where the test does not run as root it says so (the
 *   settings are the kernel's to refuse a non-root user anyway).
 * - HOME naming another folder than the account's home in the password database: both homes'
 *   credentials and CLI homes are hidden. The account's home is made a folder of the test's own
 *   (a copy of /etc/passwd bound over it in a mount namespace of the child's own, as root), so
 *   nothing of the machine's real home is read.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bwrapArgs, KERNEL_PATHS, findBwrap, KERNEL_WRITE_PROBES } from '@tinyagi/sandbox';
// The self-test on a host that hides core's registry's CLI homes.
import { runSelfTest } from '../src/sandbox/host.ts';

const isRoot = process.getuid?.() === 0;
const SCRATCH = join(homedir(), '.cache');
let root: string;
let tinyHome: string;
let wsRoot: string;
let workspace: string;

beforeAll(() => {
  mkdirSync(SCRATCH, { recursive: true });
  root = join(SCRATCH, `tinyagi-rh-${process.pid}`);
  tinyHome = join(root, 'home', '.tinyagi');
  wsRoot = join(root, 'home', 'ws');
  workspace = join(wsRoot, 'coder');
  mkdirSync(tinyHome, { recursive: true });
  mkdirSync(workspace, { recursive: true });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Runs `sh -c script` inside bwrap with the boundary's own arguments (nothing hidden but what is given). */
function inside(script: string, hidden: readonly string[] = []): { status: number | null; stdout: string; stderr: string } {
  const bwrap = findBwrap(process.env);
  if (!bwrap) throw new Error('bwrap is not installed');
  const args = bwrapArgs({ cwd: workspace, hidden, writable: [], readable: [], inner: ['/bin/sh', '-c', script] });
  const run = spawnSync(bwrap, args, { encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("the kernel's settings inside the boundary", () => {
  it(`a root daemon's sandbox (uid 0 inside) cannot open core_pattern, sysrq-trigger or /sys for writing${isRoot ? '' : ' (not root here: the kernel refuses it a non-root user anyway)'}`, () => {
    if (!isRoot) console.log('sandbox-root-and-home: not running as root; the root case (uid_map 0 0 1) is not exercised here, CI runs it as root');
    // Each is opened for appending (no O_CREAT, no O_TRUNC) and closed unwritten: nothing changes even where it opens.
    const script = [
      'cat /proc/self/uid_map',
      ...KERNEL_WRITE_PROBES.map((p) => `if [ -e ${p} ]; then if (exec 3>>${p}) 2>/dev/null; then echo "WRITABLE ${p}"; else echo "refused ${p}"; fi; fi`),
    ].join('\n');
    const run = inside(script);
    expect(run.status, run.stderr).toBe(0);
    if (isRoot) expect(run.stdout).toMatch(/^\s*0\s+0\s+1\s*$/m);
    expect(run.stdout).toContain('refused /proc/sys/kernel/core_pattern');
    expect(run.stdout).not.toContain('WRITABLE');
    for (const path of KERNEL_PATHS) expect(bwrapArgs({ cwd: workspace, hidden: [], writable: [], readable: [], inner: ['true'] }).join(' ')).toContain(`--ro-bind-try ${path} ${path}`);
  });

  it('the self-test checks it: each kernel setting refused, the boundary enforced', async () => {
    const check = await runSelfTest({ tinyHome, workspaceRoot: wsRoot, env: { PATH: process.env.PATH ?? '', HOME: join(root, 'home') }, memoryMb: 256 });
    expect(check.problem).toBeUndefined();
    const kernel = check.checks.filter((c) => c.name === 'kernel-settings');
    expect(kernel.map((c) => c.detail.split(':')[0])).toEqual(KERNEL_WRITE_PROBES);
    expect(kernel.filter((c) => !c.ok)).toEqual([]);
    expect(check.ok).toBe(true);
  });
});

describe("the account's home when HOME names another folder", () => {
  it.runIf(isRoot)("its .ssh, .npmrc and .claude are hidden as HOME's are (the account's home from the password database)", () => {
    const accountHome = join(root, 'account-home');
    const envHome = join(root, 'env-home');
    for (const dir of [join(accountHome, '.ssh'), join(accountHome, '.claude'), join(envHome, '.ssh')]) mkdirSync(dir, { recursive: true });
    writeFileSync(join(accountHome, '.ssh', 'id_ed25519'), 'account-ssh-secret\n');
    writeFileSync(join(accountHome, '.npmrc'), '//registry.npmjs.org/:_authToken=account-npm-secret\n');
    writeFileSync(join(accountHome, '.claude', '.credentials.json'), '{"token":"account-claude-secret"}\n');
    writeFileSync(join(envHome, '.ssh', 'id_ed25519'), 'env-ssh-secret\n');
    // The password database says root's home is accountHome; HOME says envHome.
    const passwd = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) =>
        line.startsWith('root:')
          ? line
              .split(':')
              .map((f, i) => (i === 5 ? accountHome : f))
              .join(':')
          : line,
      )
      .join('\n');
    const passwdCopy = join(root, 'passwd');
    writeFileSync(passwdCopy, passwd);
    const child = join(root, 'child.ts');
    const boundaryModule = join(import.meta.dirname, '..', '..', 'sandbox', 'src', 'boundary.ts');
    const machineModule = join(import.meta.dirname, '..', '..', 'sandbox', 'src', 'machine.ts');
    // Core's registry's CLI homes (the workspace's sources: --conditions below).
    const hostModule = join(import.meta.dirname, '..', 'src', 'sandbox', 'host.ts');
    writeFileSync(
      child,
      `import { spawnSync } from 'node:child_process';
import { homedir, userInfo } from 'node:os';
import { bwrapArgs, hiddenPaths } from ${JSON.stringify(boundaryModule)};
import { findBwrap } from ${JSON.stringify(machineModule)};
import { runtimeCliHomes } from ${JSON.stringify(hostModule)};
const hidden = hiddenPaths({ env: process.env, tinyHome: ${JSON.stringify(tinyHome)}, workspaceRoot: ${JSON.stringify(wsRoot)}, cliHomes: runtimeCliHomes() });
const script = ${JSON.stringify(
        [
          `cat ${accountHome}/.ssh/id_ed25519 ${accountHome}/.npmrc ${accountHome}/.claude/.credentials.json ${envHome}/.ssh/id_ed25519 2>&1`,
          `echo "entries: $(ls -A ${accountHome}/.ssh | wc -l)/$(ls -A ${accountHome}/.claude | wc -l)"`,
        ].join('\n'),
      )};
const run = spawnSync(findBwrap(process.env), bwrapArgs({ cwd: ${JSON.stringify(workspace)}, hidden, writable: [], readable: [], inner: ['/bin/sh', '-c', script] }), { encoding: 'utf8' });
console.log(JSON.stringify({ homedir: homedir(), account: userInfo().homedir, hidden, status: run.status, stdout: run.stdout, stderr: run.stderr }));
`,
    );
    // A mount namespace of the child's own: /etc/passwd replaced there only (-n: no entry in the host's /run/mount).
    const run = spawnSync(
      'unshare',
      ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -n --bind "$0" /etc/passwd && exec "$@"', passwdCopy, process.execPath, '--conditions=tinyagi-source', child],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', HOME: envHome },
        timeout: 60_000,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { homedir: string; account: string; hidden: string[]; status: number; stdout: string; stderr: string };
    expect(out.homedir).toBe(envHome);
    expect(out.account).toBe(accountHome);
    expect(out.status, out.stderr).toBe(0);
    for (const secret of ['account-ssh-secret', 'account-npm-secret', 'account-claude-secret', 'env-ssh-secret']) expect(out.stdout).not.toContain(secret);
    expect(out.stdout).toContain('entries: 0/0');
    expect(out.hidden).toEqual(expect.arrayContaining([join(accountHome, '.ssh'), join(accountHome, '.npmrc'), join(accountHome, '.claude'), join(envHome, '.ssh')]));
  });
});

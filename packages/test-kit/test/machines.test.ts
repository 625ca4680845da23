/**
 * The machines harness (machines.ts): a file one machine writes at a path is not on the other at
 * that path, each has its own host name, a machine made without bubblewrap has none where the
 * sandbox looks for it (and cannot run it), a process started inside stays there, and cleanup
 * kills what runs inside, a process that left its parent too.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGone, machines, waitFor, type Machine, type Machines } from '../src/index.ts';

describe('machines', () => {
  let lab: Machines;
  let a: Machine;
  let b: Machine;
  beforeAll(async () => {
    lab = machines();
    [a, b] = await Promise.all([lab.addMachine('alpha'), lab.addMachine('beta', { bwrap: false })]);
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('the same path holds each machine its own file; the host sees both through disk(), neither at the path itself', () => {
    const file = join(lab.dir, 'home', 'note.txt');
    a.sh(['sh', '-c', `mkdir -p '${join(lab.dir, 'home')}' && echo from alpha > '${file}'`]);
    expect(a.sh(['cat', file])).toBe('from alpha');
    expect(() => b.sh(['cat', file])).toThrow(/No such file/);
    writeFileSync(b.disk(join(lab.dir, 'note.txt')), 'from the test\n');
    expect(b.sh(['cat', join(lab.dir, 'note.txt')])).toBe('from the test');
    expect(readFileSync(a.disk(file), 'utf8')).toBe('from alpha\n');
    expect(existsSync(file)).toBe(false);
    // Neither machine sees the lab's folder on the host (the other's disk is there).
    expect(a.sh(['ls', '-A', lab.root])).toBe('machine');
    expect(a.sh(['hostname'])).toBe('alpha');
    expect(b.sh(['hostname'])).toBe('beta');
  });

  it('a machine without bubblewrap has no runnable bwrap where the sandbox looks; the other has', () => {
    const probe = ['sh', '-c', 'for d in /usr/bin /usr/local/bin /bin; do [ -x "$d/bwrap" ] && echo "$d/bwrap"; done; true'];
    expect(a.sh(probe)).not.toBe('');
    expect(b.sh(probe)).toBe('');
    expect(() => b.sh(['/usr/bin/bwrap', '--version'])).toThrow(/Permission denied/);
    expect(a.sh(['bwrap', '--ro-bind', '/', '/', '--dev', '/dev', '--unshare-all', '--die-with-parent', '--', '/bin/echo', 'confined'])).toBe('confined');
  });

  it('a process started inside stays there, a detached one too, and killAll ends them', async () => {
    const pidFile = join(lab.dir, 'orphan.pid');
    // A process that leaves its parent (setsid, the shell exits): found by its machine, not its parent.
    a.sh(['sh', '-c', `setsid sleep 600 > /dev/null 2>&1 & echo $! > '${pidFile}'`]);
    const orphan = Number(readFileSync(a.disk(pidFile), 'utf8').trim());
    const child = a.spawnCli(['--version'], { PATH: '/usr/bin:/bin' });
    await waitFor(() => child.child.exitCode !== null || undefined, 20_000, 'tinyagi --version inside alpha');
    expect(child.output()).toMatch(/\d+\.\d+\.\d+/);
    expect(a.processes()).toContain(orphan);
    expect(b.processes()).not.toContain(orphan);
    await a.killAll();
    expect(isGone(orphan)).toBe(true);
    expect(a.processes()).toEqual([]);
  });
});

/**
 * runCliHere, the CLI in the test's own process: a call sees exactly the environment it is given,
 * what it prints and its exit code come back as runCli's do, and the process is left as it was
 * (environment, exit code, stdout and stderr, fetch's dispatcher); calls run one at a time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupTemp, runCliHere, tempHome } from '../src/index.ts';

afterEach(() => cleanupTemp());

const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const dispatcher = (): unknown => (globalThis as unknown as Record<symbol, unknown>)[GLOBAL_DISPATCHER];

describe('runCliHere', () => {
  it("returns stdout, stderr and the exit code, and leaves the process's environment, exit code, streams and dispatcher as they were", async () => {
    const home = tempHome();
    await (await fetch('data:,')).text();
    const before = { env: { ...process.env }, exitCode: process.exitCode, write: process.stdout.write, dispatcher: dispatcher() };

    const version = await runCliHere(['version', '--json'], home.env);
    expect(version).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(version.stdout)).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    const unknown = await runCliHere(['nope'], home.env);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toContain("unknown command 'nope'");
    // A failure sets process.exitCode inside the call (status: 1); the caller's is untouched.
    const status = await runCliHere(['status'], home.env);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain(`not running (home ${home.home})`);

    expect({ env: process.env, exitCode: process.exitCode, write: process.stdout.write, dispatcher: dispatcher() }).toEqual(before);
  });

  it('gives each call exactly its own environment, one call at a time', async () => {
    const homes = [tempHome(), tempHome(), tempHome()];
    const results = await Promise.all(homes.map((h) => runCliHere(['status'], h.env)));
    for (const [i, h] of homes.entries()) {
      expect(results[i]?.stdout).toContain(`(home ${h.home})`);
      for (const other of homes) if (other !== h) expect(results[i]?.stdout).not.toContain(other.home);
    }
    // A variable of this process is not seen by a call that was not given it.
    const saved = process.env['TINYAGI_HOME'];
    process.env['TINYAGI_HOME'] = homes[0]!.home;
    try {
      const { TINYAGI_HOME: _home, ...withoutHome } = homes[1]!.env;
      const status = await runCliHere(['status'], withoutHome);
      expect(status.stdout).toContain(`(home ${homes[1]!.root}/.tinyagi)`);
    } finally {
      if (saved === undefined) delete process.env['TINYAGI_HOME'];
      else process.env['TINYAGI_HOME'] = saved;
    }
  });
});

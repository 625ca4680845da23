/**
 * A project's checks as processes (docs/git-tasks.md): exit code, duration and a bounded log
 * kept; a hanging check killed at its timeout with its whole process group; the same failure
 * recognised by its fingerprint.
 */
import { cleanupTemp, isGone, tempDir, waitFor } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { failureFingerprint, normaliseTail, runCheck } from '../src/git-tasks/checks.ts';

afterEach(cleanupTemp);

/** A check that runs a node script (argv, no shell). */
const node = (name: string, script: string, timeoutMs = 10_000) => ({ name, argv: [process.execPath, '-e', script], timeoutMs });

/** A failing test run whose timings, pid and temp path change every time, as real ones do. */
const flakyOutput = (message: string, code: number) =>
  `console.log('RUN v5.1.1 ' + process.cwd()); console.log('tests took ' + (Math.random() * 1000).toFixed(1) + 'ms, pid ' + process.pid); console.error('Error: ${message}\\n    at ' + process.cwd() + '/src/app.ts:' + (10 + Math.floor(Math.random() * 90)) + ':7'); console.error('commit ' + require('crypto').randomBytes(20).toString('hex')); process.exit(${code})`;

describe('runCheck', () => {
  it('keeps a failing check’s exit code, duration and log tail', async () => {
    const cwd = tempDir('tinyagi-check-');
    const result = await runCheck(node('test', "console.log('1 passed'); console.error('FAIL src/app.test.ts > adds'); process.exit(2)"), { cwd });
    expect(result).toMatchObject({ name: 'test', exitCode: 2, signal: null, timedOut: false, ok: false, omittedBytes: 0 });
    expect(result.tail).toContain('FAIL src/app.test.ts > adds');
    expect(result.log).toContain('1 passed');
    expect(result.durationMs).toBeGreaterThan(0);
    expect(result.argv[0]).toBe(process.execPath);
    const passing = await runCheck(node('lint', "console.log('ok')"), { cwd });
    expect(passing).toMatchObject({ exitCode: 0, ok: true, log: 'ok\n' });
  });

  it('bounds the log to its head and tail and says how much was left out', async () => {
    const cwd = tempDir('tinyagi-check-');
    const script = "for (let i = 0; i < 5000; i++) console.log('line ' + String(i).padStart(5, '0')); console.log('the end'); process.exitCode = 1";
    const result = await runCheck(node('noisy', script), { cwd, headBytes: 100, tailBytes: 200 });
    expect(result.totalBytes).toBe(5000 * 11 + 8);
    expect(result.log.startsWith('line 00000\n')).toBe(true);
    expect(result.tail.endsWith('line 04999\nthe end\n')).toBe(true);
    expect(result.tail.length).toBe(200);
    expect(result.omittedBytes).toBe(result.totalBytes - 300);
    expect(result.log).toContain(`… ${result.omittedBytes} bytes left out …`);
  });

  it('kills a hanging check at its timeout together with the processes it started', async () => {
    const cwd = tempDir('tinyagi-check-');
    // The check starts a grandchild (which holds the output pipe too) and then hangs.
    const script =
      "const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'inherit' }); console.log('grandchild ' + c.pid); setInterval(() => {}, 1000)";
    const result = await runCheck(node('hang', script, 400), { cwd });
    expect(result).toMatchObject({ timedOut: true, ok: false, exitCode: null, signal: 'SIGKILL' });
    expect(result.durationMs).toBeGreaterThanOrEqual(400);
    expect(result.durationMs).toBeLessThan(5_000);
    const grandchild = Number(/grandchild (\d+)/.exec(result.log)?.[1]);
    expect(grandchild).toBeGreaterThan(0);
    await waitFor(() => isGone(grandchild), 5_000, `grandchild ${grandchild} gone`);
  });

  it('reports a command that cannot start as a failed check', async () => {
    const result = await runCheck({ name: 'missing', argv: ['tinyagi-no-such-command'], timeoutMs: 5_000 }, { cwd: tempDir('tinyagi-check-') });
    expect(result).toMatchObject({ ok: false, exitCode: null, timedOut: false });
    expect(result.spawnError).toContain('ENOENT');
  });
});

describe('failureFingerprint', () => {
  it('gives the same failure twice the same fingerprint, and a different failure another', async () => {
    const cwd = tempDir('tinyagi-check-');
    const first = await runCheck(node('test', flakyOutput('expected 3 to be 4', 1)), { cwd });
    const second = await runCheck(node('test', flakyOutput('expected 3 to be 4', 1)), { cwd });
    expect(first.tail).not.toBe(second.tail);
    expect(failureFingerprint(first, cwd)).toBe(failureFingerprint(second, cwd));

    const otherMessage = await runCheck(node('test', flakyOutput('cannot read properties of undefined', 1)), { cwd });
    const otherExit = await runCheck(node('test', flakyOutput('expected 3 to be 4', 2)), { cwd });
    const otherCheck = await runCheck(node('typecheck', flakyOutput('expected 3 to be 4', 1)), { cwd });
    const prints = new Set([first, otherMessage, otherExit, otherCheck].map((r) => failureFingerprint(r, cwd)));
    expect(prints.size).toBe(4);
  });

  it('normalises what changes between runs and keeps the words', () => {
    expect(normaliseTail('\u001b[31mFAIL\u001b[39m /home/ci/w/P-1/src/a.ts:12:7 after 341ms (deadbeef1234)\n\n', '/home/ci/w/P-1')).toBe('FAIL <worktree>/src/a.ts:N:N after Nms (<hex>)');
    expect(normaliseTail('at /opt/cache/dep/index.js:3:9')).toBe('at <path>/index.js:N:N');
  });
});

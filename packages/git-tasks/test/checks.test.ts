/**
 * A project's checks as processes (docs/git-tasks.md): exit code, duration and a bounded log
 * kept; a hanging check killed at its timeout with its whole process group; the same failure
 * recognised by its fingerprint.
 */
import { cleanupTemp, isGone, tempDir, waitFor } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { EXCERPT_CHARS, failureFingerprint, normaliseTail, runCheck } from '../src/checks.ts';

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

/**
 * A tape run as tape prints it: each assertion's `ok`/`not ok` where it happens, a failure's YAML
 * block under it, the summary at the end. `before`/`after` passing assertions around two failures.
 */
const tapeRun = (before: number, after: number) => `
const out = [];
let n = 0;
out.push('TAP version 13');
const ok = (k) => { for (let i = 0; i < k; i++) out.push('ok ' + (++n) + ' parses the header line number ' + i + ' of the fixture file'); };
const fail = (name, expected, actual) => {
  out.push('not ok ' + (++n) + ' ' + name);
  out.push('  ---', '    operator: equal', '    expected: ' + expected, '    actual:   ' + actual, '    at: Test.<anonymous> (/work/pkg/test/index.js:42:5)', '  ...');
};
out.push('# parse'); ok(${before});
fail('keeps the trailing slash', "'/a/b/'", "'/a/b'");
ok(40);
fail('rejects an empty name', 'true', 'false');
ok(${after});
out.push('', '1..' + n, '# tests ' + n, '# pass  ' + (n - 2), '# fail  2');
console.log(out.join('\\n'));
process.exitCode = 1;
`;

describe('the excerpt a feedback message carries', () => {
  it('holds a tape run’s two failing assertions (in the middle) with their YAML blocks and the end, within the budget, saying what was cut', async () => {
    const result = await runCheck(node('test', tapeRun(20, 70)), { cwd: tempDir('tinyagi-check-') });
    expect(result.totalBytes).toBeGreaterThan(EXCERPT_CHARS * 2);
    // The end alone (what was sent before) holds neither failure.
    expect(result.tail.slice(-EXCERPT_CHARS)).not.toContain('not ok');
    const excerpt = result.excerpt;
    expect(excerpt.length).toBeLessThanOrEqual(EXCERPT_CHARS);
    expect(excerpt).toContain('not ok 21 keeps the trailing slash');
    expect(excerpt).toContain("    expected: '/a/b/'");
    expect(excerpt).toContain("    actual:   '/a/b'");
    expect(excerpt).toContain('not ok 62 rejects an empty name');
    expect(excerpt).toContain('    actual:   false');
    expect(excerpt.trimEnd().endsWith('# fail  2')).toBe(true);
    // Each cut says how much: all bytes are either shown or counted as cut.
    const cuts = [...excerpt.matchAll(/… ([\d,]+) bytes cut …/g)].map((m) => Number(m[1]!.replaceAll(',', '')));
    expect(cuts.length).toBeGreaterThanOrEqual(2);
    const shown = excerpt
      .split('\n')
      .filter((line) => !/^… [\d,]+ bytes cut …/.test(line))
      .join('\n');
    expect(Buffer.byteLength(shown) + cuts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(result.totalBytes - 2);
  });

  it('keeps failing lines that stream past the kept head and tail (nothing else of the middle is kept)', async () => {
    const result = await runCheck(node('test', tapeRun(2_000, 2_000)), { cwd: tempDir('tinyagi-check-'), headBytes: 1024, tailBytes: 2048 });
    expect(result.omittedBytes).toBeGreaterThan(100_000);
    expect(result.log).not.toContain('not ok');
    expect(result.excerpt).toContain('not ok 2001 keeps the trailing slash');
    expect(result.excerpt).toContain('not ok 2042 rejects an empty name');
    expect(result.excerpt).toContain('# fail  2');
    expect(result.excerpt.length).toBeLessThanOrEqual(EXCERPT_CHARS);
  });

  it('finds vitest’s, pytest’s and error: lines with their context; a short output is whole', async () => {
    const noise = "for (let i = 0; i < 300; i++) console.log('  ✓ src/util.test.ts > helper number ' + i + ' does its small job');";
    const vitest = await runCheck(
      node(
        'vitest',
        `${noise} console.log(' FAIL  src/app.test.ts > adds two numbers'); console.log('AssertionError: expected 3 to be 4'); console.log(' ❯ src/app.test.ts:7:17'); ${noise} console.log(' Test Files  1 failed (1)'); process.exitCode = 1`,
      ),
      { cwd: tempDir('tinyagi-check-') },
    );
    expect(vitest.excerpt).toContain(' FAIL  src/app.test.ts > adds two numbers');
    expect(vitest.excerpt).toContain('AssertionError: expected 3 to be 4');
    expect(vitest.excerpt).toContain(' ❯ src/app.test.ts:7:17');
    expect(vitest.excerpt).toContain('Test Files  1 failed (1)');
    const pyNoise = "for (let i = 0; i < 300; i++) console.log('tests/test_util.py::test_helper_' + i + ' PASSED');";
    const pytest = await runCheck(
      node(
        'pytest',
        `${pyNoise} console.log('______________________________ test_login ______________________________'); console.log('    def test_login():'); console.log('>       assert login(\\'a\\') == 1'); console.log('E       assert 0 == 1'); ${pyNoise} console.log('FAILED tests/test_app.py::test_login - assert 0 == 1'); console.log('==== 1 failed, 600 passed in 1.2s ===='); process.exitCode = 1`,
      ),
      { cwd: tempDir('tinyagi-check-') },
    );
    expect(pytest.excerpt).toContain('___ test_login ___');
    expect(pytest.excerpt).toContain('E       assert 0 == 1');
    expect(pytest.excerpt).toContain('FAILED tests/test_app.py::test_login');
    expect(pytest.excerpt).toContain('1 failed, 600 passed');
    const short = await runCheck(node('tsc', "console.log('src/a.ts(3,1): error TS2304: Cannot find name x.'); process.exit(2)"), { cwd: tempDir('tinyagi-check-') });
    expect(short.excerpt).toBe('src/a.ts(3,1): error TS2304: Cannot find name x.\n');
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

/**
 * The excerpt a failed check sends its agent keeps each failing unit's own evidence, within its
 * budget, for the runners it knows (docs/git-tasks-design.md, "The excerpt"): pytest (a doctest's
 * `Expected:`/`Got:`, an assertion's `E` lines), unittest, go test, cargo test, mocha and jest
 * (a snapshot's diff). Each output is written in the runner's own format (their documented
 * reporters; the numbers and names made up), long enough that the end alone holds no more than the
 * last failure, and printed by a real process (`cat`) that runCheck streams.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTemp, tempDir } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { EXCERPT_CHARS, runCheck } from '../src/checks.ts';

afterEach(cleanupTemp);

const times = (n: number, line: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => line(i));

/** The excerpt of a check that prints `lines` and fails. */
async function excerptOf(lines: readonly string[]): Promise<string> {
  const dir = tempDir('tinyagi-excerpt-');
  const file = join(dir, 'output.txt');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const result = await runCheck({ name: 'test', argv: ['cat', file], timeoutMs: 10_000 }, { cwd: dir });
  expect(result.totalBytes).toBeGreaterThan(EXCERPT_CHARS * 2);
  expect(result.excerpt.length).toBeLessThanOrEqual(EXCERPT_CHARS);
  return result.excerpt;
}

const pytest = [
  '============================= test session starts ==============================',
  'platform linux -- Python 3.12.3, pytest-8.3.4, pluggy-1.5.0',
  'rootdir: /work/toolz',
  'collected 262 items',
  '',
  ...times(40, (i) => `toolz/tests/test_itertoolz_${i}.py ${'.'.repeat(50)}                      [ ${i}%]`),
  '',
  '=================================== FAILURES ===================================',
  '_____________________ [doctest] toolz.itertoolz.groupby ______________________',
  ...times(18, (i) => `${String(72 + i).padStart(3, '0')}     >>> groupby(len, ['Alice', 'Bob', 'Charlie'])  # doctest example ${i}`),
  '091     >>> sorted(groupby(lambda x: x % 3, range(300)).items())',
  'Expected:',
  '    [(0, [0, 3, 6]), (1, [1, 4, 7]), (2, [2, 5, 8])]',
  'Got:',
  ...times(80, (i) => `    (${i % 3}, [${times(12, (k) => String(i * 12 + k)).join(', ')}]),`),
  '',
  '/work/toolz/toolz/itertoolz.py:91: DocTestFailure',
  '_________________________________ test_merge _________________________________',
  '',
  '    def test_merge():',
  '        assert merge({1: 1, 2: 2}, {3: 4}) == {1: 1, 2: 2, 3: 4}',
  '>       assert merge({1: 1}, {1: 2}) == {1: 1}',
  'E       assert {1: 2} == {1: 1}',
  'E         Differing items:',
  'E         {1: 2} != {1: 1}',
  '',
  'toolz/tests/test_dicttoolz.py:42: AssertionError',
  '=========================== short test summary info ============================',
  'FAILED toolz/itertoolz.py::toolz.itertoolz.groupby',
  'FAILED toolz/tests/test_dicttoolz.py::test_merge - assert {1: 2} == {1: 1}',
  '======================== 2 failed, 260 passed in 1.92s =========================',
];

const unittest = [
  ...times(150, (i) => `test_case_${i} (test_calc.TestCalc.test_case_${i}) ... ok`),
  'test_split (test_strings.TestStrings.test_split) ... ERROR',
  'test_table (test_strings.TestStrings.test_table) ... FAIL',
  'test_report (test_report.TestReport.test_report) ... FAIL',
  '',
  '======================================================================',
  'ERROR: test_split (test_strings.TestStrings.test_split)',
  '----------------------------------------------------------------------',
  'Traceback (most recent call last):',
  '  File "/work/proj/test_strings.py", line 14, in test_split',
  "    self.assertEqual(s.split(), ['hello', 'world'])",
  '                     ^',
  "NameError: name 's' is not defined",
  '',
  '======================================================================',
  'FAIL: test_table (test_strings.TestStrings.test_table)',
  '----------------------------------------------------------------------',
  'Traceback (most recent call last):',
  '  File "/work/proj/test_strings.py", line 8, in test_table',
  '    self.assertEqual(render_table(rows), expected)',
  "AssertionError: 'name  | qty\\napple |   3\\n[1210 chars]12\\n' != 'name  | qty\\napple |   3\\n[1210 chars]10\\n'",
  ...times(40, (i) => `  item${String(i).padStart(3, '0')} | ${String(i).padStart(3)}`),
  '- pear  |  12',
  '?          ^',
  '+ pear  |  10',
  '?          ^',
  '',
  '======================================================================',
  'FAIL: test_report (test_report.TestReport.test_report)',
  '----------------------------------------------------------------------',
  'Traceback (most recent call last):',
  '  File "/work/proj/test_report.py", line 21, in test_report',
  '    self.assertEqual(report(), EXPECTED)',
  "AssertionError: 'Report\\n[4000 chars]\\n' != 'Report\\n[4000 chars]\\n'",
  ...times(60, (i) => `  line ${i} of the report, unchanged between the two`),
  '- total: 41',
  '+ total: 42',
  '',
  '----------------------------------------------------------------------',
  'Ran 153 tests in 0.031s',
  '',
  'FAILED (failures=2, errors=1)',
];

const goTest = [
  ...times(150, (i) => `=== RUN   TestStore${i}\n--- PASS: TestStore${i} (0.00s)`),
  '=== RUN   TestParseDuration',
  '=== RUN   TestParseDuration/hours',
  '    duration_test.go:27: ParseDuration("3h") = 3m0s, want 3h0m0s',
  '--- FAIL: TestParseDuration (0.00s)',
  '    --- FAIL: TestParseDuration/hours (0.00s)',
  '=== RUN   TestRender',
  ...times(60, (i) => `    render_test.go:40: rendering item ${i} of the list with its defaults`),
  '    render_test.go:58: Render() mismatch (-want +got):',
  '          strings.Join({',
  '          \t"<ul>",',
  '        - \t"<li>a</li>",',
  '        + \t"<li>b</li>",',
  '          \t"</ul>",',
  '          }, "")',
  '--- FAIL: TestRender (0.00s)',
  ...times(80, (i) => `=== RUN   TestCache${i}\n--- PASS: TestCache${i} (0.00s)`),
  'FAIL',
  'FAIL\texample.com/widget/parse\t0.004s',
  'FAIL',
];

const cargoTest = [
  'running 122 tests',
  ...times(250, (i) => `test tests::noise_${i} ... ok`),
  'test tests::adds_two ... FAILED',
  'test config::parses_port ... FAILED',
  '',
  'failures:',
  '',
  '---- tests::adds_two stdout ----',
  "thread 'tests::adds_two' panicked at src/lib.rs:42:9:",
  'assertion `left == right` failed',
  '  left: 5',
  ' right: 4',
  'note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace',
  '',
  '---- config::parses_port stdout ----',
  ...times(70, (i) => `loading fixture line ${i}: key_${i} = "value number ${i}"`),
  "thread 'config::parses_port' panicked at src/config.rs:88:5:",
  'assertion `left == right` failed: port',
  '  left: 8080',
  ' right: 80',
  '',
  '',
  'failures:',
  '    config::parses_port',
  '    tests::adds_two',
  '',
  'test result: FAILED. 250 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.02s',
  '',
  'error: test failed, to rerun pass `--lib`',
];

const mocha = [
  '',
  '  Array',
  ...times(200, (i) => `      ✔ keeps element ${i} where it was put`),
  '      1) finds the index',
  '      2) renders the table',
  '',
  '',
  '  200 passing (40ms)',
  '  2 failing',
  '',
  '  1) Array',
  '       #indexOf()',
  '         finds the index:',
  '',
  '      AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:',
  '',
  '2 !== 1',
  '',
  '      + expected - actual',
  '',
  '      -2',
  '      +1',
  '      ',
  '      at Context.<anonymous> (test/array.test.js:14:14)',
  '      at process.processImmediate (node:internal/timers:483:21)',
  '',
  '  2) Table',
  '       renders the table:',
  '',
  '      AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:',
  '',
  '      + expected - actual',
  '',
  ...times(150, (i) => `       item${i} | the same row on both sides, number ${i}`),
  '      -pear | 12',
  '      +pear | 10',
  '      ',
  '      at Context.<anonymous> (test/table.test.js:30:12)',
  '',
];

const jest = [
  ...times(150, (i) => ` PASS  src/util${i}.test.js`),
  ' FAIL  src/app.test.js',
  '  ● App › renders the greeting',
  '',
  '    expect(received).toMatchSnapshot()',
  '',
  '    Snapshot name: `App renders the greeting 1`',
  '',
  '    - Snapshot  - 1',
  '    + Received  + 1',
  '',
  ...times(40, (i) => `      <li class="item">Item number ${i} of the list</li>`),
  '      <h1>',
  '    -   Hello, Ann',
  '    +   Goodbye, Ann',
  '      </h1>',
  ...times(40, (i) => `      <li class="item">Item number ${i + 40} of the list</li>`),
  '',
  "      4 | test('renders the greeting', () => {",
  '      5 |   const tree = render(<App name="Ann" />);',
  '    > 6 |   expect(tree).toMatchSnapshot();',
  '        |                ^',
  '      7 | });',
  '',
  '      at Object.toMatchSnapshot (src/app.test.js:6:16)',
  '',
  '  ● App › counts clicks',
  '',
  '    expect(received).toBe(expected) // Object.is equality',
  '',
  '    Expected: 2',
  '    Received: 1',
  '',
  '    > 12 |   expect(count()).toBe(2);',
  '',
  '      at Object.toBe (src/app.test.js:12:19)',
  '',
  ...times(40, (i) => ` PASS  src/more${i}.test.js`),
  ' › 1 snapshot failed.',
  'Snapshot Summary',
  ' › 1 snapshot failed from 1 test suite. Inspect your code changes or press `u` to update them.',
  '',
  'Test Suites: 1 failed, 80 passed, 81 total',
  'Tests:       2 failed, 300 passed, 302 total',
  'Snapshots:   1 failed, 12 passed, 13 total',
];

/** Each runner: its output, and the lines of each failing unit's evidence the excerpt must hold. */
const runners: Array<[string, string[], string[]]> = [
  [
    'pytest: a doctest’s failing example, Expected and the start of a long Got; an assertion’s E lines; the summary',
    pytest,
    [
      '[doctest] toolz.itertoolz.groupby',
      '091     >>> sorted(groupby(lambda x: x % 3, range(300)).items())',
      'Expected:',
      '    [(0, [0, 3, 6]), (1, [1, 4, 7]), (2, [2, 5, 8])]',
      'Got:',
      '    (0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),',
      '/work/toolz/toolz/itertoolz.py:91: DocTestFailure',
      'E       assert {1: 2} == {1: 1}',
      '2 failed, 260 passed',
    ],
  ],
  [
    'unittest: each FAIL and ERROR with its exception and the diff’s changed lines',
    unittest,
    ['ERROR: test_split', "NameError: name 's' is not defined", 'FAIL: test_table', '- pear  |  12', '+ pear  |  10', 'FAIL: test_report', '+ total: 42', 'FAILED (failures=2, errors=1)'],
  ],
  [
    'go test -v: each --- FAIL with the lines its test logged that name what it wanted',
    goTest,
    [
      'ParseDuration("3h") = 3m0s, want 3h0m0s',
      '--- FAIL: TestParseDuration',
      'render_test.go:58: Render() mismatch (-want +got):',
      '- \t"<li>a</li>",',
      '+ \t"<li>b</li>",',
      '--- FAIL: TestRender',
      'FAIL\texample.com/widget/parse',
    ],
  ],
  [
    'cargo test: each test’s panic with its left and right',
    cargoTest,
    ['---- tests::adds_two stdout ----', 'panicked at src/lib.rs:42:9', '  left: 5', ' right: 4', 'panicked at src/config.rs:88:5', '  left: 8080', ' right: 80', 'test result: FAILED'],
  ],
  [
    'mocha: each numbered failure with its assertion, diff and first frame',
    mocha,
    ['1) Array', 'AssertionError [ERR_ASSERTION]', '      -2', '      +1', 'test/array.test.js:14:14', '2) Table', '      -pear | 12', '      +pear | 10'],
  ],
  [
    'jest: a snapshot’s changed lines inside a long diff, and an assertion’s Expected and Received',
    jest,
    [
      '● App › renders the greeting',
      'toMatchSnapshot()',
      '    - Snapshot  - 1',
      '    -   Hello, Ann',
      '    +   Goodbye, Ann',
      '● App › counts clicks',
      '    Expected: 2',
      '    Received: 1',
      'Tests:       2 failed',
    ],
  ],
];

describe('the excerpt keeps each failing unit’s own evidence', () => {
  it.each(runners)('%s', async (_runner, output, evidence) => {
    const excerpt = await excerptOf(output);
    for (const line of evidence) expect(excerpt).toContain(line);
  });
});

it('with more failing tests than the budget holds, shows the first ones whole enough and counts the rest', async () => {
  const many = [
    '=================================== FAILURES ===================================',
    ...times(40, (i) =>
      [
        `_________________________________ test_case_${i} _________________________________`,
        '',
        `    def test_case_${i}():`,
        `>       assert compute(${i}) == ${i + 1}`,
        `E       assert ${i} == ${i + 1}`,
        `E        +  where ${i} = compute(${i})`,
        '',
        `tests/test_cases.py:${10 + i}: AssertionError`,
      ].join('\n'),
    ),
    ...times(40, (i) => `FAILED tests/test_cases.py::test_case_${i} - assert ${i} == ${i + 1}`),
    '======================== 40 failed, 2 passed in 0.31s =========================',
  ];
  const excerpt = await excerptOf(many);
  for (const line of ['test_case_0 ___', 'E       assert 0 == 1', 'tests/test_cases.py:10: AssertionError', '40 failed, 2 passed']) expect(excerpt).toContain(line);
  expect(excerpt).toMatch(/… [\d,]+ bytes cut … \(\d+ more failures not shown\)/);
});

it('past the bound it keeps while streaming, failing tests are still counted, one each', async () => {
  const flood = times(1000, (i) => [`_____ test_${i} _____`, ...times(10, (k) => `E       assert ${i} == ${k} and a long enough line to fill the bound`)].join('\n'));
  const excerpt = await excerptOf(flood);
  const count = Number(/\((\d+) more failures not shown\)/.exec(excerpt)?.[1]);
  expect(count).toBeGreaterThan(900);
  expect(count).toBeLessThan(1000);
});

// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings with `${…}` are shell command lines
/**
 * The command-line reader (approvals/shell-parse.ts) against bash itself. Each line runs in
 * bash, in a scratch folder that is also its HOME, with every command replaced by a recorder:
 * PATH leads nowhere, every builtin but `wait` and `enable` is disabled (`enable -n`), and
 * `command_not_found_handle` records each command's words (in the child bash runs it in, with
 * printf enabled again there). Then, for a line the reader reads for certain, every command bash ran must be one the
 * reader found (with the same words, where it knows them all), and every file bash's
 * redirections wrote must be one the reader saw written; for a line it does not read for
 * certain (a person decides), every command bash ran must at least have a name the reader found
 * (what deny and ask rules see), unless the reader saw a command name bash computes. A command
 * hidden from the reader fails here.
 *
 * The lines: the corpus (approval-corpus.ts), lines about bash's grammar below, and lines
 * generated from fragments of it. Nothing outside the scratch folder is written: a line is
 * refused before it runs if the reader sees it redirect output to a path outside it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isHarmlessRedirect, parseCommandLine, type ParsedLine } from '../src/approvals/shell-parse.ts';
import { COMMAND_CORPUS } from './approval-corpus.ts';

/** Lines about bash's grammar: quoting, escapes, separators, comments, substitutions, redirections, here-documents. */
const GRAMMAR_LINES = [
  'echo \'a;b\' "c;d" e\\;f g\\ h',
  "echo $'\\x72m' $'a\\'b' $\"x\" 'it'\\''s'",
  'echo "a\\"b" "a\\\\b" "a\\b" "\\$HOME" \'\\$HOME\' "x\\`y"',
  'echo a#b "#c" \'#d\' # e; rm -rf /',
  'ls;pwd&&echo x||echo y|cat&echo z',
  'ls\npwd\n\necho done',
  'ec\\\nho joined \\\n  line',
  'echo {a,b} {a} \'{a,b}\' a{1..3} {x..z} "{a,b}" \\{a,b\\} ${#} {,}',
  'echo ~ ~/x a=~/b "~" \\~ x~y --opt=~/z',
  'echo * "*" \\* [ab] "[ab]" ? x?',
  'echo "$(ls -a)" `pwd` $(echo $(id))',
  'echo ${HOME} ${x:-$(whoami)} "${y:=`hostname`}"',
  'echo $((1 + 2)) $[3]',
  'diff <(ls a) >(cat) a<(ls b)',
  'x=1 y="a b" z=$(uname) env',
  'x=1; echo "$x"',
  '(cd web && ls) || { pwd; ls -a; }',
  '( ls ) ; ( ( pwd ) )',
  'ls | grep x |& cat | head -1',
  '! ls && time ls && time -p pwd',
  'echo hi > out.txt; echo more >> out.txt; cat < out.txt',
  'ls 2>err.log 1>&2 >&- 2>/dev/null',
  'echo a 2&>b.txt',
  'echo x >| y.txt; echo x &>> w.txt; echo x <> rw.txt',
  '>first.txt echo leading redirect',
  "cat <<'EOF'\nrm -rf /\n$(rm -rf /)\nEOF\nls",
  'cat <<EOF\n$(id) `whoami` ${HOME}\nEOF\nls',
  'cat <<-EOF\n\tindented\n\tEOF\necho after',
  'cat <<A <<B\na\nA\nb\nB\necho two',
  'cat <<< "here string" <<<word',
  'cat <<EOF | grep x && echo y\nbody\nEOF\npwd',
  "echo $(cat <<'EOF'\nhidden\nEOF\n)",
  'echo `echo \\`id\\``',
  'ls && \\\n pwd',
  'ls &&\n pwd',
  'ls |\n cat',
  'echo "multi\nline" \'and\nthis\'',
  'git log --format="%H %s" -1 -- "a b"',
  "git \"status\"; 'ls' -la; l's'",
  "exec 'ls' -l",
  "eval 'ls -l; pwd'",
  'bash -c \'id\' && sh -c "pwd"',
  'command ls; builtin pwd',
  'if ls; then pwd; else id; fi',
  'for f in a b; do echo $f; done',
  'case x in x) ls ;; esac',
  'f() { id; }; f',
  'a=(1 2); echo ${a[0]}',
  '[[ -n x ]] && ls',
  '{ ls; } > grouped.txt',
  '$(echo ls) -la',
  'echo "$(echo ")")" after',
  'echo "${x:-"a b"}" \\$(id) \\`id\\`',
  'x=$(id) ls -a',
  'echo $(( $(id) + 1 ))',
  '\\ls; l\\s; "l"s; ls -- -la; ls;',
  "echo 'a'\"b\"c$'d'e",
  '#!/bin/bash\nls # trailing',
  'cat <<E\nE\necho empty-here-document',
  'ls 1>a.txt 2>b.txt 3>c.txt; exec 4>d.txt',
  'cat <<< $(id) <<<"$(whoami)"',
  'echo a >&2 b; echo c 2>&1 | cat',
  "ls $'\\'' ; rm -rf ~ #'",
];

/** Fragments of bash syntax, put together at random. */
const FRAGMENTS = [
  'ls',
  'echo',
  'rm',
  'git',
  'status',
  'a',
  'b1',
  "'x;y'",
  '"p q"',
  "$'\\''",
  "$'a\\'b'",
  '\\;',
  '\\ ',
  ';',
  '&&',
  '||',
  '|',
  '&',
  '\n',
  '#',
  "'#'",
  '$(ls)',
  '`pwd`',
  '{a,b}',
  '{c}',
  '~',
  '*',
  '"$x"',
  '>o.txt',
  '2>&1',
  '<<<w',
  '(',
  ')',
  '{',
  '}',
  'x=1',
  '\\\n',
  '"',
  "'",
  '$',
  '\\',
  '$((1))',
  '<(ls)',
];

const scratch = mkdtempSync(join(tmpdir(), 'tinyagi-oracle-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
// By its path: the lines run with a PATH that leads nowhere.
const bash = execFileSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).trim();
const builtins = execFileSync(bash, ['-c', 'compgen -b'], { encoding: 'utf8' })
  .split('\n')
  .filter((b) => b !== '' && b !== 'wait' && b !== 'enable');
// The handler runs in a child of the line's shell: there it enables printf again to record the
// words, in one write (commands of a pipeline record at the same time).
const prelude = `command_not_found_handle() { enable printf; printf -v record '%s\\037' "$@"; printf '%s\\036' "$record" >> "$RECORD_LOG"; }\nenable -n ${builtins.join(' ')}\n`;

interface Run {
  ran: string[][];
  written: string[];
}

let batches = 0;
/**
 * Runs each line in bash as described above, in its own scratch folder: the commands it ran
 * (their words) and the files its redirections wrote. Two drivers (bash scripts started with an
 * empty environment) run half the lines each, one after the other.
 */
async function runInBash(lines: readonly string[]): Promise<Run[]> {
  const dirs = lines.map((line, i) => {
    const dir = join(scratch, `batch-${batches}-${i}`);
    mkdirSync(join(dir, 'home'), { recursive: true });
    writeFileSync(join(dir, 'log'), '');
    writeFileSync(join(dir, 'script'), `${prelude}${line}\nwait`);
    return dir;
  });
  const drivers = [0, 1].map((k) => {
    const mine = dirs.filter((_, i) => i % 2 === k);
    const script = mine
      .map((d) => `(cd '${d}/home' && HOME='${d}/home' RECORD_LOG='${d}/log' PATH=/nonexistent exec '${bash}' --norc --noprofile -c "$(<'${d}/script')") </dev/null >/dev/null 2>&1`)
      .join('\n');
    const file = join(scratch, `driver-${batches}-${k}`);
    writeFileSync(file, script);
    return new Promise<void>((resolve, reject) => {
      // Bounded: a line that never ends (a loop) fails the test instead of hanging it.
      const child = spawn(bash, ['--norc', '--noprofile', file], { env: {}, stdio: 'ignore', timeout: 60_000 });
      child.on('error', reject);
      child.on('close', (_code, signal) => (signal ? reject(new Error(`a bash driver was stopped (${signal})`)) : resolve()));
    });
  });
  await Promise.all(drivers);
  batches++;
  return dirs.map((dir) => ({
    ran: readFileSync(join(dir, 'log'), 'utf8')
      .split('\u001e')
      .filter((r) => r !== '')
      .map((r) => r.split('\u001f').slice(0, -1)),
    written: filesUnder(join(dir, 'home')).map((f) => relative(join(dir, 'home'), f)),
  }));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Refuses a line that would write outside its scratch folder (as the reader sees it). */
function assertContained(line: string, parsed: ParsedLine): void {
  for (const c of parsed.commands) {
    for (const r of c.redirects) {
      if (r.op === '<' || r.op.startsWith('<<') || isHarmlessRedirect(r)) continue;
      const target = r.target.text;
      expect(target.startsWith('/') || target.includes('..'), `${JSON.stringify(line)} writes outside the scratch folder`).toBe(false);
    }
  }
}

/** What is wrong with the reader's reading of `line`, given what bash did; [] when nothing is. */
function disagreements(line: string, parsed: ParsedLine, run: Run): string[] {
  const problems: string[] = [];
  const names = new Set(parsed.commands.map((c) => c.words[0]?.value));
  if (parsed.opaque === undefined) {
    for (const argv of run.ran) {
      const found = parsed.commands.some((c) => {
        const values = c.words.map((w) => w.value);
        if (values[0] !== argv[0]) return false;
        return values.some((v) => v === undefined) || (values.length === argv.length && values.every((v, i) => v === argv[i]));
      });
      if (!found) problems.push(`bash ran ${JSON.stringify(argv)}, which the reader did not find`);
    }
    const writes = parsed.commands.flatMap((c) => c.redirects.filter((r) => r.op !== '<' && !r.op.startsWith('<<') && !isHarmlessRedirect(r)));
    if (writes.every((r) => r.target.value !== undefined)) {
      const targets = new Set(writes.map((r) => r.target.value));
      for (const file of run.written) if (!targets.has(file)) problems.push(`bash wrote ${file}, which the reader did not see written`);
    }
  } else if (!names.has(undefined)) {
    for (const argv of run.ran) if (!names.has(argv[0])) problems.push(`bash ran ${JSON.stringify(argv)}, whose name the reader did not find`);
  }
  return problems.map((p) => `${JSON.stringify(line)}: ${p}`);
}

/** Runs the lines and returns every disagreement, and how many lines were read for certain. */
async function check(lines: readonly string[]): Promise<{ problems: string[]; certain: number }> {
  const parsed = lines.map((line) => {
    const p = parseCommandLine(line);
    assertContained(line, p);
    return p;
  });
  const runs = await runInBash(lines);
  return {
    problems: lines.flatMap((line, i) => disagreements(line, parsed[i]!, runs[i]!)),
    certain: parsed.filter((p) => p.opaque === undefined).length,
  };
}

describe('the reader agrees with bash', () => {
  it('the recorder records what bash runs, and a reading that misses a command fails the check', async () => {
    const line = "ls $'\\'' ; rm -rf ~ #'";
    const [run] = await runInBash([line]);
    expect(run!.ran).toEqual([
      ['ls', "'"],
      ['rm', '-rf', expect.stringMatching(/\/home$/)],
    ]);
    expect(disagreements(line, parseCommandLine(line), run!)).toEqual([]);
    // The reading of a splitter that takes `$'…'` for a plain single quote: one `ls`.
    const naive: ParsedLine = {
      commands: [
        {
          assignments: [],
          words: [
            { value: 'ls', text: 'ls' },
            { value: '$\\ ; rm -rf ~ #', text: '$\\ ; rm -rf ~ #' },
          ],
          redirects: [],
        },
      ],
      opaque: undefined,
    };
    expect(disagreements(line, naive, run!)).toContainEqual(`${JSON.stringify(line)}: bash ran ${JSON.stringify(run!.ran[1])}, which the reader did not find`);
  });

  it('on the corpus and on lines about bash grammar', async () => {
    const { problems, certain } = await check([...COMMAND_CORPUS.map(([line]) => line), ...GRAMMAR_LINES]);
    expect(problems).toEqual([]);
    // Most lines are read for certain: the check above is not only about names.
    expect(certain).toBeGreaterThan(100);
  });

  it('on lines put together at random from fragments of bash syntax', async () => {
    const lines = fc.sample(
      fc.array(fc.tuple(fc.constantFrom(...FRAGMENTS), fc.constantFrom(' ', '', ' ')), { minLength: 1, maxLength: 8 }).map((parts) => parts.map(([f, sep]) => f + sep).join('')),
      { numRuns: 150, seed: 48 },
    );
    const { problems, certain } = await check(lines);
    expect(problems).toEqual([]);
    expect(certain).toBeGreaterThan(20);
  });
});

/**
 * The docs name only commands that exist: every `tinyagi …` in docs/*.md and README.md (in a code
 * span, or a line of a code block) is followed down the CLI's command tree (program.ts) word by
 * word, and the command it reaches is run with `--help` (it must exit 0). A word that is not a
 * subcommand of a command that only groups subcommands (`tinyagi task done`, `tinyagi nope`) is a
 * missing command; the test fails naming the file and line of each.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { runCliHere, tempHome } from '@tinyagi/test-kit';
import { afterAll, expect, it } from 'vitest';
import { buildProgram } from '../src/program.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

interface Mention {
  file: string;
  line: number;
  text: string;
}

/** Each `tinyagi …` of a markdown file: in code spans, and on the lines of code blocks (after a `$ ` prompt too). */
function mentionsOf(file: string, markdown: string): Mention[] {
  const found: Mention[] = [];
  let inBlock = false;
  markdown.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (/^\s*(```|~~~)/.test(raw)) {
      inBlock = !inBlock;
      return;
    }
    if (inBlock) {
      // A command line of a block, possibly after a prompt or in a pipeline (`… | tinyagi send`).
      for (const m of raw.matchAll(/(?:^\s*(?:\$\s+)?|[|;&]\s*|&&\s*)(tinyagi(?:\s[^|;&#]*)?)/g)) found.push({ file, line, text: m[1]!.trim() });
      return;
    }
    for (const m of raw.matchAll(/`(tinyagi(?:\s[^`]*)?)`/g)) found.push({ file, line, text: m[1]!.trim() });
  });
  return found;
}

/** Does the command take arguments or act by itself (not only group subcommands)? */
const actsItself = (cmd: Command): boolean => (cmd as unknown as { _actionHandler: unknown })._actionHandler != null || cmd.commands.length === 0;

/**
 * The command path a mention reaches (`['task', 'merge']`), or why it names no command.
 * Placeholders (`<command>`, `agent|team`, `…`) end the path where they stand.
 */
function resolveMention(program: Command, text: string): { path: string[] } | { missing: string } {
  const words = text.split(/\s+/).slice(1);
  const path: string[] = [];
  let cmd = program;
  for (const word of words) {
    if (!/^[a-z][a-z0-9-]*$/.test(word)) break;
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub) {
      path.push(sub.name());
      cmd = sub;
      continue;
    }
    if (cmd === program || !actsItself(cmd))
      return { missing: `\`tinyagi ${[...path, word].join(' ')}\` is not a command${path.length > 0 ? ` (\`tinyagi ${path.join(' ')}\` has: ${cmd.commands.map((c) => c.name()).join(', ')})` : ''}` };
    break;
  }
  return { path };
}

function markdownFiles(): string[] {
  const docs = join(REPO, 'docs');
  return [
    join(REPO, 'README.md'),
    ...readdirSync(docs)
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(docs, f)),
  ];
}

const home = tempHome({ prefix: 'tinyagi-doc-commands-' });
afterAll(() => home.cleanup());

it('finds the mentions of code spans and code blocks, and tells a missing command from arguments', () => {
  const mentions = mentionsOf(
    'x.md',
    ['Run `tinyagi task merge WEB-3` then `tinyagi  status`.', '```sh', '$ tinyagi send --agent coder "hi" | tee out', 'echo x | tinyagi send -', '```', 'Not `tinyagix`.'].join('\n'),
  );
  expect(mentions.map((m) => [m.line, m.text])).toEqual([
    [1, 'tinyagi task merge WEB-3'],
    [1, 'tinyagi  status'],
    [3, 'tinyagi send --agent coder "hi"'],
    [4, 'tinyagi send -'],
  ]);
  const program = buildProgram();
  expect(resolveMention(program, 'tinyagi task merge WEB-3')).toEqual({ path: ['task', 'merge'] });
  expect(resolveMention(program, 'tinyagi tasks ls')).toEqual({ path: ['task', 'list'] });
  expect(resolveMention(program, 'tinyagi send --agent coder hello world')).toEqual({ path: ['send'] });
  expect(resolveMention(program, 'tinyagi agent|team')).toEqual({ path: [] });
  expect(resolveMention(program, 'tinyagi task done WEB-3')).toMatchObject({ missing: expect.stringContaining('`tinyagi task done` is not a command (`tinyagi task` has: list, show,') });
  expect(resolveMention(program, 'tinyagi nope')).toEqual({ missing: '`tinyagi nope` is not a command' });
});

it('every `tinyagi …` in docs/*.md and README.md is a command, and its --help exits 0', async () => {
  const program = buildProgram();
  const problems: string[] = [];
  const paths = new Map<string, Mention>();
  for (const file of markdownFiles()) {
    const rel = file.slice(REPO.length);
    for (const mention of mentionsOf(rel, readFileSync(file, 'utf8'))) {
      const resolved = resolveMention(program, mention.text);
      if ('missing' in resolved) problems.push(`${mention.file}:${mention.line}: ${resolved.missing}`);
      else if (!paths.has(resolved.path.join(' '))) paths.set(resolved.path.join(' '), mention);
    }
  }
  for (const [path, mention] of paths) {
    const result = await runCliHere([...(path === '' ? [] : path.split(' ')), '--help'], home.env);
    if (result.code !== 0) problems.push(`${mention.file}:${mention.line}: \`tinyagi ${path} --help\` exited ${result.code}: ${result.stderr.trim().split('\n')[0]}`);
  }
  expect(paths.size).toBeGreaterThan(40);
  expect(problems, problems.join('\n')).toEqual([]);
}, 120_000);

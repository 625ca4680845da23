/**
 * What a request asks, as one key (docs/approvals.md, "A burst of requests"): requests with the
 * same key ask the same kind of thing and a person may answer them together. The key is made
 * here only; every surface groups by the `groupKey` the daemon puts on each record.
 *
 * - a shell command (SHELL_TOOLS): the tool and the line's shape, each simple command as its
 *   program (by its file name) and, for a program with subcommands, the subcommand; `cd` left
 *   out: `Bash: npm install` for `cd web && npm install left-pad`;
 * - any other tool: the tool (`Edit`, `mcp__github__create_issue`);
 * - a connection (`egress`): the host and port;
 * - a question: its text, so one answer may answer the same question of many agents;
 * - a task whose rounds ran out (`task_rounds`): one group;
 * - a workflow run paused at its budget (`workflow_budget`): one group.
 *
 * The key is a label too: it is what the surfaces show as the group's title.
 */
import type { ApprovalKind } from '@tinyagi/client/contract';
import { commandLineOf, SHELL_TOOLS } from './rules.ts';
import { parseCommandLine } from './shell-parse.ts';
import { Deadline } from './deadline.ts';

/** Programs whose first plain argument says what they do (`git push`, `npm install`). */
const WITH_SUBCOMMANDS = new Set([
  'apt',
  'apt-get',
  'brew',
  'bun',
  'cargo',
  'deno',
  'docker',
  'gh',
  'git',
  'go',
  'helm',
  'kubectl',
  'make',
  'npm',
  'npx',
  'pip',
  'pip3',
  'pnpm',
  'poetry',
  'systemctl',
  'terraform',
  'tinyagi',
  'uv',
  'yarn',
]);
const PLAIN_WORD = /^[A-Za-z][\w:-]*$/;
/** At most this many commands name a line's shape (a longer line ends with `…`). */
const MAX_SHAPE_COMMANDS = 4;
const MAX_KEY = 300;

export function approvalGroupKey(request: { kind: ApprovalKind; tool: string; input: unknown; summary: string }): string {
  const input = (request.input && typeof request.input === 'object' ? request.input : {}) as Record<string, unknown>;
  let key: string;
  if (request.kind === 'task_rounds') key = 'Tasks whose rounds ran out';
  else if (request.kind === 'workflow_budget') key = 'Workflow runs paused at their budget';
  else if (request.kind === 'egress') key = `Connect to ${String(input.host ?? '?')}:${String(input.port ?? '?')}`;
  else if (request.kind === 'question') key = `Question: ${typeof input.question === 'string' && input.question.trim() !== '' ? input.question.trim().replace(/\s+/g, ' ') : request.summary}`;
  else if (SHELL_TOOLS.includes(request.tool)) key = `${request.tool}: ${commandShape(commandLineOf(input.command))}`;
  else key = request.tool;
  return key.length > MAX_KEY ? `${key.slice(0, MAX_KEY - 1)}…` : key;
}

/** `npm install && git commit`: each simple command's program and subcommand, in order, once each. */
function commandShape(line: string | undefined): string {
  if (line === undefined) return '?';
  // A key never holds the daemon: 5 ms of reading at most (what is read by then makes the shape).
  const parsed = parseCommandLine(line.slice(0, 10_000), {}, new Deadline(5));
  const shapes: string[] = [];
  for (const command of parsed.commands) {
    const program = command.words[0]?.text.split('/').pop() ?? '';
    if (program === '' || program === 'cd') continue;
    const sub = command.words.slice(1).find((w) => !w.text.startsWith('-'))?.text;
    const shape = WITH_SUBCOMMANDS.has(program) && sub !== undefined && PLAIN_WORD.test(sub) ? `${program} ${sub}` : program;
    if (!shapes.includes(shape)) shapes.push(shape);
  }
  if (shapes.length === 0) return line.trim().split(/\s+/)[0] || '?';
  return shapes.length > MAX_SHAPE_COMMANDS ? `${shapes.slice(0, MAX_SHAPE_COMMANDS).join(' && ')} && …` : shapes.join(' && ');
}

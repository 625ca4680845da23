/** The `command` check kind, a check that names no kind: its `argv` run as a process in the worktree (../../checks.ts). */
import { runCheck } from '../../checks.ts';
import { defineCheckKind } from '../check-kind.ts';

export const commandCheckKind = defineCheckKind({
  name: 'command',
  title: 'Command',
  description: 'Runs a program in the worktree (argv, never a shell); it passes when it exits with 0.',
  problems: (check) =>
    check.argv === undefined ? [{ path: ['argv'], message: `The check "${check.name}" runs a command: give its argv, the program and its arguments (e.g. ["pnpm", "test"]).` }] : [],
  run: (check, options) => runCheck(check, options),
});

/**
 * Parses the command line and runs the command. Exit codes: 0 ok, 1 failure, 2 bad usage.
 *
 * Only what the command uses is loaded: its group of commands (command-groups.ts), the channel
 * kinds when it reads settings, the root help from the bundle's index (root-help.ts); argv that
 * names no known command gets the whole tree (program.ts).
 */
import type { Command } from 'commander';
import { resolveTinyHome } from '@tinyagi/core';
import { commandOf } from './command-groups.ts';
import { forgetOtherHomeKinds, hasKindModules } from './kind-modules.ts';
import { reportError } from './output/report-error.ts';
import { createRootCommand } from './program-root.ts';
import { bundledRootHelp, isRootHelp, rootHelpProgram } from './root-help.ts';

export async function main(argv: readonly string[]): Promise<number> {
  const args = [...argv];
  const debug = args.includes('--debug');
  // Plain `tinyagi` (options only) starts the daemon, like the reference.
  if (!args.some((a) => a !== '--debug')) args.push('start');
  try {
    await programFor(args).then((program) => program.parseAsync(args, { from: 'user' }));
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err, debug);
  }
}

async function programFor(args: readonly string[]): Promise<Command> {
  const home = resolveTinyHome(process.env);
  // A kind module in TINYAGI_HOME/kinds/ adds channels to the commands' choices and flags, and
  // one that fails is reported by every command (kinds.ts).
  const homeKinds = hasKindModules(home);
  forgetOtherHomeKinds(home);
  const index = bundledRootHelp();
  if (index !== undefined && !homeKinds && isRootHelp(args)) return rootHelpProgram(index);
  const command = commandOf(args);
  if (homeKinds || command?.kinds !== false) {
    const { registerBuiltinKinds, registerHomeKinds } = await import('./kinds.ts');
    await registerHomeKinds(home, (message) => process.stderr.write(`warning: ${message}\n`));
    registerBuiltinKinds();
  }
  if (command === undefined) return (await import('./program.ts')).buildProgram();
  const program = createRootCommand();
  (await command.group.register())(program);
  return program;
}

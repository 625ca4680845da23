/**
 * Parses the command line and runs the command. Exit codes: 0 ok, 1 failure, 2 bad usage.
 */
import { reportError } from './output/report-error.ts';
import { buildProgram } from './program.ts';
import { registerHomeKinds } from './kinds.ts';
import { resolveTinyHome } from '@tinyagi/core';

export async function main(argv: readonly string[]): Promise<number> {
  const args = [...argv];
  const debug = args.includes('--debug');
  // Plain `tinyagi` (options only) starts the daemon, like the reference.
  if (!args.some((a) => a !== '--debug')) args.push('start');
  try {
    // A kind module in TINYAGI_HOME/kinds/ adds channels to the commands' choices and flags (kinds.ts).
    await registerHomeKinds(resolveTinyHome(process.env), (message) => process.stderr.write(`warning: ${message}\n`));
    await buildProgram().parseAsync(args, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err, debug);
  }
}

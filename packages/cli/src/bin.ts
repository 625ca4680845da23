#!/usr/bin/env node
/**
 * The `tinyagi` executable. Exit codes: 0 ok, 1 failure, 2 bad usage.
 */
import { reportError } from './output/report-error.ts';
import { buildProgram } from './program.ts';

const args: string[] = process.argv.slice(2);
const debug = args.includes('--debug');
// Plain `tinyagi` (options only) starts the daemon, like the reference.
if (!args.some((a) => a !== '--debug')) args.push('start');

try {
  await buildProgram().parseAsync(args, { from: 'user' });
} catch (err) {
  process.exitCode = reportError(err, debug);
}

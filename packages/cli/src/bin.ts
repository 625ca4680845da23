#!/usr/bin/env node
/**
 * The `tinyagi` executable. It enables Node's on-disk compile cache before loading anything else
 * (it roughly halves start-up time of every command). `tinyagi run` (the daemon) then replaces
 * itself, same pid, with a node started from the daemon's start-up snapshot and with its V8
 * flags, when either is missing (daemon/launch.ts, daemon/node-flags.ts); without a snapshot, a
 * plain `tinyagi run` goes to the daemon without the command parser (daemon/run-entry.ts).
 * `tinyagi --version` prints the version without it too; any other command loads what it uses
 * only (main.ts).
 */
import module from 'node:module';

const args = process.argv.slice(2);
module.enableCompileCache?.();
if (args[0] === 'run') {
  const { relaunchArgs } = await import('./daemon/launch.ts');
  const { daemonEnv } = await import('./daemon/node-flags.ts');
  const relaunch = relaunchArgs(args);
  if (relaunch) process.execve!(process.execPath, [process.execPath, ...relaunch], daemonEnv(process.env));
}

const { handleBrokenPipes } = await import('./output/broken-pipe.ts');
handleBrokenPipes();
const entry = args[0] === 'run' ? await import('./daemon/run-entry.ts') : undefined;
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  // What commander prints for the root's version option, without loading it.
  const { VERSION } = await import('./version.ts');
  process.stdout.write(`${VERSION}\n`);
} else if (entry?.isPlainRun(args)) process.exitCode = await entry.runDaemonEntry(args);
else {
  const { main } = await import('./main.ts');
  process.exitCode = await main(args);
}

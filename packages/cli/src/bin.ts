#!/usr/bin/env node
/**
 * The `tinyagi` executable. `tinyagi run` (the daemon) first replaces itself, same pid, with a
 * node started with the daemon's V8 flags when they are missing (daemon/node-flags.ts). Then it
 * enables Node's on-disk compile cache before loading anything else (it roughly halves start-up
 * time of every command) and runs the CLI; a plain `tinyagi run` goes to the daemon without the
 * command parser (daemon/run-entry.ts).
 */
import module from 'node:module';
import { missingDaemonFlags } from './daemon/node-flags.ts';

const args = process.argv.slice(2);
const missing = args[0] === 'run' ? missingDaemonFlags(process.execArgv) : [];
if (missing.length > 0 && typeof process.execve === 'function' && process.platform !== 'win32') {
  process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, process.argv[1]!, ...args], process.env);
}

module.enableCompileCache?.();
const { handleBrokenPipes } = await import('./output/broken-pipe.ts');
handleBrokenPipes();
const entry = args[0] === 'run' ? await import('./daemon/run-entry.ts') : undefined;
if (entry?.isPlainRun(args)) process.exitCode = await entry.runDaemonEntry(args);
else {
  const { main } = await import('./main.ts');
  process.exitCode = await main(args);
}

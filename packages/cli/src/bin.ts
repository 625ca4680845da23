#!/usr/bin/env node
/**
 * The `tinyagi` executable. Enables Node's on-disk compile cache before loading anything else
 * (it roughly halves start-up time of every command), then runs the CLI.
 */
import module from 'node:module';

module.enableCompileCache?.();
const { handleBrokenPipes } = await import('./output/broken-pipe.ts');
handleBrokenPipes();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
